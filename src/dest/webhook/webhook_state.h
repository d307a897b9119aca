/*
 * dest/webhook/webhook_state.h - the webhook destination's state file (private to
 * dest/webhook/).
 *
 * The JSON-lines destination's file (dest/stdout/json_state.h: the position flush made durable,
 * so pghost status and check read it the same way) with one member more:
 *
 *   "webhook":{"acked":<pos>|null,"inflight":{"first":<pos>,"last":<pos>}|null}
 *   <pos> = {"commit_lsn":"0/16B37D0","lsn":"0/16B3800","seq":0}
 *
 * acked: the last line of the last batch that got a 2xx; inflight: the range of the batch being
 * POSTed when the file was written. Written (durably) before every POST and at every flush.
 */
#ifndef PGH_DEST_WEBHOOK_STATE_H
#define PGH_DEST_WEBHOOK_STATE_H

#include <stdbool.h>

#include "dest/json/json_lines.h"
#include "pghost/destination.h"
#include "pghost/error.h"

typedef struct pgh_webhook_marks {
    bool has_acked;
    pgh_json_line_pos acked;
    bool has_inflight;
    pgh_json_line_pos inflight_first, inflight_last;
} pgh_webhook_marks;

/* Replace the file at path with pos and marks for slot, durably (json_state.h's steps). */
int pgh_webhook__state_write(const char *path, const char *slot, const pgh_position *pos,
                             const pgh_webhook_marks *marks, pgh_error *err);

/* Read it: *found false (and nothing set) when there is no file; marks zeroed when the file has
 * no "webhook" member (written by the JSON-lines destination). out->resume malloc'd or NULL.
 * PGH_ECONFIG, one line, for a file that is not pghost's or is of another slot. */
int pgh_webhook__state_read(pgh_position *out, pgh_webhook_marks *marks, bool *found,
                            const char *path, const char *slot, pgh_error *err);

#endif
