/*
 * A destination that holds delivered transactions keeps the slot at what it made durable, also
 * while the stream is idle (src/pipeline/follow.c, pghost/destination.h's flush).
 *
 * The pipeline runs in-process, following the changes of one published table into a
 * destination of this test's own (the C library's pgh_destination_ops) whose flush reports the
 * last commit durable, except while the test holds it: then it keeps reporting the commit before
 * the hold, as a destination still waiting for a broker's or a receiver's acknowledgement does.
 *
 *   1. one insert, delivered and durable;
 *   2. the hold; one more insert, delivered, not durable; then the source writes only tables
 *      outside the publication, so the stream goes idle while the server's position moves on
 *      (its keepalives carry it). For 1.5 s of idle flushes the slot's confirmed_flush_lsn must
 *      stay before the held commit: confirming the server's position there would let the
 *      source discard the held transaction, lost if the destination then crashed;
 *   3. the hold released: the slot must now move past the held commit and up to the server's
 *      position after the other writes (which shows the idle confirmation works, so step 2's
 *      check can fail).
 *
 * Usage: it_hold
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

typedef struct holder {
    pthread_mutex_t mu;
    pgh_lsn last_commit; /* under mu: end LSN of the last commit received */
    pgh_lsn durable;     /* under mu: what flush reported last */
    pgh_lsn held_at;     /* under mu: 0, or what flush reports while held */
    long commits;        /* under mu */
} holder;

static int on_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    (void)user, (void)info, (void)err;
    return 0;
}

static int on_change(void *user, const pgh_change *c, pgh_error *err)
{
    (void)user, (void)c, (void)err;
    return 0;
}

static int on_commit(void *user, const pgh_change *c, const pgh_position *after, pgh_error *err)
{
    (void)c, (void)err;
    holder *h = user;
    pthread_mutex_lock(&h->mu);
    h->last_commit = after->lsn;
    h->commits++;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static int on_flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    (void)err;
    holder *h = user;
    pthread_mutex_lock(&h->mu);
    h->durable = h->held_at ? h->held_at : h->last_commit;
    *durable = h->durable;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static const pgh_destination_ops HOLD_OPS = {.version = PGH_DESTINATION_OPS_VERSION,
                                             .name = "hold",
                                             .open = on_open,
                                             .change = on_change,
                                             .commit = on_commit,
                                             .flush = on_flush};

typedef struct follower {
    pgh_config *cfg;
    holder *h;
    pgh_cancel_flag cancel;
    int rc;
    pgh_error err;
} follower;

static void *follow(void *arg)
{
    follower *f = arg;
    pgh_source *src = NULL;
    pgh_destination *dst = NULL;
    pgh_pipeline_result result = {0};
    pgh_pipeline_opts po = PGH_PIPELINE_OPTS_INIT;
    po.what = PGH_PIPELINE_CHANGES;
    po.until = PGH_UNTIL_STOPPED;
    po.cancel = &f->cancel;
    f->rc = pgh_source_open(&src, f->cfg, &f->err);
    if (f->rc == 0)
        f->rc = pgh_destination_new(&dst, &HOLD_OPS, f->h, &f->err);
    if (f->rc == 0)
        f->rc = pgh_pipeline_run(&result, src, NULL, dst, &po, &f->err);
    pgh_pipeline_result_dispose(&result);
    pgh_destination_free(dst);
    pgh_source_close(src);
    return NULL;
}

/* The pipeline's log, for looking into a failure. */
static void log_line(pgh_log_level level, const char *component, const char *message, void *payload)
{
    (void)level, (void)payload;
    printf("  pghost %s: %s\n", component, message);
}

static pgh_lsn lsn_of(PGconn *s, const char *sql)
{
    char *text = pgh_test_value(s, "%s", sql);
    pgh_lsn lsn = 0;
    PGH_CHECK(pgh_lsn_parse(&lsn, text) == 0, "not an LSN: %s", text);
    free(text);
    return lsn;
}

#define CONFIRMED "SELECT coalesce(confirmed_flush_lsn, '0/0') FROM pg_replication_slots"

/* Wait until the destination has received more than n commits; returns the last one's LSN. */
static pgh_lsn wait_commit(holder *h, long n, follower *f)
{
    double deadline = pgh_run_now_ms() + 30000;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        long got = h->commits;
        pgh_lsn lsn = h->last_commit;
        pthread_mutex_unlock(&h->mu);
        if (got > n)
            return lsn;
        PGH_CHECK(f->rc == 0, "the pipeline stopped: %s", f->err.message);
        PGH_CHECK(pgh_run_now_ms() < deadline, "commit %ld never reached the destination", n + 1);
        pgh_run_sleep_ms(20);
    }
}

