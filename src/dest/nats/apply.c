/*
 * dest/nats/apply.c - pghost apply: a JetStream stream filled by pghost capture, through a
 * durable pull consumer, into any destination (pghost/nats.h).
 *
 * Order: messages come in stream order, which is the source's commit order; a transaction's
 * messages are identified by (txn, i) (bus.h). A message is delivered unless it is
 *   - of a transaction the destination holds already: txn below the position it stored (the
 *     end LSN of its last transaction, and txn is the BEGIN's final LSN, so a transaction
 *     holds txn < end <= the next one's txn);
 *   - a repeat: (txn, i) not above the last one delivered (a re-publish after the duplicate
 *     window, a redelivery).
 * The first C of a transaction commits it in the destination (all its data precede all its C
 * messages); a transaction whose C never came (a capture killed in its middle, whose restart
 * did not publish it again) is committed, with the position unchanged, when the next begins.
 *
 * Acknowledgements: the consumer acknowledges all messages up to one (AckAll); after a flush of
 * the destination reports durable the position of a commit, the last message read at that
 * commit is acknowledged. On start the consumer is made again from one past its
 * acknowledgement floor (a fresh consumer has no redeliveries pending that could come out of
 * order); the destination's position makes what it re-reads harmless.
 */
#include "pghost/nats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply_internal.h"
#include "pghost/log.h"

#define FETCH_WAIT_MS 500
#define RETRY_MS 500           /* between attempts while JetStream is unavailable */
#define RETRY_FOR_MS 60000     /* give up after this long unavailable */
#define ACK_WAIT_NS (600LL * 1000000000LL)
#define MAX_ACK_PENDING (1 << 20)

/* ---- the consumer ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *filter_of(const applier *a, char *buf, size_t n)
{
    if (a->cfg->nats.subjects != NULL)
        return a->cfg->nats.subjects;
    snprintf(buf, n, "%s.>", a->link.prefix);
    return buf;
}

/* Make the durable consumer again, from one past its acknowledgement floor (from the start of
 * the stream when it did not exist), and subscribe to it. */
static int consumer_make(applier *a, pgh_error *err)
{
    char fbuf[1024];
    const char *filter = filter_of(a, fbuf, sizeof(fbuf));
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    uint64_t start = 0;
    natsStatus s = js_GetConsumerInfo(&ci, a->link.js, a->link.stream, a->consumer, NULL, &jerr);
    /* Another applier pulling from it keeps a pull request waiting (each lasts FETCH_WAIT_MS,
     * so one of a process just killed is gone after that): one applier per consumer. */
    for (int i = 0; s == NATS_OK && ci->NumWaiting > 0 && i < 4; i++) {
        jsConsumerInfo_Destroy(ci);
        ci = NULL;
        sleep_ms(FETCH_WAIT_MS + 100);
        s = js_GetConsumerInfo(&ci, a->link.js, a->link.stream, a->consumer, NULL, &jerr);
    }
    if (s == NATS_OK && ci->NumWaiting > 0) {
        jsConsumerInfo_Destroy(ci);
        return pgh_error_set(err, PGH_EPRECOND,
                             "consumer %s of stream %s is in use by another applier: give each "
                             "applier its own nats_consumer",
                             a->consumer, a->link.stream);
    }
    if (s == NATS_OK) {
        start = ci->AckFloor.Stream + 1;
        jsConsumerInfo_Destroy(ci);
        s = js_DeleteConsumer(a->link.js, a->link.stream, a->consumer, NULL, &jerr);
    } else if (s == NATS_NOT_FOUND) {
        s = NATS_OK;
    }
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, jerr, &a->link, "reading the consumer");
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = a->consumer;
    cc.DeliverPolicy = start > 1 ? js_DeliverByStartSequence : js_DeliverAll;
    cc.OptStartSeq = start > 1 ? start : 0;
    cc.AckPolicy = js_AckAll;
    cc.AckWait = ACK_WAIT_NS;
    cc.MaxAckPending = MAX_ACK_PENDING;
    cc.FilterSubject = filter;
    s = js_AddConsumer(&ci, a->link.js, a->link.stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, jerr, &a->link, "creating the consumer");
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = a->link.stream;
    so.Consumer = a->consumer;
    s = js_PullSubscribe(&a->sub, a->link.js, filter, a->consumer, NULL, &so, &jerr);
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, jerr, &a->link, "subscribing to the consumer");
    pgh_log(PGH_LOG_INFO, "apply",
            "consumer %s on stream %s takes %s from stream sequence %" PRIu64
            "; the destination holds the source up to " PGH_LSN_FMT,
            a->consumer, a->link.stream, filter, start > 1 ? start : 1,
            PGH_LSN_ARGS(a->applied));
    return 0;
}

