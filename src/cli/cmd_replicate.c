/* pghost replicate: parse options, load the config, run the sync, print the result. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "metrics.h"
#include "pg/conn.h"
#include "pghost/pghost.h"

static const char USAGE[] =
    "Usage: pghost replicate [options] [CONFIG.yaml]\n"
    "\n"
    "Copy the configured tables from the source to the destination in parallel batches (each\n"
    "its own short transaction), then replay the changes made meanwhile from a logical\n"
    "replication slot up to a checkpoint. At exit 0 the destination equals the source as of\n"
    "the printed checkpoint LSN. The destination tables must exist and be empty, unless\n"
    "--create-tables creates them. With --to stdout or --to file, the existing rows and then\n"
    "the changes are written as JSON lines, in one order that rebuilds each table; with --to\n"
    "webhook the same lines are POSTed in batches to webhook_url. rules_file in the\n"
    "configuration transforms and filters rows and changes on the way, for every\n"
    "destination (pg_flo's rules format; the hash transform's salt from\n"
    "PGHOST_RULES_HASH_SALT; docs/rules.md).\n"
    "\n"
    "Every run is resumable: a lost connection to either server is reconnected with backoff\n"
    "and the run goes on from the progress it recorded on the destination (state_schema).\n"
    "A run stopped before its checkpoint (SIGINT/SIGTERM, an error) exits non-zero and keeps\n"
    "its slot and progress: run the same command again to resume, or pghost teardown.\n"
    "\n"
    "Options:\n"
    "  --follow                  after the checkpoint, keep applying changes until stopped\n"
    "                            (SIGINT/SIGTERM), exactly once: the position is kept on the\n"
    "                            destination (state_schema) in the same transaction as the\n"
    "                            data. Run the same command again to resume after any stop\n"
    "                            (then exit 0)\n"
    "  --handoff-subscription NAME\n"
    "                            after the checkpoint, create the native subscription NAME on\n"
    "                            the destination, on pghost's slot (no copy, no new slot)\n"
    "  --to postgres|stdout|file|duckdb|webhook\n"
    "                            where rows and changes go (overrides the destination key):\n"
    "                            stdout writes the existing rows (\"op\":\"snapshot\"), then every\n"
    "                            change, as JSON lines, until stopped; the position is kept in\n"
    "                            state_file (default CONFIG.yaml.state), and a re-run carries\n"
    "                            on from it, in the middle of the existing rows too.\n"
    "                            file writes the same lines into files in file_directory\n"
    "                            (one stream per table, or one: file_layout), rotated by\n"
    "                            file_rotate_bytes and file_rotate_seconds, each line exactly\n"
    "                            once across restarts and crashes (docs/destinations.md)\n"
    "                            duckdb creates each table in the DuckDB file duckdb_path\n"
    "                            (libduckdb loaded at run time: duckdb_library, else the copy\n"
    "                            scripts/install-deps.sh installs) and applies rows and changes\n"
    "                            in batches, the position in the same transaction (exactly\n"
    "                            once); stops at the checkpoint, or follows with --follow\n"
    "                            webhook POSTs the same lines in signed batches to webhook_url\n"
    "                            (at least once: the position moves only after a 2xx; retries\n"
    "                            with backoff on errors, 429 and 5xx; another 4xx stops the\n"
    "                            run); keys webhook_* (docs/destinations.md), batches of up to\n"
    "                            apply_group_max_changes lines or apply_group_max_delay_ms\n"
    "  --changes-only            stdout, file or webhook: no existing rows, only the changes\n"
    "                            from the slot (created when missing)\n"
    "  --keep-slot               keep the replication slot, positioned at the checkpoint, and\n"
    "                            print how to attach a native subscription to it\n"
    "  --truncate-destination    empty the destination tables first instead of refusing\n"
    "                            (copy_method: parallel only)\n"
    "  --create-tables           create missing destination schemas, types and tables before\n"
    "                            the copy, their primary keys or key indexes after it (before\n"
    "                            the catch-up; with on_conflict_action update|nothing and for\n"
    "                            partitioned tables, before it), and their other indexes and\n"
    "                            constraints after the catch-up, several at a time\n"
    "                            (create_destination_tables: true); existing tables are\n"
    "                            checked, never altered; under a publication column list,\n"
    "                            only the listed columns\n"
    "  --before-checkpoint CMD   run CMD (with /bin/sh) after the copy and before the\n"
    "                            checkpoint, e.g. to stop writes for a cutover; a non-zero\n"
    "                            exit aborts the run\n"
    "  --metrics-addr HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics, and\n"
    "                            /healthz and /readyz (see README, Operating pghost)\n"
    "  --no-progress             no progress bars or progress log lines\n"
    "  --log-level LEVEL         error, warn, info (default), debug or trace; logs go to stderr\n"
    "                            (debug: the copy plan, batch timings, the catch-up's\n"
    "                            position, reconnect backoff; trace: the apply's statements)\n"
    "  --log-format FORMAT       text (default) or json: one JSON object a line\n"
    "  -v, -q                    --log-level debug / --log-level error\n"
    "  -h, --help                show this help\n"
    "\n"
    "Writer keys of the configuration (docs/destinations.md): copy_method parallel|watermarks\n"
    "(how PostgreSQL gets the existing rows), on_conflict_action error|update|nothing (rows\n"
    "already on the destination), disable_triggers true|false, batch_size, batch_timeout_ms.\n"
    "\n"
    "The result (checkpoint LSN, rows copied and changes applied per table) goes to stdout.\n"
    "Exit status: 0 done; 1 the run failed; 2 bad command line or configuration;\n"
    "3 a preflight check failed (nothing was written).\n";

static atomic_int g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    if (atomic_exchange(&g_cancel, 1))
        _exit(130); /* second signal: leave now */
}

