/*
 * dest/nats/capture.c - the NATS JetStream destination of pghost capture (pghost/nats.h): every
 * call of the destination interface becomes bus messages (bus.h) on the stream.
 *
 * Subjects: a table's messages go to <prefix>.<schema>.<table>, logical messages to
 * <prefix>._message, the capture's position to <prefix>._position. Within a source transaction
 * the first message on a subject is a B (begin, with the table's description), and at the
 * commit every subject the transaction touched gets a C: each subject carries whole
 * transactions of its own, and all data of a transaction precedes all of its C messages.
 *
 * Publishing is asynchronous, at most nats_max_in_flight unacknowledged. flush waits until
 * JetStream acknowledged everything, then publishes the position (synchronously) to
 * <prefix>._position, and only then reports it durable: the slot is confirmed no further than
 * what the stream holds. read_position reads that subject's last message back: the stream is
 * the only state. Each message's Nats-Msg-Id is <slot>:<txn>:<index>.
 *
 * No gap, ever: every publish expects the stream's last sequence to be the one before it
 * (ExpectLastSeq), so when JetStream did not store one message it stores none after it. After
 * such a failure (PGH_ECONN: the pipeline resumes from read_position) or a restart,
 * read_position takes the stream's last message as where publishing stands: what the pipeline
 * delivers again up to that message is not published again (it is in the stream already, with
 * nothing missing before it), what follows is appended after it.
 */
#include "pghost/nats.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "link.h"

#define FLUSH_WAIT_MS 15000
#define ACK_WAIT_MS 5000 /* an acknowledgement lost with a node: resume from the stream sooner */
#define MAX_BODY_BYTES (512 * 1024) /* below NATS' default max_payload of 1 MB */

typedef struct capture {
    const pgh_config *cfg; /* borrowed from info at open */
    char *slot;            /* owned */
    pgh_nats_link link;    /* owned insides while open */
    bool is_open;
    bool in_txn;
    pgh_change begin;      /* the transaction's BEGIN (no pointers in it) */
    uint32_t next_idx;     /* index of the transaction's next message */
    char **touched;        /* owned: subjects the transaction wrote to, ntouched of them */
    size_t ntouched, cap_touched;
    pthread_mutex_t mu;    /* guards async_* (the ack handler runs on a NATS thread) */
    int async_failed;
    char async_msg[256];
    pgh_position pending;  /* resume owned: the last commit's or write_position's position */
    pgh_position published; /* resume owned: the one <prefix>._position holds */
    pgh_lsn durable;
    uint64_t last_seq;     /* the stream's last sequence, as publishing expects it */
    bool skip_data;        /* the stream ends with the data message at skip_id */
    pgh_bus_id skip_id;    /* messages up to it are in the stream: not published again */
    pgh_lsn skip_below;    /* the stream ends with a position: txn below it are in the stream */
} capture;

/* ---- positions ---- */

static void pos_dispose(pgh_position *p)
{
    free(p->resume);
    memset(p, 0, sizeof(*p));
}

