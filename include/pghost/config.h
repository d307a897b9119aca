/*
 * pghost/config.h - the YAML configuration, parsed and validated into pgh_config.
 *
 * The parser reads one YAML document (libyaml), expands ${ENV_VAR} in string values through a
 * lookup function supplied by the caller (the library never reads the environment itself),
 * and validates every key: an unknown key names the closest valid key, a value of the wrong type
 * names the key's path ("tables[1].source_table_name"). No I/O beyond reading the file.
 *
 * Keys (every one is documented in examples/config.yaml):
 *   source_connection                  string, required (libpq key=value or URI)
 *   source_connection_for_replication  string, optional (derived from source_connection)
 *   destination_connection             string, required for destination: postgres (checked by
 *                                      pgh_config_check_destination)
 *   publication_name                   string, required
 *   slot_name                          string, optional (default "pghost_" + publication name)
 *   source_schema_name, source_table_name, destination_schema_name, destination_table_name
 *                                      one table, the original design's keys
 *   tables                             list of mappings with the same four keys, or of
 *                                      "schema.table" strings; a source name holding * or ?
 *                                      is a pattern (see below)
 *   exclude_tables                     list of "schema.table" strings (patterns allowed): tables
 *                                      a pattern entry of tables: must not select
 *   copy_batch_size                    integer 1..1000000000 (default 100000): rows per batch
 *                                      at most
 *   copy_batch_max_ms                  integer 0..3600000 (default 200; 0 off): each copy
 *                                      worker (and the watermarked chunks) sizes its next
 *                                      batch from the time its previous ones took, so that
 *                                      one batch's source statement stays under this many ms
 *   copy_worker_count                  integer 1..64 (default 4)
 *   copy_use_keyset_pagination         boolean (default true)
 *   copy_format                        auto | binary | text (default auto)
 *   destination                        postgres (default) | stdout | file: JSON lines on stdout
 *                                      or into files instead of a destination server
 *                                      (destination_connection then unused)
 *                                      | duckdb: tables in a DuckDB file (pghost/duckdb.h)
 *                                      | webhook: the JSON lines POSTed in batches to webhook_url
 *                                      | nats: pghost capture's JetStream stream (docs/nats.md)
 *   file_directory                     string, required for destination: file: where the files
 *                                      and their state file (pghost.state) go
 *   file_rotate_bytes                  integer 4096..68719476736 (default 67108864, 64 MiB): a
 *                                      file is closed and a new one started before it would
 *                                      grow past this
 *   file_rotate_seconds                integer 0..31536000 (default 3600; 0 never): a file open
 *                                      this long is closed and a new one started
 *   file_layout                        per_table (default) | single: one stream of files per
 *                                      table (a directory each) or one for every table
 *   batch_size                         integer 1..1000000 (default 10000): row changes per
 *   (or apply_group_max_changes)       destination transaction when grouping source ones (the
 *                                      PostgreSQL destination, which merges each key's changes
 *                                      in it where safe), the batch of the others; setting
 *                                      both names is an error
 *   batch_timeout_ms                   integer 0..60000 (default 100): while following, commit
 *   (or apply_group_max_delay_ms)      grouped transactions (flush batches) at least this often
 *   copy_method                        parallel (default) | watermarks: how a PostgreSQL
 *                                      destination gets the existing rows: the parallel keyset
 *                                      copy and a catch-up, or watermarked chunks delivered with
 *                                      the changes (as event destinations get them)
 *   on_conflict_action                 error (default) | update | nothing: the existing rows'
 *                                      inserts into a PostgreSQL destination: its tables must be
 *                                      empty, or a row already at a key is replaced / kept
 *   disable_triggers                   boolean (default true): a PostgreSQL destination writes
 *                                      with session_replication_role = replica (no triggers, no
 *                                      foreign-key checks; needs a superuser)
 *   webhook_url                        string, required with destination: webhook: http(s) URL
 *   webhook_secret                     string (may be ${VAR}): HMAC-SHA256 key of the
 *                                      Pghost-Signature header; never printed
 *   webhook_secret_file                string: a file holding the secret instead (its first
 *                                      line, trailing whitespace cut); not both
 *   webhook_ca_file                    string: PEM CA certificates to verify the server with
 *   webhook_timeout_ms                 integer 1..600000 (default 10000): per request
 *   webhook_max_retries                integer 0..1000 (default 10): attempts after the first
 *                                      for one batch, before the run stops
 *   webhook_retry_base_ms              integer 0..600000 (default 500): backoff base (doubled
 *                                      each retry, full jitter)
 *   webhook_retry_max_ms               integer 0..600000 (default 30000): backoff ceiling
 *   state_schema                       string (default "pghost"): schema on the destination
 *                                      holding pghost's position (pghost.state)
 *   create_destination_tables          boolean (default false): create missing schemas, types and
 *                                      tables on the destination before the copy, their keys
 *                                      after it (ordinary tables, on_conflict_action error),
 *                                      their other indexes and constraints after the catch-up
 *   schema_drift                       stop (default) | add_columns: what to do when a source
 *                                      table's columns differ from the destination's while
 *                                      streaming and no DDL capture carried the change over
 *   on_missing_row                     stop (default) | skip: while following, an UPDATE or
 *                                      DELETE whose row the destination lacks stops the run
 *                                      (divergence), or is skipped, counted per table (kept in
 *                                      <state_schema>.missing_rows) and logged at warn
 *   state_file                         string: where destination: stdout or webhook keeps its
 *                                      position
 *                                      (default: the configuration file's name + ".state")
 *   source                             postgres (default) | nats: pghost apply reads a JetStream
 *                                      stream that pghost capture fills (docs/nats.md);
 *                                      source_connection is then not required
 *   nats_url                           string: NATS server URL(s), comma-separated for a
 *                                      cluster (default nats://127.0.0.1:4222)
 *   nats_stream                        string: the JetStream stream (default PGHOST_<slot>)
 *   nats_subject_prefix                string: subjects are <prefix>.<schema>.<table>
 *                                      (default pghost.<slot>)
 *   nats_subjects                      string: apply: the subject filter it takes (default
 *                                      <prefix>.>)
 *   nats_consumer                      string: apply: the durable consumer's name (default
 *                                      pghost_apply)
 *   nats_replicas                      integer 1..5 (default 1): capture: the stream's replicas
 *   nats_max_age_s                     integer >= 0 (default 0: unlimited): the stream's max age
 *   nats_max_bytes                     integer >= 0 (default 0: unlimited)
 *   nats_duplicate_window_s            integer 1..86400 (default 120): the stream's window
 *   nats_max_in_flight                 integer 1..1000000 (default 4096): capture: messages
 *                                      published and not yet acknowledged, at most
 *   nats_credentials_file, nats_token_file, nats_nkey_file, nats_ca_file
 *                                      strings: files with the credentials (.creds: JWT and
 *                                      NKey seed), a token, a user's NKey seed ("SU..."), a
 *                                      CA for TLS; at most one of the first three, and no
 *                                      user:password@ in nats_url beside one
 *   duckdb_path                        string: the DuckDB database file destination: duckdb
 *                                      writes (required with it; created when missing)
 *   duckdb_library                     string: path of libduckdb.so (default: the search of
 *                                      pghost/duckdb.h)
 *   rules_file                         string: transforms and filters to apply (pghost/rules.h,
 *                                      docs/rules.md), a path relative to the configuration
 *                                      file's directory
 * A table needs source_table_name; source_schema_name defaults to "public", the destination
 * schema and table names to the source's. At least one table is required.
 *
 * Patterns: in source_schema_name and source_table_name, * matches any run of characters and ?
 * one character (names are matched exactly otherwise, case included). A pattern entry selects
 * every ordinary or partitioned table of the source that matches (never a partition: its root
 * stands for it), minus exclude_tables; its destination is the same schema (or
 * destination_schema_name when set) and the same table name, so destination_table_name is not
 * allowed with it. Patterns are expanded against the source by pgh_tables_resolve
 * (pghost/tables.h); until then cfg->tables holds them as written.
 */
