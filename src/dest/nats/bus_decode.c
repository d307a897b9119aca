/*
 * dest/nats/bus_decode.c - bus messages back into what the destination interface takes (the
 * format is in bus.h). The input comes from the network: every field is checked, and a message
 * that does not match the format is PGH_EPROTO naming the field.
 */
#include <stdlib.h>
#include <string.h>

#include "bus.h"

#define BAD(err, ...) pgh_error_set(err, PGH_EPROTO, "bus message: " __VA_ARGS__)

/* A non-negative integer field; *ok false when missing or of another type. */
static uint64_t get_u64(json_t *o, const char *key, bool *ok)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        *ok = false;
        return 0;
    }
    return (uint64_t)json_integer_value(v);
}

static int64_t get_i64(json_t *o, const char *key, bool *ok)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) {
        *ok = false;
        return 0;
    }
    return (int64_t)json_integer_value(v);
}

static const char *get_str(json_t *o, const char *key, bool *ok)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        *ok = false;
        return "";
    }
    return json_string_value(v);
}

static int unhex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Keep a decoded buffer with the message. */
static int keep_blob(pgh_bus_msg *m, char *blob)
{
    char **b = realloc(m->blobs, (m->nblobs + 1) * sizeof(*b));
    if (b == NULL) {
        free(blob);
        return PGH_ENOMEM;
    }
    m->blobs = b;
    m->blobs[m->nblobs++] = blob;
    return 0;
}