static int pos_set(pgh_position *dst, const pgh_position *src, pgh_error *err)
{
    char *resume = src->resume ? strdup(src->resume) : NULL;
    if (src->resume != NULL && resume == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
    pos_dispose(dst);
    *dst = *src;
    dst->resume = resume;
    return 0;
}

static bool pos_equal(const pgh_position *a, const pgh_position *b)
{
    if (a->lsn != b->lsn || a->checkpoint != b->checkpoint || strcmp(a->phase, b->phase) != 0)
        return false;
    if (a->resume == NULL || b->resume == NULL)
        return a->resume == b->resume;
    return strcmp(a->resume, b->resume) == 0;
}

/* ---- publishing ---- */

static void on_async_error(jsCtx *js, jsPubAckErr *pae, void *payload)
{
    (void)js;
    capture *c = payload;
    pthread_mutex_lock(&c->mu);
    if (!c->async_failed) {
        c->async_failed = 1;
        snprintf(c->async_msg, sizeof(c->async_msg), "%s%s%s", natsStatus_GetText(pae->Err),
                 pae->ErrText ? ": " : "", pae->ErrText ? pae->ErrText : "");
    }
    pthread_mutex_unlock(&c->mu);
}

static int check_async(capture *c, pgh_error *err)
{
    pthread_mutex_lock(&c->mu);
    int failed = c->async_failed;
    char msg[sizeof(c->async_msg)];
    memcpy(msg, c->async_msg, sizeof(msg));
    pthread_mutex_unlock(&c->mu);
    if (!failed)
        return 0;
    /* Nothing after it was stored either (ExpectLastSeq): resuming from the stream is safe. */
    return pgh_error_set(err, PGH_ECONN, "NATS at %s: JetStream did not store a message: %s",
                         c->link.url_shown, msg);
}

/* Already in the stream (see the top of the file): not to be published again. */
static bool in_stream(const capture *c, pgh_bus_id id)
{
    if (c->skip_data)
        return id.txn < c->skip_id.txn || (id.txn == c->skip_id.txn && id.idx <= c->skip_id.idx);
    return id.txn < c->skip_below;
}

/* The options of the next publish: its id, and the sequence the stream must end at. */
static void chain_opts(capture *c, jsPubOptions *po, const char *msgid)
{
    jsPubOptions_Init(po);
    po->MsgId = msgid;
    po->MaxWait = ACK_WAIT_MS;
    po->ExpectLastSeq = c->last_seq; /* 0: the stream is empty, nothing can be missing */
    c->last_seq++;
}

/* One message: body (consumed) with its headers, asynchronously. */
static int publish(capture *c, const char *subject, char *body, pgh_bus_kind kind, pgh_bus_id id,
                   pgh_error *err)
{
    if (body == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
    if (in_stream(c, id)) {
        free(body);
        return 0;
    }
    int rc = check_async(c, err);
    natsMsg *m = NULL;
    natsStatus s = rc == 0 ? natsMsg_Create(&m, subject, NULL, body, (int)strlen(body)) : NATS_OK;
    free(body);
    if (rc != 0)
        return rc;
    char msgid[160], txn[32], idx[16], k[2] = {(char)kind, 0};
    snprintf(msgid, sizeof(msgid), "%s:%016" PRIX64 ":%" PRIu32, c->slot, (uint64_t)id.txn, id.idx);
    snprintf(txn, sizeof(txn), PGH_LSN_FMT, PGH_LSN_ARGS(id.txn));
    snprintf(idx, sizeof(idx), "%" PRIu32, id.idx);
    jsPubOptions po;
    chain_opts(c, &po, msgid);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Pghost-Txn", txn);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Pghost-Index", idx);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Pghost-Kind", k);
    if (s == NATS_OK)
        s = js_PublishMsgAsync(c->link.js, &m, &po); /* takes m on success */
    natsMsg_Destroy(m);
    return s == NATS_OK ? 0 : pgh_nats__fail(err, s, 0, &c->link, "publishing");
}

/* The next id of the open transaction. */
static pgh_bus_id next_id(capture *c)
{
    return (pgh_bus_id){c->begin.u.begin.final_lsn, c->next_idx++};
}

/* Index of subject in touched, or -1. */
static int touched_at(const capture *c, const char *subject)
{
    for (size_t i = 0; i < c->ntouched; i++)
        if (strcmp(c->touched[i], subject) == 0)
            return (int)i;
    return -1;
}

/* Make sure subject (consumed) had its B in this transaction. */
static int touch(capture *c, char *subject, const pgh_relation *rel, pgh_error *err)
{
    if (subject == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
    if (touched_at(c, subject) >= 0) {
        free(subject);
        return 0;
    }
    if (c->ntouched == c->cap_touched) {
        size_t n = c->cap_touched ? c->cap_touched * 2 : 8;
        char **t = realloc(c->touched, n * sizeof(*t));
        if (t == NULL) {
            free(subject);
            return pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
        }
        c->touched = t;
        c->cap_touched = n;
    }
    c->touched[c->ntouched++] = subject;
    pgh_bus_id id = next_id(c);
    return publish(c, subject, pgh_bus__begin(id, &c->begin, rel), PGH_BUS_BEGIN, id, err);
}

static void untouch_all(capture *c)
{
    for (size_t i = 0; i < c->ntouched; i++)
        free(c->touched[i]);
    c->ntouched = 0;
}

/* The configuration selects rel (by its source name). */
static bool selected(const capture *c, const pgh_relation *rel)
{
    for (size_t i = 0; rel != NULL && i < c->cfg->ntables; i++) {
        const pgh_table_map *t = &c->cfg->tables[i];
        if (strcmp(t->source_schema, rel->nspname) == 0 &&
            strcmp(t->source_table, rel->relname) == 0)
            return true;
    }
    return false;
}

static char *table_subject(const capture *c, const pgh_relation *rel)
{
    return pgh_nats__subject(c->link.prefix, rel->nspname, rel->relname);
}

/* rel's subject (malloc'd, in *out), its B published first when this transaction had none. */
static int subject_of(char **out, capture *c, const pgh_relation *rel, pgh_error *err)
{
    *out = NULL;
    int rc = touch(c, table_subject(c, rel), rel, err);
    if (rc != 0)
        return rc;
    *out = table_subject(c, rel);
    return *out ? 0 : pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
}

static int ready(capture *c, bool want_txn, const char *what, pgh_error *err)
{
    if (!c->is_open)
        return pgh_error_set(err, PGH_EPROTO, "NATS destination: %s while not open", what);
    if (want_txn != c->in_txn)
        return pgh_error_set(err, PGH_EPROTO, "NATS destination: %s %s a transaction", what,
                             want_txn ? "outside" : "inside");
    return check_async(c, err);
}

/* ---- open, close ---- */

static int dest_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    capture *c = user;
    if (c->is_open)
        return pgh_error_set(err, PGH_EPROTO, "NATS destination: opened twice");
    if (info == NULL || info->config == NULL || info->slot == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "NATS destination: opened without a configuration");
    c->cfg = info->config;
    c->slot = strdup(info->slot);
    if (c->slot == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
    c->is_open = true; /* close disposes whatever got made */
    c->async_failed = 0;
    pgh_nats_link_opts lo = {c->cfg->nats.max_in_flight, on_async_error, c};
    int rc = pgh_nats__link_open(&c->link, c->cfg, &lo, err);
    if (rc == 0)
        rc = pgh_nats__stream_ensure(&c->link, c->cfg, err);
    return rc;
}

static void dest_close(void *user)
{
    capture *c = user;
    if (c->is_open && c->link.js != NULL) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 5000;
        js_PublishAsyncComplete(c->link.js, &po); /* what was sent; the position says the rest */
    }
    pgh_nats__link_close(&c->link);
    untouch_all(c);
    free(c->touched);
    c->touched = NULL;
    c->cap_touched = 0;
    free(c->slot);
    c->slot = NULL;
    pos_dispose(&c->pending);
    pos_dispose(&c->published);
    c->in_txn = false;
    c->is_open = false;
}

static void dest_destroy(void *user)
{
    capture *c = user;
    if (c == NULL)
        return;
    dest_close(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- positions ---- */

/* Where publishing stands: the stream's last message (see the top of the file). Called by
 * read_position, at the start and when the pipeline resumes after PGH_ECONN. */
static int resync(capture *c, pgh_error *err)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 5000;
    js_PublishAsyncComplete(c->link.js, &po); /* settle what is in flight, stored or not */
    pthread_mutex_lock(&c->mu);
    c->async_failed = 0;
    pthread_mutex_unlock(&c->mu);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, c->link.js, c->link.stream, NULL, &jerr);
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, jerr, &c->link, "reading the stream");
    c->last_seq = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    c->skip_data = false;
    c->skip_below = 0;
    if (c->last_seq == 0)
        return 0;
    natsMsg *m = NULL;
    s = js_GetMsg(&m, c->link.js, c->link.stream, c->last_seq, NULL, &jerr);
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, jerr, &c->link, "reading the stream's last message");
    pgh_bus_msg bm;
    int rc = pgh_bus__decode(&bm, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), err);
    if (rc == 0 && bm.kind == PGH_BUS_POSITION) {
        c->skip_below = bm.pos.lsn;
    } else if (rc == 0) {
        c->skip_data = true;
        c->skip_id = bm.id;
    }
    pgh_bus__msg_dispose(&bm);
    natsMsg_Destroy(m);
    return rc;
}