#ifndef PGHOST_CONFIG_H
#define PGHOST_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

#define PGH_CONFIG_DEFAULT_BATCH_SIZE 100000
#define PGH_CONFIG_DEFAULT_BATCH_MAX_MS 200
#define PGH_CONFIG_MAX_BATCH_MAX_MS 3600000
#define PGH_CONFIG_DEFAULT_WORKERS 4
#define PGH_CONFIG_MAX_WORKERS 64
#define PGH_CONFIG_DEFAULT_STATE_SCHEMA "pghost"
#define PGH_CONFIG_DEFAULT_GROUP_CHANGES 10000
#define PGH_CONFIG_DEFAULT_GROUP_DELAY_MS 100
#define PGH_CONFIG_DEFAULT_FILE_ROTATE_BYTES (INT64_C(64) << 20)
#define PGH_CONFIG_DEFAULT_FILE_ROTATE_SECONDS 3600
#define PGH_CONFIG_MIN_FILE_ROTATE_BYTES 4096
#define PGH_CONFIG_MAX_FILE_ROTATE_BYTES (INT64_C(64) << 30)
#define PGH_CONFIG_MAX_FILE_ROTATE_SECONDS 31536000
#define PGH_CONFIG_DEFAULT_WEBHOOK_TIMEOUT_MS 10000
#define PGH_CONFIG_DEFAULT_WEBHOOK_MAX_RETRIES 10
#define PGH_CONFIG_DEFAULT_WEBHOOK_RETRY_BASE_MS 500
#define PGH_CONFIG_DEFAULT_WEBHOOK_RETRY_MAX_MS 30000

