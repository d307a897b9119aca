/*
 * it_nats_auth.c - the distributed mode's security keys against a real nats-server
 * (docs/nats.md, "Security"): pghost capture and pghost apply (into PostgreSQL) through a server
 * that wants what the key gives, rows written on the source while both run, and the full
 * ordered dumps of source and destination equal; then what a DBA gets wrong, each one line with
 * the documented exit status, no secret shown, nothing made (no slot).
 *
 * Cases:
 *   nkey  the server knows one user by NKey public key (authorization { users = [{nkey}] }).
 *         The key pair is nats-io's (nats.rs tests/auth_nkey.rs): the server is given the public
 *         key and pghost only the seed file, so the connection proves pghost derived the public
 *         key right and nats.c signed with the seed. Then: another user's seed (capture and
 *         apply refused, exit 2; also given as PGH_CFG_NATS_NKEY_FILE), a seed file with a mistyped character (its checksum), a file
 *         that cannot be read, no credentials at all, nats_nkey_file beside nats_token_file and
 *         beside a user:password@ in nats_url.
 *   tls   the server requires TLS (tls { cert_file, key_file }) with a certificate of a CA the
 *         test makes with the openssl command: works with nats_ca_file naming that CA; without
 *         nats_ca_file, with another CA, and with a certificate for another name, one line
 *         that names the verification failure.
 *   creds a nats-server in operator mode (memory resolver) with an operator, a system account
 *         and an account with JetStream, whose JWTs the test makes and signs (pgh_nats_jwt.h):
 *         works with nats_credentials_file holding a user of that account; a user of an account
 *         the server does not know, and a file that is not a .creds file, are refused, one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_nats.h"
#include "pgh_nats_jwt.h"
#include "pgh_run.h"

/* nats-io's pair (nats.rs tests/auth_nkey.rs, tests/configs/nkey.conf) */
#define USER_SEED "SUANQDPB2RUOE4ETUA26CNX7FUKE5ZZKFCQIIW63OX225F2CO7UEXTM7ZY"
#define USER_PUBLIC "UAMMBNV2EYR65NYZZ7IAK5SIR5ODNTTERJOBOF4KJLMWI45YOXOSWULM"
/* another user's seed (prefix 0x95 0x00, key bytes 101..132, its CRC16; made with Python) */
#define OTHER_SEED "SUAGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHBH5L4"
/* USER_SEED with its 21st character mistyped */
#define TYPO_SEED "SUANQDPB2RUOE4ETUA26DNX7FUKE5ZZKFCQIIW63OX225F2CO7UEXTM7ZY"

#define ROWS 2000

typedef struct ctx {
    pgh_run_pair p;
    pgh_nats nats;
    pgh_run cap, app;
    char dir[PGH_RUN_FILE_MAX];
} ctx;

static void create_table(PGconn *c)
{
    pgh_test_exec(c, "CREATE TABLE t_a (id int PRIMARY KEY, v int NOT NULL, note text)");
}

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    snprintf(c->dir, sizeof(c->dir), "%s", c->p.src.dir);
    create_table(c->p.s);
    create_table(c->p.d);
    pgh_test_exec(c->p.s, "INSERT INTO t_a SELECT g, g, md5(g::text) FROM generate_series(1, %d) g",
                  ROWS);
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE t_a");
    pgh_run_init(&c->cap, &c->p, PGH_BINARY, "cap", "capture.yaml");
    pgh_run_init(&c->app, &c->p, PGH_BINARY, "app", "apply.yaml");
}

