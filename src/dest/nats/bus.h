/*
 * dest/nats/bus.h - the bus format: one JSON object per NATS message, lossless for everything a
 * destination is called with (docs/nats.md, "Message format").
 *
 *   B  begin of a source transaction on one subject: txn (the BEGIN's final_lsn), xid, time,
 *      and rel, the subject's table (absent on <prefix>._message)
 *   R  rel: the subject's table changed within the transaction
 *   I U D  a row change: old_kind ("K", "O" or ""), old and new tuples
 *   T  TRUNCATE of the subject's table: options
 *   M  a logical message: flags, lsn, prefix, content (one value)
 *   b r e  table_begin, table_rows (rows), table_end: rel, lsn, chunk, first_row, reload
 *   C  commit: flags, commit_lsn, end_lsn, time, phase (the pipeline's, after the commit)
 *   P  the capture's position (on <prefix>._position only): lsn, checkpoint, phase, resume
 * Every message of a transaction has "txn" and "i" (its index within the transaction, from 0,
 * counted across all subjects): (txn, i) orders the transaction's messages and is unique; and
 * "w", the WAL start of the change it carries (0 for b, r, e, R, P).
 *
 * A value is null (NULL), false (unchanged TOAST), a string (text that is valid UTF-8), or
 * {"x": hex} (text that is not) or {"b": hex} (binary). LSNs and times are JSON integers.
 *
 * Encoding returns a malloc'd NUL-terminated text (free()). Decoding never trusts its input:
 * anything malformed is PGH_EPROTO with a line saying what.
 */
#ifndef PGH_DEST_NATS_BUS_H
#define PGH_DEST_NATS_BUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pghost/change.h"
#include "pghost/destination.h"
#include "pghost/error.h"

typedef enum pgh_bus_kind {
    PGH_BUS_BEGIN = 'B',
    PGH_BUS_RELATION = 'R',
    PGH_BUS_INSERT = 'I',
    PGH_BUS_UPDATE = 'U',
    PGH_BUS_DELETE = 'D',
    PGH_BUS_TRUNCATE = 'T',
    PGH_BUS_MESSAGE = 'M',
    PGH_BUS_TABLE_BEGIN = 'b',
    PGH_BUS_TABLE_ROWS = 'r',
    PGH_BUS_TABLE_END = 'e',
    PGH_BUS_COMMIT = 'C',
    PGH_BUS_POSITION = 'P',
} pgh_bus_kind;

/* Where a message sits: its transaction and its index there. */
typedef struct pgh_bus_id {
    pgh_lsn txn;  /* the transaction's BEGIN final_lsn */
    uint32_t idx; /* index within the transaction */
} pgh_bus_id;

/* A decoded message. Everything is owned by it (pgh_bus__msg_dispose); strings of values point
 * into the parsed JSON or into its own decoded buffers. */
typedef struct pgh_bus_msg {
    pgh_bus_kind kind;
    pgh_bus_id id;       /* P: {0, 0} */
    bool has_rel;
    pgh_relation rel;    /* owned insides: B (when has_rel), R, b, r, e */
    pgh_change change;   /* B, I, U, D, T, M, C: as the pipeline passed it; rel pointers point
                            to .rel or are NULL (the applier sets them to its cached one) */
    pgh_table_rows table; /* b, r, e: .table points to .rel */
    size_t nrows;
    pgh_tuple *rows;     /* owned: r, nrows tuples */
    pgh_position pos;    /* P: resume points into the JSON; C: phase only */
    json_t *root;        /* owned: the parsed message */
    pgh_value *values;   /* owned: every tuple's values */
    char **blobs;        /* owned: hex-decoded value data */
    size_t nblobs;
} pgh_bus_msg;

/* ---- encoding (each returns the text or NULL when out of memory) ---- */

char *pgh_bus__begin(pgh_bus_id id, const pgh_change *begin, const pgh_relation *rel);
char *pgh_bus__relation(pgh_bus_id id, const pgh_relation *rel);
/* INSERT, UPDATE, DELETE. */
char *pgh_bus__change(pgh_bus_id id, const pgh_change *c);
/* One table of a TRUNCATE (its options and WAL start; the table is the subject's). */
char *pgh_bus__truncate(pgh_bus_id id, const pgh_change *t);
char *pgh_bus__message(pgh_bus_id id, const pgh_change *m);
/* kind b, r or e; rows/n for r only. */
char *pgh_bus__table(pgh_bus_id id, pgh_bus_kind kind, const pgh_table_rows *t,
                     const pgh_tuple *rows, size_t n);
/* phase: the pipeline's phase after the commit ("snapshot" while existing rows come, "follow"). */
char *pgh_bus__commit(pgh_bus_id id, const pgh_change *commit, const char *phase);
char *pgh_bus__position(const pgh_position *pos);

/* A decoded message encoded again (the encoding is canonical: decoding text this made and
 * encoding the result gives the same text). */
char *pgh_bus__encode_msg(const pgh_bus_msg *m);

/* ---- decoding ---- */

/* Parse len bytes of data into *out (zeroed first; dispose it whatever the result). */
int pgh_bus__decode(pgh_bus_msg *out, const char *data, size_t len, pgh_error *err);
void pgh_bus__msg_dispose(pgh_bus_msg *m);

/* Relations: deep copy, equality, dispose (of the insides). */
int pgh_bus__rel_copy(pgh_relation *dst, const pgh_relation *src);
bool pgh_bus__rel_equal(const pgh_relation *a, const pgh_relation *b);
void pgh_bus__rel_dispose(pgh_relation *r);

#endif
