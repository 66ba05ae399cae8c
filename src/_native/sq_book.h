/*
 * sq_book.h: the L2 (market-by-price) order book core behind shrivenquant._native.book.
 *
 * Prices and quantities are raw int64 at the instrument's price / size precision. Each side works in
 * "key" space, key = dir * price with dir = -1 for bids and +1 for asks, so that on both sides a smaller
 * key is a better level. Every key is a multiple of the tick (raw units). The structure was chosen by
 * replaying the real Binance streams (docs/order-book.md has the figures):
 *
 *   - a dense ring-buffer *window* of W ticks (W a power of two) that starts W/8 ticks better than the
 *     best level: a 32-bit quantity per tick (0 = no level; quantities >= 2^32 - 1 are kept exactly in a
 *     small per-side escape table, the slot holding SQ_BK_ESC), an occupancy bitmap and a summary bitmap (one bit
 *     per non-zero bitmap word) that finds the next level in a few word operations. The best level is
 *     always in the window, at logical index `best`, and the top is cached (top_px, top_qty): reading it
 *     is one load. An update inside the window is O(1) and branch-free behind the top. Moving the window
 *     ("recentring") costs O(levels that enter or leave it), never O(W), because the buffer is a ring.
 *   - an *overflow* for the levels worse than the window: a sorted list of blocks of up to B = 64
 *     (key, qty) pairs under a flat directory (last key, count, pointer per block) searched by branch-free
 *     bisection, with the block the side's previous overflow update found, then the first and last blocks
 *     (next to the window; the far levels) tried first; inside a block two rounds of independent compares
 *     (groups of 8 keys, then the keys of one group) replace a chain of dependent loads. Insert
 *     and delete move at most B entries. With three or more blocks each block holds at least
 *     L0 = floor((2B+1)/3) = 43 levels (regrouping with neighbours keeps it so): <= 26.2 bytes per level
 *     with the directory.
 *
 * Memory: each side keeps window + overflow + escape table within 32 bytes per live level of that side plus
 * a fixed SQ_BK_SIDE_FIXED bytes (a 64-tick window, two part-filled blocks, a small directory, an 8-entry
 * escape table). The window grows
 * (doubles) while that budget allows it with 1/8 to spare and levels wait in the overflow, and halves as
 * soon as the budget is exceeded. So memory_bytes() <= 32 * levels + 2 * SQ_BK_SIDE_FIXED + sizeof(sq_bk).
 *
 * Functions return SQ_BK_OK (0) or an SQ_BK_E* status. Allocation happens only when the window resizes,
 * a block splits, the directory or the escape table grows (amortised, never per update); after SQ_BK_ENOMEM
 * the book must be cleared before further use. sq_bk_apply_events_2t applies a batch's bids and asks on
 * two threads with exactly the sequential result (see there).
 */
#ifndef SQ_BOOK_H
#define SQ_BOOK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <pthread.h>
#include <unistd.h>
#define SQ_BK_THREADS 1
#endif

#include "sq_event.h"

#ifndef SQ_BK_B
#define SQ_BK_B 64 /* overflow block capacity, levels */
#endif
#define SQ_BK_L0 ((2 * SQ_BK_B + 1) / 3) /* minimum levels per block when there are >= 3 blocks */
#ifndef SQ_BK_WMIN
#define SQ_BK_WMIN 64 /* smallest window, ticks */
#endif
#define SQ_BK_WMAX (1 << 22)                 /* largest window, ticks (32 MiB of quantities) */
#define SQ_BK_NULL INT64_MIN                 /* = SQ_RAW_NULL */
#define SQ_BK_TICK_MAX (((int64_t)1) << 56) /* W * tick must stay <= 2^62 */
#define SQ_BK_BUDGET 32                      /* bytes per live level */
#define SQ_BK_DIR_ENTRY ((int64_t)(sizeof(void *) + sizeof(int64_t) + sizeof(int32_t)))
#define SQ_BK_ESC 0xFFFFFFFFu /* window slot value: the quantity (>= 2^32 - 1) is in the escape table */
#define SQ_BK_ECAP_MIN 8      /* smallest escape table, entries */
#define SQ_BK_ESC_ENTRY ((int64_t)(sizeof(uint32_t) + sizeof(int64_t)))

#define SQ_BK_INLINE static inline __attribute__((always_inline))
#define SQ_BK_COLD static __attribute__((noinline))

#ifndef SQ_BK_PF
#define SQ_BK_PF 16 /* records read ahead in apply_events */
#endif

#define SQ_BK_OK 0
#define SQ_BK_ENOMEM 1
#define SQ_BK_ETICK 2  /* price not a multiple of the tick */
#define SQ_BK_ESIDE 3  /* side not 1 (bid) or 2 (ask) (CLEAR: not 0, 1 or 2) */
#define SQ_BK_EQTY 4   /* negative quantity (RAW_NULL included) */
#define SQ_BK_EPRICE 5 /* price is RAW_NULL */

typedef struct {
    int64_t key[SQ_BK_B];
    int64_t qty[SQ_BK_B];
} sq_bk_blk;

typedef struct {
    /* window: ring of W ticks; logical index i <-> key base + i*tick, physical slot (head + i) & (W-1) */
    uint32_t *wq;      /* quantities, W slots, 0 = no level, SQ_BK_ESC = in the escape table */
    uint64_t *wb;      /* occupancy bitmap, W/64 words */
    uint64_t *ws;      /* summary: bit (w & 63) of ws[w >> 6] set iff wb[w] != 0 */
    int64_t base;      /* key at logical index 0 (a multiple of the tick) */
    uint64_t span;     /* W * tick */
    int64_t W;         /* window length, ticks (power of two) */
    int64_t head;      /* physical slot of logical index 0 */
    int64_t nwin;      /* levels in the window */
    int64_t best;      /* logical index of the best level; W when the side is empty */
    int64_t grow_at;   /* resize when nwin >= grow_at ... */
    int64_t shrink_at; /* ... or nwin < shrink_at (memory budget, see sq_bk_limits) */
    /* overflow: levels worse than the window, ascending keys, all >= base + span */
    sq_bk_blk **blk;
    int64_t *blast; /* last (largest) key of each block */
    int32_t *bn;    /* levels in each block */
    int64_t nblk, capblk;
    int64_t nov;  /* levels in the overflow */
    int64_t hint; /* the block the last overflow update found (far updates come in runs on one block) */
    /* escape table: the window quantities >= SQ_BK_ESC, by physical slot (open addressing, linear probing) */
    uint32_t *ek;       /* physical slot + 1 of each entry, 0 = empty */
    int64_t *ev;        /* the quantity of each entry */
    int64_t ecap, ecnt; /* capacity (0 or a power of two >= SQ_BK_ECAP_MIN), entries */
    int64_t novesc;     /* overflow levels with a quantity >= SQ_BK_ESC (they would be escaped in the window) */
    /* cached top of this side */
    int64_t top_px, top_qty; /* SQ_BK_NULL when the side is empty */
    int64_t dir;             /* -1 bids, +1 asks */
    char pad_[64];           /* the two sides' hot fields never share a cache line (two-thread batches) */
} sq_bk_side;

typedef struct {
    sq_bk_side s[2]; /* 0 = bids, 1 = asks */
    int64_t tick;    /* raw tick, 1 .. SQ_BK_TICK_MAX */
    uint64_t magic;  /* off / tick == ((off * magic) >> 64) >> shift for 0 <= off < 2^62, tick >= 2 */
    int shift;
    int64_t wmax;
} sq_bk;

/* ------------------------------------------------------------------------------------------ helpers */

static inline uint64_t sq_bk_div(const sq_bk *bk, uint64_t off) {
    if (bk->tick == 1) return off;
    return (uint64_t)(((unsigned __int128)off * bk->magic) >> 64) >> bk->shift;
}

/* key (>= base of the window, a valid int64 key) is a multiple of the tick */
static inline int sq_bk_on_tick_from(const sq_bk *bk, int64_t key, int64_t base) {
    uint64_t off = (uint64_t)key - (uint64_t)base;
    if (off < ((uint64_t)1 << 62)) return sq_bk_div(bk, off) * (uint64_t)bk->tick == off;
    return key % bk->tick == 0;
}

