/*
 * The resume token of the existing rows (snapshot.h): which tables are still to deliver and,
 * for those begun, each key range's bounds and the last key delivered. JSON text:
 *
 *   {"v":1,"tables":[{"t":0,"name":"public.a","state":"begun","reload":false,
 *                     "ranges":[{"lo":null,"hi":["500"],"after":["123"],"done":false}, ...]},
 *                    {"t":1,"name":"public.b","state":"pending","reload":false}]}
 *
 * Key values are the source's text output. Tables not listed are delivered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "snapshot.h"

static json_t *keys_json(char *const *keys, int n)
{
    if (keys == NULL)
        return json_null();
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(keys[i]));
    return a;
}

static json_t *table_json(const snap_table *t)
{
    char name[160];
    snprintf(name, sizeof(name), "%s.%s", t->info->schema, t->info->name);
    bool begun = t->state == SNAP_BEGUN;
    json_t *o = json_pack("{s:i, s:s, s:s, s:b}", "t", t->index, "name", name, "state",
                          begun ? "begun" : "pending", "reload", t->reload);
    if (o == NULL || !begun)
        return o;
    json_t *ranges = json_array();
    for (int i = 0; ranges && i < t->nranges; i++) {
        const snap_range *rg = &t->ranges[i];
        json_array_append_new(ranges, json_pack("{s:o, s:o, s:o, s:b}", "lo",
                                                keys_json(rg->lo, t->nkeys), "hi",
                                                keys_json(rg->hi, t->nkeys), "after",
                                                keys_json(rg->after, t->nkeys), "done",
                                                rg->done));
    }
    json_object_set_new(o, "ranges", ranges);
    return o;
}

int pgh_snapshot__token_encode(char **out, const snapshot *s, pgh_error *err)
{
    *out = NULL;
    json_t *tables = json_array();
    bool any = false;
    for (int i = 0; tables && i < s->ntables; i++) {
        if (s->tables[i].state == SNAP_DONE)
            continue;
        json_array_append_new(tables, table_json(&s->tables[i]));
        any = true;
    }
    if (!any) {
        json_decref(tables);
        return 0; /* nothing pending: no token */
    }
    json_t *root = json_pack("{s:i, s:o}", "v", 1, "tables", tables);
    *out = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return *out ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

/* A key array of n texts from JSON (NULL for null); false when malformed. */
static bool keys_from(char ***out, json_t *v, int n)
{
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_array(v) || (int)json_array_size(v) != n)
        return false;
    const char *texts[32];
    for (int i = 0; i < n; i++) {
        texts[i] = json_string_value(json_array_get(v, (size_t)i));
        if (texts[i] == NULL)
            return false;
    }
    *out = pgh_snapshot__keys_dup(texts, n);
    return *out != NULL;
}

static bool ranges_from(snap_table *t, json_t *ranges)
{
    size_t n = json_array_size(ranges);
    if (!json_is_array(ranges) || n == 0)
        return false;
    t->ranges = calloc(n, sizeof(*t->ranges));
    if (t->ranges == NULL)
        return false;
    t->nranges = (int)n;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(ranges, i);
        snap_range *rg = &t->ranges[i];
        if (!keys_from(&rg->lo, json_object_get(r, "lo"), t->nkeys) ||
            !keys_from(&rg->hi, json_object_get(r, "hi"), t->nkeys) ||
            !keys_from(&rg->after, json_object_get(r, "after"), t->nkeys) ||
            !keys_from(&rg->sel_after, json_object_get(r, "after"), t->nkeys))
            return false;
        rg->done = json_is_true(json_object_get(r, "done"));
        rg->sel_done = rg->done;
    }
    t->planned = true;
    return true;
}

static int table_from(snapshot *s, json_t *o, pgh_error *err)
{
    json_int_t index = json_integer_value(json_object_get(o, "t"));
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *state = json_string_value(json_object_get(o, "state"));
    if (name == NULL || state == NULL || index < 0 || index >= s->ntables)
        return pgh_error_set(err, PGH_ECONFIG, "the resume token of the existing rows is "
                             "damaged: remove the destination's position to start over");
    snap_table *t = &s->tables[index];
    char expect[160];
    snprintf(expect, sizeof(expect), "%s.%s", t->info->schema, t->info->name);
    if (strcmp(expect, name) != 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "the interrupted delivery of existing rows was of %s, but table %d "
                             "is %s now: the configured tables changed; remove the destination's "
                             "position (and the slot) to start over",
                             name, (int)index, expect);
    t->reload = json_is_true(json_object_get(o, "reload"));
    t->state = strcmp(state, "begun") == 0 ? SNAP_BEGUN : SNAP_PENDING;
    if (t->state == SNAP_BEGUN && !ranges_from(t, json_object_get(o, "ranges")))
        return pgh_error_set(err, PGH_ECONFIG, "the resume token of the existing rows is "
                             "damaged (ranges of %s): remove the destination's position to "
                             "start over", name);
    return 0;
}

int pgh_snapshot__token_decode(snapshot *s, const char *token, pgh_error *err)
{
    json_error_t jerr;
    json_t *root = json_loads(token, 0, &jerr);
    json_t *tables = json_object_get(root, "tables");
    int rc = json_is_array(tables) && json_integer_value(json_object_get(root, "v")) == 1
                 ? 0
                 : pgh_error_set(err, PGH_ECONFIG, "the resume token of the existing rows "
                                 "cannot be read: remove the destination's position to start "
                                 "over");
    for (size_t i = 0; rc == 0 && i < json_array_size(tables); i++)
        rc = table_from(s, json_array_get(tables, i), err);
    json_decref(root);
    return rc;
}
