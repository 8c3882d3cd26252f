#include "auth_input.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static int fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -EINVAL;
}

/* Lower-cases n bytes of in into out, or -EINVAL on a byte outside the
 * username alphabet [a-z0-9_.]. out gets no terminator. */
static int name_lower(const char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return -EINVAL;
        out[i] = c;
    }
    return 0;
}

int auth_input_username(const char *in, char out[AUTH_USERNAME_MAX + 1], const char **why)
{
    char tmp[AUTH_USERNAME_MAX + 1];
    size_t n = in ? strnlen(in, AUTH_USERNAME_MAX + 1) : 0;

    if (!in)
        return fail(why, "username is required");
    if (n < AUTH_USERNAME_MIN || n > AUTH_USERNAME_MAX)
        return fail(why, "username must be 3 to 32 characters");
    if (name_lower(in, n, tmp) != 0)
        return fail(why, "username may only contain letters, digits, '_' and '.'");
    tmp[n] = '\0';
    memcpy(out, tmp, n + 1);
    return 0;
}

/* Decodes one code point at s (n bytes left). Returns its length, or 0 for
 * malformed, overlong or surrogate sequences and values past U+10FFFF. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len;
    uint32_t v;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, v = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, v = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, v = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static int is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int auth_input_display_name(const char *in, char out[AUTH_DISPLAY_MAX_BYTES + 1],
                            const char **why)
{
    const char *end;
    size_t n, chars = 0;
    uint32_t cp;

    if (!in)
        return fail(why, "display_name is required");
    while (is_space(*in))
        in++;
    end = in + strlen(in);
    while (end > in && is_space(end[-1]))
        end--;
    n = (size_t)(end - in);
    if (n == 0)
        return fail(why, "display_name must not be empty");
    for (size_t i = 0, l; i < n; i += l, chars++) {
        l = utf8_next((const unsigned char *)in + i, n - i, &cp);
        if (l == 0)
            return fail(why, "display_name must be valid UTF-8");
        if (is_control(cp))
            return fail(why, "display_name must not contain control characters");
        if (chars == AUTH_DISPLAY_MAX_CHARS)
            return fail(why, "display_name must be at most 64 characters");
    }
    memcpy(out, in, n);
    out[n] = '\0';
    return 0;
}

int auth_input_password(const char *pw, const char **why)
{
    size_t n = pw ? strnlen(pw, AUTH_PASSWORD_MAX + 1) : 0;

    if (!pw)
        return fail(why, "password is required");
    if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
        return fail(why, "password must be 8 to 256 bytes");
    return 0;
}

int auth_input_like_prefix(const char *q, char out[AUTH_LIKE_MAX + 1], const char **why)
{
    char name[AUTH_USERNAME_MAX + 1];
    size_t n = q ? strnlen(q, AUTH_USERNAME_MAX + 1) : 0, o = 0;

    if (n == 0)
        return fail(why, "query must not be empty");
    if (n > AUTH_USERNAME_MAX)
        return fail(why, "query must be at most 32 characters");
    /* Holding the query to the username alphabet keeps bytes Postgres
     * would reject (invalid UTF-8) out of the statement; of the LIKE
     * metacharacters only '_' is left to escape. */
    if (name_lower(q, n, name) != 0)
        return fail(why, "query may only contain letters, digits, '_' and '.'");
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '_')
            out[o++] = '\\';
        out[o++] = name[i];
    }
    out[o++] = '%';
    out[o] = '\0';
    return 0;
}

int auth_input_display_prefix(const char *q, char out[AUTH_DISPLAY_LIKE_MAX + 1],
                              const char **why)
{
    size_t n = q ? strnlen(q, AUTH_DISPLAY_MAX_BYTES + 1) : 0, o = 0, chars = 0;
    uint32_t cp;

    if (n == 0)
        return fail(why, "query must not be empty");
    if (n > AUTH_DISPLAY_MAX_BYTES)
        return fail(why, "query must be at most 64 characters");
    /* The query string is not checked by anyone before us, and Postgres
     * refuses invalid UTF-8 with an error rather than no match. */
    for (size_t i = 0, l; i < n; i += l, chars++) {
        l = utf8_next((const unsigned char *)q + i, n - i, &cp);
        if (l == 0 || is_control(cp))
            return fail(why, "query must be UTF-8 text without control characters");
        if (chars == AUTH_DISPLAY_MAX_CHARS)
            return fail(why, "query must be at most 64 characters");
        for (size_t k = 0; k < l; k++) {
            if (q[i + k] == '\\' || q[i + k] == '%' || q[i + k] == '_')
                out[o++] = '\\';
            out[o++] = q[i + k];
        }
    }
    out[o++] = '%';
    out[o] = '\0';
    return 0;
}

void auth_input_user_agent(const char *in, char out[AUTH_USER_AGENT_MAX + 1])
{
    size_t o = 0;

    for (; in && in[o] && o < AUTH_USER_AGENT_MAX; o++)
        out[o] = (in[o] >= 0x20 && in[o] < 0x7f) ? in[o] : '?';
    out[o] = '\0';
}
