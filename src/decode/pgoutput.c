/*
 * decode/pgoutput.c - pgoutput protocol version 1 payloads -> pgh_change.
 *
 * Each XLogData payload holds exactly one message, named by its first byte:
 *
 *   B  Begin     int64 final_lsn, int64 commit_time, int32 xid
 *   C  Commit    int8 flags, int64 commit_lsn, int64 end_lsn, int64 commit_time
 *   O  Origin    int64 origin_lsn, string name
 *   R  Relation  int32 oid, string nspname, string relname, int8 replident, int16 ncols,
 *                ncols x (int8 flags, string name, int32 type_oid, int32 typmod)
 *   Y  Type      int32 oid, string nspname, string typname
 *   I  Insert    int32 oid, 'N' tuple
 *   U  Update    int32 oid, ['K' tuple | 'O' tuple], 'N' tuple
 *   D  Delete    int32 oid, 'K' tuple | 'O' tuple
 *   T  Truncate  int32 nrels, int8 options, nrels x int32 oid
 *   M  Message   int8 flags, int64 lsn, string prefix, int32 len, len bytes
 *
 *   tuple        int16 natts, natts x ('n' | 'u' | 't' int32 len, bytes | 'b' int32 len, bytes)
 *
 * Integers are big-endian, strings NUL-terminated. A message must be consumed exactly: bytes left
 * over are as much an error as bytes missing. Values, Type/Origin names and Message contents are
 * borrowed from the input buffer (strings are NUL-terminated inside it, checked by the reader);
 * relations are copied into the cache, since they outlive the message that announced them.
 *
 * Steady state allocates nothing: tuple value arrays are sized when a relation is cached (so a
 * tuple never needs more than exists), Truncate's relation array grows only past its largest use.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/reader.h"
#include "decode/relcache.h"
#include "decode/decode.h"

struct pgh_decoder {
    pgh_relcache rels;              /* owned: every relation announced so far */
    pgh_value *oldvals;             /* owned scratch, vals_cap entries: old tuple of U/D */
    pgh_value *newvals;             /* owned scratch, vals_cap entries: new tuple of I/U */
    size_t vals_cap;                /* >= ncols of every cached relation */
    const pgh_relation **truncrels; /* owned scratch, trunc_cap entries: Truncate's relations */
    size_t trunc_cap;
    struct colspan *cols; /* owned scratch, cols_cap entries: the Relation message being read */
    size_t cols_cap;
};

/* One column of a Relation message, names borrowed from the message until copied. */
struct colspan {
    const char *name; /* borrowed: NUL-terminated inside the message */
    size_t name_len;
    uint32_t type_oid;
    int32_t typmod;
    bool is_key;
};

/* The message being decoded: its cursor and what an error report needs. */
typedef struct msg {
    pgh_reader r;
    const char *what; /* "Insert", ...: names the message in errors */
    pgh_lsn wal_start;
    pgh_error *err; /* may be NULL */
} msg;

#define REL_FLAG_KEY 1
/* Smallest encoding of one Relation column (flags, empty name, type, typmod) and of one Truncate
 * OID: counts the rest of the message cannot hold are refused before anything is sized by them. */
#define REL_COLUMN_MIN_BYTES 10
#define TRUNCATE_OID_BYTES 4

/* ---- errors ---- */