static int dest_read_position(void *user, pgh_position *out, pgh_error *err)
{
    capture *c = user;
    untouch_all(c); /* a resumed run starts between transactions */
    c->in_txn = false;
    int rc0 = resync(c, err);
    if (rc0 != 0)
        return rc0;
    char subject[1024];
    snprintf(subject, sizeof(subject), "%s._position", c->link.prefix);
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetLastMsg(&m, c->link.js, c->link.stream, subject, NULL, &jerr);
    if (s == NATS_NOT_FOUND)
        return 0;
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, jerr, &c->link, "reading the capture's position");
    pgh_bus_msg bm;
    int rc = pgh_bus__decode(&bm, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), err);
    if (rc == 0 && bm.kind != PGH_BUS_POSITION)
        rc = pgh_error_set(err, PGH_EPROTO, "%s: the last message is not a position", subject);
    if (rc == 0)
        rc = pos_set(&c->published, &bm.pos, err);
    if (rc == 0)
        rc = pos_set(&c->pending, &bm.pos, err);
    if (rc == 0)
        rc = pos_set(out, &bm.pos, err); /* out was zeroed: resume now the caller's */
    c->durable = rc == 0 ? bm.pos.lsn : 0;
    pgh_bus__msg_dispose(&bm);
    natsMsg_Destroy(m);
    return rc;
}

