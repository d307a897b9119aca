/* pghost status and pghost teardown. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pghost/config.h"
#include "pghost/duckdb.h"
#include "pghost/file.h"
#include "pghost/json.h"
#include "pghost/lifecycle.h"
#include "util/clock.h"

static const char STATUS_USAGE[] =
    "Usage: pghost status [options] [CONFIG.yaml]\n"
    "\n"
    "Show the replication slot on the source (active or not, confirmed LSN, WAL it retains)\n"
    "and the position pghost --follow recorded on the destination, with, per table, the\n"
    "changes skipped because their row was missing (on_missing_row: skip). For the\n"
    "distributed mode (destination: nats or source: nats) it also lists every applier of the\n"
    "JetStream stream: its consumer, subjects, messages pending and not yet acknowledged, and\n"
    "the age of the oldest message not acknowledged (with --json: an \"appliers\" document\n"
    "for source: nats; a capture's configuration prints them in text).\n"
    "\n"
    "Options:\n"
    "  --json              one JSON document on stdout instead of text\n"
    "  --watch             refresh every second until Ctrl-C, with the rates between\n"
    "                      refreshes: rows copied and WAL applied per second, and the lag\n"
    "  --log-level LEVEL   error, warn (default), info, debug or trace; logs go to stderr\n"
    "  --log-format FORMAT text (default) or json: one JSON object a line\n"
    "  -v, -q              --log-level debug / --log-level error\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 done; 1 failed; 2 bad command line or configuration (a connection string\n"
    "that does not parse too).\n";

static const char TEARDOWN_USAGE[] =
    "Usage: pghost teardown [options] [CONFIG.yaml]\n"
    "\n"
    "Drop what pghost created: the replication slot on the source, the publication when\n"
    "pghost init created it (never one you made), the DDL capture, and its position row in\n"
    "<state_schema>.state on the destination (the table and schema too when nothing else is in\n"
    "them); for destination: stdout its state file, for destination: file the state file in\n"
    "file_directory (the data files stay unless --delete-files). Both servers are opened, and\n"
    "the position read, before anything is dropped: when either cannot be reached, or the slot\n"
    "is in use, nothing is dropped. Says on stderr, one line each, what it dropped. Safe to run\n"
    "again.\n"
    "\n"
    "Options:\n"
    "  --force             drop what can be reached even when the other server cannot be\n"
    "                      (a stopped --follow run can then no longer resume); says what was\n"
    "                      not dropped, and exits 0 unless neither server could be reached\n"
    "  --delete-files      destination: file: remove the data files too (only the names\n"
    "                      pghost writes, and the table directories they leave empty)\n"
    "  --log-level LEVEL   error, warn (default), info, debug or trace; logs go to stderr\n"
    "  --log-format FORMAT text (default) or json: one JSON object a line\n"
    "  -v, -q              --log-level debug / --log-level error\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 done; 1 failed (a server cannot be reached without --force: nothing was\n"
    "dropped); 2 bad command line or configuration; 3 the slot is in use (nothing was dropped).\n";

static int read_state_file(pgh_status *st, pgh_config *cfg, pgh_error *err);
static int read_duckdb_position(pgh_status *st, const pgh_config *cfg, pgh_error *err);

static atomic_int g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static void print_status_text(const pgh_config *cfg, const pgh_status *s)
{
    printf("slot %s: ", cfg->slot_name);
    if (!s->slot_exists)
        printf("does not exist on the source\n");
    else
        printf("%s, confirmed " PGH_LSN_FMT ", retains %.1f MB of WAL (source at " PGH_LSN_FMT
               ")\n",
               s->slot_active ? "active" : "inactive", PGH_LSN_ARGS(s->confirmed_lsn),
               (double)s->retained_bytes / 1e6, PGH_LSN_ARGS(s->source_lsn));
    if (s->state.found)
        printf("destination: %s, applied up to " PGH_LSN_FMT " (checkpoint " PGH_LSN_FMT ")\n",
               s->state.phase, PGH_LSN_ARGS(s->state.applied_lsn),
               PGH_LSN_ARGS(s->state.checkpoint_lsn));
    else if (pgh_config_uses_state_file(cfg->destination))
        printf("destination: no position recorded in %s\n", cfg->state_file);
    else if (cfg->destination == PGH_DESTINATION_DUCKDB)
        printf("destination: no position recorded in DuckDB file %s\n", cfg->duckdb_path);
    else if (cfg->destination == PGH_DESTINATION_FILE)
        printf("destination: no position recorded in %s/" PGH_FILE_STATE_NAME "\n",
               cfg->file_directory);
    else if (cfg->destination == PGH_DESTINATION_NATS)
        printf("destination: a NATS JetStream stream; the capture's position is in the stream\n");
    else
        printf("destination: no position recorded in %s.state\n", cfg->state_schema);
    for (int i = 0; i < s->ntables; i++)
        printf("copy of %s: %lld of %lld key ranges done, %lld rows copied\n", s->tables[i].name,
               (long long)s->tables[i].ranges_done, (long long)s->tables[i].ranges_total,
               (long long)s->tables[i].rows_copied);
    for (int i = 0; i < s->nmissing; i++)
        printf("missing rows skipped in %s: %lld (on_missing_row: skip)\n", s->missing[i].name,
               (long long)s->missing[i].skipped);
}

/* A JSON string of a table name (quotes and backslashes escaped; names have no controls). */
static void put_json_name(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

static void print_status_json(const pgh_config *cfg, const pgh_status *s)
{
    printf("{\"slot\":{\"name\":\"%s\",\"exists\":%s,\"active\":%s,\"active_pid\":%d,"
           "\"confirmed_lsn\":\"" PGH_LSN_FMT "\",\"restart_lsn\":\"" PGH_LSN_FMT "\","
           "\"retained_wal_bytes\":%lld,\"source_lsn\":\"" PGH_LSN_FMT "\"},",
           cfg->slot_name, s->slot_exists ? "true" : "false", s->slot_active ? "true" : "false",
           s->slot_active_pid, PGH_LSN_ARGS(s->confirmed_lsn), PGH_LSN_ARGS(s->restart_lsn),
           (long long)s->retained_bytes, PGH_LSN_ARGS(s->source_lsn));
    if (s->state.found)
        printf("\"destination\":{\"phase\":\"%s\",\"applied_lsn\":\"" PGH_LSN_FMT "\","
               "\"checkpoint_lsn\":\"" PGH_LSN_FMT "\"},",
               s->state.phase, PGH_LSN_ARGS(s->state.applied_lsn),
               PGH_LSN_ARGS(s->state.checkpoint_lsn));
    else
        printf("\"destination\":null,");
    printf("\"copy\":[");
    for (int i = 0; i < s->ntables; i++) {
        printf("%s{\"table\":", i ? "," : "");
        put_json_name(s->tables[i].name);
        printf(",\"ranges_done\":%lld,\"ranges_total\":%lld,\"rows_copied\":%lld}",
               (long long)s->tables[i].ranges_done, (long long)s->tables[i].ranges_total,
               (long long)s->tables[i].rows_copied);
    }
    printf("],\"missing_rows_skipped\":[");
    for (int i = 0; i < s->nmissing; i++) {
        printf("%s{\"table\":", i ? "," : "");
        put_json_name(s->missing[i].name);
        printf(",\"skipped\":%lld}", (long long)s->missing[i].skipped);
    }
    printf("]}\n");
}

static int read_status(pgh_status *st, pgh_config *cfg, pgh_error *err)
{
    int rc = pgh_status_read(st, cfg, err);
    if (rc != 0)
        return rc;
    switch (cfg->destination) {
    case PGH_DESTINATION_STDOUT:
    case PGH_DESTINATION_FILE:
    case PGH_DESTINATION_WEBHOOK:
        return read_state_file(st, cfg, err);
    case PGH_DESTINATION_DUCKDB:
        return read_duckdb_position(st, cfg, err);
    default:
        return 0; /* PostgreSQL: pgh_status_read read the state schema */
    }
}

static int64_t rows_copied(const pgh_status *s)
{
    int64_t n = 0;
    for (int i = 0; i < s->ntables; i++)
        n += s->tables[i].rows_copied;
    return n;
}

/* Rates between two refreshes dt seconds apart, and the lag of the last one. */
static void print_rates(const pgh_status *prev, const pgh_status *s, double dt)
{
    double rows_s = (double)(rows_copied(s) - rows_copied(prev)) / dt;
    double wal_s = s->state.applied_lsn > prev->state.applied_lsn
                       ? (double)(s->state.applied_lsn - prev->state.applied_lsn) / dt
                       : 0;
    double lag = s->state.found && s->source_lsn > s->state.applied_lsn
                     ? (double)(s->source_lsn - s->state.applied_lsn)
                     : 0;
    printf("rates: %.0f rows/s copied, %.0f bytes/s of WAL applied; lag %.0f bytes", rows_s, wal_s,
           lag);
    if (lag > 0 && wal_s > 0)
        printf(" (~%.1f s at this rate)", lag / wal_s);
    printf("\n");
}

/* status --watch: a refresh every second until SIGINT/SIGTERM (exit 0) or a failure. */
static int watch(pgh_config *cfg, bool json, pgh_error *err)
{
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    pgh_status prev, st;
    memset(&prev, 0, sizeof(prev)); /* read only after a first refresh; says so to gcc */
    int64_t prev_ms = 0;
    for (int n = 0; !atomic_load(&g_stop); n++) {
        int64_t now = pgh_clock_ms();
        int rc = read_status(&st, cfg, err);
        if (rc != 0)
            return rc;
        if (json)
            print_status_json(cfg, &st);
        else
            print_status_text(cfg, &st);
        if (!json && n > 0)
            print_rates(&prev, &st, (double)(now - prev_ms) / 1000.0);
        if (!json)
            printf("\n");
        fflush(stdout);
        prev = st;
        prev_ms = now;
        for (int waited = 0; waited < 1000 && !atomic_load(&g_stop); waited += 50)
            pgh_sleep_ms(50);
    }
    return 0;
}

int pgh_cli_status(int argc, char **argv)
{
    bool json = false, watching = false;
    const pgh_cli_option options[] = {{"json", PGH_CLI_FLAG, &json, 0, 0, NULL},
                                      {"watch", PGH_CLI_FLAG, &watching, 0, 0, NULL}};
    const pgh_cli_command cmd = {.name = "status",
                                 .usage = STATUS_USAGE,
                                 .log_level = PGH_LOG_WARN,
                                 .options = options,
                                 .noptions = 2};
    pgh_config *cfg = NULL;
    int rc = pgh_cli_start(&cfg, &cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    pgh_error err;
    pgh_error_clear(&err);
    pgh_status st;
    if (cfg->source == PGH_SOURCE_NATS) { /* an applier's file: no source server in it */
        rc = pgh_cli__nats_status(cfg, json);
        pgh_config_free(cfg);
        return rc;
    }
    if (watching)
        rc = watch(cfg, json, &err);
    else
        rc = read_status(&st, cfg, &err);
    if (rc != 0)
        pgh_cli_error("%s", err.message);
    else if (!watching && json)
        print_status_json(cfg, &st);
    else if (!watching)
        print_status_text(cfg, &st);
    int code = pgh_cli_exit_code(rc);
    if (rc == 0 && !watching && !json && cfg->destination == PGH_DESTINATION_NATS)
        code = pgh_cli__nats_status(cfg, false);
    pgh_config_free(cfg);
    return code;
}

/* destination: stdout keeps its position in a file: it goes with the slot. */
static void remove_state_file(pgh_config *cfg)
{
    const char *path = pgh_cli_state_file(cfg);
    if (path == NULL)
        return;
    if (unlink(path) == 0)
        fprintf(stderr, "state file %s: removed\n", path);
    else if (errno == ENOENT)
        fprintf(stderr, "state file %s: not there (nothing to do)\n", path);
    else
        fprintf(stderr, "state file %s: could not be removed (%s): remove it yourself\n", path,
                strerror(errno));
}

/* destination: file: the position in file_directory's state file. */
static int read_file_state(pgh_status *st, const pgh_config *cfg, pgh_error *err)
{
    pgh_position pos = {0};
    bool found = false;
    int rc = pgh_file_state_read(&pos, &found, cfg->file_directory, cfg->slot_name, err);
    st->state.found = rc == 0 && found && pos.phase[0] != '\0';
    snprintf(st->state.phase, sizeof(st->state.phase), "%s%s", pos.phase,
             pos.resume ? " (existing rows pending)" : "");
    st->state.applied_lsn = pos.lsn;
    st->state.checkpoint_lsn = pos.checkpoint;
    free(pos.resume);
    return rc;
}

/* destination: stdout or file: the position its state file holds (for stdout read by the
 * destination itself). */
static int read_state_file(pgh_status *st, pgh_config *cfg, pgh_error *err)
{
    if (cfg->destination == PGH_DESTINATION_FILE)
        return read_file_state(st, cfg, err);
    pgh_json_opts jo = PGH_JSON_OPTS_INIT;
    jo.out = stdout;
    jo.state_file = pgh_cli_state_file(cfg);
    pgh_destination *d = NULL;
    pgh_position pos = {0};
    int rc = jo.state_file ? pgh_json_destination_new(&d, &jo, err)
                           : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    const pgh_destination_ops *ops = d ? pgh_destination_ops_of(d) : NULL;
    pgh_destination_info info = {.config = cfg, .slot = cfg->slot_name};
    if (rc == 0)
        rc = ops->open(pgh_destination_user(d), &info, err);
    if (rc == 0)
        rc = ops->read_position(pgh_destination_user(d), &pos, err);
    if (ops)
        ops->close(pgh_destination_user(d));
    st->state.found = rc == 0 && pos.phase[0] != '\0';
    snprintf(st->state.phase, sizeof(st->state.phase), "%s%s", pos.phase,
             pos.resume ? " (existing rows pending)" : "");
    st->state.applied_lsn = pos.lsn;
    st->state.checkpoint_lsn = pos.checkpoint;
    free(pos.resume);
    pgh_destination_free(d);
    return rc;
}

/* destination: duckdb: the position _pghost_position holds in the file (DuckDB lets one
 * process at a time open it: while pghost runs, status reports the file as busy). */
static int read_duckdb_position(pgh_status *st, const pgh_config *cfg, pgh_error *err)
{
    pgh_duckdb_opts o = PGH_DUCKDB_OPTS_INIT;
    o.path = cfg->duckdb_path;
    o.library = cfg->duckdb_library;
    pgh_position pos = {0};
    bool found = false;
    int rc = pgh_duckdb_position_read(&pos, &found, &o, cfg->slot_name, err);
    st->state.found = rc == 0 && found;
    snprintf(st->state.phase, sizeof(st->state.phase), "%s%s", pos.phase,
             pos.resume ? " (existing rows pending)" : "");
    st->state.applied_lsn = pos.lsn;
    st->state.checkpoint_lsn = pos.checkpoint;
    free(pos.resume);
    return rc;
}

/* destination: file: its state file goes with the slot; its data files only when asked. */
static void remove_file_state(const pgh_config *cfg, bool data_files)
{
    pgh_error err;
    pgh_error_clear(&err);
    size_t removed = 0;
    if (pgh_file_remove(&removed, cfg->file_directory, data_files, &err) != 0)
        fprintf(stderr, "%s: remove it yourself\n", err.message);
    else
        fprintf(stderr, "state file %s/" PGH_FILE_STATE_NAME ": removed (or was not there)\n",
                cfg->file_directory);
    if (data_files)
        fprintf(stderr, "data files in %s: %zu removed\n", cfg->file_directory, removed);
    else
        fprintf(stderr, "data files in %s: kept (--delete-files removes them)\n",
                cfg->file_directory);
}

/* What teardown did, one line each on stderr (stdout belongs to data). */
static void print_teardown(pgh_config *cfg, const pgh_teardown_result *r, bool delete_files)
{
    if (r->source_skipped)
        fprintf(stderr,
                "slot %s, publication %s, DDL capture: NOT dropped: the source could not be "
                "reached (%s); run pghost teardown again once it is back\n",
                cfg->slot_name, cfg->publication_name, r->skipped_reason);
    else {
        fprintf(stderr, "slot %s: %s\n", cfg->slot_name,
                r->slot_dropped ? "dropped" : "not there (nothing to do)");
        fprintf(stderr, "publication %s: %s\n", cfg->publication_name,
                r->publication_dropped ? "dropped (pghost init created it)"
                : r->publication_kept  ? "kept (pghost did not create it)"
                                       : "not there (nothing to do)");
        fprintf(stderr, "DDL capture: removed (or was not there)\n");
    }
    if (pgh_config_uses_state_file(cfg->destination))
        remove_state_file(cfg);
    else if (cfg->destination == PGH_DESTINATION_DUCKDB)
        fprintf(stderr, "DuckDB file %s: left as it is (its tables and the position in "
                        "_pghost_position stay; delete the file yourself if you no longer need "
                        "it)\n",
                cfg->duckdb_path);
    else if (cfg->destination == PGH_DESTINATION_FILE)
        remove_file_state(cfg, delete_files);
    else if (cfg->destination == PGH_DESTINATION_NATS)
        fprintf(stderr, "NATS stream: left as it is (its messages and the capture's position "
                        "stay, for the appliers; delete the stream yourself when none needs "
                        "it)\n");
    else if (r->destination_skipped)
        fprintf(stderr,
                "position in %s.state: NOT removed: the destination could not be read (%s); run "
                "pghost teardown again once it is back\n",
                cfg->state_schema, r->skipped_reason);
    else
        fprintf(stderr, "position in %s.state: %s\n", cfg->state_schema,
                r->state_dropped ? "removed" : "not there (nothing to do)");
}

int pgh_cli_teardown(int argc, char **argv)
{
    bool force = false;
    bool delete_files = false;
    const pgh_cli_option options[] = {{"force", PGH_CLI_FLAG, &force, 0, 0, NULL},
                                      {"delete-files", PGH_CLI_FLAG, &delete_files, 0, 0, NULL}};
    const pgh_cli_command cmd = {.name = "teardown",
                                 .usage = TEARDOWN_USAGE,
                                 .log_level = PGH_LOG_WARN,
                                 .options = options,
                                 .noptions = 2};
    pgh_config *cfg = NULL;
    int rc = pgh_cli_start(&cfg, &cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    pgh_error err;
    pgh_error_clear(&err);
    pgh_teardown_result r;
    rc = pgh_teardown(&r, cfg, force, &err);
    if (rc != 0)
        pgh_cli_error("%s", err.message);
    else
        print_teardown(cfg, &r, delete_files);
    pgh_config_free(cfg);
    return pgh_cli_exit_code(rc);
}
