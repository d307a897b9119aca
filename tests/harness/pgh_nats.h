/*
 * pgh_nats.h - real nats-server processes with JetStream for integration tests: one node, or a
 * three-node cluster, on free loopback ports, each with a store directory inside dir (a temp
 * dir of the test, usually a PostgreSQL server's, removed with it).
 *
 * Servers are started with pgh_test_spawn(), so the harness watchdog SIGKILLs them when the test
 * dies. Same error rule as pgh_test.h: void functions fail the test themselves.
 */
#ifndef PGH_NATS_H
#define PGH_NATS_H

#include <stdbool.h>
#include <sys/types.h>

#include "pgh_test.h"

#define PGH_NATS_MAX_NODES 3

typedef struct pgh_nats_node {
    int port;        /* client port on 127.0.0.1 */
    int cluster_port; /* route port (clusters only) */
    char store[PGH_TEST_PATH_MAX + 32]; /* JetStream store directory */
    char log[PGH_TEST_PATH_MAX + 32];   /* the server's output */
    pid_t pid;       /* running process, 0 when down */
} pgh_nats_node;

typedef struct pgh_nats {
    int nodes;       /* 1 or 3 */
    char dir[PGH_TEST_PATH_MAX];
    pgh_nats_node node[PGH_NATS_MAX_NODES];
    char url[256];   /* nats://127.0.0.1:P1[,nats://127.0.0.1:P2,...] */
    char token[64];  /* set before pgh_nats_start (after zeroing): clients must give it */
    char conf[PGH_TEST_PATH_MAX + 32]; /* a configuration file (-c), "" for none */
} pgh_nats;

/* Start nodes (1 or 3: a JetStream cluster) with their files under dir; waits until each
 * accepts connections (and a cluster has its meta leader). token: "" or the token clients
 * must give. */
void pgh_nats_start(pgh_nats *n, int nodes, const char *dir, const char *token);
/* Start one node with a configuration file: conf_text (its authorization {} or tls {} blocks,
 * say) is written to dir/nats.conf and given with -c; port, store and JetStream come from the
 * command line as for pgh_nats_start. With a tls {} block, url still reads nats://: clients
 * that want TLS say so themselves. */
void pgh_nats_start_conf(pgh_nats *n, const char *dir, const char *conf_text);
/* SIGKILL node i (as in a crash) and reap it. */
void pgh_nats_kill(pgh_nats *n, int i);
/* Start node i again, same ports and store; waits until it accepts connections. */
void pgh_nats_restart(pgh_nats *n, int i);
/* Stop every node (SIGTERM, then SIGKILL after 5 s). */
void pgh_nats_stop(pgh_nats *n);

#endif
