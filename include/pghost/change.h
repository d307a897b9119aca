/*
 * pghost/change.h - the decoded form of the logical replication stream.
 *
 * The pgoutput decoder (pghost/decode.h) turns each XLogData payload into one pgh_change; every
 * destination (PostgreSQL apply, JSON lines, ...) consumes pgh_change and nothing else.
 *
 * Lifetimes: values in a pgh_change point into the buffer given to pgh_decoder_feed() or into
 * decoder-owned scratch space; they are borrowed until the next pgh_decoder_feed() call on the
 * same decoder. Relations (pgh_relation) are owned by the decoder's relation cache and stay valid
 * until a Relation message for the same OID replaces them or the decoder is freed. Anything kept
 * longer is copied on purpose.
 */
#ifndef PGHOST_CHANGE_H
#define PGHOST_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pghost/lsn.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

/* Kinds of pgoutput messages (protocol version 1), named after their type byte. */
typedef enum pgh_change_kind {
    PGH_CHANGE_BEGIN = 'B',
    PGH_CHANGE_COMMIT = 'C',
    PGH_CHANGE_ORIGIN = 'O',
    PGH_CHANGE_RELATION = 'R',
    PGH_CHANGE_TYPE = 'Y',
    PGH_CHANGE_INSERT = 'I',
    PGH_CHANGE_UPDATE = 'U',
    PGH_CHANGE_DELETE = 'D',
    PGH_CHANGE_TRUNCATE = 'T',
    PGH_CHANGE_MESSAGE = 'M',
} pgh_change_kind;

/* One column value of a tuple, as pgoutput sent it. */
typedef enum pgh_value_kind {
    PGH_VALUE_NULL = 'n',
    PGH_VALUE_UNCHANGED = 'u', /* unchanged TOASTed value: not sent, keep the destination's */
    PGH_VALUE_TEXT = 't',      /* data is the type's text output, NOT NUL-terminated */
    PGH_VALUE_BINARY = 'b',    /* data is the type's binary send output */
} pgh_value_kind;

typedef struct pgh_value {
    pgh_value_kind kind;
    uint32_t len;     /* bytes in data; 0 for NULL and UNCHANGED */
    const char *data; /* borrowed (see above); NULL for NULL and UNCHANGED */
} pgh_value;

typedef struct pgh_tuple {
    uint16_t natts;          /* number of values, as sent */
    const pgh_value *values; /* borrowed: decoder scratch, natts entries */
} pgh_tuple;

typedef struct pgh_column {
    char *name;        /* owned by the relation */
    uint32_t type_oid; /* source type OID */
    int32_t typmod;    /* atttypmod, -1 when none */
    bool is_key;       /* part of the replica identity (flags bit 1) */
} pgh_column;

typedef struct pgh_relation {
    uint32_t oid;          /* source relation OID */
    char *nspname;         /* owned; "pg_catalog" is sent as "" by pgoutput, kept as sent */
    char *relname;         /* owned */
    char replident;        /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    uint16_t ncols;        /* number of columns */
    pgh_column *cols;      /* owned, ncols entries */
} pgh_relation;

typedef struct pgh_change {
    pgh_change_kind kind;
    pgh_lsn wal_start; /* WAL start of the XLogData message that carried this change */
    union {
        struct {
            pgh_lsn final_lsn;   /* LSN of the transaction's commit record */
            int64_t commit_time; /* microseconds since 2000-01-01 UTC */
            uint32_t xid;
        } begin;
        struct {
            uint8_t flags;
            pgh_lsn commit_lsn;  /* LSN of the commit record */
            pgh_lsn end_lsn;     /* end of the commit record: the position to confirm */
            int64_t commit_time; /* microseconds since 2000-01-01 UTC */
        } commit;
        struct {
            pgh_lsn origin_lsn;
            const char *name; /* borrowed, NUL-terminated */
        } origin;
        struct {
            const pgh_relation *rel; /* cache entry just created or replaced */
        } relation;
        struct {
            uint32_t oid;
            const char *nspname; /* borrowed, NUL-terminated */
            const char *typname; /* borrowed, NUL-terminated */
        } type;
        struct {
            const pgh_relation *rel;
            pgh_tuple newtup;
        } insert;
        struct {
            const pgh_relation *rel;
            char old_kind;    /* 'K' key only, 'O' whole old row, 0 when no old tuple sent */
            pgh_tuple oldtup; /* natts 0 when old_kind is 0 */
            pgh_tuple newtup;
        } update;
        struct {
            const pgh_relation *rel;
            char old_kind; /* 'K' or 'O' */
            pgh_tuple oldtup;
        } del;
        struct {
            uint8_t options;                 /* bit 1 CASCADE, bit 2 RESTART IDENTITY */
            uint32_t nrels;
            const pgh_relation *const *rels; /* borrowed: decoder scratch, nrels entries */
        } truncate;
        struct {
            uint8_t flags;       /* bit 1: transactional */
            pgh_lsn lsn;         /* LSN of the logical decoding message */
            const char *prefix;  /* borrowed, NUL-terminated */
            uint32_t len;
            const char *content; /* borrowed, len bytes, not NUL-terminated */
        } message;
    } u;
} pgh_change;

#define PGH_TRUNCATE_CASCADE 1
#define PGH_TRUNCATE_RESTART_IDENTITY 2
#define PGH_MESSAGE_TRANSACTIONAL 1

PGH_END_DECLS

#endif
