/*
 * text.c: the numbers and durations that scenario files, fault plans and the command line
 * share: decimal integers without sign or spaces, and durations with a unit.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

static const struct {
    const char *suffix;
    uint64_t ns;
} units[] = {{"h", 3600 * SIM_S}, {"m", 60 * SIM_S}, {"s", SIM_S},
             {"ms", SIM_MS},      {"us", SIM_US},     {"ns", SIM_NS}};
#define NUNITS (sizeof units / sizeof units[0])

bool sim__parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9') return false;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return *s == '\0';
}

_Static_assert(SIM_DURATION_MAX % (3600 * SIM_S) == 0, "the maximum is whole hours");
_Static_assert(SIM_DURATION_MAX / (3600 * SIM_S) == 87600, "SIM__DURATION_MAX_TEXT says so");
_Static_assert(SIM_DURATION_MAX < UINT64_MAX / 16, "sums of a few durations cannot wrap");

/* A number and a unit. SIM_OK with the value in ns, SIM_ELIMIT (*out UINT64_MAX) when it is
 * well formed but does not fit 64 bits, SIM_EINVAL when it is not a duration. */
static int parse_duration_any(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') return SIM_EINVAL;
    const char *p = s;
    while (*p >= '0' && *p <= '9') p++;
    size_t unit = NUNITS;
    for (size_t i = 0; i < NUNITS; i++) {
        if (strcmp(p, units[i].suffix) == 0) unit = i;
    }
    if (unit == NUNITS) return SIM_EINVAL;
    uint64_t v = 0;
    bool fits = true;
    for (const char *d = s; d < p && fits; d++) {
        uint64_t digit = (uint64_t)(*d - '0');
        fits = v <= (UINT64_MAX - digit) / 10;
        if (fits) v = v * 10 + digit;
    }
    fits = fits && v <= UINT64_MAX / units[unit].ns;
    *out = fits ? v * units[unit].ns : UINT64_MAX;
    return fits ? SIM_OK : SIM_ELIMIT;
}

int sim__parse_duration(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int rc = parse_duration_any(s, &v);
    if (rc == SIM_OK && v > SIM_DURATION_MAX) rc = SIM_ELIMIT;
    if (rc == SIM_OK) *out = v;
    SIM_ASSERT(rc != SIM_OK || v <= SIM_DURATION_MAX);
    return rc;
}

int sim__parse_host_duration(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int rc = parse_duration_any(s, &v);
    if (rc == SIM_EINVAL) return rc;
    SIM_ASSERT(rc == SIM_OK || v == UINT64_MAX); /* too long for 64 bits: never */
    *out = v;
    return SIM_OK;
}

void sim__format_duration(uint64_t ns, char *buf, size_t size)
{
    SIM_ASSERT(size > 0);
    snprintf(buf, size, "0s");
    for (size_t i = 0; i < NUNITS && ns != 0; i++) {
        if (ns % units[i].ns == 0) {
            snprintf(buf, size, "%llu%s", (unsigned long long)(ns / units[i].ns), units[i].suffix);
            break;
        }
    }
#ifdef SIM_SLOW_CHECKS
    uint64_t back = 0;
    /* The shortest exact form reads back to itself (when the buffer holds any duration). */
    if (size >= 24) SIM_ASSERT_SLOW(parse_duration_any(buf, &back) == SIM_OK);
    if (size >= 24) SIM_ASSERT_SLOW(back == ns);
#endif
}

void sim__format_span(uint64_t ns, char *buf, size_t size)
{
    static const struct {
        uint64_t ns;
        const char *unit;
    } scale[] = {{3600 * SIM_S, "h"}, {60 * SIM_S, "m"}, {SIM_S, "s"}, {SIM_MS, "ms"},
                 {SIM_US, "us"},      {1, "ns"}};
    size_t u = 0;
    while (u + 1 < sizeof scale / sizeof scale[0] && ns < scale[u].ns) u++;
    uint64_t whole = ns / scale[u].ns;
    uint64_t tenths = (ns % scale[u].ns) * 10 / scale[u].ns;
    if (whole >= 100 || tenths == 0) {
        snprintf(buf, size, "%llu%s", (unsigned long long)whole, scale[u].unit);
    } else {
        snprintf(buf, size, "%llu.%llu%s", (unsigned long long)whole, (unsigned long long)tenths,
                 scale[u].unit);
    }
}

