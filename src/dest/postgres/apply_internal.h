/*
 * Private to the PostgreSQL apply: the per-relation mapping and statement building.
 */
#ifndef PGH_APPLY_INTERNAL_H
#define PGH_APPLY_INTERNAL_H

#include <libpq-fe.h>

#include "dest/postgres/apply.h"
#include "util/buf.h"
#include "pg/catalog.h"
#include "pghost/change.h"

typedef struct apply_stmt {
    char *sql;     /* owned: the statement text, the cache key */
    char name[24]; /* prepared statement name */
    int nparams;
    short *atts;   /* owned, nparams: the relation column of each $n (-1: none), to name the
                      column of a value the destination refuses (failure.c) */
} apply_stmt;

/* A source relation as announced by a Relation message, mapped onto a destination table. */
typedef struct apply_rel {
    uint32_t oid;          /* source relation OID */
    int map;               /* index in the table mapping; -1 when not replicated */
    pgh_table_info *dst;   /* owned; NULL when not replicated */
    int ncols;             /* relation columns */
    char **col_ident;      /* owned: quoted destination column name per relation column */
    bool keyless;          /* REPLICA IDENTITY FULL without a key on either side: INSERT
                              plain, UPDATE and DELETE of one row matched on every column of
                              the old row, strict even while catching up (docs/sync.md) */
    int *dst_col;          /* owned: destination column of each relation column */
    int nkeys;
    int *key_att;          /* owned: relation column of each destination key column */
    apply_stmt *stmts;     /* owned: prepared statements of this relation */
    int nstmts;
    int stmt_cap;
    signed char merge;     /* merge.h: 0 not checked yet, 1 changes merge, -1 they do not */
} apply_rel;

/* Text parameters gathered from tuples; values are NUL-terminated copies. */
typedef struct apply_params {
    pgh_buf data;        /* owned: the values, each followed by NUL */
    size_t *offsets;     /* owned */
    bool *nulls;         /* owned */
    short *atts;         /* owned: the relation column each value is for, -1 when none */
    const char **values; /* owned: pointers into data, built by apply_params_finish */
    int n;
    int cap;
} apply_params;

void pgh_apply__params_init(apply_params *p);
void pgh_apply__params_dispose(apply_params *p);
void pgh_apply__params_reset(apply_params *p);
/* Add a value (NULL for SQL NULL) for relation column att (-1: none); returns its $number, or
 * 0 when out of memory. */
int pgh_apply__params_add(apply_params *p, const pgh_value *v, int att);
/* Build the pointer array; NULL when out of memory. Valid until the next add or reset. */
const char *const *pgh_apply__params_finish(apply_params *p);

/* DDL messages (ddl.c, docs/ddl.md): the prefix the source's event trigger writes with. */
#define PGH_DDL_PREFIX "pghost.ddl"

/* The table mapping of a running apply: the configured tables (same indexes), then what DDL
 * messages did to it: renamed entries, tables created while following (appended), dropped
 * tables (source names NULL). Saved to <state_schema>.ddl_tables in the transaction of the DDL
 * and loaded at open, so that a restart maps names as the stream left them. */
typedef struct apply_ddl {
    pgh_table_map *tables;         /* owned: ntables entries */
    int ntables;
    const pgh_table_map *origin;   /* borrowed: the configured tables (opts.tables) */
    int ncfg;
    pgh_apply_stats **stats;       /* borrowed: the sink's per-table counters, grown with
                                      tables */
    const char *slot;              /* borrowed: opts.slot; messages of other slots are skipped */
    const char *state_schema;      /* borrowed; NULL: the mapping is not saved */
    pgh_schema_drift drift;        /* Relation messages that differ from the destination */
} apply_ddl;

int pgh_apply__ddl_init(apply_ddl *d, PGconn *conn, const pgh_apply_opts *o,
                        pgh_apply_stats **stats, pgh_error *err);
void pgh_apply__ddl_dispose(apply_ddl *d);
/* A transactional message with prefix PGH_DDL_PREFIX. */
bool pgh_apply__ddl_is_message(const pgh_change *c);
/* Apply the message's operations on conn, in the open destination transaction; a message for
 * another slot or an unmapped table does nothing. */
int pgh_apply__ddl_apply(apply_ddl *d, PGconn *conn, const pgh_change *c, pgh_error *err);

/* Build the mapping of a relation; *out NULL (with no error) when it is not replicated. When
 * its columns differ from the destination table's, stop (PGH_ESINK, naming every difference)
 * or, with schema_drift add_columns, add the columns the destination lacks first. */
int pgh_apply__rel_build(apply_rel **out, PGconn *conn, const pgh_relation *rel,
                         const apply_ddl *ddl, pgh_error *err);
void pgh_apply__rel_free(apply_rel *r);

/* rows.c: "INSERT INTO t (every column) OVERRIDING SYSTEM VALUE VALUES (...), ..." with the
 * n rows' values added to p (no unchanged TOAST value allowed: PGH_EPROTO). */
