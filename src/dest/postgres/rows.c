/*
 * The INSERT statements of the PostgreSQL apply that carry whole rows: one row or many, plain
 * or as an upsert by the primary key (see apply_internal.h).
 */
#include "apply_internal.h"

void pgh_apply__put_conflict(pgh_buf *sql, const apply_rel *r, bool update)
{
    pgh_buf_puts(sql, " ON CONFLICT (");
    for (int k = 0; k < r->nkeys; k++)
        pgh_buf_printf(sql, "%s%s", k ? ", " : "", r->col_ident[r->key_att[k]]);
    int set = 0;
    for (int i = 0; update && i < r->ncols; i++) {
        bool key = false;
        for (int k = 0; k < r->nkeys; k++)
            key = key || r->key_att[k] == i;
        if (!key)
            pgh_buf_printf(sql, "%s%s = EXCLUDED.%s", set++ ? ", " : ") DO UPDATE SET ",
                           r->col_ident[i], r->col_ident[i]);
    }
    if (set == 0) /* every column is a key column: the row at the key is the row */
        pgh_buf_puts(sql, ") DO NOTHING");
}

int pgh_apply__put_insert_rows(pgh_buf *sql, apply_params *p, const apply_rel *r,
                               const pgh_tuple *rows, size_t n, pgh_error *err)
{
    pgh_buf_printf(sql, "INSERT INTO %s (", r->dst->qualified);
    for (int i = 0; i < r->ncols; i++)
        pgh_buf_printf(sql, "%s%s", i ? ", " : "", r->col_ident[i]);
    /* OVERRIDING SYSTEM VALUE: identity columns take the source's values too. */
    pgh_buf_puts(sql, ") OVERRIDING SYSTEM VALUE VALUES ");
    for (size_t j = 0; j < n; j++) {
        const pgh_tuple *tup = &rows[j];
        if (tup->natts != r->ncols)
            return pgh_error_set(err, PGH_EPROTO, "%s.%s: a row of %d columns for a table of %d",
                                 r->dst->schema, r->dst->name, (int)tup->natts, r->ncols);
        for (int i = 0; i < tup->natts; i++) {
            if (tup->values[i].kind == PGH_VALUE_UNCHANGED)
                return pgh_error_set(err, PGH_EPROTO, "%s.%s: INSERT with an unchanged TOAST value",
                                     r->dst->schema, r->dst->name);
            int num = pgh_apply__params_add(p, &tup->values[i], i);
            if (num == 0)
                return pgh_error_set(err, PGH_ENOMEM, "out of memory");
            pgh_buf_printf(sql, "%s$%d", i ? ", " : (j ? ", (" : "("), num);
        }
        pgh_buf_putc(sql, ')');
    }
    return 0;
}