static inline int64_t sq_bk_slot(const sq_bk_side *s, int64_t i) { return (s->head + i) & (s->W - 1); }

static inline void sq_bk_bit_set(sq_bk_side *s, int64_t p) {
    int64_t w = p >> 6;
    s->wb[w] |= 1ULL << (p & 63);
    s->ws[w >> 6] |= 1ULL << (w & 63);
}

static inline void sq_bk_bit_clr(sq_bk_side *s, int64_t p) {
    int64_t w = p >> 6;
    uint64_t v = s->wb[w] & ~(1ULL << (p & 63));
    s->wb[w] = v;
    if (!v) s->ws[w >> 6] &= ~(1ULL << (w & 63));
}

/* First set physical bit in [from, to), or -1. */
static inline int64_t sq_bk_phys_next(const sq_bk_side *s, int64_t from, int64_t to) {
    if (from >= to) return -1;
    int64_t w = from >> 6;
    uint64_t v = s->wb[w] & (~0ULL << (from & 63));
    if (!v) {
        int64_t wend = (to + 63) >> 6; /* words [w+1, wend) */
        w++;
        for (;;) {
            if (w >= wend) return -1;
            int64_t sw = w >> 6;
            uint64_t m = s->ws[sw] & (~0ULL << (w & 63));
            if (m) {
                w = (sw << 6) + __builtin_ctzll(m);
                if (w >= wend) return -1;
                v = s->wb[w];
                break;
            }
            w = (sw + 1) << 6;
        }
    }
    int64_t r = (w << 6) + __builtin_ctzll(v);
    return r < to ? r : -1;
}

/* First occupied logical index >= i, or W. */
static inline int64_t sq_bk_win_next(const sq_bk_side *s, int64_t i) {
    if (i >= s->W || s->nwin == 0) return s->W;
    int64_t p = sq_bk_slot(s, i), q;
    if (p >= s->head) {
        q = sq_bk_phys_next(s, p, s->W);
        if (q < 0) q = sq_bk_phys_next(s, 0, s->head);
    } else {
        q = sq_bk_phys_next(s, p, s->head);
    }
    return q < 0 ? s->W : ((q - s->head) & (s->W - 1));
}

/* ------------------------------------------------------------------------------------------ escape table */

/* Window slots are 32-bit: a quantity < SQ_BK_ESC is stored in the slot; a larger one (rare: 2^32 - 1 raw
 * units and up) stores SQ_BK_ESC in the slot and the exact int64 in the side's escape table, keyed by the
 * physical slot (a level keeps its physical slot while the ring moves; a resize re-places every level).
 * Linear probing with backward-shift deletion; the table doubles above 7/8 load and halves below 3/8, so
 * it holds at most 8/3 entries (32 bytes) per escaped level beyond its smallest size. */

static inline int64_t sq_bk_esc_idx(const sq_bk_side *s, int64_t p) {
    return (int64_t)(((uint64_t)(p + 1) * 0x9E3779B97F4A7C15ULL) >> 32) & (s->ecap - 1);
}

/* Table index of physical slot p, or -1. */
static inline int64_t sq_bk_esc_find(const sq_bk_side *s, int64_t p) {
    if (!s->ecap) return -1;
    uint32_t want = (uint32_t)(p + 1);
    for (int64_t j = sq_bk_esc_idx(s, p);; j = (j + 1) & (s->ecap - 1)) {
        if (s->ek[j] == want) return j;
        if (!s->ek[j]) return -1;
    }
}

static void sq_bk_esc_free(sq_bk_side *s) {
    free(s->ek);
    free(s->ev);
    s->ek = NULL;
    s->ev = NULL;
    s->ecap = s->ecnt = 0;
}

/* Rebuild the table at capacity cap (a power of two > ecnt). */
static int sq_bk_esc_rehash(sq_bk_side *s, int64_t cap) {
    uint32_t *ek = (uint32_t *)calloc((size_t)cap, sizeof(uint32_t));
    int64_t *ev = (int64_t *)malloc((size_t)cap * sizeof(int64_t));
    if (!ek || !ev) {
        free(ek);
        free(ev);
        return SQ_BK_ENOMEM;
    }
    uint32_t *ok = s->ek;
    int64_t *ov = s->ev, ocap = s->ecap;
    s->ek = ek;
    s->ev = ev;
    s->ecap = cap;
    for (int64_t j = 0; j < ocap; j++) {
        if (!ok[j]) continue;
        int64_t i = sq_bk_esc_idx(s, (int64_t)ok[j] - 1);
        while (ek[i]) i = (i + 1) & (cap - 1);
        ek[i] = ok[j];
        ev[i] = ov[j];
    }
    free(ok);
    free(ov);
    return SQ_BK_OK;
}

/* Set the escaped quantity of physical slot p (adding the entry if new). */
static int sq_bk_esc_put(sq_bk_side *s, int64_t p, int64_t qty) {
    int64_t j = sq_bk_esc_find(s, p);
    if (j >= 0) {
        s->ev[j] = qty;
        return SQ_BK_OK;
    }
    if ((s->ecnt + 1) * 8 > s->ecap * 7) {
        int st = sq_bk_esc_rehash(s, s->ecap ? 2 * s->ecap : SQ_BK_ECAP_MIN);
        if (st != SQ_BK_OK) return st;
    }
    j = sq_bk_esc_idx(s, p);
    while (s->ek[j]) j = (j + 1) & (s->ecap - 1);
    s->ek[j] = (uint32_t)(p + 1);
    s->ev[j] = qty;
    s->ecnt++;
    return SQ_BK_OK;
}

/* Remove physical slot p's entry (it must be there); never fails (a failed shrink keeps the table). */
static void sq_bk_esc_del(sq_bk_side *s, int64_t p) {
    int64_t m = s->ecap - 1, j = sq_bk_esc_find(s, p);
    if (j < 0) return;
    for (int64_t k = (j + 1) & m; s->ek[k]; k = (k + 1) & m) { /* backward shift */
        int64_t h = sq_bk_esc_idx(s, (int64_t)s->ek[k] - 1);
        if (((k - h) & m) >= ((k - j) & m)) { /* k's home is not in (j, k]: it may move to j */
            s->ek[j] = s->ek[k];
            s->ev[j] = s->ev[k];
            j = k;
        }
    }
    s->ek[j] = 0;
    s->ecnt--;
    if (s->ecnt == 0) sq_bk_esc_free(s);
    else if (s->ecap > SQ_BK_ECAP_MIN && s->ecnt * 8 < s->ecap * 3) sq_bk_esc_rehash(s, s->ecap / 2);
}

/* The quantity in physical window slot p (0: no level). */
static inline int64_t sq_bk_wget(const sq_bk_side *s, int64_t p) {
    uint32_t v = s->wq[p];
    return v != SQ_BK_ESC ? (int64_t)v : s->ev[sq_bk_esc_find(s, p)];
}

/* Store qty (>= 0) in physical window slot p (the occupancy bits are the caller's). */
static inline int sq_bk_wput(sq_bk_side *s, int64_t p, int64_t qty) {
    if ((uint64_t)qty < SQ_BK_ESC) {
        if (s->wq[p] == SQ_BK_ESC) sq_bk_esc_del(s, p);
        s->wq[p] = (uint32_t)qty;
        return SQ_BK_OK;
    }
    int st = sq_bk_esc_put(s, p, qty);
    if (st == SQ_BK_OK) s->wq[p] = SQ_BK_ESC;
    return st;
}

/* ------------------------------------------------------------------------------------------ top */

static inline void sq_bk_set_top(sq_bk_side *s, int64_t tick) {
    if (s->nwin) {
        s->top_px = s->dir * (s->base + s->best * tick);
        s->top_qty = sq_bk_wget(s, sq_bk_slot(s, s->best));
    } else {
        s->top_px = SQ_BK_NULL;
        s->top_qty = SQ_BK_NULL;
    }
}

/* The largest multiple of the tick that is <= key - n*tick and > INT64_MIN (key a multiple of tick). */
static inline int64_t sq_bk_base_for(const sq_bk *bk, int64_t key, int64_t n) {
    __int128 b = (__int128)key - (__int128)n * bk->tick;
    __int128 lo = (__int128)((INT64_MIN + 1) / bk->tick) * bk->tick; /* truncation: a multiple > INT64_MIN */
    return (int64_t)(b < lo ? lo : b);
}

