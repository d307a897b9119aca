/*
 * dest/nats/bus_encode.c - pgh_change, pgh_table_rows and positions into bus messages (the
 * format is in bus.h and docs/nats.md). Built with jansson; one object per message.
 */
#include <stdlib.h>
#include <string.h>

#include "bus.h"

static const char HEX[] = "0123456789abcdef";

/* {key: hex of data} */
static json_t *hex_value(const char *key, const char *data, size_t len)
{
    char *hex = malloc(len * 2 + 1);
    if (hex == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = HEX[(unsigned char)data[i] >> 4];
        hex[2 * i + 1] = HEX[(unsigned char)data[i] & 15];
    }
    hex[len * 2] = '\0';
    json_t *o = json_pack("{s:s}", key, hex);
    free(hex);
    return o;
}

static json_t *value_json(const pgh_value *v)
{
    switch (v->kind) {
    case PGH_VALUE_NULL:
        return json_null();
    case PGH_VALUE_UNCHANGED:
        return json_false();
    case PGH_VALUE_TEXT: {
        /* NUL bytes survive (decoded with JSON_ALLOW_NUL); invalid UTF-8 goes hex. */
        json_t *s = json_stringn(v->data ? v->data : "", v->len);
        return s != NULL ? s : hex_value("x", v->data, v->len);
    }
    default:
        return hex_value("b", v->data, v->len);
    }
}