static void write_file(ctx *c, const char *name, const char *text, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", c->dir, name);
    FILE *f = fopen(path, "w");
    PGH_CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

/* The configurations of capture and apply, with url and the security lines `extra`. */
static void write_configs(ctx *c, const char *url, const char *extra)
{
    pgh_run_write_config(&c->cap,
                         "source_connection: %s\ndestination: nats\npublication_name: pub\n"
                         "tables:\n  - t_a\nnats_url: %s\n%s",
                         c->p.src_conninfo, url, extra);
    pgh_run_write_config(&c->app,
                         "source: nats\npublication_name: pub\ndestination_connection: %s\n"
                         "tables:\n  - t_a\nnats_url: %s\nnats_consumer: pg_apply\n%s",
                         c->p.dst_conninfo, url, extra);
}

/* Capture and apply with these keys, while the source changes; then the dumps must be equal. */
static void round_trip(ctx *c, const char *url, const char *extra)
{
    write_configs(c, url, extra);
    pid_t cap = pgh_run_spawn(&c->cap, "capture", NULL);
    PGH_CHECK(pgh_run_poll(&c->cap, cap, c->p.s, 300, 100,
                           "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = "
                           "'pghost_pub'"),
              "capture made no slot:\n%s", pgh_run_stderr(&c->cap, 0));
    pid_t app = pgh_run_spawn(&c->app, "apply", NULL);
    for (int i = 0; i < 20; i++) { /* updates, deletes, inserts while both run */
        pgh_test_exec(c->p.s,
                      "BEGIN; UPDATE t_a SET v = v + 1, note = 'u%d' WHERE id %% 20 = %d; "
                      "DELETE FROM t_a WHERE id = %d; INSERT INTO t_a VALUES (%d, %d, 'n'); COMMIT",
                      i, i, 100 + i, ROWS + 1 + i, i);
        pgh_run_sleep_ms(50);
    }
    pgh_run_fence_value(&c->app, app, "t_a", ROWS + 1000, 42, NULL);
    pgh_run_compare(&c->p, "SELECT id, v, note FROM t_a ORDER BY id", NULL,
                    pgh_run_stderr(&c->app, 0));
    pgh_run_stop(&c->app, app, 30);
    pgh_run_stop(&c->cap, cap, 30);
}

/* Run `cmd` (capture or apply) with config text; stderr must be one line holding want and not
 * the secret (may be NULL); the exit status want_code. */
static void expect_failure(ctx *c, pgh_run *r, const char *config, int want_code,
                           const char *want, const char *secret)
{
    pgh_run_write_config(r, "%s", config);
    int code = r == &c->cap ? pgh_run_exec(r, 60, "capture", "--changes-only", NULL)
                            : pgh_run_exec(r, 60, "apply", "--stop-when-idle=1", NULL);
    const char *err = pgh_run_stderr(r, 0);
    printf("exit %d: %s", code, err);
    PGH_CHECK(code == want_code, "exited %d, expected %d:\n%s", code, want_code, err);
    PGH_CHECK(strstr(err, want) != NULL, "the message lacks \"%s\":\n%s", want, err);
    const char *nl = strchr(err, '\n');
    PGH_CHECK(nl != NULL && nl[1] == '\0', "more than one line:\n%s", err);
    PGH_CHECK(secret == NULL || strstr(err, secret) == NULL, "the secret shows:\n%s", err);
}

/* A capture that fails with these lines (slot s_fail: it must not be made). */
static void capture_fails(ctx *c, const char *url, const char *extra, const char *want,
                          const char *secret)
{
    char cfg[4096];
    snprintf(cfg, sizeof(cfg),
             "source_connection: %s\ndestination: nats\npublication_name: pub\nslot_name: s_fail\n"
             "tables:\n  - t_a\nnats_url: %s\n%s",
             c->p.src_conninfo, url, extra);
    expect_failure(c, &c->cap, cfg, 2, want, secret);
    char *n = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots WHERE "
                                     "slot_name = 's_fail'");
    PGH_CHECK(strcmp(n, "0") == 0, "slot s_fail was left behind");
    free(n);
}

/* An applier that fails with these lines (the stream exists: the round trip made it). */
static void apply_fails(ctx *c, const char *url, const char *extra, const char *want,
                        const char *secret)
{
    char cfg[4096];
    snprintf(cfg, sizeof(cfg),
             "source: nats\npublication_name: pub\ndestination_connection: %s\n"
             "tables:\n  - t_a\nnats_url: %s\nnats_consumer: pg_apply\n%s",
             c->p.dst_conninfo, url, extra);
    expect_failure(c, &c->app, cfg, 2, want, secret);
}

