/* pghost verify: compare the selected tables on both servers; list the keys that differ. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "metrics.h"
#include "pghost/config.h"
#include "pghost/verify.h"

static const char USAGE[] =
    "Usage: pghost verify [options] [CONFIG.yaml]\n"
    "\n"
    "Compare every configured table on the source and the destination. Each table is cut into\n"
    "key ranges; both servers hash each range at the same time (row count and sums of a per-row\n"
    "hash); a range that differs is split until the differing keys are found. Each key is\n"
    "reported as missing (not on the destination), extra (only on the destination) or different.\n"
    "On a live source, keys that differ are read again once the replication slot has confirmed\n"
    "the source's position, so rows not yet applied are not reported.\n"
    "A configuration with rules_file is refused: the rules change rows on the way\n"
    "(docs/rules.md).\n"
    "\n"
    "Options:\n"
    "  --jobs N              parallel workers, each with one connection per server\n"
    "                        (default: copy_worker_count)\n"
    "  --max-keys N          differing keys listed per table (default 100)\n"
    "  --recheck-seconds S   how long differing keys are re-checked while the destination\n"
    "                        catches up (default 10; 0: no re-check)\n"
    "  --json                one JSON document on stdout instead of text\n"
    "  --metrics-addr HOST:PORT  serve Prometheus metrics (ranges and rows compared,\n"
    "                        differences by kind, the phase) at http://HOST:PORT/metrics,\n"
    "                        and /healthz, /readyz, while verify runs\n"
    "  --log-level LEVEL     error, warn (default), info, debug or trace; logs go to stderr\n"
    "  --log-format FORMAT   text (default) or json: one JSON object a line\n"
    "  -v, -q                --log-level debug / --log-level error\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 every table is equal; 1 some rows differ (or the run failed);\n"
    "2 bad command line or configuration; 3 a table is missing or has no primary key\n"
    "(a REPLICA IDENTITY FULL table without one is compared whole, as a multiset of rows).\n";

typedef struct verify_cli {
    int jobs;
    int max_keys;
    double recheck_seconds;
    bool json;
    const char *metrics_addr; /* borrowed from argv, NULL: no metrics server */
} verify_cli;

static atomic_int g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    if (atomic_exchange(&g_cancel, 1))
        _exit(130);
}