/* consumer_make, again for up to RETRY_FOR_MS while JetStream is unavailable. */
static int consumer_open(applier *a, pgh_error *err)
{
    int64_t since = now_ms();
    for (;;) {
        int rc = consumer_make(a, err);
        if (rc != PGH_ECONN && rc != PGH_ESINK)
            return rc;
        if (now_ms() - since >= RETRY_FOR_MS)
            return rc;
        pgh_log(PGH_LOG_WARN, "apply", "%s; retrying", err->message);
        natsSubscription_Destroy(a->sub);
        a->sub = NULL;
        pgh_error_clear(err);
        sleep_ms(RETRY_MS);
    }
}

/* Flush the destination; acknowledge what it made durable. */
static int flush_and_ack(applier *a, pgh_error *err)
{
    if (a->open)
        return 0;
    pgh_lsn durable = 0;
    int rc = a->ops->flush ? a->ops->flush(a->user, &durable, err) : 0;
    if (rc != 0)
        return rc;
    a->dirty = false;
    if (a->ops->flush == NULL)
        durable = a->applied;
    if (a->ack_next != NULL) { /* nothing open: everything read so far may go with it */
        natsMsg_Destroy(a->ack_msg);
        a->ack_msg = a->ack_next;
        a->ack_lsn = a->applied;
        a->ack_next = NULL;
    }
    if (a->ack_msg != NULL && durable >= a->ack_lsn) {
        natsStatus s = natsMsg_Ack(a->ack_msg, NULL);
        natsMsg_Destroy(a->ack_msg);
        a->ack_msg = NULL;
        if (s != NATS_OK)
            return pgh_nats__fail(err, s, 0, &a->link, "acknowledging");
    }
    return 0;
}

/* One fetched message: decode, apply; keep it for acknowledging when it ends outside a
 * transaction. */
static int take(applier *a, natsMsg **msg, pgh_error *err)
{
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, *msg) != NATS_OK)
        return pgh_error_set(err, PGH_EPROTO, "stream %s: a message without JetStream metadata",
                             a->link.stream);
    a->seq = meta->Sequence.Stream;
    uint64_t cseq = meta->Sequence.Consumer;
    jsMsgMetaData_Destroy(meta);
    /* Deliveries the consumer made that never arrived (a consumer leader changed in a cluster)
     * would come again only after the ack wait: start over from what is acknowledged. */
    if (a->cseq != 0 && cseq > a->cseq + 1)
        return pgh_error_set(err, PGH_ECONN,
                             "consumer %s: deliveries %" PRIu64 " to %" PRIu64 " never arrived",
                             a->consumer, a->cseq + 1, cseq - 1);
    if (cseq > a->cseq)
        a->cseq = cseq;
    pgh_bus_msg m;
    int rc = pgh_bus__decode(&m, natsMsg_GetData(*msg), (size_t)natsMsg_GetDataLength(*msg), err);
    if (rc == 0)
        rc = pgh_nats__apply_one(a, &m, natsMsg_GetSubject(*msg), err);
    else
        pgh_error_prefix(err, "stream %s sequence %" PRIu64, a->link.stream, a->seq);
    pgh_bus__msg_dispose(&m);
    if (rc == 0 && !a->open) {
        natsMsg_Destroy(a->ack_next);
        a->ack_next = *msg;
        *msg = NULL;
    }
    return rc;
}

/* A fetch that failed: JetStream is unavailable for a while (a leader election in a cluster, a
 * node down, the connection being remade) until *down_since + RETRY_FOR_MS; then the error. */
static int fetch_failed(applier *a, natsStatus s, jsErrCode jerr, int64_t *down_since,
                        pgh_error *err)
{
    if (*down_since == 0) {
        *down_since = now_ms();
        pgh_log(PGH_LOG_WARN, "apply", "JetStream unavailable (%s); retrying for up to %d s",
                natsStatus_GetText(s), RETRY_FOR_MS / 1000);
    }
    if (now_ms() - *down_since >= RETRY_FOR_MS)
        return pgh_nats__fail(err, s, jerr, &a->link, "fetching");
    sleep_ms(RETRY_MS);
    return 0;
}

