/*
 * dest/webhook/webhook_batch.h - one batch of JSON lines and its body (private to
 * dest/webhook/).
 *
 * Lines are appended as they come (joined by commas: each is one JSON object), with the
 * position of each; the body wraps them (pghost/webhook.h). The idempotency key is
 *
 *   <slot>:<first commit_lsn>:<first lsn>:<first seq>-<last commit_lsn>:<last lsn>:<last seq>
 *
 * e.g. "pghost_app:0/16B37D0:0/16B3800:0-0/16B37D0:0/16B39A0:0": made of positions only, so
 * the same range of the stream gets the same key in any run.
 */
#ifndef PGH_DEST_WEBHOOK_BATCH_H
#define PGH_DEST_WEBHOOK_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dest/json/json_lines.h"
#include "pghost/error.h"
#include "util/buf.h"

#define PGH_WEBHOOK_KEY_MAX 192 /* bytes of a key, NUL included (slot names are <= 63) */

typedef struct pgh_webhook_batch {
    pgh_buf events;          /* owned: the lines so far, joined by commas */
    size_t count;            /* lines in events */
    pgh_json_line_pos first; /* the range the batch covers (its key): its first line's */
    pgh_json_line_pos last;  /* and its last line's position, unless set otherwise */
    int64_t started_ms;      /* pgh_clock_ms() when its first line came */
    int64_t last_ms;         /* pgh_clock_ms() when its last line came */
} pgh_webhook_batch;

void pgh_webhook__batch_init(pgh_webhook_batch *b);
void pgh_webhook__batch_dispose(pgh_webhook_batch *b);
/* Empty it, keeping the memory unless a large batch grew it. */
void pgh_webhook__batch_clear(pgh_webhook_batch *b);

/* Append one line at pos. PGH_ENOMEM when it does not fit. */
int pgh_webhook__batch_add(pgh_webhook_batch *b, const char *line, size_t len,
                           const pgh_json_line_pos *pos, int64_t now_ms, pgh_error *err);

/* The key of the range first..last for slot, in out (PGH_WEBHOOK_KEY_MAX bytes). */
void pgh_webhook__batch_key(char *out, const char *slot, const pgh_json_line_pos *first,
                            const pgh_json_line_pos *last);

/* *out: the body (malloc'd, *len bytes, NUL-terminated) of b under key for slot. */
int pgh_webhook__batch_body(char **out, size_t *len, const pgh_webhook_batch *b, const char *key,
                            const char *slot, pgh_error *err);

/* -1, 0 or 1 as a is before, at or after b in the stream. */
int pgh_webhook__pos_cmp(const pgh_json_line_pos *a, const pgh_json_line_pos *b);

#endif
