/*
 * shrivenquant pre-trade risk engine core (header-only C, driven by src/_native/risk.pyx).
 *
 * Everything is raw int64: prices at the instrument's price precision, quantities at its size
 * precision, money (notional, credit, margin, balance, PnL) at the engine's money precision.
 * An instrument's notional in money units is ceil(price * qty * num / den) (num/den fold the contract
 * multiplier and the precisions together); PnL increments are floor(units * num / den).
 * Timestamps are caller-supplied int64 ns; nothing here reads a clock or allocates on the accept path
 * except when a hash table or the order pool grows past its capacity (amortised doubling).
 *
 * Limits that are "off" are stored as INT64_MAX (maxima) or 0 (minima): no branch on the hot path.
 * The order of the checks is fixed (docs/risk.md); the first failing check gives the reason code.
 */
#ifndef SQ_RISK_H
#define SQ_RISK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

#define SQ_RK_NONE INT64_MAX
/* Caps that keep every running sum inside int64 (a limit that is "off" is one of these): an order's
 * quantity and notional stay below 2^61, open-order notional and gross quantity below 2^62. */
#define SQ_RK_ORDER_CAP ((int64_t)1 << 61)
#define SQ_RK_SUM_CAP ((int64_t)1 << 62)

/* reason codes (mirrored by shrivenquant.risk.RejectReason) */
enum {
    SQ_RK_OK = 0,
    SQ_RK_INVALID_ORDER = 1,
    SQ_RK_UNKNOWN_ORDER = 2,
    SQ_RK_KILL_SWITCH_GLOBAL = 3,
    SQ_RK_KILL_SWITCH_STRATEGY = 4,
    SQ_RK_REPEATED_EXECUTION = 5,
    SQ_RK_RESTRICTED_INSTRUMENT = 6,
    SQ_RK_TRADING_HALTED = 7,
    SQ_RK_REDUCE_ONLY = 8,
    SQ_RK_DAILY_LOSS_LIMIT = 9,
    SQ_RK_DRAWDOWN_LIMIT = 10,
    SQ_RK_DUPLICATE_ORDER_ID = 11,
    SQ_RK_NO_REFERENCE_PRICE = 12,
    SQ_RK_TICK_SIZE = 13,
    SQ_RK_LOT_SIZE = 14,
    SQ_RK_MIN_QTY = 15,
    SQ_RK_MAX_ORDER_QTY = 16,
    SQ_RK_PRICE_COLLAR = 17,
    SQ_RK_MIN_NOTIONAL = 18,
    SQ_RK_MAX_ORDER_NOTIONAL = 19,
    SQ_RK_MAX_OPEN_ORDERS = 20,
    SQ_RK_CREDIT_LIMIT = 21,
    SQ_RK_POSITION_LIMIT_NET = 22,
    SQ_RK_POSITION_LIMIT_GROSS = 23,
    SQ_RK_MARGIN = 24,
    SQ_RK_ORDER_TO_TRADE_RATIO = 25,
    SQ_RK_ORDER_RATE = 26,
    SQ_RK_MODIFY_RATE = 27,
    SQ_RK_CANCEL_RATE = 28,
    SQ_RK_NREASONS = 29
};

/* trading states and causes */
enum { SQ_RK_ACTIVE = 0, SQ_RK_REDUCING = 1, SQ_RK_HALTED = 2 };
enum { SQ_RK_CAUSE_MANUAL = 0, SQ_RK_CAUSE_DAILY_LOSS = 1, SQ_RK_CAUSE_DRAWDOWN = 2 };
/* kill switch: 0 off, 1 manual, 2 repeated-execution throttle */
enum { SQ_RK_KILL_OFF = 0, SQ_RK_KILL_MANUAL = 1, SQ_RK_KILL_EXEC = 2 };
/* collar units */
enum { SQ_RK_COLLAR_OFF = 0, SQ_RK_COLLAR_BPS = 1, SQ_RK_COLLAR_TICKS = 2 };
/* event flags returned by state updates */
enum { SQ_RK_EV_UNKNOWN = 1, SQ_RK_EV_AUTO_KILL = 2, SQ_RK_EV_BREAKER = 4, SQ_RK_EV_INVALID = 8 };
/* scope of the last reject's limit */
enum { SQ_RK_SCOPE_ORDER = 0, SQ_RK_SCOPE_INSTRUMENT = 1, SQ_RK_SCOPE_STRATEGY = 2, SQ_RK_SCOPE_ACCOUNT = 3 };
/* batch operations */
enum {
    SQ_RK_OP_NEW = 1, SQ_RK_OP_MODIFY = 2, SQ_RK_OP_CANCEL = 3, SQ_RK_OP_ACCEPTED = 4,
    SQ_RK_OP_REJECTED = 5, SQ_RK_OP_CANCELED = 6, SQ_RK_OP_FILLED = 7, SQ_RK_OP_MARK = 8,
    SQ_RK_OP_REFERENCE = 9, SQ_RK_OP_BALANCE = 10, SQ_RK_OP_MAX = 10
};

/* one batch record (48 bytes; mirrored by shrivenquant.risk.RISK_OP_DTYPE) */
typedef struct {
    int64_t ts;
    int64_t order_id;
    int64_t price;
    int64_t qty;
    int32_t instrument;
    int32_t strategy;
    uint8_t op;
    uint8_t side;
    uint8_t reserved[6];
} sq_rk_msg;

typedef __int128 sq_rk_i128;

/* forced inline: the batch loop's per-record path (see sq_rk_check_new_in) */
#define SQ_RK_HOT __attribute__((always_inline)) inline

/* ------------------------------------------------------------------------------------ small helpers */

static inline int64_t sq_rk_sat(sq_rk_i128 v) {
    if (v > (sq_rk_i128)INT64_MAX) return INT64_MAX;
    if (v < -(sq_rk_i128)INT64_MAX) return -INT64_MAX;
    return (int64_t)v;
}

/* ceil(v / den) for v >= 0, den >= 1, saturated at INT64_MAX */
static inline int64_t sq_rk_ceil_div(sq_rk_i128 v, int64_t den) {
    if (den == 1) return sq_rk_sat(v);
    if (v <= (sq_rk_i128)INT64_MAX) {
        uint64_t u = (uint64_t)v;
        return (int64_t)((u + (uint64_t)den - 1) / (uint64_t)den);
    }
    return sq_rk_sat((v + den - 1) / den);
}

/* floor(v / den), den >= 1 (Python // semantics), saturated */
static inline int64_t sq_rk_floor_div(sq_rk_i128 v, int64_t den) {
    if (den == 1) return sq_rk_sat(v);
    sq_rk_i128 q = v / den;
    if ((v % den != 0) && (v < 0)) q -= 1;
    return sq_rk_sat(q);
}

static inline int64_t sq_rk_abs(int64_t v) { return v < 0 ? -v : v; }

/* Division by 10^k (k <= 18) of v < 2^63 by multiply-shift (Granlund-Montgomery, N = 63):
 * m = ceil(2^(63+l) / d) with l = ceil(log2 d) fits in 64 bits and floor(v / d) = (v * m) >> (63 + l). */
static uint64_t sq_rk_mag[19];
static int sq_rk_sh[19];
static const uint64_t sq_rk_p10[19] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
    10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
    1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL};

static inline void sq_rk_magic_init(void) {
    if (sq_rk_mag[1] != 0) return;
    for (int k = 1; k <= 18; k++) {
        uint64_t d = sq_rk_p10[k];
        int l = 0;
        while (((uint64_t)1 << l) < d) l++;
        unsigned __int128 top = (unsigned __int128)1 << (63 + l);
        unsigned __int128 m = top / d + (top % d != 0);
        sq_rk_sh[k] = 63 + l;
        sq_rk_mag[k] = (uint64_t)m;
    }
}

/* ceil(v / 10^k) for 0 <= v <= INT64_MAX, 0 <= k <= 18 */
static inline int64_t sq_rk_ceil_pow10(uint64_t v, int k) {
    if (k == 0) return (int64_t)v;
    uint64_t q = (uint64_t)(((unsigned __int128)v * sq_rk_mag[k]) >> sq_rk_sh[k]);
    return (int64_t)(q + (q * sq_rk_p10[k] != v));
}

/* ------------------------------------------------------------------------- rolling-window counter */

/* At most `limit` events in any window (now - window, now]: the times of the last `limit` events in a circular
 * array of exactly `limit` slots, the next one at ts[pos]. Once `limit` events happened (full), ts[pos] is the
 * oldest of the last `limit`, the slot the next push overwrites: one more event is allowed when fewer than `limit`
 * happened, or ts[pos] has left the window; the test and the push touch the same slot. An off ring has one slot
 * that its pushes overwrite and is never full (always allows). */
typedef struct {
    int64_t *ts;
    int64_t limit; /* 0: off */
    int64_t window;
    int64_t *next; /* the next slot, in [ts, end) */
    int64_t *end;  /* ts + slots (limit, or 1 when off) */
    int64_t full;  /* 1 once `limit` events were pushed since the last reset (never when off) */
} sq_rk_ring;

static inline int sq_rk_ring_init(sq_rk_ring *r, int64_t limit, int64_t window) {
    free(r->ts);
    memset(r, 0, sizeof(*r));
    const int64_t cap = limit > 0 ? limit : 1;
    r->ts = (int64_t *)calloc((size_t)cap, sizeof(int64_t));
    if (r->ts == NULL) return -1;
    r->next = r->ts;
    r->end = r->ts + cap;
    r->limit = limit > 0 ? limit : 0;
    r->window = window;
    return 0;
}

/* 1 if one more event at `now` keeps the count within the limit */
static SQ_RK_HOT int sq_rk_ring_allows(const sq_rk_ring *r, int64_t now) {
    return *r->next <= (int64_t)((uint64_t)now - (uint64_t)r->window) || !r->full;
}

static SQ_RK_HOT void sq_rk_ring_push(sq_rk_ring *r, int64_t now) {
    int64_t *p = r->next;
    *p++ = now;
    if (__builtin_expect(p == r->end, 0)) {
        p = r->ts;
        r->full = r->limit > 0;
    }
    r->next = p;
}

/* ---------------------------------------------------------- hash map int64 key (> 0) -> int64 value */

typedef struct {
    int64_t *keys; /* 0: empty */
    int64_t *vals;
    int64_t mask;
    int64_t n;
    int64_t sparse; /* max load 3/4 (0) or 1/4 (1) */
    int64_t grow_at; /* n at which the next insert doubles the table (from mask and sparse) */
} sq_rk_map;

static inline void sq_rk_map_set_sparse(sq_rk_map *m, int64_t sparse) {
    m->sparse = sparse;
    m->grow_at = ((m->mask + 1) * (sparse ? 1 : 3)) >> 2; /* grow when (n + 1) / size would pass 1/4 or 3/4 */
}

/* Fibonacci hashing (Knuth, TAOCP 6.4) of the id with its high word folded in: one multiply by 2^64 / phi, then bits 29 and up (the caller masks the
 * low ones, so tables up to 2^35 slots take product bits that depend on all low key bits). Increasing ids land
 * ~0.618 of the table apart, so neighbours are rarely occupied: short probes, and a backward-shift erase
 * usually stops at the next slot. (One multiply instead of the two of a murmur finalizer: ~3 % of the batch's
 * NEW + CANCELED pair in the C harness.) */
static SQ_RK_HOT uint64_t sq_rk_hash(int64_t k) {
    uint64_t x = (uint64_t)k;
    x ^= x >> 32; /* ids that are multiples of 2^30 and up (e.g. a session in the high word) still spread */
    return (x * 0x9e3779b97f4a7c15ULL) >> 29;
}

static inline int sq_rk_map_init(sq_rk_map *m, int64_t cap) {
    int64_t c = 16;
    while (c < cap) c <<= 1;
    m->keys = (int64_t *)calloc((size_t)c, sizeof(int64_t));
    m->vals = (int64_t *)calloc((size_t)c, sizeof(int64_t));
    if (m->keys == NULL || m->vals == NULL) return -1;
    m->mask = c - 1;
    m->n = 0;
    sq_rk_map_set_sparse(m, 0);
    return 0;
}

static inline void sq_rk_map_free(sq_rk_map *m) {
    free(m->keys);
    free(m->vals);
    m->keys = m->vals = NULL;
}

/* slot of key, or -1 */
static SQ_RK_HOT int64_t sq_rk_map_find(const sq_rk_map *m, int64_t key) {
    int64_t i = (int64_t)(sq_rk_hash(key) & (uint64_t)m->mask);
    for (;;) {
        int64_t k = m->keys[i];
        if (k == key) return i;
        if (k == 0) return -1;
        i = (i + 1) & m->mask;
    }
}

static int sq_rk_map_grow(sq_rk_map *m) {
    sq_rk_map g;
    if (sq_rk_map_init(&g, (m->mask + 1) * 2) != 0) { sq_rk_map_free(&g); return -1; }
    for (int64_t i = 0; i <= m->mask; i++) {
        int64_t k = m->keys[i];
        if (k == 0) continue;
        int64_t j = (int64_t)(sq_rk_hash(k) & (uint64_t)g.mask);
        while (g.keys[j] != 0) j = (j + 1) & g.mask;
        g.keys[j] = k;
        g.vals[j] = m->vals[i];
    }
    g.n = m->n;
    sq_rk_map_set_sparse(&g, m->sparse);
    sq_rk_map_free(m);
    *m = g;
    return 0;
}

/* insert or overwrite; -1 on out of memory */
static SQ_RK_HOT int sq_rk_map_put(sq_rk_map *m, int64_t key, int64_t val) {
    if (m->n >= m->grow_at && sq_rk_map_grow(m) != 0) return -1;
    int64_t i = (int64_t)(sq_rk_hash(key) & (uint64_t)m->mask);
    for (;;) {
        int64_t k = m->keys[i];
        if (k == key) { m->vals[i] = val; return 0; }
        if (k == 0) { m->keys[i] = key; m->vals[i] = val; m->n++; return 0; }
        i = (i + 1) & m->mask;
    }
}

/* remove the entry at slot i (backward-shift deletion, no tombstones) */
static SQ_RK_HOT void sq_rk_map_erase_at(sq_rk_map *m, int64_t i) {
    int64_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        int64_t k = m->keys[j];
        if (k == 0) break;
        int64_t home = (int64_t)(sq_rk_hash(k) & (uint64_t)m->mask);
        /* move k to i if its home is not cyclically within (i, j] */
        int within = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!within) {
            m->keys[i] = k;
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = 0;
    m->n--;
}

/* ------------------------------------------------------------------------------------ the engine */

typedef struct {
    /* configuration */
    int64_t tick, lot, min_qty, max_qty, min_notional, max_notional;
    int64_t collar_unit, buy_up, buy_down, sell_up, sell_down; /* SQ_RK_NONE: no bound on that side */
    int64_t max_net, max_gross, max_open, margin_bps;
    int64_t num, den; /* money = price * qty * num / den */
    int64_t den_pow10; /* k if den == 10^k, else -1 (set by sq_rk_inst_ready) */
    uint64_t den_mag;  /* multiply-shift constants of 10^den_pow10 (sq_rk_mag / sq_rk_sh), 0 if none */
    int64_t den_sh;
    int64_t restricted;
    /* market state */
    int64_t ref, buy_lo, buy_hi, sell_lo, sell_hi, mark;
    /* exposure */
    int64_t net_pos, gross_pos, open_buy, open_sell, n_open, pos_margin;
} sq_rk_inst;

typedef struct {
    int64_t killed, state, cause;
    int64_t max_notional, credit_limit, max_open;
    sq_rk_ring orders, modifies, cancels, execs;
    int64_t otr_x1000, otr_min; /* otr_x1000 < 0: off */
    int64_t otr_at; /* the OTR check blocks once msgs >= otr_at (sq_rk_otr_ready; INT64_MAX when off) */
    int64_t daily_limit, daily_action, dd_limit, dd_action;
    int64_t open_notional, n_open, msgs, trades, realized, unrealized, day_base, peak;
} sq_rk_strat;

