/* COPY data waiting for a nonblocking destination connection: see copy_spool.h. */
#include "dest/postgres/copy_spool.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/clock.h"

/* A chunk's data and its CopyData header (a byte and an int32) make PGH_COPY_SPOOL_CHUNK: libpq
 * sends in multiples of 8 kB, so a whole message goes out with nothing left behind. */
struct pgh_copy_chunk {
    pgh_copy_chunk *next;
    size_t len;
    char data[PGH_COPY_SPOOL_CHUNK - 5];
};

static const char WHAT[] = "sending COPY data to the destination";

static pgh_copy_chunk *take_chunk(pgh_copy_spool *s)
{
    pgh_copy_chunk *c = s->spare;
    s->spare = NULL;
    if (c == NULL)
        c = malloc(sizeof(*c));
    if (c != NULL) {
        c->next = NULL;
        c->len = 0;
    }
    return c;
}

static void give_back(pgh_copy_spool *s, pgh_copy_chunk *c)
{
    if (s->spare == NULL)
        s->spare = c;
    else
        free(c);
}

static void enqueue(pgh_copy_spool *s, pgh_copy_chunk *c)
{
    if (s->tail)
        s->tail->next = c;
    else
        s->head = c;
    s->tail = c;
    s->queued += c->len;
}

/* Give libpq queued chunks while it has sent everything it held; stop at the first it could
 * not send (the destination's socket is full). Never waits. */
static int send_ready(pgh_copy_spool *s, PGconn *conn, pgh_error *err)
{
    while (s->head) {
        int left = PQflush(conn);
        if (left < 0)
            return pgh_conn_error(err, conn, NULL, WHAT);
        if (left > 0)
            return 0;
        pgh_copy_chunk *c = s->head;
        if (PQputCopyData(conn, c->data, (int)c->len) != 1)
            return pgh_conn_error(err, conn, NULL, WHAT);
        s->head = c->next;
        if (s->head == NULL)
            s->tail = NULL;
        s->queued -= c->len;
        give_back(s, c);
    }
    return 0;
}

/* Send the queue, waiting for the destination, until it is empty or the clock reaches until
 * (pgh_clock_ms(); < 0: no limit). */
static int send_queue(pgh_copy_spool *s, PGconn *conn, int64_t until, pgh_error *err)
{
    for (;;) {
        int rc = send_ready(s, conn, err);
        bool forever = until < 0;
        int64_t left = forever ? 0 : until - pgh_clock_ms();
        if (rc != 0 || s->head == NULL || (!forever && left <= 0))
            return rc;
        rc = pgh_conn_wait_writable(conn, forever ? -1 : (int)left, err, WHAT);
        if (rc != 0)
            return rc;
    }
}

int pgh_copy_spool_put(pgh_copy_spool *s, PGconn *conn, const char *data, size_t len,
                       pgh_error *err)
{
    while (len > 0) {
        if (s->fill == NULL && (s->fill = take_chunk(s)) == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_copy_chunk *c = s->fill;
        size_t n = sizeof(c->data) - c->len < len ? sizeof(c->data) - c->len : len;
        memcpy(c->data + c->len, data, n);
        c->len += n;
        data += n;
        len -= n;
        if (c->len < sizeof(c->data))
            continue;
        s->fill = NULL;
        enqueue(s, c);
        int rc = send_queue(s, conn, s->wait_until, err);
        if (rc == 0 && s->most > 0 && s->queued > s->most)
            rc = send_queue(s, conn, -1, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int pgh_copy_spool_drain(pgh_copy_spool *s, PGconn *conn, pgh_error *err)
{
    if (s->fill && s->fill->len > 0) {
        enqueue(s, s->fill);
        s->fill = NULL;
    }
    int rc = send_queue(s, conn, -1, err);
    return rc == 0 ? pgh_conn_flush_wait(conn, err, WHAT) : rc;
}

void pgh_copy_spool_discard(pgh_copy_spool *s)
{
    while (s->head) {
        pgh_copy_chunk *c = s->head;
        s->head = c->next;
        give_back(s, c);
    }
    s->tail = NULL;
    s->queued = 0;
    if (s->fill)
        s->fill->len = 0;
}

void pgh_copy_spool_dispose(pgh_copy_spool *s)
{
    pgh_copy_spool_discard(s);
    free(s->fill);
    free(s->spare);
    size_t most = s->most;
    *s = (pgh_copy_spool){.most = most};
}
