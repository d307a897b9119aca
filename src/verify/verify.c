/*
 * pghost verify: see include/pghost/verify.h. Connect, resolve and describe the tables, plan
 * their chunks, let the workers compare chunks (each worker owns one connection per server),
 * re-check differing keys on a live source, and build the result.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "source/publication.h"
#include "source/tables.h"
#include "verify/internal.h"

#define APP_NAME "pghost verify"

/* Settings of every verify session: chunk queries are small and run in parallel already, so
 * neither parallel query nor JIT compilation pays off for them. */
static const char *const SESSION_SQL[] = {"SET jit = off",
                                          "SET max_parallel_workers_per_gather = 0"};

/* One unit of work for a worker. */
typedef enum task_kind {
    TASK_CHUNK,      /* hash a chunk by its key range on both servers, narrow it if it differs */
    TASK_SCAN,       /* scan a table on both servers, totals per chunk (verify_scan.c) */
    TASK_SCAN_CHUNK, /* after the scan: narrow a chunk whose totals differ */
} task_kind;

typedef struct verify_task {
    verify_table *t; /* borrowed from the run */
    task_kind kind;
    int index;       /* chunk (TASK_SCAN: unused) */
} verify_task;

typedef struct verify_run {
    const pgh_verify_opts *o; /* borrowed */
    verify_table *tables;     /* owned, ntables */
    int ntables;
    verify_task *tasks;       /* owned: the current phase's work */
    int ntasks;
    atomic_int next_task;     /* tasks handed out */
    atomic_int stop;
    pthread_mutex_t err_lock;
    pgh_error first_err; /* the first worker error */
    int first_rc;
} verify_run;

static int open_pair(PGconn **src, PGconn **dst, const pgh_config *cfg, pgh_error *err)
{
    *src = NULL;
    *dst = NULL;
    int rc = pgh_conn_open(src, cfg->source_connection, PGH_CONN_SQL, "source", APP_NAME, err);
    if (rc == 0)
        rc = pgh_conn_open(dst, cfg->destination_connection, PGH_CONN_SQL, "destination",
                           APP_NAME, err);
    for (int i = 0; rc == 0 && i < 2; i++) {
        rc = pgh_conn_exec(*src, SESSION_SQL[i], err);
        if (rc == 0)
            rc = pgh_conn_exec(*dst, SESSION_SQL[i], err);
    }
    return rc;
}

static void tables_dispose(verify_table *tables, int n)
{
    for (int i = 0; tables && i < n; i++) {
        verify_table *t = &tables[i];
        for (int f = 0; f < t->nfound; f++)
            pgh_verify__found_clear(&t->found[f], t->src ? t->src->nkeys : 0);
        free(t->found);
        pgh_copy_bounds_free(t->bounds, t->nbounds, t->src ? t->src->nkeys : 0);
        pgh_table_info_free(t->src);
        pgh_table_info_free(t->dst);
        free(t->src_hash);
        free(t->dst_hash);
        free(t->keys);
        free(t->keys_text);
        free(t->src_acc);
        free(t->dst_acc);
        pthread_mutex_destroy(&t->lock);
    }
    free(tables);
}

static int load(pgh_table_info **out, PGconn *conn, const char *side, const char *schema,
                const char *name, pgh_error *err)
{
    int rc = pgh_catalog_table(out, conn, schema, name, err);
    if (rc == PGH_ENOTFOUND) {
        pgh_error_clear(err);
        rc = pgh_error_set(err, PGH_EPRECOND, "%s table %s.%s does not exist", side, schema,
                           name);
    }
    return rc;
}

/* The source has a primary key, and the destination every compared column. */
static int check_table(const verify_table *t, pgh_error *err)
{
    /* without a key, REPLICA IDENTITY FULL: compared whole (whole.c) */
    if (t->src->nkeys == 0 && t->src->replident != 'f')
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s has no primary key: verify compares rows by key "
                             "ranges; add one",
                             t->src->schema, t->src->name);
    for (int c = 0; c < t->src->ncols; c++) {
        const pgh_table_column *col = &t->src->cols[c];
        if (col->generated && col->key_position == 0)
            continue;
        if (pgh_table_column_index(t->dst, col->name) < 0)
            return pgh_error_set(err, PGH_EPRECOND,
                                 "column %s of %s.%s is missing on the destination table %s.%s: "
                                 "add it, or verify a table with the same columns",
                                 col->name, t->src->schema, t->src->name, t->dst->schema,
                                 t->dst->name);
    }
    return 0;
}

