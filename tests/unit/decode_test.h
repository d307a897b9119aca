/*
 * decode_test.h - what the decode unit tests share: CHECK macros, the hex fixture loader, a
 * byte builder for hand-made messages, and main().
 *
 * Each test executable takes one case name as argv[1] and runs that case (decode.cmake registers
 * one ctest entry per case: it collects the names from the TEST_CASE(...) lines, and every
 * TEST_CASE must also be listed in the file's case table or the build fails on an unused
 * function). A failed CHECK prints file:line and exits 1.
 *
 * Fixture files (tests/fixtures/pgoutput/NAME.hex): one message per line as hex; '#' lines are
 * comments, and the comment line just before a message names it ("# name: what it is").
 */
#ifndef PGH_TESTS_DECODE_TEST_H
#define PGH_TESTS_DECODE_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_check.h"

#ifndef PGH_FIXTURES_DIR
#error "PGH_FIXTURES_DIR must name tests/fixtures/pgoutput"
#endif

#define CHECK_INT(got, want)                                                                       \
    do {                                                                                           \
        long long got_ = (long long)(got);                                                         \
        long long want_ = (long long)(want);                                                       \
        if (got_ != want_) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %lld, expected %s == %lld\n", __FILE__,    \
                    __LINE__, #got, got_, #want, want_);                                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_U64(got, want)                                                                       \
    do {                                                                                           \
        uint64_t got_ = (uint64_t)(got);                                                           \
        uint64_t want_ = (uint64_t)(want);                                                         \
        if (got_ != want_) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s == 0x%" PRIx64 ", expected 0x%" PRIx64 "\n",  \
                    __FILE__, __LINE__, #got, got_, want_);                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* data/len equal to the bytes of a string literal or buffer. */
#define CHECK_MEM(data, len, want, want_len)                                                       \
    do {                                                                                           \
        size_t len_ = (size_t)(len);                                                               \
        if (len_ != (size_t)(want_len) || (len_ != 0 && memcmp((data), (want), len_) != 0)) {      \
            fprintf(stderr, "%s:%d: CHECK failed: %s (%zu bytes) differs from %s (%zu bytes)\n",   \
                    __FILE__, __LINE__, #data, len_, #want, (size_t)(want_len));                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_STR_LIT(data, len, lit) CHECK_MEM(data, len, lit, sizeof(lit) - 1)

/* err->message contains needle. */
#define CHECK_MSG(err, needle)                                                                     \
    do {                                                                                           \
        if (strstr((err)->message, (needle)) == NULL) {                                            \
            fprintf(stderr, "%s:%d: error message \"%s\" does not contain \"%s\"\n", __FILE__,     \
                    __LINE__, (err)->message, (needle));                                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* ---- fixtures ---- */

typedef struct fx_msg {
    char name[64]; /* from the comment line before it */
    uint8_t *data; /* owned */
    size_t len;
} fx_msg;

typedef struct fx_file {
    fx_msg *msgs; /* owned, n entries, in file order */
    size_t n;
} fx_file;

static inline int fx_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Load PGH_FIXTURES_DIR/file; exits on any error (a broken fixture is a failed test). */
static inline fx_file fx_load(const char *file)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", PGH_FIXTURES_DIR, file);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        exit(1);
    }
    fx_file fx = {NULL, 0};
    char name[64] = "";
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (line[0] == '#') {
            const char *s = line + 1;
            while (*s == ' ')
                s++;
            size_t k = strcspn(s, ": ");
            if (k >= sizeof(name))
                k = sizeof(name) - 1;
            memcpy(name, s, k);
            name[k] = '\0';
            continue;
        }
        if (n % 2 != 0) {
            fprintf(stderr, "%s: odd-length hex line after \"%s\"\n", path, name);
            exit(1);
        }
        fx_msg *msgs = realloc(fx.msgs, (fx.n + 1) * sizeof(*msgs));
        CHECK(msgs != NULL);
        fx.msgs = msgs;
        fx_msg *m = &fx.msgs[fx.n++];
        memcpy(m->name, name, sizeof(m->name));
        m->len = (size_t)n / 2;
        m->data = malloc(m->len ? m->len : 1);
        CHECK(m->data != NULL);
        for (size_t i = 0; i < m->len; i++) {
            int hi = fx_hexval(line[2 * i]);
            int lo = fx_hexval(line[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                fprintf(stderr, "%s: bad hex after \"%s\"\n", path, name);
                exit(1);
            }
            m->data[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    free(line);
    fclose(f);
    CHECK(fx.n > 0);
    return fx;
}

static inline void fx_free(fx_file *fx)
{
    for (size_t i = 0; i < fx->n; i++)
        free(fx->msgs[i].data);
    free(fx->msgs);
    fx->msgs = NULL;
    fx->n = 0;
}

/* The message named name; exits when there is none. */
static inline const fx_msg *fx_find(const fx_file *fx, const char *name)
{
    for (size_t i = 0; i < fx->n; i++) {
        if (strcmp(fx->msgs[i].name, name) == 0)
            return &fx->msgs[i];
    }
    fprintf(stderr, "no fixture message named %s\n", name);
    exit(1);
}

/* Index of the message named name. */
static inline size_t fx_index(const fx_file *fx, const char *name)
{
    return (size_t)(fx_find(fx, name) - fx->msgs);
}

/* A heap copy of exactly len bytes of data, so ASan sees any read past len. Free it. */
static inline uint8_t *exact_copy(const uint8_t *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    CHECK(p != NULL);
    if (len)
        memcpy(p, data, len);
    return p;
}

/* ---- hand-made messages ---- */

typedef struct bytes {
    uint8_t data[4096];
    size_t len;
} bytes;

static inline void put8(bytes *b, uint8_t v)
{
    CHECK(b->len < sizeof(b->data));
    b->data[b->len++] = v;
}

static inline void put16(bytes *b, uint16_t v)
{
    put8(b, (uint8_t)(v >> 8));
    put8(b, (uint8_t)v);
}

static inline void put32(bytes *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b, (uint16_t)v);
}

static inline void put64(bytes *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b, (uint32_t)v);
}

static inline void putmem(bytes *b, const void *p, size_t n)
{
    CHECK(n <= sizeof(b->data) - b->len);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* A string with its NUL, as the protocol sends it. */
static inline void putstr(bytes *b, const char *s)
{
    putmem(b, s, strlen(s) + 1);
}

/* ---- main ---- */

#define TEST_CASE(name) static void name(void)

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

#define CASE(name)                                                                                 \
    {                                                                                              \
#name, name                                                                                \
    }

static inline int test_main(const test_case *cases, size_t ncases, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < ncases; i++) {
        if (strcmp(cases[i].name, argv[1]) == 0) {
            cases[i].fn();
            return 0;
        }
    }
    fprintf(stderr, "%s: no case named %s\n", argv[0], argv[1]);
    return 2;
}

#endif
