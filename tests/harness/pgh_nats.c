/* pgh_nats.c - nats-server processes for tests (pgh_nats.h). */
#include "pgh_nats.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void spawn_node(pgh_nats *n, int i)
{
    pgh_nats_node *nd = &n->node[i];
    char port[16], cport[16], name[16], routes[256] = "";
    snprintf(port, sizeof(port), "%d", nd->port);
    snprintf(cport, sizeof(cport), "%d", nd->cluster_port);
    snprintf(name, sizeof(name), "n%d", i + 1);
    for (int k = 0; k < n->nodes; k++) {
        size_t len = strlen(routes);
        snprintf(routes + len, sizeof(routes) - len, "%snats-route://127.0.0.1:%d",
                 len ? "," : "", n->node[k].cluster_port);
    }
    const char *argv[24] = {"nats-server", "-js", "-a", "127.0.0.1", "-p", port, "-sd",
                            nd->store, "-n", name};
    int a = 10;
    if (n->conf[0]) {
        argv[a++] = "-c";
        argv[a++] = n->conf;
    }
    if (n->token[0]) {
        argv[a++] = "--auth";
        argv[a++] = n->token;
    }
    if (n->nodes > 1) {
        argv[a++] = "--cluster_name";
        argv[a++] = "pghtest";
        argv[a++] = "--cluster";
        static char listen[PGH_NATS_MAX_NODES][64];
        snprintf(listen[i], sizeof(listen[i]), "nats://127.0.0.1:%d", nd->cluster_port);
        argv[a++] = listen[i];
        argv[a++] = "--routes";
        static char rts[PGH_NATS_MAX_NODES][256];
        snprintf(rts[i], sizeof(rts[i]), "%s", routes);
        argv[a++] = rts[i];
    }
    argv[a] = NULL;
    nd->pid = pgh_test_spawn(argv, nd->log, nd->log);
    if (nd->pid < 0)
        pgh_test_fail("cannot start nats-server (is it installed? scripts/install-deps.sh)");
    for (int t = 0; t < 200 && !accepts(nd->port); t++) {
        if (!pgh_test_pid_alive(nd->pid))
            pgh_test_fail("nats-server %s exited at start; see %s", name, nd->log);
        sleep_ms(50);
    }
    if (!accepts(nd->port))
        pgh_test_fail("nats-server %s does not accept connections on %d", name, nd->port);
}

static void start_nodes(pgh_nats *n, int nodes, const char *dir)
{
    n->nodes = nodes;
    snprintf(n->dir, sizeof(n->dir), "%s", dir);
    for (int i = 0; i < nodes; i++) {
        pgh_nats_node *nd = &n->node[i];
        nd->port = pgh_test_free_port();
        nd->cluster_port = pgh_test_free_port();
        snprintf(nd->store, sizeof(nd->store), "%s/nats%d", dir, i + 1);
        snprintf(nd->log, sizeof(nd->log), "%s/nats%d.log", dir, i + 1);
        mkdir(nd->store, 0700);
        size_t len = strlen(n->url);
        snprintf(n->url + len, sizeof(n->url) - len, "%snats://127.0.0.1:%d", i ? "," : "",
                 nd->port);
    }
    for (int i = 0; i < nodes; i++)
        spawn_node(n, i);
    if (nodes > 1)
        sleep_ms(3000); /* routes connect and a JetStream meta leader is elected */
}

void pgh_nats_start(pgh_nats *n, int nodes, const char *dir, const char *token)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->token, sizeof(n->token), "%s", token ? token : "");
    start_nodes(n, nodes, dir);
}

void pgh_nats_start_conf(pgh_nats *n, const char *dir, const char *conf_text)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->conf, sizeof(n->conf), "%s/nats.conf", dir);
    FILE *f = fopen(n->conf, "w");
    if (f == NULL || fputs(conf_text, f) < 0 || fclose(f) != 0)
        pgh_test_fail("cannot write %s", n->conf);
    start_nodes(n, 1, dir);
}

void pgh_nats_kill(pgh_nats *n, int i)
{
    pgh_nats_node *nd = &n->node[i];
    if (nd->pid <= 0)
        return;
    kill(nd->pid, SIGKILL);
    int code = 0;
    pgh_test_wait(nd->pid, 10, &code);
    nd->pid = 0;
}

void pgh_nats_restart(pgh_nats *n, int i)
{
    pgh_nats_kill(n, i);
    spawn_node(n, i);
}

void pgh_nats_stop(pgh_nats *n)
{
    for (int i = 0; i < n->nodes; i++) {
        pgh_nats_node *nd = &n->node[i];
        if (nd->pid <= 0)
            continue;
        kill(nd->pid, SIGTERM);
        int code = 0;
        pgh_test_wait(nd->pid, 5, &code);
        nd->pid = 0;
    }
}