typedef struct {
    int64_t pos, open_buy, open_sell, upnl;
    sq_rk_i128 cost; /* sum of signed qty * price of the open position (price-qty units) */
} sq_rk_pos;

typedef struct {
    int64_t id, price, leaves;
    int64_t notional, margin; /* of the working quantity, as counted in the totals */
    int32_t inst, strat;
    int8_t side, margin_free, market, acked;
    int32_t cell; /* strategy * ni + instrument (the batch path's banked deltas) */
    int32_t next_free;
} sq_rk_order;

/* the batch path writes an order's inst + strat and side + margin_free + market + acked with one store each */
_Static_assert(offsetof(sq_rk_order, strat) == offsetof(sq_rk_order, inst) + 4, "sq_rk_order layout");
_Static_assert(offsetof(sq_rk_order, margin_free) == offsetof(sq_rk_order, side) + 1 &&
               offsetof(sq_rk_order, market) == offsetof(sq_rk_order, side) + 2 &&
               offsetof(sq_rk_order, acked) == offsetof(sq_rk_order, side) + 3 &&
               offsetof(sq_rk_order, cell) == offsetof(sq_rk_order, side) + 4, "sq_rk_order layout");
_Static_assert(offsetof(sq_rk_msg, strategy) == offsetof(sq_rk_msg, instrument) + 4, "sq_rk_msg layout");

/* An instrument's stateless envelope on the batch path (sq_rk_box_build): a limit order of side `sd` (0 buy, 1 sell)
 * whose price is in [plo[sd], plo[sd] + prange[sd]] and quantity in [qlo, qlo + qrange] passes the checks that
 * depend on the instrument alone and the record (well-formed price and quantity, restricted, tick, lot, min and max
 * quantity, collar), and its notional px * qty * num and margin notional * bps fit in int64 (no overflow test
 * needed). ok[sd] = 0: no such box (the record takes the full checks). Valid while gen == sq_rk.box_gen. */
typedef struct {
    int64_t gen;
    int64_t ok[2], plo[2];
    uint64_t prange[2];
    int64_t qlo;
    uint64_t qrange;
    int64_t nlo;     /* notional in [nlo, nlo + nrange] passes min and max notional, the instrument's and every */
    uint64_t nrange; /* strategy's (empty when min > the smallest maximum: nrange = 0, nlo = INT64_MIN) */
    int64_t num, bps;
    /* ceil(v / den) = ((v + dm1) * mag >> 63) >> sh2 with dm1 = den - 1 and floor(x / den) = (x * mag) >> (63 + sh2)
     * for x < 2^63 (den = 10^k: sq_rk_mag / sq_rk_sh; den = 1: mag = 2^63, sh2 = 0); inside the box v + dm1 and
     * notional * bps + 9999 stay below 2^63 */
    uint64_t mag;
    int64_t dm1, sh2;
} sq_rk_box;

/* The batch path's banked exposure deltas (sq_rk_process): while the headroom holds, an accepted NEW or a CANCELED
 * adds its changes to one (cell, bank) entry instead of the instrument, strategy, position and account counters; the
 * cell is strategy * ni + instrument, the bank the record's index & 7, so consecutive records (a NEW and the CANCELED
 * of an older order of the same strategy and instrument) never read-modify-write the same memory. The entries are
 * summed into the counters (and zeroed) before anything reads those (sq_rk_bank_flush). One cache line each. */
#define SQ_RK_BANKS 8
#define SQ_RK_MAX_CELLS 64
enum { /* the fields of a cell: v[side] is the working quantity of side 1 (buy) or 2 (sell) */
    SQ_RK_CV_NEW = 0,      /* NEW orders accepted (open orders + 1, messages + 1 each) */
    SQ_RK_CV_NOTIONAL = 3, /* open-order notional */
    SQ_RK_CV_MARGIN = 4,   /* order margin */
    SQ_RK_CV_GONE = 5,     /* orders released (open orders - 1 each) */
    SQ_RK_CV_MSGS = 6,     /* NEW orders accepted by the lean run (messages + 1 each; opens counted by the scan) */
    SQ_RK_CV_OPEN = 7      /* the lean run's orders still working at its end (open orders + 1 each) */
};
typedef struct {
    int64_t v[8];
} sq_rk_cell;

/* an entry of the batch run's table (sq_rk_fast_table) */
typedef struct sq_rk_fent_ {
    uint64_t w;         /* the record's (instrument, strategy) word this entry is for; a record whose word differs
                           leaves the run (indices out of range land on another word's entry; a blocked strategy or
                           no envelope for the side: an entry with a word no record can bring here) */
    int64_t fl;         /* the order's flags word: side, margin_free 0, market 0, acked 0, then its 32-bit cell field
                           (the cell, + 256 when the instrument is not flat: SQ_RK_FT_NONFLAT) */
    const sq_rk_box *box;
    sq_rk_ring *ring;   /* the strategy's order-rate ring */
    int64_t msgs;       /* NEWs a lazy lean run accepted here, moved to the cell's bank at its end (else 0) */
    int64_t cell;       /* the cell (strategy * ni + instrument) */
    int64_t bps;        /* the instrument's margin rate (0 when the account's margin check is off) */
    int64_t pad_;
} sq_rk_fent;

typedef struct {
    int64_t ni, ns;
    sq_rk_inst *inst;
    sq_rk_strat *strat;
    sq_rk_pos *pos; /* [strategy * ni + instrument] */
    /* account */
    int64_t killed, state, cause;
    int64_t credit_limit, max_open, daily_limit, daily_action, dd_limit, dd_action;
    int64_t margin_on, balance;
    int64_t open_notional, order_margin, pos_margin, n_open, realized, unrealized, day_base, peak;
    /* working orders: a direct-mapped window (the order of id x, if there, is win[x & win_mask]) and an overflow
     * of a hash table of ids into a pool (sq_rk_find) */
    sq_rk_order *win;        /* win_max + 1 slots, of which the first win_mask + 1 are in use (sq_rk_win_grow) */
    int64_t win_mask, win_n; /* win_n: occupied window slots */
    int64_t win_max;
    int64_t win_hi;          /* largest id ever stored in the window (release_all scans down from it) */
    sq_rk_map ids;  /* order id -> pool index (the overflow) */
    sq_rk_order *pool;
    int64_t pool_cap, free_head;
    /* duplicate ids within a window */
    int64_t dup_window; /* 0: only ids of working orders are duplicates */
    sq_rk_map seen[2];  /* id -> time seen, current and previous generation */
    int64_t seen_start; /* start of the current generation */
    int seen_cur;
    int64_t max_id;     /* largest id ever accepted */
    /* ids accepted as a new maximum, with their times: strictly increasing ids, a power-of-two ring */
    int64_t *mx, mx_cap, mx_head, mx_n; /* entry j: id mx[2j], time mx[2j + 1] */
    /* counters and the last reject */
    int64_t rejects[SQ_RK_NREASONS];
    int64_t checks;
    int64_t last_value, last_limit, last_scope, last_index;
    /* the batch path's per-instrument stateless envelopes (sq_rk_box_build): box[i] is valid while box[i].gen equals
     * box_gen, the configuration's epoch (sq_rk_config_changed; sq_rk_set_reference sets its instrument's gen to 0) */
    sq_rk_box *box;
    int64_t box_gen;
    /* the batch path's banked deltas: cells[(strategy * ni + instrument) * SQ_RK_BANKS + bank] when ni * ns <=
     * SQ_RK_MAX_CELLS (NULL otherwise: the batch path updates the counters directly); all zero outside
     * sq_rk_process */
    sq_rk_cell *cells;
    sq_rk_fent *ftab;      /* the batch run's table (sq_rk_fast_table; 512 entries: 256 indices x 2 sides, with
                              cells), rebuilt by every sq_rk_process call that enters the run */
    /* the lean runs' mix, decayed (sq_rk_process): NEWs they accepted, and CANCELEDs of orders opened by the same run;
     * it picks the lean run's lazy or eager form (the same results either way) */
    int64_t run_new, run_rcx;
    int64_t *mx_scratch; /* where the lean run writes its ids and times with no duplicate window (SQ_RK_MX_SCRATCH) */
} sq_rk;
#define SQ_RK_MX_SCRATCH 1024

static inline void sq_rk_free(sq_rk *rk) {
    if (rk->strat != NULL) {
        for (int64_t s = 0; s < rk->ns; s++) {
            free(rk->strat[s].orders.ts);
            free(rk->strat[s].modifies.ts);
            free(rk->strat[s].cancels.ts);
            free(rk->strat[s].execs.ts);
        }
    }
    free(rk->inst);
    free(rk->box);
    free(rk->strat);
    free(rk->pos);
    free(rk->pool);
    free(rk->win);
    free(rk->cells);
    free(rk->ftab);
    free(rk->mx_scratch);
    sq_rk_map_free(&rk->ids);
    free(rk->mx);
    sq_rk_map_free(&rk->seen[0]);
    sq_rk_map_free(&rk->seen[1]);
    memset(rk, 0, sizeof(*rk));
}

static inline int sq_rk_pool_reserve(sq_rk *rk, int64_t cap) {
    if (cap <= rk->pool_cap) return 0;
    sq_rk_order *p = (sq_rk_order *)realloc(rk->pool, (size_t)cap * sizeof(sq_rk_order));
    if (p == NULL) return -1;
    for (int64_t i = rk->pool_cap; i < cap; i++) {
        memset(&p[i], 0, sizeof(sq_rk_order));
        p[i].next_free = (int32_t)(i + 1 < cap ? i + 1 : -1);
    }
    /* chain the new slots in front of the current free list (empty when growing) */
    if (rk->free_head >= 0) {
        int64_t last = cap - 1;
        p[last].next_free = (int32_t)rk->free_head;
    }
    rk->free_head = rk->pool_cap;
    rk->pool = p;
    rk->pool_cap = cap;
    return 0;
}

/* Default window size (slots, a power of two): ids within the last SQ_RK_WIN_DEFAULT of the usual increasing ids
 * never touch the hash table. */
#ifndef SQ_RK_WIN_DEFAULT
#define SQ_RK_WIN_DEFAULT 32768
#endif

static inline int sq_rk_init_win(sq_rk *rk, int64_t ni, int64_t ns, int64_t win);

/* The window in use starts at this many slots (or the configured size if smaller) and doubles, up to the configured
 * size, when a new id's slot holds an older working order (sq_rk_win_grow): only as much of it is touched as the
 * working ids span (the replayed risk_batch records, 32 working orders: 64 KiB instead of 1.3 MB per 20,000 ids;
 * C harness 10.4-10.6 -> 9.7-9.8 ns per order with a 4,096-slot window). */
#ifndef SQ_RK_WIN_START
#define SQ_RK_WIN_START 1024
#endif

static inline int sq_rk_init(sq_rk *rk, int64_t ni, int64_t ns) { return sq_rk_init_win(rk, ni, ns, SQ_RK_WIN_DEFAULT); }

/* win: window slots, a power of two >= 1 */
static inline int sq_rk_init_win(sq_rk *rk, int64_t ni, int64_t ns, int64_t win) {
    memset(rk, 0, sizeof(*rk));
    sq_rk_magic_init();
    rk->ni = ni;
    rk->ns = ns;
    rk->inst = (sq_rk_inst *)calloc((size_t)(ni > 0 ? ni : 1), sizeof(sq_rk_inst));
    rk->strat = (sq_rk_strat *)calloc((size_t)(ns > 0 ? ns : 1), sizeof(sq_rk_strat));
    rk->pos = (sq_rk_pos *)calloc((size_t)(ni * ns > 0 ? ni * ns : 1), sizeof(sq_rk_pos));
    if (rk->inst == NULL || rk->strat == NULL || rk->pos == NULL) return -1;
    for (int64_t i = 0; i < ni; i++) {
        sq_rk_inst *IN = &rk->inst[i];
        IN->tick = IN->lot = 1;
        IN->max_net = IN->max_open = SQ_RK_NONE;
        IN->max_qty = IN->max_notional = SQ_RK_ORDER_CAP;
        IN->max_gross = SQ_RK_SUM_CAP;
        IN->buy_up = IN->buy_down = IN->sell_up = IN->sell_down = SQ_RK_NONE;
        IN->buy_lo = IN->sell_lo = 0;
        IN->buy_hi = IN->sell_hi = INT64_MAX;
        IN->margin_bps = 10000;
        IN->num = IN->den = 1;
        IN->den_pow10 = 0;
    }
    for (int64_t s = 0; s < ns; s++) {
        sq_rk_strat *S = &rk->strat[s];
        S->max_notional = S->max_open = SQ_RK_NONE;
        S->credit_limit = SQ_RK_SUM_CAP;
        S->otr_x1000 = -1;
        S->otr_at = INT64_MAX;
        S->daily_limit = S->dd_limit = SQ_RK_NONE;
        S->daily_action = S->dd_action = SQ_RK_HALTED;
        if (sq_rk_ring_init(&S->orders, 0, 0) != 0 || sq_rk_ring_init(&S->modifies, 0, 0) != 0 ||
            sq_rk_ring_init(&S->cancels, 0, 0) != 0 || sq_rk_ring_init(&S->execs, 0, 0) != 0)
            return -1;
    }
    rk->max_open = rk->daily_limit = rk->dd_limit = SQ_RK_NONE;
    rk->credit_limit = SQ_RK_SUM_CAP;
    rk->daily_action = rk->dd_action = SQ_RK_HALTED;
    rk->free_head = -1;
    rk->box = (sq_rk_box *)calloc((size_t)(ni > 0 ? ni : 1), sizeof(sq_rk_box));
    if (rk->box == NULL) return -1;
    rk->box_gen = 1; /* the boxes' gen 0: not built */
    rk->win = (sq_rk_order *)aligned_alloc(64, (size_t)win * sizeof(sq_rk_order)); /* a slot per cache line */
    if (rk->win == NULL) return -1;
    memset(rk->win, 0, (size_t)win * sizeof(sq_rk_order));
    rk->win_max = win - 1;
    rk->win_mask = (win < SQ_RK_WIN_START ? win : SQ_RK_WIN_START) - 1;
    if (ni * ns >= 1 && ni * ns <= SQ_RK_MAX_CELLS) {
        size_t sz = (size_t)(ni * ns * SQ_RK_BANKS) * sizeof(sq_rk_cell);
        rk->cells = (sq_rk_cell *)aligned_alloc(64, sz);
        if (rk->cells == NULL) return -1;
        memset(rk->cells, 0, sz);
        rk->ftab = (sq_rk_fent *)malloc(512 * sizeof(*rk->ftab));
        if (rk->ftab == NULL) return -1;
        rk->mx_scratch = (int64_t *)malloc(2 * SQ_RK_MX_SCRATCH * sizeof(int64_t));
        if (rk->mx_scratch == NULL) return -1;
    }
    if (sq_rk_pool_reserve(rk, 64) != 0) return -1;
    if (sq_rk_map_init(&rk->ids, 128) != 0) return -1;
    if (sq_rk_map_init(&rk->seen[0], 16) != 0 || sq_rk_map_init(&rk->seen[1], 16) != 0) return -1;
    /* the working-order table at load <= 3/4 (Fibonacci hashing keeps increasing ids' runs short; with 20,000
     * orders working the table is 32 Ki slots instead of 64 Ki: C harness mean 34.7 -> 29.3 ns per order, same
     * with 32 working); the duplicate-id generations stay sparse (load <= 1/4) */
    sq_rk_map_set_sparse(&rk->seen[0], 1);
    sq_rk_map_set_sparse(&rk->seen[1], 1);
    sq_rk_map_set_sparse(&rk->ids, 0);
    rk->seen_start = INT64_MIN / 2;
    return 0;
}

