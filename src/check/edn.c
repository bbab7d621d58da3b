/*
 * edn.c: EDN text (https://github.com/edn-format/edn) for values and Jepsen histories
 * (check.h, sim.h): a writer for the values sim interns (nil, booleans, integers, strings,
 * keywords, vectors) and one reader over (text, position, line, line start) for both a single
 * value and a history, one map per line.
 *
 * The reader reads a form in one of two ways: kept, the form must be a value sim supports and
 * is interned; skipped, any EDN form is checked (maps, sets, floats, symbols, characters, tagged
 * literals, discards) and nothing is made, so that a history's keys sim ignores (:error,
 * :index, a nemesis's :value) are stepped over without being misread. Both ways share the
 * lexing, so a skipped form is exactly what a kept one would have read. Collections nest at
 * most EDN_DEPTH_MAX deep, which bounds the recursion.
 *
 * A history's maps are read in two passes: the first skips every value and notes where the
 * known keys' values start, the second interprets them, so that a :nemesis entry (whose
 * :process may come last) is dropped before its values are read, and messages name the
 * value's column. Messages start "PATH:LINE:COL: " for a history, "col N: " for a value;
 * columns are 1-based bytes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "check.h"

#define EDN_DEPTH_MAX 64
/* Keys one history map may have: Jepsen writes fewer than a dozen. */
#define MAP_KEYS_MAX 64
/* Bytes of the offending text quoted in a message. */
#define CLIP 40

#define SUPPORTED "(sim reads nil, true, false, integers, strings, keywords and vectors)"

/* ---- writing -------------------------------------------------------------------------------- */

/* An snprintf-like destination: n counts what would be written, buf stays NUL-terminated. */
typedef struct sink {
    char *buf;
    size_t size;
    size_t n;
} sink;

static void emit(sink *o, const char *s, size_t n)
{
    if (o->n + 1 < o->size) {
        size_t room = o->size - o->n - 1;
        size_t k = n < room ? n : room;
        if (k > 0) memcpy(o->buf + o->n, s, k);
        o->buf[o->n + k] = '\0';
    }
    o->n += n;
}

/* A string literal: quote and backslash escaped, control bytes as escapes, so that the reader
 * gives back the same bytes and the text stays on one line. */
static void emit_string(sink *o, const char *s, size_t n)
{
    emit(o, "\"", 1);
    size_t run = 0; /* bytes before i not yet emitted */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        emit(o, s + i - run, run);
        run = 0;
        char esc[8];
        const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                      : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
        if (e == NULL) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
            e = esc;
        }
        emit(o, e, strlen(e));
    }
    emit(o, s + n - run, run);
    emit(o, "\"", 1);
}

static void write_value(const sim__vtab *t, uint32_t id, sink *o)
{
    const sim__val *v = sim__vtab_at(t, id);
    char num[24];
    switch (v->kind) {
    case SIM_VALUE_NIL: emit(o, "nil", 3); return;
    case SIM_VALUE_BOOL: emit(o, v->x ? "true" : "false", v->x ? 4 : 5); return;
    case SIM_VALUE_INT: {
        int k = snprintf(num, sizeof num, "%" PRId64, (int64_t)v->x);
        SIM_ASSERT(k > 0 && (size_t)k < sizeof num);
        emit(o, num, (size_t)k);
        return;
    }
    case SIM_VALUE_STRING:
        /* An empty string's bytes may be a null pointer: do not touch them. */
        emit_string(o, v->len > 0 ? sim__vtab_bytes(t, id) : "", v->len);
        return;
    case SIM__VAL_PAIR: {
        char *flat = sim__xmalloc(v->len, "a string written");
        sim__vtab_content(t, id, flat);
        emit_string(o, flat, v->len);
        free(flat);
        return;
    }
    case SIM_VALUE_KEYWORD:
        emit(o, ":", 1);
        if (v->len > 0) emit(o, sim__vtab_bytes(t, id), v->len);
        return;
    case SIM_VALUE_VECTOR: {
        emit(o, "[", 1);
        const uint32_t *items = v->len > 0 ? sim__vtab_items(t, id) : NULL;
        for (uint32_t i = 0; i < v->len; i++) {
            if (i > 0) emit(o, " ", 1);
            write_value(t, items[i], o);
        }
        emit(o, "]", 1);
        return;
    }
    default: SIM_ASSERT(false); /* a kind this writer does not know */
    }
}

size_t sim__edn_write(const sim__vtab *t, uint32_t id, char *buf, size_t size)
{
    SIM_ASSERT(id < sim__vtab_end(t));
    SIM_ASSERT(buf != NULL || size == 0);
    sink o = {.buf = buf, .size = size};
    if (size > 0) buf[0] = '\0';
    write_value(t, id, &o);
    return o.n;
}

size_t sim_edn_quote(const char *s, char *buf, size_t size)
{
    SIM_ASSERT(s != NULL);
    SIM_ASSERT(buf != NULL || size == 0);
    sink o = {.buf = buf, .size = size};
    if (size > 0) buf[0] = '\0';
    emit_string(&o, s, strlen(s));
    return o.n;
}

/* ---- the reader ----------------------------------------------------------------------------- */

