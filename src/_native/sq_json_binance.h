/*
 * A strict, allocation-free JSON scanner specialised for Binance market-data messages, writing
 * sq_event records directly (see docs/event-record.md and the record mapping in
 * shrivenquant/venues/binance/recording.py, which this reproduces byte for byte).
 *
 * Handled: depthUpdate (spot U/u, futures U/u/pu), trade, aggTrade, bookTicker, markPriceUpdate, each
 * bare or in a combined-stream envelope {"stream":"<sym>@<kind>","data":{..}}, and the REST depth
 * snapshot {"lastUpdateId":..,"bids":[..],"asks":[..][,"E","T","symbol"]}. Everything else is reported
 * SQ_BW_UNHANDLED for the caller's general decoder.
 *
 * Strictness: the whole message must be one valid JSON object (RFC 8259 grammar: strings with valid
 * escapes and no raw control characters, numbers without leading zeros, no trailing commas or
 * characters, nesting <= SQ_BW_MAX_DEPTH). Typed fields must have their type (ids: integers in
 * [0, INT64_MAX]; times: integers in ms; prices/quantities: decimal strings converted exactly with
 * sq_parse_decimal). Duplicate known keys and escape sequences inside keys or interpreted strings are
 * rejected (never guessed at). Anything wrong gives SQ_BW_ERROR with a message in d->err naming what,
 * the byte offset and what was expected; nothing is ever read past `end`.
 *
 * Records: the scanner writes at out[pos..cap) only; a message needing more room gives SQ_BW_FULL and
 * d->needed. Records past the returned count are unspecified after any non-OK status.
 */
#ifndef SQ_JSON_BINANCE_H
#define SQ_JSON_BINANCE_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sq_event.h"
#include "sq_fixed.h"

/* statuses */
#define SQ_BW_OK 0
#define SQ_BW_UNHANDLED 1
#define SQ_BW_ERROR 2
#define SQ_BW_FULL 3

/* message types (index into the counters) */
#define SQ_BW_DEPTH 0
#define SQ_BW_SNAPSHOT 1
#define SQ_BW_TRADE 2
#define SQ_BW_AGGTRADE 3
#define SQ_BW_BOOKTICKER 4
#define SQ_BW_MARK 5
#define SQ_BW_NTYPES 6

/* why a message was left unhandled */
#define SQ_BW_R_NONE 0
#define SQ_BW_R_STREAM 1  /* a stream / event type this decoder does not handle (kline, depth5, ...) */
#define SQ_BW_R_SYMBOL 2  /* the symbol is not in the table (or the snapshot's default symbol is not) */
#define SQ_BW_R_SHAPE 3   /* an unusual but maybe valid shape: extra envelope keys, no "e", null stream */
#define SQ_BW_R_INPUT 4   /* not a bytes payload (set by the caller) */

#define SQ_BW_SYM_MAX 64
#define SQ_BW_MAX_DEPTH 64
#define SQ_BW_MS_MAX 9223372036854LL /* INT64_MAX // 1_000_000: ms that still fit in ns */

typedef struct {
    uint64_t hash;
    uint32_t iid;
    int32_t pp, sp;
    int32_t len;
    char name[SQ_BW_SYM_MAX];
} sq_bw_sym;

typedef struct {
    /* symbol table (owned by the caller): open addressing over `index` (size mask+1, -1 = empty) */
    sq_bw_sym *syms;
    int32_t nsyms;
    int32_t *index;
    uint32_t index_mask;
    int32_t default_sym; /* snapshot symbol when the message names none: >= 0, -1 not in table, -2 unset */
    int mark_mode;       /* rounding of mark / index prices (SQ_ROUND_*) */
    /* caches (reset by sq_bw_reindex): the last symbol found, the last stream name classified */
    int32_t last_sym;
    int32_t last_stream_len, last_stream_type, last_stream_sym;
    char last_stream[SQ_BW_SYM_MAX];
    /* counters since the last reset */
    uint64_t messages[SQ_BW_NTYPES];
    int32_t order[SQ_BW_NTYPES]; /* message types in order of first appearance */
    int32_t norder;
    uint64_t lines, records, level_updates, snapshot_levels;
    int64_t first_ts, last_ts;
    /* details of the last non-OK status */
    int reason;
    int64_t needed;
    int64_t err_offset;
    char err[400];
} sq_bw_decoder;

static const char *const SQ_BW_TYPE_NAMES[SQ_BW_NTYPES] = {
    "depthUpdate", "snapshot", "trade", "aggTrade", "bookTicker", "markPriceUpdate"};

/* ------------------------------------------------------------------------------------------ symbols */
static inline uint64_t sq_bw_hash(const char *s, ptrdiff_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (ptrdiff_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ULL; }
    return h;
}

/* index of the symbol `s` (n bytes), or -1 */
static inline int32_t sq_bw_find(const sq_bw_decoder *d, const char *s, ptrdiff_t n) {
    if (n <= 0 || n >= SQ_BW_SYM_MAX || d->nsyms == 0) return -1;
    uint64_t h = sq_bw_hash(s, n);
    uint32_t i = (uint32_t)h & d->index_mask;
    for (;;) {
        int32_t k = d->index[i];
        if (k < 0) return -1;
        const sq_bw_sym *e = &d->syms[k];
        if (e->hash == h && e->len == n && memcmp(e->name, s, (size_t)n) == 0) return k;
        i = (i + 1) & d->index_mask;
    }
}

/* (Re)build the open-addressing index; `index` has mask+1 slots, mask+1 >= 2 * nsyms. */
static inline void sq_bw_reindex(sq_bw_decoder *d) {
    d->last_sym = -1;
    d->last_stream_len = -1;
    for (uint32_t i = 0; i <= d->index_mask; i++) d->index[i] = -1;
    for (int32_t k = 0; k < d->nsyms; k++) {
        uint32_t i = (uint32_t)d->syms[k].hash & d->index_mask;
        while (d->index[i] >= 0) i = (i + 1) & d->index_mask;
        d->index[i] = k;
    }
}

/* sq_bw_find through a one-entry cache */
static inline int32_t bw_find(sq_bw_decoder *d, const char *s, ptrdiff_t n) {
    int32_t k = d->last_sym;
    if (k >= 0 && d->syms[k].len == n && memcmp(d->syms[k].name, s, (size_t)n) == 0) return k;
    k = sq_bw_find(d, s, n);
    if (k >= 0) d->last_sym = k;
    return k;
}

static inline void sq_bw_reset_counts(sq_bw_decoder *d) {
    for (int i = 0; i < SQ_BW_NTYPES; i++) d->messages[i] = 0;
    d->norder = 0;
    d->lines = d->records = d->level_updates = d->snapshot_levels = 0;
    d->first_ts = d->last_ts = 0;
}

/* ------------------------------------------------------------------------------------------ cursor */
typedef struct {
    const char *p, *end, *base;
    sq_bw_decoder *d;
    const char *what;  /* message type for error messages */
    const uint8_t *ws; /* whitespace table: JSON's, or JSON's without '\n' (line mode) */
} bw_cur;

/* JSON whitespace (space, \t, \n, \r); the line-mode table leaves out '\n' so that a scan over a
 * whole buffer stops at the end of the line */
static const uint8_t BW_WS_JSON[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};
static const uint8_t BW_WS_LINE[256] = {[' '] = 1, ['\t'] = 1, ['\r'] = 1};
static inline int bw_is_digit(char ch) { return ch >= '0' && ch <= '9'; }
#define BW_WS(c) do { \
        while ((c)->p < (c)->end && (unsigned char)*(c)->p <= 0x20 && (c)->ws[(unsigned char)*(c)->p]) (c)->p++; \
    } while (0)

