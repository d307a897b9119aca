/* PostgreSQL -> DuckDB types: see duckdb_types.h. */
#include "duckdb_types.h"

#include <stdbool.h>
#include <stddef.h>

/* Built-in type OIDs (pg_type.dat). */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_TEXT = 25,
    OID_OID = 26, OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_VARCHAR = 1043,
    OID_DATE = 1082, OID_TIME = 1083, OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184,
    OID_INTERVAL = 1186, OID_TIMETZ = 1266, OID_NUMERIC = 1700, OID_UUID = 2950,
    OID_JSONB = 3802,
};

#define DUCKDB_DECIMAL_MAX_WIDTH 38

typedef struct type_row {
    uint32_t oid;
    const char *duck; /* the DuckDB type */
} type_row;

static const type_row TYPES[] = {
    {OID_BOOL, "BOOLEAN"},      {OID_INT2, "SMALLINT"},       {OID_INT4, "INTEGER"},
    {OID_INT8, "BIGINT"},       {OID_OID, "UINTEGER"},        {OID_FLOAT4, "REAL"},
    {OID_FLOAT8, "DOUBLE"},     {OID_TEXT, "VARCHAR"},        {OID_VARCHAR, "VARCHAR"},
    {OID_BYTEA, "BLOB"},        {OID_DATE, "DATE"},           {OID_TIME, "TIME"},
    {OID_TIMETZ, "TIMETZ"},     {OID_TIMESTAMP, "TIMESTAMP"}, {OID_TIMESTAMPTZ, "TIMESTAMPTZ"},
    {OID_INTERVAL, "INTERVAL"}, {OID_UUID, "UUID"},           {OID_JSON, "JSON"},
    {OID_JSONB, "JSON"},
};

/* numeric(p,s) fits DECIMAL(p,s) when 1 <= p <= 38 and 0 <= s <= p (PostgreSQL 15 also
 * allows a negative scale or one above the precision: those stay text). */
static bool numeric_fits(int32_t typmod, int *p, int *s)
{
    if (typmod < 4)
        return false; /* no typmod: unconstrained numeric */
    *p = (int)(((uint32_t)(typmod - 4) >> 16) & 0xffff);
    *s = (int)((((typmod - 4) & 0x7ff) ^ 1024) - 1024);
    return *p >= 1 && *p <= DUCKDB_DECIMAL_MAX_WIDTH && *s >= 0 && *s <= *p;
}

static const char *duck_type(uint32_t oid)
{
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
        if (TYPES[i].oid == oid)
            return TYPES[i].duck;
    return "VARCHAR"; /* the text form, exactly */
}

void pgh_duckdb__type_name(pgh_buf *b, uint32_t type_oid, int32_t typmod)
{
    int p = 0, s = 0;
    if (type_oid == OID_NUMERIC && numeric_fits(typmod, &p, &s))
        pgh_buf_printf(b, "DECIMAL(%d,%d)", p, s);
    else if (type_oid == OID_NUMERIC)
        pgh_buf_puts(b, "VARCHAR");
    else
        pgh_buf_puts(b, duck_type(type_oid));
}

void pgh_duckdb__type_load(pgh_buf *b, uint32_t type_oid, int32_t typmod, const char *text)
{
    switch (type_oid) {
    case OID_BYTEA: /* PostgreSQL's hex form: \x0a1b... */
        pgh_buf_printf(b, "from_hex(substr(%s, 3))", text);
        return;
    case OID_DATE:
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ: /* "4713-01-01 00:00:00+00 BC" -> DuckDB's "4713-01-01 (BC) 00:00:00+00" */
        pgh_buf_printf(b,
                       "CAST(CASE WHEN suffix(%s, ' BC') THEN regexp_replace(%s, "
                       "'^(\\S+)(.*) BC$', '\\1 (BC)\\2') ELSE %s END AS ",
                       text, text, text);
        break;
    case OID_INTERVAL: /* "-1 days +02:00:00": DuckDB takes the time part without its + */
        pgh_buf_printf(b, "CAST(replace(%s, '+', '') AS ", text);
        break;
    default:
        pgh_buf_printf(b, "CAST(%s AS ", text);
        break;
    }
    pgh_duckdb__type_name(b, type_oid, typmod);
    pgh_buf_putc(b, ')');
}
