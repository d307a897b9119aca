/*
 * The stderr logger and error printing of the CLI. Two formats: text (one line: time, level,
 * component, message, then "table=... lsn=..." when known) and json (one object a line:
 * time in RFC 3339 UTC with milliseconds, level, component, message, and table, lsn and phase
 * when known), built with jansson so that every line parses.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pgh_cli_log_format g_format = PGH_CLI_LOG_TEXT;
static const pgh_gauge *g_phase; /* borrowed: the run's phase (pghost/stats.h), or NULL */
static const char *const g_names[] = {"error", "warn", "info", "debug", "trace"};

static void now_rfc3339(char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

static void log_text(const char *time, const pgh_log_record *rec)
{
    fprintf(stderr, "%s %-5s %s: %s", time, g_names[rec->level], rec->component, rec->message);
    if (rec->table)
        fprintf(stderr, " (table %s)", rec->table);
    if (rec->lsn)
        fprintf(stderr, " (lsn " PGH_LSN_FMT ")", PGH_LSN_ARGS(rec->lsn));
    fputc('\n', stderr);
}

/* One JSON object; NULL when out of memory. */
static char *json_line(const char *time, const pgh_log_record *rec)
{
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(time));
    json_object_set_new(o, "level", json_string(g_names[rec->level]));
    json_object_set_new(o, "component", json_string(rec->component));
    /* the message may hold bytes that are not UTF-8 (a server's message): replace them */
    json_t *msg = json_string(rec->message);
    json_object_set_new(o, "message", msg ? msg : json_string("(message not valid UTF-8)"));
    if (rec->table)
        json_object_set_new(o, "table", json_string(rec->table)); /* NULL (not UTF-8): none */
    if (rec->lsn) {
        char lsn[32];
        snprintf(lsn, sizeof(lsn), PGH_LSN_FMT, PGH_LSN_ARGS(rec->lsn));
        json_object_set_new(o, "lsn", json_string(lsn));
    }
    if (g_phase)
        json_object_set_new(o, "phase",
                            json_string(pgh_stats_phase_name((int)atomic_load(g_phase))));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void stderr_log(const pgh_log_record *rec, void *payload)
{
    (void)payload;
    char time[40];
    now_rfc3339(time, sizeof(time));
    char *line = g_format == PGH_CLI_LOG_JSON ? json_line(time, rec) : NULL;
    pthread_mutex_lock(&g_lock);
    if (line)
        fprintf(stderr, "%s\n", line);
    else
        log_text(time, rec);
    pthread_mutex_unlock(&g_lock);
    free(line);
}

void pgh_cli_log_init(pgh_log_level level, pgh_cli_log_format format)
{
    g_format = format;
    pgh_log_set_record_handler(stderr_log, level, NULL);
}

void pgh_cli_log_phase(const pgh_gauge *phase)
{
    g_phase = phase;
}

void pgh_cli_error(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (g_format == PGH_CLI_LOG_JSON) {
        pgh_log_record rec = {PGH_LOG_ERROR, "pghost", msg, NULL, 0};
        stderr_log(&rec, NULL);
        return;
    }
    pthread_mutex_lock(&g_lock);
    fprintf(stderr, "pghost: %s\n", msg);
    pthread_mutex_unlock(&g_lock);
}