/* ------------------------------------------------------------------------------------------ memory */

static inline int64_t sq_bk_win_bytes(int64_t W) {
    int64_t nw = W >> 6;
    return W * (int64_t)sizeof(uint32_t) + nw * 8 + ((nw + 63) >> 6) * 8;
}

static inline int64_t sq_bk_ov_bytes(const sq_bk_side *s) {
    return s->nblk * (int64_t)sizeof(sq_bk_blk) + s->capblk * SQ_BK_DIR_ENTRY + s->ecap * SQ_BK_ESC_ENTRY;
}

/* Fixed allowance per side: the minimum window, two part-filled blocks, a 16-entry directory, the smallest
 * escape table. */
#define SQ_BK_SIDE_FIXED                                                                                      \
    (sq_bk_win_bytes(SQ_BK_WMIN) + 2 * (int64_t)sizeof(sq_bk_blk) + 16 * SQ_BK_DIR_ENTRY +                  \
     SQ_BK_ECAP_MIN * SQ_BK_ESC_ENTRY)

static inline int64_t sq_bk_side_bytes(const sq_bk_side *s) { return sq_bk_win_bytes(s->W) + sq_bk_ov_bytes(s); }

/* The capacity of an escape table built from scratch with c entries. */
static inline int64_t sq_bk_esc_cap_for(int64_t c) {
    int64_t cap = c ? SQ_BK_ECAP_MIN : 0;
    while (c * 8 > cap * 7) cap *= 2;
    return cap;
}

static inline int64_t sq_bk_ceil32(int64_t x) { return x <= 0 ? -((-x) / SQ_BK_BUDGET) : (x + SQ_BK_BUDGET - 1) / SQ_BK_BUDGET; }

/* Resize thresholds on nwin from the memory budget: with L = nwin + nov levels the side may use
 * 32 * L + SQ_BK_SIDE_FIXED bytes. Shrink when the window breaks it; grow when a window twice as large
 * fits with 1/8 of it to spare and the overflow holds levels. */
static inline void sq_bk_limits(const sq_bk *bk, sq_bk_side *s) {
#ifdef SQ_BK_FIXED_WINDOW /* measurement hook: a window that never resizes */
    s->grow_at = INT64_MAX;
    s->shrink_at = INT64_MIN;
    return;
#endif
    int64_t ov = sq_bk_ov_bytes(s);
    s->shrink_at = s->W > SQ_BK_WMIN
                       ? sq_bk_ceil32(sq_bk_win_bytes(s->W) + ov - SQ_BK_SIDE_FIXED) - s->nov
                       : INT64_MIN;
    if (s->W < bk->wmax && s->nov > 0) {
        /* the grown window rebuilds the escape table; count it as if every escaped-size level came in */
        int64_t w2 = sq_bk_win_bytes(2 * s->W);
        int64_t esc2 = sq_bk_esc_cap_for(s->ecnt + s->novesc) * SQ_BK_ESC_ENTRY;
        s->grow_at = sq_bk_ceil32(w2 + w2 / 8 + ov - s->ecap * SQ_BK_ESC_ENTRY + esc2 - SQ_BK_SIDE_FIXED) - s->nov;
    } else {
        s->grow_at = INT64_MAX;
    }
}

static int sq_bk_win_alloc(sq_bk_side *s, int64_t W, int64_t tick) {
    int64_t nw = W >> 6, ns = (nw + 63) >> 6;
    uint32_t *wq = (uint32_t *)calloc((size_t)W, sizeof(uint32_t));
    uint64_t *wb = (uint64_t *)calloc((size_t)nw, sizeof(uint64_t));
    uint64_t *ws = (uint64_t *)calloc((size_t)ns, sizeof(uint64_t));
    if (!wq || !wb || !ws) {
        free(wq);
        free(wb);
        free(ws);
        return SQ_BK_ENOMEM;
    }
    free(s->wq);
    free(s->wb);
    free(s->ws);
    s->wq = wq;
    s->wb = wb;
    s->ws = ws;
    s->W = W;
    s->span = (uint64_t)W * (uint64_t)tick;
    s->head = 0;
    return SQ_BK_OK;
}

/* ------------------------------------------------------------------------------------------ overflow */

static inline int64_t sq_bk_ov_find(const sq_bk_side *s, int64_t key) {
    /* first block whose last key >= key; nblk if none */
    const int64_t *a = s->blast;
    int64_t n = s->nblk, lo = 0;
    if (n == 0) return 0;
    /* the hot blocks are the first (next to the window) and the last (far levels that keep changing) */
    if (key <= a[0]) return 0;
    if (key > a[n - 1]) return n;
    if (n >= 2 && key > a[n - 2]) return n - 1;
    while (n > 1) { /* branch-free bisection */
        int64_t half = n >> 1;
        lo = a[lo + half - 1] < key ? lo + half : lo;
        n -= half;
    }
    return lo + (a[lo] < key);
}

/* sq_bk_ov_find, trying the block the previous overflow update found first, then remembering the block. */
static inline int64_t sq_bk_ov_find_hint(sq_bk_side *s, int64_t key) {
    int64_t h = s->hint;
    if (h > 0 && h < s->nblk && key <= s->blast[h] && key > s->blast[h - 1]) return h;
    h = sq_bk_ov_find(s, key);
    s->hint = h;
    return h;
}

static inline int sq_bk_lower(const int64_t *k, int n, int64_t key) {
    /* first index with k[i] >= key, n if none (branch-free bisection) */
    int lo = 0;
    if (n == 0) return 0;
    while (n > 1) {
        int half = n >> 1;
        lo = k[lo + half - 1] < key ? lo + half : lo;
        n -= half;
    }
    return lo + (k[lo] < key);
}

/* First index of a block's keys (n of them, 1 <= n <= SQ_BK_B = 64) with k[i] >= key, n if none. Two
 * rounds of independent compares instead of a chain of dependent loads: count the groups of 8 whose last
 * key is < key, then the keys < key inside the next group (entries at i >= n do not count). */
static inline int sq_bk_blk_lower(const int64_t *k, int n, int64_t key) {
#if SQ_BK_B == 64
    int g = 0;
    for (int j = 7; j < SQ_BK_B; j += 8) g += (j < n) & (k[j] < key);
    g -= g >> 3; /* 8 groups below key: n = 64 and all 64 keys are < key; group 7 gives 8 */
    const int64_t *q = k + 8 * g;
    int c = 0, lim = n - 8 * g;
    for (int j = 0; j < 8; j++) c += (j < lim) & (q[j] < key);
    return 8 * g + c;
#else
    return sq_bk_lower(k, n, key);
#endif
}

static int sq_bk_dir_reserve(sq_bk_side *s, int64_t need) {
    if (need <= s->capblk) return SQ_BK_OK;
    int64_t cap = s->capblk ? s->capblk : 4;
    while (cap < need) cap *= 2;
    sq_bk_blk **blk = (sq_bk_blk **)realloc(s->blk, (size_t)cap * sizeof(*blk));
    if (!blk) return SQ_BK_ENOMEM;
    s->blk = blk;
    int64_t *blast = (int64_t *)realloc(s->blast, (size_t)cap * sizeof(*blast));
    if (!blast) return SQ_BK_ENOMEM;
    s->blast = blast;
    int32_t *bn = (int32_t *)realloc(s->bn, (size_t)cap * sizeof(*bn));
    if (!bn) return SQ_BK_ENOMEM;
    s->bn = bn;
    s->capblk = cap;
    return SQ_BK_OK;
}