typedef struct reader {
    const char *text;        /* NUL-terminated */
    size_t pos;              /* the next byte to read */
    const char *path;        /* a history's, for messages; NULL: one value ("col N: ") */
    uint32_t line;           /* a history's: the 1-based line of pos */
    size_t line_start;       /* a history's: the offset of that line's first byte */
    bool in_line;            /* inside a history's map: a newline ends the text */
    bool log;                /* a history of Jepsen's log lines, not of EDN maps */
    sim__vtab *t;            /* where kept values are interned */
    char *buf;               /* the bytes of the string being kept */
    size_t nbuf, buf_cap;
    uint32_t *stack;         /* the items of the vectors being kept, innermost last */
    size_t nstack, stack_cap;
    char *err;
    size_t err_size;
} reader;

static int fail(reader *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes "PATH:LINE:COL: message" or "col N: message" about the byte at offset at. */
static int fail(reader *r, size_t at, const char *fmt, ...)
{
    SIM_ASSERT(at >= r->line_start);
    if (r->err == NULL || r->err_size == 0) return SIM_EINVAL;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->path != NULL) {
        snprintf(r->err, r->err_size, "%s:%" PRIu32 ":%zu: %s", r->path, r->line,
                 at - r->line_start + 1, msg);
    } else {
        snprintf(r->err, r->err_size, "col %zu: %s", at + 1, msg);
    }
    return SIM_EINVAL;
}

/* The value table refused a value (past 2^31 values, or a string over 2 GiB), or the
 * history its entry (past 2^31 entries). */
static int too_big(reader *r)
{
    if (r->err != NULL && r->err_size > 0) {
        snprintf(r->err, r->err_size,
                 "%s: too big: more than 2^31 values or entries, or a string over 2 GiB",
                 r->path);
    }
    return SIM_ELIMIT;
}

static void reader_release(reader *r)
{
    free(r->buf);
    free(r->stack);
}

static char peek(const reader *r)
{
    return r->text[r->pos];
}

/* What ends the text the reader is in, for "expected X before the end of the ...". */
static const char *end_name(const reader *r)
{
    return r->in_line ? "line" : r->path != NULL ? "file" : "text";
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == ',';
}

/* Bytes that end a token (a number, symbol, keyword, tag or character). */
static bool is_delim(char c)
{
    return c == '\0' || is_space(c) || strchr("\";()[]{}", c) != NULL;
}

static size_t token_end(const reader *r, size_t at)
{
    while (!is_delim(r->text[at])) at++;
    return at;
}

/* The length of the text at `at` to quote in a message: its token, or at least one byte. */
static size_t excerpt(const reader *r, size_t at)
{
    size_t end = token_end(r, at);
    return end > at || r->text[at] == '\0' ? end - at : 1;
}

static int clip(size_t n)
{
    return n > CLIP ? CLIP : (int)n;
}

static const char *more(size_t n)
{
    return n > CLIP ? "..." : "";
}

static int buf_put(reader *r, const char *s, size_t n)
{
    if (r->nbuf + n > r->buf_cap) {
        size_t cap = r->buf_cap ? r->buf_cap : 64;
        while (cap < r->nbuf + n) cap *= 2;
        r->buf = sim__xrealloc(r->buf, cap, "an EDN string");
        r->buf_cap = cap;
    }
    memcpy(r->buf + r->nbuf, s, n);
    r->nbuf += n;
    return SIM_OK;
}

static int stack_push(reader *r, uint32_t id)
{
    if (r->nstack == r->stack_cap) {
        size_t cap = r->stack_cap ? r->stack_cap * 2 : 64;
        r->stack = sim__xrealloc_array(r->stack, cap, sizeof *r->stack, "an EDN vector");
        r->stack_cap = cap;
    }
    r->stack[r->nstack++] = id;
    return SIM_OK;
}

/* ---- tokens --------------------------------------------------------------------------------- */

typedef enum num_kind { NUM_INT, NUM_RANGE, NUM_FLOAT, NUM_RATIO, NUM_BAD } num_kind;

/* Decimal digits (no sign, no leading zero but in "0") as an int64, negated if neg. */
static num_kind integer(const char *s, size_t n, bool neg, int64_t *out)
{
    if (n > 1 && s[0] == '0') return NUM_BAD; /* Clojure would read 010 as octal */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (limit - d) / 10) return NUM_RANGE;
        v = v * 10 + d;
    }
    *out = !neg ? (int64_t)v : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return NUM_INT;
}

/* What a token that starts like a number is: 42, -7, 3N; 1.5, 1e9, 2M; 1/2; or nothing. */
static num_kind number_kind(const char *s, size_t n, int64_t *out)
{
    size_t i = n > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    size_t d = i;
    while (i < n && is_digit(s[i])) i++;
    if (i == d) return NUM_BAD;
    if (i == n || (s[i] == 'N' && i + 1 == n)) return integer(s + d, i - d, s[0] == '-', out);
    if (s[i] == '/') {
        size_t j = i + 1;
        while (j < n && is_digit(s[j])) j++;
        return j > i + 1 && j == n ? NUM_RATIO : NUM_BAD;
    }
    if (s[i] == '.') {
        for (i++; i < n && is_digit(s[i]);) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t e = i;
        while (i < n && is_digit(s[i])) i++;
        if (i == e) return NUM_BAD;
    }
    if (i < n && s[i] == 'M') i++;
    return i == n ? NUM_FLOAT : NUM_BAD;
}

