/*
 * The multi-row UPDATE of merged changes (merge.h): rows that set the same columns, matched
 * on the key through a VALUES list. Every value is cast to its destination column's type, so
 * the VALUES columns are typed whatever the rows hold, and the key comparison can use the
 * key's index (a nested loop of index probes for the few hundred rows of a run).
 */
#include "merge.h"

static bool is_key(const apply_rel *r, int att)
{
    for (int k = 0; k < r->nkeys; k++)
        if (r->key_att[k] == att)
            return true;
    return false;
}

/* Is column i of the run's rows set (not a key, not unchanged TOAST)? */
static bool is_set(const apply_rel *r, const pgh_tuple *first, int i)
{
    return !is_key(r, i) && first->values[i].kind != PGH_VALUE_UNCHANGED;
}

/* "(" $n::type, ... ")" for the key and set columns of tup. */
static int put_values_row(pgh_buf *sql, apply_params *p, const apply_rel *r, const pgh_tuple *first,
                          const pgh_tuple *tup, pgh_error *err)
{
    if (tup->natts != r->ncols)
        return pgh_error_set(err, PGH_EPROTO, "%s.%s: a row of %d columns for a table of %d",
                             r->dst->schema, r->dst->name, (int)tup->natts, r->ncols);
    int out = 0;
    for (int i = 0; i < tup->natts; i++) {
        if (!is_key(r, i) && !is_set(r, first, i))
            continue;
        int num = pgh_apply__params_add(p, &tup->values[i], i);
        if (num == 0)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_buf_printf(sql, "%s$%d::%s", out++ ? ", " : "(", num,
                       r->dst->cols[r->dst_col[i]].cast_name);
    }
    pgh_buf_putc(sql, ')');
    return 0;
}

int pgh_apply__put_update_rows(int *nset, pgh_buf *sql, apply_params *p, const apply_rel *r,
                               const pgh_tuple *rows, size_t n, pgh_error *err)
{
    *nset = 0;
    pgh_buf_printf(sql, "UPDATE %s AS t", r->dst->qualified);
    for (int i = 0, c = 0; i < r->ncols; i++) {
        if (is_key(r, i) || is_set(r, &rows[0], i))
            c++;
        if (is_set(r, &rows[0], i))
            pgh_buf_printf(sql, "%s%s = v.c%d", (*nset)++ ? ", " : " SET ", r->col_ident[i], c - 1);
    }
    if (*nset == 0)
        return 0;
    pgh_buf_puts(sql, " FROM (VALUES ");
    for (size_t j = 0; j < n; j++) {
        if (j)
            pgh_buf_puts(sql, ", ");
        int rc = put_values_row(sql, p, r, &rows[0], &rows[j], err);
        if (rc != 0)
            return rc;
    }
    pgh_buf_puts(sql, ") AS v(");
    for (int i = 0, c = 0; i < r->ncols; i++)
        if (is_key(r, i) || is_set(r, &rows[0], i))
            pgh_buf_printf(sql, "%sc%d", c ? ", " : "", c), c++;
    pgh_buf_puts(sql, ") WHERE ");
    for (int k = 0; k < r->nkeys; k++) {
        int c = 0; /* the key column's place among the VALUES columns */
        for (int i = 0; i < r->key_att[k]; i++)
            c += is_key(r, i) || is_set(r, &rows[0], i);
        pgh_buf_printf(sql, "%st.%s = v.c%d", k ? " AND " : "", r->col_ident[r->key_att[k]], c);
    }
    return 0;
}
