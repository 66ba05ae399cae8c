/*
 * shrivenquant fixed-point core: exact decimal <-> int64 conversion and arithmetic helpers.
 *
 * A fixed-point value is (raw, precision): value = raw / 10^precision, with
 *   - precision in [0, SQ_MAX_PRECISION]
 *   - raw in [-INT64_MAX, INT64_MAX]; INT64_MIN is reserved as SQ_RAW_NULL ("no value").
 * Every routine here is exact: it either returns the exact result, rounds with an explicit mode,
 * or reports a status. Nothing wraps silently.
 */
#ifndef SQ_FIXED_H
#define SQ_FIXED_H

#include <stdint.h>
#include <stddef.h>

#define SQ_MAX_PRECISION 18
#define SQ_RAW_NULL INT64_MIN
#define SQ_RAW_MAX INT64_MAX

typedef __int128 sq_i128;

/* status codes */
#define SQ_OK 0
#define SQ_ERR_SYNTAX 1
#define SQ_ERR_OVERFLOW 2
#define SQ_ERR_INEXACT 3
#define SQ_ERR_PRECISION 4

/* rounding modes (same meaning as Python's decimal module) */
#define SQ_ROUND_HALF_EVEN 0
#define SQ_ROUND_HALF_UP 1
#define SQ_ROUND_HALF_DOWN 2
#define SQ_ROUND_DOWN 3     /* toward zero */
#define SQ_ROUND_UP 4       /* away from zero */
#define SQ_ROUND_FLOOR 5    /* toward -inf */
#define SQ_ROUND_CEILING 6  /* toward +inf */
#define SQ_ROUND_EXACT 7    /* refuse to round: SQ_ERR_INEXACT */