/* EDN's symbol characters: letters, digits and .*+!-_?$%&=<>/, and # ' : after the first. */
static bool name_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
    if (c != '\0' && strchr(".*+!-_?$%&=<>/", c) != NULL) return true;
    return !first && (c == '#' || c == '\'' || c == ':');
}

/* Why s (n bytes) is not a symbol's or keyword's name, or NULL when it is one. EDN's rules
 * for / (once, between two parts) are not enforced: Clojure reads :a/b/c, and a function's
 * name that sim_history_add accepts must read back from sim_history_edn's text. */
static const char *name_problem(const char *s, size_t n)
{
    if (n == 0) return "an empty name";
    if (is_digit(s[0])) return "a name may not start with a digit";
    for (size_t i = 0; i < n; i++) {
        if (!name_char(s[i], i == 0)) return "a character that names may not hold";
    }
    return NULL;
}

/* ---- forms ---------------------------------------------------------------------------------- */

static int form(reader *r, uint32_t depth, bool keep, uint32_t *id);

/* Skips whitespace, commas, comments and discarded forms (#_ form). Inside a history's map a
 * newline ends the text, so it stops there; elsewhere newlines are whitespace. */
static int gap(reader *r, uint32_t depth)
{
    for (;;) {
        char c = peek(r);
        if (c == '\n') {
            if (r->in_line) return SIM_OK;
            r->pos++;
            if (r->path != NULL) {
                r->line++;
                r->line_start = r->pos;
            }
        } else if (is_space(c)) {
            r->pos++;
        } else if (c == ';') {
            while (peek(r) != '\n' && peek(r) != '\0') r->pos++;
        } else if (c == '#' && r->text[r->pos + 1] == '_') {
            /* The discarded form counts as a level, which bounds "#_ #_ #_ ..." too. */
            if (depth >= EDN_DEPTH_MAX) {
                return fail(r, r->pos, "nested deeper than %d", EDN_DEPTH_MAX);
            }
            r->pos += 2;
            int rc = gap(r, depth + 1);
            if (rc == SIM_OK) rc = form(r, depth + 1, false, NULL);
            if (rc != SIM_OK) return rc;
        } else {
            return SIM_OK;
        }
    }
}

static bool hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) { /* stops at the first non-digit, so never passes the NUL */
        char c = s[i];
        uint32_t d = is_digit(c) ? (uint32_t)(c - '0')
                   : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10) : 16u;
        if (d == 16) return false;
        v = v * 16 + d;
    }
    *out = v;
    return true;
}

/* \uXXXX at r->pos (a surrogate pair takes two), as UTF-8. */
static int unicode(reader *r, bool keep)
{
    size_t at = r->pos;
    uint32_t cp, lo;
    if (!hex4(r->text + at + 2, &cp)) return fail(r, at, "\\u takes four hex digits: \\u00e9");
    r->pos = at + 6;
    if (cp >= 0xd800 && cp <= 0xdfff) {
        const char *s = r->text + r->pos;
        bool pair = cp <= 0xdbff && s[0] == '\\' && s[1] == 'u' && hex4(s + 2, &lo) &&
                    lo >= 0xdc00 && lo <= 0xdfff;
        if (!pair) return fail(r, at, "a lone surrogate \\u%04" PRIx32 " in a string", cp);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        r->pos += 6;
    }
    if (!keep) return SIM_OK;
    char u[4];
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    for (size_t i = n - 1; i > 0; i--, cp >>= 6) u[i] = (char)(0x80 | (cp & 0x3f));
    u[0] = (char)(lead[n] | cp);
    return buf_put(r, u, n);
}

/* The escape at r->pos, a backslash in a string. */
static int escape(reader *r, bool keep)
{
    size_t at = r->pos;
    char c = r->text[at + 1];
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (c == '\0' || (c == '\n' && r->in_line)) {
        return fail(r, at + 1, "unterminated string: expected \" before the end of the %s",
                    end_name(r));
    }
    if (c == 'u') return unicode(r, keep);
    const char *p = strchr(from, c);
    if (p == NULL) {
        if (c > 0x20 && c < 0x7f) return fail(r, at, "unknown escape \\%c in a string", c);
        return fail(r, at, "unknown escape in a string");
    }
    r->pos = at + 2;
    return keep ? buf_put(r, &to[p - from], 1) : SIM_OK;
}

