/*
 * The /metrics families of pghost verify --metrics-addr (see metrics.h): ranges and rows
 * compared, differences by kind, and the errors, phase and readiness every run shows.
 */
#include <stdatomic.h>

#include "metrics.h"
#include "util/prom.h"

/* Called by metrics.c */
void pgh_cli_metrics__render_verify(pgh_buf *b, pgh_verify_stats *v, bool ready);
void pgh_cli_metrics__render_status(pgh_buf *b, pgh_counter *errors, int64_t phase, bool ready);

static double load(pgh_counter *c)
{
    return (double)atomic_load_explicit(c, memory_order_relaxed);
}

void pgh_cli_metrics__render_status(pgh_buf *b, pgh_counter *errors, int64_t phase, bool ready)
{
    pgh_prom_family(b, "pghost_errors_total", "counter",
                    "Errors met by the run, retried or not, by kind.");
    for (int i = 1; i < PGH_STATS_NERRORS; i++) {
        const char *l[2] = {"kind", pgh_stats_error_kind(i)};
        pgh_prom_sample(b, "pghost_errors_total", l, 1, load(&errors[i]));
    }
    pgh_prom_family(b, "pghost_phase", "gauge",
                    "The run's phase: the series of the current phase is 1, the others 0.");
    for (int p = 0; p < PGH_STATS_NPHASES; p++) {
        const char *l[2] = {"phase", pgh_stats_phase_name(p)};
        pgh_prom_sample(b, "pghost_phase", l, 1, p == phase ? 1 : 0);
    }
    pgh_prom_family(b, "pghost_ready", "gauge", "1 when /readyz answers 200, else 0.");
    pgh_prom_sample(b, "pghost_ready", NULL, 0, ready ? 1 : 0);
}

void pgh_cli_metrics__render_verify(pgh_buf *b, pgh_verify_stats *v, bool ready)
{
    pgh_prom_family(b, "pghost_verify_ranges_total", "counter",
                    "Key ranges whose row count and hash sums were compared on both servers.");
    pgh_prom_sample(b, "pghost_verify_ranges_total", NULL, 0, load(&v->ranges));
    pgh_prom_family(b, "pghost_verify_rows_total", "counter",
                    "Source rows in the key ranges compared.");
    pgh_prom_sample(b, "pghost_verify_rows_total", NULL, 0, load(&v->rows));
    pgh_prom_family(b, "pghost_verify_differences_total", "counter",
                    "Keys found differing, by kind, as the comparison finds them (a re-check on "
                    "a live source may drop some from the report).");
    for (int k = PGH_VERIFY_MISSING; k <= PGH_VERIFY_DIFFERENT; k++) {
        const char *l[2] = {"kind", pgh_verify_kind_name((pgh_verify_kind)k)};
        pgh_prom_sample(b, "pghost_verify_differences_total", l, 1, load(&v->differences[k]));
    }
    pgh_cli_metrics__render_status(b, v->errors, atomic_load(&v->phase), ready);
}
