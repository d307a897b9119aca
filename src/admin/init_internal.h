/*
 * Private to pghost init and teardown (src/core): the publication pghost manages.
 *
 * A publication created by init carries the comment PGH_INIT_PUBLICATION_MARK + slot name;
 * that comment is the record of ownership: teardown drops a publication only when it carries
 * the mark of its own slot, and init extends only such a publication.
 */
#ifndef PGH_INIT_INTERNAL_H
#define PGH_INIT_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/init.h"

/* The publication as it is on the source. */
typedef struct init_pub {
    bool exists;
    bool ours;     /* carries the mark of cfg's slot */
    bool all_ops;  /* publishes insert, update, delete and truncate */
    bool via_root; /* publish_via_partition_root */
} init_pub;

int pgh_init__pub_read(init_pub *out, PGconn *src, const pgh_config *cfg, pgh_error *err);

/* Bring the publication to cover cfg->tables (resolved), or say what to run when it is not
 * pghost's (PGH_EPRECOND, nothing written). any_partitioned: a selected table is partitioned,
 * so publish_via_partition_root is required. */
int pgh_init__pub_ensure(pgh_init_result *out, PGconn *src, const pgh_config *cfg,
                         bool any_partitioned, pgh_error *err);

/* Drop the publication when it carries cfg's slot mark; *dropped says whether it did, *kept
 * whether one is there that is not pghost's (left alone). */
int pgh_init__pub_drop(bool *dropped, bool *kept, PGconn *src, const pgh_config *cfg,
                       pgh_error *err);

#endif