static int run_loop(applier *a, const pgh_nats_apply_opts *o, pgh_error *err)
{
    int64_t last_msg = now_ms(), down_since = 0;
    int rc = 0;
    while (rc == 0 && !(o->cancel && atomic_load(o->cancel))) {
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, a->sub, o->fetch_batch > 0 ? o->fetch_batch
                                                                                 : 256,
                                              FETCH_WAIT_MS, &jerr);
        if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
            natsMsgList_Destroy(&list);
            rc = flush_and_ack(a, err);
            if (rc == 0 && o->idle_stop_ms > 0 && now_ms() - last_msg >= o->idle_stop_ms &&
                !a->open)
                break;
            continue;
        }
        if (s != NATS_OK) {
            natsMsgList_Destroy(&list);
            rc = fetch_failed(a, s, jerr, &down_since, err);
            continue;
        }
        down_since = 0;
        last_msg = now_ms();
        for (int i = 0; rc == 0 && i < list.Count; i++)
            rc = take(a, &list.Msgs[i], err);
        natsMsgList_Destroy(&list);
        if (rc == 0)
            rc = flush_and_ack(a, err);
    }
    if (rc == 0)
        rc = flush_and_ack(a, err);
    return rc;
}

/* ---- the run ---- */

/* The destination's stored position: where it stands, and the phase it was in. */
static int read_start(applier *a, pgh_error *err)
{
    pgh_position pos = {0};
    int rc = a->ops->read_position ? a->ops->read_position(a->user, &pos, err) : 0;
    if (rc != 0)
        return rc;
    a->applied = pos.lsn;
    snprintf(a->phase, sizeof(a->phase), "%s", pos.phase);
    free(pos.resume);
    return 0;
}

#define MAX_SESSIONS 1000 /* sessions started again after deliveries were lost */

/* One session: the destination opened, its position read, the consumer made from its
 * acknowledgement floor, messages applied until stopped. Everything of it is released at the
 * end, the destination closed (a transaction not committed is abandoned). */
static int session(applier *a, const pgh_nats_apply_opts *opts, pgh_error *err)
{
    pgh_destination_info info = {.config = a->cfg, .slot = a->consumer, .follow = true};
    int rc = a->ops->open(a->user, &info, err);
    if (rc == 0)
        rc = read_start(a, err);
    if (rc == 0)
        rc = consumer_open(a, err);
    if (rc == 0)
        rc = run_loop(a, opts, err);
    if (a->ops->close)
        a->ops->close(a->user);
    natsMsg_Destroy(a->ack_msg);
    natsMsg_Destroy(a->ack_next);
    natsSubscription_Destroy(a->sub);
    a->ack_msg = a->ack_next = NULL;
    a->sub = NULL;
    a->open = false;
    a->last = (pgh_bus_id){0, 0};
    a->cseq = 0;
    a->ntrunc = 0;
    for (size_t i = 0; i < a->nrels; i++)
        a->rels[i].delivered = false; /* a new destination session sees them again */
    return rc;
}

static void applier_dispose(applier *a)
{
    natsMsg_Destroy(a->ack_msg);
    natsMsg_Destroy(a->ack_next);
    natsSubscription_Destroy(a->sub);
    pgh_nats__link_close(&a->link);
    for (size_t i = 0; i < a->nrels; i++) {
        free(a->rels[i].subject);
        pgh_bus__rel_dispose(&a->rels[i].rel);
    }
    free(a->rels);
    free(a->trunc_rel);
}

int pgh_nats_apply_run(const pgh_config *cfg, pgh_destination *dest,
                       const pgh_nats_apply_opts *opts, pgh_error *err)
{
    if (opts == NULL || opts->version != PGH_NATS_APPLY_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "NATS apply: options version %d, expected %d (start from "
                             "PGH_NATS_APPLY_OPTS_INIT)",
                             opts ? opts->version : 0, PGH_NATS_APPLY_OPTS_VERSION);
    applier a;
    memset(&a, 0, sizeof(a));
    a.cfg = cfg;
    a.ops = pgh_destination_ops_of(dest);
    a.user = pgh_destination_user(dest);
    snprintf(a.consumer, sizeof(a.consumer), "%s",
             cfg->nats.consumer ? cfg->nats.consumer : "pghost_apply");
    int rc = pgh_nats__link_open(&a.link, cfg, NULL, err);
    if (rc == 0)
        rc = pgh_nats__stream_check(&a.link, err);
    for (int tries = 0; rc == 0; tries++) {
        rc = session(&a, opts, err);
        bool again = rc == PGH_ECONN && tries < MAX_SESSIONS &&
                     !(opts->cancel && atomic_load(opts->cancel));
        if (!again)
            break;
        pgh_log(PGH_LOG_WARN, "apply", "%s; starting again from what the destination holds",
                err->message);
        pgh_error_clear(err);
        rc = 0;
        sleep_ms(RETRY_MS);
    }
    applier_dispose(&a);
    return rc;
}