static void sq_bk_dir_trim(sq_bk_side *s) {
    /* keep the directory within 4x the blocks in use (16 entries at least); free it when empty */
    if (s->nblk == 0) {
        free(s->blk);
        free(s->blast);
        free(s->bn);
        s->blk = NULL;
        s->blast = NULL;
        s->bn = NULL;
        s->capblk = 0;
        return;
    }
    while (s->capblk > 16 && s->nblk < s->capblk / 4) {
        int64_t cap = s->capblk / 2;
        sq_bk_blk **blk = (sq_bk_blk **)realloc(s->blk, (size_t)cap * sizeof(*blk));
        if (blk) s->blk = blk;
        int64_t *blast = (int64_t *)realloc(s->blast, (size_t)cap * sizeof(*blast));
        if (blast) s->blast = blast;
        int32_t *bn = (int32_t *)realloc(s->bn, (size_t)cap * sizeof(*bn));
        if (bn) s->bn = bn;
        if (!(blk && blast && bn)) return;
        s->capblk = cap;
    }
}

static void sq_bk_dir_remove(sq_bk_side *s, int64_t b) {
    free(s->blk[b]);
    int64_t tail = s->nblk - b - 1;
    memmove(&s->blk[b], &s->blk[b + 1], (size_t)tail * sizeof(s->blk[0]));
    memmove(&s->blast[b], &s->blast[b + 1], (size_t)tail * sizeof(s->blast[0]));
    memmove(&s->bn[b], &s->bn[b + 1], (size_t)tail * sizeof(s->bn[0]));
    s->nblk--;
    sq_bk_dir_trim(s);
}

/* Scratch for regrouping up to three full blocks plus one entry (on the caller's stack). */
typedef struct {
    int64_t key[3 * SQ_BK_B + 1];
    int64_t qty[3 * SQ_BK_B + 1];
} sq_bk_scratch;

/* Gather blocks [a, a+cnt) into sc, inserting (key, qty) at position pos of block ins_b (-1: none).
 * Returns the number of entries. */
static int64_t sq_bk_gather(const sq_bk_side *s, sq_bk_scratch *sc, int64_t a, int64_t cnt, int64_t ins_b,
                            int pos, int64_t key, int64_t qty) {
    int64_t t = 0;
    for (int64_t b = a; b < a + cnt; b++) {
        const sq_bk_blk *k = s->blk[b];
        int n = s->bn[b];
        if (b == ins_b) {
            memcpy(&sc->key[t], k->key, (size_t)pos * 8);
            memcpy(&sc->qty[t], k->qty, (size_t)pos * 8);
            t += pos;
            sc->key[t] = key;
            sc->qty[t] = qty;
            t++;
            memcpy(&sc->key[t], &k->key[pos], (size_t)(n - pos) * 8);
            memcpy(&sc->qty[t], &k->qty[pos], (size_t)(n - pos) * 8);
            t += n - pos;
        } else {
            memcpy(&sc->key[t], k->key, (size_t)n * 8);
            memcpy(&sc->qty[t], k->qty, (size_t)n * 8);
            t += n;
        }
    }
    return t;
}

/* Replace blocks [a, a+cnt) by k (<= 4) blocks holding the t entries of sc, evenly. */
static int sq_bk_scatter(sq_bk_side *s, const sq_bk_scratch *sc, int64_t a, int64_t cnt, int64_t t, int64_t k) {
    sq_bk_blk *fresh[4] = {NULL, NULL, NULL, NULL};
    if (k > cnt) {
        if (sq_bk_dir_reserve(s, s->nblk + (k - cnt)) != SQ_BK_OK) return SQ_BK_ENOMEM;
        for (int64_t j = 0; j < k - cnt; j++) {
            fresh[j] = (sq_bk_blk *)malloc(sizeof(sq_bk_blk));
            if (!fresh[j]) {
                for (int64_t m = 0; m < j; m++) free(fresh[m]);
                return SQ_BK_ENOMEM;
            }
        }
    }
    sq_bk_blk *ptrs[4];
    for (int64_t j = 0; j < k; j++) ptrs[j] = j < cnt ? s->blk[a + j] : fresh[j - cnt];
    for (int64_t j = k; j < cnt; j++) free(s->blk[a + j]);
    if (k != cnt) {
        int64_t tail = s->nblk - (a + cnt);
        memmove(&s->blk[a + k], &s->blk[a + cnt], (size_t)tail * sizeof(s->blk[0]));
        memmove(&s->blast[a + k], &s->blast[a + cnt], (size_t)tail * sizeof(s->blast[0]));
        memmove(&s->bn[a + k], &s->bn[a + cnt], (size_t)tail * sizeof(s->bn[0]));
        s->nblk += k - cnt;
    }
    int64_t off = 0;
    for (int64_t j = 0; j < k; j++) {
        int64_t n = t / k + (j < t % k);
        memcpy(ptrs[j]->key, &sc->key[off], (size_t)n * 8);
        memcpy(ptrs[j]->qty, &sc->qty[off], (size_t)n * 8);
        off += n;
        s->blk[a + j] = ptrs[j];
        s->bn[a + j] = (int32_t)n;
        s->blast[a + j] = ptrs[j]->key[n - 1];
    }
    if (k < cnt) sq_bk_dir_trim(s);
    return SQ_BK_OK;
}

/* Restore the block invariants around block b after it lost entries (never allocates). */
static void sq_bk_ov_tidy(sq_bk_side *s, int64_t b) {
    sq_bk_scratch sc;
    if (s->bn[b] == 0) {
        sq_bk_dir_remove(s, b);
        if (s->nblk == 0) return;
        if (b >= s->nblk) b = s->nblk - 1;
    }
    if (s->nblk >= 3) {
        if (s->bn[b] >= SQ_BK_L0) return;
        /* regroup b with two neighbours: they hold >= L0 each, so 2 or 3 blocks of >= L0 come out */
        int64_t a = b - 1;
        if (a < 0) a = 0;
        if (a > s->nblk - 3) a = s->nblk - 3;
        int64_t t = sq_bk_gather(s, &sc, a, 3, -1, 0, 0, 0);
        sq_bk_scatter(s, &sc, a, 3, t, (t + SQ_BK_B - 1) / SQ_BK_B);
    } else if (s->nblk == 2 && s->bn[0] + s->bn[1] <= SQ_BK_B) {
        int64_t t = sq_bk_gather(s, &sc, 0, 2, -1, 0, 0, 0);
        sq_bk_scatter(s, &sc, 0, 2, t, 1);
    }
}

/* Set key to qty (> 0) in the overflow. *added = 1 if the level is new. */
SQ_BK_COLD int sq_bk_ov_set(sq_bk_side *s, int64_t key, int64_t qty, int *added) {
    int64_t b = sq_bk_ov_find_hint(s, key);
    *added = 0;
    if (b == s->nblk) {
        if (b == 0) {
            if (sq_bk_dir_reserve(s, 1) != SQ_BK_OK) return SQ_BK_ENOMEM;
            sq_bk_blk *k = (sq_bk_blk *)malloc(sizeof(sq_bk_blk));
            if (!k) return SQ_BK_ENOMEM;
            k->key[0] = key;
            k->qty[0] = qty;
            s->blk[0] = k;
            s->bn[0] = 1;
            s->blast[0] = key;
            s->nblk = 1;
            s->nov++;
            s->novesc += (uint64_t)qty >= SQ_BK_ESC;
            *added = 1;
            return SQ_BK_OK;
        }
        b--;
    }
    sq_bk_blk *k = s->blk[b];
    int n = s->bn[b];
    int pos = sq_bk_blk_lower(k->key, n, key);
    if (pos < n && k->key[pos] == key) {
        s->novesc += (int64_t)((uint64_t)qty >= SQ_BK_ESC) - (int64_t)((uint64_t)k->qty[pos] >= SQ_BK_ESC);
        k->qty[pos] = qty;
        return SQ_BK_OK;
    }
    *added = 1;
    if (n < SQ_BK_B) {
        memmove(&k->key[pos + 1], &k->key[pos], (size_t)(n - pos) * 8);
        memmove(&k->qty[pos + 1], &k->qty[pos], (size_t)(n - pos) * 8);
        k->key[pos] = key;
        k->qty[pos] = qty;
        s->bn[b] = n + 1;
        if (pos == n) s->blast[b] = key;
        s->nov++;
        s->novesc += (uint64_t)qty >= SQ_BK_ESC;
        return SQ_BK_OK;
    }
    /* full block: regroup with up to two neighbours into 2..4 blocks (each >= L0 once there are 3+) */
    sq_bk_scratch sc;
    int64_t a, cnt;
    if (s->nblk < 3) {
        a = 0;
        cnt = s->nblk;
    } else {
        a = b - 1;
        if (a < 0) a = 0;
        if (a > s->nblk - 3) a = s->nblk - 3;
        cnt = 3;
    }
    int64_t t = sq_bk_gather(s, &sc, a, cnt, b, pos, key, qty);
    int64_t nk = (t + SQ_BK_B - 1) / SQ_BK_B;
    if (nk < 2) nk = 2;
    int st = sq_bk_scatter(s, &sc, a, cnt, t, nk);
    if (st == SQ_BK_OK) {
        s->nov++;
        s->novesc += (uint64_t)qty >= SQ_BK_ESC;
    } else {
        *added = 0;
    }
    return st;
}

