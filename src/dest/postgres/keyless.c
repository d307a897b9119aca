/*
 * Statements for tables without a key (REPLICA IDENTITY FULL, no key on either side;
 * docs/sync.md): the stream's old row is whole, and a change finds its row by every column,
 * one row of possibly several identical ones, as a native subscriber does:
 *
 *   UPDATE ONLY t SET ... WHERE ctid = (SELECT ctid FROM ONLY t
 *       WHERE a = $1::type AND b IS NOT DISTINCT FROM NULL AND ... LIMIT 1)
 *
 * which is `IS NOT DISTINCT FROM` on every column, spelled with `=` for the values that are
 * not NULL so that an index the destination table may have on a column can serve the lookup
 * (IS NOT DISTINCT FROM $1 cannot use one): one statement shape per pattern of NULLs, each
 * prepared once. Parameters are cast to the
 * destination column's type (an untyped one compared with a composite would be read as an
 * anonymous record).
 */
#include "apply_internal.h"

static bool is_whole(const pgh_value *v)
{
    return v->kind == PGH_VALUE_NULL || v->kind == PGH_VALUE_TEXT || v->kind == PGH_VALUE_BINARY;
}

int pgh_apply__put_keyless_match(pgh_buf *sql, apply_params *p, const apply_rel *r,
                                 const pgh_tuple *old, pgh_error *err)
{
    if (old == NULL || old->natts != r->ncols)
        return pgh_error_set(err, PGH_EPROTO,
                             "%s.%s has no key, and a change carries no whole old row (the "
                             "source table's REPLICA IDENTITY must stay FULL)",
                             r->dst->schema, r->dst->name);
    pgh_buf_printf(sql, "ctid = (SELECT ctid FROM ONLY %s WHERE ", r->dst->qualified);
    if (old->natts == 0) /* a table without columns still has rows */
        pgh_buf_puts(sql, "true");
    for (int i = 0; i < old->natts; i++) {
        if (!is_whole(&old->values[i]))
            return pgh_error_set(err, PGH_EPROTO,
                                 "%s.%s has no key, and a change's old row lacks column %s "
                                 "(the source table's REPLICA IDENTITY must stay FULL)",
                                 r->dst->schema, r->dst->name, r->col_ident[i]);
        /* not "IS NULL": of a composite value it is also true when every field is NULL */
        if (old->values[i].kind == PGH_VALUE_NULL) {
            pgh_buf_printf(sql, "%s%s IS NOT DISTINCT FROM NULL", i ? " AND " : "",
                           r->col_ident[i]);
            continue;
        }
        int n = pgh_apply__params_add(p, &old->values[i], i);
        if (n == 0)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_buf_printf(sql, "%s%s = $%d::%s", i ? " AND " : "", r->col_ident[i], n,
                       r->dst->cols[r->dst_col[i]].cast_name);
    }
    pgh_buf_puts(sql, " LIMIT 1)");
    return 0;
}

int pgh_apply__put_keyless_set(int *nset, pgh_buf *sql, apply_params *p, const apply_rel *r,
                               const pgh_tuple *newtup, const pgh_tuple *old, pgh_error *err)
{
    *nset = 0;
    for (int i = 0; i < newtup->natts; i++) {
        const pgh_value *v = &newtup->values[i];
        /* An unchanged TOAST value is the old row's, which FULL sends whole. */
        if (v->kind == PGH_VALUE_UNCHANGED && old && i < old->natts && is_whole(&old->values[i]))
            v = &old->values[i];
        if (!is_whole(v))
            return pgh_error_set(err, PGH_EPROTO,
                                 "%s.%s has no key, and an UPDATE carries no value for column "
                                 "%s",
                                 r->dst->schema, r->dst->name, r->col_ident[i]);
        int n = pgh_apply__params_add(p, v, i);
        if (n == 0)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_buf_printf(sql, "%s%s = $%d", (*nset)++ ? ", " : " SET ", r->col_ident[i], n);
    }
    return 0;
}
