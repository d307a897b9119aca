/*
 * The destination handle of pghost/destination.h: a checked pair of a callback table and the
 * user pointer it works on. The pipeline calls through pgh_destination_ops_of(); this file only
 * creates, checks and frees the pair.
 */
#include "pghost/destination.h"

#include <stdlib.h>

struct pgh_destination {
    const pgh_destination_ops *ops; /* borrowed: outlives the destination (usually static) */
    void *user;                     /* owned: released by ops->destroy when set */
};

static const char *name_of(const pgh_destination_ops *ops)
{
    return ops->name ? ops->name : "(unnamed)";
}

/* 0 when ops can drive a pipeline, else PGH_ECONFIG saying what is wrong. */
static int check_ops(const pgh_destination_ops *ops, pgh_error *err)
{
    if (ops->version != PGH_DESTINATION_OPS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "destination %s: callback table version %d, expected %d\nHINT: "
                             "set .version = PGH_DESTINATION_OPS_VERSION and rebuild against "
                             "this pghost's headers",
                             name_of(ops), ops->version, PGH_DESTINATION_OPS_VERSION);
    const char *missing = ops->open == NULL     ? "open"
                          : ops->change == NULL ? "change"
                          : ops->commit == NULL ? "commit"
                                                : NULL;
    if (missing != NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "destination %s: no %s callback\nHINT: open, change and commit are "
                             "required; the other callbacks may be NULL",
                             name_of(ops), missing);
    return 0;
}

int pgh_destination_new(pgh_destination **out, const pgh_destination_ops *ops, void *user,
                        pgh_error *err)
{
    *out = NULL;
    if (ops == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "destination: no callback table");
    int rc = check_ops(ops, err);
    pgh_destination *d = NULL;
    if (rc == 0) {
        d = malloc(sizeof(*d));
        if (d == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "destination %s: out of memory", name_of(ops));
    }
    if (rc != 0) {
        /* The user pointer is ours from the call on, failed or not (see the header). */
        if (ops->destroy != NULL)
            ops->destroy(user);
        return rc;
    }
    d->ops = ops;
    d->user = user;
    *out = d;
    return 0;
}

void pgh_destination_free(pgh_destination *d)
{
    if (d == NULL)
        return;
    if (d->ops->destroy != NULL)
        d->ops->destroy(d->user);
    free(d);
}

const pgh_destination_ops *pgh_destination_ops_of(const pgh_destination *d)
{
    return d->ops;
}

void *pgh_destination_user(const pgh_destination *d)
{
    return d->user;
}