/* Delete key from the overflow (no-op if absent). *removed = 1 if it was there. */
SQ_BK_COLD void sq_bk_ov_del(sq_bk_side *s, int64_t key, int *removed) {
    int64_t b = sq_bk_ov_find_hint(s, key);
    *removed = 0;
    if (b == s->nblk) return;
    sq_bk_blk *k = s->blk[b];
    int n = s->bn[b];
    int pos = sq_bk_blk_lower(k->key, n, key);
    if (pos >= n || k->key[pos] != key) return;
    s->novesc -= (uint64_t)k->qty[pos] >= SQ_BK_ESC;
    memmove(&k->key[pos], &k->key[pos + 1], (size_t)(n - pos - 1) * 8);
    memmove(&k->qty[pos], &k->qty[pos + 1], (size_t)(n - pos - 1) * 8);
    n--;
    s->bn[b] = n;
    s->nov--;
    *removed = 1;
    if (n > 0 && pos == n) s->blast[b] = k->key[n - 1];
    if (n == 0 || (s->nblk >= 3 && n < SQ_BK_L0) || s->nblk == 2) sq_bk_ov_tidy(s, b);
}

/* Move overflow levels that now fall inside the window into it. */
static int sq_bk_ov_pull(sq_bk *bk, sq_bk_side *s) {
    int moved = 0, st = SQ_BK_OK;
    while (s->nblk) {
        sq_bk_blk *k = s->blk[0];
        int n = s->bn[0], c = 0;
        while (c < n) {
            uint64_t off = (uint64_t)k->key[c] - (uint64_t)s->base; /* overflow keys are >= base */
            if (off >= s->span) break;
            int64_t p = sq_bk_slot(s, (int64_t)sq_bk_div(bk, off));
            st = sq_bk_wput(s, p, k->qty[c]);
            if (st != SQ_BK_OK) return st; /* (the book must be cleared) */
            s->novesc -= (uint64_t)k->qty[c] >= SQ_BK_ESC;
            sq_bk_bit_set(s, p);
            c++;
        }
        if (c == 0) break;
        s->nwin += c;
        s->nov -= c;
        moved = 1;
        if (c == n) {
            sq_bk_dir_remove(s, 0);
            continue;
        }
        memmove(&k->key[0], &k->key[c], (size_t)(n - c) * 8);
        memmove(&k->qty[0], &k->qty[c], (size_t)(n - c) * 8);
        s->bn[0] = n - c;
        break;
    }
    if (moved && s->nblk) sq_bk_ov_tidy(s, 0);
    return st;
}

/* Push the window levels at logical indices >= from into the overflow (they are better than every
 * overflow level, so they go to its front). */
static int sq_bk_win_push(sq_bk *bk, sq_bk_side *s, int64_t from) {
    for (int64_t i = sq_bk_win_next(s, from); i < s->W; i = sq_bk_win_next(s, i + 1)) {
        int64_t p = sq_bk_slot(s, i);
        int added;
        int st = sq_bk_ov_set(s, s->base + i * bk->tick, sq_bk_wget(s, p), &added);
        if (st != SQ_BK_OK) return st;
        sq_bk_wput(s, p, 0);
        sq_bk_bit_clr(s, p);
        s->nwin--;
    }
    return SQ_BK_OK;
}

/* ------------------------------------------------------------------------------------------ window moves */

/* Move the window so that logical 0 is key `newbase` (a multiple of the tick). No level may be better
 * than the new base: callers move toward worse keys at most up to the best level. */
static int sq_bk_move(sq_bk *bk, sq_bk_side *s, int64_t newbase) {
    const int64_t W = s->W;
    if (s->nwin == 0) {
        s->base = newbase;
        s->head = 0;
        s->best = W;
    } else {
        __int128 d = ((__int128)newbase - (__int128)s->base) / bk->tick;
        if (d > 0) { /* toward worse keys: logical [0, d) is empty (d <= best) */
            s->head = (s->head + (int64_t)d) & (W - 1);
            s->base = newbase;
            s->best -= (int64_t)d;
        } else if (d < 0) { /* toward better keys: the last -d ticks leave the window */
            int64_t up = d <= -(__int128)W ? W : (int64_t)-d;
            int st = sq_bk_win_push(bk, s, W - up);
            if (st != SQ_BK_OK) return st;
            s->head = (s->head - up) & (W - 1);
            s->base = newbase;
            s->best = s->nwin ? sq_bk_win_next(s, 0) : W;
        }
    }
    int st = sq_bk_ov_pull(bk, s);
    if (s->best >= W && s->nwin) s->best = sq_bk_win_next(s, 0);
    return st;
}

/* Resize the window to W2 ticks, the best level at W2/8. */
static int sq_bk_resize(sq_bk *bk, sq_bk_side *s, int64_t W2) {
    sq_bk_side old = *s;
    int64_t tick = bk->tick;
    int64_t newbase = s->nwin ? sq_bk_base_for(bk, s->base + s->best * tick, W2 / 8) : s->base;
    s->wq = NULL;
    s->wb = NULL;
    s->ws = NULL;
    if (sq_bk_win_alloc(s, W2, tick) != SQ_BK_OK) {
        s->wq = old.wq;
        s->wb = old.wb;
        s->ws = old.ws;
        return SQ_BK_ENOMEM;
    }
    s->ek = NULL; /* the old window's escape table stays with `old` */
    s->ev = NULL;
    s->ecap = s->ecnt = 0;
    s->base = newbase;
    s->nwin = 0;
    /* re-place the old window's levels, ascending; those beyond the new window go to the overflow */
    int st = SQ_BK_OK;
    for (int64_t i = sq_bk_win_next(&old, 0); i < old.W; i = sq_bk_win_next(&old, i + 1)) {
        int64_t key = old.base + i * tick;
        int64_t q = sq_bk_wget(&old, sq_bk_slot(&old, i));
        uint64_t off = (uint64_t)key - (uint64_t)s->base;
        if (off < s->span) {
            int64_t p = sq_bk_slot(s, (int64_t)sq_bk_div(bk, off));
            int r = sq_bk_wput(s, p, q);
            if (r != SQ_BK_OK) {
                st = r;
                continue;
            }
            sq_bk_bit_set(s, p);
            s->nwin++;
        } else if (st == SQ_BK_OK) {
            int added;
            st = sq_bk_ov_set(s, key, q, &added);
        }
    }
    free(old.wq);
    free(old.wb);
    free(old.ws);
    sq_bk_esc_free(&old);
    if (st != SQ_BK_OK) return st;
    s->best = s->nwin ? sq_bk_win_next(s, 0) : W2;
    st = sq_bk_ov_pull(bk, s);
    if (s->best >= W2 && s->nwin) s->best = sq_bk_win_next(s, 0);
    return st;
}

/* Bring the window size within the memory budget, then refresh the limits and the cached top. */
SQ_BK_COLD int sq_bk_fit(sq_bk *bk, sq_bk_side *s) {
    int st = SQ_BK_OK;
    for (;;) {
        sq_bk_limits(bk, s);
        if (s->nwin >= s->grow_at) st = sq_bk_resize(bk, s, s->W * 2);
        else if (s->nwin < s->shrink_at) st = sq_bk_resize(bk, s, s->W / 2);
        else break;
        if (st != SQ_BK_OK) break;
    }
    sq_bk_set_top(s, bk->tick);
    return st;
}