/* px >= 0, qty >= 0. The usual case (the product fits in int64 and den is a power of ten) takes two 64-bit
 * multiplies with overflow flags and the instrument's own multiply-shift constants (no 128-bit product, no
 * table lookup); anything else is computed in 128 bits. Both give ceil(px * qty * num / den). */
static SQ_RK_HOT int64_t sq_rk_notional(const sq_rk_inst *IN, int64_t px, int64_t qty) {
    int64_t a, v;
    if (IN->den_pow10 >= 0 && !__builtin_mul_overflow(px, qty, &a) && !__builtin_mul_overflow(a, IN->num, &v)) {
        if (IN->den_pow10 == 0) return v;
        uint64_t u = (uint64_t)v;
        uint64_t q = (uint64_t)(((unsigned __int128)u * IN->den_mag) >> IN->den_sh);
        return (int64_t)(q + (q * (uint64_t)IN->den != u));
    }
    sq_rk_i128 w = (sq_rk_i128)px * qty * IN->num;
    if (IN->den_pow10 >= 0 && w <= (sq_rk_i128)INT64_MAX) return sq_rk_ceil_pow10((uint64_t)w, (int)IN->den_pow10);
    return sq_rk_ceil_div(w, IN->den);
}

/* ceil(notional * margin_bps / 10000) for notional >= 0. The division by 10000 of v < 2^63 is an explicit
 * multiply-shift (Granlund-Montgomery, N = 63, l = 14: m = ceil(2^77 / 10000) < 2^64, floor(v / 10000) =
 * (v * m) >> 77): gcc had shared one `div` instruction between this and the 128-bit path below, and on the
 * batch's specialised path ~14 % of the samples landed after it (C harness, perf). */
#define SQ_RK_DIV10K_M 0xd1b71758e219652cULL
static SQ_RK_HOT int64_t sq_rk_margin_of(const sq_rk_inst *IN, int64_t notional) {
    if (IN->margin_bps == 10000) return notional;
    int64_t v;
    if (!__builtin_mul_overflow(notional, IN->margin_bps, &v) && v >= 0) {
        uint64_t u = (uint64_t)v, q = (uint64_t)(((unsigned __int128)u * SQ_RK_DIV10K_M) >> 77);
        return (int64_t)(q + (q * 10000u != u));
    }
    return sq_rk_ceil_div((sq_rk_i128)notional * IN->margin_bps, 10000);
}

/* derived fields after the configuration of an instrument changed */
static inline void sq_rk_inst_ready(sq_rk_inst *IN) {
    IN->den_pow10 = -1;
    IN->den_mag = 0;
    IN->den_sh = 0;
    int64_t d = 1;
    for (int k = 0; k <= 18; k++, d *= 10) {
        if (d == IN->den) { IN->den_pow10 = k; IN->den_mag = sq_rk_mag[k]; IN->den_sh = sq_rk_sh[k]; break; }
        if (k == 18) break;
    }
}

/* recompute the collar bounds from the reference price */
static inline void sq_rk_set_reference(sq_rk *rk, int64_t i, int64_t ref) {
    sq_rk_inst *IN = &rk->inst[i];
    IN->ref = ref;
    int64_t up[2] = {IN->buy_up, IN->sell_up}, dn[2] = {IN->buy_down, IN->sell_down}, lo[2], hi[2];
    for (int k = 0; k < 2; k++) {
        if (IN->collar_unit == SQ_RK_COLLAR_OFF || ref <= 0) { lo[k] = 0; hi[k] = INT64_MAX; continue; }
        if (up[k] == SQ_RK_NONE) hi[k] = INT64_MAX;
        else if (IN->collar_unit == SQ_RK_COLLAR_BPS)
            hi[k] = sq_rk_floor_div((sq_rk_i128)ref * (10000 + up[k]), 10000);
        else hi[k] = sq_rk_sat((sq_rk_i128)ref + (sq_rk_i128)up[k] * IN->tick);
        if (dn[k] == SQ_RK_NONE) lo[k] = 0;
        else if (IN->collar_unit == SQ_RK_COLLAR_BPS)
            lo[k] = sq_rk_ceil_div((sq_rk_i128)ref * (10000 - dn[k]), 10000);
        else lo[k] = sq_rk_sat((sq_rk_i128)ref - (sq_rk_i128)dn[k] * IN->tick);
    }
    IN->buy_lo = lo[0]; IN->buy_hi = hi[0]; IN->sell_lo = lo[1]; IN->sell_hi = hi[1];
    if (rk->box != NULL) rk->box[i].gen = 0; /* the batch path's envelope of this instrument is built again */
}

/* A configuration changed (an instrument's or a strategy's limits): every batch envelope is built again. The
 * Cython layer calls this at the start of every configure_* method; sq_rk_set_reference invalidates its own
 * instrument's envelope. */
static inline void sq_rk_config_changed(sq_rk *rk) { rk->box_gen++; }

static inline int sq_rk_reject(sq_rk *rk, int reason, int64_t value, int64_t limit, int64_t scope, int64_t index) {
    rk->rejects[reason]++;
    rk->last_value = value;
    rk->last_limit = limit;
    rk->last_scope = scope;
    rk->last_index = index;
    return reason;
}

/* the reason a trading state gives for an order it blocks */
static inline int sq_rk_state_reason(int64_t state, int64_t cause) {
    if (cause == SQ_RK_CAUSE_DAILY_LOSS) return SQ_RK_DAILY_LOSS_LIMIT;
    if (cause == SQ_RK_CAUSE_DRAWDOWN) return SQ_RK_DRAWDOWN_LIMIT;
    return state == SQ_RK_HALTED ? SQ_RK_TRADING_HALTED : SQ_RK_REDUCE_ONLY;
}

/* 1 if a `side` order of qty can only reduce |pos| (counting same-side working qty) */
static SQ_RK_HOT int sq_rk_reducing(int64_t pos, int64_t open_same, int64_t qty, int side) {
    if (side == 1) return pos < 0 && open_same + qty <= -pos;
    return pos > 0 && open_same + qty <= pos;
}

/* Duplicate ids within a window. An id above every accepted id (the usual case) is appended to a ring of
 * increasing ids (no hashing); a lookup binary-searches it after dropping the ids that left the window.
 * Other ids go to two generations of insert-only hash tables: seen[cur] holds the ids seen since
 * seen_start, seen[cur ^ 1] those of the generation before; once now - seen_start >= window every id of
 * the older one is out of the window (timestamps are non-decreasing), so it is cleared and reused. */
static inline void sq_rk_mx_expire(sq_rk *rk, int64_t now) {
    /* in locals: the loop drops ~a ring's worth of ids at once when the ring is full */
    const int64_t cut = now - rk->dup_window, mask = rk->mx_cap - 1;
    const int64_t *t = rk->mx;
    int64_t h = rk->mx_head, n = rk->mx_n;
    while (n > 0) { /* the entries up to the buffer's end, then from its start */
        const int64_t span = rk->mx_cap - h < n ? rk->mx_cap - h : n;
        const int64_t *p = &t[2 * h + 1], *const e = p + 2 * span;
        while (p != e && *p <= cut) p += 2;
        const int64_t gone = (p - &t[2 * h + 1]) >> 1;
        h = (h + gone) & mask;
        n -= gone;
        if (gone < span) break;
    }
    rk->mx_head = h;
    rk->mx_n = n;
}

static inline int sq_rk_seen_dup(sq_rk *rk, int64_t id, int64_t now) {
    int64_t cut = now - rk->dup_window;
    sq_rk_mx_expire(rk, now);
    int64_t lo = 0, hi = rk->mx_n, mask = rk->mx_cap - 1;
    while (lo < hi) { /* first index with an id >= id */
        int64_t mid = (lo + hi) >> 1;
        if (rk->mx[2 * ((rk->mx_head + mid) & mask)] < id) lo = mid + 1; else hi = mid;
    }
    const int64_t at = 2 * ((rk->mx_head + lo) & mask);
    if (lo < rk->mx_n && rk->mx[at] == id && rk->mx[at + 1] > cut) return 1;
    for (int g = 0; g < 2; g++) {
        int64_t k = sq_rk_map_find(&rk->seen[g], id);
        if (k >= 0 && rk->seen[g].vals[k] > cut) return 1;
    }
    return 0;
}

static int sq_rk_mx_push_slow(sq_rk *rk, int64_t id, int64_t now) {
    /* expired ids are dropped lazily (here when the ring is full, and before every lookup): the per-order
     * cost is two stores; a lookup never sees an id that left the window (sq_rk_seen_dup expires first) */
    if (rk->mx_n == rk->mx_cap) sq_rk_mx_expire(rk, now);
    if (rk->mx_n == rk->mx_cap) {
        int64_t cap = rk->mx_cap ? rk->mx_cap * 2 : 8192;
        int64_t *mx = (int64_t *)malloc((size_t)cap * 2 * sizeof(int64_t));
        if (mx == NULL) return -1;
        for (int64_t k = 0; k < rk->mx_n; k++) {
            int64_t j = (rk->mx_head + k) & (rk->mx_cap - 1);
            mx[2 * k] = rk->mx[2 * j];
            mx[2 * k + 1] = rk->mx[2 * j + 1];
        }
        free(rk->mx);
        rk->mx = mx;
        rk->mx_cap = cap;
        rk->mx_head = 0;
    }
    int64_t j = (rk->mx_head + rk->mx_n) & (rk->mx_cap - 1);
    rk->mx[2 * j] = id;
    rk->mx[2 * j + 1] = now;
    rk->mx_n++;
    return 0;
}

/* the usual case (room in the ring) inline, the rest (expire, grow) out of line: the same state either way */
static SQ_RK_HOT int sq_rk_mx_push(sq_rk *rk, int64_t id, int64_t now) {
    if (rk->mx_n < rk->mx_cap) {
        int64_t j = (rk->mx_head + rk->mx_n) & (rk->mx_cap - 1);
        rk->mx[2 * j] = id;
        rk->mx[2 * j + 1] = now;
        rk->mx_n++;
        return 0;
    }
    return sq_rk_mx_push_slow(rk, id, now);
}

static int sq_rk_seen_put(sq_rk *rk, int64_t id, int64_t now) {
    if (now - rk->seen_start >= rk->dup_window) {
        sq_rk_map *old = &rk->seen[rk->seen_cur ^ 1];
        int64_t want = 16;
        while (want < rk->seen[rk->seen_cur].n * 8) want <<= 1; /* room for a generation like the last one */
        if (old->mask + 1 > 4 * want) { /* shrink after a burst: clearing stays proportional to the rate */
            sq_rk_map_free(old);
            if (sq_rk_map_init(old, want) != 0) return -1;
            sq_rk_map_set_sparse(old, 1);
        } else if (old->n > 0) {
            memset(old->keys, 0, (size_t)(old->mask + 1) * sizeof(int64_t));
            old->n = 0;
        }
        rk->seen_cur ^= 1;
        rk->seen_start = now;
    }
    return sq_rk_map_put(&rk->seen[rk->seen_cur], id, now);
}

/* price/quantity/notional rules shared by new orders and modifies; returns a reason or 0 */
static SQ_RK_HOT int sq_rk_order_rules(sq_rk *rk, const sq_rk_inst *IN, const sq_rk_strat *S, int64_t i, int64_t s,
                                    int side, int64_t px, int64_t qty, int market, int64_t *notional) {
    if (market) {
        if (IN->ref <= 0) return sq_rk_reject(rk, SQ_RK_NO_REFERENCE_PRICE, 0, 0, SQ_RK_SCOPE_INSTRUMENT, i);
        px = IN->ref;
    } else if (IN->tick != 1 && px % IN->tick != 0) {
        return sq_rk_reject(rk, SQ_RK_TICK_SIZE, px, IN->tick, SQ_RK_SCOPE_INSTRUMENT, i);
    }
    if (IN->lot != 1 && qty % IN->lot != 0) return sq_rk_reject(rk, SQ_RK_LOT_SIZE, qty, IN->lot, SQ_RK_SCOPE_INSTRUMENT, i);
    if (qty < IN->min_qty) return sq_rk_reject(rk, SQ_RK_MIN_QTY, qty, IN->min_qty, SQ_RK_SCOPE_INSTRUMENT, i);
    if (qty > IN->max_qty) return sq_rk_reject(rk, SQ_RK_MAX_ORDER_QTY, qty, IN->max_qty, SQ_RK_SCOPE_INSTRUMENT, i);
    if (!market && IN->collar_unit != SQ_RK_COLLAR_OFF) {
        if (IN->ref <= 0) return sq_rk_reject(rk, SQ_RK_NO_REFERENCE_PRICE, 0, 0, SQ_RK_SCOPE_INSTRUMENT, i);
        int64_t lo = side == 1 ? IN->buy_lo : IN->sell_lo, hi = side == 1 ? IN->buy_hi : IN->sell_hi;
        if (px < lo) return sq_rk_reject(rk, SQ_RK_PRICE_COLLAR, px, lo, SQ_RK_SCOPE_INSTRUMENT, i);
        if (px > hi) return sq_rk_reject(rk, SQ_RK_PRICE_COLLAR, px, hi, SQ_RK_SCOPE_INSTRUMENT, i);
    }
    int64_t n = sq_rk_notional(IN, px, qty);
    if (n < IN->min_notional) return sq_rk_reject(rk, SQ_RK_MIN_NOTIONAL, n, IN->min_notional, SQ_RK_SCOPE_INSTRUMENT, i);
    if (n > IN->max_notional)
        return sq_rk_reject(rk, SQ_RK_MAX_ORDER_NOTIONAL, n, IN->max_notional, SQ_RK_SCOPE_INSTRUMENT, i);
    if (n > S->max_notional)
        return sq_rk_reject(rk, SQ_RK_MAX_ORDER_NOTIONAL, n, S->max_notional, SQ_RK_SCOPE_STRATEGY, s);
    *notional = n;
    return 0;
}

/* The order-to-trade check blocks when otr_x1000 >= 0, msgs >= otr_min and (msgs + 1) * 1000 > otr_x1000 * t,
 * t = max(trades, 1). For msgs >= 0 the last condition is msgs >= floor(otr_x1000 * t / 1000), so the check is
 * one comparison with otr_at = max(otr_min, floor(otr_x1000 * t / 1000)) (saturated), recomputed whenever
 * otr_x1000, otr_min or trades change (configuration, fills, reset_day): messages change far more often. */
static inline void sq_rk_otr_ready(sq_rk_strat *S) {
    if (S->otr_x1000 < 0) { S->otr_at = INT64_MAX; return; }
    int64_t t = S->trades > 1 ? S->trades : 1;
    int64_t at = sq_rk_sat((sq_rk_i128)S->otr_x1000 * t / 1000);
    S->otr_at = at > S->otr_min ? at : S->otr_min;
}

static SQ_RK_HOT int sq_rk_otr_blocks(const sq_rk_strat *S) { return S->msgs >= S->otr_at; }

/* ------------------------------------------------------------------------------- working orders */

/* Where a working order lives. The usual ids (increasing, each within the last win_mask + 1 ids) sit inline in a
 * direct-mapped window at win[id & win_mask]: an insert is a few sequential stores, a lookup one load and an id
 * compare, an erase one store (no hashing, probing or free list). An id whose slot holds a newer id, and an order
 * still working when a newer id needs its slot (it is moved out: "evicted"), live in the overflow: the hash table
 * `ids` (id -> pool index) and the pool. Every order is in exactly one of the two; the overflow is probed only
 * when it is not empty. `*j` tells the caller where the order was found: SQ_RK_IN_WIN or its slot in `ids`. */
#define SQ_RK_IN_WIN (-3)