/* Parse the command line and load the configuration; returns PGH_CLI_RUN or the exit status. */
static int start(verify_cli *o, pgh_config **cfg, int argc, char **argv)
{
    const pgh_cli_option options[] = {
        {"jobs", PGH_CLI_INT, &o->jobs, 1, PGH_CONFIG_MAX_WORKERS, NULL},
        {"max-keys", PGH_CLI_INT, &o->max_keys, 1, 1000000, NULL},
        {"recheck-seconds", PGH_CLI_SECONDS, &o->recheck_seconds, 0, 86400, NULL},
        {"json", PGH_CLI_FLAG, &o->json, 0, 0, NULL},
        {"metrics-addr", PGH_CLI_STRING, &o->metrics_addr, 0, 0, "HOST:PORT"},
    };
    const pgh_cli_command cmd = {.name = "verify",
                                 .usage = USAGE,
                                 .log_level = PGH_LOG_WARN,
                                 .options = options,
                                 .noptions = (int)(sizeof(options) / sizeof(options[0]))};
    *o = (verify_cli){0, PGH_VERIFY_DEFAULT_MAX_KEYS, PGH_VERIFY_DEFAULT_RECHECK_SECONDS, false,
                      NULL};
    int rc = pgh_cli_start(cfg, &cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    rc = pgh_cli_need_destination(*cfg, "verify compares with a destination server");
    /* Rows as the rules make them differ from the source's by design (docs/rules.md). */
    if (rc == PGH_EXIT_OK && (*cfg)->rules_file) {
        pgh_cli_error("%s: rules_file %s is set: verify compares rows as they are on both "
                      "sides, and the rules filter, rewrite, rename and leave out columns on the "
                      "way, so verify refuses such a configuration; compare in SQL through the "
                      "same rules, or verify with a configuration without rules_file for tables "
                      "without rules",
                      (*cfg)->path, (*cfg)->rules_file);
        rc = PGH_EXIT_USAGE;
    }
    if (rc == PGH_EXIT_OK)
        return PGH_CLI_RUN;
    pgh_config_free(*cfg);
    *cfg = NULL;
    return rc;
}

/* A JSON string (quotes, backslashes and control characters escaped; UTF-8 passes). */
static void put_json(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void print_key_text(const pgh_verify_table *t, const pgh_verify_key *k)
{
    printf("  %-10s Key (", pgh_verify_kind_name(k->kind));
    for (int i = 0; i < t->nkeys; i++)
        printf("%s%s", i ? ", " : "", t->key_names[i]);
    printf(")=(");
    for (int i = 0; i < t->nkeys; i++)
        printf("%s%s", i ? ", " : "", k->values[i]);
    printf(")\n");
}

static void print_text(const pgh_verify_result *r, int max_keys)
{
    int differing = 0;
    for (int i = 0; i < r->ntables; i++) {
        const pgh_verify_table *t = &r->tables[i];
        bool equal = t->nfound == 0 && !t->truncated && !t->differs;
        differing += !equal;
        if (t->keyless)
            printf("%s -> %s: %s (%lld rows on the source, %lld on the destination; no key: "
                   "compared as a whole%s)\n",
                   t->source, t->destination, equal ? "equal" : "DIFFERENT",
                   (long long)t->source_rows, (long long)t->dest_rows,
                   equal ? "" : ", which rows differ is not known");
        else
            printf("%s -> %s: %s (%lld rows on the source, %lld on the destination; %d of %d "
                   "chunks differ)\n",
                   t->source, t->destination, equal ? "equal" : "DIFFERENT",
                   (long long)t->source_rows, (long long)t->dest_rows, t->chunks_differing,
                   t->chunks);
        for (int k = 0; k < t->nfound; k++)
            print_key_text(t, &t->found[k]);
        if (t->truncated)
            printf("  ... more keys differ (at most %d are listed: --max-keys)\n", max_keys);
    }
    if (differing)
        printf("verify: %d of %d tables differ%s\n", differing, r->ntables,
               r->rechecked ? " (keys re-checked after the destination caught up)" : "");
    else
        printf("verify: all %d tables are equal\n", r->ntables);
}

static void print_json(const pgh_verify_result *r)
{
    printf("{\"equal\":%s,\"rechecked\":%s,\"tables\":[", r->equal ? "true" : "false",
           r->rechecked ? "true" : "false");
    for (int i = 0; i < r->ntables; i++) {
        const pgh_verify_table *t = &r->tables[i];
        printf("%s{\"source\":", i ? "," : "");
        put_json(t->source);
        printf(",\"destination\":");
        put_json(t->destination);
        printf(",\"equal\":%s,\"source_rows\":%lld,\"destination_rows\":%lld,\"chunks\":%d,"
               "\"chunks_differing\":%d,\"truncated\":%s,\"keyless\":%s,\"keys\":[",
               t->nfound == 0 && !t->truncated && !t->differs ? "true" : "false",
               (long long)t->source_rows, (long long)t->dest_rows, t->chunks, t->chunks_differing,
               t->truncated ? "true" : "false", t->keyless ? "true" : "false");
        for (int k = 0; k < t->nfound; k++) {
            printf("%s{\"kind\":\"%s\",\"key\":{", k ? "," : "",
                   pgh_verify_kind_name(t->found[k].kind));
            for (int c = 0; c < t->nkeys; c++) {
                printf("%s", c ? "," : "");
                put_json(t->key_names[c]);
                putchar(':');
                put_json(t->found[k].values[c]);
            }
            printf("}}");
        }
        printf("]}");
    }
    printf("]}\n");
}

int pgh_cli_verify(int argc, char **argv)
{
    verify_cli o;
    pgh_config *cfg = NULL;
    int rc = start(&o, &cfg, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    /* The counters always (JSON logs show their phase); the server with --metrics-addr. */
    pgh_cli_metrics *metrics = pgh_cli_metrics_new(NULL, NULL);
    pgh_verify_stats *stats = pgh_cli_metrics_verify(metrics);
    if (metrics == NULL || (o.metrics_addr && pgh_cli_metrics_serve(metrics, o.metrics_addr))) {
        pgh_cli_metrics_free(metrics);
        pgh_config_free(cfg);
        return metrics ? PGH_EXIT_USAGE : PGH_EXIT_FAILURE;
    }
    pgh_cli_log_phase(&stats->phase);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pgh_verify_opts vo = PGH_VERIFY_OPTS_INIT;
    vo.stats = stats;
    vo.config = cfg;
    vo.jobs = o.jobs;
    vo.max_keys = o.max_keys;
    vo.recheck_seconds = o.recheck_seconds;
    vo.cancel = &g_cancel;
    pgh_error err;
    pgh_error_clear(&err);
    pgh_verify_result result;
    rc = pgh_verify_run(&result, &vo, &err);
    int code = PGH_EXIT_OK;
    if (rc != 0) {
        pgh_cli_error("%s", err.message);
        code = rc == PGH_ENOTFOUND ? PGH_EXIT_PRECOND : pgh_cli_exit_code(rc);
    } else {
        if (o.json)
            print_json(&result);
        else
            print_text(&result, o.max_keys);
        code = result.equal ? PGH_EXIT_OK : PGH_EXIT_FAILURE;
        pgh_verify_result_dispose(&result);
    }
    fflush(stdout);
    pgh_cli_log_phase(NULL);
    pgh_cli_metrics_free(metrics);
    pgh_config_free(cfg);
    return code;
}
