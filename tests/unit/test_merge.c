/*
 * tests/unit/test_merge.c - the merge window of the PostgreSQL apply (src/dest/postgres/merge.h):
 * each key's changes to their net effect, what is refused, and the order of a flush. Statements
 * are recorded as text: "D k" (DELETE at key k), "U k a b" (UPDATE, '~' for a value left
 * unchanged), "I k a b" (INSERT); a multi-row statement's rows are separated by ','.
 */
#include <stdio.h>
#include <string.h>

#include "dest/postgres/merge.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "line %d: %s\n", __LINE__, #cond);                                     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int key_att[1] = {0};
static apply_rel REL = {.ncols = 3, .nkeys = 1, .key_att = key_att};
static apply_rel REL2 = {.ncols = 3, .nkeys = 1, .key_att = key_att};

/* A value from text: "~" unchanged TOAST, "-" NULL. */
static pgh_value val(const char *s)
{
    if (strcmp(s, "~") == 0)
        return (pgh_value){PGH_VALUE_UNCHANGED, 0, NULL};
    if (strcmp(s, "-") == 0)
        return (pgh_value){PGH_VALUE_NULL, 0, NULL};
    return (pgh_value){PGH_VALUE_TEXT, (uint32_t)strlen(s), s};
}

typedef struct row {
    pgh_value v[3];
} row;

static row mk(const char *k, const char *a, const char *b)
{
    return (row){{val(k), val(a), val(b)}};
}

/* Add a change; returns whether it was taken. */
static bool add(apply_merge *m, apply_rel *r, pgh_change_kind kind, row *oldr, row *newr)
{
    pgh_change c;
    memset(&c, 0, sizeof(c));
    c.kind = kind;
    if (kind == PGH_CHANGE_INSERT)
        c.u.insert.newtup = (pgh_tuple){3, newr->v};
    else if (kind == PGH_CHANGE_DELETE)
        c.u.del.oldtup = (pgh_tuple){3, oldr->v};
    else {
        c.u.update.newtup = (pgh_tuple){3, newr->v};
        if (oldr) {
            c.u.update.old_kind = 'K';
            c.u.update.oldtup = (pgh_tuple){3, oldr->v};
        }
    }
    bool taken = false;
    pgh_error err = {0};
    CHECK(pgh_apply__merge_add(m, r, &c, &taken, &err) == 0);
    return taken;
}

static char out[1 << 17];

static void put_val(const pgh_value *v)
{
    size_t n = strlen(out);
    if (v->kind == PGH_VALUE_UNCHANGED)
        snprintf(out + n, sizeof(out) - n, "~");
    else if (v->kind == PGH_VALUE_NULL)
        snprintf(out + n, sizeof(out) - n, "-");
    else
        snprintf(out + n, sizeof(out) - n, "%.*s", (int)v->len, v->data);
}

static void put_row(const char *tag, apply_rel *r, const pgh_tuple *t, int cols)
{
    size_t n = strlen(out);
    snprintf(out + n, sizeof(out) - n, "%s%s", tag, r == &REL2 ? "2" : "");
    for (int i = 0; i < cols; i++) {
        strcat(out, " ");
        put_val(&t->values[i]);
    }
}

static int on_del(void *p, apply_rel *r, const pgh_tuple *key, pgh_lsn lsn, pgh_error *err)
{
    put_row("D", r, key, 1);
    strcat(out, ";");
    return 0;
}

static int on_update(void *p, apply_rel *r, const pgh_tuple *rows, size_t n, pgh_lsn lsn,
                     pgh_error *err)
{
    for (size_t i = 0; i < n; i++)
        put_row(i ? "," : "U", r, &rows[i], 3);
    strcat(out, ";");
    return 0;
}

static int on_insert(void *p, apply_rel *r, const pgh_tuple *rows, size_t n, pgh_lsn lsn,
                     pgh_error *err)
{
    for (size_t i = 0; i < n; i++) {
        put_row(i ? "," : "I", r, &rows[i], 3);
    }
    strcat(out, ";");
    return 0;
}

static const char *flush(apply_merge *m)
{
    static const merge_emit emit = {on_del, on_update, on_insert};
    out[0] = 0;
    pgh_error err = {0};
    CHECK(pgh_apply__merge_flush(m, &emit, NULL, &err) == 0);
    CHECK(pgh_apply__merge_empty(m));
    return out;
}

#define EXPECT(m, want)                                                                            \
    do {                                                                                           \
        const char *got = flush(m);                                                                \
        if (strcmp(got, want) != 0) {                                                              \
            fprintf(stderr, "line %d: flushed \"%s\", expected \"%s\"\n", __LINE__, got, want);    \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void insert_then_updates(apply_merge *m)
{
    row i = mk("1", "a0", "big"), u1 = mk("1", "a1", "~"), u2 = mk("1", "a2", "~");
    CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &i));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u1));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u2));
    EXPECT(m, "I 1 a2 big;"); /* the unchanged TOAST value keeps the INSERT's */
}

static void updates_union(apply_merge *m)
{
    row u1 = mk("2", "~", "b1"), u2 = mk("2", "a2", "~"), u3 = mk("3", "~", "~"),
        u4 = mk("3", "a4", "~");
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u1));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u2));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u3));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u4));
    /* b set by the first change stays set; b never set stays out of the SET list */
    EXPECT(m, "U 2 a2 b1;U 3 a4 ~;");
}

