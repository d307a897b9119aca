/*
 * pghost/catalog.h - what pghost needs to know about a table, read from a server's catalogs.
 *
 * Used on both sides: on the source to plan the copy and check the publication, on the
 * destination to check that the table is there with the same columns. One short query per call;
 * no transaction is held. Thread-safe per connection.
 */
#ifndef PGHOST_CATALOG_H
#define PGHOST_CATALOG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "pghost/error.h"

typedef struct pgh_table_column {
    char *name;         /* owned */
    char *type_name;    /* owned: format_type() for built-in types, bare name for others */
    char *cast_name;    /* owned: the type without modifiers, schema-qualified and quoted unless
                           built in ("public"."ce", "s"."e"[], integer): a key value's cast */
    uint32_t type_oid;  /* this server's type OID */
    int32_t typmod;     /* atttypmod, -1 when none */
    bool builtin_type;  /* type (and element type) is built in: binary COPY is safe */
    bool generated;     /* a generated column: never written */
    bool not_null;
    bool has_default;   /* a default or an identity: a row written without it still gets one */
    int key_position;   /* 1-based position in the key (key_source), 0 when not a key column */
} pgh_table_column;

typedef struct pgh_table_info {
    char *schema;              /* owned */
    char *name;                /* owned */
    char *qualified;           /* owned: "schema"."name", quoted */
    uint32_t oid;
    char relkind;              /* 'r' table, 'p' partitioned */
    char replident;            /* 'd', 'n', 'f', 'i' */
    char persistence;          /* 'p' permanent, 'u' unlogged, 't' temporary */
    int ncols;
    pgh_table_column *cols;    /* owned: live columns in attnum order */
    int nkeys;                 /* key columns; 0 when the table has no key */
    int *key_cols;             /* owned: indexes into cols, in key order */
    uint32_t key_index_oid;    /* the key's index; 0 when there is no key */
    char key_source;           /* the key is: 'i' the replica identity index (USING INDEX),
                                * 'p' the primary key, 'u' another unique index on NOT NULL
                                * columns (a destination's ON CONFLICT target), '\0' none */
    char *read_root;           /* owned: a partition the role may not read, read through its
                                  root: the root's qualified name; NULL otherwise */
    char *read_filter;         /* owned, with read_root: the partition's constraint
                                  (pg_get_partition_constraintdef), which prunes the root to it */
    double reltuples;          /* planner estimate; < 0 when never analyzed */
    int64_t size_bytes;        /* pg_table_size() */
    char *row_filter;          /* owned, NULL when none: the publication's row filter as the
                                  server deparses it (source/publication.h), SQL to AND with */
} pgh_table_info;

/* The index whose columns are a table's key, as a subquery correlated on c.oid (the table's
 * pg_class row) returning indexrelid, indisreplident, indisprimary: the replica identity index
 * (REPLICA IDENTITY USING INDEX: the stream's old keys carry its columns), else the primary
 * key, else the unique index on NOT NULL columns with the fewest columns, then by name (with
 * REPLICA IDENTITY FULL the stream's old rows carry it; on a destination, the ON CONFLICT
 * target). Usable: unique, immediate, valid, not partial, no expressions, NOT NULL key
 * columns. */
#define PGH_CATALOG_KEY_INDEX_SQL                                                                  \
    "SELECT i.indexrelid, i.indisreplident, i.indisprimary FROM pg_catalog.pg_index i "            \
    "WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid "              \
    "  AND i.indpred IS NULL AND i.indexprs IS NULL "                                              \
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute ka "                                  \
    "                  WHERE ka.attrelid = c.oid AND NOT ka.attnotnull "                           \
    "                    AND ka.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])) "          \
    "ORDER BY i.indisreplident DESC, i.indisprimary DESC, i.indnkeyatts, "                         \
    "  i.indexrelid::pg_catalog.regclass::text LIMIT 1"

/* The key index of the table whose OID is parameter $1 (NULL when it has none). */
#define PGH_CATALOG_KEY_INDEX_OF_1                                                                 \
    "(SELECT ki.indexrelid FROM pg_catalog.pg_class c CROSS JOIN LATERAL "                         \
    "(" PGH_CATALOG_KEY_INDEX_SQL ") ki WHERE c.oid = $1)"

/* Read a table's description. A missing table is PGH_ENOTFOUND with a message naming it. */
int pgh_catalog_table(pgh_table_info **out, PGconn *conn, const char *schema, const char *name,
                      pgh_error *err);
void pgh_table_info_free(pgh_table_info *t);

/* Index of the column named name, or -1. */
int pgh_table_column_index(const pgh_table_info *t, const char *name);

/*
 * Compare the columns a copy writes (source columns that are not generated) with the
 * destination's. Columns the destination has on its own are fine unless NOT NULL without a
 * default (rows written without them would fail); a type that differs is fine when
 * pgh_catalog_type_converts says so. On any other difference returns PGH_EPRECOND with every
 * difference listed in err ("column a (integer) is missing on the destination; column b is
 * text on the source but inet on the destination; ...").
 */
int pgh_catalog_compare_columns(const pgh_table_info *src, const pgh_table_info *dst,
                                pgh_error *err);

/* The destination type dst (format_type text) takes every value of source type src through its
 * text form, or the values that fit (integers narrowed, varchar(n) shortened, which fail on the
 * value that does not fit): the same type, any two of smallint/integer/bigint, any two of
 * text/varchar(n), timestamp into timestamptz. Nothing that would round or pad a value. */
bool pgh_catalog_type_converts(const char *src, const char *dst);

#endif
