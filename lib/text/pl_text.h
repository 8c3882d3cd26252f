/* pl_text: the small grammars inside user text that the server must
 * understand without rendering it: reaction keys, @mentions and search
 * terms. Pure functions; no I/O, no allocation except into a pl_buf. */
#ifndef PL_TEXT_H
#define PL_TEXT_H

#include <stddef.h>

#include "pl_buf.h"

#define PL_TEXT_EMOJI_MAX 16     /* code points in a reaction key */
#define PL_TEXT_NAME_MIN 3       /* username length, as auth enforces */
#define PL_TEXT_NAME_MAX 32
#define PL_TEXT_MENTIONS_MAX 50  /* distinct @names looked at per message */
#define PL_TEXT_TERMS_MAX 16     /* words in a search query */
/* Distinct emoji one user may put on one message (the SQL needs text). */
#define PL_TEXT_REACTIONS_MAX 20
#define PL_TEXT_REACTIONS_MAX_SQL "20"

/* 1 if s is a usable reaction key: valid UTF-8 of 1..PL_TEXT_EMOJI_MAX code
 * points with no whitespace, control or format-breaking characters ('/'
 * included), else 0. s comes percent-decoded from a URL, so it is checked
 * as raw bytes. */
int pl_text_emoji_ok(const char *s);

/* Finds "@name" mentions in text (valid UTF-8): '@' at the start or after a
 * character that cannot be part of a name or an address (so a@b.c is not
 * one), then [A-Za-z0-9_.]{3,32} with trailing dots dropped. Writes up to
 * max distinct lowercase names into names; returns how many. */
int pl_text_mentions(const char *text, char names[][PL_TEXT_NAME_MAX + 1], int max);

/* Turns free search text into a Postgres text[] literal of to_tsquery
 * operands: each word single-quoted, the last one with the prefix marker
 * :* (e.g. {"'run'","'fa':*"}). Words are runs of ASCII letters and digits
 * or non-ASCII characters; every ASCII symbol (quotes, backslashes, the
 * tsquery operators & | ! ( ) : * < >) separates words, so user text can
 * never form an operator. Appends to out. 0, -ENOENT no words, -E2BIG
 * more than PL_TEXT_TERMS_MAX words, -ENOMEM. */
int pl_text_tsquery_terms(const char *q, pl_buf *out);

#endif
