/*
 * pghost/decode.h - bytes from the network to pghost's data model, with no libpq in sight.
 *
 * Three parsers live here, each taking a byte span and never trusting it:
 *  - pgh_repl_msg_parse: one CopyData message of the streaming replication protocol
 *    ('w' XLogData or 'k' primary keepalive), and pgh_repl_status_build for the reply ('r').
 *  - pgh_decoder: pgoutput protocol version 1 payloads -> pgh_change, with a relation cache.
 *  - pgh_copy_scan: the rows of a COPY ... TO STDOUT stream (text or binary), counting rows and
 *    keeping the key columns of the last row seen (keyset pagination continues from there).
 *
 * Malformed or truncated input is PGH_EPROTO with a message saying what and where; never a
 * crash, never an assertion. Not thread-safe per object; separate objects are independent.
 */
#ifndef PGHOST_DECODE_H
#define PGHOST_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "pghost/change.h"
#include "pghost/error.h"
#include "pghost/lsn.h"

/* ---- streaming replication framing ---- */

typedef struct pgh_repl_msg {
    char kind;               /* 'w' XLogData, 'k' primary keepalive */
    pgh_lsn wal_start;       /* 'w': start of the data; 0 for 'k' */
    pgh_lsn wal_end;         /* server's current end of WAL */
    int64_t send_time;       /* microseconds since 2000-01-01 UTC */
    bool reply_requested;    /* 'k': the server wants a status update now */
    const uint8_t *payload;  /* 'w': borrowed pointer into the input buffer */
    size_t payload_len;      /* 'w': bytes of payload */
} pgh_repl_msg;

/* Parse one CopyData message received in COPY BOTH mode. Returns 0 or PGH_EPROTO. */
int pgh_repl_msg_parse(pgh_repl_msg *out, const uint8_t *buf, size_t len, pgh_error *err);

#define PGH_REPL_STATUS_LEN 34
/* Write a standby status update ('r') into out; returns PGH_REPL_STATUS_LEN.
 * now_us: microseconds since 2000-01-01 UTC (see pgh_pg_now_us). */
size_t pgh_repl_status_build(uint8_t out[PGH_REPL_STATUS_LEN], pgh_lsn written, pgh_lsn flushed,
                             pgh_lsn applied, int64_t now_us, bool reply_requested);

/* Current time in PostgreSQL's epoch (microseconds since 2000-01-01 UTC). */
int64_t pgh_pg_now_us(void);

/* ---- pgoutput ---- */

typedef struct pgh_decoder pgh_decoder;

int pgh_decoder_new(pgh_decoder **out);
void pgh_decoder_free(pgh_decoder *dec);

/*
 * Decode one pgoutput message (the payload of an XLogData message). wal_start is the XLogData's
 * start LSN and is copied into out->wal_start. On success fills *out, whose borrowed pointers
 * stay valid until the next call. INSERT/UPDATE/DELETE/TRUNCATE naming a relation OID not
 * announced by a Relation message is PGH_EPROTO. Unknown message types are PGH_EPROTO.
 */
int pgh_decoder_feed(pgh_decoder *dec, pgh_change *out, const uint8_t *buf, size_t len,
                     pgh_lsn wal_start, pgh_error *err);

/* Look up a cached relation by OID; NULL when not announced. */
const pgh_relation *pgh_decoder_relation(const pgh_decoder *dec, uint32_t oid);

/* ---- COPY TO STDOUT row scanner ---- */

#define PGH_COPY_MAX_KEYS 32

typedef enum pgh_copy_format {
    PGH_COPY_TEXT = 0,
    PGH_COPY_BINARY = 1,
} pgh_copy_format;

typedef struct pgh_copy_scan {
    pgh_copy_format format;
    int nkeys;                         /* leading columns that form the key (1..32) */
    bool header_done;                  /* binary: 19-byte signature + flags + extension read */
    bool trailer_seen;                 /* binary: the int16 -1 trailer was read */
    uint64_t rows;                     /* rows seen so far */
    uint64_t bytes;                    /* payload bytes seen so far */
    pgh_buf key[PGH_COPY_MAX_KEYS];    /* owned: the last row's key values. binary: the raw
                                          field bytes; text: the unescaped text */
    bool key_null[PGH_COPY_MAX_KEYS];  /* the last row's key value was NULL */
} pgh_copy_scan;

/* Caller owns the struct. nkeys 1..PGH_COPY_MAX_KEYS; returns 0 or PGH_ECONFIG. */
int pgh_copy_scan_init(pgh_copy_scan *s, pgh_copy_format format, int nkeys);
void pgh_copy_scan_dispose(pgh_copy_scan *s);

/*
 * Scan one CopyData message from COPY ... TO STDOUT. A message holds zero or more complete rows
 * (binary: the first may start with the file header, the last may be the trailer; text: each
 * row ends with '\n'). Updates rows/bytes and the last row's keys. A row split across messages,
 * a bad signature, a field length past the end, a wrong field count (fewer than nkeys), or data
 * after the trailer is PGH_EPROTO.
 */
int pgh_copy_scan_feed(pgh_copy_scan *s, const uint8_t *buf, size_t len, pgh_error *err);

#endif