typedef enum pgh_copy_format_choice {
    PGH_COPY_FORMAT_AUTO = 0, /* binary when every column type is built in, else text */
    PGH_COPY_FORMAT_BINARY,
    PGH_COPY_FORMAT_TEXT,
} pgh_copy_format_choice;

typedef enum pgh_destination_kind {
    PGH_DESTINATION_POSTGRES = 0, /* apply to destination_connection */
    PGH_DESTINATION_STDOUT,       /* JSON lines on stdout (pghost/json.h) */
    PGH_DESTINATION_FILE,         /* JSON lines into files in file_directory (pghost/file.h) */
    PGH_DESTINATION_DUCKDB,       /* tables in a DuckDB file (pghost/duckdb.h) */
    PGH_DESTINATION_WEBHOOK,      /* JSON lines POSTed in batches (pghost/webhook.h) */
    PGH_DESTINATION_NATS,         /* a JetStream stream: pghost capture (pghost/nats.h) */
} pgh_destination_kind;

/* How the file destination groups lines into files (pghost/file.h). */
typedef enum pgh_file_layout {
    PGH_FILE_LAYOUT_PER_TABLE = 0, /* <dir>/<schema>.<table>/NNN-LSN.jsonl, one stream a table */
    PGH_FILE_LAYOUT_SINGLE,        /* <dir>/NNN-LSN.jsonl, one stream for every table */
} pgh_file_layout;

/* "postgres", "stdout", "file", "duckdb", "webhook" or "nats" (any case). Returns 0 or
 * PGH_ECONFIG. */
PGH_API int pgh_config_destination_parse(pgh_destination_kind *out, const char *name);

/* The destination is an event stream that keeps its position in state_file (stdout, webhook)
 * rather than on a destination server. */
PGH_API bool pgh_config_uses_state_file(pgh_destination_kind kind);

typedef enum pgh_source_kind {
    PGH_SOURCE_POSTGRES = 0, /* the source server: its slot and tables */
    PGH_SOURCE_NATS,         /* a JetStream stream filled by pghost capture (apply only) */
} pgh_source_kind;

/* The NATS keys (docs/nats.md). Strings are owned, NULL when not configured (the NATS code
 * applies the defaults above). */
typedef struct pgh_nats_config {
    char *url;
    char *stream;
    char *subject_prefix;
    char *subjects;
    char *consumer;
    int64_t replicas;
    int64_t max_age_s;
    int64_t max_bytes;
    int64_t duplicate_window_s;
    int64_t max_in_flight;
    char *credentials_file;
    char *token_file;
    char *ca_file;
    char *nkey_file;
} pgh_nats_config;

typedef enum pgh_schema_drift {
    PGH_SCHEMA_DRIFT_STOP = 0,    /* stop with a message naming the difference */
    PGH_SCHEMA_DRIFT_ADD_COLUMNS, /* add columns the source gained, then go on */
} pgh_schema_drift;

typedef enum pgh_on_missing_row {
    PGH_ON_MISSING_ROW_STOP = 0, /* following: a change whose row is missing is divergence */
    PGH_ON_MISSING_ROW_SKIP,     /* skip it, count it per table, log it (table, LSN, key names) */
} pgh_on_missing_row;

