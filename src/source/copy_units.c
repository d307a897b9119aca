/* The copy units of a run: see copy_units.h. */
#include "source/copy_units.h"

#include <stdlib.h>
#include <string.h>

#include "pg/partitions.h"
#include "source/preflight.h"
#include "source/publication.h"

/* Append the units of table i: itself, or each of its leaves. */
static int add_units(copy_units *u, PGconn *src, pgh_table_info *const *srcs,
                     const char *const *dests, int i, pgh_copy_format_choice format,
                     pgh_error *err)
{
    pgh_table_info **leaves = NULL;
    int nleaves = 1;
    if (srcs[i]->relkind == 'p') {
        int rc = pgh_pg_partition_leaves(&leaves, &nleaves, src, srcs[i], err);
        if (rc != 0)
            return rc;
        for (int k = 0; rc == 0 && k < nleaves; k++)
            rc = pgh_source_publication_inherit(leaves[k], srcs[i], err);
        if (rc != 0) {
            pgh_pg_leaves_free(leaves, nleaves);
            return rc;
        }
    }
    pgh_copy_table *units = realloc(u->units, (size_t)(u->n + nleaves + 1) * sizeof(*units));
    if (units != NULL)
        u->units = units;
    int *table = realloc(u->table, (size_t)(u->n + nleaves + 1) * sizeof(*table));
    if (table != NULL)
        u->table = table;
    pgh_table_info **all =
        leaves == NULL ? u->leaves
                       : realloc(u->leaves, (size_t)(u->nleaves + nleaves + 1) * sizeof(*all));
    if (all != NULL)
        u->leaves = all;
    if (units == NULL || table == NULL || (leaves != NULL && all == NULL)) {
        pgh_pg_leaves_free(leaves, nleaves);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    for (int k = 0; k < nleaves; k++) {
        const pgh_table_info *s = leaves ? leaves[k] : srcs[i];
        memset(&u->units[u->n], 0, sizeof(u->units[u->n]));
        if (pgh_copy_table_init(&u->units[u->n], s, dests[i], i,
                                pgh_copy_choose_format(s, format)) != 0) {
            for (int j = k; leaves && j < nleaves; j++)
                pgh_table_info_free(leaves[j]); /* not yet in u->leaves */
            free(leaves);
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        }
        u->table[u->n++] = i;
        if (leaves)
            u->leaves[u->nleaves++] = leaves[k];
    }
    free(leaves); /* the infos now belong to u->leaves */
    return 0;
}

int pgh_copy_units_build(copy_units *out, PGconn *src, pgh_table_info *const *srcs,
                         const char *const *dests, int n, pgh_copy_format_choice format,
                         const bool *text_only, bool keyless, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < n; i++) {
        if (pgh_source_is_keyless(srcs[i]) != keyless)
            continue;
        int rc = add_units(out, src, srcs, dests, i,
                           text_only && text_only[i] ? PGH_COPY_FORMAT_TEXT : format, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void pgh_copy_units_dispose(copy_units *u)
{
    for (int i = 0; u->units && i < u->n; i++)
        pgh_copy_table_dispose(&u->units[i]);
    free(u->units);
    free(u->table);
    pgh_pg_leaves_free(u->leaves, u->nleaves);
    memset(u, 0, sizeof(*u));
}
