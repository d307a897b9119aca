/* How a check of pghost check reports a problem: see check_run.h. */
#include "admin/check_run.h"

bool pgh_check__note(check_run *c, int rc, pgh_error *err)
{
    if (rc == 0)
        return true;
    if (rc == PGH_ENOMEM) {
        c->fatal = true;
        return false;
    }
    c->out->problems++;
    c->out->config_problem = c->out->config_problem || rc == PGH_ECONFIG;
    c->fn(rc, err->message, c->payload);
    pgh_error_clear(err);
    return false;
}