/* The best level left the window: find the next one, recentre if it is far in or in the overflow. */
SQ_BK_COLD int sq_bk_after_best_removed(sq_bk *bk, sq_bk_side *s, int64_t from) {
    int st = SQ_BK_OK;
    if (s->nwin == 0) {
        s->best = s->W;
        if (s->nov) st = sq_bk_move(bk, s, sq_bk_base_for(bk, s->blk[0]->key[0], s->W / 8));
    } else {
        s->best = sq_bk_win_next(s, from);
        if (s->best > s->W / 4) st = sq_bk_move(bk, s, s->base + (s->best - s->W / 8) * bk->tick);
    }
    if (st != SQ_BK_OK) return st;
    return sq_bk_fit(bk, s);
}

/* Put (key, qty > 0) into the window after moving it so that key is at logical W/8 (key is better than
 * the window, or the side is empty). */
SQ_BK_COLD int sq_bk_insert_recentred(sq_bk *bk, sq_bk_side *s, int64_t key, int64_t qty) {
    int st = sq_bk_move(bk, s, sq_bk_base_for(bk, key, s->W / 8));
    if (st != SQ_BK_OK) return st;
    int64_t i = (int64_t)sq_bk_div(bk, (uint64_t)key - (uint64_t)s->base);
    int64_t p = sq_bk_slot(s, i);
    int was = s->wq[p] != 0;
    st = sq_bk_wput(s, p, qty);
    if (st != SQ_BK_OK) return st;
    if (!was) {
        sq_bk_bit_set(s, p);
        s->nwin++;
    }
    if (i < s->best || s->best >= s->W) s->best = i;
    return sq_bk_fit(bk, s);
}

/* A window update where the old or the new quantity is escaped (>= SQ_BK_ESC): rare, so it refits. */
SQ_BK_COLD int sq_bk_win_set_esc(sq_bk *bk, sq_bk_side *s, int64_t key, int64_t i, int64_t p, int64_t qty) {
    int had = s->wq[p] != 0;
    if (qty && !had && s->nwin == 0) return sq_bk_insert_recentred(bk, s, key, qty);
    int st = sq_bk_wput(s, p, qty);
    if (st != SQ_BK_OK) return st;
    if (qty && !had) {
        sq_bk_bit_set(s, p);
        s->nwin++;
        if (i < s->best) s->best = i;
    } else if (!qty && had) {
        sq_bk_bit_clr(s, p);
        s->nwin--;
        if (i == s->best) return sq_bk_after_best_removed(bk, s, i + 1);
    }
    return sq_bk_fit(bk, s); /* the escape table's size counts in the budget; fit also refreshes the top */
}

/* ------------------------------------------------------------------------------------------ updates */

SQ_BK_INLINE int sq_bk_set(sq_bk *bk, sq_bk_side *s, int64_t key, int64_t qty) {
    if (key >= s->base) {
        uint64_t off = (uint64_t)key - (uint64_t)s->base;
        if (off < s->span) {
            uint64_t iu = sq_bk_div(bk, off);
            if (iu * (uint64_t)bk->tick != off) return SQ_BK_ETICK;
            int64_t i = (int64_t)iu;
            int64_t p = sq_bk_slot(s, i);
            uint32_t *restrict wq = s->wq;
            uint32_t old = wq[p];
            int64_t nwin = s->nwin;
            if (i > s->best && ((uint64_t)qty | old) < SQ_BK_ESC && nwin + 1 < s->grow_at &&
                nwin > s->shrink_at) {
                /* behind the top, no resize due: branch-free bookkeeping (every load before any store, so
                 * that the stores, which could alias *s for the compiler, force no reloads) */
                uint64_t *restrict wb = s->wb, *restrict ws = s->ws;
                int64_t w = p >> 6;
                uint64_t m = 1ULL << (p & 63), sm = 1ULL << (w & 63);
                uint64_t bw = wb[w], sw = ws[w >> 6];
                uint64_t v = qty ? (bw | m) : (bw & ~m);
                s->nwin = nwin + (int64_t)(old == 0 && qty != 0) - (int64_t)(old != 0 && qty == 0);
                wq[p] = (uint32_t)qty;
                wb[w] = v;
                ws[w >> 6] = v ? (sw | sm) : (sw & ~sm);
                return SQ_BK_OK;
            }
            /* (one compare for both: the OR of two values below SQ_BK_ESC can reach it, rarely; then the
             * general path below runs, correct for any quantities) */
            if (((uint64_t)qty | old) >= SQ_BK_ESC) return sq_bk_win_set_esc(bk, s, key, i, p, qty);
            if (qty) {
                if (old) {
                    s->wq[p] = (uint32_t)qty;
                    if (i == s->best) s->top_qty = qty;
                    return SQ_BK_OK;
                }
                if (s->nwin == 0) return sq_bk_insert_recentred(bk, s, key, qty);
                s->wq[p] = (uint32_t)qty;
                sq_bk_bit_set(s, p);
                s->nwin++;
                if (i < s->best) {
                    s->best = i;
                    s->top_px = s->dir * key;
                    s->top_qty = qty;
                }
                if (s->nwin >= s->grow_at) return sq_bk_fit(bk, s);
                return SQ_BK_OK;
            }
            if (!old) return SQ_BK_OK;
            s->wq[p] = 0;
            sq_bk_bit_clr(s, p);
            s->nwin--;
            if (i == s->best) return sq_bk_after_best_removed(bk, s, i + 1);
            if (s->nwin < s->shrink_at) return sq_bk_fit(bk, s);
            return SQ_BK_OK;
        }
        if (bk->tick > 1 && !sq_bk_on_tick_from(bk, key, s->base)) return SQ_BK_ETICK;
        int changed;
        int64_t nblk = s->nblk, nov = s->nov, novesc = s->novesc;
        if (qty) {
            if (!s->nwin) return sq_bk_insert_recentred(bk, s, key, qty);
            int st = sq_bk_ov_set(s, key, qty, &changed);
            if (st != SQ_BK_OK) return st;
        } else {
            sq_bk_ov_del(s, key, &changed);
        }
        if (!changed) return s->novesc != novesc ? sq_bk_fit(bk, s) : SQ_BK_OK;
        if (s->nblk != nblk || nov == 0 || s->nov == 0 || s->novesc != novesc) return sq_bk_fit(bk, s);
        /* one level more or less, same blocks: the limits on nwin move by one */
        int64_t d = s->nov - nov;
        if (s->shrink_at != INT64_MIN) s->shrink_at -= d;
        if (s->grow_at != INT64_MAX) s->grow_at -= d;
        if (s->nwin >= s->grow_at || s->nwin < s->shrink_at) return sq_bk_fit(bk, s);
        return SQ_BK_OK;
    }
    if (key % bk->tick) return SQ_BK_ETICK;
    if (!qty) return SQ_BK_OK; /* better than every level: unknown, no-op */
    return sq_bk_insert_recentred(bk, s, key, qty);
}

/* Set the level at price px on side (1 bid, 2 ask) to qty (0 deletes; deleting an unknown level is a no-op). */
SQ_BK_INLINE int sq_bk_apply(sq_bk *bk, int side, int64_t px, int64_t qty) {
    if ((unsigned)(side - 1) > 1u) return SQ_BK_ESIDE;
    if (qty < 0) return SQ_BK_EQTY;
    if (px == SQ_BK_NULL) return SQ_BK_EPRICE;
    return sq_bk_set(bk, &bk->s[side - 1], side == 1 ? -px : px, qty);
}

static void sq_bk_side_free(sq_bk_side *s) {
    for (int64_t b = 0; b < s->nblk; b++) free(s->blk[b]);
    free(s->blk);
    free(s->blast);
    free(s->bn);
    free(s->wq);
    free(s->wb);
    free(s->ws);
    s->blk = NULL;
    s->blast = NULL;
    s->bn = NULL;
    s->wq = NULL;
    s->wb = NULL;
    s->ws = NULL;
    s->nblk = s->capblk = s->nov = s->nwin = s->novesc = 0;
    sq_bk_esc_free(s);
}

