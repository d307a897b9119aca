/* One batch of JSON lines and its body: see webhook_batch.h. */
#include "webhook_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch's buffer grown past this is released after it is sent. */
#define BATCH_KEEP_BYTES ((size_t)4 << 20)
/* No single body beyond this: a receiver would refuse it anyway. */
#define BATCH_MAX_BYTES ((size_t)1 << 30)

void pgh_webhook__batch_init(pgh_webhook_batch *b)
{
    memset(b, 0, sizeof(*b));
    pgh_buf_init(&b->events, BATCH_MAX_BYTES);
}

void pgh_webhook__batch_dispose(pgh_webhook_batch *b)
{
    if (b != NULL)
        pgh_buf_dispose(&b->events);
}

void pgh_webhook__batch_clear(pgh_webhook_batch *b)
{
    if (b->events.cap > BATCH_KEEP_BYTES) {
        pgh_buf_dispose(&b->events);
        pgh_buf_init(&b->events, BATCH_MAX_BYTES);
    }
    pgh_buf_reset(&b->events);
    b->count = 0;
    memset(&b->first, 0, sizeof(b->first));
    memset(&b->last, 0, sizeof(b->last));
    b->started_ms = 0;
    b->last_ms = 0;
}

int pgh_webhook__batch_add(pgh_webhook_batch *b, const char *line, size_t len,
                           const pgh_json_line_pos *pos, int64_t now_ms, pgh_error *err)
{
    if (b->count > 0)
        pgh_buf_putc(&b->events, ',');
    pgh_buf_append(&b->events, line, len);
    if (pgh_buf_failed(&b->events))
        return pgh_error_set(err, PGH_ENOMEM,
                             "webhook: out of memory building a batch (%zu lines, %zu bytes)",
                             b->count, b->events.len);
    if (b->count == 0) {
        b->first = *pos;
        b->started_ms = now_ms;
    }
    b->last = *pos;
    b->last_ms = now_ms;
    b->count++;
    return 0;
}

static int pos_text(char *out, size_t outlen, const pgh_json_line_pos *p)
{
    return snprintf(out, outlen, PGH_LSN_FMT ":" PGH_LSN_FMT ":%llu", PGH_LSN_ARGS(p->commit_lsn),
                    PGH_LSN_ARGS(p->lsn), (unsigned long long)p->seq);
}

void pgh_webhook__batch_key(char *out, const char *slot, const pgh_json_line_pos *first,
                            const pgh_json_line_pos *last)
{
    char a[64], z[64];
    pos_text(a, sizeof(a), first);
    pos_text(z, sizeof(z), last);
    snprintf(out, PGH_WEBHOOK_KEY_MAX, "%.63s:%s-%s", slot, a, z);
}

static void put_pos(pgh_buf *b, const char *name, const pgh_json_line_pos *p)
{
    pgh_buf_printf(
        b, ",\"%s\":{\"commit_lsn\":\"" PGH_LSN_FMT "\",\"lsn\":\"" PGH_LSN_FMT "\",\"seq\":%llu}",
        name, PGH_LSN_ARGS(p->commit_lsn), PGH_LSN_ARGS(p->lsn), (unsigned long long)p->seq);
}

int pgh_webhook__batch_body(char **out, size_t *len, const pgh_webhook_batch *b, const char *key,
                            const char *slot, pgh_error *err)
{
    *out = NULL;
    *len = 0;
    pgh_buf body;
    pgh_buf_init(&body, BATCH_MAX_BYTES);
    /* key and slot hold no character JSON would escape: LSNs, digits, [a-z0-9_] */
    pgh_buf_printf(&body, "{\"batch_id\":\"%s\",\"slot\":\"%s\"", key, slot);
    put_pos(&body, "first", &b->first);
    put_pos(&body, "last", &b->last);
    pgh_buf_printf(&body, ",\"count\":%zu,\"events\":[", b->count);
    if (b->events.len > 0)
        pgh_buf_append(&body, b->events.data, b->events.len);
    pgh_buf_puts(&body, "]}");
    if (pgh_buf_failed(&body)) {
        pgh_buf_dispose(&body);
        return pgh_error_set(err, PGH_ENOMEM, "webhook: out of memory building batch %s", key);
    }
    *len = body.len;
    *out = pgh_buf_take(&body);
    return 0;
}

int pgh_webhook__pos_cmp(const pgh_json_line_pos *a, const pgh_json_line_pos *b)
{
    if (a->commit_lsn != b->commit_lsn)
        return a->commit_lsn < b->commit_lsn ? -1 : 1;
    if (a->lsn != b->lsn)
        return a->lsn < b->lsn ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return 0;
}
