/* The destination a configuration names, for the commands that write one (replicate, apply). */
#include "cli.h"
#include "pghost/pghost.h"

/* The destination the configuration names: PostgreSQL, a DuckDB file, JSON lines into files of
 * file_directory, or JSON lines on stdout with their position in state_file (default: the
 * configuration file's name + ".state"). */
int pgh_cli_open_destination(pgh_destination **out, pgh_config *cfg, pgh_error *err)
{
    if (cfg->destination == PGH_DESTINATION_DUCKDB) {
        pgh_duckdb_opts dopts = PGH_DUCKDB_OPTS_INIT;
        dopts.path = cfg->duckdb_path;
        dopts.library = cfg->duckdb_library;
        return pgh_duckdb_destination_new(out, &dopts, err);
    }
    if (cfg->destination == PGH_DESTINATION_POSTGRES)
        return pgh_postgres_destination_new(out, err);
    if (cfg->destination == PGH_DESTINATION_FILE) {
        pgh_file_opts fo = PGH_FILE_OPTS_INIT;
        fo.directory = cfg->file_directory;
        fo.rotate_bytes = cfg->file_rotate_bytes;
        fo.rotate_seconds = cfg->file_rotate_seconds;
        fo.layout = cfg->file_layout;
        return pgh_file_destination_new(out, &fo, err);
    }
    pgh_json_opts jo = PGH_JSON_OPTS_INIT;
    jo.out = stdout;
    jo.state_file = pgh_cli_state_file(cfg);
    if (jo.state_file == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return pgh_json_destination_new(out, &jo, err);
}

