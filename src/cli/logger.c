/* The stderr logger and error printing of the CLI. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void stderr_log(pgh_log_level level, const char *component, const char *message,
                       void *payload)
{
    (void)payload;
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    pthread_mutex_lock(&g_lock);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            names[level], component, message);
    pthread_mutex_unlock(&g_lock);
}

void pgh_cli_log_init(pgh_log_level level)
{
    pgh_log_set_handler(stderr_log, level, NULL);
}

void pgh_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&g_lock);
    fputs("pghost: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&g_lock);
    va_end(ap);
}
