/*
 * tests/fuzz/fuzz_pgoutput.c - libFuzzer target for the pgoutput decoder and the replication
 * framing parser.
 *
 * Input: a sequence of messages, each preceded by its length as a big-endian uint16 (a length
 * past the end of the input takes the rest). All messages go through one decoder, so Relation
 * messages fill the cache that later Insert/Update/Delete/Truncate messages look up. Each message
 * is copied into a buffer of exactly its size, so ASan sees any read past its end.
 *
 * Any bytes must give either a change whose every borrowed pointer lies inside the message (or
 * in the relation cache) or PGH_EPROTO with a message: never a crash, a leak or another code.
 * Violations abort(), which the fuzzer and the corpus run in ctest report as crashes.
 *
 * Seeds (tests/fuzz/corpus/pgoutput): the captured streams in tests/fixtures/pgoutput, whole and
 * one message at a time behind the Relation messages it needs, in this framing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool cond)
{
    if (!cond)
        abort();
}

/* p[0..len) lies inside buf[0..n). */
static bool inside(const void *p, size_t len, const uint8_t *buf, size_t n)
{
    const uint8_t *q = p;
    return q != NULL && q >= buf && len <= n && (size_t)(q - buf) <= n - len;
}

/* A borrowed string: NUL-terminated inside the message. */
static bool cstr_inside(const char *s, const uint8_t *buf, size_t n)
{
    return inside(s, 1, buf, n) && memchr(s, '\0', n - (size_t)((const uint8_t *)s - buf)) != NULL;
}

static void check_relation(const pgh_decoder *dec, const pgh_relation *rel)
{
    require(rel != NULL && pgh_decoder_relation(dec, rel->oid) == rel);
    require(rel->nspname != NULL && rel->relname != NULL);
    require(rel->ncols == 0 || rel->cols != NULL);
    for (uint16_t i = 0; i < rel->ncols; i++)
        require(rel->cols[i].name != NULL);
    (void)strlen(rel->relname); /* ASan: the owned copy is terminated */
}

static void check_tuple(const pgh_tuple *t, const pgh_relation *rel, const uint8_t *buf, size_t n)
{
    require(t->natts == rel->ncols);
    for (uint16_t i = 0; i < t->natts; i++) {
        const pgh_value *v = &t->values[i];
        switch (v->kind) {
        case PGH_VALUE_NULL:
        case PGH_VALUE_UNCHANGED:
            require(v->len == 0 && v->data == NULL);
            break;
        case PGH_VALUE_TEXT:
        case PGH_VALUE_BINARY:
            require(inside(v->data, v->len, buf, n));
            break;
        default:
            abort();
        }
    }
}

static void check_change(const pgh_decoder *dec, const pgh_change *c, const uint8_t *buf, size_t n)
{
    require(n > 0 && c->kind == (pgh_change_kind)buf[0]);
    switch (c->kind) {
    case PGH_CHANGE_BEGIN:
    case PGH_CHANGE_COMMIT:
        break;
    case PGH_CHANGE_ORIGIN:
        require(cstr_inside(c->u.origin.name, buf, n));
        break;
    case PGH_CHANGE_RELATION:
        check_relation(dec, c->u.relation.rel);
        break;
    case PGH_CHANGE_TYPE:
        require(cstr_inside(c->u.type.nspname, buf, n) && cstr_inside(c->u.type.typname, buf, n));
        break;
    case PGH_CHANGE_INSERT:
        check_relation(dec, c->u.insert.rel);
        check_tuple(&c->u.insert.newtup, c->u.insert.rel, buf, n);
        break;
    case PGH_CHANGE_UPDATE:
        check_relation(dec, c->u.update.rel);
        if (c->u.update.old_kind != 0)
            check_tuple(&c->u.update.oldtup, c->u.update.rel, buf, n);
        else
            require(c->u.update.oldtup.natts == 0);
        check_tuple(&c->u.update.newtup, c->u.update.rel, buf, n);
        break;
    case PGH_CHANGE_DELETE:
        require(c->u.del.old_kind == 'K' || c->u.del.old_kind == 'O');
        check_relation(dec, c->u.del.rel);
        check_tuple(&c->u.del.oldtup, c->u.del.rel, buf, n);
        break;
    case PGH_CHANGE_TRUNCATE:
        require(c->u.truncate.nrels <= n / 4);
        for (uint32_t i = 0; i < c->u.truncate.nrels; i++)
            check_relation(dec, c->u.truncate.rels[i]);
        break;
    case PGH_CHANGE_MESSAGE:
        require(cstr_inside(c->u.message.prefix, buf, n));
        require(inside(c->u.message.content, c->u.message.len, buf, n));
        break;
    default:
        abort();
    }
}

static void check_repl(const uint8_t *buf, size_t n)
{
    pgh_repl_msg msg;
    pgh_error err = {0};
    int rc = pgh_repl_msg_parse(&msg, buf, n, &err);
    if (rc != 0) {
        require(rc == PGH_EPROTO && err.code == rc && err.message[0] != '\0');
        return;
    }
    require(msg.kind == 'w' || msg.kind == 'k');
    if (msg.kind == 'w')
        require(msg.payload_len == n - 25 && inside(msg.payload, msg.payload_len, buf, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgh_decoder *dec = NULL;
    if (pgh_decoder_new(&dec) != 0)
        abort();
    size_t off = 0;
    while (size - off >= 2) {
        size_t n = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (n > size - off)
            n = size - off;
        uint8_t *msg = malloc(n ? n : 1);
        require(msg != NULL);
        if (n)
            memcpy(msg, data + off, n);
        off += n;

        pgh_change c;
        pgh_error err = {0};
        int rc = pgh_decoder_feed(dec, &c, msg, n, 42, &err);
        if (rc == 0) {
            require(err.code == 0 && c.wal_start == 42);
            check_change(dec, &c, msg, n);
        } else {
            require(rc == PGH_EPROTO && err.code == rc && err.lsn == 42);
            require(strncmp(err.message, "pgoutput: ", 10) == 0);
            require(c.kind == 0);
        }
        check_repl(msg, n);
        free(msg);
    }
    pgh_decoder_free(dec);
    return 0;
}