static SQ_RK_HOT sq_rk_order *sq_rk_find(const sq_rk *rk, int64_t id, int64_t *j) {
    sq_rk_order *w = &rk->win[id & rk->win_mask];
    if (w->id == id && id > 0) { *j = SQ_RK_IN_WIN; return w; }
    if (rk->ids.n == 0 || id <= 0) return NULL;
    int64_t k = sq_rk_map_find(&rk->ids, id);
    if (k < 0) return NULL;
    *j = k;
    return &rk->pool[rk->ids.vals[k]];
}

/* the working order `id`, or NULL (out-of-line entry point for the Cython layer) */
static inline sq_rk_order *sq_rk_find_order(sq_rk *rk, int64_t id) {
    int64_t j;
    return sq_rk_find(rk, id, &j);
}

/* a free pool slot holding `id`, entered in `ids`; NULL when out of memory */
static sq_rk_order *sq_rk_pool_new(sq_rk *rk, int64_t id) {
    if (rk->free_head < 0 && sq_rk_pool_reserve(rk, rk->pool_cap * 2) != 0) return NULL;
    int64_t slot = rk->free_head;
    sq_rk_order *o = &rk->pool[slot];
    if (sq_rk_map_put(&rk->ids, id, slot) != 0) return NULL;
    rk->free_head = o->next_free;
    o->next_free = -1;
    o->id = id;
    return o;
}

/* move the window's order at w to the overflow (its slot is wanted by a newer id); -1 when out of memory */
static int sq_rk_evict(sq_rk *rk, sq_rk_order *w) {
    sq_rk_order *o = sq_rk_pool_new(rk, w->id);
    if (o == NULL) return -1;
    *o = *w;
    o->next_free = -1;
    return 0;
}

/* The window in use doubles (while below the configured size) until the slot of `id` is free: every order in it
 * moves to its slot under the wider mask (the slots past the old size were never used: free). Two orders cannot
 * meet there (distinct under the wider mask whenever they were under the old one). Where orders live is all that
 * changes. */
static void sq_rk_win_grow(sq_rk *rk, int64_t id) {
    while (rk->win_mask < rk->win_max) {
        const int64_t old = rk->win_mask + 1, nm = 2 * old - 1;
        for (int64_t j = 0; j < old; j++) {
            sq_rk_order *o = &rk->win[j];
            if (o->id != 0 && (o->id & nm) != j) {
                rk->win[j + old] = *o;
                o->id = 0;
            }
        }
        rk->win_mask = nm;
        if (rk->win[id & nm].id == 0) break;
    }
}

/* the record for a new working order `id` (not working yet: the caller checked), its id field set; NULL when out
 * of memory. The window takes it when its slot is empty or holds an older id (the window grows, or, at its
 * configured size, the older order moves to the overflow). */
static SQ_RK_HOT sq_rk_order *sq_rk_slot_new(sq_rk *rk, int64_t id) {
    sq_rk_order *w = &rk->win[id & rk->win_mask];
    if (w->id != 0 && w->id < id && rk->win_mask < rk->win_max) {
        sq_rk_win_grow(rk, id);
        w = &rk->win[id & rk->win_mask];
    }
    if (w->id == 0) {
        rk->win_n++;
    } else if (w->id < id) {
        if (sq_rk_evict(rk, w) != 0) return NULL;
    } else {
        return sq_rk_pool_new(rk, id);
    }
    if (id > rk->win_hi) rk->win_hi = id;
    w->id = id;
    return w;
}

/* The batch loop's per-record work is forced inline (`_in` bodies, SQ_RK_HOT): gcc had kept sq_rk_check_new and
 * sq_rk_release out of line in the extension (they have several callers), and the two calls per NEW + CANCELED
 * pair cost ~3 ns per order in the C harness. The plain names are the out-of-line entry points of the other
 * callers. */

/* A new order: 0 (accepted and counted at once) or a reason code. side 1 buy / 2 sell; px 0 = market. */
static SQ_RK_HOT int sq_rk_check_new_in(sq_rk *rk, int64_t i, int64_t s, int side, int64_t px, int64_t qty, int64_t ts,
                                  int64_t id) {
    rk->checks++;
    if (((uint64_t)i >= (uint64_t)rk->ni) | ((uint64_t)s >= (uint64_t)rk->ns) | ((unsigned)(side - 1) > 1u) | (qty <= 0) |
        (px < 0) | (id <= 0))
        return sq_rk_reject(rk, SQ_RK_INVALID_ORDER, 0, 0, SQ_RK_SCOPE_ORDER, -1);
    sq_rk_inst *IN = &rk->inst[i];
    sq_rk_strat *S = &rk->strat[s];
    sq_rk_pos *P = &rk->pos[s * rk->ni + i];
    if (rk->killed) return sq_rk_reject(rk, SQ_RK_KILL_SWITCH_GLOBAL, 0, 0, SQ_RK_SCOPE_ACCOUNT, -1);
    if (S->killed)
        return sq_rk_reject(rk, S->killed == SQ_RK_KILL_EXEC ? SQ_RK_REPEATED_EXECUTION : SQ_RK_KILL_SWITCH_STRATEGY,
                            0, 0, SQ_RK_SCOPE_STRATEGY, s);
    if (IN->restricted) return sq_rk_reject(rk, SQ_RK_RESTRICTED_INSTRUMENT, 0, 0, SQ_RK_SCOPE_INSTRUMENT, i);
    int acct_reducing = sq_rk_reducing(IN->net_pos, side == 1 ? IN->open_buy : IN->open_sell, qty, side);
    if (rk->state != SQ_RK_ACTIVE && (rk->state == SQ_RK_HALTED || !acct_reducing))
        return sq_rk_reject(rk, sq_rk_state_reason(rk->state, rk->cause), rk->state, 0, SQ_RK_SCOPE_ACCOUNT, -1);
    if (S->state != SQ_RK_ACTIVE &&
        (S->state == SQ_RK_HALTED || !sq_rk_reducing(P->pos, side == 1 ? P->open_buy : P->open_sell, qty, side)))
        return sq_rk_reject(rk, sq_rk_state_reason(S->state, S->cause), S->state, 0, SQ_RK_SCOPE_STRATEGY, s);
    /* an id above every id accepted so far cannot be a duplicate (the usual case: increasing ids) */
    if (id <= rk->max_id) {
        int64_t jd;
        if (sq_rk_find(rk, id, &jd) != NULL)
            return sq_rk_reject(rk, SQ_RK_DUPLICATE_ORDER_ID, id, 0, SQ_RK_SCOPE_ORDER, -1);
        if (rk->dup_window > 0 && sq_rk_seen_dup(rk, id, ts))
            return sq_rk_reject(rk, SQ_RK_DUPLICATE_ORDER_ID, id, rk->dup_window, SQ_RK_SCOPE_ORDER, -1);
    }
    int market = px == 0;
    int64_t n = 0;
    int r = sq_rk_order_rules(rk, IN, S, i, s, side, px, qty, market, &n);
    if (r) return r;
    if (market) px = IN->ref;
    if (S->n_open >= S->max_open)
        return sq_rk_reject(rk, SQ_RK_MAX_OPEN_ORDERS, S->n_open + 1, S->max_open, SQ_RK_SCOPE_STRATEGY, s);
    if (IN->n_open >= IN->max_open)
        return sq_rk_reject(rk, SQ_RK_MAX_OPEN_ORDERS, IN->n_open + 1, IN->max_open, SQ_RK_SCOPE_INSTRUMENT, i);
    if (rk->n_open >= rk->max_open)
        return sq_rk_reject(rk, SQ_RK_MAX_OPEN_ORDERS, rk->n_open + 1, rk->max_open, SQ_RK_SCOPE_ACCOUNT, -1);
    if (S->open_notional + n > S->credit_limit)
        return sq_rk_reject(rk, SQ_RK_CREDIT_LIMIT, S->open_notional + n, S->credit_limit, SQ_RK_SCOPE_STRATEGY, s);
    if (rk->open_notional + n > rk->credit_limit)
        return sq_rk_reject(rk, SQ_RK_CREDIT_LIMIT, rk->open_notional + n, rk->credit_limit, SQ_RK_SCOPE_ACCOUNT, -1);
    if (side == 1) {
        int64_t worst = IN->net_pos + IN->open_buy + qty;
        if (worst > IN->max_net)
            return sq_rk_reject(rk, SQ_RK_POSITION_LIMIT_NET, worst, IN->max_net, SQ_RK_SCOPE_INSTRUMENT, i);
    } else {
        int64_t worst = IN->net_pos - IN->open_sell - qty;
        if (-worst > IN->max_net)
            return sq_rk_reject(rk, SQ_RK_POSITION_LIMIT_NET, -worst, IN->max_net, SQ_RK_SCOPE_INSTRUMENT, i);
    }
    int64_t gross = IN->gross_pos + IN->open_buy + IN->open_sell + qty;
    if (gross > IN->max_gross)
        return sq_rk_reject(rk, SQ_RK_POSITION_LIMIT_GROSS, gross, IN->max_gross, SQ_RK_SCOPE_INSTRUMENT, i);
    int64_t m = 0;
    if (rk->margin_on) {
        m = acct_reducing ? 0 : sq_rk_margin_of(IN, n);
        int64_t need = rk->order_margin + rk->pos_margin + m, equity = rk->balance + rk->unrealized;
        if (need > equity) return sq_rk_reject(rk, SQ_RK_MARGIN, need, equity, SQ_RK_SCOPE_ACCOUNT, -1);
    }
    if (sq_rk_otr_blocks(S))
        return sq_rk_reject(rk, SQ_RK_ORDER_TO_TRADE_RATIO, S->msgs + 1, S->otr_x1000, SQ_RK_SCOPE_STRATEGY, s);
    if (!sq_rk_ring_allows(&S->orders, ts))
        return sq_rk_reject(rk, SQ_RK_ORDER_RATE, S->orders.limit + 1, S->orders.limit, SQ_RK_SCOPE_STRATEGY, s);
    /* accepted: count it at once */
    sq_rk_order *o = sq_rk_slot_new(rk, id);
    if (o == NULL) return -1;
    if (rk->dup_window > 0 && (id > rk->max_id ? sq_rk_mx_push(rk, id, ts) : sq_rk_seen_put(rk, id, ts)) != 0)
        return -1;
    if (id > rk->max_id) rk->max_id = id;
    o->price = px; o->leaves = qty; o->inst = (int32_t)i; o->strat = (int32_t)s;
    o->side = (int8_t)side; o->margin_free = (int8_t)acct_reducing; o->market = (int8_t)market;
    o->acked = 0;
    o->cell = (int32_t)(s * rk->ni + i);
    o->notional = n; o->margin = rk->margin_on ? m : 0;
    if (side == 1) { IN->open_buy += qty; P->open_buy += qty; }
    else { IN->open_sell += qty; P->open_sell += qty; }
    IN->n_open++; S->n_open++; rk->n_open++;
    S->open_notional += n; rk->open_notional += n;
    rk->order_margin += rk->margin_on ? m : 0;
    sq_rk_ring_push(&S->orders, ts);
    S->msgs++;
    return 0;
}

static inline int sq_rk_check_new(sq_rk *rk, int64_t i, int64_t s, int side, int64_t px, int64_t qty, int64_t ts,
                                  int64_t id) {
    return sq_rk_check_new_in(rk, i, s, side, px, qty, ts, id);
}

static inline int64_t sq_rk_order_margin(const sq_rk *rk, const sq_rk_inst *IN, const sq_rk_order *o, int64_t n) {
    return (!rk->margin_on || o->margin_free) ? 0 : sq_rk_margin_of(IN, n);
}

/* release `q` (<= leaves) of the working order `o`'s exposure; frees the order when nothing is left.
 * `j`: SQ_RK_IN_WIN (o is in the window), or o is in the pool and `j` is the id's slot in rk->ids if the caller has
 * just found it (no second probe), -1 (found here), or -2 (left in the table: sq_rk_release_all clears it). */
static SQ_RK_HOT void sq_rk_release_in(sq_rk *rk, sq_rk_order *o, int64_t q, int64_t j) {
    sq_rk_inst *IN = &rk->inst[o->inst];
    sq_rk_strat *S = &rk->strat[o->strat];
    sq_rk_pos *P = &rk->pos[(int64_t)o->strat * rk->ni + o->inst];
    int64_t n1 = 0, m1 = 0;
    if (q < o->leaves) {
        n1 = sq_rk_notional(IN, o->price, o->leaves - q);
        m1 = sq_rk_order_margin(rk, IN, o, n1);
    }
    S->open_notional -= o->notional - n1;
    rk->open_notional -= o->notional - n1;
    rk->order_margin -= o->margin - m1;
    o->notional = n1;
    o->margin = m1;
    if (o->side == 1) { IN->open_buy -= q; P->open_buy -= q; }
    else { IN->open_sell -= q; P->open_sell -= q; }
    o->leaves -= q;
    if (o->leaves == 0) {
        IN->n_open--; S->n_open--; rk->n_open--;
        if (j == SQ_RK_IN_WIN) {
            o->id = 0;
            rk->win_n--;
        } else {
            if (j == -1) j = sq_rk_map_find(&rk->ids, o->id);
            if (j >= 0) sq_rk_map_erase_at(&rk->ids, j); /* j == -2: the caller clears the id table itself */
            o->id = 0;
            o->next_free = (int32_t)rk->free_head;
            rk->free_head = o - rk->pool;
        }
    }
}

static inline void sq_rk_release(sq_rk *rk, sq_rk_order *o, int64_t q, int64_t j) { sq_rk_release_in(rk, o, q, j); }

