/* pghost check: a read-only look at both servers and every table (see admin/check.h). */
#include <stdio.h>

#include "admin/check.h"
#include "cli.h"
#include "pghost/config.h"
#include "pghost/file.h"

static const char USAGE[] =
    "Usage: pghost check [options] CONFIG.yaml\n"
    "\n"
    "Check both servers and every selected table as pghost init and pghost replicate do, and\n"
    "write nothing anywhere (no slot, no publication, no state, no table):\n"
    "  - source: wal_level = logical, the REPLICATION attribute (or superuser), a free\n"
    "    replication slot and WAL sender, a replication session can be opened;\n"
    "  - the publication exists and publishes every kind of change;\n"
    "  - every selected table: a key (a primary key, the index of REPLICA IDENTITY USING\n"
    "    INDEX, or with FULL a unique index on NOT NULL columns) that its replica identity\n"
    "    carries, in the publication (through its root when partitioned);\n"
    "  - the replication slot slot_name: in use by another process is a problem; unused, a\n"
    "    resumable run is pending (shown, with the WAL it retains on the source);\n"
    "  - destination: each table exists (unless create_destination_tables) with the same\n"
    "    columns, column types and key (same columns, same order), and is empty\n"
    "    (unless --truncate-destination, or a run of the slot is recorded there);\n"
    "  - destination: stdout or webhook: the state file (state_file) is readable and of this\n"
    "    slot;\n"
    "  - rules_file: readable and a valid rules file; with the PostgreSQL destination,\n"
    "    each table's rules fit its columns, and the destination table is compared with\n"
    "    the table as they make it (columns renamed and left out);\n"
    "  - disk: the source tables' size (with indexes and TOAST) is shown; when the\n"
    "    destination server is on this machine (unix socket, localhost, 127.0.0.1) and its\n"
    "    role may read data_directory (superuser or pg_read_all_settings), less free space\n"
    "    there than 1.2 times that size is a problem; otherwise it says it could not check.\n"
    "Every problem is listed on stdout, one line each with its fix.\n"
    "\n"
    "Options:\n"
    "  --truncate-destination  the run will pass it: rows in the destination tables are fine\n"
    "  --log-level LEVEL       error, warn (default), info, debug or trace; logs go to stderr\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 a run would start; 1 the check itself failed; 2 bad command line or\n"
    "configuration; 3 a problem was found (each is listed).\n";

static void print_problem(int code, const char *message, void *payload)
{
    (void)code;
    int *n = payload;
    printf("problem %d: %s\n", ++*n, message);
}

static void print_slot(const pgh_config *cfg, const pgh_check_result *r)
{
    if (r->slot_exists && !r->slot_active)
        printf("source: replication slot %s exists and is not in use: a resumable run is "
               "pending (pghost replicate resumes it, pghost teardown drops it); it retains "
               "%.1f MB of WAL on the source\n",
               cfg->slot_name, (double)r->slot_retained_bytes / 1e6);
}

static void print_destination(const pgh_config *cfg, const pgh_check_result *r)
{
    if (cfg->destination == PGH_DESTINATION_DUCKDB) {
        printf("destination: DuckDB file %s: %s\n", cfg->duckdb_path,
               r->resuming ? "a run of this slot is recorded there, the next run resumes it"
                            : "none yet, a run starts from the beginning");
        return;
    }
    if (cfg->destination == PGH_DESTINATION_FILE) {
        printf("destination: files in %s; state file %s: %s\n", cfg->file_directory,
               PGH_FILE_STATE_NAME,
               r->resuming ? "a run of this slot is recorded there, the next run resumes it"
                           : "none yet, a run starts from the beginning");
        return;
    }
    if (cfg->destination == PGH_DESTINATION_NATS) {
        printf("destination: a NATS JetStream stream (pghost capture creates or checks it, and "
               "keeps its position there)\n");
        return;
    }
    if (pgh_config_uses_state_file(cfg->destination)) {
        printf("destination: %s; state file %s: %s\n",
               cfg->destination == PGH_DESTINATION_STDOUT ? "stdout" : "webhook", cfg->state_file,
               r->resuming ? "a run of this slot is recorded there, the next run resumes it"
                           : "none yet, a run starts from the beginning");
        return;
    }
    if (r->resuming)
        printf("destination: a run of this slot is recorded there; the next run resumes it\n");
    if (r->dest_free_bytes >= 0)
        printf("destination disk: %.1f MB free in %s (the selected source tables take %.1f MB; "
               "a copy needs about 1.2 times that)\n",
               (double)r->dest_free_bytes / 1e6, r->dest_data_dir,
               (double)r->source_bytes / 1e6);
    else
        printf("destination disk: free space could not be checked (%s): make sure the "
               "destination has room for about 1.2 times the source tables\n",
               r->disk_unchecked);
}

static void print_summary(const pgh_config *cfg, const pgh_check_result *r)
{
    if (r->slots_free >= 0)
        printf("source: %d replication slot(s) and %d WAL sender(s) free\n", r->slots_free,
               r->wal_senders_free);
    print_slot(cfg, r);
    if (r->source_bytes >= 0)
        printf("tables: %d selected, %.1f MB on the source (with indexes and TOAST)\n",
               r->ntables, (double)r->source_bytes / 1e6);
    else
        printf("tables: %d selected, size unknown\n", r->ntables);
    print_destination(cfg, r);
    if (r->problems == 0)
        printf("no problem found: a run would start\n");
    else
        printf("%d problem(s) found: a run would not start\n", r->problems);
}

int pgh_cli_check(int argc, char **argv)
{
    bool truncate = false;
    const pgh_cli_option options[] = {
        {"truncate-destination", PGH_CLI_FLAG, &truncate, 0, 0, NULL}};
    const pgh_cli_command cmd = {.name = "check",
                                 .usage = USAGE,
                                 .log_level = PGH_LOG_WARN,
                                 .no_destination = true, /* reported among its findings */
                                 .options = options,
                                 .noptions = 1};
    pgh_config *cfg = NULL;
    int rc = pgh_cli_start(&cfg, &cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    pgh_rules *rules = NULL;
    rc = pgh_cli_load_rules(&rules, cfg);
    if (rc != PGH_EXIT_OK) {
        pgh_config_free(cfg);
        return rc;
    }
    pgh_error err;
    pgh_error_clear(&err);
    pgh_check_result r;
    int n = 0;
    /* destination: stdout keeps its position in a file: name it as replicate would */
    if (pgh_config_uses_state_file(cfg->destination) && pgh_cli_state_file(cfg) == NULL)
        rc = pgh_error_set(&err, PGH_ENOMEM, "out of memory");
    else
        rc = pgh_check_run(&r, cfg, rules, truncate, print_problem, &n, &err);
    pgh_rules_free(rules);
    if (rc != 0) {
        pgh_config_free(cfg);
        pgh_cli_error("%s", err.message);
        return pgh_cli_exit_code(rc);
    }
    print_summary(cfg, &r);
    pgh_config_free(cfg);
    if (r.problems == 0)
        return PGH_EXIT_OK;
    pgh_cli_error("%d problem(s) found (listed on stdout): fix them and run pghost check again",
                  r.problems);
    return r.config_problem ? PGH_EXIT_USAGE : PGH_EXIT_PRECOND;
}