static int string(reader *r, bool keep, uint32_t *id)
{
    r->pos++;
    r->nbuf = 0;
    for (;;) {
        size_t run = r->pos; /* plain bytes are copied a run at a time */
        while (strchr("\"\\\n", peek(r)) == NULL) r->pos++;
        if (keep && r->pos > run) {
            int rc = buf_put(r, r->text + run, r->pos - run);
            if (rc != SIM_OK) return rc;
        }
        char c = peek(r);
        if (c == '"') break;
        if (c == '\0' || (c == '\n' && r->in_line)) {
            return fail(r, r->pos, "unterminated string: expected \" before the end of the %s",
                        end_name(r));
        }
        int rc = c == '\\' ? escape(r, keep) : keep ? buf_put(r, "\n", 1) : SIM_OK;
        if (rc != SIM_OK) return rc;
        if (c == '\n') {
            /* A string over lines, in a value or a discarded form between a history's maps. */
            r->pos++;
            if (r->path != NULL) {
                r->line++;
                r->line_start = r->pos;
            }
        }
    }
    r->pos++;
    if (!keep) return SIM_OK;
    uint32_t v = sim__vtab_text(r->t, SIM_VALUE_STRING, r->nbuf > 0 ? r->buf : "", r->nbuf);
    if (v == SIM__NIL) return too_big(r);
    *id = v;
    return SIM_OK;
}

static int keyword(reader *r, bool keep, uint32_t *id)
{
    size_t at = r->pos, end = token_end(r, at + 1);
    const char *name = r->text + at + 1;
    size_t n = end - at - 1;
    const char *why = name_problem(name, n);
    if (why != NULL) {
        return fail(r, at, "not a keyword (%s): %.*s%s", why, clip(n + 1), name - 1, more(n + 1));
    }
    r->pos = end;
    if (!keep) return SIM_OK;
    uint32_t v = sim__vtab_text(r->t, SIM_VALUE_KEYWORD, name, n);
    if (v == SIM__NIL) return too_big(r);
    *id = v;
    return SIM_OK;
}

static int number(reader *r, bool keep, uint32_t *id)
{
    size_t at = r->pos, n = token_end(r, at) - at;
    const char *s = r->text + at;
    int64_t i = 0;
    num_kind k = number_kind(s, n, &i);
    if (k == NUM_BAD) return fail(r, at, "not a number: %.*s%s", clip(n), s, more(n));
    r->pos = at + n;
    if (!keep) return SIM_OK;
    if (k == NUM_RANGE) return fail(r, at, "integer out of range: %.*s%s", clip(n), s, more(n));
    if (k == NUM_FLOAT) {
        return fail(r, at, "floats are not supported: %.*s%s", clip(n), s, more(n));
    }
    if (k == NUM_RATIO) {
        return fail(r, at, "ratios are not supported: %.*s%s", clip(n), s, more(n));
    }
    uint32_t v = sim__vtab_int(r->t, i);
    if (v == SIM__NIL) return too_big(r);
    *id = v;
    return SIM_OK;
}

/* nil, true, false, or a symbol (which only a skip accepts). */
static int symbol(reader *r, bool keep, uint32_t *id)
{
    size_t at = r->pos, n = excerpt(r, at);
    const char *s = r->text + at;
    uint32_t v = SIM__VAL_NIL;
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
        v = keep ? sim__vtab_bool(r->t, n == 4) : SIM__VAL_NIL;
        if (v == SIM__NIL) return too_big(r);
    } else if (!(n == 3 && memcmp(s, "nil", 3) == 0)) {
        unsigned char c = (unsigned char)s[0];
        if (!name_char(s[0], true)) {
            if (c > 0x20 && c < 0x7f) return fail(r, at, "unexpected '%c'", c);
            return fail(r, at, "unexpected byte 0x%02x", c);
        }
        const char *why = name_problem(s, n);
        if (why != NULL) return fail(r, at, "not a symbol (%s): %.*s%s", why, clip(n), s, more(n));
        if (keep) {
            return fail(r, at, "a symbol (%.*s); did you mean :%.*s or \"%.*s\"?", clip(n), s,
                        clip(n), s, clip(n), s);
        }
    }
    r->pos = at + n;
    if (keep) *id = v;
    return SIM_OK;
}

/* A character literal (\a, \newline, \u00e9, \o101), which only a skip accepts. */
static int character(reader *r, bool keep)
{
    size_t at = r->pos;
    char c = r->text[at + 1];
    if (c == '\0' || is_space(c)) return fail(r, at, "a character literal needs a character");
    size_t end = token_end(r, at + 2), n = end - at - 1;
    const char *s = r->text + at + 1;
    if (keep) {
        return fail(r, at, "characters are not supported: \\%.*s%s; write a string", clip(n), s,
                    more(n));
    }
    static const char *const names[] = {"newline", "return", "space", "tab", "formfeed",
                                        "backspace"};
    bool ok = n == 1 || (n == 5 && s[0] == 'u' && hex4(s + 1, &(uint32_t){0}));
    ok = ok || (n >= 2 && n <= 4 && s[0] == 'o' && strspn(s + 1, "01234567") >= n - 1);
    /* One UTF-8 character: a lead byte and its continuation bytes. */
    unsigned char lead = (unsigned char)s[0];
    size_t ulen = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    ok = ok || n == ulen;
    for (size_t i = 0; !ok && i < sizeof names / sizeof names[0]; i++) {
        ok = strlen(names[i]) == n && memcmp(names[i], s, n) == 0;
    }
    if (!ok) return fail(r, at, "not a character: \\%.*s%s", clip(n), s, more(n));
    r->pos = end;
    return SIM_OK;
}

typedef enum seq_kind { SEQ_VECTOR, SEQ_LIST, SEQ_MAP, SEQ_SET } seq_kind;

