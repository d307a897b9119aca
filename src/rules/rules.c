/* pgh_rules_load, pgh_rules_parse and pgh_rules_free: see include/pghost/rules.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

static void free_cond(rule_cond *c)
{
    free(c->column);
    for (size_t i = 0; i < c->nvalues; i++)
        free(c->values[i].text);
    free(c->values);
}

static void free_rule(rule *ru)
{
    free(ru->column);
    free(ru->mask_char);
    free(ru->pattern);
    free(ru->replace);
    pcre2_code_free(ru->re);
    free(ru->to);
    for (size_t i = 0; i < ru->nnames; i++)
        free(ru->names[i]);
    free(ru->names);
    for (size_t i = 0; i < ru->nconds; i++)
        free_cond(&ru->conds[i]);
    free(ru->conds);
}

void pgh_rules_free(pgh_rules *r)
{
    if (r == NULL)
        return;
    for (size_t t = 0; t < r->ntables; t++) {
        for (size_t i = 0; i < r->tables[t].n; i++)
            free_rule(&r->tables[t].rules[i]);
        free(r->tables[t].rules);
        free(r->tables[t].name);
    }
    free(r->tables);
    free(r->file);
    if (r->salt)
        memset(r->salt, 0, r->salt_len);
    free(r->salt);
    free(r);
}

int pgh_rules_parse(pgh_rules **out, const char *name, const char *text, size_t len,
                    const pgh_rules_opts *opts, pgh_error *err)
{
    *out = NULL;
    if (opts == NULL || opts->version != PGH_RULES_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "rules options of version %d, expected %d: initialise them with "
                             "PGH_RULES_OPTS_INIT",
                             opts ? opts->version : -1, PGH_RULES_OPTS_VERSION);
    pgh_rules *r = calloc(1, sizeof(*r));
    int rc = r ? 0 : PGH_ENOMEM;
    if (rc == 0 && (r->file = strdup(name ? name : "rules")) == NULL)
        rc = PGH_ENOMEM;
    if (rc == 0 && opts->hash_salt && *opts->hash_salt) {
        r->salt_len = strlen(opts->hash_salt);
        if ((r->salt = malloc(r->salt_len)) == NULL)
            rc = PGH_ENOMEM;
        else
            memcpy(r->salt, opts->hash_salt, r->salt_len);
    }
    if (rc == PGH_ENOMEM)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_rules__parse(r, text, len, err);
    if (rc != 0) {
        pgh_rules_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* The whole file; rules files are small (a megabyte is far more than any needs). */
#define RULES_FILE_MAX (1 << 20)

static int read_file(char **out, size_t *len, const char *path, pgh_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "rules file %s: %s: check rules_file", path,
                             strerror(errno));
    char *text = malloc(RULES_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, RULES_FILE_MAX + 1, f) : 0;
    bool bad = ferror(f) != 0;
    fclose(f);
    if (text == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (bad || n > RULES_FILE_MAX) {
        free(text);
        return pgh_error_set(err, PGH_ECONFIG, "rules file %s: %s", path,
                             bad ? "read error" : "larger than 1 MB: is it the right file?");
    }
    *out = text;
    *len = n;
    return 0;
}

int pgh_rules_load(pgh_rules **out, const char *path, const pgh_rules_opts *opts,
                   pgh_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(&text, &len, path, err);
    if (rc == 0)
        rc = pgh_rules_parse(out, path, text, len, opts, err);
    free(text);
    return rc;
}