/* Wait for every acknowledgement, then store pending in <prefix>._position. */
static int store_position(capture *c, pgh_error *err)
{
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = FLUSH_WAIT_MS;
    natsStatus s = js_PublishAsyncComplete(c->link.js, &wait);
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, 0, &c->link, "waiting for JetStream's acknowledgements");
    int rc = check_async(c, err);
    if (rc != 0 || pos_equal(&c->pending, &c->published))
        goto done;
    char subject[1024];
    snprintf(subject, sizeof(subject), "%s._position", c->link.prefix);
    char *body = pgh_bus__position(&c->pending);
    natsMsg *m = NULL;
    s = body ? natsMsg_Create(&m, subject, NULL, body, (int)strlen(body)) : NATS_NO_MEMORY;
    free(body);
    jsErrCode jerr = 0;
    jsPubAck *ack = NULL;
    jsPubOptions po;
    chain_opts(c, &po, NULL);
    if (s == NATS_OK)
        s = js_PublishMsg(&ack, c->link.js, m, &po, &jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    if (s == NATS_OK)
        rc = pos_set(&c->published, &c->pending, err);
    else if (pgh_nats__fail(err, s, jerr, &c->link, "storing the position") != PGH_ECONFIG)
        rc = err->code = PGH_ECONN; /* resume from the stream (see the top of the file) */
    else
        rc = PGH_ECONFIG;
done:
    if (rc == 0)
        c->durable = c->published.lsn;
    return rc;
}

static int dest_write_position(void *user, const pgh_position *pos, pgh_error *err)
{
    capture *c = user;
    int rc = ready(c, false, "write_position", err);
    if (rc == 0)
        rc = pos_set(&c->pending, pos, err);
    return rc != 0 ? rc : store_position(c, err);
}

static int dest_flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    capture *c = user;
    *durable = c->durable;
    int rc = ready(c, false, "flush", err);
    if (rc == 0)
        rc = store_position(c, err);
    *durable = c->durable;
    return rc;
}

/* ---- the stream ---- */