typedef enum pgh_copy_method {
    PGH_COPY_METHOD_PARALLEL = 0, /* keyed destinations: parallel keyset copy + catch-up */
    PGH_COPY_METHOD_WATERMARKS,   /* existing rows in watermarked chunks, with the changes */
} pgh_copy_method;

typedef enum pgh_on_conflict_action {
    PGH_ON_CONFLICT_ERROR = 0, /* the destination tables must be empty */
    PGH_ON_CONFLICT_UPDATE,    /* an existing row at a copied key takes the source's values */
    PGH_ON_CONFLICT_NOTHING,   /* an existing row at a copied key is kept as it is */
} pgh_on_conflict_action;

typedef struct pgh_table_map {
    char *source_schema; /* owned */
    char *source_table;  /* owned */
    char *dest_schema;   /* owned */
    char *dest_table;    /* owned */
} pgh_table_map;

/* A "schema.table" name of exclude_tables; either part may be a pattern. */
typedef struct pgh_table_pattern {
    char *schema; /* owned */
    char *table;  /* owned */
    size_t line;  /* 1-based line in the file, for messages */
} pgh_table_pattern;

/* True when a name holds a wildcard (* or ?). */
PGH_API bool pgh_config_is_pattern(const char *name);

/* True when name matches pattern: * any run of characters (also none), ? exactly one byte,
 * anything else itself. Without a wildcard this is plain equality. */
PGH_API bool pgh_config_pattern_match(const char *pattern, const char *name);

typedef struct pgh_config {
    char *path;                         /* owned: file name, or the name given for a string */
    char *source_connection;            /* owned, env-expanded */
    char *source_replication_connection;/* owned, env-expanded; NULL when not configured */
    char *destination_connection;       /* owned, env-expanded */
    char *publication_name;             /* owned */
    char *slot_name;                    /* owned; defaulted when not configured */
    size_t ntables;
    pgh_table_map *tables;              /* owned, ntables entries, in file order */
    size_t *table_lines;                /* owned, ntables entries: the line of each entry in
                                           the file (0 when unknown), for messages */
    size_t nexclude;
    pgh_table_pattern *exclude_tables;  /* owned, nexclude entries */
    bool tables_resolved;               /* pgh_tables_resolve replaced the patterns */
    int64_t copy_batch_size;            /* rows per batch at most */
    int64_t copy_batch_max_ms;          /* time target of one batch's source statement; 0 off */
    int copy_worker_count;              /* parallel copy workers */
    bool copy_use_keyset_pagination;    /* keyset (true) or key ranges (false) */
    pgh_copy_format_choice copy_format;
    char *state_schema;                 /* owned; defaulted to "pghost" */
    pgh_destination_kind destination;
    int64_t apply_group_max_changes;    /* batch_size: statements per grouped destination
                                           transaction, or the batch of other destinations */
    int64_t apply_group_max_delay_ms;   /* batch_timeout_ms: following, commit at least this
                                           often */
    pgh_copy_method copy_method;
    pgh_on_conflict_action on_conflict_action;
    bool disable_triggers;              /* session_replication_role = replica on the
                                           destination (default true) */
    bool create_destination_tables;     /* create what is missing on the destination */
    pgh_schema_drift schema_drift;
    pgh_on_missing_row on_missing_row;
    char *state_file;                   /* owned, may be NULL: where destination: stdout keeps
                                           its position (the CLI defaults it to the
                                           configuration file's name + ".state") */
    pgh_source_kind source;             /* where pghost apply reads (capture: postgres) */
    pgh_nats_config nats;               /* owned insides */
    char *duckdb_path;                  /* owned, may be NULL: destination: duckdb's file */
    char *duckdb_library;               /* owned, may be NULL: libduckdb's path (NULL: search) */
    char *file_directory;               /* owned, may be NULL: destination: file's directory */
    int64_t file_rotate_bytes;          /* destination: file: largest file, bytes */
    int64_t file_rotate_seconds;        /* destination: file: longest a file stays open; 0 no
                                           limit */
    pgh_file_layout file_layout;        /* destination: file: files per table or one stream */
    char *rules_file;                   /* owned, may be NULL: the rules file (pghost/rules.h;
                                           the CLI reads it relative to the configuration
                                           file's directory) */
    char *webhook_url;                  /* owned, may be NULL: destination: webhook's endpoint */
    char *webhook_secret;               /* owned, may be NULL: the HMAC key (never printed) */
    char *webhook_secret_file;          /* owned, may be NULL: a file holding the key */
    char *webhook_ca_file;              /* owned, may be NULL: CA certificates (PEM) */
    int64_t webhook_timeout_ms;         /* per request */
    int64_t webhook_max_retries;        /* attempts after the first, per batch */
    int64_t webhook_retry_base_ms;      /* backoff base */
    int64_t webhook_retry_max_ms;       /* backoff ceiling */
} pgh_config;