static void case_nkey(ctx *c)
{
    setup(c);
    pgh_nats_start_conf(&c->nats, c->dir,
                        "authorization { users = [ { nkey: " USER_PUBLIC " } ] }\n");
    char seed[PGH_RUN_FILE_MAX + 16], other[sizeof(seed)], typo[sizeof(seed)],
        token[sizeof(seed)], extra[3 * sizeof(seed)], url[512];
    write_file(c, "user.nk", USER_SEED "\n", seed, sizeof(seed));
    write_file(c, "other.nk", OTHER_SEED "\n", other, sizeof(other));
    write_file(c, "typo.nk", TYPO_SEED "\n", typo, sizeof(typo));
    write_file(c, "token", "some-token\n", token, sizeof(token));
    snprintf(extra, sizeof(extra), "nats_nkey_file: %s\n", seed);
    round_trip(c, c->nats.url, extra);

    snprintf(extra, sizeof(extra), "nats_nkey_file: %s\n", other);
    capture_fails(c, c->nats.url, extra, "authorization refused: check nats_nkey_file",
                  OTHER_SEED);
    apply_fails(c, c->nats.url, extra, "authorization refused: check nats_nkey_file",
                OTHER_SEED);
    setenv("PGH_CFG_NATS_NKEY_FILE", other, 1); /* the key from the environment */
    capture_fails(c, c->nats.url, "", "authorization refused: check nats_nkey_file", OTHER_SEED);
    unsetenv("PGH_CFG_NATS_NKEY_FILE");
    snprintf(extra, sizeof(extra), "nats_nkey_file: %s\n", typo);
    capture_fails(c, c->nats.url, extra,
                  "does not hold a user's NKey seed: its checksum does not match", "SUANQ");
    snprintf(extra, sizeof(extra), "nats_nkey_file: %s/missing.nk\n", c->dir);
    capture_fails(c, c->nats.url, extra, "missing.nk cannot be read", NULL);
    capture_fails(c, c->nats.url, "", "authorization refused: the server wants credentials",
                  NULL);
    snprintf(extra, sizeof(extra), "nats_nkey_file: %s\nnats_token_file: %s\n", seed, token);
    capture_fails(c, c->nats.url, extra, "nats_nkey_file and nats_token_file are both set",
                  "SUANQ");
    snprintf(url, sizeof(url), "nats://someone:pw-secret-x9@%s", c->nats.url + strlen("nats://"));
    snprintf(extra, sizeof(extra), "nats_nkey_file: %s\n", seed);
    capture_fails(c, url, extra, "nats_url holds a user and password and nats_nkey_file is set",
                  "pw-secret-x9");
    capture_fails(c, url, "", "authorization refused: check the user and password in nats_url",
                  "pw-secret-x9");
}

