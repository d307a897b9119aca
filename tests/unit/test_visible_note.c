/*
 * tests/unit/test_visible_note.c - which replayed transactions the catch-up waits for before
 * copying rows again (pipeline/catchup_visible.c): a BEGIN's 32-bit xid, widened near the
 * snapshot's xmax (across an epoch too), is noted when that snapshot does not see it (in xip,
 * or at or past xmax), once, and never when it does (below xmin, or between xmin and xmax and
 * not in xip), nor before a snapshot was taken. The wait itself runs against a real server:
 * tests/integration/it_visible.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pipeline/pipeline_internal.h"
#include "unit_check.h"

static void at_snapshot(run_visible *v, uint64_t xmin, uint64_t xmax, uint64_t running)
{
    pgh_pipeline__visible_reset(v);
    v->xmin = xmin;
    v->xmax = xmax;
    v->xip = malloc(sizeof(*v->xip));
    CHECK(v->xip != NULL);
    v->xip[0] = running;
    v->nxip = 1;
}

static void same_epoch(void)
{
    run_visible v = {0};
    CHECK(pgh_pipeline__visible_note(&v, 95) == 0 && v.nnoted == 0); /* no snapshot yet */
    at_snapshot(&v, 90, 100, 95);
    CHECK(pgh_pipeline__visible_note(&v, 80) == 0 && v.nnoted == 0); /* below xmin */
    CHECK(pgh_pipeline__visible_note(&v, 96) == 0 && v.nnoted == 0); /* completed */
    CHECK(pgh_pipeline__visible_note(&v, 95) == 0 && v.nnoted == 1 && v.noted[0] == 95);
    CHECK(pgh_pipeline__visible_note(&v, 95) == 0 && v.nnoted == 1); /* once */
    CHECK(pgh_pipeline__visible_note(&v, 100) == 0 && v.nnoted == 2 && v.noted[1] == 100);
    CHECK(pgh_pipeline__visible_note(&v, 150) == 0 && v.nnoted == 3 && v.noted[2] == 150);
    CHECK(pgh_pipeline__visible_note(&v, 0) == 0 && v.nnoted == 3); /* no xid */
    pgh_pipeline__visible_reset(&v);
    CHECK(v.nnoted == 0 && v.noted == NULL && v.xip == NULL);
}

/* xmax just past an epoch boundary: xids from before it widen into the previous epoch. */
static void across_epochs(void)
{
    const uint64_t epoch1 = 1ULL << 32;
    run_visible v = {0};
    at_snapshot(&v, epoch1 - 100, epoch1 + 5, epoch1 - 16);
    CHECK(pgh_pipeline__visible_note(&v, 0xFFFFFFF0u) == 0 && v.nnoted == 1 &&
          v.noted[0] == epoch1 - 16);
    CHECK(pgh_pipeline__visible_note(&v, 0xFFFFFFF1u) == 0 && v.nnoted == 1); /* completed */
    CHECK(pgh_pipeline__visible_note(&v, 3) == 0 && v.nnoted == 1);           /* completed */
    CHECK(pgh_pipeline__visible_note(&v, 7) == 0 && v.nnoted == 2 && v.noted[1] == epoch1 + 7);
    /* many noted: the list grows */
    for (uint32_t x = 10; x < 1000; x++)
        CHECK(pgh_pipeline__visible_note(&v, x) == 0);
    CHECK(v.nnoted == 2 + 990 && v.noted[v.nnoted - 1] == epoch1 + 999);
    pgh_pipeline__visible_reset(&v);
}

int main(void)
{
    same_epoch();
    across_epochs();
    puts("visible_note: ok");
    return 0;
}