static const char seq_close[] = {']', ')', '}', '}'};
static const char *const seq_names[] = {"vector", "list", "map", "set"};

/* A collection from its opening bracket at r->pos; kept (vectors and lists: a list is read as
 * a vector, as EDN's lists and vectors differ only in how Clojure builds them) or skipped. */
static int seq(reader *r, uint32_t depth, bool keep, seq_kind kind, uint32_t *id)
{
    size_t open = r->pos, base = r->nstack, count = 0;
    char close = seq_close[kind];
    if (depth >= EDN_DEPTH_MAX) return fail(r, open, "nested deeper than %d", EDN_DEPTH_MAX);
    r->pos++;
    for (;;) {
        int rc = gap(r, depth + 1);
        if (rc != SIM_OK) return rc;
        char c = peek(r);
        if (c == close) break;
        if (c == '\0' || c == '\n') {
            return fail(r, r->pos, "unterminated %s: expected %c before the end of the %s",
                        seq_names[kind], close, end_name(r));
        }
        if (c == ']' || c == ')' || c == '}') {
            return fail(r, r->pos, "unexpected %c: expected %c to end the %s", c, close,
                        seq_names[kind]);
        }
        uint32_t item = SIM__VAL_NIL;
        rc = form(r, depth + 1, keep, &item);
        if (rc == SIM_OK && keep) rc = stack_push(r, item);
        if (rc != SIM_OK) return rc;
        count++;
    }
    if (kind == SEQ_MAP && count % 2 != 0) {
        return fail(r, r->pos, "a map needs a value for every key");
    }
    r->pos++;
    if (!keep) return SIM_OK;
    SIM_ASSERT(kind == SEQ_VECTOR || kind == SEQ_LIST);
    size_t n = r->nstack - base;
    if (n > UINT32_MAX / 4) return too_big(r);
    uint32_t v = sim__vtab_vec(r->t, n > 0 ? r->stack + base : NULL, (uint32_t)n);
    r->nstack = base;
    if (v == SIM__NIL) return too_big(r);
    *id = v;
    return SIM_OK;
}

/* A form that starts with #: a set, a tagged literal (#inst "..."), a symbolic value (##Inf)
 * or a namespaced map (#:ns{...}); only a skip accepts them. #_ is the gap's. */
static int dispatch(reader *r, uint32_t depth, bool keep)
{
    size_t at = r->pos, n = excerpt(r, at);
    char c = r->text[at + 1];
    SIM_ASSERT(c != '_');
    if (keep) {
        const char *what = c == '{' || c == ':' ? "sets and maps" : c == '#' ? "floats"
                                                                             : "tagged literals";
        if (c == '{') n = 2;
        return fail(r, at, "%s are not supported: %.*s%s " SUPPORTED, what, clip(n), r->text + at,
                    more(n));
    }
    if (depth >= EDN_DEPTH_MAX) return fail(r, at, "nested deeper than %d", EDN_DEPTH_MAX);
    if (c == '{') {
        r->pos++;
        return seq(r, depth, false, SEQ_SET, NULL);
    }
    if (c == '#') {
        const char *s = r->text + at + 2;
        bool ok = (n == 5 && memcmp(s, "Inf", 3) == 0) || (n == 6 && memcmp(s, "-Inf", 4) == 0) ||
                  (n == 5 && memcmp(s, "NaN", 3) == 0);
        if (!ok) return fail(r, at, "not a symbolic value: %.*s%s", clip(n), s - 2, more(n));
        r->pos = at + n;
        return SIM_OK;
    }
    bool ns_map = c == ':';
    const char *why = ns_map || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                          ? name_problem(r->text + at + 1 + ns_map, n - 1 - ns_map)
                          : "a tag starts with a letter";
    if (why != NULL) return fail(r, at, "not a tag (%s): %.*s%s", why, clip(n), r->text + at,
                                 more(n));
    r->pos = at + n;
    int rc = gap(r, depth + 1);
    if (rc != SIM_OK) return rc;
    char c2 = peek(r);
    if (ns_map && c2 != '{') return fail(r, r->pos, "expected { after %.*s", clip(n), r->text + at);
    if (c2 == ']' || c2 == ')' || c2 == '}') {
        return fail(r, r->pos, "expected a value after the tag %.*s%s", clip(n), r->text + at,
                    more(n));
    }
    return form(r, depth + 1, false, NULL);
}

/* Reads one form at r->pos (not at a gap): interned into *id when keep, else only checked. */
static int form(reader *r, uint32_t depth, bool keep, uint32_t *id)
{
    size_t at = r->pos;
    char c = peek(r);
    char next = c != '\0' ? r->text[at + 1] : '\0';
    switch (c) {
    case '\0':
    case '\n': return fail(r, at, "expected a value before the end of the %s", end_name(r));
    case '"': return string(r, keep, id);
    case ':': return keyword(r, keep, id);
    case '[': return seq(r, depth, keep, SEQ_VECTOR, id);
    case '(': return seq(r, depth, keep, SEQ_LIST, id);
    case '{':
        if (keep) return fail(r, at, "maps are not supported " SUPPORTED);
        return seq(r, depth, false, SEQ_MAP, NULL);
    case '#': return dispatch(r, depth, keep);
    case '\\': return character(r, keep);
    case ']':
    case ')':
    case '}': return fail(r, at, "unexpected %c", c);
    default: break;
    }
    if (is_digit(c) || ((c == '+' || c == '-') && is_digit(next))) return number(r, keep, id);
    return symbol(r, keep, id);
}