static int fail(msg *m, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(msg *m, int code, const char *fmt, ...)
{
    if (m->err == NULL || m->err->code != 0)
        return code;
    char text[PGH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    pgh_error_set(m->err, code, "pgoutput: %s", text);
    m->err->lsn = m->wal_start;
    return code;
}

/* End of a message: the reader must have neither run out nor have bytes left. */
static int finish(msg *m)
{
    if (pgh_rd_failed(&m->r))
        return fail(m, PGH_EPROTO, "truncated %s message at byte %zu (length %zu)", m->what,
                    m->r.pos, m->r.len);
    if (pgh_rd_remaining(&m->r) != 0)
        return fail(m, PGH_EPROTO, "%zu bytes of trailing data after %s message at byte %zu",
                    pgh_rd_remaining(&m->r), m->what, m->r.pos);
    return 0;
}

/* A marker byte read at byte at was not one of those expected. */
static int bad_marker(msg *m, uint8_t got, size_t at, const char *expected)
{
    if (pgh_rd_failed(&m->r))
        return finish(m);
    return fail(m, PGH_EPROTO, "%s message: expected %s at byte %zu, got 0x%02x", m->what, expected,
                at, got);
}

static int no_memory(msg *m, const char *for_what)
{
    return fail(m, PGH_ENOMEM, "out of memory decoding %s message (%s)", m->what, for_what);
}

/* ---- scratch space ---- */

static size_t grown_cap(size_t cap, size_t need)
{
    size_t n = cap ? cap : 16;
    while (n < need)
        n *= 2;
    return n;
}

static int reserve_vals(pgh_decoder *dec, size_t need)
{
    if (need <= dec->vals_cap)
        return 0;
    size_t cap = grown_cap(dec->vals_cap, need);
    pgh_value *o = realloc(dec->oldvals, cap * sizeof(*o));
    if (o == NULL)
        return PGH_ENOMEM;
    dec->oldvals = o;
    pgh_value *n = realloc(dec->newvals, cap * sizeof(*n));
    if (n == NULL)
        return PGH_ENOMEM;
    dec->newvals = n;
    dec->vals_cap = cap;
    return 0;
}

static int reserve_cols(pgh_decoder *dec, size_t need)
{
    if (need <= dec->cols_cap)
        return 0;
    size_t cap = grown_cap(dec->cols_cap, need);
    struct colspan *c = realloc(dec->cols, cap * sizeof(*c));
    if (c == NULL)
        return PGH_ENOMEM;
    dec->cols = c;
    dec->cols_cap = cap;
    return 0;
}

static int reserve_truncrels(pgh_decoder *dec, size_t need)
{
    if (need <= dec->trunc_cap)
        return 0;
    size_t cap = grown_cap(dec->trunc_cap, need);
    const pgh_relation **t = realloc(dec->truncrels, cap * sizeof(*t));
    if (t == NULL)
        return PGH_ENOMEM;
    dec->truncrels = t;
    dec->trunc_cap = cap;
    return 0;
}

/* ---- pieces shared by several messages ---- */

/* The cached relation for oid (read at byte at), or an error. */
static int find_rel(const pgh_relation **out, pgh_decoder *dec, msg *m, uint32_t oid, size_t at)
{
    *out = pgh_decode__relcache_get(&dec->rels, oid);
    if (*out == NULL)
        return fail(m, PGH_EPROTO,
                    "relation OID %u was not announced by a Relation message (%s message at "
                    "byte %zu)",
                    oid, m->what, at);
    return 0;
}

/* Read the relation OID that starts Insert, Update and Delete. */
static int read_rel(const pgh_relation **out, pgh_decoder *dec, msg *m)
{
    size_t at = m->r.pos;
    uint32_t oid = pgh_rd_u32(&m->r);
    if (pgh_rd_failed(&m->r))
        return finish(m);
    return find_rel(out, dec, m, oid, at);
}

/* Read one TupleData of rel into vals (rel->ncols entries, reserved when rel was cached). */
static int read_tuple(pgh_tuple *out, msg *m, const pgh_relation *rel, pgh_value *vals)
{
    pgh_reader *r = &m->r;
    size_t at = r->pos;
    int16_t natts = pgh_rd_i16(r);
    if (pgh_rd_failed(r))
        return finish(m);
    if (natts != (int32_t)rel->ncols)
        return fail(m, PGH_EPROTO,
                    "%s message has %d columns for relation %s.%s (OID %u) at byte %zu, but its "
                    "Relation message announced %u",
                    m->what, natts, rel->nspname, rel->relname, rel->oid, at, rel->ncols);
    for (uint16_t i = 0; i < rel->ncols; i++) {
        pgh_value *v = &vals[i];
        at = r->pos;
        uint8_t kind = pgh_rd_u8(r);
        switch (kind) {
        case PGH_VALUE_NULL:
        case PGH_VALUE_UNCHANGED:
            *v = (pgh_value){.kind = (pgh_value_kind)kind, .len = 0, .data = NULL};
            break;
        case PGH_VALUE_TEXT:
        case PGH_VALUE_BINARY: {
            int32_t len = pgh_rd_i32(r);
            if (len < 0 && !pgh_rd_failed(r))
                return fail(m, PGH_EPROTO,
                            "%s message: column %u of %s.%s has negative length %d at byte %zu",
                            m->what, i + 1, rel->nspname, rel->relname, len, at + 1);
            const uint8_t *data = pgh_rd_bytes(r, (size_t)len);
            *v = (pgh_value){
                .kind = (pgh_value_kind)kind, .len = (uint32_t)len, .data = (const char *)data};
            break;
        }
        default:
            return bad_marker(m, kind, at, "a column kind ('n', 'u', 't' or 'b')");
        }
        if (pgh_rd_failed(r))
            return finish(m);
    }
    out->natts = rel->ncols;
    out->values = vals;
    return 0;
}

/* ---- one reader per message type ---- */

static int read_begin(msg *m, pgh_change *out)
{
    out->u.begin.final_lsn = pgh_rd_u64(&m->r);
    out->u.begin.commit_time = pgh_rd_i64(&m->r);
    out->u.begin.xid = pgh_rd_u32(&m->r);
    return finish(m);
}

static int read_commit(msg *m, pgh_change *out)
{
    out->u.commit.flags = pgh_rd_u8(&m->r);
    out->u.commit.commit_lsn = pgh_rd_u64(&m->r);
    out->u.commit.end_lsn = pgh_rd_u64(&m->r);
    out->u.commit.commit_time = pgh_rd_i64(&m->r);
    return finish(m);
}

static int read_origin(msg *m, pgh_change *out)
{
    out->u.origin.origin_lsn = pgh_rd_u64(&m->r);
    out->u.origin.name = pgh_rd_cstr(&m->r, NULL);
    return finish(m);
}

static int read_type(msg *m, pgh_change *out)
{
    out->u.type.oid = pgh_rd_u32(&m->r);
    out->u.type.nspname = pgh_rd_cstr(&m->r, NULL);
    out->u.type.typname = pgh_rd_cstr(&m->r, NULL);
    return finish(m);
}

static int read_message(msg *m, pgh_change *out)
{
    pgh_reader *r = &m->r;
    out->u.message.flags = pgh_rd_u8(r);
    out->u.message.lsn = pgh_rd_u64(r);
    out->u.message.prefix = pgh_rd_cstr(r, NULL);
    size_t at = r->pos;
    int32_t len = pgh_rd_i32(r);
    if (len < 0 && !pgh_rd_failed(r))
        return fail(m, PGH_EPROTO, "Message message has negative content length %d at byte %zu",
                    len, at);
    out->u.message.len = (uint32_t)len;
    out->u.message.content = (const char *)pgh_rd_bytes(r, (size_t)len);
    return finish(m);
}

static bool valid_replident(uint8_t c)
{
    return c == 'd' || c == 'n' || c == 'f' || c == 'i';
}

/* Copy the n bytes of s and a NUL to *strs, advancing it; returns the copy. */
static char *put_str(char **strs, const char *s, size_t n)
{
    char *dst = *strs;
    memcpy(dst, s, n);
    dst[n] = '\0';
    *strs += n + 1;
    return dst;
}

/* Build the cache entry from the validated message fields and the columns in dec->cols. */
static int cache_relation(const pgh_relation **out, pgh_decoder *dec, msg *m, uint32_t oid,
                          const char *nsp, size_t nsp_len, const char *relname, size_t rel_len,
                          char replident, uint16_t ncols, size_t str_bytes)
{
    char *strs = NULL;
    if (reserve_vals(dec, ncols) != 0)
        return no_memory(m, "tuple scratch");
    pgh_relation *rel = pgh_decode__relation_alloc(ncols, str_bytes, &strs);
    if (rel == NULL)
        return no_memory(m, "relation");
    rel->oid = oid;
    rel->nspname = put_str(&strs, nsp, nsp_len);
    rel->relname = put_str(&strs, relname, rel_len);
    rel->replident = replident;
    for (uint16_t i = 0; i < ncols; i++) {
        const struct colspan *c = &dec->cols[i];
        rel->cols[i] = (pgh_column){.name = put_str(&strs, c->name, c->name_len),
                                    .type_oid = c->type_oid,
                                    .typmod = c->typmod,
                                    .is_key = c->is_key};
    }
    /* The replaced entry (if any) is freed here: changes decoded from earlier messages may
     * point at it, but they were only valid until this call. */
    if (pgh_decode__relcache_put(&dec->rels, rel) != 0)
        return no_memory(m, "relation cache");
    *out = rel;
    return 0;
}

static int read_relation(pgh_decoder *dec, msg *m, pgh_change *out)
{
    pgh_reader *r = &m->r;
    size_t nsp_len = 0;
    size_t rel_len = 0;
    uint32_t oid = pgh_rd_u32(r);
    const char *nsp = pgh_rd_cstr(r, &nsp_len);
    const char *relname = pgh_rd_cstr(r, &rel_len);
    size_t at = r->pos;
    uint8_t replident = pgh_rd_u8(r);
    int16_t ncols = pgh_rd_i16(r);
    if (pgh_rd_failed(r))
        return finish(m);
    if (!valid_replident(replident))
        return bad_marker(m, replident, at, "a replica identity ('d', 'n', 'f' or 'i')");
    if (ncols < 0)
        return fail(m, PGH_EPROTO, "Relation message for %s.%s has negative column count %d", nsp,
                    relname, ncols);
    if ((size_t)ncols > pgh_rd_remaining(r) / REL_COLUMN_MIN_BYTES)
        return fail(m, PGH_EPROTO,
                    "truncated Relation message: %d columns announced at byte %zu, %zu bytes "
                    "follow (length %zu)",
                    ncols, at + 1, pgh_rd_remaining(r), r->len);
    if (reserve_cols(dec, (size_t)ncols) != 0)
        return no_memory(m, "columns");
    /* Bounded by the message length, so the sum cannot overflow. */
    size_t str_bytes = nsp_len + 1 + rel_len + 1;
    for (int i = 0; i < ncols; i++) {
        struct colspan *c = &dec->cols[i];
        c->is_key = (pgh_rd_u8(r) & REL_FLAG_KEY) != 0;
        c->name = pgh_rd_cstr(r, &c->name_len);
        c->type_oid = pgh_rd_u32(r);
        c->typmod = pgh_rd_i32(r);
        str_bytes += c->name_len + 1;
    }
    int rc = finish(m);
    if (rc != 0)
        return rc;
    return cache_relation(&out->u.relation.rel, dec, m, oid, nsp, nsp_len, relname, rel_len,
                          (char)replident, (uint16_t)ncols, str_bytes);
}

static int read_insert(pgh_decoder *dec, msg *m, pgh_change *out)
{
    const pgh_relation *rel = NULL;
    int rc = read_rel(&rel, dec, m);
    if (rc != 0)
        return rc;
    out->u.insert.rel = rel;
    size_t at = m->r.pos;
    uint8_t marker = pgh_rd_u8(&m->r);
    if (marker != 'N')
        return bad_marker(m, marker, at, "'N'");
    rc = read_tuple(&out->u.insert.newtup, m, rel, dec->newvals);
    return rc != 0 ? rc : finish(m);
}

/* A replica identity value the new row sends as unchanged ('u': TOASTed out of line, so not
 * sent) equals the old row's, which PostgreSQL sends whenever the identity holds such a value:
 * it is taken from there, so that every consumer sees the new row's key whole. */
static void key_from_old(pgh_decoder *dec, const pgh_relation *rel, const pgh_change *c)
{
    int n = c->u.update.newtup.natts < c->u.update.oldtup.natts ? c->u.update.newtup.natts
                                                                  : c->u.update.oldtup.natts;
    for (int i = 0; i < n && i < rel->ncols; i++) {
        pgh_value_kind old = dec->oldvals[i].kind;
        if (rel->cols[i].is_key && dec->newvals[i].kind == PGH_VALUE_UNCHANGED &&
            (old == PGH_VALUE_TEXT || old == PGH_VALUE_BINARY))
            dec->newvals[i] = dec->oldvals[i];
    }
}

static int read_update(pgh_decoder *dec, msg *m, pgh_change *out)
{
    const pgh_relation *rel = NULL;
    int rc = read_rel(&rel, dec, m);
    if (rc != 0)
        return rc;
    out->u.update.rel = rel;
    size_t at = m->r.pos;
    uint8_t marker = pgh_rd_u8(&m->r);
    if (marker == 'K' || marker == 'O') {
        out->u.update.old_kind = (char)marker;
        rc = read_tuple(&out->u.update.oldtup, m, rel, dec->oldvals);
        if (rc != 0)
            return rc;
        at = m->r.pos;
        marker = pgh_rd_u8(&m->r);
    }
    if (marker != 'N')
        return bad_marker(m, marker, at, "'K', 'O' or 'N'");
    rc = read_tuple(&out->u.update.newtup, m, rel, dec->newvals);
    if (rc == 0 && out->u.update.old_kind)
        key_from_old(dec, rel, out);
    return rc != 0 ? rc : finish(m);
}

static int read_delete(pgh_decoder *dec, msg *m, pgh_change *out)
{
    const pgh_relation *rel = NULL;
    int rc = read_rel(&rel, dec, m);
    if (rc != 0)
        return rc;
    out->u.del.rel = rel;
    size_t at = m->r.pos;
    uint8_t marker = pgh_rd_u8(&m->r);
    if (marker != 'K' && marker != 'O')
        return bad_marker(m, marker, at, "'K' or 'O'");
    out->u.del.old_kind = (char)marker;
    rc = read_tuple(&out->u.del.oldtup, m, rel, dec->oldvals);
    return rc != 0 ? rc : finish(m);
}

static int read_truncate(pgh_decoder *dec, msg *m, pgh_change *out)
{
    pgh_reader *r = &m->r;
    size_t at = r->pos;
    int32_t nrels = pgh_rd_i32(r);
    out->u.truncate.options = pgh_rd_u8(r);
    if (pgh_rd_failed(r))
        return finish(m);
    if (nrels < 0)
        return fail(m, PGH_EPROTO, "Truncate message has negative relation count %d at byte %zu",
                    nrels, at);
    if ((size_t)nrels > pgh_rd_remaining(r) / TRUNCATE_OID_BYTES)
        return fail(m, PGH_EPROTO,
                    "truncated Truncate message: %d relations announced at byte %zu, %zu bytes "
                    "follow (length %zu)",
                    nrels, at, pgh_rd_remaining(r), r->len);
    if (reserve_truncrels(dec, (size_t)nrels) != 0)
        return no_memory(m, "relation list");
    for (int32_t i = 0; i < nrels; i++) {
        at = r->pos;
        int rc = find_rel(&dec->truncrels[i], dec, m, pgh_rd_u32(r), at);
        if (rc != 0)
            return rc;
    }
    out->u.truncate.nrels = (uint32_t)nrels;
    out->u.truncate.rels = dec->truncrels;
    return finish(m);
}

/* ---- public API ---- */

int pgh_decoder_new(pgh_decoder **out)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL)
        return PGH_ENOMEM;
    pgh_decode__relcache_init(&(*out)->rels);
    return 0;
}