bool sim__parse_duration_range(const char *text, uint64_t *lo, uint64_t *hi)
{
    char a[40];
    const char *dots = strstr(text, "..");
    size_t n = dots ? (size_t)(dots - text) : strlen(text);
    if (n >= sizeof a) return false;
    memcpy(a, text, n);
    a[n] = '\0';
    bool ok = sim__parse_duration(a, lo) == SIM_OK &&
              sim__parse_duration(dots ? dots + 2 : a, hi) == SIM_OK && *lo <= *hi;
    if (ok) SIM_ASSERT(*hi <= SIM_DURATION_MAX);
    return ok;
}

void sim__format_duration_range(uint64_t lo, uint64_t hi, char *buf, size_t size)
{
    SIM_ASSERT(lo <= hi); /* low to high, as the range syntax requires */
    char a[24], b[24];
    sim__format_duration(lo, a, sizeof a);
    sim__format_duration(hi, b, sizeof b);
    if (lo == hi) {
        snprintf(buf, size, "%s", a);
    } else {
        snprintf(buf, size, "%s..%s", a, b);
    }
}

const char *sim__text_control(const char *s, char *buf, size_t size)
{
    SIM_ASSERT(s != NULL);
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 0x20 && c != 0x7f) || c == '\t') continue;
        if (c == '\n') {
            snprintf(buf, size, "a newline");
        } else if (c == '\r') {
            snprintf(buf, size, "a carriage return");
        } else {
            snprintf(buf, size, "character 0x%02x", c);
        }
        return p;
    }
    return NULL;
}

void sim__strings_copy(const char *const *src, uint32_t n, char ***out, uint32_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (n == 0) return;
    SIM_ASSERT(src != NULL);
    char **copy = sim__xcalloc(n, sizeof *copy, "node names");
    for (uint32_t i = 0; i < n; i++) copy[i] = sim__xstrdup(src[i], "a node name");
    *out = copy;
    *nout = n;
}

#define PPB 1000000000u

/* "0.25", "1", "0" or "1/4" -> parts per 10^9. */
static bool parse_ppb(const char *s, uint64_t *out)
{
    const char *slash = strchr(s, '/');
    if (slash != NULL) {
        char a[24];
        size_t n = (size_t)(slash - s);
        uint64_t p, q;
        if (n == 0 || n >= sizeof a) return false;
        memcpy(a, s, n);
        a[n] = '\0';
        if (!sim__parse_u64(a, &p) || !sim__parse_u64(slash + 1, &q) || q == 0 || p > q) {
            return false;
        }
        __extension__ typedef unsigned __int128 u128;
        *out = (uint64_t)((u128)p * PPB / q);
        return true;
    }
    if (s[0] != '0' && s[0] != '1') return false;
    uint64_t v = (uint64_t)(s[0] - '0') * PPB, scale = PPB;
    const char *p = s + 1;
    if (*p == '.') {
        if (*++p == '\0') return false;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale == 1) return false;
            scale /= 10;
            v += (uint64_t)(*p - '0') * scale;
        }
    }
    if (*p != '\0' || v > PPB) return false;
    *out = v;
    return true;
}

bool sim__parse_probability_range(const char *text, uint64_t *lo, uint64_t *hi)
{
    char a[40];
    const char *dots = strstr(text, "..");
    size_t n = dots ? (size_t)(dots - text) : strlen(text);
    if (n >= sizeof a) return false;
    memcpy(a, text, n);
    a[n] = '\0';
    bool ok = parse_ppb(a, lo) && parse_ppb(dots ? dots + 2 : a, hi) && *lo <= *hi;
    if (ok) SIM_ASSERT(*hi <= PPB); /* a probability is at most 1 */
    return ok;
}

static void ppb_text(uint64_t v, char *buf, size_t size)
{
    if (v == 0 || v >= PPB) {
        snprintf(buf, size, "%s", v ? "1" : "0");
        return;
    }
    char digits[16];
    snprintf(digits, sizeof digits, "%09llu", (unsigned long long)v);
    size_t n = strlen(digits);
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = '\0';
    snprintf(buf, size, "0.%s", digits);
}

void sim__format_probability_range(uint64_t lo, uint64_t hi, char *buf, size_t size)
{
    SIM_ASSERT(lo <= hi);
    SIM_ASSERT(hi <= PPB);
    char a[24], b[24];
    ppb_text(lo, a, sizeof a);
    ppb_text(hi, b, sizeof b);
    if (lo == hi) {
        snprintf(buf, size, "%s", a);
    } else {
        snprintf(buf, size, "%s..%s", a, b);
    }
}

int sim__einval(char *err, size_t size, const char *fmt, ...)
{
    if (err != NULL && size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return SIM_EINVAL;
}