/* Empty one side (0 bids, 1 asks); its window goes back to the minimum size. */
static int sq_bk_clear_side(sq_bk *bk, int i) {
    sq_bk_side *s = &bk->s[i];
    sq_bk_side_free(s);
    if (sq_bk_win_alloc(s, SQ_BK_WMIN, bk->tick) != SQ_BK_OK) return SQ_BK_ENOMEM;
    s->base = 0;
    s->best = s->W;
    s->top_px = s->top_qty = SQ_BK_NULL;
    sq_bk_limits(bk, s);
    return SQ_BK_OK;
}

/* tick: 1 .. SQ_BK_TICK_MAX (checked by the caller). */
static int sq_bk_init(sq_bk *bk, int64_t tick) {
    memset(bk, 0, sizeof(*bk));
    bk->tick = tick;
    /* Granlund-Montgomery: with c = ceil(log2 tick) and s >= 62 + c, m = ceil(2^s / tick) gives
     * floor(off * m / 2^s) == off / tick for every off < 2^62; s >= 64 keeps it a high-word product. */
    int c = 0;
    while (c < 62 && ((int64_t)1 << c) < tick) c++;
    int sh = 62 + c < 64 ? 64 : 62 + c;
    bk->shift = sh - 64;
    bk->magic = tick == 1 ? 0
                          : (uint64_t)((((unsigned __int128)1 << sh) + (unsigned __int128)(tick - 1)) /
                                       (unsigned __int128)tick);
    int64_t wmax = SQ_BK_WMAX;
    while (wmax > SQ_BK_WMIN && (unsigned __int128)wmax * (unsigned __int128)tick > ((unsigned __int128)1 << 62))
        wmax >>= 1;
    bk->wmax = wmax;
    bk->s[0].dir = -1;
    bk->s[1].dir = 1;
    if (sq_bk_clear_side(bk, 0) != SQ_BK_OK || sq_bk_clear_side(bk, 1) != SQ_BK_OK) return SQ_BK_ENOMEM;
    return SQ_BK_OK;
}

static void sq_bk_free(sq_bk *bk) {
    sq_bk_side_free(&bk->s[0]);
    sq_bk_side_free(&bk->s[1]);
}

/* Deep copy of src into dst (dst uninitialised; freed again on failure). */
static int sq_bk_copy(sq_bk *dst, const sq_bk *src) {
    memcpy(dst, src, sizeof(*dst));
    for (int i = 0; i < 2; i++) {
        sq_bk_side *b = &dst->s[i];
        b->wq = NULL;
        b->wb = NULL;
        b->ws = NULL;
        b->blk = NULL;
        b->blast = NULL;
        b->bn = NULL;
        b->nblk = b->capblk = 0;
        b->ek = NULL;
        b->ev = NULL;
        b->ecap = b->ecnt = 0;
    }
    for (int i = 0; i < 2; i++) {
        const sq_bk_side *a = &src->s[i];
        sq_bk_side *b = &dst->s[i];
        if (sq_bk_win_alloc(b, a->W, src->tick) != SQ_BK_OK) goto fail;
        b->head = a->head;
        memcpy(b->wq, a->wq, (size_t)a->W * sizeof(uint32_t));
        if (a->ecap) {
            b->ek = (uint32_t *)malloc((size_t)a->ecap * sizeof(uint32_t));
            b->ev = (int64_t *)malloc((size_t)a->ecap * sizeof(int64_t));
            if (!b->ek || !b->ev) goto fail;
            memcpy(b->ek, a->ek, (size_t)a->ecap * sizeof(uint32_t));
            memcpy(b->ev, a->ev, (size_t)a->ecap * sizeof(int64_t));
            b->ecap = a->ecap;
            b->ecnt = a->ecnt;
        }
        memcpy(b->wb, a->wb, (size_t)(a->W >> 6) * 8);
        memcpy(b->ws, a->ws, (size_t)(((a->W >> 6) + 63) >> 6) * 8);
        if (a->nblk) {
            if (sq_bk_dir_reserve(b, a->capblk) != SQ_BK_OK) goto fail;
            for (int64_t j = 0; j < a->nblk; j++) {
                b->blk[j] = (sq_bk_blk *)malloc(sizeof(sq_bk_blk));
                if (!b->blk[j]) goto fail;
                b->nblk = j + 1;
                memcpy(b->blk[j], a->blk[j], sizeof(sq_bk_blk));
                b->blast[j] = a->blast[j];
                b->bn[j] = a->bn[j];
            }
        }
    }
    return SQ_BK_OK;
fail:
    sq_bk_free(dst);
    return SQ_BK_ENOMEM;
}

/* Apply LEVEL and CLEAR records (other kinds are skipped). *applied = records applied; on error *err_at is
 * the index of the record that failed (the records before it stay applied), else -1. */
static __attribute__((noinline)) int sq_bk_apply_events(sq_bk *bk, const sq_event *ev, int64_t n, int64_t *applied, int64_t *err_at) {
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) {
        const sq_event *e = &ev[i];
        int st;
        __builtin_prefetch(e + SQ_BK_PF); /* measured: ~1 ns per record less on the real USD-M stream */
        if (e->kind == SQ_EV_LEVEL) {
            st = sq_bk_apply(bk, e->side, e->price, e->qty);
        } else if (e->kind == SQ_EV_CLEAR) {
            if (e->side == SQ_SIDE_NONE) {
                st = sq_bk_clear_side(bk, 0);
                if (st == SQ_BK_OK) st = sq_bk_clear_side(bk, 1);
            } else if (e->side <= SQ_SIDE_ASK) {
                st = sq_bk_clear_side(bk, e->side - 1);
            } else {
                st = SQ_BK_ESIDE;
            }
        } else {
            continue;
        }
        if (st != SQ_BK_OK) {
            *applied = cnt;
            *err_at = i;
            return st;
        }
        cnt++;
    }
    *applied = cnt;
    *err_at = -1;
    return SQ_BK_OK;
}

/* ------------------------------------------------------------------------------------------ two-thread batches */

/* The bids and the asks are independent structures, so a large batch can apply them on two threads, each
 * scanning every record and applying only its own side's. To end exactly where sequential application
 * ends, each thread also *checks* the other side's LEVEL records (side, quantity >= 0, price not RAW_NULL,
 * price on the tick: the checks and the order of sq_bk_apply) and CLEAR sides, so both threads stop at
 * the same first invalid record k with the same status, having applied exactly their side's records
 * before k. (Out of memory stops one thread early; the book must then be cleared, as after any ENOMEM.) */

#ifndef SQ_BK_MT_MIN
#define SQ_BK_MT_MIN 65536 /* records: below this apply_events stays on one thread (measured, see docs) */
#endif

static inline int sq_bk_on_tick(const sq_bk *bk, int64_t px) {
    if (bk->tick == 1) return 1;
    uint64_t a = px < 0 ? 0 - (uint64_t)px : (uint64_t)px;
    if (a < ((uint64_t)1 << 62)) return sq_bk_div(bk, a) * (uint64_t)bk->tick == a;
    return px % bk->tick == 0;
}

typedef struct {
    sq_bk *bk;
    const sq_event *ev;
    int64_t n;
    int side;   /* 0 bids, 1 asks */
    int st;     /* out: status */
    int64_t at;  /* out: index of the failing record, n if none */
    int64_t cnt; /* out: LEVEL and CLEAR records before it */
} sq_bk_half;

#ifdef SQ_BK_THREADS
static void *sq_bk_apply_half(void *arg) {
    sq_bk_half *h = (sq_bk_half *)arg;
    sq_bk *bk = h->bk;
    const sq_event *ev = h->ev;
    const int mine = h->side + 1;
    int64_t n = h->n, cnt = 0;
    for (int64_t i = 0; i < n; i++) {
        const sq_event *e = &ev[i];
        int st;
        __builtin_prefetch(e + SQ_BK_PF);
        if (e->kind == SQ_EV_LEVEL) {
            if (e->side == mine) {
                st = sq_bk_apply(bk, mine, e->price, e->qty);
            } else if ((unsigned)(e->side - 1) > 1u) {
                st = SQ_BK_ESIDE;
            } else if (e->qty < 0) {
                st = SQ_BK_EQTY;
            } else if (e->price == SQ_BK_NULL) {
                st = SQ_BK_EPRICE;
            } else {
                st = sq_bk_on_tick(bk, e->price) ? SQ_BK_OK : SQ_BK_ETICK;
            }
        } else if (e->kind == SQ_EV_CLEAR) {
            if (e->side > SQ_SIDE_ASK) st = SQ_BK_ESIDE;
            else if (e->side == SQ_SIDE_NONE || e->side == mine) st = sq_bk_clear_side(bk, h->side);
            else st = SQ_BK_OK;
        } else {
            continue;
        }
        if (st != SQ_BK_OK) {
            h->st = st;
            h->at = i;
            h->cnt = cnt;
            return NULL;
        }
        cnt++;
    }
    h->st = SQ_BK_OK;
    h->at = n;
    h->cnt = cnt;
    return NULL;
}
#endif