static const int64_t SQ_POW10[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

static inline sq_i128 sq_pow10_128(int k) {
    sq_i128 r = 1;
    while (k >= 18) { r *= (sq_i128)SQ_POW10[18]; k -= 18; }
    return r * (sq_i128)SQ_POW10[k];
}

static inline int sq_fits(sq_i128 v) {
    return v <= (sq_i128)SQ_RAW_MAX && v >= -(sq_i128)SQ_RAW_MAX;
}

/* n / d rounded with `mode`; d > 0. Returns SQ_OK or SQ_ERR_INEXACT (mode EXACT and a remainder). */
static inline int sq_div_round(sq_i128 n, sq_i128 d, int mode, sq_i128 *out) {
    sq_i128 q = n / d, r = n % d;
    if (r == 0) { *out = q; return SQ_OK; }
    int neg = n < 0;
    sq_i128 ar = r < 0 ? -r : r;
    sq_i128 twice = ar * 2;
    int cmp = twice > d ? 1 : (twice == d ? 0 : -1);
    int away = 0;
    switch (mode) {
        case SQ_ROUND_HALF_EVEN: away = cmp > 0 || (cmp == 0 && (q & 1)); break;
        case SQ_ROUND_HALF_UP: away = cmp >= 0; break;
        case SQ_ROUND_HALF_DOWN: away = cmp > 0; break;
        case SQ_ROUND_DOWN: away = 0; break;
        case SQ_ROUND_UP: away = 1; break;
        case SQ_ROUND_FLOOR: away = neg; break;
        case SQ_ROUND_CEILING: away = !neg; break;
        default: return SQ_ERR_INEXACT;
    }
    *out = away ? (neg ? q - 1 : q + 1) : q;
    return SQ_OK;
}

static inline int sq_div_round_i64(int64_t n, int64_t d, int mode, int64_t *out) {
    sq_i128 v;
    int st = sq_div_round((sq_i128)n, (sq_i128)d, mode, &v);
    if (st != SQ_OK) return st;
    *out = (int64_t)v;
    return SQ_OK;
}

/* Rescale raw from precision `from` to `to` (either direction) with rounding. */
static inline int sq_rescale(int64_t raw, int from, int to, int mode, int64_t *out) {
    if (to == from) { *out = raw; return SQ_OK; }
    sq_i128 v;
    if (to > from) {
        v = (sq_i128)raw * (sq_i128)SQ_POW10[to - from];
    } else {
        int st = sq_div_round((sq_i128)raw, (sq_i128)SQ_POW10[from - to], mode, &v);
        if (st != SQ_OK) return st;
    }
    if (!sq_fits(v)) return SQ_ERR_OVERFLOW;
    *out = (int64_t)v;
    return SQ_OK;
}

/* Compare a/10^pa with b/10^pb exactly: -1, 0, 1. */
static inline int sq_cmp(int64_t a, int pa, int64_t b, int pb) {
    if (pa == pb) return (a > b) - (a < b);
    sq_i128 x = a, y = b;
    if (pa < pb) x *= (sq_i128)SQ_POW10[pb - pa]; else y *= (sq_i128)SQ_POW10[pa - pb];
    return (x > y) - (x < y);
}

/* a + sign*b at precision max(pa, pb). Returns SQ_OK or SQ_ERR_OVERFLOW. */
static inline int sq_addsub(int64_t a, int pa, int64_t b, int pb, int negate_b, int64_t *out, int *pout) {
    int p = pa > pb ? pa : pb;
    sq_i128 x = (sq_i128)a * (sq_i128)SQ_POW10[p - pa];
    sq_i128 y = (sq_i128)b * (sq_i128)SQ_POW10[p - pb];
    sq_i128 v = negate_b ? x - y : x + y;
    if (!sq_fits(v)) return SQ_ERR_OVERFLOW;
    *out = (int64_t)v;
    *pout = p;
    return SQ_OK;
}

/* a*b (precisions pa+pb) rescaled to precision `to` with rounding. */
static inline int sq_mul(int64_t a, int pa, int64_t b, int pb, int to, int mode, int64_t *out) {
    sq_i128 v = (sq_i128)a * (sq_i128)b; /* |v| < 2^126: always fits */
    int from = pa + pb;
    if (to < from) {
        int st = sq_div_round(v, sq_pow10_128(from - to), mode, &v);
        if (st != SQ_OK) return st;
    } else if (to > from) {
        sq_i128 m = sq_pow10_128(to - from);
        if (v != 0 && (v > 0 ? v : -v) > ((sq_i128)SQ_RAW_MAX) / m) return SQ_ERR_OVERFLOW;
        v *= m;
    }
    if (!sq_fits(v)) return SQ_ERR_OVERFLOW;
    *out = (int64_t)v;
    return SQ_OK;
}

/*
 * Parse a decimal string: [+-]? digits? ( '.' digits? )? ( [eE] [+-]? digits )?   (at least one digit).
 * precision >= 0: the result is at that precision, rounded with `mode` (SQ_ROUND_EXACT refuses).
 * precision < 0:  the natural precision is used (fraction digits, trailing zeros included, minus exponent).
 * On success *raw and *prec_out are set.
 */
static inline int sq_parse_decimal(const char *s, ptrdiff_t n, int precision, int mode, int64_t *raw,
                                   int *prec_out) {
    ptrdiff_t i = 0;
    int neg = 0;
    if (n <= 0) return SQ_ERR_SYNTAX;
    if (s[0] == '-' || s[0] == '+') { neg = s[0] == '-'; i = 1; }
    sq_i128 digits = 0;
    int sig = 0;          /* significant digits accumulated (leading zeros skipped) */
    int ndigits = 0;      /* digits seen in mantissa */
    int frac = 0;         /* digits after the point */
    int dropped = 0;      /* integer-part digits that did not fit in `digits` (scale up later) */
    int seen_point = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            ndigits++;
            if (seen_point) frac++;
            if (sig == 0 && c == '0') continue;
            if (sig < 38) {
                digits = digits * 10 + (c - '0');
                sig++;
            } else if (seen_point) {
                /* beyond 38 significant digits after the point: only zeros are harmless */
                frac--;
                if (c != '0') return SQ_ERR_PRECISION;
            } else {
                dropped++;
                if (c != '0') return SQ_ERR_OVERFLOW;
            }
        } else if (c == '.' && !seen_point) {
            seen_point = 1;
        } else {
            break;
        }
    }
    if (ndigits == 0) return SQ_ERR_SYNTAX;
    long exp10 = 0;
    if (i < n) {
        if (s[i] != 'e' && s[i] != 'E') return SQ_ERR_SYNTAX;
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '-' || s[i] == '+')) { eneg = s[i] == '-'; i++; }
        if (i >= n) return SQ_ERR_SYNTAX;
        for (; i < n; i++) {
            char c = s[i];
            if (c < '0' || c > '9') return SQ_ERR_SYNTAX;
            if (exp10 < 100000) exp10 = exp10 * 10 + (c - '0');
        }
        if (eneg) exp10 = -exp10;
    }
    /* value = digits * 10^(dropped + exp10 - frac) */
    long scale = (long)dropped + exp10 - (long)frac;
    int p;
    if (precision >= 0) {
        p = precision;
    } else {
        long nat = -scale;
        if (nat < 0) nat = 0;
        if (nat > SQ_MAX_PRECISION) return SQ_ERR_PRECISION;
        p = (int)nat;
    }
    long k = scale + p; /* raw = digits * 10^k */
    sq_i128 v = neg ? -digits : digits;
    if (digits == 0) {
        v = 0;
    } else if (k >= 0) {
        if (k > 18) return SQ_ERR_OVERFLOW;
        sq_i128 m = (sq_i128)SQ_POW10[k];
        if (digits > ((sq_i128)SQ_RAW_MAX) / m) return SQ_ERR_OVERFLOW;
        v *= m;
    } else {
        if (-k > 38) {
            /* 0 < |value| < 0.1 units of the target precision: only the direction can matter */
            if (mode == SQ_ROUND_EXACT) return SQ_ERR_INEXACT;
            int away = mode == SQ_ROUND_UP || (mode == SQ_ROUND_CEILING && !neg) || (mode == SQ_ROUND_FLOOR && neg);
            v = away ? (neg ? -1 : 1) : 0;
        } else {
            int st = sq_div_round(v, sq_pow10_128((int)-k), mode, &v);
            if (st != SQ_OK) return st;
        }
    }
    if (!sq_fits(v)) return SQ_ERR_OVERFLOW;
    *raw = (int64_t)v;
    *prec_out = p;
    return SQ_OK;
}

/* Format raw/10^p into buf (>= 48 bytes). Returns the length. */
static inline int sq_format(int64_t raw, int p, char *buf) {
    char tmp[48];
    int n = 0;
    uint64_t mag = raw < 0 ? (uint64_t)(-(raw + 1)) + 1u : (uint64_t)raw;
    int digits = 0;
    do {
        tmp[n++] = (char)('0' + (mag % 10u));
        mag /= 10u;
        digits++;
    } while (mag != 0);
    while (digits <= p) { tmp[n++] = '0'; digits++; } /* at least one integer digit */
    int len = 0;
    if (raw < 0) buf[len++] = '-';
    for (int j = n - 1; j >= 0; j--) {
        buf[len++] = tmp[j];
        if (j == p && p > 0) buf[len++] = '.';
    }
    return len;
}

#endif /* SQ_FIXED_H */
