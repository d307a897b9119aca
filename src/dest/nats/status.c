/*
 * dest/nats/status.c - what each applier's consumer has left to do (pghost status).
 */
#include "pghost/nats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link.h"

/* Age in seconds of stream message seq (0 when it is gone or not yet there). */
static double age_of(pgh_nats_link *l, uint64_t seq)
{
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    if (js_GetMsg(&m, l->js, l->stream, seq, NULL, &jerr) != NATS_OK)
        return 0;
    int64_t ns = natsMsg_GetTime(m);
    natsMsg_Destroy(m);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double age = (double)now.tv_sec + now.tv_nsec / 1e9 - (double)ns / 1e9;
    return age > 0 ? age : 0;
}

int pgh_nats_status(pgh_nats_consumer_status **out, int *n, const pgh_config *cfg,
                    pgh_error *err)
{
    *out = NULL;
    *n = 0;
    pgh_nats_link l;
    jsStreamInfo *si = NULL;
    jsConsumerInfoList *list = NULL;
    jsErrCode jerr = 0;
    int rc = pgh_nats__link_open(&l, cfg, NULL, err);
    if (rc == 0)
        rc = pgh_nats__stream_check(&l, err);
    natsStatus s = NATS_OK;
    if (rc == 0)
        s = js_GetStreamInfo(&si, l.js, l.stream, NULL, &jerr);
    if (rc == 0 && s == NATS_OK)
        s = js_Consumers(&list, l.js, l.stream, NULL, &jerr);
    if (rc == 0 && s == NATS_NOT_FOUND)
        s = NATS_OK; /* no consumer yet */
    if (rc == 0 && s != NATS_OK)
        rc = pgh_nats__fail(err, s, jerr, &l, "listing the consumers");
    int count = list ? list->Count : 0;
    if (rc == 0 && (*out = calloc((size_t)count + 1, sizeof(**out))) == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < count; i++) {
        const jsConsumerInfo *ci = list->List[i];
        pgh_nats_consumer_status *st = &(*out)[i];
        snprintf(st->name, sizeof(st->name), "%s", ci->Name);
        snprintf(st->filter, sizeof(st->filter), "%s",
                 ci->Config && ci->Config->FilterSubject ? ci->Config->FilterSubject : ">");
        st->pending = ci->NumPending;
        st->ack_pending = (uint64_t)ci->NumAckPending;
        st->ack_floor = ci->AckFloor.Stream;
        st->stream_last = si->State.LastSeq;
        if (st->pending + st->ack_pending > 0)
            st->lag_seconds = age_of(&l, st->ack_floor + 1);
        *n = i + 1;
    }
    jsConsumerInfoList_Destroy(list);
    jsStreamInfo_Destroy(si);
    pgh_nats__link_close(&l);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