void pgh_decoder_free(pgh_decoder *dec)
{
    if (dec == NULL)
        return;
    pgh_decode__relcache_dispose(&dec->rels);
    free(dec->oldvals);
    free(dec->newvals);
    free(dec->truncrels);
    free(dec->cols);
    free(dec);
}

static const char *message_name(uint8_t type)
{
    switch (type) {
    case PGH_CHANGE_BEGIN:
        return "Begin";
    case PGH_CHANGE_COMMIT:
        return "Commit";
    case PGH_CHANGE_ORIGIN:
        return "Origin";
    case PGH_CHANGE_RELATION:
        return "Relation";
    case PGH_CHANGE_TYPE:
        return "Type";
    case PGH_CHANGE_INSERT:
        return "Insert";
    case PGH_CHANGE_UPDATE:
        return "Update";
    case PGH_CHANGE_DELETE:
        return "Delete";
    case PGH_CHANGE_TRUNCATE:
        return "Truncate";
    case PGH_CHANGE_MESSAGE:
        return "Message";
    default:
        return NULL;
    }
}

int pgh_decoder_feed(pgh_decoder *dec, pgh_change *out, const uint8_t *buf, size_t len,
                     pgh_lsn wal_start, pgh_error *err)
{
    msg m = {.what = "pgoutput", .wal_start = wal_start, .err = err};
    memset(out, 0, sizeof(*out));
    out->wal_start = wal_start;
    pgh_rd_init(&m.r, buf, len);
    if (len == 0)
        return fail(&m, PGH_EPROTO, "empty message");
    uint8_t type = pgh_rd_u8(&m.r);
    const char *name = message_name(type);
    m.what = name != NULL ? name : "unknown";
    out->kind = (pgh_change_kind)type;

    int rc;
    switch (type) {
    case PGH_CHANGE_BEGIN:
        rc = read_begin(&m, out);
        break;
    case PGH_CHANGE_COMMIT:
        rc = read_commit(&m, out);
        break;
    case PGH_CHANGE_ORIGIN:
        rc = read_origin(&m, out);
        break;
    case PGH_CHANGE_RELATION:
        rc = read_relation(dec, &m, out);
        break;
    case PGH_CHANGE_TYPE:
        rc = read_type(&m, out);
        break;
    case PGH_CHANGE_INSERT:
        rc = read_insert(dec, &m, out);
        break;
    case PGH_CHANGE_UPDATE:
        rc = read_update(dec, &m, out);
        break;
    case PGH_CHANGE_DELETE:
        rc = read_delete(dec, &m, out);
        break;
    case PGH_CHANGE_TRUNCATE:
        rc = read_truncate(dec, &m, out);
        break;
    case PGH_CHANGE_MESSAGE:
        rc = read_message(&m, out);
        break;
    default:
        rc = fail(&m, PGH_EPROTO, "unknown message type 0x%02x at byte 0 (length %zu)", type, len);
        break;
    }
    if (rc != 0) {
        /* Leave nothing half-decoded for a caller that ignores the return code. */
        memset(out, 0, sizeof(*out));
        out->wal_start = wal_start;
    }
    return rc;
}

const pgh_relation *pgh_decoder_relation(const pgh_decoder *dec, uint32_t oid)
{
    return pgh_decode__relcache_get(&dec->rels, oid);
}