/* The command line; every string is borrowed from argv. */
typedef struct cli_opts {
    const char *to;
    bool follow;
    const char *handoff;
    bool keep_slot;
    bool truncate;
    bool create_tables;
    bool no_progress;
    bool changes_only;
    const char *before_checkpoint;
    const char *metrics_addr;
    const char *config_path;
} cli_opts;

/* Returns PGH_CLI_RUN or the exit status (pgh_cli_parse). */
static int parse_args(cli_opts *o, int argc, char **argv)
{
    const pgh_cli_option options[] = {
        {"keep-slot", PGH_CLI_FLAG, &o->keep_slot, 0, 0, NULL},
        {"follow", PGH_CLI_FLAG, &o->follow, 0, 0, NULL},
        {"to", PGH_CLI_STRING, &o->to, 0, 0, "postgres, stdout, file, duckdb or webhook"},
        {"handoff-subscription", PGH_CLI_STRING, &o->handoff, 0, 0, "a subscription name"},
        {"truncate-destination", PGH_CLI_FLAG, &o->truncate, 0, 0, NULL},
        {"create-tables", PGH_CLI_FLAG, &o->create_tables, 0, 0, NULL},
        {"before-checkpoint", PGH_CLI_STRING, &o->before_checkpoint, 0, 0, "a command"},
        {"no-progress", PGH_CLI_FLAG, &o->no_progress, 0, 0, NULL},
        {"changes-only", PGH_CLI_FLAG, &o->changes_only, 0, 0, NULL},
        {"metrics-addr", PGH_CLI_STRING, &o->metrics_addr, 0, 0, "HOST:PORT"},
    };
    const pgh_cli_command cmd = {.name = "replicate",
                                 .usage = USAGE,
                                 .log_level = PGH_LOG_INFO,
                                 .options = options,
                                 .noptions = (int)(sizeof(options) / sizeof(options[0]))};
    *o = (cli_opts){0};
    int rc = pgh_cli_parse(&o->config_path, &cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    if (o->follow && o->handoff) {
        pgh_cli_error("--follow and --handoff-subscription exclude each other: either pghost "
                      "follows the slot or the subscription does");
        return PGH_EXIT_USAGE;
    }
    return PGH_CLI_RUN;
}

static int run_before_checkpoint(void *payload, pgh_error *err)
{
    const char *cmd = payload;
    pgh_log(PGH_LOG_INFO, "replicate", "copy done; running the --before-checkpoint command");
    int status = system(cmd);
    if (status == -1)
        return pgh_error_set(err, PGH_ECANCELED, "cannot run the --before-checkpoint command");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return pgh_error_set(err, PGH_ECANCELED,
                             "the --before-checkpoint command failed (status %d): run aborted "
                             "before the checkpoint",
                             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

/* s with every quote character doubled, for an SQL literal (') or identifier ("); takes
 * ownership of s. */
static char *doubled(char *s, char quote)
{
    if (s == NULL)
        return NULL;
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == quote ? 2 : 1;
    char *out = malloc(n + 1);
    if (out) {
        char *o = out;
        for (const char *p = s; *p; p++) {
            if (*p == quote)
                *o++ = quote;
            *o++ = *p;
        }
        *o = '\0';
    }
    free(s);
    return out;
}

static void print_result(const pgh_config *cfg, const pgh_pipeline_result *r, bool keep_slot)
{
    for (int i = 0; i < r->ntables; i++) {
        const pgh_pipeline_table_result *t = &r->tables[i];
        printf("%s -> %s: %llu rows copied (%.1f MB); catch-up: %llu inserted, %llu "
               "updated, %llu deleted, %llu truncates, %llu without effect; %d sequences set\n",
               t->source, t->destination, (unsigned long long)t->rows_copied, (double)t->bytes_copied / 1e6,
               (unsigned long long)t->applied.inserts, (unsigned long long)t->applied.updates,
               (unsigned long long)t->applied.deletes, (unsigned long long)t->applied.truncates,
               (unsigned long long)t->applied.skipped, t->applied.sequences_set);
    }
    printf("copy took %.1f s, catch-up %.1f s (%llu changes, %llu rows copied again)\n",
           r->copy_seconds, r->catchup_seconds, (unsigned long long)r->changes_seen,
           (unsigned long long)r->rows_recopied);
    printf("checkpoint LSN: " PGH_LSN_FMT "\n", PGH_LSN_ARGS(r->checkpoint_lsn));
    if (keep_slot) {
        char *masked = doubled(pgh_conninfo_mask(cfg->source_connection), '\'');
        char *pub = doubled(strdup(cfg->publication_name), '"');
        bool has_password = masked && strstr(masked, "********") != NULL;
        printf("replication slot %s kept at the checkpoint. To continue with a native "
               "subscription, run on the destination:\n"
               "  CREATE SUBSCRIPTION %s CONNECTION '%s' PUBLICATION \"%s\"\n"
               "    WITH (create_slot = false, slot_name = '%s', copy_data = false);\n"
               "%sTo give the slot up instead: SELECT pg_drop_replication_slot('%s'); on the "
               "source.\n",
               cfg->slot_name, cfg->slot_name, masked ? masked : "...", pub ? pub : "...",
               cfg->slot_name, has_password ? "(put the real password in place of ********.) " : "",
               cfg->slot_name);
        free(masked);
        free(pub);
    }
    fflush(stdout);
}

/* What the callbacks need: the progress display and the metrics (may be NULL). */
typedef struct print_ctx {
    const pgh_config *cfg;
    bool keep_slot;
    pgh_cli_progress *progress;
    pgh_cli_metrics *metrics;
} print_ctx;

static print_ctx g_print;

static void on_checkpoint(const pgh_pipeline_result *r, void *payload)
{
    (void)payload;
    pgh_cli_progress_done(g_print.progress);
    for (int i = 0; i < r->ntables; i++)
        pgh_cli_metrics_table(g_print.metrics, r->tables[i].source, r->tables[i].rows_copied,
                              r->tables[i].bytes_copied);
    print_result(g_print.cfg, r, g_print.keep_slot);
}

/* The progress display, and the rows copied per table for the metrics. */
static void on_progress(const pgh_progress *p, void *payload)
{
    for (int i = 0; p->phase == PGH_PROGRESS_ROWS && i < p->ntables; i++)
        pgh_cli_metrics_table(g_print.metrics, p->tables[i].name, p->tables[i].rows,
                              p->tables[i].bytes);
    pgh_cli_progress_update(p, payload);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Load the configuration as the options change it.
 * Returns PGH_EXIT_OK or the exit status after printing the error (then *out is NULL). */
static int load_config(pgh_config **out, const cli_opts *o)
{
    pgh_config *cfg = NULL;
    pgh_cli_load how = {.to = o->to};
    int rc = pgh_cli_load_config(&cfg, o->config_path, &how);
    if (rc != PGH_EXIT_OK)
        return rc;
    rc = PGH_EXIT_USAGE;
    if (cfg->destination == PGH_DESTINATION_NATS) {
        pgh_cli_error("%s: destination: nats is pghost capture's: run pghost capture, or use "
                      "--to postgres, stdout, file or duckdb",
                      cfg->path ? cfg->path : "the configuration");
        goto done;
    }
    if (o->changes_only && cfg->destination != PGH_DESTINATION_FILE &&
        !pgh_config_uses_state_file(cfg->destination)) {
        pgh_cli_error("--changes-only is for --to stdout, file or webhook: a PostgreSQL "
                      "destination is synced whole, and so is a DuckDB file");
        goto done;
    }
    if (o->truncate && cfg->copy_method == PGH_COPY_METHOD_WATERMARKS) {
        pgh_cli_error("--truncate-destination is for copy_method: parallel; with watermarks "
                      "empty the destination tables first (TRUNCATE)");
        goto done;
    }
    if (o->create_tables)
        cfg->create_destination_tables = true;
    rc = PGH_EXIT_OK;
done:
    if (rc != PGH_EXIT_OK)
        pgh_config_free(cfg);
    *out = rc == PGH_EXIT_OK ? cfg : NULL;
    return rc;
}

static void pipeline_opts(pgh_pipeline_opts *po, const cli_opts *o, bool to_events,
                          pgh_cli_progress *progress)
{
    *po = (pgh_pipeline_opts)PGH_PIPELINE_OPTS_INIT;
    po->what = o->changes_only ? PGH_PIPELINE_CHANGES : PGH_PIPELINE_BOTH;
    po->until = o->follow || to_events ? PGH_UNTIL_STOPPED : PGH_UNTIL_CHECKPOINT;
    po->cancel = &g_cancel;
    po->keep_slot = o->keep_slot || o->handoff;
    po->truncate_destination = o->truncate;
    po->checkpoint_reached = on_checkpoint;
    po->progress = on_progress;
    po->progress_payload = progress;
    po->stats = pgh_cli_metrics_stats(g_print.metrics);
    if (o->before_checkpoint) {
        po->before_checkpoint = run_before_checkpoint;
        po->before_checkpoint_payload = (void *)o->before_checkpoint;
    }
}

/* Run the pipeline (and the handoff); the exit code. */
static int run(const cli_opts *o, pgh_config *cfg, const pgh_rules *rules, pgh_error *err)
{
    /* stdout, files and a webhook: an event stream, delivered until stopped */
    bool to_events = cfg->destination == PGH_DESTINATION_FILE ||
                     pgh_config_uses_state_file(cfg->destination);
    pgh_source *src = NULL;
    pgh_destination *dest = NULL;
    pgh_pipeline_result result;
    memset(&result, 0, sizeof(result));
    /* Patterns in tables: become concrete tables of the source. */
    int rc = pgh_source_open(&src, cfg, err);
    if (rc != 0) {
        pgh_cli_error("%s", err->message);
        return rc == PGH_ECONFIG ? PGH_EXIT_USAGE : PGH_EXIT_FAILURE;
    }
    /* The counters always (JSON logs show their phase); the server with --metrics-addr. */
    pgh_cli_metrics *metrics = pgh_cli_metrics_new(cfg->source_connection, cfg->slot_name);
    if (metrics == NULL || (o->metrics_addr && pgh_cli_metrics_serve(metrics, o->metrics_addr))) {
        pgh_cli_metrics_free(metrics);
        pgh_source_close(src);
        return metrics ? PGH_EXIT_USAGE : PGH_EXIT_FAILURE;
    }
    pgh_cli_log_phase(&pgh_cli_metrics_stats(metrics)->phase);
    rc = pgh_cli_open_destination(&dest, cfg, err);
    install_signals();
    pgh_cli_progress *progress = pgh_cli_progress_new(!o->no_progress && !to_events);
    g_print = (print_ctx){pgh_source_config(src), o->keep_slot && !o->follow && !o->handoff,
                          progress, metrics};
    pgh_pipeline_opts po;
    pipeline_opts(&po, o, to_events, progress);
    if (rc == 0)
        rc = pgh_pipeline_run(&result, src, rules, dest, &po, err);
    pgh_cli_progress_done(progress);
    bool following = o->follow || to_events;
    /* A resumable run stopped on request: its state is recorded, the same command resumes. */
    if (rc == PGH_ECANCELED && following && atomic_load(&g_cancel)) {
        pgh_log(PGH_LOG_INFO, "replicate", "stopped on request; run the same command to resume");
        rc = 0;
        following = false; /* nothing more to print */
    }
    if (rc == 0 && o->handoff)
        rc = pgh_postgres_handoff(pgh_source_config(src), o->handoff, err);
    if (rc == 0 && o->handoff)
        printf("subscription %s now replicates from slot %s, starting at the checkpoint\n",
               o->handoff, cfg->slot_name);
    if (rc == 0 && following)
        pgh_log(PGH_LOG_INFO, "follow",
                "stopped following slot %s after %llu source transactions; run the same command "
                "to resume",
                cfg->slot_name, (unsigned long long)result.followed_txns);
    if (rc != 0 && err->lsn)
        pgh_cli_error("%s (at LSN " PGH_LSN_FMT ")", err->message, PGH_LSN_ARGS(err->lsn));
    else if (rc != 0)
        pgh_cli_error("%s", err->message);
    pgh_pipeline_result_dispose(&result);
    pgh_cli_progress_free(progress);
    pgh_cli_log_phase(NULL);
    pgh_cli_metrics_free(metrics);
    pgh_destination_free(dest);
    pgh_source_close(src);
    return rc == 0 ? PGH_EXIT_OK : pgh_cli_exit_code(rc);
}

int pgh_cli_replicate(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    pgh_config *cfg = NULL;
    rc = load_config(&cfg, &o);
    if (rc != PGH_EXIT_OK)
        return rc;
    pgh_rules *rules = NULL;
    rc = pgh_cli_load_rules(&rules, cfg);
    pgh_error err;
    pgh_error_clear(&err);
    if (rc == PGH_EXIT_OK)
        rc = run(&o, cfg, rules, &err);
    pgh_rules_free(rules);
    pgh_config_free(cfg);
    return rc;
}