int pgh_apply__put_insert_rows(pgh_buf *sql, apply_params *p, const apply_rel *r,
                               const pgh_tuple *rows, size_t n, pgh_error *err);
/* " ON CONFLICT (key) DO UPDATE SET <every other column> = EXCLUDED..." (update) or
 * " ... DO NOTHING". */
void pgh_apply__put_conflict(pgh_buf *sql, const apply_rel *r, bool update);

/* keyless.c, for a relation without a key (r->keyless): "ctid = (SELECT ctid FROM ONLY t
 * WHERE a = $n::type AND b IS NOT DISTINCT FROM NULL AND ... LIMIT 1)" with every value of the old row
 * (PGH_EPROTO when it is not whole); " SET a = $n, ..." with every column of the new row, an
 * unchanged TOAST value taken from the old row (*nset: the columns set). */
int pgh_apply__put_keyless_match(pgh_buf *sql, apply_params *p, const apply_rel *r,
                                 const pgh_tuple *old, pgh_error *err);
int pgh_apply__put_keyless_set(int *nset, pgh_buf *sql, apply_params *p, const apply_rel *r,
                               const pgh_tuple *newtup, const pgh_tuple *old, pgh_error *err);

/* Find or prepare the statement with this text on conn; atts (nparams entries, copied): the
 * relation column of each parameter. */
int pgh_apply__stmt(const apply_stmt **out, apply_rel *r, PGconn *conn, const char *sql,
                    int nparams, const short *atts, int *name_counter, pgh_error *err);

/*
 * The destination connection in pipeline mode (pipe.c): statements go out without waiting for
 * their results, which come back in order through a callback. Bounded: at most about a
 * thousand statements are in flight. Any synchronous use of the connection (PQexec, PQprepare,
 * catalog queries) must come after pgh_apply__pipe_leave. After a failure the pipe refuses
 * further work: the caller drops the connection (its open transaction rolls back).
 */
typedef enum pipe_op_kind {
    PIPE_OP_PLAIN = 0, /* BEGIN, TRUNCATE: success is all that counts */
    PIPE_OP_INSERT,
    PIPE_OP_UPDATE,
    PIPE_OP_DELETE,
    PIPE_OP_STATE,  /* the position row's UPDATE: must hit one row */
    PIPE_OP_COMMIT, /* must answer COMMIT; lsn is the end LSN it makes durable */
    PIPE_OP_SYNC,   /* internal */
} pipe_op_kind;

/* The key of a row change's row, kept with its statement to name the row in errors: the key
 * values' text, each followed by NUL, cut at PIPE_KEY_MAX bytes (cut: the last is partial). */
#define PIPE_KEY_MAX 64
typedef struct pipe_key {
    char text[PIPE_KEY_MAX];
    uint8_t len;  /* bytes used in text; 0: no key (not a row change, or several rows) */
    uint8_t nkeys;
    bool cut;
} pipe_key;

/* What a statement in flight was, to judge its result and name it in errors. */
typedef struct pipe_op {
    pipe_op_kind kind;
    bool strict;       /* sent in PGH_APPLY_STRICT mode: no row found is divergence */
    apply_rel *rel;    /* borrowed; relations are replaced only after pgh_apply__pipe_leave */
    const apply_stmt *prepared; /* borrowed, may be NULL: statements are added to rel only after
                               pgh_apply__pipe_leave, so this stays valid while in flight */
    pipe_key key;      /* the row's key, for errors (len 0: none) */
    pgh_lsn lsn;       /* the change's LSN (the commit's end LSN for PIPE_OP_COMMIT) */
    const char *what;  /* borrowed, static: error prefix; NULL for "applying a change" */
    char stmt[24];     /* trace logs only: the prepared statement's name, "" for plain SQL */
    int64_t sent_ns;   /* trace logs only: when it went out (monotonic), 0 when not traced */
    uint32_t merged;   /* a merged statement (merge.h), 0 when not: its changes were counted
                          when merged; an UPDATE or DELETE must touch this many rows */
    uint32_t keys_at;  /* a merged statement of several rows: its rows' keys (one pipe_key
                          each, in parameter order) at this offset of the pipe's keys */
    uint32_t keys_n;   /* how many (0: none kept) */
} pipe_op;

/* Called with each statement's affected-row count, in order; non-zero fails the pipe. */
typedef int (*pipe_result_fn)(void *payload, const pipe_op *op, uint64_t rows, pgh_error *err);

typedef struct apply_pipe {
    PGconn *conn;            /* borrowed */
    pipe_op *ops;            /* owned: ring of statements (and Syncs) awaiting results */
    int cap;
    int head;
    int n;
    int since_sync;          /* statements sent since the last Sync */
    size_t bytes_since_sync; /* their parameter bytes */
    int syncs;               /* Syncs sent and not yet answered */
    bool on;                 /* the connection is in pipeline mode */
    bool failed;
    pipe_result_fn done;
    void *payload;           /* borrowed: for done */
    pgh_buf keys;            /* owned: keys of merged statements in flight (pipe_op.keys_at),
                                emptied whenever nothing is in flight */
} apply_pipe;

