/*
 * Naming a statement the destination refused: the table, and for a value it cannot take (a
 * bigint above 2^31 into integer, a string longer than varchar(n)) the column and the row's
 * key, so that a DBA can find the row on the source (see apply_internal.h).
 *
 * Cheap on the way out: each queued statement keeps a borrowed pointer to its prepared
 * statement, whose parameters' columns were recorded once at prepare time, and at most
 * PIPE_KEY_MAX bytes of its key values. The work of naming is done only on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"

void pgh_apply__key_keep(pipe_key *out, const apply_rel *r, const pgh_tuple *tup)
{
    out->len = 0;
    out->nkeys = 0;
    out->cut = false;
    for (int k = 0; k < r->nkeys && !out->cut; k++) {
        int att = r->key_att[k];
        if (att < 0 || att >= tup->natts)
            return;
        const pgh_value *v = &tup->values[att];
        size_t room = sizeof(out->text) - out->len - 1; /* keep the NUL */
        size_t n = v->kind == PGH_VALUE_TEXT ? v->len : 0;
        if (n > room) {
            n = room;
            out->cut = true;
        }
        if (n > 0)
            memcpy(out->text + out->len, v->data, n);
        out->len = (uint8_t)(out->len + n);
        out->text[out->len++] = '\0';
        out->nkeys++;
        if (out->len >= sizeof(out->text) - 1)
            out->cut = out->cut || k + 1 < r->nkeys;
    }
}

/* A quoted identifier ("a""b") as the name it quotes (a"b). */
static void put_unquoted(pgh_buf *b, const char *ident)
{
    size_t n = strlen(ident);
    if (n < 2 || ident[0] != '"' || ident[n - 1] != '"') {
        pgh_buf_puts(b, ident);
        return;
    }
    for (size_t i = 1; i + 1 < n; i++) {
        pgh_buf_putc(b, ident[i]);
        if (ident[i] == '"' && ident[i + 1] == '"')
            i++;
    }
}

/* One key value, control characters shown as '?', so that the message stays one line. */
static void put_value(pgh_buf *b, const char *v)
{
    for (; *v; v++)
        pgh_buf_putc(b, (unsigned char)*v < 0x20 ? '?' : *v);
}

/* "key id = 2", "key (a, b) = (1, x)" */
static void put_key(pgh_buf *b, const apply_rel *r, const pipe_key *key)
{
    if (key->nkeys == 0 || key->nkeys > r->nkeys)
        return;
    bool many = r->nkeys > 1;
    pgh_buf_puts(b, many ? ", key (" : ", key ");
    for (int k = 0; k < r->nkeys; k++) {
        if (k)
            pgh_buf_puts(b, ", ");
        put_unquoted(b, r->col_ident[r->key_att[k]]);
    }
    pgh_buf_puts(b, many ? ") = (" : " = ");
    const char *v = key->text;
    for (int k = 0; k < key->nkeys; k++) {
        if (k)
            pgh_buf_puts(b, ", ");
        put_value(b, v);
        v += strlen(v) + 1;
    }
    if (key->cut)
        pgh_buf_puts(b, "...");
    if (many)
        pgh_buf_putc(b, ')');
}

/* The $n the server's context names ("unnamed portal parameter $3 = '...'"), 0 when none. */
static int failed_param(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *context = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
    if (state == NULL || strncmp(state, "22", 2) != 0 || context == NULL)
        return 0;
    const char *at = strstr(context, "parameter $");
    long n = at ? strtol(at + strlen("parameter $"), NULL, 10) : 0;
    return n > 0 && n < 65536 ? (int)n : 0;
}

void pgh_apply__name_failure(pgh_error *err, const apply_rel *r, const apply_stmt *stmt,
                             const pipe_key *key, uint32_t merged, const pipe_key *many,
                             const PGresult *res)
{
    pgh_buf b;
    pgh_buf_init(&b, 1024);
    pgh_buf_printf(&b, "%s.%s", r->dst->schema, r->dst->name);
    int param = failed_param(res);
    int att = stmt && param > 0 && param <= stmt->nparams ? stmt->atts[param - 1] : -1;
    if (att >= 0 && att < r->ncols) {
        pgh_buf_puts(&b, ", column ");
        put_unquoted(&b, r->col_ident[att]);
    }
    /* a merged statement's rows each take the same number of parameters, in row order */
    if ((key == NULL || key->nkeys == 0) && merged > 1 && many && att >= 0 &&
        stmt->nparams % (int)merged == 0)
        key = &many[(param - 1) / (stmt->nparams / (int)merged)];
    if (key != NULL)
        put_key(&b, r, key);
    if ((key == NULL || key->nkeys == 0) && merged > 1)
        pgh_buf_printf(&b, ", one of %u merged rows", (unsigned)merged);
    pgh_error_prefix(err, "%s", pgh_buf_failed(&b) ? r->dst->name : pgh_buf_str(&b));
    pgh_buf_dispose(&b);
}
