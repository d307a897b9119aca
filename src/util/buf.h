/*
 * pghost/buf.h - pgh_buf, the one string builder.
 *
 * A growable byte buffer with a hard cap set at init and a sticky failure state: after an
 * allocation failure or an append past the cap every further append is a no-op, and the caller
 * checks pgh_buf_failed() once at the end. The contents are always NUL-terminated.
 */
#ifndef PGHOST_BUF_H
#define PGHOST_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pgh_buf {
    char *data;     /* owned; NULL until the first append */
    size_t len;     /* bytes used, not counting the terminating NUL */
    size_t cap;     /* bytes allocated */
    size_t max_len; /* hard cap on len */
    bool failed;    /* sticky: an append failed */
} pgh_buf;

#define PGH_BUF_DEFAULT_MAX ((size_t)1 << 30)

/* Caller owns the struct; max_len 0 means PGH_BUF_DEFAULT_MAX. */
void pgh_buf_init(pgh_buf *b, size_t max_len);
void pgh_buf_dispose(pgh_buf *b);
/* Empty the buffer, keep the allocation, clear the failure state. */
void pgh_buf_reset(pgh_buf *b);

void pgh_buf_append(pgh_buf *b, const void *data, size_t len);
void pgh_buf_puts(pgh_buf *b, const char *s);
void pgh_buf_putc(pgh_buf *b, char c);
void pgh_buf_printf(pgh_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Contents as a C string ("" when empty); borrowed until the next append or reset. */
const char *pgh_buf_str(const pgh_buf *b);
bool pgh_buf_failed(const pgh_buf *b);

/* Append key=value in libpq's connection string syntax: the value goes in single quotes, with
 * \' and \\ for its quotes and backslashes, whenever it is empty or holds a space, a quote or
 * a backslash, so that PQconninfoParse gives back exactly val. */
void pgh_buf_put_conninfo_pair(pgh_buf *b, const char *key, const char *val);

/* Hand the bytes to the caller (free() them); the buffer is left empty. NULL if failed. */
char *pgh_buf_take(pgh_buf *b);

#endif
