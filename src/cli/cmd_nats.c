/* pghost capture and pghost apply: the distributed mode on NATS JetStream (docs/nats.md). */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pghost/pghost.h"

static const char CAPTURE_USAGE[] =
    "Usage: pghost capture [options] [CONFIG.yaml]\n"
    "\n"
    "The configuration has destination: nats (see examples/capture.yaml). Publish the\n"
    "configured tables' existing rows (in watermarked chunks) and then every change\n"
    "from the logical replication slot to a NATS JetStream stream, until stopped\n"
    "(SIGINT/SIGTERM): subjects <prefix>.<schema>.<table> (nats_subject_prefix, default\n"
    "pghost.<slot>), whole transactions on each subject (docs/nats.md). The stream\n"
    "(nats_stream, default PGHOST_<SLOT>) is created when missing with nats_replicas,\n"
    "nats_max_age_s, nats_max_bytes and nats_duplicate_window_s; an existing one with other\n"
    "settings is reported, never changed. The slot is confirmed only up to what JetStream\n"
    "acknowledged, and the capture's position is kept in the stream itself: run the same\n"
    "command again to resume after any stop. rules_file (docs/rules.md) is applied here,\n"
    "before publishing: every applier gets the rows as the rules make them.\n"
    "\n"
    "Options:\n"
    "  --changes-only            no existing rows, only the changes from the slot (created\n"
    "                            when missing)\n"
    "  --log-level LEVEL         error, warn, info (default), debug or trace; logs go to stderr\n"
    "  --log-format FORMAT       text (default) or json\n"
    "  -v, -q                    --log-level debug / --log-level error\n"
    "  -h, --help                show this help\n"
    "\n"
    "Exit status: 0 stopped on request; 1 the run failed (no NATS server answered at the\n"
    "start; JetStream unavailable later is retried); 2 bad command line, configuration, NATS\n"
    "credentials (nats_credentials_file, nats_nkey_file, nats_token_file) or a server\n"
    "certificate not verified (nats_ca_file); 3 the stream exists with other settings, or a\n"
    "preflight check failed (nothing was written).\n";

static const char APPLY_USAGE[] =
    "Usage: pghost apply [options] [CONFIG.yaml]\n"
    "\n"
    "Apply what pghost capture published to the configured destination (destination:\n"
    "postgres, stdout, file, duckdb or webhook), through the durable JetStream consumer\n"
    "nats_consumer (default pghost_apply) taking the subjects nats_subjects (default\n"
    "<prefix>.>), until stopped (SIGINT/SIGTERM).\n"
    "The configuration has source: nats, nats_url and the tables as the capture's (their\n"
    "destination names may differ). PostgreSQL and DuckDB get every source transaction exactly\n"
    "once (the position is stored with the data, under the consumer's name); stdout at least\n"
    "once (its state_file), file and webhook as docs/destinations.md says. One applier per\n"
    "consumer and destination.\n"
    "\n"
    "Options:\n"
    "  --to postgres|stdout|file|duckdb|webhook\n"
    "                            where rows and changes go (overrides the destination key)\n"
    "  --stop-when-idle SECONDS  stop (exit 0) after this long without a message\n"
    "  --log-level LEVEL         error, warn, info (default), debug or trace; logs go to stderr\n"
    "  --log-format FORMAT       text (default) or json\n"
    "  -v, -q                    --log-level debug / --log-level error\n"
    "  -h, --help                show this help\n"
    "\n"
    "Exit status: 0 stopped on request or idle; 1 the run failed (no NATS server answered, no\n"
    "stream); 2 bad command line, configuration, NATS credentials or a server certificate not\n"
    "verified (nats_ca_file); 3 another applier uses the consumer, or the destination is not\n"
    "ready (nothing was written).\n";

static atomic_int g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    if (atomic_exchange(&g_cancel, 1))
        _exit(130);
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

/* The message of a failed run, and its exit status. */
static int report(int rc, const pgh_error *err)
{
    if (rc == 0)
        return PGH_EXIT_OK;
    if (err->lsn)
        pgh_cli_error("%s (at LSN " PGH_LSN_FMT ")", err->message, PGH_LSN_ARGS(err->lsn));
    else
        pgh_cli_error("%s", err->message);
    return pgh_cli_exit_code(rc);
}