/* A modify (new price, new working qty) of a working order: 0 (applied at once) or a reason code. */
static inline int sq_rk_check_modify(sq_rk *rk, int64_t id, int64_t px, int64_t qty, int64_t ts) {
    rk->checks++;
    if (qty <= 0 || px < 0) return sq_rk_reject(rk, SQ_RK_INVALID_ORDER, 0, 0, SQ_RK_SCOPE_ORDER, -1);
    int64_t j;
    sq_rk_order *o = sq_rk_find(rk, id, &j);
    if (o == NULL) return sq_rk_reject(rk, SQ_RK_UNKNOWN_ORDER, id, 0, SQ_RK_SCOPE_ORDER, -1);
    int64_t i = o->inst, s = o->strat;
    int side = o->side;
    if (o->market || px == 0) return sq_rk_reject(rk, SQ_RK_INVALID_ORDER, 0, 0, SQ_RK_SCOPE_ORDER, -1);
    sq_rk_inst *IN = &rk->inst[i];
    sq_rk_strat *S = &rk->strat[s];
    sq_rk_pos *P = &rk->pos[s * rk->ni + i];
    if (rk->killed) return sq_rk_reject(rk, SQ_RK_KILL_SWITCH_GLOBAL, 0, 0, SQ_RK_SCOPE_ACCOUNT, -1);
    if (S->killed)
        return sq_rk_reject(rk, S->killed == SQ_RK_KILL_EXEC ? SQ_RK_REPEATED_EXECUTION : SQ_RK_KILL_SWITCH_STRATEGY,
                            0, 0, SQ_RK_SCOPE_STRATEGY, s);
    if (IN->restricted) return sq_rk_reject(rk, SQ_RK_RESTRICTED_INSTRUMENT, 0, 0, SQ_RK_SCOPE_INSTRUMENT, i);
    /* reducing states allow a modify that does not add working quantity */
    if (rk->state == SQ_RK_HALTED || (rk->state == SQ_RK_REDUCING && qty > o->leaves))
        return sq_rk_reject(rk, sq_rk_state_reason(rk->state, rk->cause), rk->state, 0, SQ_RK_SCOPE_ACCOUNT, -1);
    if (S->state == SQ_RK_HALTED || (S->state == SQ_RK_REDUCING && qty > o->leaves))
        return sq_rk_reject(rk, sq_rk_state_reason(S->state, S->cause), S->state, 0, SQ_RK_SCOPE_STRATEGY, s);
    int64_t n = 0;
    int r = sq_rk_order_rules(rk, IN, S, i, s, side, px, qty, 0, &n);
    if (r) return r;
    int64_t n_old = o->notional;
    if (S->open_notional - n_old + n > S->credit_limit)
        return sq_rk_reject(rk, SQ_RK_CREDIT_LIMIT, S->open_notional - n_old + n, S->credit_limit,
                            SQ_RK_SCOPE_STRATEGY, s);
    if (rk->open_notional - n_old + n > rk->credit_limit)
        return sq_rk_reject(rk, SQ_RK_CREDIT_LIMIT, rk->open_notional - n_old + n, rk->credit_limit,
                            SQ_RK_SCOPE_ACCOUNT, -1);
    int64_t dq = qty - o->leaves;
    if (side == 1) {
        int64_t worst = IN->net_pos + IN->open_buy + dq;
        if (dq > 0 && worst > IN->max_net)
            return sq_rk_reject(rk, SQ_RK_POSITION_LIMIT_NET, worst, IN->max_net, SQ_RK_SCOPE_INSTRUMENT, i);
    } else {
        int64_t worst = IN->net_pos - IN->open_sell - dq;
        if (dq > 0 && -worst > IN->max_net)
            return sq_rk_reject(rk, SQ_RK_POSITION_LIMIT_NET, -worst, IN->max_net, SQ_RK_SCOPE_INSTRUMENT, i);
    }
    int64_t gross = IN->gross_pos + IN->open_buy + IN->open_sell + dq;
    if (dq > 0 && gross > IN->max_gross)
        return sq_rk_reject(rk, SQ_RK_POSITION_LIMIT_GROSS, gross, IN->max_gross, SQ_RK_SCOPE_INSTRUMENT, i);
    int64_t m_old = o->margin, m_new = sq_rk_order_margin(rk, IN, o, n);
    if (rk->margin_on && m_new > m_old) {
        int64_t need = rk->order_margin - m_old + m_new + rk->pos_margin, equity = rk->balance + rk->unrealized;
        if (need > equity) return sq_rk_reject(rk, SQ_RK_MARGIN, need, equity, SQ_RK_SCOPE_ACCOUNT, -1);
    }
    if (sq_rk_otr_blocks(S))
        return sq_rk_reject(rk, SQ_RK_ORDER_TO_TRADE_RATIO, S->msgs + 1, S->otr_x1000, SQ_RK_SCOPE_STRATEGY, s);
    if (!sq_rk_ring_allows(&S->modifies, ts))
        return sq_rk_reject(rk, SQ_RK_MODIFY_RATE, S->modifies.limit + 1, S->modifies.limit, SQ_RK_SCOPE_STRATEGY, s);
    S->open_notional += n - n_old;
    rk->open_notional += n - n_old;
    rk->order_margin += m_new - m_old;
    if (side == 1) { IN->open_buy += dq; P->open_buy += dq; }
    else { IN->open_sell += dq; P->open_sell += dq; }
    o->price = px;
    o->leaves = qty;
    o->notional = n;
    o->margin = m_new;
    sq_rk_ring_push(&S->modifies, ts);
    S->msgs++;
    return 0;
}

/* A cancel request: 0 (allowed; the exposure is released by sq_rk_on_canceled) or a reason code. */
static inline int sq_rk_check_cancel(sq_rk *rk, int64_t id, int64_t ts) {
    rk->checks++;
    int64_t j;
    sq_rk_order *o = sq_rk_find(rk, id, &j);
    if (o == NULL) return sq_rk_reject(rk, SQ_RK_UNKNOWN_ORDER, id, 0, SQ_RK_SCOPE_ORDER, -1);
    sq_rk_strat *S = &rk->strat[o->strat];
    if (!sq_rk_ring_allows(&S->cancels, ts))
        return sq_rk_reject(rk, SQ_RK_CANCEL_RATE, S->cancels.limit + 1, S->cancels.limit, SQ_RK_SCOPE_STRATEGY,
                            o->strat);
    sq_rk_ring_push(&S->cancels, ts);
    S->msgs++;
    return 0;
}

/* ------------------------------------------------------------------------ positions, PnL, breakers */

static inline int64_t sq_rk_upnl(const sq_rk_inst *IN, const sq_rk_pos *P) {
    if (IN->mark <= 0 || (P->pos == 0 && P->cost == 0)) return 0;
    return sq_rk_floor_div(((sq_rk_i128)P->pos * IN->mark - P->cost) * IN->num, IN->den);
}

static inline void sq_rk_pos_margin(sq_rk *rk, sq_rk_inst *IN) {
    int64_t pm = rk->margin_on && IN->mark > 0 ? sq_rk_margin_of(IN, sq_rk_notional(IN, IN->mark, sq_rk_abs(IN->net_pos)))
                                              : 0;
    rk->pos_margin += pm - IN->pos_margin;
    IN->pos_margin = pm;
}

static inline int sq_rk_trip(int64_t *state, int64_t *cause, int64_t action, int64_t why) {
    if (action > *state) {
        *state = action;
        *cause = why;
        return SQ_RK_EV_BREAKER;
    }
    return 0;
}

static inline int sq_rk_breakers_strat(sq_rk_strat *S) {
    int64_t pnl = S->realized + S->unrealized - S->day_base;
    int ev = 0;
    if (pnl > S->peak) S->peak = pnl;
    if (S->daily_limit != SQ_RK_NONE && -pnl > S->daily_limit)
        ev |= sq_rk_trip(&S->state, &S->cause, S->daily_action, SQ_RK_CAUSE_DAILY_LOSS);
    if (S->dd_limit != SQ_RK_NONE && S->peak - pnl > S->dd_limit)
        ev |= sq_rk_trip(&S->state, &S->cause, S->dd_action, SQ_RK_CAUSE_DRAWDOWN);
    return ev;
}

static inline int sq_rk_breakers_account(sq_rk *rk) {
    int64_t pnl = rk->realized + rk->unrealized - rk->day_base;
    int ev = 0;
    if (pnl > rk->peak) rk->peak = pnl;
    if (rk->daily_limit != SQ_RK_NONE && -pnl > rk->daily_limit)
        ev |= sq_rk_trip(&rk->state, &rk->cause, rk->daily_action, SQ_RK_CAUSE_DAILY_LOSS);
    if (rk->dd_limit != SQ_RK_NONE && rk->peak - pnl > rk->dd_limit)
        ev |= sq_rk_trip(&rk->state, &rk->cause, rk->dd_action, SQ_RK_CAUSE_DRAWDOWN);
    return ev;
}

/* a new mark price for instrument i: unrealized PnL of every strategy, position margin, breakers */
static inline int sq_rk_on_mark(sq_rk *rk, int64_t i, int64_t px) {
    sq_rk_inst *IN = &rk->inst[i];
    int ev = 0;
    IN->mark = px;
    for (int64_t s = 0; s < rk->ns; s++) {
        sq_rk_pos *P = &rk->pos[s * rk->ni + i];
        if (P->pos == 0 && P->cost == 0 && P->upnl == 0) continue;
        int64_t u = sq_rk_upnl(IN, P);
        rk->strat[s].unrealized += u - P->upnl;
        rk->unrealized += u - P->upnl;
        P->upnl = u;
        ev |= sq_rk_breakers_strat(&rk->strat[s]);
    }
    sq_rk_pos_margin(rk, IN);
    ev |= sq_rk_breakers_account(rk);
    return ev;
}

/* A fill of qty at px. A known working order is released (by at most its leaves) and its instrument,
 * strategy and side are used; an unknown id (a fill after a cancel) still moves the position. */
static inline int sq_rk_on_fill(sq_rk *rk, int64_t id, int64_t i, int64_t s, int side, int64_t px, int64_t qty,
                                int64_t ts) {
    int ev = 0;
    if (qty <= 0 || px <= 0) return SQ_RK_EV_INVALID;
    int64_t j = -1;
    sq_rk_order *o = sq_rk_find(rk, id, &j);
    if (o == NULL && ((uint64_t)i >= (uint64_t)rk->ni || (uint64_t)s >= (uint64_t)rk->ns || (side != 1 && side != 2)))
        return SQ_RK_EV_INVALID;
    if (o != NULL) {
        i = o->inst; s = o->strat; side = o->side;
        sq_rk_release(rk, o, qty < o->leaves ? qty : o->leaves, j);
    } else {
        ev |= SQ_RK_EV_UNKNOWN;
    }
    sq_rk_inst *IN = &rk->inst[i];
    sq_rk_strat *S = &rk->strat[s];
    sq_rk_pos *P = &rk->pos[s * rk->ni + i];
    int64_t dq = side == 1 ? qty : -qty;
    int64_t p0 = P->pos;
    if (p0 == 0 || (p0 > 0) == (dq > 0)) {
        P->pos = p0 + dq;
        P->cost += (sq_rk_i128)dq * px;
    } else {
        int64_t ap = sq_rk_abs(p0), close = qty < ap ? qty : ap, sgn = p0 > 0 ? 1 : -1;
        sq_rk_i128 released = P->cost * close / ap; /* truncates toward zero */
        sq_rk_i128 units = (sq_rk_i128)sgn * close * px - released;
        int64_t r = sq_rk_floor_div(units * IN->num, IN->den);
        S->realized += r;
        rk->realized += r;
        P->cost -= released;
        P->pos = p0 - sgn * close;
        if (qty > close) {
            int64_t rem = qty - close;
            P->pos = -sgn * rem;
            P->cost = (sq_rk_i128)(-sgn) * rem * px;
        }
    }
    IN->net_pos += P->pos - p0;
    IN->gross_pos += sq_rk_abs(P->pos) - sq_rk_abs(p0);
    S->trades++;
    sq_rk_otr_ready(S);
    if (S->execs.limit > 0) {
        if (!sq_rk_ring_allows(&S->execs, ts) && S->killed == SQ_RK_KILL_OFF) {
            S->killed = SQ_RK_KILL_EXEC;
            ev |= SQ_RK_EV_AUTO_KILL;
        }
        sq_rk_ring_push(&S->execs, ts);
    }
    if (IN->mark <= 0) {
        ev |= sq_rk_on_mark(rk, i, px) & ~SQ_RK_EV_UNKNOWN;
    } else {
        int64_t u = sq_rk_upnl(IN, P);
        S->unrealized += u - P->upnl;
        rk->unrealized += u - P->upnl;
        P->upnl = u;
        sq_rk_pos_margin(rk, IN);
        ev |= sq_rk_breakers_strat(S);
        ev |= sq_rk_breakers_account(rk);
    }
    return ev;
}

/* venue acknowledgement / rejection / cancel of a working order: 0 or SQ_RK_UNKNOWN_ORDER */
static inline int sq_rk_on_accepted(sq_rk *rk, int64_t id) {
    int64_t j;
    sq_rk_order *o = sq_rk_find(rk, id, &j);
    if (o == NULL) return SQ_RK_UNKNOWN_ORDER;
    o->acked = 1;
    return 0;
}

static SQ_RK_HOT int sq_rk_on_done_in(sq_rk *rk, int64_t id) {
    int64_t j;
    sq_rk_order *o = sq_rk_find(rk, id, &j);
    if (o == NULL) return SQ_RK_UNKNOWN_ORDER;
    sq_rk_release_in(rk, o, o->leaves, j);
    return 0;
}

static inline int sq_rk_on_done(sq_rk *rk, int64_t id) { return sq_rk_on_done_in(rk, id); }

/* the venue canceled every working order (of strategy s, or all if s < 0): release them; returns how many */
static inline int64_t sq_rk_release_all(sq_rk *rk, int64_t s) {
    int64_t left = s < 0 ? rk->n_open : rk->strat[s].n_open, done = 0;
    /* the window, down from its newest id until every occupied slot was seen (the usual ids are the last few) */
    for (int64_t k = 0, seen = 0, wn = rk->win_n; k <= rk->win_mask && seen < wn && left > 0; k++) {
        sq_rk_order *o = &rk->win[(rk->win_hi - k) & rk->win_mask];
        if (o->id == 0) continue;
        seen++;
        if (s >= 0 && o->strat != s) continue;
        sq_rk_release(rk, o, o->leaves, SQ_RK_IN_WIN);
        left--;
        done++;
    }
    /* every order, and the id table at least 1/8 full: release them in pool order without touching the table,
     * then clear it in one pass (a probe and a backward-shift erase per order cost a random access each) */
    int bulk = s < 0 && rk->ids.n * 8 >= rk->ids.mask + 1;
    for (int64_t slot = 0; slot < rk->pool_cap && left > 0; slot++) {
        sq_rk_order *o = &rk->pool[slot];
        if (o->id == 0 || (s >= 0 && o->strat != s)) continue;
        sq_rk_release(rk, o, o->leaves, bulk ? -2 : -1);
        left--;
        done++;
    }
    if (bulk) {
        memset(rk->ids.keys, 0, (size_t)(rk->ids.mask + 1) * sizeof(int64_t));
        memset(rk->ids.vals, 0, (size_t)(rk->ids.mask + 1) * sizeof(int64_t));
        rk->ids.n = 0;
    }
    return done;
}

/* start a new trading day: PnL baselines, peaks and order-to-trade counters restart (states stay) */
static inline void sq_rk_reset_day(sq_rk *rk) {
    for (int64_t s = 0; s < rk->ns; s++) {
        sq_rk_strat *S = &rk->strat[s];
        S->day_base = S->realized + S->unrealized;
        S->peak = 0;
        S->msgs = S->trades = 0;
        sq_rk_otr_ready(S);
    }
    rk->day_base = rk->realized + rk->unrealized;
    rk->peak = 0;
}

/* Back to the state right after configuration: no working orders, positions, PnL, marks, day baselines and
 * peaks zero, states ACTIVE, kill switches off, rolling windows and the duplicate-id memory empty, counters and
 * the last reject cleared. The configuration (every limit), reference prices (collar bounds) and the balance stay.
 * Allocates nothing; its cost is the working orders' count plus the size of the overflow table and pool. */
static inline void sq_rk_reset(sq_rk *rk) {
    for (int64_t i = 0; i < rk->ni; i++) {
        sq_rk_inst *IN = &rk->inst[i];
        IN->mark = 0;
        IN->net_pos = IN->gross_pos = IN->open_buy = IN->open_sell = IN->n_open = IN->pos_margin = 0;
    }
    for (int64_t s = 0; s < rk->ns; s++) {
        sq_rk_strat *S = &rk->strat[s];
        S->killed = S->state = S->cause = 0;
        S->open_notional = S->n_open = S->msgs = S->trades = S->realized = S->unrealized = S->day_base = S->peak = 0;
        S->orders.next = S->orders.ts; S->modifies.next = S->modifies.ts;
        S->cancels.next = S->cancels.ts; S->execs.next = S->execs.ts;
        S->orders.full = S->modifies.full = S->cancels.full = S->execs.full = 0;
        sq_rk_otr_ready(S);
    }
    memset(rk->pos, 0, (size_t)(rk->ni * rk->ns) * sizeof(sq_rk_pos));
    rk->killed = rk->state = rk->cause = 0;
    rk->open_notional = rk->order_margin = rk->pos_margin = rk->n_open = 0;
    rk->realized = rk->unrealized = rk->day_base = rk->peak = 0;
    /* working orders: the window's occupied slots (down from its newest id), then the overflow */
    for (int64_t k = 0, seen = 0; k <= rk->win_mask && seen < rk->win_n; k++) {
        sq_rk_order *o = &rk->win[(rk->win_hi - k) & rk->win_mask];
        if (o->id != 0) { o->id = 0; seen++; }
    }
    rk->win_n = 0;
    rk->win_hi = 0;
    if (rk->ids.n > 0) {
        memset(rk->ids.keys, 0, (size_t)(rk->ids.mask + 1) * sizeof(int64_t));
        memset(rk->ids.vals, 0, (size_t)(rk->ids.mask + 1) * sizeof(int64_t));
        rk->ids.n = 0;
        for (int64_t i = 0; i < rk->pool_cap; i++) {
            rk->pool[i].id = 0;
            rk->pool[i].next_free = (int32_t)(i + 1 < rk->pool_cap ? i + 1 : -1);
        }
        rk->free_head = 0;
    }
    /* duplicate ids */
    rk->max_id = 0;
    rk->mx_head = rk->mx_n = 0;
    for (int g = 0; g < 2; g++) {
        if (rk->seen[g].n > 0) {
            memset(rk->seen[g].keys, 0, (size_t)(rk->seen[g].mask + 1) * sizeof(int64_t));
            rk->seen[g].n = 0;
        }
    }
    rk->seen_start = INT64_MIN / 2;
    rk->seen_cur = 0;
    memset(rk->rejects, 0, sizeof(rk->rejects));
    rk->checks = 0;
    rk->last_value = rk->last_limit = rk->last_scope = rk->last_index = 0;
}

