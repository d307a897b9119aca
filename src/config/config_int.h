/*
 * config/config_int.h - what the files of the config module share, not part of the API.
 *
 * Parsing runs in one pass over a libyaml document (yaml_parser_load):
 *
 *   config.c   the public entry points; loads the document, reports YAML syntax errors
 *   guard.c    limits on the raw text that protect libyaml from pathological input
 *   top.c      the top-level keys, required keys, defaults that depend on other keys
 *   tables.c   the "tables:" list, table defaults, unique destinations
 *   pattern.c  table name patterns, "schema.table" strings, exclude_tables
 *   walk.c     one mapping: unknown keys (with a suggestion), duplicate keys, key paths
 *   scalar.c   typed values: string, name, integer, boolean
 *   env.c      ${VAR} expansion
 *   conninfo.c ${VAR} in connection strings: expanded in the parsed parameters, then quoted
 *   names.c    PostgreSQL's rules for names and replication slot names
 *   suggest.c  the closest valid key for a misspelt one
 *   report.c   "file:line: message" errors and quoting of user text
 *
 * Every error is one line in ctx->err, code PGH_ECONFIG (PGH_ENOMEM when memory runs out), set
 * once where it is found; after the first error the parse unwinds without looking further.
 * A value that came from ${VAR} is never printed: it may be a password.
 */
#ifndef PGH_CONFIG_INT_H
#define PGH_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "pghost/config.h"
#include "pghost/error.h"

/* PostgreSQL silently truncates longer names (NAMEDATALEN - 1). */
#define PGH_CONFIG__NAME_MAX 63
/* Room for a quoted, escaped excerpt of user text in a message. */
#define PGH_CONFIG__QUOTE_MAX 96
/* Room for a key path such as "tables[12].destination_schema_name". */
#define PGH_CONFIG__PATH_MAX 96

/* The four keys of a table, at the top level and in each "tables:" entry. */
enum {
    PGH_CONFIG__TK_SOURCE_SCHEMA = 0,
    PGH_CONFIG__TK_SOURCE_TABLE,
    PGH_CONFIG__TK_DEST_SCHEMA,
    PGH_CONFIG__TK_DEST_TABLE,
    PGH_CONFIG__TK_COUNT,
};

/* A table while it is being parsed: the public map plus where it came from. */
typedef struct pgh_config__table {
    pgh_table_map map; /* owned strings, NULL until set or defaulted */
    size_t line;       /* 1-based line of the entry (top level: of source_table_name) */
    bool from_env;     /* a name came from ${VAR}: never print the names */
} pgh_config__table;

typedef struct pgh_config__ctx {
    const char *name;          /* borrowed: the file name used in messages */
    yaml_document_t *doc;      /* borrowed: the loaded document */
    pgh_env_lookup_fn env;     /* may be NULL: then every ${VAR} is unset */
    void *env_payload;         /* borrowed, passed to env */
    pgh_error *err;            /* borrowed: where the one error goes */
    pgh_config *cfg;           /* borrowed: the config being filled in */
    pgh_config__table top;     /* the single-table keys at the top level */
    pgh_config__table *tables; /* owned: the "tables:" entries, file order */
    size_t ntables;            /* entries used in tables */
} pgh_config__ctx;

/* report.c */