static int describe(verify_table *tables, const pgh_verify_opts *o, PGconn *src, PGconn *dst,
                    int jobs, pgh_error *err)
{
    const pgh_config *cfg = o->config;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        verify_table *t = &tables[i];
        t->keep_keys = o->max_keys * 2 + 100;
        t->stats = o->stats;
        rc = load(&t->src, src, "source", m->source_schema, m->source_table, err);
        if (rc == 0) /* what the publication sends: its row filter and column list */
            rc = pgh_source_publication_narrow(t->src, src, cfg->publication_name, err);
        if (rc == 0)
            rc = load(&t->dst, dst, "destination", m->dest_schema, m->dest_table, err);
        if (rc == 0)
            rc = check_table(t, err);
        if (rc == 0)
            rc = pgh_verify__hash_exprs(t, src, err);
        t->keyless = rc == 0 && t->src->nkeys == 0;
        if (rc == 0 && !t->keyless)
            rc = pgh_verify__plan(t, src, jobs, err);
        if (rc == 0 && !t->keyless)
            rc = pgh_verify__scan_prepare(t, err);
        if (rc != 0 && rc != PGH_EPRECOND)
            pgh_error_prefix(err, "preparing to verify %s.%s", m->source_schema,
                             m->source_table);
    }
    return rc;
}

static void fail(verify_run *run, int rc, const pgh_error *err)
{
    pthread_mutex_lock(&run->err_lock);
    if (run->first_rc == 0) {
        run->first_rc = rc;
        run->first_err = *err;
    }
    pthread_mutex_unlock(&run->err_lock);
    atomic_store(&run->stop, 1);
}

static int run_task(PGconn *src, PGconn *dst, const verify_task *task, pgh_error *err)
{
    verify_table *t = task->t;
    verify_range r;
    switch (task->kind) {
    case TASK_CHUNK:
        r = pgh_verify__chunk(t, task->index);
        return pgh_verify__compare_chunk(src, dst, t, &r, err);
    case TASK_SCAN:
        return pgh_verify__scan(src, dst, t, err);
    case TASK_SCAN_CHUNK:
        return pgh_verify__scan_chunk(src, dst, t, task->index, err);
    }
    return pgh_error_set(err, PGH_EPROTO, "verify: unknown task");
}

static void *worker(void *arg)
{
    verify_run *run = arg;
    pgh_error err;
    pgh_error_clear(&err);
    PGconn *src = NULL;
    PGconn *dst = NULL;
    int rc = open_pair(&src, &dst, run->o->config, &err);
    while (rc == 0 && !atomic_load(&run->stop)) {
        if (run->o->cancel && atomic_load(run->o->cancel)) {
            rc = pgh_error_set(&err, PGH_ECANCELED, "verify stopped on request");
            break;
        }
        int n = atomic_fetch_add(&run->next_task, 1);
        if (n >= run->ntasks)
            break;
        const verify_task *task = &run->tasks[n];
        rc = run_task(src, dst, task, &err);
        if (rc != 0)
            pgh_error_prefix(&err, "verifying %s.%s", task->t->src->schema,
                             task->t->src->name);
    }
    if (rc != 0)
        fail(run, rc, &err);
    PQfinish(src);
    PQfinish(dst);
    return NULL;
}

static int run_workers(verify_run *run, int jobs, pgh_error *err)
{
    atomic_store(&run->next_task, 0);
    if (run->ntasks == 0)
        return 0;
    if (jobs > run->ntasks)
        jobs = run->ntasks;
    pthread_t *threads = calloc((size_t)jobs, sizeof(pthread_t));
    if (threads == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&threads[started], NULL, worker, run) != 0)
            break;
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    if (run->first_rc != 0) {
        *err = run->first_err;
        return run->first_rc;
    }
    if (started == 0)
        return pgh_error_set(err, PGH_ENOMEM, "cannot start verify workers");
    return 0;
}

static int build_result(pgh_verify_result *out, verify_run *run, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    out->tables = calloc((size_t)(run->ntables ? run->ntables : 1), sizeof(*out->tables));
    if (out->tables == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    out->ntables = run->ntables;
    out->equal = true;
    for (int i = 0; i < run->ntables; i++) {
        verify_table *t = &run->tables[i];
        int rc = pgh_verify__table_result(&out->tables[i], t, run->o->max_keys, err);
        if (rc != 0) {
            pgh_verify_result_dispose(out);
            return rc;
        }
        if (out->tables[i].nfound > 0 || out->tables[i].truncated || out->tables[i].differs)
            out->equal = false;
    }
    return 0;
}

/* The tasks of a phase: 1 hashes chunks or scans tables, 2 narrows chunks whose scanned
 * totals differ. Returns the number of tasks, or -1 when out of memory. */
static int plan_phase(verify_run *run, int phase)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < run->ntables; i++) {
            verify_table *t = &run->tables[i];
            if (t->keyless) /* compared whole, after the phases */
                continue;
            int count = phase == 1 ? (t->scan ? 1 : pgh_verify__nchunks(t))
                                   : (t->scan ? pgh_verify__nchunks(t) : 0);
            for (int k = 0; k < count; k++) {
                if (phase == 2 && t->src_acc[k].rows == t->dst_acc[k].rows &&
                    t->src_acc[k].mixed == t->dst_acc[k].mixed &&
                    t->src_acc[k].plain == t->dst_acc[k].plain)
                    continue;
                if (pass == 1)
                    run->tasks[n] = (verify_task){t, phase == 2 ? TASK_SCAN_CHUNK
                                                     : t->scan  ? TASK_SCAN
                                                                : TASK_CHUNK, k};
                n++;
            }
        }
        if (pass == 0) {
            free(run->tasks);
            run->tasks = calloc((size_t)(n ? n : 1), sizeof(*run->tasks));
            if (run->tasks == NULL)
                return -1;
            run->ntasks = n;
            n = 0;
        }
    }
    return n;
}