/* A second thread pays only if a core is free for it: on a busy machine the two threads take turns on one
 * core and the batch is ~1.3x slower than on one thread (docs/order-book.md). 1 if the 1-minute load
 * average (this thread included) leaves at least half a core idle. */
static int sq_bk_core_free(void) {
#ifndef SQ_BK_THREADS
    return 0;
#else
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double la[1];
    if (ncpu < 2 || getloadavg(la, 1) != 1) return 0;
    return la[0] < (double)ncpu - 0.5;
#endif
}

/* sq_bk_apply_events with the asks applied on a second thread (the calling thread applies the bids).
 * Returns -1 if the thread could not be started (nothing was applied), else as sq_bk_apply_events. */
static int sq_bk_apply_events_2t(sq_bk *bk, const sq_event *ev, int64_t n, int64_t *applied, int64_t *err_at) {
#ifndef SQ_BK_THREADS
    (void)bk, (void)ev, (void)n, (void)applied, (void)err_at;
    return -1; /* no threads on this platform: the caller applies on one */
#else
    sq_bk_half h[2] = {{bk, ev, n, 0, 0, 0, 0}, {bk, ev, n, 1, 0, 0, 0}};
    pthread_t t;
    if (pthread_create(&t, NULL, sq_bk_apply_half, &h[1]) != 0) return -1;
    sq_bk_apply_half(&h[0]);
    pthread_join(t, NULL);
    int k = h[1].at < h[0].at ? 1 : 0;
    *applied = h[k].cnt;
    *err_at = h[k].st == SQ_BK_OK ? -1 : h[k].at;
    return h[k].st;
#endif
}

/* ------------------------------------------------------------------------------------------ reading */

/* Levels of one side, best first. */
typedef struct {
    const sq_bk_side *s;
    int64_t tick;
    int64_t i; /* next logical window index (>= W: in the overflow) */
    int64_t b;
    int pos;
} sq_bk_it;

static inline void sq_bk_it_init(sq_bk_it *it, const sq_bk *bk, int i) {
    it->s = &bk->s[i];
    it->tick = bk->tick;
    it->i = it->s->nwin ? it->s->best : it->s->W;
    it->b = 0;
    it->pos = 0;
}

/* Next level (raw price, raw qty); 0 at the end. */
static inline int sq_bk_it_next(sq_bk_it *it, int64_t *px, int64_t *qty) {
    const sq_bk_side *s = it->s;
    if (it->i < s->W) {
        int64_t i = it->i;
        *px = s->dir * (s->base + i * it->tick);
        *qty = sq_bk_wget(s, sq_bk_slot(s, i));
        it->i = sq_bk_win_next(s, i + 1);
        return 1;
    }
    if (it->b >= s->nblk) return 0;
    const sq_bk_blk *k = s->blk[it->b];
    *px = s->dir * k->key[it->pos];
    *qty = k->qty[it->pos];
    if (++it->pos >= s->bn[it->b]) {
        it->b++;
        it->pos = 0;
    }
    return 1;
}

/* Quantity at an exact price on side i (0 bids, 1 asks); 0 if there is no level. */
static inline int64_t sq_bk_qty_at(const sq_bk *bk, int i, int64_t px) {
    const sq_bk_side *s = &bk->s[i];
    if (px == SQ_BK_NULL) return 0;
    int64_t key = s->dir * px;
    if (key < s->base) return 0;
    uint64_t off = (uint64_t)key - (uint64_t)s->base;
    if (off < s->span) {
        uint64_t iu = sq_bk_div(bk, off);
        if (iu * (uint64_t)bk->tick != off) return 0;
        return sq_bk_wget(s, sq_bk_slot(s, (int64_t)iu));
    }
    int64_t b = sq_bk_ov_find(s, key);
    if (b == s->nblk) return 0;
    const sq_bk_blk *k = s->blk[b];
    int pos = sq_bk_blk_lower(k->key, s->bn[b], key);
    return (pos < s->bn[b] && k->key[pos] == key) ? k->qty[pos] : 0;
}

static inline int64_t sq_bk_bytes(const sq_bk *bk) {
    return (int64_t)sizeof(sq_bk) + sq_bk_side_bytes(&bk->s[0]) + sq_bk_side_bytes(&bk->s[1]);
}

/* Check every invariant (for tests): 0 if consistent, else the number of the broken one. */
static int sq_bk_check(const sq_bk *bk) {
    for (int i = 0; i < 2; i++) {
        const sq_bk_side *s = &bk->s[i];
        int64_t n = 0, first = -1, nesc = 0;
        for (int64_t j = 0; j < s->W; j++) {
            int64_t p = sq_bk_slot(s, j);
            int bit = (int)((s->wb[p >> 6] >> (p & 63)) & 1);
            if (bit != (s->wq[p] != 0)) return 1;
            if (s->wq[p] == SQ_BK_ESC) {
                int64_t j = sq_bk_esc_find(s, p);
                if (j < 0 || s->ev[j] < (int64_t)SQ_BK_ESC) return 19;
                nesc++;
            }
            if (bit) {
                n++;
                if (first < 0) first = j;
            }
        }
        for (int64_t w = 0; w < (s->W >> 6); w++)
            if ((int)((s->ws[w >> 6] >> (w & 63)) & 1) != (s->wb[w] != 0)) return 2;
        if (n != s->nwin) return 3;
        if (n && first != s->best) return 4;
        if (!n && s->nov) return 5;
        int64_t tot = 0, prev = INT64_MIN, oesc = 0;
        for (int64_t b = 0; b < s->nblk; b++) {
            if (s->bn[b] <= 0 || s->bn[b] > SQ_BK_B) return 6;
            if (s->nblk >= 3 && s->bn[b] < SQ_BK_L0) return 7;
            const sq_bk_blk *k = s->blk[b];
            for (int j = 0; j < s->bn[b]; j++) {
                if (k->key[j] <= prev) return 8;
                if (k->qty[j] <= 0) return 9;
                oesc += (uint64_t)k->qty[j] >= SQ_BK_ESC;
                prev = k->key[j];
            }
            if (s->blast[b] != k->key[s->bn[b] - 1]) return 10;
            tot += s->bn[b];
        }
        if (tot != s->nov) return 11;
        if (oesc != s->novesc) return 22;
        if (s->nblk) {
            int64_t k0 = s->blk[0]->key[0];
            if (k0 < s->base) return 12;
            if ((uint64_t)k0 - (uint64_t)s->base < s->span) return 13;
        }
        if (n) {
            if (s->top_px != s->dir * (s->base + s->best * bk->tick)) return 14;
            if (s->top_qty != sq_bk_wget(s, sq_bk_slot(s, s->best))) return 15;
        } else if (s->top_px != SQ_BK_NULL || s->top_qty != SQ_BK_NULL) {
            return 16;
        }
#ifndef SQ_BK_FIXED_WINDOW
        if (sq_bk_side_bytes(s) > SQ_BK_BUDGET * (s->nwin + s->nov) + SQ_BK_SIDE_FIXED) return 17;
#endif
        if (s->capblk > 16 && s->nblk < s->capblk / 4) return 18;
        if (nesc != s->ecnt || (s->ecap && (s->ecnt * 8 > s->ecap * 7 || s->ecap < SQ_BK_ECAP_MIN))) return 20;
        for (int64_t j = 0; j < s->ecap; j++) /* every entry names an escaped slot */
            if (s->ek[j] && ((int64_t)s->ek[j] > s->W || s->wq[s->ek[j] - 1] != SQ_BK_ESC)) return 21;
    }
    return 0;
}

#endif /* SQ_BOOK_H */
