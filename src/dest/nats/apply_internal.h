/*
 * dest/nats/apply_internal.h - private to pghost apply (apply.c: the consumer and the run;
 * apply_txn.c: the messages into destination calls, transaction by transaction).
 */
#ifndef PGH_DEST_NATS_APPLY_INTERNAL_H
#define PGH_DEST_NATS_APPLY_INTERNAL_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "link.h"
#include "pghost/nats.h"

typedef struct rel_entry {
    char *subject;       /* owned */
    pgh_relation rel;    /* owned insides */
    bool delivered;      /* the destination saw this description */
} rel_entry;

typedef struct applier {
    const pgh_config *cfg;    /* borrowed */
    pgh_nats_link link;
    natsSubscription *sub;    /* owned */
    const pgh_destination_ops *ops; /* borrowed from dest */
    void *user;
    char consumer[128];
    pgh_lsn applied;          /* end LSN of the last transaction the destination holds */
    pgh_bus_id last;          /* the last message delivered */
    bool open;                /* a transaction is open in the destination */
    pgh_lsn cur;              /* its txn */
    rel_entry *rels;          /* owned, nrels */
    size_t nrels;
    natsMsg *ack_msg;         /* owned: acknowledge once ack_lsn is durable */
    pgh_lsn ack_lsn;
    natsMsg *ack_next;        /* owned: the last message read outside a transaction */
    uint64_t seq;             /* stream sequence of the message being applied */
    uint64_t cseq;            /* consumer sequence of the last message delivered to us */
    pgh_change trunc;         /* a TRUNCATE being gathered: one T per table, in a row */
    size_t *trunc_rel;        /* owned: index in rels of each table, ntrunc of them */
    size_t ntrunc, cap_trunc;
    bool dirty;               /* committed since the last flush */
    char phase[PGH_POSITION_PHASE_MAX]; /* the capture's phase at the last commit */
} applier;

/* Apply one decoded message that came on subject (apply_txn.c): skipped when the destination
 * holds it already or it is a repeat, else delivered; a transaction is committed at its first
 * C, or when the next one begins without it. */
int pgh_nats__apply_one(applier *a, pgh_bus_msg *m, const char *subject, pgh_error *err);

#endif