static int dest_begin(void *user, const pgh_change *ch, pgh_error *err)
{
    capture *c = user;
    int rc = ready(c, false, "begin", err);
    if (rc != 0)
        return rc;
    c->begin = *ch;
    c->next_idx = 0;
    c->in_txn = true;
    return 0;
}

/* A table changed within the transaction: its subject gets an R when it was written to already
 * (a later B carries the new description anyway). */
static int dest_relation(void *user, const pgh_change *ch, pgh_error *err)
{
    capture *c = user;
    int rc = ready(c, true, "relation", err);
    if (rc != 0 || ch->kind != PGH_CHANGE_RELATION || !selected(c, ch->u.relation.rel))
        return rc;
    char *subject = table_subject(c, ch->u.relation.rel);
    if (subject == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
    if (touched_at(c, subject) >= 0) {
        pgh_bus_id id = next_id(c);
        rc = publish(c, subject, pgh_bus__relation(id, ch->u.relation.rel), PGH_BUS_RELATION, id,
                     err);
    }
    free(subject);
    return rc;
}

static char *message_subject(const capture *c)
{
    size_t n = strlen(c->link.prefix) + sizeof("._message");
    char *subject = malloc(n);
    if (subject != NULL)
        snprintf(subject, n, "%s._message", c->link.prefix);
    return subject;
}

static int dest_message(void *user, const pgh_change *ch, pgh_error *err)
{
    capture *c = user;
    int rc = ready(c, true, "message", err);
    if (rc != 0 || ch->kind != PGH_CHANGE_MESSAGE)
        return rc;
    rc = touch(c, message_subject(c), NULL, err);
    char *subject = rc == 0 ? message_subject(c) : NULL;
    if (rc == 0 && subject == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
    if (rc == 0) {
        pgh_bus_id id = next_id(c);
        rc = publish(c, subject, pgh_bus__message(id, ch), PGH_BUS_MESSAGE, id, err);
    }
    free(subject);
    return rc;
}

static const pgh_relation *change_rel(const pgh_change *ch)
{
    switch (ch->kind) {
    case PGH_CHANGE_INSERT:
        return ch->u.insert.rel;
    case PGH_CHANGE_UPDATE:
        return ch->u.update.rel;
    case PGH_CHANGE_DELETE:
        return ch->u.del.rel;
    default:
        return NULL;
    }
}

static int dest_change(void *user, const pgh_change *ch, pgh_error *err)
{
    capture *c = user;
    int rc = ready(c, true, "change", err);
    const pgh_relation *rel = change_rel(ch);
    if (rc == 0 && rel == NULL)
        rc = pgh_error_set(err, PGH_EPROTO, "NATS destination: change called with a '%c' message",
                           (char)ch->kind);
    if (rc != 0 || !selected(c, rel))
        return rc;
    char *subject = NULL;
    rc = subject_of(&subject, c, rel, err);
    if (rc == 0) {
        pgh_bus_id id = next_id(c);
        rc = publish(c, subject, pgh_bus__change(id, ch), (pgh_bus_kind)ch->kind, id, err);
    }
    free(subject);
    return rc;
}

/* One T per selected table, on its own subject (the same transaction empties them all). */
static int dest_truncate(void *user, const pgh_change *ch, pgh_error *err)
{
    capture *c = user;
    int rc = ready(c, true, "truncate", err);
    for (uint32_t i = 0; rc == 0 && i < ch->u.truncate.nrels; i++) {
        const pgh_relation *rel = ch->u.truncate.rels[i];
        if (!selected(c, rel))
            continue;
        char *subject = NULL;
        rc = subject_of(&subject, c, rel, err);
        if (rc == 0) {
            pgh_bus_id id = next_id(c);
            rc = publish(c, subject, pgh_bus__truncate(id, ch),
                         PGH_BUS_TRUNCATE, id, err);
        }
        free(subject);
    }
    return rc;
}

/* rows[0..n) in as few messages as fit MAX_BODY_BYTES each (halving until they do). */
static int publish_rows(capture *c, const char *subject, const pgh_table_rows *t,
                        const pgh_tuple *rows, size_t n, pgh_error *err)
{
    pgh_bus_id id = {c->begin.u.begin.final_lsn, c->next_idx};
    char *body = pgh_bus__table(id, PGH_BUS_TABLE_ROWS, t, rows, n);
    if (body != NULL && n > 1 && strlen(body) > MAX_BODY_BYTES) {
        free(body);
        size_t half = n / 2;
        pgh_table_rows second = *t;
        second.first_row = t->first_row + (uint32_t)half;
        int rc = publish_rows(c, subject, t, rows, half, err);
        return rc != 0 ? rc : publish_rows(c, subject, &second, rows + half, n - half, err);
    }
    c->next_idx++;
    return publish(c, subject, body, PGH_BUS_TABLE_ROWS, id, err);
}

static int dest_table(capture *c, pgh_bus_kind kind, const pgh_table_rows *t,
                      const pgh_tuple *rows, size_t n, pgh_error *err)
{
    int rc = ready(c, true, kind == PGH_BUS_TABLE_ROWS ? "table_rows" : "table_begin/end", err);
    if (rc != 0)
        return rc;
    char *subject = NULL;
    rc = subject_of(&subject, c, t->table, err);
    if (rc == 0 && kind == PGH_BUS_TABLE_ROWS) {
        rc = publish_rows(c, subject, t, rows, n, err);
    } else if (rc == 0) {
        pgh_bus_id id = next_id(c);
        rc = publish(c, subject, pgh_bus__table(id, kind, t, NULL, 0), kind, id, err);
    }
    free(subject);
    return rc;
}

static int dest_table_begin(void *user, const pgh_table_rows *t, pgh_error *err)
{
    return dest_table(user, PGH_BUS_TABLE_BEGIN, t, NULL, 0, err);
}

static int dest_table_rows(void *user, const pgh_table_rows *t, const pgh_tuple *rows, size_t n,
                           pgh_error *err)
{
    return n == 0 ? 0 : dest_table(user, PGH_BUS_TABLE_ROWS, t, rows, n, err);
}

static int dest_table_end(void *user, const pgh_table_rows *t, pgh_error *err)
{
    return dest_table(user, PGH_BUS_TABLE_END, t, NULL, 0, err);
}

/* A C on every subject the transaction wrote to; nothing when it wrote none. */
static int dest_commit(void *user, const pgh_change *ch, const pgh_position *after,
                       pgh_error *err)
{
    capture *c = user;
    int rc = ready(c, true, "commit", err);
    for (size_t i = 0; rc == 0 && i < c->ntouched; i++) {
        pgh_bus_id id = next_id(c);
        rc = publish(c, c->touched[i], pgh_bus__commit(id, ch, after ? after->phase : ""),
                     PGH_BUS_COMMIT, id, err);
    }
    untouch_all(c);
    c->in_txn = false;
    if (rc == 0 && after != NULL)
        rc = pos_set(&c->pending, after, err);
    return rc;
}

static const pgh_destination_ops NATS_CAPTURE_OPS = {
    .version = PGH_DESTINATION_OPS_VERSION,
    .name = "nats",
    .flags = 0, /* an event destination: the existing rows come in watermarked chunks */
    .open = dest_open,
    .close = dest_close,
    .destroy = dest_destroy,
    .read_position = dest_read_position,
    .write_position = dest_write_position,
    .table_begin = dest_table_begin,
    .table_rows = dest_table_rows,
    .table_end = dest_table_end,
    .begin = dest_begin,
    .relation = dest_relation,
    .message = dest_message,
    .change = dest_change,
    .truncate = dest_truncate,
    .commit = dest_commit,
    .flush = dest_flush,
    .keyed = NULL,
};

int pgh_nats_capture_destination_new(pgh_destination **out, pgh_error *err)
{
    *out = NULL;
    capture *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "NATS destination: out of memory");
    pthread_mutex_init(&c->mu, NULL);
    return pgh_destination_new(out, &NATS_CAPTURE_OPS, c, err); /* destroys c on failure */
}