static json_t *tuple_json(const pgh_tuple *t)
{
    json_t *a = json_array();
    for (uint16_t i = 0; a != NULL && i < t->natts; i++) {
        if (json_array_append_new(a, value_json(&t->values[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *rel_json(const pgh_relation *r)
{
    json_t *cols = json_array();
    for (uint16_t i = 0; cols != NULL && i < r->ncols; i++) {
        const pgh_column *c = &r->cols[i];
        if (json_array_append_new(cols, json_pack("{s:s,s:I,s:i,s:b}", "n", c->name, "t",
                                                  (json_int_t)c->type_oid, "m", (int)c->typmod,
                                                  "k", c->is_key)) != 0) {
            json_decref(cols);
            return NULL;
        }
    }
    char ident[2] = {r->replident, '\0'};
    return json_pack("{s:I,s:s,s:s,s:s,s:o}", "oid", (json_int_t)r->oid, "schema",
                     r->nspname ? r->nspname : "", "name", r->relname ? r->relname : "",
                     "replident", ident, "cols", cols);
}

/* A new message object of kind k with txn and i, and w: the WAL start of the change (0 for
 * messages that are not one). */
static json_t *head(pgh_bus_id id, pgh_bus_kind k, pgh_lsn wal)
{
    char kind[2] = {(char)k, '\0'};
    return json_pack("{s:s,s:I,s:I,s:I}", "k", kind, "txn", (json_int_t)id.txn, "i",
                     (json_int_t)id.idx, "w", (json_int_t)wal);
}

/* The text of o (consumed); NULL when o is NULL or out of memory. */
static char *finish(json_t *o)
{
    if (o == NULL)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return s;
}

/* Set key to v (consumed) on o; on failure o is released and NULL returned. */
static json_t *with(json_t *o, const char *key, json_t *v)
{
    if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0) {
        json_decref(o);
        json_decref(v);
        return NULL;
    }
    return o;
}

char *pgh_bus__begin(pgh_bus_id id, const pgh_change *begin, const pgh_relation *rel)
{
    json_t *o = head(id, PGH_BUS_BEGIN, begin->wal_start);
    o = with(o, "xid", json_integer(begin->u.begin.xid));
    o = with(o, "time", json_integer(begin->u.begin.commit_time));
    if (rel != NULL)
        o = with(o, "rel", rel_json(rel));
    return finish(o);
}

char *pgh_bus__relation(pgh_bus_id id, const pgh_relation *rel)
{
    return finish(with(head(id, PGH_BUS_RELATION, 0), "rel", rel_json(rel)));
}

char *pgh_bus__change(pgh_bus_id id, const pgh_change *c)
{
    json_t *o = head(id, (pgh_bus_kind)c->kind, c->wal_start);
    char old_kind[2] = {0, 0};
    const pgh_tuple *oldtup = NULL, *newtup = NULL;
    if (c->kind == PGH_CHANGE_INSERT) {
        newtup = &c->u.insert.newtup;
    } else if (c->kind == PGH_CHANGE_UPDATE) {
        old_kind[0] = c->u.update.old_kind;
        oldtup = old_kind[0] ? &c->u.update.oldtup : NULL;
        newtup = &c->u.update.newtup;
    } else {
        old_kind[0] = c->u.del.old_kind;
        oldtup = &c->u.del.oldtup;
    }
    o = with(o, "old_kind", json_string(old_kind));
    if (oldtup != NULL)
        o = with(o, "old", tuple_json(oldtup));
    if (newtup != NULL)
        o = with(o, "new", tuple_json(newtup));
    return finish(o);
}

char *pgh_bus__truncate(pgh_bus_id id, const pgh_change *t)
{
    return finish(with(head(id, PGH_BUS_TRUNCATE, t->wal_start), "options",
                       json_integer(t->u.truncate.options)));
}

char *pgh_bus__message(pgh_bus_id id, const pgh_change *m)
{
    pgh_value v = {PGH_VALUE_TEXT, m->u.message.len, m->u.message.content};
    json_t *o = head(id, PGH_BUS_MESSAGE, m->wal_start);
    o = with(o, "flags", json_integer(m->u.message.flags));
    o = with(o, "lsn", json_integer((json_int_t)m->u.message.lsn));
    o = with(o, "prefix", json_string(m->u.message.prefix ? m->u.message.prefix : ""));
    o = with(o, "content", value_json(&v));
    return finish(o);
}

char *pgh_bus__table(pgh_bus_id id, pgh_bus_kind kind, const pgh_table_rows *t,
                     const pgh_tuple *rows, size_t n)
{
    json_t *o = head(id, kind, 0);
    o = with(o, "rel", rel_json(t->table));
    o = with(o, "lsn", json_integer((json_int_t)t->lsn));
    o = with(o, "chunk", json_integer((json_int_t)t->chunk));
    o = with(o, "first_row", json_integer(t->first_row));
    o = with(o, "reload", json_boolean(t->reload));
    if (kind == PGH_BUS_TABLE_ROWS) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < n; i++) {
            if (json_array_append_new(a, tuple_json(&rows[i])) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        o = with(o, "rows", a);
    }
    return finish(o);
}

char *pgh_bus__commit(pgh_bus_id id, const pgh_change *commit, const char *phase)
{
    json_t *o = head(id, PGH_BUS_COMMIT, commit->wal_start);
    o = with(o, "flags", json_integer(commit->u.commit.flags));
    o = with(o, "commit_lsn", json_integer((json_int_t)commit->u.commit.commit_lsn));
    o = with(o, "end_lsn", json_integer((json_int_t)commit->u.commit.end_lsn));
    o = with(o, "time", json_integer(commit->u.commit.commit_time));
    o = with(o, "phase", json_string(phase ? phase : ""));
    return finish(o);
}

char *pgh_bus__position(const pgh_position *pos)
{
    pgh_bus_id none = {0, 0};
    json_t *o = head(none, PGH_BUS_POSITION, 0);
    o = with(o, "lsn", json_integer((json_int_t)pos->lsn));
    o = with(o, "checkpoint", json_integer((json_int_t)pos->checkpoint));
    o = with(o, "phase", json_stringn(pos->phase, strnlen(pos->phase, sizeof(pos->phase))));
    o = with(o, "resume", pos->resume ? json_string(pos->resume) : json_null());
    return finish(o);
}

char *pgh_bus__encode_msg(const pgh_bus_msg *m)
{
    switch (m->kind) {
    case PGH_BUS_BEGIN:
        return pgh_bus__begin(m->id, &m->change, m->has_rel ? &m->rel : NULL);
    case PGH_BUS_RELATION:
        return pgh_bus__relation(m->id, &m->rel);
    case PGH_BUS_INSERT:
    case PGH_BUS_UPDATE:
    case PGH_BUS_DELETE:
        return pgh_bus__change(m->id, &m->change);
    case PGH_BUS_TRUNCATE:
        return pgh_bus__truncate(m->id, &m->change);
    case PGH_BUS_MESSAGE:
        return pgh_bus__message(m->id, &m->change);
    case PGH_BUS_TABLE_BEGIN:
    case PGH_BUS_TABLE_ROWS:
    case PGH_BUS_TABLE_END:
        return pgh_bus__table(m->id, m->kind, &m->table, m->rows, m->nrows);
    case PGH_BUS_COMMIT:
        return pgh_bus__commit(m->id, &m->change, m->pos.phase);
    case PGH_BUS_POSITION:
        return pgh_bus__position(&m->pos);
    }
    return NULL;
}
