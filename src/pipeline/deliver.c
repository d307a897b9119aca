/* One decoded change to the destination's callbacks: see pipeline_internal.h. */
#include <stdio.h>
#include <string.h>

#include "pipeline_internal.h"

bool pgh_pipeline__is_message(const pgh_change *c, const char *prefix)
{
    return c->kind == PGH_CHANGE_MESSAGE && (c->u.message.flags & PGH_MESSAGE_TRANSACTIONAL) &&
           strcmp(c->u.message.prefix, prefix) == 0;
}

static int optional(int (*fn)(void *, const pgh_change *, pgh_error *), pipe_run *r,
                    const pgh_change *c, pgh_error *err)
{
    return fn ? fn(r->user, c, err) : 0;
}

static int commit(pipe_run *r, const pgh_change *c, pgh_error *err)
{
    pgh_position after = {.lsn = c->u.commit.end_lsn, .checkpoint = r->out->checkpoint_lsn};
    const char *token = r->commit_token ? r->commit_token(r) : NULL;
    memcpy(after.phase, r->phase, sizeof(after.phase));
    after.resume = (char *)token;
    return r->ops->commit(r->user, c, &after, err);
}

static int dispatch(pipe_run *r, const pgh_change *c, pgh_error *err)
{
    const pgh_destination_ops *ops = r->ops;
    switch (c->kind) {
    case PGH_CHANGE_BEGIN:
        return optional(ops->begin, r, c, err);
    case PGH_CHANGE_COMMIT:
        return commit(r, c, err);
    case PGH_CHANGE_RELATION:
    case PGH_CHANGE_TYPE:
        return optional(ops->relation, r, c, err);
    case PGH_CHANGE_MESSAGE:
        if (pgh_pipeline__is_message(c, PGH_CHECKPOINT_PREFIX) ||
            pgh_pipeline__is_message(c, PGH_SNAPSHOT_PREFIX))
            return 0;
        return optional(ops->message, r, c, err);
    case PGH_CHANGE_INSERT:
    case PGH_CHANGE_UPDATE:
    case PGH_CHANGE_DELETE:
        return ops->change(r->user, c, err);
    case PGH_CHANGE_TRUNCATE:
        return optional(ops->truncate, r, c, err);
    case PGH_CHANGE_ORIGIN:
        return 0;
    }
    return pgh_error_set(err, PGH_EPROTO, "unknown change kind %d", (int)c->kind);
}

int pgh_pipeline__deliver(pipe_run *r, const pgh_change *c, pgh_error *err)
{
    int rc = dispatch(r, c, err);
    if (rc == 0)
        pgh_pipeline__stats_change(r, c);
    if (rc != 0 && err->lsn == 0)
        err->lsn = c->wal_start;
    return rc;
}
