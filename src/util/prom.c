/* Prometheus' text format: see prom.h. */
#include "util/prom.h"

#include <math.h>

static void put_escaped(pgh_buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            pgh_buf_puts(b, "\\\\");
        else if (*s == '\n')
            pgh_buf_puts(b, "\\n");
        else if (quote && *s == '"')
            pgh_buf_puts(b, "\\\"");
        else
            pgh_buf_putc(b, *s);
    }
}

void pgh_prom_family(pgh_buf *b, const char *name, const char *type, const char *help)
{
    pgh_buf_printf(b, "# HELP %s ", name);
    put_escaped(b, help, false);
    pgh_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void put_value(pgh_buf *b, double v)
{
    if (isnan(v))
        pgh_buf_puts(b, "NaN");
    else if (isinf(v))
        pgh_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9.007199254740992e15)
        pgh_buf_printf(b, "%.0f", v);
    else
        pgh_buf_printf(b, "%.17g", v);
}

void pgh_prom_sample(pgh_buf *b, const char *name, const char *const *labels, int nlabels,
                     double value)
{
    pgh_buf_puts(b, name);
    for (int i = 0; i < nlabels; i++) {
        pgh_buf_printf(b, "%s%s=\"", i ? "," : "{", labels[2 * i]);
        put_escaped(b, labels[2 * i + 1], true);
        pgh_buf_putc(b, '"');
    }
    pgh_buf_puts(b, nlabels ? "} " : " ");
    put_value(b, value);
    pgh_buf_putc(b, '\n');
}
