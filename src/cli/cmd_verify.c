/* pghost verify: compare the selected tables on both servers; list the keys that differ. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pghost/config.h"
#include "pghost/verify.h"

static const char USAGE[] =
    "Usage: pghost verify [options] CONFIG.yaml\n"
    "\n"
    "Compare every configured table on the source and the destination. Each table is cut into\n"
    "key ranges; both servers hash each range at the same time (row count and sums of a per-row\n"
    "hash); a range that differs is split until the differing keys are found. Each key is\n"
    "reported as missing (not on the destination), extra (only on the destination) or different.\n"
    "On a live source, keys that differ are read again once the replication slot has confirmed\n"
    "the source's position, so rows not yet applied are not reported.\n"
    "\n"
    "Options:\n"
    "  --jobs N              parallel workers, each with one connection per server\n"
    "                        (default: copy_worker_count)\n"
    "  --max-keys N          differing keys listed per table (default 100)\n"
    "  --recheck-seconds S   how long differing keys are re-checked while the destination\n"
    "                        catches up (default 10; 0: no re-check)\n"
    "  --json                one JSON document on stdout instead of text\n"
    "  --log-level LEVEL     error, warn (default), info, debug or trace; logs go to stderr\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 every table is equal; 1 some rows differ (or the run failed);\n"
    "2 bad command line or configuration; 3 a table is missing or has no primary key.\n";

typedef struct verify_cli {
    int jobs;
    int max_keys;
    double recheck_seconds;
    bool json;
    pgh_log_level level;
    const char *config_path;
} verify_cli;

static atomic_int g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    if (atomic_exchange(&g_cancel, 1))
        _exit(130);
}

static bool parse_int(int *out, const char *s, int lo, int hi)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static int parse_args(verify_cli *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"max-keys", required_argument, NULL, 'm'},
        {"recheck-seconds", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'J'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (verify_cli){0, PGH_VERIFY_DEFAULT_MAX_KEYS, PGH_VERIFY_DEFAULT_RECHECK_SECONDS, false,
                      PGH_LOG_WARN, NULL};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'h': fputs(USAGE, stdout); return -1;
        case 'J': o->json = true; break;
        case 'j':
            if (!parse_int(&o->jobs, optarg, 1, PGH_CONFIG_MAX_WORKERS)) {
                pgh_cli_error("--jobs must be a whole number from 1 to %d, not \"%s\"",
                              PGH_CONFIG_MAX_WORKERS, optarg);
                return PGH_EXIT_USAGE;
            }
            break;
        case 'm':
            if (!parse_int(&o->max_keys, optarg, 1, 1000000)) {
                pgh_cli_error("--max-keys must be a whole number from 1 to 1000000, not \"%s\"",
                              optarg);
                return PGH_EXIT_USAGE;
            }
            break;
        case 'r':
            o->recheck_seconds = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(o->recheck_seconds >= 0) ||
                o->recheck_seconds > 86400) {
                pgh_cli_error("--recheck-seconds must be a number of seconds from 0 to 86400, "
                              "not \"%s\"", optarg);
                return PGH_EXIT_USAGE;
            }
            break;
        case 'l':
            if (pgh_log_level_parse(&o->level, optarg) != 0) {
                pgh_cli_error("--log-level must be error, warn, info, debug or trace, not \"%s\"",
                              optarg);
                return PGH_EXIT_USAGE;
            }
            break;
        default:
            pgh_cli_error("unknown option \"%s\" for verify: see pghost verify --help",
                          argv[optind - 1]);
            return PGH_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        pgh_cli_error("verify needs exactly one configuration file: pghost verify [options] "
                      "CONFIG.yaml");
        return PGH_EXIT_USAGE;
    }
    o->config_path = argv[optind];
    return 0;
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
        bool equal = t->nfound == 0 && !t->truncated;
        differing += !equal;
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
               "\"chunks_differing\":%d,\"truncated\":%s,\"keys\":[",
               t->nfound == 0 && !t->truncated ? "true" : "false", (long long)t->source_rows,
               (long long)t->dest_rows, t->chunks, t->chunks_differing,
               t->truncated ? "true" : "false");
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

static const char *env_lookup(const char *name, void *payload)
{
    (void)payload;
    return getenv(name);
}

static int exit_code(int rc)
{
    switch (rc) {
    case PGH_ECONFIG:
        return PGH_EXIT_USAGE;
    case PGH_EPRECOND:
    case PGH_ENOTFOUND:
        return PGH_EXIT_PRECOND;
    default:
        return PGH_EXIT_FAILURE;
    }
}

int pgh_cli_verify(int argc, char **argv)
{
    verify_cli o;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc < 0 ? PGH_EXIT_OK : rc;
    pgh_cli_log_init(o.level);
    pgh_error err;
    pgh_error_clear(&err);
    pgh_config *cfg = NULL;
    if (pgh_config_load(&cfg, o.config_path, env_lookup, NULL, &err) != 0) {
        pgh_cli_error("%s", err.message);
        return PGH_EXIT_USAGE;
    }
    if (cfg->destination_connection == NULL) {
        pgh_cli_error("%s: destination_connection is not set: verify compares with a "
                      "destination server", o.config_path);
        pgh_config_free(cfg);
        return PGH_EXIT_USAGE;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pgh_verify_opts vo = PGH_VERIFY_OPTS_INIT;
    vo.config = cfg;
    vo.jobs = o.jobs;
    vo.max_keys = o.max_keys;
    vo.recheck_seconds = o.recheck_seconds;
    vo.cancel = &g_cancel;
    pgh_verify_result result;
    rc = pgh_verify_run(&result, &vo, &err);
    int code = PGH_EXIT_OK;
    if (rc != 0) {
        pgh_cli_error("%s", err.message);
        code = exit_code(rc);
    } else {
        if (o.json)
            print_json(&result);
        else
            print_text(&result, o.max_keys);
        code = result.equal ? PGH_EXIT_OK : PGH_EXIT_FAILURE;
        pgh_verify_result_dispose(&result);
    }
    fflush(stdout);
    pgh_config_free(cfg);
    return code;
}
