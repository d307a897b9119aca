/*
 * Prometheus' text exposition format (version 0.0.4), written into a pgh_buf: the one place
 * that knows its escaping rules, so whatever serves metrics (the CLI's --metrics-addr) only
 * says which families and samples there are.
 *
 *   # HELP pghost_rows_copied_total Rows of the existing data copied, per table.
 *   # TYPE pghost_rows_copied_total counter
 *   pghost_rows_copied_total{table="public.t"} 20000
 *
 * Names must match [a-zA-Z_:][a-zA-Z0-9_:]* (the caller's constants); label values are any
 * text: backslash, double quote and newline are escaped here. HELP text escapes backslash and
 * newline. Values are printed as integers when whole, else with %.17g; NaN and infinities in
 * Prometheus' spelling.
 */
#ifndef PGH_UTIL_PROM_H
#define PGH_UTIL_PROM_H

#include "util/buf.h"

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, untyped). Call once per
 * family, before its samples. */
void pgh_prom_family(pgh_buf *b, const char *name, const char *type, const char *help);

/* One sample: name{l1="v1",...} value. labels holds nlabels name/value pairs
 * (labels[2i] the name, labels[2i+1] the value); nlabels 0: no braces. */
void pgh_prom_sample(pgh_buf *b, const char *name, const char *const *labels, int nlabels,
                     double value);

#endif