/* What the chosen destination needs: destination: postgres its destination_connection, file
 * its file_directory, duckdb its duckdb_path, webhook its webhook_url (and
 * pgh_config_check_webhook). pgh_config_parse leaves this out, since a command line may choose
 * another destination, and so does pgh_config_check (a library caller may bring a destination
 * of its own): call it once the destination is chosen. PGH_ECONFIG, one line. */
PGH_API int pgh_config_check_destination(const pgh_config *cfg, pgh_error *err);

/* The webhook keys across each other: destination: webhook has webhook_url, webhook_secret and
 * webhook_secret_file are not both set, webhook_retry_max_ms >= webhook_retry_base_ms.
 * pgh_config_check runs it; call it again after changing destination. PGH_ECONFIG, one line. */
PGH_API int pgh_config_check_webhook(const pgh_config *cfg, pgh_error *err);

/* Looks up an environment variable; returns NULL when unset. */
typedef const char *(*pgh_env_lookup_fn)(const char *name, void *payload);

/*
 * Parse and validate YAML text. name is used in messages ("config.yaml:12: ..."). env may be
 * NULL, in which case any ${VAR} is an error. On success *out is a new config (free with
 * pgh_config_free); on failure *out is NULL and err holds one line saying what is wrong
 * and what to do (PGH_ECONFIG).
 */
PGH_API int pgh_config_parse(pgh_config **out, const char *yaml, size_t len, const char *name,
                     pgh_env_lookup_fn env, void *env_payload, pgh_error *err);

/* Read a file and parse it as above; a missing or unreadable file is PGH_ECONFIG. */
PGH_API int pgh_config_load(pgh_config **out, const char *path, pgh_env_lookup_fn env, void *env_payload,
                    pgh_error *err);

PGH_API void pgh_config_free(pgh_config *cfg);

/*
 * A configuration built in code, without YAML: pgh_config_new gives every default and nothing
 * else; set fields (strings through pgh_config_set_string, which copies), add tables, then
 * pgh_config_check runs the checks the YAML front end runs across keys (required connections,
 * at least one table, the slot name, defaulted from the publication). Table names may hold
 * patterns as in the file; a NULL source_schema takes it from "schema.table" (else public),
 * NULL destination names are the source's. Free with pgh_config_free.
 */
PGH_API int pgh_config_new(pgh_config **out, pgh_error *err);
PGH_API int pgh_config_set_string(char **field, const char *value, pgh_error *err);
PGH_API int pgh_config_add_table(pgh_config *cfg, const char *source_schema,
                                 const char *source_table, const char *dest_schema,
                                 const char *dest_table, pgh_error *err);
/* Remove every table added so far (a list given later replaces the file's). */
PGH_API void pgh_config_clear_tables(pgh_config *cfg);
/* Exclude "schema.table" (patterns allowed; no schema: public) from what the tables select, as
 * exclude_tables does in the file; clear removes every exclusion. */
PGH_API int pgh_config_add_exclude(pgh_config *cfg, const char *name, pgh_error *err);
PGH_API void pgh_config_clear_excludes(pgh_config *cfg);
PGH_API int pgh_config_check(pgh_config *cfg, pgh_error *err);

/* A deep copy (free with pgh_config_free). */
PGH_API int pgh_config_dup(pgh_config **out, const pgh_config *cfg, pgh_error *err);

/* The connection string for replication sessions: source_connection_for_replication when set,
 * else source_connection (replication=database is added when connecting). Borrowed. */
PGH_API const char *pgh_config_replication_conninfo(const pgh_config *cfg);

PGH_END_DECLS

#endif