/* Writes outside the publication: WAL moves, the stream has nothing to deliver. */
static void other_writes(PGconn *s)
{
    for (int i = 0; i < 5; i++)
        pgh_test_exec(s, "INSERT INTO other (pad) SELECT repeat('x', 100) FROM generate_series(1, "
                         "200)");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pgh_log_set_handler(log_line, PGH_LOG_DEBUG, NULL);
    pgh_test_server src;
    PGH_CHECK(pgh_test_server_start(&src, "source", NULL) == 0, "source");
    PGconn *s = pgh_test_connect(&src, "postgres");
    pgh_test_exec(s, "CREATE TABLE t (id int PRIMARY KEY, v int); CREATE TABLE other (id serial "
                     "PRIMARY KEY, pad text); CREATE PUBLICATION pub FOR TABLE t");
    pgh_run_pair p = {.src_conninfo = pgh_test_conninfo(&src, "postgres"), .s = s};
    holder h = {.mu = PTHREAD_MUTEX_INITIALIZER};
    /* destination: the configuration asks for one; the run is given the test's own */
    follower f = {.cfg = it_config(&p, "source_connection: ${SRC}\npublication_name: pub\n"
                                       "destination: stdout\napply_group_max_delay_ms: 50\n"
                                       "tables:\n  - public.t\n"),
                  .h = &h};
    pthread_t thread;
    PGH_CHECK(pthread_create(&thread, NULL, follow, &f) == 0, "pthread_create");
    double deadline = pgh_run_now_ms() + 30000;
    for (bool active = false; !active;) {
        PGH_CHECK(f.rc == 0, "the pipeline stopped: %s", f.err.message);
        PGH_CHECK(pgh_run_now_ms() < deadline, "the slot never became active");
        pgh_run_sleep_ms(50);
        char *v = pgh_test_value(s, "SELECT coalesce(bool_or(active), false)::text FROM "
                                    "pg_replication_slots");
        active = strcmp(v, "true") == 0;
        free(v);
    }

    pgh_test_exec(s, "INSERT INTO t VALUES (1, 1)");
    pgh_lsn first = wait_commit(&h, 0, &f);
    pthread_mutex_lock(&h.mu);
    h.held_at = first;
    pthread_mutex_unlock(&h.mu);
    pgh_test_exec(s, "INSERT INTO t VALUES (2, 2)");
    pgh_lsn held = wait_commit(&h, 1, &f);
    other_writes(s);
    pgh_lsn moved = lsn_of(s, "SELECT pg_current_wal_lsn()");
    printf("durable %X/%X, held %X/%X, server at %X/%X\n", PGH_LSN_ARGS(first), PGH_LSN_ARGS(held),
           PGH_LSN_ARGS(moved));
    for (int i = 0; i < 15; i++) { /* idle flushes every 250 ms, keepalives meanwhile */
        pgh_run_sleep_ms(100);
        pgh_lsn confirmed = lsn_of(s, CONFIRMED);
        PGH_CHECK(confirmed < held,
                  "the slot confirmed %X/%X while the destination held the commit at %X/%X "
                  "(durable: %X/%X)",
                  PGH_LSN_ARGS(confirmed), PGH_LSN_ARGS(held), PGH_LSN_ARGS(first));
    }
    printf("held for 1.5 s: the slot stayed before %X/%X\n", PGH_LSN_ARGS(held));

    pthread_mutex_lock(&h.mu);
    h.held_at = 0;
    pthread_mutex_unlock(&h.mu);
    pgh_lsn confirmed = 0;
    for (deadline = pgh_run_now_ms() + 20000; confirmed < moved;) {
        PGH_CHECK(pgh_run_now_ms() < deadline,
                  "released, the slot stayed at %X/%X, short of the server's %X/%X",
                  PGH_LSN_ARGS(confirmed), PGH_LSN_ARGS(moved));
        pgh_run_sleep_ms(100);
        confirmed = lsn_of(s, CONFIRMED);
    }
    printf("released: the slot confirmed %X/%X\n", PGH_LSN_ARGS(confirmed));

    f.cancel = 1;
    pthread_join(thread, NULL);
    PGH_CHECK(f.rc == 0, "the pipeline failed: %s", f.err.message);
    pgh_test_exec(s, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots");
    pgh_config_free(f.cfg);
    free(p.src_conninfo);
    PQfinish(s);
    pgh_test_server_stop(&src);
    return 0;
}