/* Headroom: a number B such that the next B new orders accepted without a fill, mark or other exposure-adding
 * call in between cannot be rejected by a stateful limit (open-order counts, credit, net and gross position,
 * margin, order-to-trade ratio), whatever they are: every accepted order adds at most its instrument's max_qty to
 * the working quantity, at most min(instrument, strategy max_notional) to the open notional, at most the margin of
 * that notional to the order margin, and one message; cancels only release. So if each limit's slack divided by
 * the largest such step is >= B, each of the B orders passes those checks (its own check would compare a value
 * no larger than start + B steps). Exact: the checks skipped are ones that cannot fail. O(instruments +
 * strategies); 0 when any limit is tight. Computed in 128 bits (limits that are off are INT64_MAX). */
/* A lower bound on floor(num / den) for den >= 1 (num <= 0: num itself, which the caller clamps to 0), at most 2^41:
 * the quotient in double precision (relative error < 2^-51 for any num < 2^127) shrunk by 10^-12 before truncation,
 * so it never passes the true quotient. A smaller headroom is always safe (it only ends the batch path's run
 * sooner); a double division instead of a 128-bit one (__divti3) per limit makes the recompute ~10x cheaper. */
static inline sq_rk_i128 sq_rk_hdiv(sq_rk_i128 num, sq_rk_i128 den) {
    if (num <= 0) return num;
    double q = (double)num / (double)den * (1.0 - 1e-12);
    if (q > 2199023255552.0) q = 2199023255552.0; /* 2^41 */
    return (sq_rk_i128)(int64_t)q;
}

static int64_t sq_rk_headroom(const sq_rk *rk) {
    const sq_rk_i128 BIG = (sq_rk_i128)1 << 40;
    sq_rk_i128 b = BIG;
    int64_t ncap = 0, mcap = 0;
    for (int64_t i = 0; i < rk->ni; i++) {
        const sq_rk_inst *IN = &rk->inst[i];
        if (IN->max_notional > ncap) ncap = IN->max_notional;
        int64_t mc = rk->margin_on ? sq_rk_margin_of(IN, IN->max_notional) : 0;
        if (mc > mcap) mcap = mc;
        sq_rk_i128 q = IN->max_qty > 0 ? IN->max_qty : 1, t;
        t = (sq_rk_i128)IN->max_open - IN->n_open;
        if (t < b) b = t;
        t = sq_rk_hdiv((sq_rk_i128)IN->max_net - IN->net_pos - IN->open_buy, q);
        if (t < b) b = t;
        t = sq_rk_hdiv((sq_rk_i128)IN->max_net + IN->net_pos - IN->open_sell, q);
        if (t < b) b = t;
        t = sq_rk_hdiv((sq_rk_i128)IN->max_gross - IN->gross_pos - IN->open_buy - IN->open_sell, q);
        if (t < b) b = t;
    }
    if (ncap < 1) ncap = 1;
    for (int64_t s = 0; s < rk->ns; s++) {
        const sq_rk_strat *S = &rk->strat[s];
        int64_t nc = S->max_notional < ncap ? S->max_notional : ncap;
        sq_rk_i128 t = (sq_rk_i128)S->max_open - S->n_open;
        if (t < b) b = t;
        t = sq_rk_hdiv((sq_rk_i128)S->credit_limit - S->open_notional, nc > 0 ? nc : 1);
        if (t < b) b = t;
        t = (sq_rk_i128)S->otr_at - S->msgs;
        if (t < b) b = t;
    }
    sq_rk_i128 t = (sq_rk_i128)rk->max_open - rk->n_open;
    if (t < b) b = t;
    t = sq_rk_hdiv((sq_rk_i128)rk->credit_limit - rk->open_notional, ncap);
    if (t < b) b = t;
    if (rk->margin_on) {
        t = sq_rk_hdiv((sq_rk_i128)rk->balance + rk->unrealized - rk->order_margin - rk->pos_margin,
                       mcap > 0 ? mcap : 1);
        if (t < b) b = t;
    }
    return b > 0 ? (int64_t)b : 0;
}

/* Instrument i's envelope for this call (sq_rk_box): each bound is one of the instrument's stateless checks made a
 * range (an order inside passes it), and the quantity and price ranges are cut (never widened) so that px * qty *
 * num and the margin's notional * bps cannot overflow: px * qty * num <= vcap = min(INT64_MAX - (den - 1),
 * floor((INT64_MAX - 9999) / bps) * den), and ceil(v / den) <= floor((INT64_MAX - 9999) / bps) iff v <= that * den (the
 * margins of den - 1 and 9999 are the lean run's ceilings: it adds them before dividing). The notional range
 * is [min notional, the smallest maximum of the instrument and every strategy]. No envelope (ok = 0) for a
 * restricted instrument, a tick or lot other than 1 (their modulo stays on the full path), a den that is not a
 * power of ten, or a collared instrument without a reference. */
static void sq_rk_box_build(const sq_rk *rk, sq_rk_box *B, const sq_rk_inst *IN, int64_t gen) {
    memset(B, 0, sizeof(*B));
    B->gen = gen;
    int64_t nhi = IN->max_notional;
    for (int64_t s = 0; s < rk->ns; s++)
        if (rk->strat[s].max_notional < nhi) nhi = rk->strat[s].max_notional;
    const int64_t nlo = IN->min_notional > 0 ? IN->min_notional : 0;
    B->nlo = nhi >= nlo ? nlo : INT64_MIN; /* empty: every notional >= 0 is 2^63 or more above INT64_MIN */
    B->nrange = nhi >= nlo ? (uint64_t)(nhi - nlo) : 0;
    if (IN->restricted || IN->tick != 1 || IN->lot != 1 || IN->den_pow10 < 0 || IN->num < 1) return;
    const int64_t qlo = IN->min_qty > 1 ? IN->min_qty : 1;
    const int64_t bps = IN->margin_bps > 1 ? IN->margin_bps : 1;
    /* (the lean run's ceilings add den - 1 to px * qty * num and 9999 to notional * bps: both kept <= INT64_MAX) */
    sq_rk_i128 vcap = (sq_rk_i128)((INT64_MAX - 9999) / bps) * IN->den;
    if (vcap > (sq_rk_i128)INT64_MAX - (IN->den - 1)) vcap = (sq_rk_i128)INT64_MAX - (IN->den - 1);
    /* the quantity cut: the larger of about sqrt(vcap / num) (price and quantity cut alike) and what keeps every
     * price the collar lets through (when it has a reference) */
    const uint64_t t = (uint64_t)(vcap / IN->num); /* >= 1; 2^floor(floor(log2 t) / 2): its square is <= t */
    sq_rk_i128 qcap = (sq_rk_i128)((uint64_t)1 << ((63 - __builtin_clzll(t | 1)) >> 1));
    if (IN->collar_unit != SQ_RK_COLLAR_OFF && IN->ref > 0) {
        int64_t pmax = IN->buy_hi > IN->sell_hi ? IN->buy_hi : IN->sell_hi;
        sq_rk_i128 qc = vcap / ((sq_rk_i128)(pmax > 1 ? pmax : 1) * IN->num);
        if (qc > qcap) qcap = qc;
    }
    const int64_t qhi = (sq_rk_i128)IN->max_qty < qcap ? IN->max_qty : (int64_t)qcap;
    if (qhi < qlo) return;
    const sq_rk_i128 pcap = vcap / ((sq_rk_i128)qhi * IN->num); /* px <= pcap: px * qhi * num <= vcap */
    for (int sd = 0; sd < 2; sd++) {
        sq_rk_i128 lo = 1, hi = pcap;
        if (IN->collar_unit != SQ_RK_COLLAR_OFF) {
            if (IN->ref <= 0) continue;
            int64_t cl = sd == 0 ? IN->buy_lo : IN->sell_lo, ch = sd == 0 ? IN->buy_hi : IN->sell_hi;
            if (cl > lo) lo = cl;
            if (ch < hi) hi = ch;
        }
        if (hi < lo) continue;
        B->ok[sd] = 1;
        B->plo[sd] = (int64_t)lo;
        B->prange[sd] = (uint64_t)(int64_t)(hi - lo);
    }
    B->qlo = qlo;
    B->qrange = (uint64_t)(qhi - qlo);
    B->num = IN->num;
    B->bps = IN->margin_bps;
    B->mag = IN->den_pow10 == 0 ? (uint64_t)1 << 63 : IN->den_mag;
    B->dm1 = IN->den - 1;
    B->sh2 = IN->den_pow10 == 0 ? 0 : IN->den_sh - 63;
}

/* ------------------------------------------------------------------------------------- batch runner */

_Static_assert(offsetof(sq_rk_inst, open_sell) == offsetof(sq_rk_inst, open_buy) + 8, "sq_rk_inst layout");
_Static_assert(sizeof(sq_rk_cell) == 64, "sq_rk_cell layout");
_Static_assert(sizeof(sq_rk_order) == 64, "sq_rk_order layout");
_Static_assert(sizeof(sq_rk_box) == 128, "sq_rk_box layout");
_Static_assert(sizeof(sq_rk_fent) == 64, "sq_rk_fent layout");

typedef struct { int64_t n_open, notional, margin; } sq_rk_acct_delta;

/* Sums the banked deltas of the cells in `dirty` (bit c: cell c) and the banks in `banks` (bit b: bank b; the others
 * are zero) into the position, instrument and strategy counters, zeroes them, and returns the account's share (the
 * caller keeps the account's counters in locals). An instrument's working quantity is banked only while it is flat
 * (net position 0; sq_rk_process updates a non-flat instrument's directly, as its exposure-reducing test reads it);
 * no record sq_rk_process runs changes a net position, so the test here sees the same value. */
static sq_rk_acct_delta sq_rk_bank_flush(sq_rk *rk, uint64_t dirty, unsigned banks) {
    sq_rk_acct_delta a = {0, 0, 0};
    const int64_t ni = rk->ni;
    while (dirty) {
        const int64_t c = __builtin_ctzll(dirty);
        dirty &= dirty - 1;
        sq_rk_cell *C = &rk->cells[c * SQ_RK_BANKS];
        int64_t ob = 0, os = 0, ms = 0, gone = 0, nt = 0, mg = 0;
        for (int b = 0; b < SQ_RK_BANKS; b++) {
            if (!((banks >> b) & 1u)) continue;
            ob += C[b].v[1]; os += C[b].v[2]; ms += C[b].v[SQ_RK_CV_NEW] + C[b].v[SQ_RK_CV_MSGS];
            gone += C[b].v[SQ_RK_CV_GONE] + C[b].v[SQ_RK_CV_MSGS] - C[b].v[SQ_RK_CV_OPEN];
            nt += C[b].v[SQ_RK_CV_NOTIONAL]; mg += C[b].v[SQ_RK_CV_MARGIN];
            memset(&C[b], 0, sizeof(C[b]));
        }
        const int64_t no = ms - gone;
        const int64_t i = c % ni, s = c / ni;
        sq_rk_inst *IN = &rk->inst[i];
        sq_rk_strat *S = &rk->strat[s];
        sq_rk_pos *P = &rk->pos[c];
        P->open_buy += ob; P->open_sell += os;
        if (IN->net_pos == 0) { IN->open_buy += ob; IN->open_sell += os; }
        IN->n_open += no;
        S->n_open += no; S->open_notional += nt; S->msgs += ms;
        a.n_open += no; a.notional += nt; a.margin += mg;
    }
    return a;
}

/* The lean run (sq_rk_fast_run): the batch's usual records while the headroom holds and the cells are few. Its
 * table and inputs are built once per sq_rk_process call; its running values go back to sq_rk_process's locals. */

typedef struct {
    sq_rk_order *win;
    int64_t wmask;
    sq_rk_cell *cells;
    sq_rk_fent *tab; /* [((strategy << li) | instrument) * 2 + side - 1] */
    int64_t li;
    sq_rk_inst *inst;
    int64_t *mx; /* the duplicate ring's next entry (F->fb never passes its end: no wrap), or the scratch ring; the run
                  * writes its accepted ids and times from here on (sq_rk_fast_scan reads the ids back) */
    uint64_t hmul;      /* 2^56 + 2^(24 + li): (word * hmul) >> 56 is (strategy << li) | instrument (see the table) */
    uint64_t nonflat;   /* bit c: cell c's instrument has a net position (its working quantity is kept live) */
    /* running values */
    int64_t max_id, fb, nacc, ncx;
    uint64_t dirty;
    int64_t rcx;      /* CANCELEDs of orders the run itself opened */
    int64_t lazy;     /* 1: the run's NEWs bank only their message count (sq_rk_fast_scan banks the rest at its end) */
} sq_rk_fast;

/* Builds the lean run's table (every instrument's envelope first). The facts it holds (a strategy's kill switch and
 * state, an instrument's envelope and whether its net position is 0) do not change inside sq_rk_process. */
#define SQ_RK_FT_NONFLAT ((int64_t)1 << 40) /* a table entry's bit: the instrument has a net position */
static void sq_rk_fast_table(sq_rk *rk, sq_rk_fast *F) {
    const int64_t ni = rk->ni, ns = rk->ns, gen = rk->box_gen;
    int li = 0; /* 2^li >= ni: with ni * ns <= 64, (strategy << li) | instrument < 128 */
    while (((int64_t)1 << li) < ni) li++;
    /* 256 indices (any word's top product byte: sq_rk_fast_body) x 2 sides. An entry with no order: a word whose own
     * index is another entry's (instrument idx + 1, strategy 0: index (idx + 1) & 255), so no record's word can both
     * land here and equal it */
    for (int64_t e = 0; e < 512; e++) {
        rk->ftab[e].w = (uint64_t)(((e >> 1) + 1) & 255);
        rk->ftab[e].msgs = 0;
    }
    F->nonflat = 0;
    for (int64_t i = 0; i < ni; i++)
        if (rk->box[i].gen != gen) sq_rk_box_build(rk, &rk->box[i], &rk->inst[i], gen);
    for (int64_t s = 0; s < ns; s++) {
        sq_rk_strat *S = &rk->strat[s];
        for (int64_t i = 0; i < ni; i++) {
            const int64_t c = s * ni + i, nf = rk->inst[i].net_pos != 0;
            if (nf) F->nonflat |= (uint64_t)1 << c;
            if (S->killed || S->state) continue;
            for (int sd = 0; sd < 2; sd++) {
                if (!rk->box[i].ok[sd]) continue;
                sq_rk_fent *E = &rk->ftab[((s << li) | i) << 1 | sd];
                E->w = (uint64_t)s << 32 | (uint64_t)i;
                E->fl = (int64_t)(sd + 1) | c << 32 | (nf ? SQ_RK_FT_NONFLAT : 0);
                E->box = &rk->box[i];
                E->ring = &S->orders;
                E->cell = c;
                E->bps = rk->margin_on ? rk->box[i].bps : 0;
            }
        }
    }
    F->tab = rk->ftab;
    F->li = li;
    F->hmul = ((uint64_t)1 << 56) + ((uint64_t)1 << (24 + li));
}