static void set_phase(const pgh_verify_opts *o, pgh_stats_phase phase)
{
    if (o->stats)
        atomic_store_explicit(&o->stats->phase, phase, memory_order_relaxed);
}

static int verify_tables(pgh_verify_result *out, verify_run *run, PGconn *src, PGconn *dst,
                         int jobs, pgh_error *err)
{
    int rc = 0;
    set_phase(run->o, PGH_PHASE_VERIFY);
    for (int phase = 1; rc == 0 && phase <= 2; phase++) {
        if (plan_phase(run, phase) < 0)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_log(PGH_LOG_INFO, "verify", "%s: %d tasks for %d workers",
                phase == 1 ? "comparing" : "narrowing", run->ntasks, jobs);
        rc = run_workers(run, jobs, err);
    }
    for (int i = 0; rc == 0 && i < run->ntables; i++)
        pgh_verify__found_merge(&run->tables[i]);
    bool rechecked = false;
    if (rc == 0)
        rc = pgh_verify__whole(&rechecked, run->tables, run->ntables, src, dst, run->o->config,
                               run->o->recheck_seconds, err);
    bool keys_rechecked = false;
    if (rc == 0)
        rc = pgh_verify__recheck(&keys_rechecked, run->tables, run->ntables, src, dst,
                                 run->o->config, run->o->recheck_seconds, err);
    rechecked = rechecked || keys_rechecked;
    if (rc == 0)
        rc = build_result(out, run, err);
    if (rc == 0)
        out->rechecked = rechecked;
    return rc;
}

static int run_resolved(pgh_verify_result *out, const pgh_verify_opts *o, pgh_config *own,
                        pgh_error *err);

int pgh_verify_run(pgh_verify_result *out, const pgh_verify_opts *opts, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    if (opts->version < 1 || opts->version > PGH_VERIFY_OPTS_VERSION || opts->config == NULL ||
        opts->max_keys < 1)
        return pgh_error_set(err, PGH_ECONFIG, "verify: invalid options");
    /* A version 1 caller's struct ends before stats. */
    pgh_verify_opts o = PGH_VERIFY_OPTS_INIT;
    memcpy(&o, opts, opts->version == 1 ? offsetof(pgh_verify_opts, stats) : sizeof(o));
    set_phase(&o, PGH_PHASE_STARTING);
    /* Patterns are resolved on a copy: the caller's configuration is never changed. */
    pgh_config *own = NULL;
    int rc = pgh_config_dup(&own, opts->config, err);
    o.config = own;
    if (rc == 0)
        rc = run_resolved(out, &o, own, err);
    pgh_config_free(own);
    set_phase(&o, rc == 0 ? PGH_PHASE_DONE : PGH_PHASE_FAILED);
    if (o.stats && rc < 0 && -rc < PGH_STATS_NERRORS)
        atomic_fetch_add_explicit(&o.stats->errors[-rc], 1, memory_order_relaxed);
    return rc;
}

/* o->config is own, the run's copy: its patterns are resolved here. */
static int run_resolved(pgh_verify_result *out, const pgh_verify_opts *o, pgh_config *own,
                        pgh_error *err)
{
    int jobs = o->jobs > 0 ? o->jobs : o->config->copy_worker_count;
    if (jobs < 1)
        jobs = 1;
    verify_run run = {.o = o, .first_rc = 0};
    pthread_mutex_init(&run.err_lock, NULL);
    pgh_error_clear(&run.first_err);
    PGconn *src = NULL;
    PGconn *dst = NULL;
    int rc = pgh_conn_open(&src, o->config->source_connection, PGH_CONN_SQL, "source", APP_NAME,
                           err);
    if (rc == 0)
        rc = pgh_tables_resolve(own, src, err);
    if (rc == 0)
        rc = pgh_conn_open(&dst, o->config->destination_connection, PGH_CONN_SQL, "destination",
                           APP_NAME, err);
    run.ntables = (int)o->config->ntables;
    run.tables = calloc((size_t)(run.ntables ? run.ntables : 1), sizeof(*run.tables));
    if (rc == 0 && run.tables == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; run.tables && i < run.ntables; i++)
        pthread_mutex_init(&run.tables[i].lock, NULL);
    if (rc == 0)
        rc = describe(run.tables, o, src, dst, jobs, err);
    if (rc == 0)
        rc = verify_tables(out, &run, src, dst, jobs, err);
    tables_dispose(run.tables, run.tables ? run.ntables : 0);
    free(run.tasks);
    pthread_mutex_destroy(&run.err_lock);
    PQfinish(src);
    PQfinish(dst);
    return rc;
}
