/*
 * Progress: on a terminal (stderr is a TTY) one bar per table, redrawn in place; otherwise a
 * log line every LOG_INTERVAL_S seconds.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define LOG_INTERVAL_S 10.0
#define BAR_WIDTH 24

struct pgh_cli_progress {
    bool enabled;
    bool tty;
    int lines_drawn;        /* lines of the last drawing, to move the cursor back up */
    double start;           /* seconds, monotonic */
    double last_log;
    double catchup_start;
    pgh_lsn catchup_first;  /* first LSN seen in the catch-up, for the bar's scale */
    pgh_lsn last_at;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

pgh_cli_progress *pgh_cli_progress_new(bool enabled)
{
    pgh_cli_progress *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->enabled = enabled;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->start = p->last_log = now_s();
    return p;
}

void pgh_cli_progress_free(pgh_cli_progress *p)
{
    free(p);
}

static double estimated_rows(const pgh_progress_table *t)
{
    double done = (double)t->rows;
    return t->estimated_rows > done ? t->estimated_rows : done;
}

static void format_eta(char *buf, size_t len, double seconds)
{
    if (seconds < 0 || seconds > 360000)
        snprintf(buf, len, "--");
    else if (seconds >= 3600)
        snprintf(buf, len, "%dh%02dm", (int)seconds / 3600, ((int)seconds % 3600) / 60);
    else
        snprintf(buf, len, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
}

static void draw_bar(const pgh_progress_table *t, double elapsed)
{
    uint64_t rows = t->rows;
    double total = estimated_rows(t);
    bool finished = t->ranges_done >= t->ranges_total;
    double frac = finished ? 1.0 : (total > 0 ? (double)rows / total : 0.0);
    if (frac > 0.99 && !finished)
        frac = 0.99;
    double mbps = elapsed > 0 ? (double)t->bytes / 1e6 / elapsed : 0;
    char eta[16];
    format_eta(eta, sizeof(eta), frac > 0 && !finished ? elapsed * (1 - frac) / frac : -1);
    char bar[BAR_WIDTH + 1];
    int filled = (int)(frac * BAR_WIDTH);
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %llu rows %.1f MB/s ETA %s\n", t->name, bar,
            frac * 100, (unsigned long long)rows, mbps, finished ? "done" : eta);
}

static void copy_progress(pgh_cli_progress *p, const pgh_progress_table *tables, int ntables)
{
    double now = now_s();
    double elapsed = now - p->start;
    if (p->tty) {
        if (p->lines_drawn)
            fprintf(stderr, "\033[%dA", p->lines_drawn);
        for (int i = 0; i < ntables; i++)
            draw_bar(&tables[i], elapsed);
        p->lines_drawn = ntables;
        fflush(stderr);
        return;
    }
    if (now - p->last_log < LOG_INTERVAL_S)
        return;
    p->last_log = now;
    for (int i = 0; i < ntables; i++) {
        const pgh_progress_table *t = &tables[i];
        pgh_log(PGH_LOG_INFO, "copy", "%s: %llu of ~%.0f rows, %.1f MB/s, %d of %d ranges done",
                t->name, (unsigned long long)t->rows, estimated_rows(t),
                (double)t->bytes / 1e6 / elapsed, t->ranges_done, t->ranges_total);
    }
}

static void catchup_progress(pgh_cli_progress *p, pgh_lsn at, pgh_lsn target)
{
    if (at)
        p->last_at = at;
    if (p->catchup_first == 0 && at) {
        p->catchup_first = at;
        p->catchup_start = now_s();
    }
    double left_mb = p->last_at && target > p->last_at ? (double)(target - p->last_at) / 1e6 : 0;
    double now = now_s();
    if (p->tty) {
        if (now - p->last_log < 0.25)
            return;
        p->last_log = now;
        fprintf(stderr, "\r\033[Kcatch-up: %.1f MB of WAL to the checkpoint", left_mb);
        fflush(stderr);
        p->lines_drawn = 0;
        return;
    }
    if (now - p->last_log < LOG_INTERVAL_S)
        return;
    p->last_log = now;
    pgh_log(PGH_LOG_INFO, "catch-up", "%.1f MB of WAL left to the checkpoint " PGH_LSN_FMT,
            left_mb, PGH_LSN_ARGS(target));
}

void pgh_cli_progress_update(const pgh_progress *update, void *payload)
{
    pgh_cli_progress *p = payload;
    if (p == NULL || !p->enabled)
        return;
    if (update->phase == PGH_PROGRESS_ROWS)
        copy_progress(p, update->tables, update->ntables);
    else
        catchup_progress(p, update->at, update->target);
}

void pgh_cli_progress_done(pgh_cli_progress *p)
{
    if (p && p->enabled && p->tty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}