/* The smallest room left in any strategy's order-rate ring before its count reaches the limit (INT64_MAX when every
 * ring is off): that many more orders are allowed by every ring whatever their times, so the lean run can skip the
 * ring's test for them. */
static int64_t sq_rk_ring_room(const sq_rk *rk) {
    int64_t room = INT64_MAX;
    for (int64_t s = 0; s < rk->ns; s++) {
        const sq_rk_ring *r = &rk->strat[s].orders;
        const int64_t t = r->full ? 0 : r->limit > 0 ? r->limit - (r->next - r->ts) : INT64_MAX;
        if (t < room) room = t;
    }
    return room;
}

/* dirty |= 1 << (c & 63) */
#if defined(__x86_64__) && defined(__GNUC__)
#define SQ_RK_BTS(dirty, c) __asm__("btsq %1, %0" : "+r"(dirty) : "r"((uint64_t)(c)) : "cc")
#else
#define SQ_RK_BTS(dirty, c) ((dirty) |= (uint64_t)1 << ((c) & 63))
#endif

/* Records [k, n) while each is a CANCELED of an order in the window or a NEW limit order that the lean checks accept:
 * its (instrument, strategy, side) in the table, its id above every accepted id, price and quantity inside the
 * instrument's envelope and the notional inside its range, the order-rate ring allowing it (ringchk; otherwise F->fb
 * is within every ring's room), an empty window slot, and budget left (F->fb: the headroom and the duplicate ring's
 * room). Exposure goes to the banked deltas (a non-flat instrument's working quantity directly: the reducing test
 * reads it; flat: no instrument is non-flat, F->nonflat == 0). Stops, untouched, at the first other record and returns
 * its index. Results of 0 are not written (sq_rk_process's res is zero on entry). */
/* the lean run prefetches the record this many bytes ahead (32 records): the hardware's stream prefetch alone left
 * ~4 % on the table from Python (alternated A/B, docs/risk.md); a non-temporal hint (locality 0) was a loss */
#define SQ_RK_PF_DIST 1536
#define SQ_RK_NOSLP __attribute__((optimize("no-tree-slp-vectorize")))
static SQ_RK_HOT SQ_RK_NOSLP int64_t sq_rk_fast_body(sq_rk_fast *F, const sq_rk_msg *m, int64_t k, const int64_t n,
                                                    const int ringchk, const int flat, const int lazy) {
    sq_rk_order *const win = F->win;
    const int64_t wmask = F->wmask;
    sq_rk_cell *const cells = F->cells;
    sq_rk_fent *const tab = F->tab;
    sq_rk_inst *const inst = F->inst;
    int64_t *mx = F->mx; /* the duplicate ring from its next entry, no wrap */

    const uint64_t nonflat = F->nonflat;
    int64_t max_id = F->max_id, fb = F->fb;
    const int64_t fb0 = fb, k0 = k; /* every record in [k0, k) is an accepted NEW or a CANCELED */
    const sq_rk_msg *x = m + k, *const xe = m + n;
    const uint64_t hmul = F->hmul;
    const int64_t start_id = max_id; /* a window order with a higher id was opened by this run */
    int64_t pcx = 0; /* CANCELEDs of orders opened before the run */
    uint64_t dirty = F->dirty;
    for (; x < xe; x++, k++) {
        __builtin_prefetch((const char *)x + SQ_RK_PF_DIST, 0, 3); /* (past the end: a hint, no fault) */
        uint16_t opside; /* op and side, as they lie in the record */
        memcpy(&opside, &x->op, sizeof(opside));
        if ((opside & 0xff) == SQ_RK_OP_CANCELED) {
            const int64_t id = x->order_id;
            sq_rk_order *o = &win[id & wmask];
            if (__builtin_expect(o->id != id, 0)) break;
            if (__builtin_expect(id <= 0, 0)) break;
            if (flat && lazy && id > start_id) { o->id = 0; continue; } /* opened by this run: the scan never sees it */
            const int64_t c = (uint8_t)o->cell, q = o->leaves, side = o->side; /* (the cell's low byte: see fl) */
            if (!flat && lazy && id > start_id) {
                if ((nonflat >> (c & 63)) & 1) (&inst[o->inst].open_buy)[side - 1] -= q;
                o->id = 0;
                continue;
            }
            pcx += id <= start_id; /* (always 1 in a lazy run) */
            sq_rk_cell *C = &cells[(c << 3) | ((lazy ? k0 : k) & 7)]; /* (lazy: the run's first record's bank) */
            C->v[side] -= q; C->v[SQ_RK_CV_GONE]++;
            C->v[SQ_RK_CV_NOTIONAL] -= o->notional; C->v[SQ_RK_CV_MARGIN] -= o->margin;
            SQ_RK_BTS(dirty, c);
            if (!flat && ((nonflat >> (c & 63)) & 1)) (&inst[o->inst].open_buy)[side - 1] -= q;
            o->id = 0;
            continue;
        }
        /* a NEW of side 1 or 2: opside - 0x101 is 0 or 0x100 */
        const uint32_t os1 = (uint32_t)opside - 0x101u;
        if (__builtin_expect((os1 & ~0x100u) != 0, 0)) break;
        const int64_t sd = os1 >> 8;
        uint64_t w;
        memcpy(&w, &x->instrument, sizeof(w));
        /* w = instrument + strategy * 2^32, so w * hmul = instrument * 2^56 + (strategy << li) * 2^56 + instrument *
         * 2^(24 + li) (mod 2^64): its top byte is (strategy << li) | instrument for indices in range (instrument <
         * 2^(32 - li)); any other word lands on an entry made for another word (or none) and leaves the run */
        sq_rk_fent *E = (sq_rk_fent *)((char *)tab + (((w * hmul) >> 56) << 7) + (os1 >> 2));
        if (__builtin_expect(E->w != w, 0)) break;
        const int64_t fl = E->fl, id = x->order_id;
        if (__builtin_expect(id <= max_id, 0)) break;
        if (__builtin_expect(fb == 0, 0)) break;
        const int64_t px = x->price, qty = x->qty, ts = x->ts;
        const sq_rk_box *B = E->box;
        if (__builtin_expect((uint64_t)px - (uint64_t)B->plo[sd] > B->prange[sd], 0)) break;
        if (__builtin_expect((uint64_t)qty - (uint64_t)B->qlo > B->qrange, 0)) break;
        /* ceilings as floor((v + d - 1) / d) by multiply-shift (the box keeps both sums below 2^63) */
        const uint64_t v = (uint64_t)(px * qty * B->num) + (uint64_t)B->dm1;
        const int64_t nn = (int64_t)((uint64_t)(((unsigned __int128)v * B->mag) >> 63) >> B->sh2);
        if (__builtin_expect((uint64_t)nn - (uint64_t)B->nlo > B->nrange, 0)) break;
        const uint64_t u = (uint64_t)(nn * E->bps) + 9999u; /* (bps 0: margin 0) */
        int64_t mg = (int64_t)((uint64_t)(((unsigned __int128)u * SQ_RK_DIV10K_M) >> 64) >> 13);
        int64_t reducing = 0;
        if (!flat && __builtin_expect((fl >> 40) & 1, 0)) { /* not flat: the reducing test (live working quantity) */
            const sq_rk_inst *IN = &inst[(uint32_t)w];
            reducing = sq_rk_reducing(IN->net_pos, (&IN->open_buy)[sd], qty, (int)sd + 1);
            if (reducing) mg = 0;
        }
        sq_rk_ring *R = E->ring;
        if (ringchk && __builtin_expect(!sq_rk_ring_allows(R, ts), 0)) break;
        sq_rk_order *o = &win[id & wmask];
        if (__builtin_expect(o->id != 0, 0)) break;
        /* accepted */
        mx[0] = id; /* (no duplicate window: a scratch ring) */
        mx[1] = ts;
        mx += 2;
        o->id = id; o->price = px; o->leaves = qty; o->notional = nn; o->margin = mg;
        memcpy(&o->inst, &w, sizeof(w));
        const uint64_t flr = (uint64_t)fl | (uint64_t)reducing << 8; /* margin_free */
        memcpy(&o->side, &flr, sizeof(flr));
        sq_rk_ring_push(R, ts);
        if (lazy) {
            E->msgs++;
            SQ_RK_BTS(dirty, E->cell);
        } else {
            const int64_t c = (fl >> 32) & 63;
            sq_rk_cell *C = &cells[(c << 3) | (k & 7)];
            C->v[sd + 1] += qty; C->v[SQ_RK_CV_NEW]++; C->v[SQ_RK_CV_NOTIONAL] += nn; C->v[SQ_RK_CV_MARGIN] += mg;
            SQ_RK_BTS(dirty, c);
        }
        if (!flat && __builtin_expect((fl >> 40) & 1, 0)) (&inst[(uint32_t)w].open_buy)[sd] += qty;
        max_id = id;
        fb--;
    }
    k = x - m;
    F->max_id = max_id; F->nacc = fb0 - fb; F->ncx = (k - k0) - (fb0 - fb); F->rcx = F->ncx - pcx; F->dirty = dirty;
    return k;
}

/* the lean run with and without the order-rate ring's test (without: F->fb within sq_rk_ring_room), for tables with
 * non-flat instruments and without */
#define SQ_RK_FAST_RUN(name, ringchk, flat, lazy)                                                                   \
    static __attribute__((noinline)) SQ_RK_NOSLP int64_t name(sq_rk_fast *F, const sq_rk_msg *m, int64_t k,      \
                                                              int64_t n) {                                       \
        return sq_rk_fast_body(F, m, k, n, ringchk, flat, lazy);                                                   \
    }
SQ_RK_FAST_RUN(sq_rk_fast_run_rc, 1, 0, 0)
SQ_RK_FAST_RUN(sq_rk_fast_run_rc_flat, 1, 1, 0)
SQ_RK_FAST_RUN(sq_rk_fast_run, 0, 0, 0)
SQ_RK_FAST_RUN(sq_rk_fast_run_flat, 0, 1, 0)
SQ_RK_FAST_RUN(sq_rk_fast_run_rc_lazy, 1, 0, 1)
SQ_RK_FAST_RUN(sq_rk_fast_run_rc_flat_lazy, 1, 1, 1)
SQ_RK_FAST_RUN(sq_rk_fast_run_lazy, 0, 0, 1)
SQ_RK_FAST_RUN(sq_rk_fast_run_flat_lazy, 0, 1, 1)
#undef SQ_RK_FAST_RUN

/* After a lean run: the working quantity, notional, margin and open count of the orders it opened that are still
 * working go to bank b, and the message counts of its table entries to their cells' bank b. */
static __attribute__((noinline)) uint64_t sq_rk_fast_scan(sq_rk_order *win, int64_t wmask, sq_rk_cell *cells,
                                                        const int64_t *ids, int64_t nacc, int64_t live, int64_t b,
                                                        uint64_t dirty, sq_rk_fent *tab, int64_t ni, int64_t li) {
    /* the message counts of the table's entries (only the dirty cells' can be non-zero) */
    for (uint64_t d = dirty; d; d &= d - 1) {
        const int64_t c = __builtin_ctzll(d), s = c / ni, i = c % ni;
        sq_rk_fent *E = &tab[((s << li) | i) << 1];
        cells[(c << 3) | b].v[SQ_RK_CV_MSGS] += E[0].msgs + E[1].msgs;
        E[0].msgs = E[1].msgs = 0;
    }
    /* the run's accepted ids, newest first (ids[2i], as the run wrote them to the duplicate ring or the scratch ring):
     * an order the run opened that still works is in its window slot (a NEW whose slot is taken leaves the run); the
     * walk stops once the `live` ones are found (the usual: the last few), so it costs the run's NEWs at most, however
     * far apart their ids are */
    for (int64_t i = nacc - 1; live > 0 && i >= 0; i--) {
        const int64_t id = ids[2 * i];
        const sq_rk_order *o = &win[id & wmask];
        if (o->id != id) continue;
        live--;
        const int64_t c = (uint8_t)o->cell;
        sq_rk_cell *C = &cells[(c << 3) | b];
        C->v[o->side] += o->leaves; C->v[SQ_RK_CV_NOTIONAL] += o->notional; C->v[SQ_RK_CV_MARGIN] += o->margin;
        C->v[SQ_RK_CV_OPEN]++;
        dirty |= (uint64_t)1 << c;
    }
    return dirty;
}

/* Runs records [k, n) of a batch in order and returns the index of the first record it leaves to the caller
 * (n when none). Handled here: NEW, MODIFY, CANCEL, ACCEPTED, REJECTED, CANCELED; FILLED, MARK, REFERENCE,
 * BALANCE and unknown ops are left to the caller (they validate records and may call hooks), as is:
 * *pending = 1: record k was checked and rejected while audit != 0 (res[k] holds the reason; the caller calls
 * the audit hook and goes on at k + 1); *pending = 2: out of memory at record k. *pending = 0: record k was not
 * run. The results and state are those of the per-record calls, in the same order, one by one.
 *
 * The usual records take a specialised path: a NEW limit order (when neither the account's kill switch nor its
 * state blocks, which no record handled here can change) whose id is above every accepted id, whose strategy and
 * instrument are not blocked and that passes every check (an older order still working in its window slot is
 * moved to the overflow, as sq_rk_slot_new does); and a CANCELED of an order in the window. That path runs the same checks in the same order as sq_rk_check_new but only to accept: any
 * check that fails, and anything unusual (the duplicate ring full, out of memory), sends the record, untouched, to
 * the generic call, which decides it exactly. The batch's invariants (sizes, table pointers, account limits,
 * equity) are read once; the account's counters and the window's bookkeeping are kept in locals (no store
 * through a state pointer can alias them) and written back around every generic call and at the end. */
static int64_t sq_rk_process(sq_rk *rk, const sq_rk_msg *m, int64_t k, int64_t n, int16_t *res, int audit,
                             int *pending) {
    *pending = 0;
    /* the batch's invariants in locals (no store through a state pointer can change them) */
    const int64_t ni = rk->ni, ns = rk->ns, margin_on = rk->margin_on;
    int64_t wmask = rk->win_mask; /* (the window grows here only, and in generic calls: read again after them) */
    const int64_t dupw = rk->dup_window;
    sq_rk_inst *const inst = rk->inst;
    sq_rk_strat *const strat = rk->strat;
    sq_rk_pos *const pos = rk->pos;
    sq_rk_order *const win = rk->win;
    sq_rk_box *const box = rk->box;
    const int64_t gen = rk->box_gen; /* an envelope is valid while its gen is the configuration's epoch (nothing
                                        run here changes a configuration, a reference or a restriction) */
    const int fast = rk->killed == SQ_RK_KILL_OFF && rk->state == SQ_RK_ACTIVE;
    /* the account's running counters in locals, written back around every generic call and at the end */
    int64_t a_nopen = rk->n_open, a_notional = rk->open_notional, a_margin = rk->order_margin;
    int64_t max_id = rk->max_id, checks = rk->checks, win_n = rk->win_n, win_hi = rk->win_hi;
    int64_t mx_n = rk->mx_n, mx_head = rk->mx_head, mx_cap = rk->mx_cap, *mx = rk->mx;
#define SQ_RK_OUT() do { rk->n_open = a_nopen; rk->open_notional = a_notional; rk->order_margin = a_margin; \
        rk->max_id = max_id; rk->checks = checks; rk->win_n = win_n; rk->win_hi = win_hi; rk->mx_n = mx_n; } while (0)