static int hex_value(pgh_bus_msg *m, json_t *hex, pgh_value *out, pgh_error *err)
{
    if (!json_is_string(hex))
        return BAD(err, "a value's hex is not a string");
    const char *s = json_string_value(hex);
    size_t n = json_string_length(hex);
    if (n % 2 != 0 || n / 2 > UINT32_MAX)
        return BAD(err, "a value's hex has an odd length");
    char *data = malloc(n / 2 + 1);
    if (data == NULL || keep_blob(m, data) != 0)
        return pgh_error_set(err, PGH_ENOMEM, "bus message: out of memory");
    for (size_t i = 0; i < n / 2; i++) {
        int hi = unhex((unsigned char)s[2 * i]), lo = unhex((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return BAD(err, "a value's hex holds a character other than 0-9a-f");
        data[i] = (char)(hi << 4 | lo);
    }
    out->data = data;
    out->len = (uint32_t)(n / 2);
    return 0;
}

static int value_of(pgh_bus_msg *m, json_t *v, pgh_value *out, pgh_error *err)
{
    *out = (pgh_value){PGH_VALUE_NULL, 0, NULL};
    if (json_is_null(v))
        return 0;
    if (json_is_false(v)) {
        out->kind = PGH_VALUE_UNCHANGED;
        return 0;
    }
    if (json_is_string(v)) {
        if (json_string_length(v) > UINT32_MAX)
            return BAD(err, "a value is too long");
        *out = (pgh_value){PGH_VALUE_TEXT, (uint32_t)json_string_length(v), json_string_value(v)};
        return 0;
    }
    if (json_is_object(v) && json_object_size(v) == 1) {
        json_t *x = json_object_get(v, "x"), *b = json_object_get(v, "b");
        out->kind = b != NULL ? PGH_VALUE_BINARY : PGH_VALUE_TEXT;
        if (x != NULL || b != NULL)
            return hex_value(m, x != NULL ? x : b, out, err);
    }
    return BAD(err, "a value is neither null, false, a string, {\"x\": hex} nor {\"b\": hex}");
}

/* The values of a message are in one array (m->values), sized before any tuple is read:
 * *next is where the next tuple's go. */
static int tuple_of(pgh_bus_msg *m, json_t *a, pgh_tuple *out, size_t *next, pgh_error *err)
{
    if (!json_is_array(a) || json_array_size(a) > UINT16_MAX)
        return BAD(err, "a tuple is not an array of at most 65535 values");
    size_t n = json_array_size(a);
    pgh_value *vals = m->values + *next;
    for (size_t i = 0; i < n; i++) {
        int rc = value_of(m, json_array_get(a, i), &vals[i], err);
        if (rc != 0)
            return rc;
    }
    *out = (pgh_tuple){(uint16_t)n, vals};
    *next += n;
    return 0;
}

/* Size m->values for n values in all. */
static int reserve_values(pgh_bus_msg *m, size_t n, pgh_error *err)
{
    m->values = calloc(n + 1, sizeof(*m->values));
    if (m->values == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "bus message: out of memory");
    return 0;
}

static size_t array_len(json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

static int rel_of(pgh_relation *r, json_t *o, pgh_error *err)
{
    bool ok = json_is_object(o);
    json_t *cols = json_object_get(o, "cols");
    const char *ident = get_str(o, "replident", &ok);
    uint64_t oid = get_u64(o, "oid", &ok);
    if (!ok || strlen(ident) != 1 || !json_is_array(cols) || json_array_size(cols) > UINT16_MAX ||
        oid > UINT32_MAX)
        return BAD(err, "rel is not {oid, schema, name, replident, cols}");
    r->oid = (uint32_t)oid;
    r->replident = ident[0];
    r->nspname = strdup(get_str(o, "schema", &ok));
    r->relname = strdup(get_str(o, "name", &ok));
    r->ncols = (uint16_t)json_array_size(cols);
    r->cols = calloc(r->ncols + 1u, sizeof(*r->cols));
    if (r->nspname == NULL || r->relname == NULL || r->cols == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "bus message: out of memory");
    for (uint16_t i = 0; i < r->ncols; i++) {
        json_t *c = json_array_get(cols, i);
        json_t *key = json_object_get(c, "k");
        uint64_t type = get_u64(c, "t", &ok);
        int64_t typmod = get_i64(c, "m", &ok);
        r->cols[i].name = strdup(get_str(c, "n", &ok));
        if (r->cols[i].name == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "bus message: out of memory");
        if (!ok || !json_is_boolean(key) || type > UINT32_MAX || typmod < INT32_MIN ||
            typmod > INT32_MAX)
            return BAD(err, "column %u of rel is not {n, t, m, k}", (unsigned)i);
        r->cols[i].type_oid = (uint32_t)type;
        r->cols[i].typmod = (int32_t)typmod;
        r->cols[i].is_key = json_is_true(key);
    }
    if (!ok)
        return BAD(err, "rel's schema or name is not a string");
    return 0;
}

static int decode_change(pgh_bus_msg *m, json_t *o, pgh_error *err)
{
    bool ok = true;
    const char *old_kind = get_str(o, "old_kind", &ok);
    json_t *old = json_object_get(o, "old"), *new = json_object_get(o, "new");
    bool want_old = m->kind == PGH_BUS_DELETE || (m->kind == PGH_BUS_UPDATE && old_kind[0]);
    bool want_new = m->kind != PGH_BUS_DELETE;
    if (!ok || strlen(old_kind) > 1 || (old_kind[0] && !strchr("KO", old_kind[0])) ||
        (want_old != (old != NULL)) || (want_new != (new != NULL)) ||
        (m->kind == PGH_BUS_DELETE && !old_kind[0]))
        return BAD(err, "a '%c' change has the wrong old_kind, old or new", (char)m->kind);
    int rc = reserve_values(m, array_len(old) + array_len(new), err);
    size_t next = 0;
    pgh_change *c = &m->change;
    c->kind = (pgh_change_kind)m->kind;
    if (m->kind == PGH_BUS_INSERT)
        return rc != 0 ? rc : tuple_of(m, new, &c->u.insert.newtup, &next, err);
    if (m->kind == PGH_BUS_DELETE) {
        c->u.del.old_kind = old_kind[0];
        return rc != 0 ? rc : tuple_of(m, old, &c->u.del.oldtup, &next, err);
    }
    c->u.update.old_kind = old_kind[0];
    if (rc == 0 && old != NULL)
        rc = tuple_of(m, old, &c->u.update.oldtup, &next, err);
    return rc != 0 ? rc : tuple_of(m, new, &c->u.update.newtup, &next, err);
}

static int decode_table(pgh_bus_msg *m, json_t *o, pgh_error *err)
{
    bool ok = true;
    pgh_table_rows *t = &m->table;
    t->lsn = get_u64(o, "lsn", &ok);
    t->chunk = get_u64(o, "chunk", &ok);
    uint64_t first = get_u64(o, "first_row", &ok);
    json_t *reload = json_object_get(o, "reload"), *rows = json_object_get(o, "rows");
    if (!ok || first > UINT32_MAX || !json_is_boolean(reload) ||
        (m->kind == PGH_BUS_TABLE_ROWS) != json_is_array(rows))
        return BAD(err, "a '%c' message lacks lsn, chunk, first_row, reload or rows",
                   (char)m->kind);
    t->first_row = (uint32_t)first;
    t->reload = json_is_true(reload);
    t->table = &m->rel;
    t->table_index = -1; /* the applier's configuration decides */
    m->has_rel = true;
    int rc = rel_of(&m->rel, json_object_get(o, "rel"), err);
    if (rc != 0 || rows == NULL)
        return rc;
    size_t total = 0;
    for (size_t i = 0; i < json_array_size(rows); i++)
        total += array_len(json_array_get(rows, i));
    m->nrows = json_array_size(rows);
    m->rows = calloc(m->nrows + 1, sizeof(*m->rows));
    if (m->rows == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "bus message: out of memory");
    rc = reserve_values(m, total, err);
    size_t next = 0;
    for (size_t i = 0; rc == 0 && i < m->nrows; i++)
        rc = tuple_of(m, json_array_get(rows, i), &m->rows[i], &next, err);
    return rc;
}

static int decode_message(pgh_bus_msg *m, json_t *o, pgh_error *err)
{
    bool ok = true;
    pgh_change *c = &m->change;
    uint64_t flags = get_u64(o, "flags", &ok);
    c->u.message.lsn = get_u64(o, "lsn", &ok);
    c->u.message.prefix = get_str(o, "prefix", &ok);
    if (!ok || flags > 255)
        return BAD(err, "an 'M' message lacks flags, lsn or prefix");
    c->u.message.flags = (uint8_t)flags;
    int rc = reserve_values(m, 1, err);
    if (rc == 0)
        rc = value_of(m, json_object_get(o, "content"), &m->values[0], err);
    if (rc == 0 && m->values[0].kind != PGH_VALUE_TEXT)
        rc = BAD(err, "an 'M' message's content is not text");
    c->u.message.len = m->values[0].len;
    c->u.message.content = m->values[0].data ? m->values[0].data : "";
    return rc;
}

static int decode_commit(pgh_bus_msg *m, json_t *o, pgh_error *err)
{
    bool ok = true;
    pgh_change *c = &m->change;
    uint64_t flags = get_u64(o, "flags", &ok);
    c->u.commit.commit_lsn = get_u64(o, "commit_lsn", &ok);
    c->u.commit.end_lsn = get_u64(o, "end_lsn", &ok);
    c->u.commit.commit_time = get_i64(o, "time", &ok);
    c->u.commit.flags = (uint8_t)flags;
    const char *phase = get_str(o, "phase", &ok);
    if (!ok || flags > 255 || strlen(phase) >= sizeof(m->pos.phase))
        return BAD(err, "a 'C' message lacks flags, commit_lsn, end_lsn, time or phase");
    snprintf(m->pos.phase, sizeof(m->pos.phase), "%s", phase);
    return 0;
}

static int decode_position(pgh_bus_msg *m, json_t *o, pgh_error *err)
{
    bool ok = true;
    m->pos.lsn = get_u64(o, "lsn", &ok);
    m->pos.checkpoint = get_u64(o, "checkpoint", &ok);
    const char *phase = get_str(o, "phase", &ok);
    json_t *resume = json_object_get(o, "resume");
    if (!ok || strlen(phase) >= sizeof(m->pos.phase) ||
        !(json_is_null(resume) || json_is_string(resume)))
        return BAD(err, "a 'P' message lacks lsn, checkpoint, phase or resume");
    snprintf(m->pos.phase, sizeof(m->pos.phase), "%s", phase);
    m->pos.resume = json_is_string(resume) ? (char *)json_string_value(resume) : NULL;
    return 0;
}

static int decode_begin(pgh_bus_msg *m, json_t *o, pgh_error *err)
{
    bool ok = true;
    pgh_change *c = &m->change;
    uint64_t xid = get_u64(o, "xid", &ok);
    c->u.begin.commit_time = get_i64(o, "time", &ok);
    c->u.begin.final_lsn = m->id.txn;
    if (!ok || xid > UINT32_MAX)
        return BAD(err, "a 'B' message lacks xid or time");
    c->u.begin.xid = (uint32_t)xid;
    json_t *rel = json_object_get(o, "rel");
    m->has_rel = rel != NULL;
    return rel != NULL ? rel_of(&m->rel, rel, err) : 0;
}

/* The body of a message of kind m->kind. */
static int decode_body(pgh_bus_msg *m, json_t *o, pgh_error *err)
{
    bool ok = true;
    switch (m->kind) {
    case PGH_BUS_BEGIN:
        return decode_begin(m, o, err);
    case PGH_BUS_RELATION:
        m->has_rel = true;
        m->change.kind = PGH_CHANGE_RELATION;
        m->change.u.relation.rel = &m->rel;
        return rel_of(&m->rel, json_object_get(o, "rel"), err);
    case PGH_BUS_INSERT:
    case PGH_BUS_UPDATE:
    case PGH_BUS_DELETE:
        return decode_change(m, o, err);
    case PGH_BUS_TRUNCATE: {
        uint64_t options = get_u64(o, "options", &ok);
        m->change.u.truncate.options = (uint8_t)options;
        return ok && options <= 255 ? 0 : BAD(err, "a 'T' message lacks options");
    }
    case PGH_BUS_MESSAGE:
        return decode_message(m, o, err);
    case PGH_BUS_TABLE_BEGIN:
    case PGH_BUS_TABLE_ROWS:
    case PGH_BUS_TABLE_END:
        return decode_table(m, o, err);
    case PGH_BUS_COMMIT:
        return decode_commit(m, o, err);
    case PGH_BUS_POSITION:
        return decode_position(m, o, err);
    }
    return BAD(err, "unknown kind '%c'", (char)m->kind);
}

static const char KINDS[] = "BRIUDTMbreCP";

int pgh_bus__decode(pgh_bus_msg *out, const char *data, size_t len, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    out->root = json_loadb(data, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (out->root == NULL)
        return BAD(err, "not JSON (%s at byte %d)", jerr.text, jerr.position);
    bool ok = json_is_object(out->root);
    const char *kind = ok ? get_str(out->root, "k", &ok) : "";
    if (!ok || strlen(kind) != 1 || strchr(KINDS, kind[0]) == NULL)
        return BAD(err, "no known kind \"k\"");
    out->kind = (pgh_bus_kind)kind[0];
    out->id.txn = get_u64(out->root, "txn", &ok);
    uint64_t idx = get_u64(out->root, "i", &ok);
    if (!ok || idx > UINT32_MAX)
        return BAD(err, "a '%c' message lacks txn or i", kind[0]);
    out->id.idx = (uint32_t)idx;
    out->change.wal_start = get_u64(out->root, "w", &ok);
    if (!ok)
        return BAD(err, "a '%c' message lacks w", kind[0]);
    out->change.kind = (pgh_change_kind)(out->kind == PGH_BUS_TRUNCATE ? PGH_CHANGE_TRUNCATE
                                                                       : out->kind);
    return decode_body(out, out->root, err);
}

void pgh_bus__rel_dispose(pgh_relation *r)
{
    for (uint16_t i = 0; r->cols != NULL && i < r->ncols; i++)
        free(r->cols[i].name);
    free(r->cols);
    free(r->nspname);
    free(r->relname);
    memset(r, 0, sizeof(*r));
}

void pgh_bus__msg_dispose(pgh_bus_msg *m)
{
    pgh_bus__rel_dispose(&m->rel);
    for (size_t i = 0; i < m->nblobs; i++)
        free(m->blobs[i]);
    free(m->blobs);
    free(m->values);
    free(m->rows);
    json_decref(m->root);
    memset(m, 0, sizeof(*m));
}

int pgh_bus__rel_copy(pgh_relation *dst, const pgh_relation *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->oid = src->oid;
    dst->replident = src->replident;
    dst->nspname = strdup(src->nspname ? src->nspname : "");
    dst->relname = strdup(src->relname ? src->relname : "");
    dst->cols = calloc(src->ncols + 1u, sizeof(*dst->cols));
    dst->ncols = dst->cols ? src->ncols : 0;
    bool failed = !dst->nspname || !dst->relname || !dst->cols;
    for (uint16_t i = 0; !failed && i < src->ncols; i++) {
        dst->cols[i] = src->cols[i];
        dst->cols[i].name = strdup(src->cols[i].name);
        failed = dst->cols[i].name == NULL;
    }
    if (failed) {
        pgh_bus__rel_dispose(dst);
        return PGH_ENOMEM;
    }
    return 0;
}

bool pgh_bus__rel_equal(const pgh_relation *a, const pgh_relation *b)
{
    if (a->oid != b->oid || a->replident != b->replident || a->ncols != b->ncols ||
        strcmp(a->nspname, b->nspname) != 0 || strcmp(a->relname, b->relname) != 0)
        return false;
    for (uint16_t i = 0; i < a->ncols; i++) {
        const pgh_column *x = &a->cols[i], *y = &b->cols[i];
        if (strcmp(x->name, y->name) != 0 || x->type_oid != y->type_oid ||
            x->typmod != y->typmod || x->is_key != y->is_key)
            return false;
    }
    return true;
}