int sim__edn_parse_value(sim__vtab *t, const char *text, uint32_t *id, char *err,
                         size_t err_size)
{
    SIM_ASSERT(text != NULL);
    *id = SIM__VAL_NIL;
    if (err != NULL && err_size > 0) err[0] = '\0';
    reader r = {.text = text, .t = t, .err = err, .err_size = err_size};
    uint32_t v = SIM__VAL_NIL;
    int rc = gap(&r, 0);
    if (rc == SIM_OK) rc = form(&r, 0, true, &v);
    if (rc == SIM_OK) rc = gap(&r, 0);
    if (rc == SIM_OK && peek(&r) != '\0') {
        size_t n = excerpt(&r, r.pos);
        rc = fail(&r, r.pos, "unexpected text after the value: %.*s%s", clip(n), text + r.pos,
                  more(n));
    }
    reader_release(&r);
    if (rc == SIM_OK) *id = v;
    return rc;
}

/* ---- histories ------------------------------------------------------------------------------ */

enum { K_PROCESS, K_TYPE, K_F, K_KEY, K_VALUE, K_TIME, K_COUNT };

static const char *const key_names[K_COUNT] = {"process", "type", "f", "key", "value", "time"};

/* Where the values of a map's known keys are, from the first pass. */
typedef struct fields {
    size_t at[K_COUNT];      /* where the value starts; SIZE_MAX: the key is absent */
    size_t end[K_COUNT];     /* where it ends */
} fields;

/* The known key named s (n bytes, no colon), or -1. */
static int key_index(const char *s, size_t n)
{
    for (int k = 0; k < K_COUNT; k++) {
        if (strlen(key_names[k]) == n && memcmp(key_names[k], s, n) == 0) return k;
    }
    return -1;
}

/* The first pass over the map at r->pos: checks every key and value and notes the known ones;
 * ends after the }. */
static int scan_map(reader *r, fields *fl)
{
    size_t keys[MAP_KEYS_MAX], lens[MAP_KEYS_MAX];
    uint32_t nkeys = 0;
    r->pos++;
    for (;;) {
        int rc = gap(r, 0);
        size_t at = r->pos;
        char c = peek(r);
        if (rc != SIM_OK) return rc;
        if (c == '}') {
            r->pos++;
            return SIM_OK;
        }
        if (c == '\0' || c == '\n') {
            return fail(r, at, "unterminated map: expected } before the end of the line");
        }
        rc = form(r, 0, false, NULL);
        size_t n = r->pos - at;
        if (rc != SIM_OK) return rc;
        if (c != ':') {
            return fail(r, at, "map keys must be keywords (:process, :type, :f, ...), not %.*s%s",
                        clip(n), r->text + at, more(n));
        }
        for (uint32_t i = 0; i < nkeys; i++) {
            if (lens[i] == n && memcmp(r->text + keys[i], r->text + at, n) == 0) {
                return fail(r, at, "duplicate key %.*s%s", clip(n), r->text + at, more(n));
            }
        }
        if (nkeys == MAP_KEYS_MAX) return fail(r, at, "more than %d keys", MAP_KEYS_MAX);
        keys[nkeys] = at;
        lens[nkeys++] = n;
        rc = gap(r, 0);
        c = peek(r);
        if (rc == SIM_OK && (c == '\0' || c == '\n')) {
            rc = fail(r, r->pos, "unterminated map: expected } before the end of the line");
        } else if (rc == SIM_OK && c == '}') {
            rc = fail(r, r->pos, "the key %.*s%s has no value", clip(n), r->text + at, more(n));
        }
        int k = key_index(r->text + at + 1, n - 1);
        if (k >= 0) fl->at[k] = r->pos;
        if (rc == SIM_OK) rc = form(r, 0, false, NULL);
        if (k >= 0) fl->end[k] = r->pos;
        if (rc != SIM_OK) return rc;
    }
}

/* A known key's value as text, for checks and messages. */
static const char *field(const reader *r, const fields *fl, int k, size_t *n)
{
    *n = fl->end[k] - fl->at[k];
    return r->text + fl->at[k];
}

/* :process, a number or :nemesis. */
static int get_process(reader *r, const fields *fl, size_t open, uint32_t *process,
                       bool *nemesis)
{
    if (fl->at[K_PROCESS] == SIZE_MAX) {
        return fail(r, open, "the map has no :process; expected a process number or :nemesis");
    }
    size_t n;
    const char *s = field(r, fl, K_PROCESS, &n);
    int64_t v = 0;
    *nemesis = n == 8 && memcmp(s, ":nemesis", 8) == 0;
    if (*nemesis) return SIM_OK;
    num_kind k = s[0] == '+' || s[0] == '-' || is_digit(s[0]) ? number_kind(s, n, &v) : NUM_BAD;
    if (k == NUM_INT && v >= 0 && v <= (int64_t)UINT32_MAX) {
        *process = (uint32_t)v;
        return SIM_OK;
    }
    if (k == NUM_INT || k == NUM_RANGE) {
        return fail(r, fl->at[K_PROCESS], ":process must be from 0 to %" PRIu32 ", not %.*s%s",
                    UINT32_MAX, clip(n), s, more(n));
    }
    return fail(r, fl->at[K_PROCESS], ":process must be an integer or :nemesis, not %.*s%s",
                clip(n), s, more(n));
}

