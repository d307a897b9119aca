/*
 * Tables without a key (REPLICA IDENTITY FULL, no primary key nor unique index on NOT NULL
 * columns; docs/sync.md): their rows may repeat and have no key ranges, so each is compared
 * whole. The count of rows and the two sums of the per-row hash (hash.c) do not depend on the
 * rows' order, and twins add up: equal numbers mean equal multisets of rows, but for a hash
 * collision (2^-64). Nothing says which rows differ.
 */
#include <string.h>

#include "pghost/log.h"
#include "verify/internal.h"

static int compare(verify_table *t, PGconn *src, PGconn *dst, pgh_error *err)
{
    verify_range all = {NULL, NULL};
    verify_sum s, d;
    int rc = pgh_verify__sums(&s, &d, src, dst, t, &all, 1, err);
    if (rc != 0)
        return rc;
    atomic_store(&t->src_rows, s.rows);
    atomic_store(&t->dst_rows, d.rows);
    t->differs = s.rows != d.rows || strcmp(s.mixed, d.mixed) != 0 || strcmp(s.plain, d.plain) != 0;
    atomic_store(&t->chunks_differing, t->differs ? 1 : 0);
    VERIFY_COUNT(t, ranges, 1);
    VERIFY_COUNT(t, rows, s.rows);
    return 0;
}

static int compare_all(int *differing, verify_table *tables, int ntables, bool only_differing,
                       PGconn *src, PGconn *dst, pgh_error *err)
{
    *differing = 0;
    for (int i = 0; i < ntables; i++) {
        verify_table *t = &tables[i];
        if (!t->keyless || (only_differing && !t->differs))
            continue;
        int rc = compare(t, src, dst, err);
        if (rc != 0) {
            pgh_error_prefix(err, "verifying %s.%s", t->src->schema, t->src->name);
            return rc;
        }
        *differing += t->differs;
    }
    return 0;
}

int pgh_verify__whole(bool *rechecked, verify_table *tables, int ntables, PGconn *src, PGconn *dst,
                      const pgh_config *cfg, double seconds, pgh_error *err)
{
    int differing = 0;
    int rc = compare_all(&differing, tables, ntables, false, src, dst, err);
    bool active = false;
    if (rc == 0 && differing > 0 && seconds > 0)
        rc = pgh_verify__slot_active(&active, src, cfg->slot_name, err);
    double deadline = pgh_verify__now_s() + seconds;
    while (rc == 0 && differing > 0 && active && pgh_verify__now_s() < deadline) {
        bool caught_up = false;
        rc = pgh_verify__wait_caught_up(&caught_up, src, dst, cfg, deadline, err);
        if (rc != 0 || !caught_up)
            break;
        rc = compare_all(&differing, tables, ntables, true, src, dst, err);
        *rechecked = true;
    }
    if (rc == 0 && differing > 0)
        pgh_log(PGH_LOG_INFO, "verify", "%d table%s without a key differ as a whole%s", differing,
                differing == 1 ? "" : "s", active ? " after the destination caught up" : "");
    return rc;
}