/* openssl with these arguments, in dir; fails the test unless it exits 0. */
static void openssl(ctx *c, const char *const *args)
{
    const char *argv[32] = {"openssl"};
    int n = 1;
    for (; args[n - 1] != NULL && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    char log[PGH_RUN_FILE_MAX + 16];
    snprintf(log, sizeof(log), "%s/openssl.log", c->dir);
    int code = -1;
    PGH_CHECK(pgh_test_run(argv, log, log, 30, &code) == 0 && code == 0,
              "openssl %s failed (exit %d); see %s", args[0], code, log);
}

/* A self-signed CA (name.key, name.pem) in dir. */
static void make_ca(ctx *c, const char *name)
{
    char key[PGH_RUN_FILE_MAX + 16], pem[sizeof(key)], subj[64];
    snprintf(key, sizeof(key), "%s/%s.key", c->dir, name);
    snprintf(pem, sizeof(pem), "%s/%s.pem", c->dir, name);
    snprintf(subj, sizeof(subj), "/CN=pghost test %s", name);
    const char *args[] = {"req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", pem,
                          "-days", "2", "-subj", subj, NULL};
    openssl(c, args);
}

/* name.key and name.pem for the names `alt` (subjectAltName), signed by the CA `ca`. */
static void make_server_cert(ctx *c, const char *name, const char *ca, const char *alt)
{
    char key[PGH_RUN_FILE_MAX + 16], pem[sizeof(key)], ca_key[sizeof(key)], ca_pem[sizeof(key)];
    char san[256], subj[64];
    snprintf(subj, sizeof(subj), "/CN=%s", name);
    snprintf(key, sizeof(key), "%s/%s.key", c->dir, name);
    snprintf(pem, sizeof(pem), "%s/%s.pem", c->dir, name);
    snprintf(san, sizeof(san), "subjectAltName=%s", alt);
    snprintf(ca_key, sizeof(ca_key), "%s/%s.key", c->dir, ca);
    snprintf(ca_pem, sizeof(ca_pem), "%s/%s.pem", c->dir, ca);
    const char *args[] = {"req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", pem,
                          "-days", "2", "-subj", subj, "-CA", ca_pem, "-CAkey", ca_key,
                          "-addext", san, NULL};
    openssl(c, args);
}

/* nats-server requiring TLS with the certificate name.pem. */
static void start_tls(ctx *c, const char *name)
{
    char conf[2 * PGH_RUN_FILE_MAX + 128];
    snprintf(conf, sizeof(conf), "tls {\n  cert_file: \"%s/%s.pem\"\n  key_file: \"%s/%s.key\"\n}\n",
             c->dir, name, c->dir, name);
    pgh_nats_start_conf(&c->nats, c->dir, conf);
}

static void case_tls(ctx *c)
{
    setup(c);
    make_ca(c, "ca");
    make_ca(c, "other_ca");
    make_server_cert(c, "server", "ca", "IP:127.0.0.1,DNS:localhost");
    make_server_cert(c, "elsewhere", "ca", "DNS:elsewhere.example");
    char extra[PGH_RUN_FILE_MAX + 64];
    start_tls(c, "server");
    snprintf(extra, sizeof(extra), "nats_ca_file: %s/ca.pem\n", c->dir);
    round_trip(c, c->nats.url, extra);

    const char *unverified = "TLS failed, the server's certificate was not verified "
                             "(20:unable to get local issuer certificate";
    capture_fails(c, c->nats.url, "", unverified, NULL);
    apply_fails(c, c->nats.url, "", unverified, NULL);
    snprintf(extra, sizeof(extra), "nats_ca_file: %s/other_ca.pem\n", c->dir);
    capture_fails(c, c->nats.url, extra, unverified, NULL);
    snprintf(extra, sizeof(extra), "nats_ca_file: %s/missing.pem\n", c->dir);
    capture_fails(c, c->nats.url, extra, "missing.pem cannot be loaded", NULL);
    /* the right CA, but a certificate for another name */
    pgh_nats_stop(&c->nats);
    start_tls(c, "elsewhere");
    snprintf(extra, sizeof(extra), "nats_ca_file: %s/ca.pem\n", c->dir);
    capture_fails(c, c->nats.url, extra,
                  "not verified (64:IP address mismatch:depth=0:cert=/CN=elsewhere", NULL);
}

static void case_creds(ctx *c)
{
    setup(c);
    static char conf[32 * 1024];
    pgh_nats_jwt_server_conf(conf, sizeof(conf), 7);
    pgh_nats_start_conf(&c->nats, c->dir, conf);
    char good[PGH_RUN_FILE_MAX + 16], stranger[sizeof(good)], junk[sizeof(good)],
        extra[sizeof(good) + 64];
    snprintf(good, sizeof(good), "%s/good.creds", c->dir);
    snprintf(stranger, sizeof(stranger), "%s/stranger.creds", c->dir);
    pgh_nats_jwt_creds(good, 7, 200, 1);
    pgh_nats_jwt_creds(stranger, 7, 201, 0);
    write_file(c, "junk.creds", "not a creds file\n", junk, sizeof(junk));
    snprintf(extra, sizeof(extra), "nats_credentials_file: %s\n", good);
    round_trip(c, c->nats.url, extra);

    snprintf(extra, sizeof(extra), "nats_credentials_file: %s\n", stranger);
    capture_fails(c, c->nats.url, extra, "authorization refused: check nats_credentials_file",
                  "-----");
    apply_fails(c, c->nats.url, extra, "authorization refused: check nats_credentials_file",
                "-----");
    snprintf(extra, sizeof(extra), "nats_credentials_file: %s\n", junk);
    capture_fails(c, c->nats.url, extra,
                  "junk.creds cannot be used (no nkey user seed found in", "not a creds file");
    snprintf(extra, sizeof(extra), "nats_credentials_file: %s/missing.creds\n", c->dir);
    capture_fails(c, c->nats.url, extra, "missing.creds cannot be used", NULL);
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_nats_auth nkey|tls|creds");
    static ctx c;
    double t0 = pgh_run_now_ms();
    if (strcmp(argv[1], "nkey") == 0)
        case_nkey(&c);
    else if (strcmp(argv[1], "tls") == 0)
        case_tls(&c);
    else if (strcmp(argv[1], "creds") == 0)
        case_creds(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    printf("%s: %.1f s\n", argv[1], (pgh_run_now_ms() - t0) / 1000);
    pgh_nats_stop(&c.nats);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