#define SQ_RK_IN() do { a_nopen = rk->n_open; a_notional = rk->open_notional; a_margin = rk->order_margin; \
        max_id = rk->max_id; checks = rk->checks; win_n = rk->win_n; win_hi = rk->win_hi; mx_n = rk->mx_n; \
        wmask = rk->win_mask; \
        mx_head = rk->mx_head; mx_cap = rk->mx_cap; mx = rk->mx; } while (0)
    const int64_t a_max_open = rk->max_open, a_credit = rk->credit_limit;
    const int64_t equity = rk->balance + rk->unrealized, pos_margin = rk->pos_margin;
    /* headroom: how many more NEW orders accepted here cannot meet a stateful limit (sq_rk_headroom); recomputed
     * when used up (at most every 64 records while it is 0), dropped after any generic call that may add exposure
     * or messages (CANCELED only releases); never with more than 256 instruments + strategies */
    int64_t budget = 0, retry_at = ni + ns <= 256 ? k : INT64_MAX;
    /* banked deltas (sq_rk_cell): used while budget > 0 when there are few cells; `dirty` has a bit per cell with
     * deltas, `bk_lo` is the first record that may have banked some (banks used: those of records bk_lo .. k) */
    sq_rk_cell *const cells = rk->cells;
    const int64_t bmode = cells != NULL;
    uint64_t dirty = 0;
    int64_t bk_lo = k;
    /* the lean run: entered at records >= fast_at while budget > 0 (never without cells or when the account blocks) */
    sq_rk_fast F;
    int64_t fast_at = bmode && fast ? k : INT64_MAX, ftab_ready = 0;
#define SQ_RK_FLUSH() do { if (dirty) { \
        const int64_t nb_ = k - bk_lo; \
        unsigned bm_ = nb_ >= SQ_RK_BANKS ? 0xffu : (((1u << nb_) - 1u) << (bk_lo & 7)); \
        sq_rk_acct_delta d_ = sq_rk_bank_flush(rk, dirty, (bm_ | (bm_ >> 8)) & 0xffu); \
        a_nopen += d_.n_open; a_notional += d_.notional; a_margin += d_.margin; dirty = 0; } } while (0)
    for (; k < n; k++) {
        if (budget > 0 && k >= fast_at) {
            if (!ftab_ready) {
                sq_rk_fast_table(rk, &F);
                F.win = win; F.cells = cells; F.inst = inst;
                F.lazy = rk->run_new > 0 && 2 * rk->run_rcx >= rk->run_new;
                ftab_ready = 1;
            }
            if (!dirty) bk_lo = k;
            F.fb = budget;
            if (dupw > 0) { /* the ring's room up to its wrap */
                const int64_t j0 = (mx_head + mx_n) & (mx_cap - 1), room = mx_cap - j0 < mx_cap - mx_n ? mx_cap - j0 : mx_cap - mx_n;
                F.mx = mx + 2 * j0;
                if (room < F.fb) F.fb = room;
            } else { /* no window: the run's stores go to a scratch ring */
                F.mx = rk->mx_scratch;
                if (SQ_RK_MX_SCRATCH < F.fb) F.fb = SQ_RK_MX_SCRATCH;
            }
            F.max_id = max_id; F.dirty = dirty; F.wmask = wmask;
            const int64_t k0 = k, rroom = sq_rk_ring_room(rk);
            if (rroom >= 16) { /* every ring allows the next rroom orders: no ring test in the run */
                if (rroom < F.fb) F.fb = rroom;
                if (F.lazy)
                    k = F.nonflat ? sq_rk_fast_run_lazy(&F, m, k, n) : sq_rk_fast_run_flat_lazy(&F, m, k, n);
                else
                    k = F.nonflat ? sq_rk_fast_run(&F, m, k, n) : sq_rk_fast_run_flat(&F, m, k, n);
            } else {
                if (F.lazy)
                    k = F.nonflat ? sq_rk_fast_run_rc_lazy(&F, m, k, n) : sq_rk_fast_run_rc_flat_lazy(&F, m, k, n);
                else
                    k = F.nonflat ? sq_rk_fast_run_rc(&F, m, k, n) : sq_rk_fast_run_rc_flat(&F, m, k, n);
            }
            const int64_t a = F.nacc;
            if (a > 0 && F.lazy)
                F.dirty = sq_rk_fast_scan(win, wmask, cells, F.mx, a, a - F.rcx, k0 & 7, F.dirty, F.tab, ni, F.li);
            rk->run_new += a; rk->run_rcx += F.rcx;
            if (rk->run_new > ((int64_t)1 << 20)) { rk->run_new >>= 1; rk->run_rcx >>= 1; }
            F.lazy = 2 * rk->run_rcx >= rk->run_new;
            budget -= a; checks += a; win_n += a - F.ncx; max_id = F.max_id; dirty = F.dirty;
            if (a > 0) win_hi = max_id;
            if (dupw > 0) mx_n += a;
            fast_at = k == k0 ? k + 16 : k + 1; /* the record it left, here; back off when it took none */
            if (k >= n) break;
        }
        const sq_rk_msg *x = &m[k];
        int r;
        if (x->op == SQ_RK_OP_CANCELED) {
            int64_t id = x->order_id;
            sq_rk_order *o = &win[id & wmask];
            if (o->id == id && id > 0) {
                if (budget > 0 && bmode) {
                    const int64_t c = (int64_t)o->strat * ni + o->inst, sd = o->side - 1, q = o->leaves;
                    sq_rk_cell *C = &cells[c * SQ_RK_BANKS + (k & (SQ_RK_BANKS - 1))];
                    C->v[sd + 1] -= q; C->v[SQ_RK_CV_GONE]++;
                    C->v[SQ_RK_CV_NOTIONAL] -= o->notional; C->v[SQ_RK_CV_MARGIN] -= o->margin;
                    dirty |= (uint64_t)1 << c;
                    sq_rk_inst *IN = &inst[o->inst];
                    if (IN->net_pos != 0) (&IN->open_buy)[sd] -= q; /* not flat: kept live (the reducing test) */
                    o->id = 0;
                    win_n--;
                    res[k] = 0;
                    continue;
                }
                sq_rk_inst *IN = &inst[o->inst];
                sq_rk_strat *S = &strat[o->strat];
                sq_rk_pos *P = &pos[(int64_t)o->strat * ni + o->inst];
                int64_t q = o->leaves;
                S->open_notional -= o->notional;
                a_notional -= o->notional;
                a_margin -= o->margin;
                if (o->side == 1) { IN->open_buy -= q; P->open_buy -= q; }
                else { IN->open_sell -= q; P->open_sell -= q; }
                IN->n_open--; S->n_open--; a_nopen--;
                o->id = 0;
                win_n--;
                res[k] = 0;
                continue;
            }
            SQ_RK_FLUSH();
            SQ_RK_OUT();
            res[k] = (int16_t)sq_rk_on_done_in(rk, id);
            SQ_RK_IN();
            continue;
        }
        if (x->op == SQ_RK_OP_NEW && fast) {
            int64_t i = x->instrument, s = x->strategy, px = x->price, qty = x->qty, id = x->order_id, ts = x->ts;
            int side = x->side;
            /* branches (cmp + jcc fuse; always taken the same way on the usual records) */
            if ((uint64_t)i >= (uint64_t)ni || (uint64_t)s >= (uint64_t)ns || (unsigned)(side - 1) > 1u ||
                id <= max_id)
                goto generic;
            sq_rk_inst *IN = &inst[i];
            sq_rk_strat *S = &strat[s];
            sq_rk_box *B = &box[i];
            if (S->killed || S->state) goto generic;
            if (B->gen != gen) sq_rk_box_build(rk, B, IN, gen);
            int64_t nn, mg = 0;
            const int sd = side - 1;
            const int inbox = B->ok[sd] && (uint64_t)px - (uint64_t)B->plo[sd] <= B->prange[sd] &&
                              (uint64_t)qty - (uint64_t)B->qlo <= B->qrange;
            if (inbox) {
                /* well-formed, not restricted, tick, lot, min/max quantity and collar hold; no overflow below */
                const uint64_t v = (uint64_t)(px * qty * B->num) + (uint64_t)B->dm1;
                nn = (int64_t)((uint64_t)(((unsigned __int128)v * B->mag) >> 63) >> B->sh2);
            } else {
                if ((qty <= 0) | (px <= 0) | (IN->restricted != 0)) goto generic;
                if ((IN->tick != 1 && px % IN->tick != 0) | (IN->lot != 1 && qty % IN->lot != 0)) goto generic;
                if ((qty < IN->min_qty) | (qty > IN->max_qty)) goto generic;
                if (IN->collar_unit != SQ_RK_COLLAR_OFF) {
                    int64_t lo = side == 1 ? IN->buy_lo : IN->sell_lo, hi = side == 1 ? IN->buy_hi : IN->sell_hi;
                    if ((IN->ref <= 0) | (px < lo) | (px > hi)) goto generic;
                }
                nn = sq_rk_notional(IN, px, qty);
            }
            /* in the box's notional range (every strategy's maximum), or the three bounds one by one */
            if ((!inbox || (uint64_t)nn - (uint64_t)B->nlo > B->nrange) &&
                ((nn < IN->min_notional) | (nn > IN->max_notional) | (nn > S->max_notional)))
                goto generic;
            int64_t ob = IN->open_buy, os = IN->open_sell, np = IN->net_pos;
            const int reducing = np != 0 && sq_rk_reducing(np, side == 1 ? ob : os, qty, side); /* flat: never */
            if (margin_on && !reducing) {
                if (inbox) { /* nn * bps fits in int64 (the box's bound) */
                    uint64_t u = (uint64_t)(nn * B->bps), q = (uint64_t)(((unsigned __int128)u * SQ_RK_DIV10K_M) >> 77);
                    mg = (int64_t)(q + (q * 10000u != u));
                } else {
                    mg = sq_rk_margin_of(IN, nn);
                }
            }
            int bank = 0;
            if (budget > 0) {
                budget--; /* open counts, credit, position, margin and OTR cannot reject this order */
                bank = (int)bmode;
            } else {
                if (dirty) { /* the checks below read the live counters */
                    SQ_RK_FLUSH();
                    ob = IN->open_buy; os = IN->open_sell;
                }
                if ((S->n_open >= S->max_open) | (IN->n_open >= IN->max_open) | (a_nopen >= a_max_open))
                    goto generic;
                if ((S->open_notional + nn > S->credit_limit) | (a_notional + nn > a_credit)) goto generic;
                if (side == 1 ? np + ob + qty > IN->max_net : -(np - os - qty) > IN->max_net) goto generic;
                if (IN->gross_pos + ob + os + qty > IN->max_gross) goto generic;
                if (margin_on && a_margin + pos_margin + mg > equity) goto generic;
                if (S->msgs >= S->otr_at) goto generic;
                if (k >= retry_at) {
                    SQ_RK_OUT();
                    budget = sq_rk_headroom(rk);
                    retry_at = budget > 0 ? k : k + 64;
                    bk_lo = k + 1; /* nothing banked (flushed above); the records after this one may bank */
                    if (budget > 0) budget--; /* this order: its checks just passed, and it is counted */
                }
            }
            if (!sq_rk_ring_allows(&S->orders, ts)) goto generic;
            sq_rk_order *o = &win[id & wmask];
            if (o->id != 0 && wmask < rk->win_max) { /* an older order still working in this slot: a wider window */
                sq_rk_win_grow(rk, id);
                wmask = rk->win_mask;
                o = &win[id & wmask];
            }
            if (o->id != 0) {
                /* an older order still working in this slot (its id is below max_id < id) and the window at its
                 * size: moved to the overflow, the last step that can fail (out of memory: the generic call reports
                 * it), nothing else changed */
                if (sq_rk_evict(rk, o) != 0) goto generic;
            } else {
                win_n++;
            }
            /* accepted */
            if (dupw > 0) {
                if (mx_n < mx_cap) {
                    int64_t j = (mx_head + mx_n) & (mx_cap - 1);
                    mx[2 * j] = id;
                    mx[2 * j + 1] = ts;
                    mx_n++;
                } else { /* the ring is full: expire, grow, push, as sq_rk_check_new's sq_rk_mx_push does here */
                    rk->mx_n = mx_n;
                    const int fail = sq_rk_mx_push_slow(rk, id, ts);
                    mx_n = rk->mx_n; mx_head = rk->mx_head; mx_cap = rk->mx_cap; mx = rk->mx;
                    if (fail) { /* out of memory: the state sq_rk_check_new leaves (the slot taken), reported */
                        o->id = id;
                        SQ_RK_FLUSH();
                        SQ_RK_OUT();
                        *pending = 2;
                        return k;
                    }
                }
            }
            checks++;
            max_id = id;
            win_hi = id; /* id > max_id >= every id in the window */
            o->id = id; o->price = px; o->leaves = qty;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            { /* inst and strat in one store, side, margin_free, market = 0, acked = 0 in another */
                uint64_t w_is; /* the record's instrument and strategy, as they lie in it */
                memcpy(&w_is, &x->instrument, sizeof(w_is));
                const uint64_t w_fl = (uint64_t)side | (uint64_t)reducing << 8 | (uint64_t)(s * ni + i) << 32;
                memcpy(&o->inst, &w_is, sizeof(w_is));
                memcpy(&o->side, &w_fl, sizeof(w_fl));
            }
#else
            o->inst = (int32_t)i; o->strat = (int32_t)s;
            o->side = (int8_t)side; o->margin_free = (int8_t)reducing; o->market = 0; o->acked = 0;
            o->cell = (int32_t)(s * ni + i);
#endif
            o->notional = nn; o->margin = mg;
            sq_rk_ring_push(&S->orders, ts);
            res[k] = 0;
            if (bank) {
                const int64_t c = s * ni + i;
                sq_rk_cell *C = &cells[c * SQ_RK_BANKS + (k & (SQ_RK_BANKS - 1))];
                C->v[sd + 1] += qty; C->v[SQ_RK_CV_NEW]++; C->v[SQ_RK_CV_NOTIONAL] += nn; C->v[SQ_RK_CV_MARGIN] += mg;
                dirty |= (uint64_t)1 << c;
                if (np != 0) (&IN->open_buy)[sd] = (sd ? os : ob) + qty; /* not flat: kept live */
                continue;
            }
            sq_rk_pos *P = &pos[s * ni + i];
            if (side == 1) { IN->open_buy = ob + qty; P->open_buy += qty; }
            else { IN->open_sell = os + qty; P->open_sell += qty; }
            IN->n_open++; S->n_open++; a_nopen++;
            S->open_notional += nn; a_notional += nn;
            a_margin += mg;
            S->msgs++;
            continue;
        }
    generic:
        SQ_RK_FLUSH();
        SQ_RK_OUT();
        budget = 0;
        switch (x->op) {
        case SQ_RK_OP_NEW:
            r = sq_rk_check_new(rk, x->instrument, x->strategy, x->side, x->price, x->qty, x->ts, x->order_id);
            if (r < 0) { *pending = 2; return k; }
            break;
        case SQ_RK_OP_MODIFY:
            r = sq_rk_check_modify(rk, x->order_id, x->price, x->qty, x->ts);
            break;
        case SQ_RK_OP_CANCEL:
            r = sq_rk_check_cancel(rk, x->order_id, x->ts);
            break;
        case SQ_RK_OP_ACCEPTED:
            res[k] = (int16_t)sq_rk_on_accepted(rk, x->order_id);
            SQ_RK_IN();
            continue;
        case SQ_RK_OP_REJECTED:
            res[k] = (int16_t)sq_rk_on_done(rk, x->order_id);
            SQ_RK_IN();
            continue;
        default:
            return k;
        }
        SQ_RK_IN();
        res[k] = (int16_t)r;
        if (r != 0 && audit) { *pending = 1; return k; }
    }
    SQ_RK_FLUSH();
    SQ_RK_OUT();
    return n;
#undef SQ_RK_OUT
#undef SQ_RK_IN
#undef SQ_RK_FLUSH
}

#endif /* SQ_RISK_H */