/* Are the 8 bytes of w (little-endian lanes) all ASCII digits? */
static inline int bw_8digits(uint64_t w) {
    return ((w & 0xF0F0F0F0F0F0F0F0ULL) | (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
           0x3333333333333333ULL;
}

/* The value of 8 ASCII digits (first digit most significant), SWAR. */
static inline uint64_t bw_8digits_value(uint64_t w) {
    w -= 0x3030303030303030ULL;
    w = (w * 10) + (w >> 8);
    w = (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
         (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
    return w;
}

/* Up to `max` leading digits at p (p < end) into *u (which must be small enough: the caller bounds the
 * count so that no overflow can happen); returns the end of the digits taken. */
static inline const char *bw_digits(const char *p, const char *end, int max, uint64_t *u) {
    const char *d0 = p;
    uint64_t v = *u, w;
    while (end - p >= 8 && (p - d0) + 8 <= max) {
        memcpy(&w, p, 8);
        if (!bw_8digits(w)) break;
        v = v * 100000000ULL + bw_8digits_value(w);
        p += 8;
    }
    while (p < end && bw_is_digit(*p) && p - d0 < max) { v = v * 10 + (uint64_t)(*p - '0'); p++; }
    *u = v;
    return p;
}

/* a short description of the byte at `at` for error messages */
static inline const char *bw_desc(const bw_cur *c, const char *at, char *buf, size_t n) {
    if (at >= c->end) return "the end of the input (truncated)";
    unsigned char ch = (unsigned char)*at;
    if (ch >= 0x20 && ch < 0x7f) snprintf(buf, n, "'%c'", ch);
    else snprintf(buf, n, "byte 0x%02x", ch);
    return buf;
}

static int bw_fail(bw_cur *c, const char *at, const char *fmt, ...) {
    sq_bw_decoder *d = c->d;
    int n = snprintf(d->err, sizeof d->err, "cannot decode %s at byte %td: ", c->what, at - c->base);
    if (n < 0 || n >= (int)sizeof d->err) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err + n, sizeof d->err - (size_t)n, fmt, ap);
    va_end(ap);
    d->err_offset = at - c->base;
    return SQ_BW_ERROR;
}

static int bw_expected(bw_cur *c, const char *expected) {
    char buf[16];
    return bw_fail(c, c->p, "expected %s, got %s", expected, bw_desc(c, c->p, buf, sizeof buf));
}

/* ------------------------------------------------------------------------------------------ JSON lexing */
enum { J_NONE = 0, J_NULL, J_TRUE, J_FALSE, J_INT, J_NUM, J_STR, J_ARR, J_OBJ, J_LEVELS };

typedef struct {
    const char *s, *e; /* string content (without quotes); array/object/number text */
    uint64_t u;        /* J_INT magnitude */
    uint32_t n;        /* J_LEVELS: levels written */
    uint8_t kind, neg, big, esc;
} bw_val;

static inline int bw_hex(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int bw_u4(bw_cur *c, const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (p + i >= c->end) return bw_fail(c, c->end, "truncated \\u escape: expected 4 hex digits");
        int h = bw_hex(p[i]);
        if (h < 0) return bw_fail(c, p + i, "invalid \\u escape: expected 4 hex digits");
        v = (v << 4) | (unsigned)h;
    }
    *out = v;
    return 0;
}

/* A string at c->p (the opening quote). Content span in *s, *e; *esc = 1 if it has escapes (validated). */
static int bw_string(bw_cur *c, const char **s, const char **e, uint8_t *esc) {
    const char *p = c->p + 1, *end = c->end;
    *esc = 0;
    for (;;) {
        /* 8 bytes at a time: stop at the first '"', '\\' or control byte (little-endian lane order) */
        while (end - p >= 8) {
            uint64_t w, q, b, t;
            memcpy(&w, p, 8);
            q = w ^ 0x2222222222222222ULL;
            b = w ^ 0x5C5C5C5C5C5C5C5CULL;
            t = ((q - 0x0101010101010101ULL) & ~q) | ((b - 0x0101010101010101ULL) & ~b) |
                ((w - 0x2020202020202020ULL) & ~w);
            t &= 0x8080808080808080ULL;
            if (t) {
                p += __builtin_ctzll(t) >> 3;
                break;
            }
            p += 8;
        }
        while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\') p++;
        if (p >= end) return bw_fail(c, c->p, "unterminated string (truncated input): expected a closing '\"'");
        if (*p == '"') break;
        if (*p == '\\') {
            *esc = 1;
            if (p + 1 >= end) return bw_fail(c, end, "truncated escape sequence in a string");
            char ch = p[1];
            if (ch == '"' || ch == '\\' || ch == '/' || ch == 'b' || ch == 'f' || ch == 'n' || ch == 'r' ||
                ch == 't') {
                p += 2;
                continue;
            }
            if (ch != 'u') return bw_fail(c, p, "invalid escape '\\%c' in a string: expected one of \\\" \\\\ \\/ "
                                          "\\b \\f \\n \\r \\t \\uXXXX", (unsigned char)ch >= 0x20 &&
                                          (unsigned char)ch < 0x7f ? ch : '?');
            unsigned v = 0, w = 0;
            if (bw_u4(c, p + 2, &v)) return SQ_BW_ERROR;
            if (v >= 0xDC00 && v <= 0xDFFF) return bw_fail(c, p, "lone low UTF-16 surrogate \\u%04X in a string", v);
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (p + 7 >= end) return bw_fail(c, end, "truncated UTF-16 surrogate pair in a string");
                if (p[6] != '\\' || p[7] != 'u')
                    return bw_fail(c, p, "high UTF-16 surrogate \\u%04X not followed by a low surrogate", v);
                if (bw_u4(c, p + 8, &w)) return SQ_BW_ERROR;
                if (w < 0xDC00 || w > 0xDFFF)
                    return bw_fail(c, p, "high UTF-16 surrogate \\u%04X not followed by a low surrogate", v);
                p += 12;
            } else {
                p += 6;
            }
            continue;
        }
        return bw_fail(c, p, "raw control character 0x%02x in a string: expected it escaped", (unsigned char)*p);
    }
    *s = c->p + 1;
    *e = p;
    c->p = p + 1;
    return 0;
}

/* A JSON number at c->p. Integers (no fraction / exponent) give J_INT with the magnitude in v->u. */
static int bw_number(bw_cur *c, bw_val *v) {
    const char *p = c->p, *end = c->end;
    uint64_t u = 0;
    int big = 0, isint = 1;
    v->neg = 0;
    if (*p == '-') { v->neg = 1; p++; }
    if (p >= end || !bw_is_digit(*p)) {
        char buf[16];
        return bw_fail(c, p, "invalid number: expected a digit, got %s", bw_desc(c, p, buf, sizeof buf));
    }
    if (*p == '0') {
        p++;
    } else {
        p = bw_digits(p, end, 19, &u); /* < 10^19: no overflow */
        while (p < end && bw_is_digit(*p)) {
            unsigned dg = (unsigned)(*p - '0');
            if (u > (UINT64_MAX - dg) / 10) big = 1; else u = u * 10 + dg;
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !bw_is_digit(*p)) return bw_fail(c, p, "invalid number: expected a digit after '.'");
        while (p < end && bw_is_digit(*p)) p++;
        isint = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !bw_is_digit(*p)) return bw_fail(c, p, "invalid number: expected a digit in the exponent");
        while (p < end && bw_is_digit(*p)) p++;
        isint = 0;
    }
    v->kind = isint ? J_INT : J_NUM;
    v->u = u;
    v->big = (uint8_t)big;
    v->s = c->p;
    v->e = p;
    c->p = p;
    return 0;
}

static int bw_literal(bw_cur *c, bw_val *v) {
    const char *p = c->p;
    ptrdiff_t left = c->end - p;
    if (left >= 4 && memcmp(p, "true", 4) == 0) { v->kind = J_TRUE; c->p += 4; return 0; }
    if (left >= 5 && memcmp(p, "false", 5) == 0) { v->kind = J_FALSE; c->p += 5; return 0; }
    if (left >= 4 && memcmp(p, "null", 4) == 0) { v->kind = J_NULL; c->p += 4; return 0; }
    if (left < 5 && (memcmp(p, "true", (size_t)left) == 0 || memcmp(p, "false", (size_t)left) == 0 ||
                     memcmp(p, "null", (size_t)left) == 0))
        return bw_fail(c, c->end, "truncated literal: expected true, false or null");
    return bw_fail(c, p, "invalid literal: expected true, false or null");
}

/* Skip (and fully validate) any JSON value at c->p; iterative, nesting <= SQ_BW_MAX_DEPTH. */
static int bw_skip(bw_cur *c) {
    char stack[SQ_BW_MAX_DEPTH];
    int depth = 0;
    bw_val tmp;
    const char *s, *e;
    for (;;) {
        /* a value */
        if (c->p >= c->end) return bw_expected(c, "a JSON value");
        switch (*c->p) {
            case '{':
            case '[': {
                if (depth == SQ_BW_MAX_DEPTH) return bw_fail(c, c->p, "JSON nested deeper than %d levels", SQ_BW_MAX_DEPTH);
                char open = *c->p;
                stack[depth++] = open;
                c->p++;
                BW_WS(c);
                if (c->p < c->end && *c->p == (open == '{' ? '}' : ']')) { c->p++; depth--; break; }
                if (open == '[') continue;
                goto key;
            }
            case '"':
                if (bw_string(c, &s, &e, &tmp.esc)) return SQ_BW_ERROR;
                break;
            case 't': case 'f': case 'n':
                if (bw_literal(c, &tmp)) return SQ_BW_ERROR;
                break;
            default:
                if (*c->p == '-' || bw_is_digit(*c->p)) {
                    if (bw_number(c, &tmp)) return SQ_BW_ERROR;
                    break;
                }
                return bw_expected(c, "a JSON value");
        }
    after:
        if (depth == 0) return 0;
        BW_WS(c);
        if (c->p >= c->end) return bw_expected(c, stack[depth - 1] == '{' ? "',' or '}'" : "',' or ']'");
        if (*c->p == ',') {
            c->p++;
            BW_WS(c);
            if (stack[depth - 1] == '[') continue;
            goto key;
        }
        if (*c->p == (stack[depth - 1] == '{' ? '}' : ']')) {
            c->p++;
            depth--;
            goto after;
        }
        return bw_expected(c, stack[depth - 1] == '{' ? "',' or '}'" : "',' or ']'");
    key:
        if (c->p >= c->end || *c->p != '"') return bw_expected(c, "a '\"'-quoted object key");
        if (bw_string(c, &s, &e, &tmp.esc)) return SQ_BW_ERROR;
        BW_WS(c);
        if (c->p >= c->end || *c->p != ':') return bw_expected(c, "':' after an object key");
        c->p++;
        BW_WS(c);
    }
}

/* Any value at c->p into v: scalars decoded, arrays/objects validated and spanned. */
static int bw_value(bw_cur *c, bw_val *v) {
    if (c->p >= c->end) return bw_expected(c, "a JSON value");
    char ch = *c->p;
    v->s = c->p;
    if (ch == '"') {
        v->kind = J_STR;
        return bw_string(c, &v->s, &v->e, &v->esc);
    }
    if (ch == '{' || ch == '[') {
        v->kind = ch == '{' ? J_OBJ : J_ARR;
        v->s = c->p;
        if (bw_skip(c)) return SQ_BW_ERROR;
        v->e = c->p;
        return 0;
    }
    if (ch == 't' || ch == 'f' || ch == 'n') return bw_literal(c, v);
    if (ch == '-' || bw_is_digit(ch)) return bw_number(c, v);
    return bw_expected(c, "a JSON value");
}

/* ------------------------------------------------------------------------------------------ keys */
enum {
    K_e, K_E, K_T, K_s, K_U, K_u, K_pu, K_b, K_a, K_B, K_A, K_p, K_q, K_t, K_m, K_f, K_i, /* event keys */
    K_stream, K_data, K_lastUpdateId, K_bids, K_asks, K_symbol, K_result,                /* top level only */
    K_N
};
#define KB(k) (1u << (k))

static const char *const BW_KEY_NAMES[K_N] = {
    "e", "E", "T", "s", "U", "u", "pu", "b", "a", "B", "A", "p", "q", "t", "m", "f", "i",
    "stream", "data", "lastUpdateId", "bids", "asks", "symbol", "result"};

static inline int bw_key(const char *k, ptrdiff_t n, int top) {
    if (n == 1) {
        switch (k[0]) {
            case 'e': return K_e;
            case 'E': return K_E;
            case 'T': return K_T;
            case 's': return K_s;
            case 'U': return K_U;
            case 'u': return K_u;
            case 'b': return K_b;
            case 'a': return K_a;
            case 'B': return K_B;
            case 'A': return K_A;
            case 'p': return K_p;
            case 'q': return K_q;
            case 't': return K_t;
            case 'm': return K_m;
            case 'f': return K_f;
            case 'i': return K_i;
            default: return -1;
        }
    }
    if (n == 2) return (k[0] == 'p' && k[1] == 'u') ? K_pu : -1;
    if (!top) return -1;
    switch (n) {
        case 4:
            if (memcmp(k, "data", 4) == 0) return K_data;
            if (memcmp(k, "bids", 4) == 0) return K_bids;
            if (memcmp(k, "asks", 4) == 0) return K_asks;
            return -1;
        case 6:
            if (memcmp(k, "stream", 6) == 0) return K_stream;
            if (memcmp(k, "symbol", 6) == 0) return K_symbol;
            if (memcmp(k, "result", 6) == 0) return K_result;
            return -1;
        case 12:
            return memcmp(k, "lastUpdateId", 12) == 0 ? K_lastUpdateId : -1;
        default:
            return -1;
    }
}

/* ------------------------------------------------------------------------------------------ decimals */
/*
 * sq_parse_decimal(s, n, prec, mode) for the plain form digits[.digits] with <= 18 digits and at most
 * `prec` fraction digits, computed in 64-bit arithmetic: the value is exact at `prec`, so every rounding
 * mode gives digits * 10^(prec - fraction digits), which is what sq_parse_decimal returns. Returns 0 when
 * the text is not of that form or the result would not fit (the caller then uses sq_parse_decimal itself,
 * which reports the exact status). *stop is the first byte not in the form.
 */
static inline int bw_plain_decimal(const char *s, const char *end, int prec, int64_t *raw, const char **stop) {
    uint64_t m = 0;
    int nd = 0, frac = -1;
    const char *q = s;
    for (; q < end; q++) {
        unsigned dg = (unsigned)((unsigned char)*q - '0');
        if (dg < 10) {
            m = m * 10 + dg;
            nd++;
            if (frac >= 0) frac++;
        } else if (*q == '.' && frac < 0 && nd > 0) {
            frac = 0;
        } else {
            break;
        }
    }
    *stop = q;
    if (nd == 0 || nd > 18 || frac == 0 || frac > prec) return 0;
    uint64_t r;
    if (__builtin_mul_overflow(m, (uint64_t)SQ_POW10[prec - (frac < 0 ? 0 : frac)], &r) || r > (uint64_t)INT64_MAX)
        return 0;
    *raw = (int64_t)r;
    return 1;
}

static const char *bw_status_text(int st) {
    return st == SQ_ERR_SYNTAX ? "is not a decimal number: expected a decimal string such as \"61773.60\" at"
           : st == SQ_ERR_OVERFLOW ? "does not fit in int64 at"
           : st == SQ_ERR_PRECISION ? "has too many significant digits for"
                                    : "is not exact at";
}

/* ------------------------------------------------------------------------------------------ levels */
/* One decimal string of a level at c->p (the opening quote), parsed at `prec`. */
static inline int bw_level_decimal(bw_cur *c, const char *key, uint32_t i, int which, const sq_bw_sym *sym,
                                   int64_t *out) {
    int prec = which ? sym->sp : sym->pp;
    const char *s = c->p + 1, *stop;
    if (bw_plain_decimal(s, c->end, prec, out, &stop) && stop < c->end && *stop == '"') {
        c->p = stop + 1;
        return 0;
    }
    const char *p = s, *end = c->end;
    while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
    if (p >= end) return bw_fail(c, c->p, "unterminated string (truncated input): expected a closing '\"'");
    if (*p == '\\') return bw_fail(c, p, "escape sequence in a decimal string of \"%s\": expected plain digits", key);
    if (*p != '"') return bw_fail(c, p, "raw control character 0x%02x in a string: expected it escaped", (unsigned char)*p);
    int pout, len = (int)(p - s);
    int st = sq_parse_decimal(s, p - s, prec, SQ_ROUND_EXACT, out, &pout);
    if (st != SQ_OK)
        return bw_fail(c, s, "%s[%u] %s \"%.*s%s\" %s %s precision %d (%s)", key, i, which ? "quantity" : "price",
                       len > 40 ? 40 : len, s, len > 40 ? "..." : "", bw_status_text(st), which ? "size" : "price",
                       prec, sym->name);
    if (which && *out < 0)
        return bw_fail(c, s, "%s[%u] quantity \"%.*s\" is negative: expected a size >= 0", key, i, len > 40 ? 40 : len, s);
    c->p = p + 1;
    return 0;
}

/* A [[price, qty], ..] array at c->p: each pair parsed exactly and, while it fits, written to
 * out[base + i] (price, qty, side). The count is in *count. */
static int bw_levels(bw_cur *c, const char *key, int side, const sq_bw_sym *sym, sq_event *out, int64_t base,
                     int64_t cap, uint32_t *count) {
    uint32_t i = 0;
    int64_t price = 0, qty = 0;
    if (c->p >= c->end || *c->p != '[') return bw_expected(c, "an array of [price, qty] pairs");
    c->p++;
    BW_WS(c);
    if (c->p < c->end && *c->p == ']') { c->p++; *count = 0; return 0; }
    for (;;) {
        if (c->p >= c->end || *c->p != '[') return bw_expected(c, "a [price, qty] pair of decimal strings");
        c->p++;
        BW_WS(c);
        if (c->p >= c->end || *c->p != '"') return bw_expected(c, "a decimal string (the level's price)");
        if (bw_level_decimal(c, key, i, 0, sym, &price)) return SQ_BW_ERROR;
        BW_WS(c);
        if (c->p >= c->end || *c->p != ',') return bw_expected(c, "',' between a level's price and quantity");
        c->p++;
        BW_WS(c);
        if (c->p >= c->end || *c->p != '"') return bw_expected(c, "a decimal string (the level's quantity)");
        if (bw_level_decimal(c, key, i, 1, sym, &qty)) return SQ_BW_ERROR;
        BW_WS(c);
        if (c->p >= c->end || *c->p != ']')
            return bw_expected(c, "']' closing a [price, qty] pair (a level has exactly 2 strings)");
        c->p++;
        if (base + (int64_t)i < cap) {
            sq_event *ev = &out[base + i];
            ev->price = price;
            ev->qty = qty;
            ev->side = (uint8_t)side;
        }
        i++;
        BW_WS(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            BW_WS(c);
            continue;
        }
        if (c->p < c->end && *c->p == ']') { c->p++; break; }
        return bw_expected(c, "',' or ']' after a [price, qty] pair");
    }
    *count = i;
    return 0;
}

/* ------------------------------------------------------------------------------------------ objects */
typedef struct {
    int top;             /* the message's top-level object (else an envelope's data) */
    int type;            /* message type known from the stream name, or -1 */
    int32_t stream_sym;  /* symbol from the stream name: >= 0 index, -1 not in table, -2 none */
    sq_event *out;
    int64_t pos, cap;
} bw_ctx;

typedef struct {
    bw_val v[K_N];
    uint32_t seen;
    int type_guess;  /* type for direct level parsing: from the stream (data) or "e" (top), else -1 */
    int32_t sym;     /* from "s" once seen: >= 0 index, -1 not in table, -2 none, -4 not a plain string */
    int env_type;    /* from "stream": type, or -1 */
    int32_t env_sym;
    int data_inline; /* "data" was parsed while scanning */
    const char *start;
} bw_obj;

static int bw_parse_obj(bw_cur *c, const bw_ctx *x, bw_obj *o, bw_obj *data);

/* Classify a stream name as recording.py does; *sym gets the symbol of its prefix (-1 unknown, -2 none).
 * Returns the type, -1 for a stream this decoder leaves alone, -2 for a name needing the general decoder. */
static int bw_classify_stream(const sq_bw_decoder *d, const char *s, const char *e, int32_t *sym) {
    const char *kind = s;
    *sym = -2;
    for (const char *p = s; p < e; p++)
        if ((unsigned char)*p >= 0x80) return -2;
    if (s < e && *s == '!') {
        kind = s + 1;
    } else {
        const char *at = memchr(s, '@', (size_t)(e - s));
        if (at) {
            ptrdiff_t n = at - s;
            if (n > 0) {
                char up[SQ_BW_SYM_MAX];
                if (n >= SQ_BW_SYM_MAX) {
                    *sym = -1;
                } else {
                    for (ptrdiff_t i = 0; i < n; i++) {
                        char ch = s[i];
                        up[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
                    }
                    *sym = sq_bw_find(d, up, n);
                }
            }
            kind = at + 1;
        }
    }
    ptrdiff_t n = e - kind;
    if ((n == 5 && memcmp(kind, "depth", 5) == 0) || (n >= 6 && memcmp(kind, "depth@", 6) == 0)) return SQ_BW_DEPTH;
    if (n == 5 && memcmp(kind, "trade", 5) == 0) return SQ_BW_TRADE;
    if (n == 8 && memcmp(kind, "aggTrade", 8) == 0) return SQ_BW_AGGTRADE;
    if (n == 10 && memcmp(kind, "bookTicker", 10) == 0) return SQ_BW_BOOKTICKER;
    if (n == 9 && memcmp(kind, "markPrice", 9) == 0) return SQ_BW_MARK;
    if (n >= 10 && memcmp(kind, "markPrice@", 10) == 0) {
        for (const char *p = kind; p + 3 <= e; p++)
            if (p[0] == 'a' && p[1] == 'r' && p[2] == 'r') return -1;
        return SQ_BW_MARK;
    }
    return -1;
}

static inline int bw_event_type(const char *s, const char *e) {
    ptrdiff_t n = e - s;
    if (n == 11 && memcmp(s, "depthUpdate", 11) == 0) return SQ_BW_DEPTH;
    if (n == 5 && memcmp(s, "trade", 5) == 0) return SQ_BW_TRADE;
    if (n == 8 && memcmp(s, "aggTrade", 8) == 0) return SQ_BW_AGGTRADE;
    if (n == 10 && memcmp(s, "bookTicker", 10) == 0) return SQ_BW_BOOKTICKER;
    if (n == 15 && memcmp(s, "markPriceUpdate", 15) == 0) return SQ_BW_MARK;
    return -1;
}

static const char *const BW_WHAT[SQ_BW_NTYPES] = {
    "depthUpdate message", "REST depth snapshot", "trade message", "aggTrade message", "bookTicker message",
    "markPriceUpdate message"};

/* Parse the object at c->p into o. At the top level, a "data" object of a known stream is parsed into
 * `data` in the same pass; depth levels go straight to the output once the symbol is known. */
static int bw_parse_obj(bw_cur *c, const bw_ctx *x, bw_obj *o, bw_obj *data) {
    o->seen = 0;
    o->type_guess = x->type;
    o->sym = -3;
    o->env_type = -1;
    o->env_sym = -2;
    o->data_inline = 0;
    o->start = c->p;
    if (c->p >= c->end || *c->p != '{') return bw_expected(c, "a JSON object");
    c->p++;
    BW_WS(c);
    if (c->p < c->end && *c->p == '}') { c->p++; return 0; }
    for (;;) {
        if (c->p >= c->end || *c->p != '"') return bw_expected(c, "a '\"'-quoted object key");
        const char *kat = c->p, *ks, *ke;
        uint8_t kesc = 0;
        if (c->p + 2 < c->end && c->p[2] == '"' && c->p[1] != '"' && c->p[1] != '\\' &&
            (unsigned char)c->p[1] >= 0x20) {
            ks = c->p + 1; /* one-character key: the common case */
            ke = c->p + 2;
            c->p += 3;
        } else if (bw_string(c, &ks, &ke, &kesc)) {
            return SQ_BW_ERROR;
        }
        BW_WS(c);
        if (c->p >= c->end || *c->p != ':') return bw_expected(c, "':' after an object key");
        c->p++;
        BW_WS(c);
        if (kesc) return bw_fail(c, kat, "escape sequence in an object key: expected a plain key");
        int k = bw_key(ks, ke - ks, x->top);
        if (k < 0) {
            if (bw_skip(c)) return SQ_BW_ERROR;
        } else {
            if (o->seen & KB(k)) return bw_fail(c, kat, "duplicate key \"%s\"", BW_KEY_NAMES[k]);
            o->seen |= KB(k);
            bw_val *v = &o->v[k];
            int direct = 0;
            if ((k == K_b || k == K_a) && o->type_guess == SQ_BW_DEPTH && o->sym >= 0 && c->p < c->end &&
                *c->p == '[') {
                if (k == K_b) {
                    direct = 1;
                } else {
                    direct = (o->seen & KB(K_b)) && o->v[K_b].kind == J_LEVELS;
                }
            }
            if (direct) {
                int64_t base = x->pos + (k == K_a ? (int64_t)o->v[K_b].n : 0);
                v->s = c->p;
                if (bw_levels(c, k == K_b ? "b" : "a", k == K_b ? SQ_SIDE_BID : SQ_SIDE_ASK, &c->d->syms[o->sym],
                              x->out, base, x->cap, &v->n))
                    return SQ_BW_ERROR;
                v->e = c->p;
                v->kind = J_LEVELS;
            } else if (k == K_data && o->env_type >= 0 && c->p < c->end && *c->p == '{') {
                bw_ctx dx = {0, o->env_type, o->env_sym, x->out, x->pos, x->cap};
                v->s = c->p;
                c->what = BW_WHAT[o->env_type];
                if (bw_parse_obj(c, &dx, data, NULL)) return SQ_BW_ERROR;
                v->e = c->p;
                v->kind = J_OBJ;
                o->data_inline = 1;
            } else {
                if (bw_value(c, v)) return SQ_BW_ERROR;
            }
            if (k == K_s) {
                if (v->kind == J_STR && !v->esc && v->e > v->s) o->sym = bw_find(c->d, v->s, v->e - v->s);
                else if (v->kind == J_NULL || (v->kind == J_STR && v->e == v->s)) o->sym = x->stream_sym;
                else o->sym = -4;
            } else if (k == K_e && x->top) {
                if (v->kind == J_STR && !v->esc) o->type_guess = bw_event_type(v->s, v->e);
                if (o->type_guess >= 0) c->what = BW_WHAT[o->type_guess];
            } else if (k == K_stream) {
                if (v->kind == J_STR && !v->esc) {
                    sq_bw_decoder *d = c->d;
                    ptrdiff_t sn = v->e - v->s;
                    if (sn == d->last_stream_len && memcmp(d->last_stream, v->s, (size_t)sn) == 0) {
                        o->env_type = d->last_stream_type;
                        o->env_sym = d->last_stream_sym;
                    } else {
                        o->env_type = bw_classify_stream(d, v->s, v->e, &o->env_sym);
                        if (sn < SQ_BW_SYM_MAX) {
                            memcpy(d->last_stream, v->s, (size_t)sn);
                            d->last_stream_len = (int32_t)sn;
                            d->last_stream_type = o->env_type;
                            d->last_stream_sym = o->env_sym;
                        }
                    }
                    if (o->env_type == -1) { c->d->reason = SQ_BW_R_STREAM; return SQ_BW_UNHANDLED; }
                    if (o->env_type == -2) { c->d->reason = SQ_BW_R_SHAPE; return SQ_BW_UNHANDLED; }
                } else {
                    c->d->reason = SQ_BW_R_SHAPE;
                    return SQ_BW_UNHANDLED;
                }
            }
        }
        BW_WS(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            BW_WS(c);
            continue;
        }
        if (c->p < c->end && *c->p == '}') { c->p++; return 0; }
        return bw_expected(c, "',' or '}' after an object member");
    }
}

/* ------------------------------------------------------------------------------------------ typed fields */
static const char *bw_kind_name(int kind) {
    switch (kind) {
        case J_NULL: return "null";
        case J_TRUE: case J_FALSE: return "a boolean";
        case J_INT: return "an integer";
        case J_NUM: return "a non-integer number";
        case J_STR: return "a string";
        case J_ARR: case J_LEVELS: return "an array";
        case J_OBJ: return "an object";
        default: return "nothing";
    }
}

static const char *bw_at(const bw_obj *o, int k, const bw_cur *c) {
    const bw_val *v = &o->v[k];
    if (v->kind == J_STR) return v->s - 1;
    return v->s ? v->s : c->base;
}

/* an unsigned integer field <= max; missing/null: *out = dflt when !required */
static int bw_uint(bw_cur *c, const bw_obj *o, int k, int required, uint64_t max, const char *what, uint64_t dflt,
                   uint64_t *out, int *present) {
    const bw_val *v = &o->v[k];
    if (!(o->seen & KB(k)) || v->kind == J_NULL) {
        if (required)
            return bw_fail(c, (o->seen & KB(k)) ? bw_at(o, k, c) : o->start,
                           "%s key \"%s\" (%s): expected an integer", (o->seen & KB(k)) ? "null" : "missing required",
                           BW_KEY_NAMES[k], what);
        *out = dflt;
        if (present) *present = 0;
        return 0;
    }
    if (v->kind != J_INT)
        return bw_fail(c, bw_at(o, k, c), "\"%s\" (%s) is %s: expected an integer", BW_KEY_NAMES[k], what,
                       bw_kind_name(v->kind));
    if (v->neg && (v->u != 0 || v->big))
        return bw_fail(c, v->s, "\"%s\" (%s) is negative: expected an integer >= 0", BW_KEY_NAMES[k], what);
    if (v->big || v->u > max)
        return bw_fail(c, v->s, "\"%s\" (%s) %.*s is too large: expected an integer <= %llu", BW_KEY_NAMES[k], what,
                       (int)(v->e - v->s > 30 ? 30 : v->e - v->s), v->s, (unsigned long long)max);
    *out = v->u;
    if (present) *present = 1;
    return 0;
}

#define BW_ID_MAX ((uint64_t)INT64_MAX)

/* a plain (escape-free) string field */
static int bw_str(bw_cur *c, const bw_obj *o, int k, int required, const char *what, const bw_val **out) {
    const bw_val *v = &o->v[k];
    *out = NULL;
    if (!(o->seen & KB(k)) || v->kind == J_NULL) {
        if (required)
            return bw_fail(c, (o->seen & KB(k)) ? bw_at(o, k, c) : o->start, "%s key \"%s\" (%s): expected a string",
                           (o->seen & KB(k)) ? "null" : "missing required", BW_KEY_NAMES[k], what);
        return 0;
    }
    if (v->kind != J_STR)
        return bw_fail(c, bw_at(o, k, c), "\"%s\" (%s) is %s: expected a string", BW_KEY_NAMES[k], what,
                       bw_kind_name(v->kind));
    if (v->esc)
        return bw_fail(c, v->s, "escape sequence in \"%s\" (%s): expected a plain string", BW_KEY_NAMES[k], what);
    *out = v;
    return 0;
}

/* a decimal string field to raw at precision p */
static int bw_decimal(bw_cur *c, const bw_val *v, const char *key, const char *what, int p, int mode,
                      const sq_bw_sym *sym, const char *prec_name, int64_t *out) {
    const char *stop;
    if (bw_plain_decimal(v->s, v->e, p, out, &stop) && stop == v->e) return 0;
    int pout;
    int st = sq_parse_decimal(v->s, v->e - v->s, p, mode, out, &pout);
    if (st == SQ_OK) return 0;
    int len = (int)(v->e - v->s);
    return bw_fail(c, v->s, "\"%s\" (%s) \"%.*s%s\" %s %s precision %d (%s)", key, what, len > 40 ? 40 : len, v->s,
                   len > 40 ? "..." : "", bw_status_text(st), prec_name, p, sym->name);
}

/* venue time: T if present and not null, else E; both checked as ms when present. */
static int bw_times(bw_cur *c, const bw_obj *o, int64_t *t_ns, int *have) {
    uint64_t e = 0, t = 0;
    int he = 0, ht = 0;
    if (bw_uint(c, o, K_E, 0, SQ_BW_MS_MAX, "event time, ms", 0, &e, &he)) return SQ_BW_ERROR;
    if (bw_uint(c, o, K_T, 0, SQ_BW_MS_MAX, "transaction time, ms", 0, &t, &ht)) return SQ_BW_ERROR;
    *have = ht || he;
    *t_ns = (int64_t)(ht ? t : e) * 1000000;
    return 0;
}

/* the symbol of an event object: "s" if a non-empty string, else the stream's */
static int bw_event_symbol(bw_cur *c, const bw_ctx *x, const bw_obj *o, int32_t *sym) {
    int32_t s = (o->seen & KB(K_s)) ? o->sym : x->stream_sym;
    if (s >= 0) { *sym = s; return 0; }
    if (s == -1) { c->d->reason = SQ_BW_R_SYMBOL; return SQ_BW_UNHANDLED; }
    if (s == -4) {
        const bw_val *v = &o->v[K_s];
        if (v->kind == J_STR)
            return bw_fail(c, v->s, "escape sequence in \"s\" (symbol): expected a plain string such as \"BTCUSDT\"");
        return bw_fail(c, bw_at(o, K_s, c), "\"s\" (symbol) is %s: expected a string such as \"BTCUSDT\"",
                       bw_kind_name(v->kind));
    }
    return bw_fail(c, c->base, "message has no symbol (no \"s\" field and no stream name)");
}

static inline void bw_count(sq_bw_decoder *d, int type, int64_t ts_local, uint64_t nrec) {
    if (d->messages[type]++ == 0) d->order[d->norder++] = type;
    if (d->lines == 0) d->first_ts = ts_local;
    d->last_ts = ts_local;
    d->lines++;
    d->records += nrec;
}

/* level array for a depth / snapshot message: already parsed directly, or from its span now */
static int bw_level_array(bw_cur *c, const bw_val *v, const char *key, int side, const sq_bw_sym *sym,
                          sq_event *out, int64_t base, int64_t cap, uint32_t *n) {
    if (v->kind == J_LEVELS) { *n = v->n; return 0; }
    bw_cur sub = *c;
    sub.p = v->s;
    int st = bw_levels(&sub, key, side, sym, out, base, cap, n);
    return st;
}

static int bw_require_levels(bw_cur *c, const bw_obj *o, int k, const char *what) {
    const bw_val *v = &o->v[k];
    if (!(o->seen & KB(k))) return bw_fail(c, o->start, "missing required key \"%s\" (%s)", BW_KEY_NAMES[k], what);
    if (v->kind != J_ARR && v->kind != J_LEVELS)
        return bw_fail(c, bw_at(o, k, c), "\"%s\" (%s) is %s: expected an array of [price, qty] pairs",
                       BW_KEY_NAMES[k], what, bw_kind_name(v->kind));
    return 0;
}

/* ------------------------------------------------------------------------------------------ emitters */
static int bw_emit_depth(bw_cur *c, const bw_ctx *x, const bw_obj *o, int64_t ts_local, int64_t *nrec) {
    uint64_t U = 0, u = 0, pu = 0;
    int64_t t;
    int have_t, st;
    int32_t si;
    c->what = BW_WHAT[SQ_BW_DEPTH];
    if (bw_uint(c, o, K_U, 1, BW_ID_MAX, "first update id", 0, &U, NULL)) return SQ_BW_ERROR;
    if (bw_uint(c, o, K_u, 1, BW_ID_MAX, "final update id", 0, &u, NULL)) return SQ_BW_ERROR;
    if (bw_uint(c, o, K_pu, 0, BW_ID_MAX, "previous final update id", 0, &pu, NULL)) return SQ_BW_ERROR;
    if (bw_require_levels(c, o, K_b, "bids")) return SQ_BW_ERROR;
    if (bw_require_levels(c, o, K_a, "asks")) return SQ_BW_ERROR;
    if (bw_times(c, o, &t, &have_t)) return SQ_BW_ERROR;
    if ((st = bw_event_symbol(c, x, o, &si)) != 0) return st;
    const sq_bw_sym *sym = &c->d->syms[si];
    sq_event *out = x->out;
    int64_t pos = x->pos, cap = x->cap;
    uint32_t nb, na;
    if (bw_level_array(c, &o->v[K_b], "b", SQ_SIDE_BID, sym, out, pos, cap, &nb)) return SQ_BW_ERROR;
    if (bw_level_array(c, &o->v[K_a], "a", SQ_SIDE_ASK, sym, out, pos + nb, cap, &na)) return SQ_BW_ERROR;
    int64_t k = (int64_t)nb + na;
    int64_t need = k ? k : 1;
    if (pos + need > cap) { c->d->needed = need; return SQ_BW_FULL; }
    uint8_t flags = SQ_F_MBP;
    if (!have_t) { t = ts_local; flags |= SQ_F_BAD_TS; }
    if (k == 0) {
        out[pos].price = SQ_RAW_NULL;
        out[pos].qty = SQ_RAW_NULL;
        out[pos].side = SQ_SIDE_NONE;
    }
    uint8_t kind = k ? SQ_EV_LEVEL : SQ_EV_NONE;
    for (int64_t i = 0; i < need; i++) {
        sq_event *ev = &out[pos + i];
        ev->ts_event = t;
        ev->ts_local = ts_local;
        ev->order_id = pu;
        ev->seq = u;
        ev->aux = (int64_t)U;
        ev->instrument_id = sym->iid;
        ev->kind = kind;
        ev->flags = flags;
        ev->reserved = 0;
    }
    out[pos + need - 1].flags |= SQ_F_LAST;
    c->d->level_updates += (uint64_t)k;
    bw_count(c->d, SQ_BW_DEPTH, ts_local, (uint64_t)need);
    *nrec = need;
    return 0;
}

static int bw_emit_snapshot(bw_cur *c, const bw_ctx *x, const bw_obj *o, int64_t ts_local, int64_t *nrec) {
    uint64_t lu = 0;
    int64_t t;
    int have_t;
    int32_t si;
    c->what = BW_WHAT[SQ_BW_SNAPSHOT];
    if (bw_uint(c, o, K_lastUpdateId, 1, BW_ID_MAX, "last update id", 0, &lu, NULL)) return SQ_BW_ERROR;
    if (!(o->seen & KB(K_bids)) || o->v[K_bids].kind == J_NULL || !(o->seen & KB(K_asks)) ||
        o->v[K_asks].kind == J_NULL)
        return bw_fail(c, c->base, "REST depth snapshot without \"bids\" and \"asks\" (expected "
                                   "{\"lastUpdateId\":int,\"bids\":[[price,qty],..],\"asks\":[[price,qty],..]})");
    if (bw_require_levels(c, o, K_bids, "bids")) return SQ_BW_ERROR;
    if (bw_require_levels(c, o, K_asks, "asks")) return SQ_BW_ERROR;
    if (bw_times(c, o, &t, &have_t)) return SQ_BW_ERROR;
    const bw_val *sv = NULL;
    if (bw_str(c, o, K_symbol, 0, "symbol", &sv)) return SQ_BW_ERROR;
    if (sv && sv->e > sv->s) {
        si = bw_find(c->d, sv->s, sv->e - sv->s);
        if (si < 0) { c->d->reason = SQ_BW_R_SYMBOL; return SQ_BW_UNHANDLED; }
    } else {
        si = c->d->default_sym;
        if (si == -1) { c->d->reason = SQ_BW_R_SYMBOL; return SQ_BW_UNHANDLED; }
        if (si < 0)
            return bw_fail(c, c->base, "REST depth snapshot names no symbol and no default symbol is set");
    }
    const sq_bw_sym *sym = &c->d->syms[si];
    sq_event *out = x->out;
    int64_t pos = x->pos, cap = x->cap;
    uint32_t nb, na;
    if (bw_level_array(c, &o->v[K_bids], "bids", SQ_SIDE_BID, sym, out, pos + 1, cap, &nb)) return SQ_BW_ERROR;
    if (bw_level_array(c, &o->v[K_asks], "asks", SQ_SIDE_ASK, sym, out, pos + 1 + nb, cap, &na))
        return SQ_BW_ERROR;
    int64_t k = (int64_t)nb + na, need = k + 1;
    if (pos + need > cap) { c->d->needed = need; return SQ_BW_FULL; }
    uint8_t flags = SQ_F_SNAPSHOT | SQ_F_MBP;
    if (!have_t) { t = ts_local; flags |= SQ_F_BAD_TS; }
    out[pos].price = SQ_RAW_NULL;
    out[pos].qty = SQ_RAW_NULL;
    out[pos].side = SQ_SIDE_NONE;
    for (int64_t i = 0; i < need; i++) {
        sq_event *ev = &out[pos + i];
        ev->ts_event = t;
        ev->ts_local = ts_local;
        ev->order_id = 0;
        ev->seq = lu;
        ev->aux = 0;
        ev->instrument_id = sym->iid;
        ev->kind = i ? SQ_EV_LEVEL : SQ_EV_CLEAR;
        ev->flags = flags;
        ev->reserved = 0;
    }
    out[pos + need - 1].flags |= SQ_F_LAST;
    c->d->snapshot_levels += (uint64_t)k;
    bw_count(c->d, SQ_BW_SNAPSHOT, ts_local, (uint64_t)need);
    *nrec = need;
    return 0;
}

static inline void bw_put(sq_event *ev, int64_t t, int64_t ts_local, int64_t price, int64_t qty, uint64_t order_id,
                          uint64_t seq, int64_t aux, uint32_t iid, uint8_t kind, uint8_t side, uint8_t flags) {
    ev->ts_event = t;
    ev->ts_local = ts_local;
    ev->price = price;
    ev->qty = qty;
    ev->order_id = order_id;
    ev->seq = seq;
    ev->aux = aux;
    ev->instrument_id = iid;
    ev->kind = kind;
    ev->side = side;
    ev->flags = flags;
    ev->reserved = 0;
}

static int bw_emit_trade(bw_cur *c, const bw_ctx *x, const bw_obj *o, int type, int64_t ts_local, int64_t *nrec) {
    uint64_t id = 0, first = 0, T = 0;
    int64_t t, price, qty;
    int have_t, st;
    int32_t si;
    const bw_val *p, *q;
    int agg = type == SQ_BW_AGGTRADE;
    c->what = BW_WHAT[type];
    if (agg) {
        if (bw_uint(c, o, K_a, 1, BW_ID_MAX, "aggregate trade id", 0, &id, NULL)) return SQ_BW_ERROR;
        if (bw_uint(c, o, K_f, 1, BW_ID_MAX, "first trade id", 0, &first, NULL)) return SQ_BW_ERROR;
    } else if (bw_uint(c, o, K_t, 1, BW_ID_MAX, "trade id", 0, &id, NULL)) {
        return SQ_BW_ERROR;
    }
    if (bw_str(c, o, K_p, 1, "price", &p)) return SQ_BW_ERROR;
    if (bw_str(c, o, K_q, 1, "quantity", &q)) return SQ_BW_ERROR;
    if (bw_uint(c, o, K_T, 1, SQ_BW_MS_MAX, "trade time, ms", 0, &T, NULL)) return SQ_BW_ERROR;
    if (bw_times(c, o, &t, &have_t)) return SQ_BW_ERROR;
    if (!(o->seen & KB(K_m))) return bw_fail(c, o->start, "missing required key \"m\" (buyer is maker): expected a boolean");
    if (o->v[K_m].kind != J_TRUE && o->v[K_m].kind != J_FALSE)
        return bw_fail(c, bw_at(o, K_m, c), "\"m\" (buyer is maker) is %s: expected a boolean",
                       bw_kind_name(o->v[K_m].kind));
    if ((st = bw_event_symbol(c, x, o, &si)) != 0) return st;
    const sq_bw_sym *sym = &c->d->syms[si];
    if (bw_decimal(c, p, "p", "price", sym->pp, SQ_ROUND_EXACT, sym, "price", &price)) return SQ_BW_ERROR;
    if (bw_decimal(c, q, "q", "quantity", sym->sp, SQ_ROUND_EXACT, sym, "size", &qty)) return SQ_BW_ERROR;
    if (qty < 0) return bw_fail(c, q->s, "negative trade quantity \"%.*s\": expected a size >= 0",
                                (int)(q->e - q->s > 40 ? 40 : q->e - q->s), q->s);
    if (x->pos + 1 > x->cap) { c->d->needed = 1; return SQ_BW_FULL; }
    bw_put(&x->out[x->pos], (int64_t)T * 1000000, ts_local, price, qty, 0, id, (int64_t)first, sym->iid,
           SQ_EV_TRADE, o->v[K_m].kind == J_TRUE ? SQ_SIDE_ASK : SQ_SIDE_BID, SQ_F_LAST);
    bw_count(c->d, type, ts_local, 1);
    *nrec = 1;
    return 0;
}

static int bw_emit_book_ticker(bw_cur *c, const bw_ctx *x, const bw_obj *o, int64_t ts_local, int64_t *nrec) {
    uint64_t u = 0;
    int64_t t, bp, bq, ap, aq;
    int have_t, st;
    int32_t si;
    const bw_val *b, *B, *a, *A;
    c->what = BW_WHAT[SQ_BW_BOOKTICKER];
    if (bw_uint(c, o, K_u, 1, BW_ID_MAX, "order book update id", 0, &u, NULL)) return SQ_BW_ERROR;
    if (bw_str(c, o, K_b, 1, "best bid price", &b)) return SQ_BW_ERROR;
    if (bw_str(c, o, K_B, 1, "best bid quantity", &B)) return SQ_BW_ERROR;
    if (bw_str(c, o, K_a, 1, "best ask price", &a)) return SQ_BW_ERROR;
    if (bw_str(c, o, K_A, 1, "best ask quantity", &A)) return SQ_BW_ERROR;
    if (bw_times(c, o, &t, &have_t)) return SQ_BW_ERROR;
    if ((st = bw_event_symbol(c, x, o, &si)) != 0) return st;
    const sq_bw_sym *sym = &c->d->syms[si];
    if (bw_decimal(c, B, "B", "best bid quantity", sym->sp, SQ_ROUND_EXACT, sym, "size", &bq)) return SQ_BW_ERROR;
    if (bw_decimal(c, A, "A", "best ask quantity", sym->sp, SQ_ROUND_EXACT, sym, "size", &aq)) return SQ_BW_ERROR;
    if (bq < 0 || aq < 0)
        return bw_fail(c, bq < 0 ? B->s : A->s, "negative bookTicker quantity: expected a size >= 0");
    if (bw_decimal(c, b, "b", "best bid price", sym->pp, SQ_ROUND_EXACT, sym, "price", &bp)) return SQ_BW_ERROR;
    if (bw_decimal(c, a, "a", "best ask price", sym->pp, SQ_ROUND_EXACT, sym, "price", &ap)) return SQ_BW_ERROR;
    if (x->pos + 2 > x->cap) { c->d->needed = 2; return SQ_BW_FULL; }
    uint8_t flags = SQ_F_TOB;
    if (!have_t) { t = ts_local; flags |= SQ_F_BAD_TS; }
    bw_put(&x->out[x->pos], t, ts_local, bp, bq, 0, u, 0, sym->iid, SQ_EV_BBO, SQ_SIDE_BID, flags);
    bw_put(&x->out[x->pos + 1], t, ts_local, ap, aq, 0, u, 0, sym->iid, SQ_EV_BBO, SQ_SIDE_ASK, flags | SQ_F_LAST);
    bw_count(c->d, SQ_BW_BOOKTICKER, ts_local, 2);
    *nrec = 2;
    return 0;
}

static int bw_emit_mark(bw_cur *c, const bw_ctx *x, const bw_obj *o, int64_t ts_local, int64_t *nrec) {
    uint64_t E = 0;
    int64_t t, price, index = SQ_RAW_NULL;
    int have_t, st;
    int32_t si;
    const bw_val *p, *i;
    c->what = BW_WHAT[SQ_BW_MARK];
    if (bw_uint(c, o, K_E, 1, SQ_BW_MS_MAX, "event time, ms", 0, &E, NULL)) return SQ_BW_ERROR;
    if (bw_str(c, o, K_p, 1, "mark price", &p)) return SQ_BW_ERROR;
    if (bw_str(c, o, K_i, 0, "index price", &i)) return SQ_BW_ERROR;
    if (bw_times(c, o, &t, &have_t)) return SQ_BW_ERROR;
    if ((st = bw_event_symbol(c, x, o, &si)) != 0) return st;
    const sq_bw_sym *sym = &c->d->syms[si];
    int mode = c->d->mark_mode;
    if (bw_decimal(c, p, "p", "mark price", sym->pp, mode, sym, "price", &price)) return SQ_BW_ERROR;
    if (i && bw_decimal(c, i, "i", "index price", sym->pp, mode, sym, "price", &index)) return SQ_BW_ERROR;
    if (x->pos + 1 > x->cap) { c->d->needed = 1; return SQ_BW_FULL; }
    bw_put(&x->out[x->pos], (int64_t)E * 1000000, ts_local, price, SQ_RAW_NULL, 0, 0, index, sym->iid, SQ_EV_MARK,
           SQ_SIDE_NONE, SQ_F_LAST);
    bw_count(c->d, SQ_BW_MARK, ts_local, 1);
    *nrec = 1;
    return 0;
}

static int bw_emit(bw_cur *c, int type, const bw_ctx *x, const bw_obj *o, int64_t ts_local, int64_t *nrec) {
    switch (type) {
        case SQ_BW_DEPTH: return bw_emit_depth(c, x, o, ts_local, nrec);
        case SQ_BW_TRADE: case SQ_BW_AGGTRADE: return bw_emit_trade(c, x, o, type, ts_local, nrec);
        case SQ_BW_BOOKTICKER: return bw_emit_book_ticker(c, x, o, ts_local, nrec);
        case SQ_BW_MARK: return bw_emit_mark(c, x, o, ts_local, nrec);
        default: c->d->reason = SQ_BW_R_STREAM; return SQ_BW_UNHANDLED;
    }
}

/* ------------------------------------------------------------------------------------------ entry points */
/* One message at buf (up to end). Line mode: '\n' is not whitespace and the message ends at the first
 * '\n' after the object (*msg_end: that '\n' or end); a '\n' anywhere else is an error. */
static int bw_decode_msg(sq_bw_decoder *d, const char *buf, const char *end, int line_mode, int64_t ts_local,
                         sq_event *out, int64_t pos, int64_t cap, int64_t *nrec, const char **msg_end) {
    bw_obj top, data;
    bw_cur c = {buf, end, buf, d, "message", line_mode ? BW_WS_LINE : BW_WS_JSON};
    bw_ctx x = {1, -1, -2, out, pos, cap};
    int st;
    d->reason = SQ_BW_R_NONE;
    *nrec = 0;
    BW_WS(&c);
    if (c.p >= c.end || (line_mode && *c.p == '\n'))
        return bw_fail(&c, c.p, "empty message (truncated input): expected a JSON object");
    if (*c.p != '{') return bw_expected(&c, "a JSON object ('{')");
    if ((st = bw_parse_obj(&c, &x, &top, &data)) != 0) return st;
    BW_WS(&c);
    if (c.p < c.end && !(line_mode && *c.p == '\n')) {
        char b[16];
        return bw_fail(&c, c.p, "trailing characters after the JSON object: %s", bw_desc(&c, c.p, b, sizeof b));
    }
    *msg_end = c.p;
    uint32_t seen = top.seen;
    if (seen & KB(K_stream)) {
        /* envelope: bw_parse_obj returned UNHANDLED already for streams left to the general decoder */
        if (seen & ~(KB(K_stream) | KB(K_data))) { d->reason = SQ_BW_R_SHAPE; return SQ_BW_UNHANDLED; }
        c.what = BW_WHAT[top.env_type];
        if (!(seen & KB(K_data)))
            return bw_fail(&c, c.base, "missing required key \"data\": expected {\"stream\":str,\"data\":{..}}");
        const bw_val *dv = &top.v[K_data];
        if (dv->kind != J_OBJ)
            return bw_fail(&c, bw_at(&top, K_data, &c), "\"data\" is %s: expected an object", bw_kind_name(dv->kind));
        bw_ctx dx = {0, top.env_type, top.env_sym, out, pos, cap};
        if (!top.data_inline) {
            bw_cur sub = c;
            sub.p = dv->s;
            if ((st = bw_parse_obj(&sub, &dx, &data, NULL)) != 0) return st;
        }
        return bw_emit(&c, top.env_type, &dx, &data, ts_local, nrec);
    }
    if ((seen & KB(K_lastUpdateId)) && top.v[K_lastUpdateId].kind != J_NULL) {
        if (seen & (KB(K_e) | KB(K_data) | KB(K_result))) { d->reason = SQ_BW_R_SHAPE; return SQ_BW_UNHANDLED; }
        return bw_emit_snapshot(&c, &x, &top, ts_local, nrec);
    }
    if (seen & KB(K_e)) {
        if (seen & (KB(K_data) | KB(K_lastUpdateId) | KB(K_bids) | KB(K_asks) | KB(K_symbol) | KB(K_result))) {
            d->reason = SQ_BW_R_SHAPE;
            return SQ_BW_UNHANDLED;
        }
        const bw_val *ev = &top.v[K_e];
        int type = (ev->kind == J_STR && !ev->esc) ? bw_event_type(ev->s, ev->e) : -1;
        if (type < 0) { d->reason = ev->kind == J_STR ? SQ_BW_R_STREAM : SQ_BW_R_SHAPE; return SQ_BW_UNHANDLED; }
        return bw_emit(&c, type, &x, &top, ts_local, nrec);
    }
    d->reason = SQ_BW_R_SHAPE;
    return SQ_BW_UNHANDLED;
}

/* Decode one message (len bytes at buf, received at ts_local ns) into out[pos..cap). On SQ_BW_OK, *nrec
 * records were written and the counters updated. */
static int sq_bw_decode(sq_bw_decoder *d, const char *buf, int64_t len, int64_t ts_local, sq_event *out,
                        int64_t pos, int64_t cap, int64_t *nrec) {
    const char *me;
    return bw_decode_msg(d, buf, buf + len, 0, ts_local, out, pos, cap, nrec, &me);
}

/* Is [s, e) bytes.isspace() in Python (space, \t, \n, \r, \v, \f; non-empty)? */
static inline int bw_blank(const char *s, const char *e) {
    if (s >= e) return 0;
    for (; s < e; s++)
        if (!(*s == ' ' || (*s >= '\t' && *s <= '\r'))) return 0;
    return 1;
}

/*
 * Decode hftbacktest lines ("<ts> <json>\n": 19-digit ns, 16-digit µs or 13-digit ms stamps) from
 * buf[*offset..len). *lineno is the number of the line before *offset. Stops at the end (SQ_BW_OK) or at a
 * line it cannot decode (any other status: *offset / *lineno then point at / before that line). Blank
 * lines are skipped. *pos advances over the records written.
 */
static int sq_bw_scan_hft(sq_bw_decoder *d, const char *buf, int64_t len, int64_t *offset, int64_t *lineno,
                          sq_event *out, int64_t *pos, int64_t cap) {
    int64_t off = *offset, ln = *lineno, n = *pos;
    int st = SQ_BW_OK;
    const char *bend = buf + len;
    while (off < len) {
        const char *ls = buf + off;
        const char *p = ls;
        uint64_t ts = 0;
        p = bw_digits(p, bend, 19, &ts);
        if (p < bend && bw_is_digit(*p)) p++; /* 20 digits or more: not a stamp */
        ptrdiff_t nd = p - ls;
        if (p < bend && *p == ' ' && (nd == 19 || nd == 16 || nd == 13)) {
            uint64_t scale = nd == 19 ? 1u : nd == 16 ? 1000u : 1000000u;
            uint64_t tsn;
            if (__builtin_mul_overflow(ts, scale, &tsn) || tsn > (uint64_t)INT64_MAX) {
                snprintf(d->err, sizeof d->err, "local timestamp %.*s does not fit in int64 ns", (int)nd, ls);
                d->err_offset = 0;
                st = SQ_BW_ERROR;
                break;
            }
            int64_t k;
            const char *me;
            /* line mode over the rest of the buffer: no separate search for the end of the line */
            st = bw_decode_msg(d, p + 1, bend, 1, (int64_t)tsn, out, n, cap, &k, &me);
            if (st == SQ_BW_OK) {
                n += k;
                ln++;
                off = me < bend ? (int64_t)(me - buf) + 1 : len;
                continue;
            }
            if (st != SQ_BW_FULL) { /* the status and message of the line on its own, as sq_bw_decode gives */
                const char *nl = memchr(p + 1, '\n', (size_t)(bend - (p + 1)));
                st = sq_bw_decode(d, p + 1, (int64_t)((nl ? nl : bend) - (p + 1)), (int64_t)tsn, out, n, cap, &k);
                if (st == SQ_BW_OK) {
                    n += k;
                    ln++;
                    off = nl ? (int64_t)(nl - buf) + 1 : len;
                    continue;
                }
            }
            break;
        }
        const char *nl = memchr(ls, '\n', (size_t)(len - off));
        const char *le = nl ? nl : bend;
        int64_t next = nl ? (int64_t)(nl - buf) + 1 : len;
        if (!bw_blank(ls, nl ? nl + 1 : le)) {
            snprintf(d->err, sizeof d->err, "expected '<local_ts> <json>' with a 19-digit ns, 16-digit us or "
                     "13-digit ms timestamp, got \"%.*s\"", (int)(le - ls > 48 ? 48 : le - ls), ls);
            d->err_offset = 0;
            st = SQ_BW_ERROR;
            break;
        }
        ln++;
        off = next;
    }
    *offset = off;
    *lineno = ln;
    *pos = n;
    return st;
}

#endif /* SQ_JSON_BINANCE_H */