/* Record "name:line: <message>" (just "name: " when line is 0), code PGH_ECONFIG. Returns it. */
int pgh_config__fail(pgh_config__ctx *ctx, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record an out-of-memory error; returns PGH_ENOMEM. */
int pgh_config__nomem(pgh_config__ctx *ctx);
/* The 1-based line where node starts. */
size_t pgh_config__line(const yaml_node_t *node);
/* Write len bytes of s into dst (cap bytes) double-quoted, escaped, cut short with "...", so
 * that it is one printable line; returns dst. */
const char *pgh_config__quote(char *dst, size_t cap, const char *s, size_t len);
/* What a node is, for "got ...": "a mapping", "a list", "an empty value" or the quoted text. */
const char *pgh_config__describe(char *dst, size_t cap, const yaml_node_t *node);
/* True for a plain scalar YAML reads as null: nothing, "~", "null". */
bool pgh_config__is_null(const yaml_node_t *node);

/* guard.c */

/* Refuse text whose flow collections nest deeper than any configuration needs. */
int pgh_config__check_nesting(pgh_config__ctx *ctx, const char *text, size_t len);

/* walk.c */

typedef int (*pgh_config__key_fn)(pgh_config__ctx *ctx, size_t key, const char *path,
                                  yaml_node_t *value, void *payload);

typedef struct pgh_config__keyset {
    const char *const *names; /* borrowed: the valid keys */
    size_t count;
    const char *hint; /* said after an unknown key when no valid key is close */
} pgh_config__keyset;

/*
 * Call fn for each key of the mapping map, with its index in keys, its path (prefix + key) and
 * its value. An unknown, duplicate or non-string key is an error. lines (keys->count entries,
 * zeroed by the caller) receives the line where each key was set, 0 for keys not present.
 */
int pgh_config__walk(pgh_config__ctx *ctx, yaml_node_t *map, const pgh_config__keyset *keys,
                     const char *prefix, size_t *lines, pgh_config__key_fn fn, void *payload);

/* suggest.c */

/* The candidate closest to key (len bytes), or NULL when none is reasonably close. */
const char *pgh_config__suggest(const char *key, size_t len, const char *const *candidates,
                                size_t n);

/* env.c */

/* Expand ${NAME} and $$ in s (len bytes, no NUL) into a new string *out (free()). *from_env is
 * set when a variable was substituted. Errors name path and the variable, never a value. */
int pgh_config__expand(pgh_config__ctx *ctx, size_t line, const char *path, const char *s,
                       size_t len, char **out, bool *from_env);

/* conninfo.c */

/* Expand ${NAME} in the values of the connection string s (len bytes, no NUL) parsed by libpq,
 * into a new key=value string *out (free()) whose values are quoted so that libpq reads back
 * exactly the substituted values; a string that is one ${NAME} alone is taken whole. Errors
 * name path, never a value. */
int pgh_config__expand_conninfo(pgh_config__ctx *ctx, size_t line, const char *path,
                                const char *s, size_t len, char **out, bool *from_env);

/* scalar.c: each reader frees what *out held and stores a new value only on success. */

/* Any string, including "" when quoted; ${VAR} expanded. from_env may be NULL. */
int pgh_config__read_string(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, char **out,
                            bool *from_env);
/* A connection string: ${VAR} expanded by pgh_config__expand_conninfo. */
int pgh_config__read_conninfo(pgh_config__ctx *ctx, const char *path, yaml_node_t *node,
                              char **out);
/* A PostgreSQL name: a non-empty string of at most PGH_CONFIG__NAME_MAX bytes. */
int pgh_config__read_name(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, char **out,
                          bool *from_env);
/* A plain (unquoted) decimal integer from min to max. */
int pgh_config__read_int(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, int64_t min,
                         int64_t max, int64_t *out);
/* A plain true/false/yes/no/on/off, any case. */
int pgh_config__read_bool(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, bool *out);

/* names.c */

/* True when s is a valid replication slot name: ^[a-z0-9_]{1,63}$. */
bool pgh_config__slot_name_valid(const char *s);
/* "pghost_" + publication lowercased, other than [a-z0-9_] made '_', cut to 63 bytes; NULL when
 * out of memory. */
char *pgh_config__default_slot_name(const char *publication);

/* tables.c */

/* Set one of the four table keys (PGH_CONFIG__TK_*) of t from value. */
int pgh_config__read_table_key(pgh_config__ctx *ctx, pgh_config__table *t, size_t key,
                               const char *path, yaml_node_t *value);
/* Read the value of "tables:", appending to ctx->tables. */
int pgh_config__read_tables(pgh_config__ctx *ctx, yaml_node_t *list);
/* Default the names, put the top-level table first, reject duplicate destinations and move the
 * tables into ctx->cfg. */
int pgh_config__finish_tables(pgh_config__ctx *ctx);
/* Free the table names ctx still owns. */
void pgh_config__dispose_tables(pgh_config__ctx *ctx);

/* pattern.c */

/* A "schema.table" string (or a bare "table": *schema is then NULL) into new strings. */
int pgh_config__read_qualified(pgh_config__ctx *ctx, const char *path, yaml_node_t *node,
                               char **schema, char **table, bool *from_env);
/* Read the value of "exclude_tables:" into ctx->cfg. */
int pgh_config__read_excludes(pgh_config__ctx *ctx, yaml_node_t *list);

/* top.c */

/* Read the top-level mapping into ctx->cfg, check required keys, fill in defaults. */
/* The nats_* keys (nats_keys.c), in the order of their names in top.c. */
enum {
    PGH_CONFIG__NATS_URL = 0,
    PGH_CONFIG__NATS_STREAM,
    PGH_CONFIG__NATS_PREFIX,
    PGH_CONFIG__NATS_SUBJECTS,
    PGH_CONFIG__NATS_CONSUMER,
    PGH_CONFIG__NATS_REPLICAS,
    PGH_CONFIG__NATS_MAX_AGE,
    PGH_CONFIG__NATS_MAX_BYTES,
    PGH_CONFIG__NATS_DUP_WINDOW,
    PGH_CONFIG__NATS_IN_FLIGHT,
    PGH_CONFIG__NATS_CREDS,
    PGH_CONFIG__NATS_TOKEN,
    PGH_CONFIG__NATS_CA,
    PGH_CONFIG__NATS_NKEY,
    PGH_CONFIG__NATS_COUNT,
};

/* Read the nats_* key PGH_CONFIG__NATS_<key> into ctx->cfg->nats. */
int pgh_config__read_nats_key(pgh_config__ctx *ctx, int key, const char *path, yaml_node_t *value);
/* Defaults of the NATS integers; free and copy the strings of a pgh_nats_config. */
void pgh_config__nats_defaults(pgh_nats_config *n);
void pgh_config__nats_dispose(pgh_nats_config *n);
int pgh_config__nats_dup(pgh_nats_config *dst, const pgh_nats_config *src);

int pgh_config__read_top(pgh_config__ctx *ctx, yaml_node_t *root);

/* A configuration holding the defaults only; path copied from name. NULL when out of memory. */
pgh_config *pgh_config__new(const char *name);

#endif