int pgh_apply__pipe_init(apply_pipe *p, PGconn *conn, pipe_result_fn done, void *payload,
                         pgh_error *err);
void pgh_apply__pipe_dispose(apply_pipe *p);
/* Queue a prepared statement (bytes: its parameter size, for the in-flight cap). */
int pgh_apply__pipe_send(apply_pipe *p, const pipe_op *op, const char *stmt_name, int nparams,
                         const char *const *values, size_t bytes, pgh_error *err);
/* Queue a statement without parameters. */
int pgh_apply__pipe_send_sql(apply_pipe *p, const pipe_op *op, const char *sql, pgh_error *err);
/* Wait for the results of everything sent (the connection stays in pipeline mode). */
int pgh_apply__pipe_wait(apply_pipe *p, pgh_error *err);
/* Send a Sync if statements went out since the last one: the server sends their results, and
 * everything queued reaches it. Reads nothing. */
int pgh_apply__pipe_sync(apply_pipe *p, pgh_error *err);
/* Read, without blocking, the results that have arrived, each handed to done in order; *idle:
 * nothing is in flight any more. Only what a Sync closed ever arrives: call after
 * pgh_apply__pipe_sync. */
int pgh_apply__pipe_poll(apply_pipe *p, bool *idle, pgh_error *err);
/* Wait, then leave pipeline mode so the connection can be used synchronously. */
int pgh_apply__pipe_leave(apply_pipe *p, pgh_error *err);

/* Drop the kept keys (pipe_op.keys_at) of statements no longer in flight. */
void pgh_apply__pipe_keys_trim(apply_pipe *p);

/* failure.c: the key values of tup (at r->key_att) into out, cut to fit. */
void pgh_apply__key_keep(pipe_key *out, const apply_rel *r, const pgh_tuple *tup);
/* failure.c: err holds a failed statement's error (from pgh_conn_error with res): prefix it with
 * the table, for a value the destination refused (SQLSTATE class 22) in a parameter of stmt
 * that parameter's column, and the row's key when key holds one ("public.t, column n, key id =
 * 2: ..."); for a merged statement of several rows (merged > 1, merge.h) the key of the row
 * whose parameter failed, from many (merged pipe_keys in parameter order, may be NULL), else how
 * many rows it carried. Never the refused value itself: only what the server's own message
 * says. */
void pgh_apply__name_failure(pgh_error *err, const apply_rel *r, const apply_stmt *stmt,
                             const pipe_key *key, uint32_t merged, const pipe_key *many,
                             const PGresult *res);

/* Keys of rows the catch-up could not complete (see pghost/apply.h). Small: it holds only rows
 * whose key moved while the copy ran past both keys. */
typedef struct missing_set {
    pgh_apply_missing *rows; /* owned */
    int n;
    int cap;
} missing_set;

/* Record the key of tup (values at r->key_att) for table r->map, unless already there. */
int pgh_apply__missing_add(missing_set *m, const apply_rel *r, const pgh_tuple *tup);
/* Forget the key of tup, if recorded. */
void pgh_apply__missing_remove(missing_set *m, const apply_rel *r, const pgh_tuple *tup);
/* Forget every key of a table (after TRUNCATE). */
void pgh_apply__missing_remove_table(missing_set *m, int table);
void pgh_apply__missing_dispose(missing_set *m);

/* on_missing_row: skip (skips.c): per table, the strict-mode UPDATEs and DELETEs that found no
 * row and were skipped, in the open destination transaction (open) and in the one whose COMMIT
 * is in flight (committing). */
typedef struct skip_count {
    int map;           /* index in the table mapping */
    char table[160];   /* the destination table, "schema.table" */
    uint64_t open;
    uint64_t committing;
} skip_count;

typedef struct missing_skips {
    skip_count *t; /* owned: n entries */
    int n;
    int cap;
} missing_skips;

/* A change of r at lsn found no row: log it at warn (table, LSN, key column names; never the
 * values, which may be private) and count it in the open transaction. */
int pgh_apply__skips_note(missing_skips *s, const apply_rel *r, bool update, pgh_lsn lsn,
                          pgh_error *err);
/* Every result of the open transaction is in: queue, into it, the additions to
 * <state_schema>.missing_rows through the prepared statement stmt (NULL: nothing is recorded)
 * for slot, and mark the counts committing. */
int pgh_apply__skips_commit(missing_skips *s, apply_pipe *p, const char *stmt, const char *slot,
                            pgh_lsn lsn, pgh_error *err);
/* Its COMMIT came back: add the committing counts to stats (by map) and live (may be NULL). */
void pgh_apply__skips_committed(missing_skips *s, pgh_apply_stats *stats,
                                pgh_pipeline_stats *live);
void pgh_apply__skips_dispose(missing_skips *s);

#endif
