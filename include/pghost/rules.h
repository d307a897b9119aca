/*
 * pghost/rules.h - transforms and filters between the source and the destination.
 *
 * A rules file (pg_flo's format, accepted verbatim, plus pghost's additions; docs/rules.md)
 * maps table names to lists of rules: transforms (mask, regex, hash, set_null), filters
 * (eq, ne, gt, lt, gte, lte, contains, in, is_null, combined with any/all), renames and
 * column include/exclude lists. pgh_rules_load reads and checks the file on its own (syntax,
 * rule types, regular expressions); pgh_pipeline_run checks it against the source tables'
 * columns before anything is written, and then applies it to existing rows and changes alike,
 * before the destination sees them. Every error is one PGH_ECONFIG line "rules.yml:12: ...".
 *
 * A pgh_rules value is immutable once loaded: one may serve several pipeline runs, one at a
 * time or at once. It holds the hash salt: never log it.
 */
#ifndef PGHOST_RULES_H
#define PGHOST_RULES_H

#include <stddef.h>

#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

typedef struct pgh_rules pgh_rules;

typedef struct pgh_rules_opts {
    int version;            /* PGH_RULES_OPTS_VERSION */
    const char *hash_salt;  /* borrowed for the call (copied): the secret the hash transform
                               keys HMAC-SHA256 with; NULL when the file has no hash rule */
} pgh_rules_opts;

#define PGH_RULES_OPTS_VERSION 1
#define PGH_RULES_OPTS_INIT {PGH_RULES_OPTS_VERSION, NULL}

/*
 * Read the rules file at path. *out is the rules (free with pgh_rules_free), or NULL on
 * failure: PGH_ECONFIG for a file that cannot be read or is not a valid rules file (one line
 * naming the file and line), PGH_ENOMEM.
 */
PGH_API int pgh_rules_load(pgh_rules **out, const char *path, const pgh_rules_opts *opts,
                           pgh_error *err);

/* The same from text in memory (len bytes); name stands for the file in messages. */
PGH_API int pgh_rules_parse(pgh_rules **out, const char *name, const char *text, size_t len,
                            const pgh_rules_opts *opts, pgh_error *err);

/* Release the rules (NULL is fine). Not while a pipeline run uses them. */
PGH_API void pgh_rules_free(pgh_rules *rules);

PGH_END_DECLS

#endif