/* :type, :f and :time. */
static int get_head(reader *r, const fields *fl, size_t open, sim__hentry *e)
{
    static const char *const types[] = {":invoke", ":ok", ":fail", ":info"};
    size_t n;
    const char *s;
    if (fl->at[K_TYPE] == SIZE_MAX) {
        return fail(r, open, "the map has no :type; expected :invoke, :ok, :fail or :info");
    }
    s = field(r, fl, K_TYPE, &n);
    for (uint8_t i = 0; i < 4 && e->type == 0; i++) {
        if (strlen(types[i]) == n && memcmp(types[i], s, n) == 0) e->type = (uint8_t)(i + 1);
    }
    if (e->type == 0) {
        return fail(r, fl->at[K_TYPE], ":type must be :invoke, :ok, :fail or :info, not %.*s%s",
                    clip(n), s, more(n));
    }
    if (fl->at[K_F] == SIZE_MAX) return fail(r, open, "the map has no :f; expected :read, ...");
    s = field(r, fl, K_F, &n);
    if (s[0] != ':') {
        return fail(r, fl->at[K_F], ":f must be a keyword such as :read, not %.*s%s", clip(n),
                    s, more(n));
    }
    e->f = sim__vtab_text(r->t, SIM_VALUE_KEYWORD, s + 1, n - 1);
    if (e->f == SIM__NIL) return too_big(r);
    if (fl->at[K_TIME] == SIZE_MAX) return SIM_OK;
    s = field(r, fl, K_TIME, &n);
    int64_t t = 0;
    num_kind k = s[0] == '+' || s[0] == '-' || is_digit(s[0]) ? number_kind(s, n, &t) : NUM_BAD;
    if (k != NUM_INT || t < 0) {
        return fail(r, fl->at[K_TIME], ":time must be a non-negative integer (ns), not %.*s%s",
                    clip(n), s, more(n));
    }
    e->has_time = true;
    e->time_ns = (uint64_t)t;
    return SIM_OK;
}

/* :key and :value, read again from where the first pass found them, now kept. */
static int get_values(reader *r, const fields *fl, sim__hentry *e)
{
    int rc = SIM_OK;
    if (fl->at[K_KEY] != SIZE_MAX) {
        r->pos = fl->at[K_KEY];
        rc = form(r, 0, true, &e->key);
        e->has_key = true;
    }
    if (rc == SIM_OK && fl->at[K_VALUE] != SIZE_MAX) {
        r->pos = fl->at[K_VALUE];
        rc = form(r, 0, true, &e->value);
    }
    return rc;
}

/* The map at r->pos, appended to h unless it is the nemesis's; ends after the }. */
static int entry(reader *r, sim_history *h)
{
    fields fl;
    for (int k = 0; k < K_COUNT; k++) fl.at[k] = fl.end[k] = SIZE_MAX;
    size_t open = r->pos;
    sim__hentry e = {.line = r->line, .key = SIM__VAL_NIL, .value = SIM__VAL_NIL};
    bool nemesis = false;
    r->in_line = true;
    int rc = scan_map(r, &fl);
    size_t end = r->pos;
    if (rc == SIM_OK) rc = get_process(r, &fl, open, &e.process, &nemesis);
    if (rc == SIM_OK && !nemesis) rc = get_head(r, &fl, open, &e);
    if (rc == SIM_OK && !nemesis) rc = get_values(r, &fl, &e);
    r->pos = end;
    r->in_line = false;
    if (rc != SIM_OK || nemesis) return rc;
    char msg[256];
    rc = sim__history_push(h, &e, msg, sizeof msg);
    if (rc == SIM_EINVAL && r->err != NULL && r->err_size > 0) {
        snprintf(r->err, r->err_size, "%s:%" PRIu32 ": %s", r->path, e.line, msg);
    }
    return rc == SIM_ELIMIT ? too_big(r) : rc;
}

/* One of Jepsen's log lines at r->pos, as Jepsen's older tests printed them and Porcupine
 * ships them: "INFO  jepsen.util - 3<TAB>:invoke<TAB>:read<TAB>nil": the process, type,
 * function and value, apart by tabs; what comes before the process up to " - " is the
 * logger's and is skipped. The value is EDN; an entry has no key. Ends after the value. */