int pgh_cli_capture(int argc, char **argv)
{
    bool changes_only = false;
    const pgh_cli_option options[] = {
        {"changes-only", PGH_CLI_FLAG, &changes_only, 0, 0, NULL},
    };
    const pgh_cli_command cmd = {.name = "capture", .usage = CAPTURE_USAGE,
                                 .log_level = PGH_LOG_INFO, .options = options, .noptions = 1};
    pgh_config *cfg = NULL;
    int rc = pgh_cli_start(&cfg, &cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    if (cfg->destination != PGH_DESTINATION_NATS) {
        pgh_cli_error("%s: pghost capture publishes to NATS JetStream: set destination: nats "
                      "(and nats_url)",
                      cfg->path ? cfg->path : "the configuration");
        pgh_config_free(cfg);
        return PGH_EXIT_USAGE;
    }
    pgh_rules *rules = NULL; /* rules_file: applied once, before publishing */
    if (pgh_cli_load_rules(&rules, cfg) != PGH_EXIT_OK) {
        pgh_config_free(cfg);
        return PGH_EXIT_USAGE;
    }
    pgh_error err;
    pgh_error_clear(&err);
    pgh_source *src = NULL;
    pgh_destination *dest = NULL;
    pgh_pipeline_result result;
    memset(&result, 0, sizeof(result));
    rc = pgh_source_open(&src, cfg, &err);
    if (rc == 0)
        rc = pgh_nats_capture_destination_new(&dest, &err);
    install_signals();
    pgh_pipeline_opts po = PGH_PIPELINE_OPTS_INIT;
    po.what = changes_only ? PGH_PIPELINE_CHANGES : PGH_PIPELINE_BOTH;
    po.until = PGH_UNTIL_STOPPED;
    po.cancel = &g_cancel;
    if (rc == 0)
        rc = pgh_pipeline_run(&result, src, rules, dest, &po, &err);
    if (rc == PGH_ECANCELED && atomic_load(&g_cancel))
        rc = 0;
    if (rc == 0)
        pgh_log(PGH_LOG_INFO, "capture",
                "stopped after %llu source transactions; run the same command to resume",
                (unsigned long long)result.followed_txns);
    rc = report(rc, &err);
    pgh_pipeline_result_dispose(&result);
    pgh_destination_free(dest);
    pgh_source_close(src);
    pgh_rules_free(rules);
    pgh_config_free(cfg);
    return rc;
}

/* The applier's configuration: source: nats, and the consumer's name in place of the slot's
 * (the destination keeps its position and lock under it). */
static int apply_config(pgh_config *cfg)
{
    if (cfg->source != PGH_SOURCE_NATS) {
        pgh_cli_error("%s: pghost apply reads a NATS stream: set source: nats (and nats_url)",
                      cfg->path ? cfg->path : "the configuration");
        return PGH_EXIT_USAGE;
    }
    if (cfg->destination == PGH_DESTINATION_NATS) {
        pgh_cli_error("%s: pghost apply feeds postgres, stdout, file, duckdb or webhook, not the "
                      "stream it reads: set destination (or --to) to one of them",
                      cfg->path ? cfg->path : "the configuration");
        return PGH_EXIT_USAGE;
    }
    const char *consumer = cfg->nats.consumer ? cfg->nats.consumer : "pghost_apply";
    if (strlen(consumer) > 63 || strspn(consumer, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
                                     strlen(consumer)) {
        pgh_cli_error("nats_consumer must match ^[a-z0-9_]{1,63}$ (the destination keeps the "
                      "applier's position under it), got \"%s\"",
                      consumer);
        return PGH_EXIT_USAGE;
    }
    for (size_t i = 0; i < cfg->ntables; i++) {
        if (pgh_config_is_pattern(cfg->tables[i].source_schema) ||
            pgh_config_is_pattern(cfg->tables[i].source_table)) {
            pgh_cli_error("pghost apply takes tables by name, not by pattern (%s.%s): list "
                          "them",
                          cfg->tables[i].source_schema, cfg->tables[i].source_table);
            return PGH_EXIT_USAGE;
        }
    }
    if (cfg->rules_file != NULL) {
        pgh_cli_error("%s: rules_file is applied by pghost capture, before publishing: move it "
                      "to the capture's configuration",
                      cfg->path ? cfg->path : "the configuration");
        return PGH_EXIT_USAGE;
    }
    pgh_error err;
    pgh_error_clear(&err);
    char *slot = strdup(consumer);
    if (slot == NULL || pgh_nats_config_defaults(cfg, &err) != 0) {
        free(slot);
        return PGH_EXIT_FAILURE;
    }
    free(cfg->slot_name);
    cfg->slot_name = slot;
    cfg->tables_resolved = true;
    /* The stream carries the existing rows in watermarked chunks with the changes: a PostgreSQL
     * destination takes them on its event path (position and rows in one transaction). */
    cfg->copy_method = PGH_COPY_METHOD_WATERMARKS;
    return PGH_EXIT_OK;
}


int pgh_cli_apply(int argc, char **argv)
{
    const char *to = NULL;
    double idle_s = 0;
    const pgh_cli_option options[] = {
        {"to", PGH_CLI_STRING, &to, 0, 0, "postgres, stdout, file, duckdb or webhook"},
        {"stop-when-idle", PGH_CLI_SECONDS, &idle_s, 0, 86400, NULL},
    };
    const pgh_cli_command cmd = {.name = "apply", .usage = APPLY_USAGE,
                                 .log_level = PGH_LOG_INFO, .options = options, .noptions = 2};
    pgh_config *cfg = NULL;
    const char *path = NULL;
    int rc = pgh_cli_parse(&path, &cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    pgh_cli_load how = {.to = to};
    rc = pgh_cli_load_config(&cfg, path, &how);
    if (rc != PGH_EXIT_OK)
        return rc;
    rc = apply_config(cfg);
    if (rc != PGH_EXIT_OK) {
        pgh_config_free(cfg);
        return rc;
    }
    pgh_error err;
    pgh_error_clear(&err);
    pgh_destination *dest = NULL;
    rc = pgh_cli_open_destination(&dest, cfg, &err);
    install_signals();
    pgh_nats_apply_opts ao = PGH_NATS_APPLY_OPTS_INIT;
    ao.cancel = &g_cancel;
    ao.idle_stop_ms = (int)(idle_s * 1000);
    if (rc == 0)
        rc = pgh_nats_apply_run(cfg, dest, &ao, &err);
    if (rc == 0)
        pgh_log(PGH_LOG_INFO, "apply", "stopped; run the same command to resume");
    rc = report(rc, &err);
    pgh_destination_free(dest);
    pgh_config_free(cfg);
    return rc;
}

int pgh_cli__nats_status(pgh_config *cfg, bool json)
{
    pgh_error err;
    pgh_error_clear(&err);
    pgh_nats_consumer_status *st = NULL;
    int n = 0;
    int rc = pgh_nats_config_defaults(cfg, &err);
    if (rc == 0)
        rc = pgh_nats_status(&st, &n, cfg, &err);
    if (rc != 0)
        return report(rc, &err);
    if (json) {
        json_t *list = json_array();
        for (int i = 0; list != NULL && i < n; i++)
            json_array_append_new(
                list, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:f}", "consumer", st[i].name,
                                "subjects", st[i].filter, "pending", (json_int_t)st[i].pending,
                                "ack_pending", (json_int_t)st[i].ack_pending, "ack_floor",
                                (json_int_t)st[i].ack_floor, "stream_last",
                                (json_int_t)st[i].stream_last, "lag_seconds", st[i].lag_seconds));
        json_t *doc = json_pack("{s:s,s:o}", "stream", cfg->nats.stream, "appliers", list);
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        puts(text ? text : "{}");
        free(text);
        json_decref(doc);
    } else {
        printf("stream %s: %d applier(s)\n", cfg->nats.stream, n);
        for (int i = 0; i < n; i++)
            printf("applier %s (%s): %llu messages pending, %llu not yet acknowledged, "
                   "acknowledged up to %llu of %llu, lag %.1f s\n",
                   st[i].name, st[i].filter, (unsigned long long)st[i].pending,
                   (unsigned long long)st[i].ack_pending, (unsigned long long)st[i].ack_floor,
                   (unsigned long long)st[i].stream_last, st[i].lag_seconds);
    }
    free(st);
    return PGH_EXIT_OK;
}
