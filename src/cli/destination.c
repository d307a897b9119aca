/* The destination a configuration names, for the commands that write one (replicate, apply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pghost/pghost.h"
#include "util/secret_file.h"

/* *out: webhook_secret_file's first line (malloc'd). The secret is never part of a message. */
static int read_secret_file(char **out, const char *path, pgh_error *err)
{
    int rc = pgh_secret_file_read(out, path);
    if (rc > 0)
        return pgh_error_set(err, PGH_ECONFIG, "webhook_secret_file %s cannot be read: %s", path,
                             strerror(rc));
    if (rc < 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "webhook_secret_file %s is empty: put the secret on its first line",
                             path);
    return 0;
}

/* destination: webhook, from the webhook_* keys; batches as the apply groups. */
static int open_webhook(pgh_destination **out, pgh_config *cfg, pgh_error *err)
{
    char *secret = NULL;
    pgh_webhook_opts wo = PGH_WEBHOOK_OPTS_INIT;
    wo.url = cfg->webhook_url;
    wo.secret = cfg->webhook_secret;
    wo.ca_file = cfg->webhook_ca_file;
    wo.state_file = pgh_cli_state_file(cfg);
    wo.timeout_ms = cfg->webhook_timeout_ms;
    wo.max_retries = cfg->webhook_max_retries;
    wo.retry_base_ms = cfg->webhook_retry_base_ms;
    wo.retry_max_ms = cfg->webhook_retry_max_ms;
    wo.max_events = cfg->apply_group_max_changes;
    wo.max_delay_ms = cfg->apply_group_max_delay_ms;
    if (wo.state_file == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (cfg->webhook_secret_file != NULL) {
        int rc = read_secret_file(&secret, cfg->webhook_secret_file, err);
        if (rc != 0)
            return rc;
        wo.secret = secret;
    }
    int rc = pgh_webhook_destination_new(out, &wo, err);
    if (secret != NULL)
        memset(secret, 0, strlen(secret));
    free(secret);
    return rc;
}

/* The destination the configuration names: PostgreSQL, a DuckDB file, a webhook, JSON lines
 * into files of file_directory, or JSON lines on stdout; stdout and the webhook keep their
 * position in state_file (default: the configuration file's name + ".state"). */
int pgh_cli_open_destination(pgh_destination **out, pgh_config *cfg, pgh_error *err)
{
    if (cfg->destination == PGH_DESTINATION_WEBHOOK)
        return open_webhook(out, cfg, err);
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