static int log_entry(reader *r, sim_history *h)
{
    size_t start = r->pos, eol = start, tab[3];
    int nt = 0;
    while (r->text[eol] != '\n' && r->text[eol] != '\0') eol++;
    for (size_t i = start; i < eol && nt < 3; i++) {
        if (r->text[i] == '\t') tab[nt++] = i;
    }
    if (nt < 3) {
        return fail(r, nt ? tab[nt - 1] + 1 : start,
                    "expected a log line, PROCESS<tab>:TYPE<tab>:F<tab>VALUE (\"INFO  "
                    "jepsen.util - 3\\t:invoke\\t:read\\tnil\"), as the first line was");
    }
    size_t p = start;
    for (size_t i = start; i + 3 <= tab[0]; i++) {
        if (memcmp(r->text + i, " - ", 3) == 0) p = i + 3;
    }
    while (p < tab[0] && r->text[p] == ' ') p++;
    fields fl;
    for (int k = 0; k < K_COUNT; k++) fl.at[k] = fl.end[k] = SIZE_MAX;
    const int order[4] = {K_PROCESS, K_TYPE, K_F, K_VALUE};
    const size_t from[4] = {p, tab[0] + 1, tab[1] + 1, tab[2] + 1};
    const size_t to[4] = {tab[0], tab[1], tab[2], eol};
    static const char *const names[4] = {"process", "type", "function", "value"};
    for (int k = 0; k < 4; k++) {
        if (from[k] >= to[k]) return fail(r, from[k], "the log line has no %s", names[k]);
        fl.at[order[k]] = from[k];
        fl.end[order[k]] = to[k];
    }
    sim__hentry e = {.line = r->line, .key = SIM__VAL_NIL, .value = SIM__VAL_NIL};
    bool nemesis = false;
    r->in_line = true;
    int rc = get_process(r, &fl, start, &e.process, &nemesis);
    if (rc == SIM_OK && !nemesis) rc = get_head(r, &fl, start, &e);
    if (rc == SIM_OK && !nemesis) rc = get_values(r, &fl, &e);
    if (nemesis) r->pos = eol;
    r->in_line = false;
    if (rc != SIM_OK || nemesis) return rc;
    SIM_ASSERT(r->pos <= eol);
    char msg[256];
    rc = sim__history_push(h, &e, msg, sizeof msg);
    if (rc == SIM_EINVAL && r->err != NULL && r->err_size > 0) {
        snprintf(r->err, r->err_size, "%s:%" PRIu32 ": %s", r->path, e.line, msg);
    }
    return rc == SIM_ELIMIT ? too_big(r) : rc;
}

/* After a map: nothing but a comment, or the closing ] of a wrapped history. */
static int line_end(reader *r, bool wrapped)
{
    r->in_line = true;
    int rc = gap(r, 0);
    r->in_line = false;
    char c = peek(r);
    if (rc != SIM_OK || c == '\n' || c == '\0' || (c == ']' && wrapped)) return rc;
    if (c == '{') return fail(r, r->pos, "a second map on the line: one map per line, please");
    size_t n = excerpt(r, r->pos);
    return fail(r, r->pos, "unexpected text after the %s: %.*s%s", r->log ? "value" : "map",
                clip(n), r->text + r->pos, more(n));
}

/* Jepsen's log lines, one entry a line (the first line was not an EDN map). */
static int read_log(reader *r, sim_history *h)
{
    r->log = true;
    int rc = SIM_OK;
    while (rc == SIM_OK) {
        rc = gap(r, 0);
        if (rc != SIM_OK || peek(r) == '\0') break;
        rc = log_entry(r, h);
        if (rc == SIM_OK) rc = line_end(r, false);
    }
    return rc;
}

static int read_history(reader *r, sim_history *h)
{
    int rc = gap(r, 0);
    if (rc == SIM_OK && peek(r) != '\0' && peek(r) != '{' && peek(r) != '[') {
        return read_log(r, h);
    }
    bool wrapped = rc == SIM_OK && peek(r) == '[';
    if (wrapped) r->pos++;
    while (rc == SIM_OK) {
        rc = gap(r, 0);
        char c = peek(r);
        if (rc != SIM_OK) break;
        if (c == '\0') {
            if (!wrapped) break;
            return fail(r, r->pos, "unterminated history: expected ] after the last map");
        }
        if (c == ']' && wrapped) {
            r->pos++;
            rc = gap(r, 0);
            if (rc != SIM_OK || peek(r) == '\0') break;
            size_t n = excerpt(r, r->pos);
            return fail(r, r->pos, "unexpected text after the closing ]: %.*s%s", clip(n),
                        r->text + r->pos, more(n));
        }
        if (c != '{') {
            size_t n = excerpt(r, r->pos);
            return fail(r, r->pos, "expected a map {:process 0, :type :invoke, :f :read, ...}, "
                                   "not %.*s%s",
                        clip(n), r->text + r->pos, more(n));
        }
        rc = entry(r, h);
        if (rc == SIM_OK) rc = line_end(r, wrapped);
    }
    return rc;
}

int sim_history_parse_edn(const char *path, const char *text, sim_history **out, char *err,
                          size_t err_size)
{
    SIM_ASSERT(path != NULL);
    SIM_ASSERT(text != NULL);
    *out = NULL;
    if (err != NULL && err_size > 0) err[0] = '\0';
    sim_history *h = NULL;
    int rc = sim_history_new(&h);
    SIM_ASSERT(rc == SIM_OK);
    reader r = {.text = text, .path = path, .line = 1, .t = &h->vals, .err = err,
                .err_size = err_size};
    rc = read_history(&r, h);
    reader_release(&r);
    if (rc != SIM_OK) {
        sim_history_free(h);
        return rc;
    }
    *out = h;
    return SIM_OK;
}