static void deletes(apply_merge *m)
{
    row u = mk("4", "a", "~"), d4 = mk("4", "-", "-"), i = mk("5", "a", "b"),
        d5 = mk("5", "-", "-");
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u));
    CHECK(add(m, &REL, PGH_CHANGE_DELETE, &d4, NULL));
    CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &i));
    CHECK(add(m, &REL, PGH_CHANGE_DELETE, &d5, NULL));
    EXPECT(m, "D 4;"); /* an INSERT deleted again leaves nothing */
}

static void delete_reinsert(apply_merge *m)
{
    row d = mk("6", "-", "-"), i = mk("6", "a", "z"), u = mk("6", "a2", "~"),
        i7 = mk("7", "x", "y"), d7 = mk("7", "-", "-"), i7b = mk("7", "x2", "y2");
    CHECK(add(m, &REL, PGH_CHANGE_DELETE, &d, NULL));
    CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &i));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u));
    CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &i7));
    CHECK(add(m, &REL, PGH_CHANGE_DELETE, &d7, NULL));
    CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &i7b));
    EXPECT(m, "D 6;I 6 a2 z, 7 x2 y2;");
}

static void key_moves(apply_merge *m)
{
    /* a whole new row: DELETE at the old key, INSERT at the new */
    row o1 = mk("10", "-", "-"), n1 = mk("11", "a", "b");
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, &o1, &n1));
    /* unchanged TOAST value known from the window's INSERT at the old key */
    row i = mk("12", "a", "toast"), o2 = mk("12", "-", "-"), n2 = mk("13", "a2", "~");
    CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &i));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, &o2, &n2));
    EXPECT(m, "D 10;I 11 a b, 13 a2 toast;");
    /* not known: refused, nothing changed */
    row o3 = mk("14", "-", "-"), n3 = mk("15", "a", "~");
    CHECK(!add(m, &REL, PGH_CHANGE_UPDATE, &o3, &n3));
    EXPECT(m, "");
}

static void refused(apply_merge *m)
{
    row i = mk("20", "a", "b"), d = mk("21", "-", "-"), u = mk("21", "a", "b");
    CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &i));
    CHECK(!add(m, &REL, PGH_CHANGE_INSERT, NULL, &i)); /* the key holds a row already */
    CHECK(add(m, &REL, PGH_CHANGE_DELETE, &d, NULL));
    CHECK(!add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u)); /* deleted */
    CHECK(!add(m, &REL, PGH_CHANGE_DELETE, &d, NULL));
    row t = mk("22", "a", "~"); /* an INSERT with an unchanged value */
    CHECK(!add(m, &REL, PGH_CHANGE_INSERT, NULL, &t));
    EXPECT(m, "D 21;I 20 a b;");
}

static void order_and_relations(apply_merge *m)
{
    row i1 = mk("1", "a", "b"), u2 = mk("2", "a", "b"), d3 = mk("3", "-", "-");
    CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &i1));
    CHECK(add(m, &REL2, PGH_CHANGE_INSERT, NULL, &i1)); /* same key, other table */
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u2));
    CHECK(add(m, &REL, PGH_CHANGE_DELETE, &d3, NULL));
    CHECK(pgh_apply__merge_has(m, &REL2));
    EXPECT(m, "U 2 a b;D 3;I 1 a b;I2 1 a b;");
    CHECK(!pgh_apply__merge_has(m, &REL2));
}

static void update_runs(apply_merge *m)
{
    /* consecutive UPDATEs setting the same columns share a statement; a DELETE or another
     * column set ends the run, the order of first touch stays */
    row u1 = mk("1", "a", "b"), u2 = mk("2", "c", "d"), d3 = mk("3", "-", "-"),
        u4 = mk("4", "e", "f"), u5 = mk("5", "g", "~"), u6 = mk("6", "h", "~");
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u1));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u2));
    CHECK(add(m, &REL, PGH_CHANGE_DELETE, &d3, NULL));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u4));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u5));
    CHECK(add(m, &REL, PGH_CHANGE_UPDATE, NULL, &u6));
    EXPECT(m, "U 1 a b, 2 c d;D 3;U 4 e f;U 5 g ~, 6 h ~;");
}

static void many_keys(apply_merge *m)
{
    /* the hash table grows; every key stays found */
    static char keys[3000][8];
    static row rows[3000];
    for (int k = 0; k < 3000; k++) {
        snprintf(keys[k], sizeof(keys[k]), "%d", k);
        rows[k] = mk(keys[k], "a", "b");
        CHECK(add(m, &REL, PGH_CHANGE_INSERT, NULL, &rows[k]));
    }
    int refused_again = 0;
    for (int k = 0; k < 3000; k++)
        refused_again += !add(m, &REL, PGH_CHANGE_INSERT, NULL, &rows[k]);
    CHECK(refused_again == 3000);
    const char *got = flush(m);
    CHECK(strncmp(got, "I 0 a b, 1 a b,", 15) == 0 && strstr(got, ", 2999 a b;") != NULL);
    int statements = 0;
    for (const char *p = got; (p = strchr(p, ';')) != NULL; p++)
        statements++;
    CHECK(statements == 12); /* 3000 rows in runs of at most 256 */
}

int main(void)
{
    apply_merge m;
    pgh_apply__merge_init(&m);
    insert_then_updates(&m);
    updates_union(&m);
    deletes(&m);
    delete_reinsert(&m);
    key_moves(&m);
    refused(&m);
    order_and_relations(&m);
    update_runs(&m);
    many_keys(&m);
    pgh_apply__merge_dispose(&m);
    if (failures)
        return 1;
    puts("PASS");
    return 0;
}
