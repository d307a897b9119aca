/*
 * config/guard.c - limits checked on the raw text before libyaml sees it.
 *
 * libyaml 0.2.5 re-examines every open flow collection ("[" or "{") for each token it reads,
 * so text nested thousands of levels deep takes time quadratic in its size (80 KB of "[" is
 * ten seconds). A configuration never nests more than two flow levels (tables: [{...}]), so
 * deeper text is refused up front. The count skips comments and quoted strings; it may miss a
 * bracket in odd plain text, which can only make it more lenient, never refuse a sane file.
 */
#include "config_int.h"

/* Flow nesting allowed; far beyond what a configuration needs. */
#define FLOW_DEPTH_MAX 64

/* Index just past the quoted scalar that opens at text[i] (or len when unterminated). */
static size_t skip_quoted(const char *text, size_t len, size_t i)
{
    char quote = text[i];
    for (i++; i < len; i++) {
        if (quote == '"' && text[i] == '\\')
            i++;
        else if (text[i] == quote)
            return i + 1;
    }
    return len;
}

int pgh_config__check_nesting(pgh_config__ctx *ctx, const char *text, size_t len)
{
    size_t depth = 0, line = 1;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (c == '"' || c == '\'') {
            size_t end = skip_quoted(text, len, i);
            for (; i < end; i++)
                line += text[i] == '\n';
            continue;
        }
        if (c == '#' &&
            (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n')) {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        if (c == '[' || c == '{') {
            if (++depth > FLOW_DEPTH_MAX)
                return pgh_config__fail(ctx, line,
                                        "YAML nested more than %d levels deep; a configuration "
                                        "needs two (tables: [{...}])",
                                        FLOW_DEPTH_MAX);
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
        line += c == '\n';
        i++;
    }
    return 0;
}
