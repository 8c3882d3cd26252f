/* The parsers the HTTP routes run on query-string values (MHD hands them
 * over percent-decoded, as C strings): limit, positions, ids, search text,
 * reaction keys and the user-search LIKE patterns. Each accepted value must
 * keep the promise its caller relies on: a bounded number, canonical text,
 * or a pattern/literal the user cannot turn into an operator. */
#include "auth_input.h"
#include "fuzz.h"
#include "pl_buf.h"
#include "pl_id.h"
#include "pl_num.h"
#include "pl_pos.h"
#include "pl_text.h"
#include "pl_utf8.h"

#include <stdlib.h>
#include <string.h>

static void check_limit(const char *s)
{
    long long v = 0;

    if (pl_num_parse_ll(s, 1, 200, &v) == 0 && (v < 1 || v > 200))
        abort();
    if (pl_num_parse_ll(s, 1, 200, &v) == 0 && s[0] == '-')
        abort(); /* a negative text never parses into 1-200 */
}

static void check_pos_id(const char *s)
{
    pl_pos p;

    if (pl_pos_parse(s, &p) == 0 && (p.partition < 0 || p.offset < 0))
        abort();
    if (pl_id_valid(s) && strlen(s) != PL_ID_LEN - 1)
        abort();
}

/* Only quotes, commas, braces, ':*' and the words' own letters, digits and
 * non-ASCII bytes: no tsquery operator can come from the user. */
static void check_tsquery(const char *s)
{
    pl_buf b;

    pl_buf_init(&b, 4096);
    if (pl_text_tsquery_terms(s, &b) == 0) {
        if (b.len < 2 || b.data[0] != '{' || b.data[b.len - 1] != '}')
            abort();
        for (size_t i = 0; i < b.len; i++) {
            unsigned char c = (unsigned char)b.data[i];
            if (c < 0x80 && !strchr("{}\"',:*", c) &&
                !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
                abort();
        }
    }
    pl_buf_free(&b);
}

/* Every LIKE metacharacter but the final '%' is escaped. */
static void check_like(const char *pat)
{
    size_t n = strlen(pat);

    if (n == 0 || pat[n - 1] != '%')
        abort();
    for (size_t i = 0; i + 1 < n; i++) {
        if (pat[i] == '\\') {
            i++; /* the escaped byte */
            if (i + 1 >= n)
                abort(); /* an escape may not swallow the final '%' */
        } else if (pat[i] == '%' || pat[i] == '_') {
            abort();
        }
    }
}

static void check_user_search(const char *s)
{
    char name[AUTH_LIKE_MAX + 1], disp[AUTH_DISPLAY_LIKE_MAX + 1];

    if (auth_input_like_prefix(s, name, NULL) == 0)
        check_like(name);
    if (auth_input_display_prefix(s, disp, NULL) == 0)
        check_like(disp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);

    check_limit(s);
    check_pos_id(s);
    if (pl_utf8_len(s) > strlen(s))
        abort();
    pl_utf8_has_text(s);
    pl_utf8_printable(s);
    if (pl_text_emoji_ok(s) && strchr(s, '/'))
        abort();
    check_tsquery(s);
    check_user_search(s);
    free(s);
    return 0;
}
