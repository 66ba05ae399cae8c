/*
 * L3 (market-by-order) order book core, in plain C: used by book_l3.pyx.
 *
 * Layout (all indices int32 into pooled arrays; nothing is allocated per event in steady state: the
 * pools and tables grow geometrically and are reused):
 *   - orders: a pool of 32-byte sq_l3_order structs; a free list threads through `next`.
 *   - levels: a pool of 32-byte sq_l3_level structs, each the head/tail of an intrusive doubly linked
 *     FIFO list of its orders, with the level's total quantity and order count; a free list threads
 *     through `head`.
 *   - hash maps (open addressing, linear probing, Fibonacci hashing, backward-shift deletion: no
 *     tombstones; load factor <= 1/4): order id -> order slot, and per side price -> level slot.
 *   - per side: a sorted array of keys (bids: price, asks: -price) ascending, so the best level is the
 *     LAST entry, with each key's level slot beside it. Only a new or emptied level touches it (a
 *     search, then a shift of the entries on the shorter side of it). The array sits inside a larger
 *     buffer with free room at both ends, so a level created or emptied near either end (the best, or
 *     the worst: a snapshot arrives best first) moves few entries.
 * Prices and quantities are raw int64 at the book's precisions; SQ_L3_NULL (INT64_MIN) = no value.
 */
#ifndef SQ_BOOK_L3_H
#define SQ_BOOK_L3_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

#include "sq_event.h"

#define SQ_L3_NULL INT64_MIN

/* The per-record path: always inlined into the batch loop (the compiler otherwise splits some of it
 * out in a large module, adding a call per record). */
#if defined(__GNUC__) || defined(__clang__)
#define SQ_L3_HOT static inline __attribute__((always_inline))
#else
#define SQ_L3_HOT static inline
#endif

/* The id map and the price maps are kept at most 1/4 full: fewer collisions, so fewer mispredicted
 * branches in the probe and the backward-shift deletion, for 16 more bytes per resting order. */
#ifndef SQ_L3_IDS_LOAD_SHIFT
#define SQ_L3_IDS_LOAD_SHIFT 2
#endif
#ifndef SQ_L3_PRICES_LOAD_SHIFT
#define SQ_L3_PRICES_LOAD_SHIFT 2
#endif

/* status codes */
#define SQ_L3_OK 0
#define SQ_L3_ERR_UNKNOWN 1    /* order id not in the book */
#define SQ_L3_ERR_DUPLICATE 2  /* add of an id already in the book */
#define SQ_L3_ERR_QTY 3        /* quantity missing, zero or negative where a positive one is needed */
#define SQ_L3_ERR_OVERFILL 4   /* execute/cancel of more than the order's resting quantity */
#define SQ_L3_ERR_SIDE 5       /* side not 1 (bid) or 2 (ask) (CLEAR: not 0, 1 or 2) */
#define SQ_L3_ERR_PRICE 6      /* price missing (RAW_NULL) */
#define SQ_L3_ERR_NOMEM 7      /* allocation failed */
#define SQ_L3_ERR_OVERFLOW 8   /* a level's total quantity would overflow int64 */

typedef struct {
    uint64_t id;
    int64_t qty;
    int32_t prev, next; /* FIFO neighbours within the level (-1: none); `next` threads the free list */
    int32_t level;      /* level slot (its price and side are the order's) */
    int32_t pad;
} sq_l3_order;          /* 32 bytes: two per cache line (pools are 64-byte aligned) */

typedef struct {
    int64_t price;
    int64_t qty;        /* total resting quantity */
    int32_t count;      /* number of orders */
    int32_t head, tail; /* FIFO: head = first in queue; `head` threads the free list */
    int32_t side;
} sq_l3_level;          /* 32 bytes */

typedef struct {
    uint64_t key;
    int32_t val;        /* slot index; -1 = empty */
    int32_t pad;
} sq_l3_slot;

typedef struct {
    sq_l3_slot *slots;
    uint64_t mask;      /* capacity - 1 (a power of two) */
    int shift;          /* 64 - log2(capacity) */
    int32_t size;
    int32_t load_shift; /* load factor <= 1 / 2**load_shift */
} sq_l3_map;

typedef struct {
    int64_t *key;       /* ascending; best at key[n-1] (= key_base + lo) */
    int32_t *lv;        /* = lv_base + lo */
    int32_t n, cap;     /* cap: entries in the buffers; lo + n <= cap */
    int32_t lo;         /* free entries before key[0] */
    int64_t *key_base;
    int32_t *lv_base;
    sq_l3_map prices;   /* price -> level slot */
} sq_l3_side;

typedef struct {
    sq_l3_order *orders;
    int32_t n_orders_used, cap_orders, free_order, live;
    sq_l3_level *levels;
    int32_t n_levels_used, cap_levels, free_level, pad0;
    sq_l3_map ids;       /* order id -> order slot */
    sq_l3_side sides[3]; /* index 1 bid, 2 ask (0 unused) */
} sq_l3_book;

SQ_L3_HOT int64_t sq_l3_key(int side, int64_t price) { return side == SQ_SIDE_ASK ? -price : price; }

/* ------------------------------------------------------------------ memory */

/* 64-byte aligned allocation: pools keep their structs within cache lines. */
static inline void *sq_l3_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63)) return NULL;
    return p;
}

static inline void *sq_l3_grow(void *old, size_t old_bytes, size_t new_bytes) {
    void *p = sq_l3_alloc(new_bytes);
    if (!p) return NULL;
    if (old_bytes) memcpy(p, old, old_bytes);
    free(old);
    return p;
}

/* ------------------------------------------------------------------ hash maps */

#define SQ_L3_HASH(key, shift) (((uint64_t)(key) * 0x9E3779B97F4A7C15ULL) >> (shift))

/* The slot holding key, or the empty slot where it would go. */
SQ_L3_HOT uint64_t sq_l3_probe(const sq_l3_map *m, uint64_t key) {
    uint64_t i = SQ_L3_HASH(key, m->shift);
    const sq_l3_slot *s = m->slots;
    if ((s[i].key == key) | (s[i].val < 0)) return i; /* the common case: no collision (one branch) */
    do i = (i + 1) & m->mask; while ((s[i].val >= 0) & (s[i].key != key));
    return i;
}

SQ_L3_HOT int32_t sq_l3_get(const sq_l3_map *m, uint64_t key) { return m->slots[sq_l3_probe(m, key)].val; }

static int sq_l3_map_resize(sq_l3_map *m, uint64_t cap) {
    sq_l3_slot *s = (sq_l3_slot *)sq_l3_alloc(cap * sizeof(sq_l3_slot));
    if (!s) return SQ_L3_ERR_NOMEM;
    for (uint64_t i = 0; i < cap; i++) { s[i].key = 0; s[i].val = -1; s[i].pad = 0; }
    int bits = 0;
    while ((1ULL << bits) < cap) bits++;
    sq_l3_slot *old = m->slots;
    uint64_t old_cap = old ? m->mask + 1 : 0;
    m->slots = s;
    m->mask = cap - 1;
    m->shift = 64 - bits;
    for (uint64_t i = 0; i < old_cap; i++) {
        if (old[i].val < 0) continue;
        uint64_t j = SQ_L3_HASH(old[i].key, m->shift);
        while (s[j].val >= 0) j = (j + 1) & m->mask;
        s[j] = old[i];
    }
    free(old);
    return SQ_L3_OK;
}

/* Room for one more key (load factor <= 1 / 2**load_shift). */
SQ_L3_HOT int sq_l3_map_reserve(sq_l3_map *m) {
    if ((uint64_t)(m->size + 1) << m->load_shift <= m->mask + 1) return SQ_L3_OK;
    return sq_l3_map_resize(m, (m->mask + 1) * 2);
}

/* Store at slot i (from sq_l3_probe, after sq_l3_map_reserve) a key that is absent. */
SQ_L3_HOT void sq_l3_map_put_at(sq_l3_map *m, uint64_t i, uint64_t key, int32_t val) {
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->size++;
}

/* Remove the entry at slot i (backward-shift deletion: no tombstones, probes stay short). */
SQ_L3_HOT void sq_l3_map_del_at(sq_l3_map *m, uint64_t i) {
    sq_l3_slot *s = m->slots;
    uint64_t mask = m->mask;
    uint64_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (s[j].val < 0) break;
        uint64_t k = SQ_L3_HASH(s[j].key, m->shift);
        /* the entry at j may fill the hole at i unless its home lies cyclically in (i, j] */
        int stay = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stay) { s[i] = s[j]; i = j; }
    }
    s[i].val = -1;
    m->size--;
}

static inline void sq_l3_map_clear(sq_l3_map *m) {
    /* all bytes 0xFF: val = -1 (empty; an empty slot's key is never read as a match) */
    if (m->size) memset(m->slots, 0xFF, (size_t)(m->mask + 1) * sizeof(sq_l3_slot));
    m->size = 0;
}

static inline int sq_l3_map_init(sq_l3_map *m, uint64_t cap, int32_t load_shift) {
    memset(m, 0, sizeof(*m));
    m->load_shift = load_shift;
    return sq_l3_map_resize(m, cap);
}

/* ------------------------------------------------------------------ lifecycle */

static inline void sq_l3_free(sq_l3_book *b) {
    free(b->orders);
    free(b->levels);
    free(b->ids.slots);
    for (int s = 0; s <= 2; s++) {
        free(b->sides[s].key_base); free(b->sides[s].lv_base); free(b->sides[s].prices.slots);
    }
    memset(b, 0, sizeof(*b));
}

static inline int sq_l3_init(sq_l3_book *b) {
    memset(b, 0, sizeof(*b));
    b->free_order = -1;
    b->free_level = -1;
    if (sq_l3_map_init(&b->ids, 64, SQ_L3_IDS_LOAD_SHIFT) || sq_l3_map_init(&b->sides[1].prices, 64, SQ_L3_PRICES_LOAD_SHIFT)
        || sq_l3_map_init(&b->sides[2].prices, 64, SQ_L3_PRICES_LOAD_SHIFT)) {
        sq_l3_free(b);
        return SQ_L3_ERR_NOMEM;
    }
    return SQ_L3_OK;
}

static inline void *sq_l3_dup(const void *src, size_t bytes, int *fail) {
    if (!bytes || !src || *fail) return NULL;
    void *p = sq_l3_alloc(bytes);
    if (!p) { *fail = 1; return NULL; }
    memcpy(p, src, bytes);
    return p;
}

static inline void sq_l3_map_dup(sq_l3_map *dst, const sq_l3_map *src, int *fail) {
    *dst = *src;
    dst->slots = (sq_l3_slot *)sq_l3_dup(src->slots, (size_t)(src->mask + 1) * sizeof(sq_l3_slot), fail);
}

/* Deep copy of src into dst (dst uninitialised). */
static inline int sq_l3_copy(sq_l3_book *dst, const sq_l3_book *src) {
    int fail = 0;
    memcpy(dst, src, sizeof(*dst));
    dst->orders = (sq_l3_order *)sq_l3_dup(src->orders, (size_t)src->cap_orders * sizeof(sq_l3_order), &fail);
    dst->levels = (sq_l3_level *)sq_l3_dup(src->levels, (size_t)src->cap_levels * sizeof(sq_l3_level), &fail);
    sq_l3_map_dup(&dst->ids, &src->ids, &fail);
    for (int s = 0; s <= 2; s++) {
        size_t c = (size_t)src->sides[s].cap;
        dst->sides[s].key_base = (int64_t *)sq_l3_dup(src->sides[s].key_base, c * sizeof(int64_t), &fail);
        dst->sides[s].lv_base = (int32_t *)sq_l3_dup(src->sides[s].lv_base, c * sizeof(int32_t), &fail);
        dst->sides[s].key = dst->sides[s].key_base + src->sides[s].lo;
        dst->sides[s].lv = dst->sides[s].lv_base + src->sides[s].lo;
        sq_l3_map_dup(&dst->sides[s].prices, &src->sides[s].prices, &fail);
    }
    if (fail) { sq_l3_free(dst); return SQ_L3_ERR_NOMEM; }
    return SQ_L3_OK;
}

/* Empty a side's sorted array, its room split evenly between both ends. */
static inline void sq_l3_side_empty(sq_l3_side *s) {
    s->n = 0;
    s->lo = s->cap / 2;
    s->key = s->key_base + s->lo;
    s->lv = s->lv_base + s->lo;
}

/* Remove every order and level; capacities are kept. */
static inline void sq_l3_clear_all(sq_l3_book *b) {
    sq_l3_map_clear(&b->ids);
    b->n_orders_used = 0; b->free_order = -1; b->live = 0;
    b->n_levels_used = 0; b->free_level = -1;
    for (int s = 1; s <= 2; s++) { sq_l3_side_empty(&b->sides[s]); sq_l3_map_clear(&b->sides[s].prices); }
}

/* ------------------------------------------------------------------ pools */

/* Room for one more order without allocating later. */
SQ_L3_HOT int sq_l3_order_reserve(sq_l3_book *b) {
    if (b->free_order >= 0 || b->n_orders_used < b->cap_orders) return SQ_L3_OK;
    int64_t cap = b->cap_orders ? (int64_t)b->cap_orders * 2 : 256;
    if (cap > INT32_MAX) return SQ_L3_ERR_NOMEM;
    sq_l3_order *p = (sq_l3_order *)sq_l3_grow(b->orders, (size_t)b->cap_orders * sizeof(sq_l3_order),
                                               (size_t)cap * sizeof(sq_l3_order));
    if (!p) return SQ_L3_ERR_NOMEM;
    b->orders = p;
    b->cap_orders = (int32_t)cap;
    return SQ_L3_OK;
}

SQ_L3_HOT int32_t sq_l3_new_order(sq_l3_book *b) { /* after sq_l3_order_reserve */
    int32_t o = b->free_order;
    if (o >= 0) { b->free_order = b->orders[o].next; return o; }
    return b->n_orders_used++;
}

/* Room for one more level on `side` (pool, sorted array, price map) without allocating later. */
static inline int sq_l3_level_reserve(sq_l3_book *b, int side) {
    sq_l3_side *s = &b->sides[side];
    if (s->lo == 0 || s->lo + s->n == s->cap) { /* no room at one end: re-centre, in a larger buffer if needed */
        int64_t cap = s->cap;
        if ((int64_t)s->n * 2 + 2 > cap) cap = cap ? cap * 2 : 64;
        if (cap > INT32_MAX) return SQ_L3_ERR_NOMEM;
        int32_t lo = (int32_t)((cap - s->n) / 2);
        if (cap != s->cap) {
            int64_t *k = (int64_t *)sq_l3_alloc((size_t)cap * sizeof(int64_t));
            int32_t *v = (int32_t *)sq_l3_alloc((size_t)cap * sizeof(int32_t));
            if (!k || !v) { free(k); free(v); return SQ_L3_ERR_NOMEM; }
            if (s->n) {
                memcpy(k + lo, s->key, (size_t)s->n * sizeof(int64_t));
                memcpy(v + lo, s->lv, (size_t)s->n * sizeof(int32_t));
            }
            free(s->key_base); free(s->lv_base);
            s->key_base = k; s->lv_base = v; s->cap = (int32_t)cap;
        } else {
            memmove(s->key_base + lo, s->key, (size_t)s->n * sizeof(int64_t));
            memmove(s->lv_base + lo, s->lv, (size_t)s->n * sizeof(int32_t));
        }
        s->lo = lo;
        s->key = s->key_base + lo;
        s->lv = s->lv_base + lo;
    }
    if (sq_l3_map_reserve(&s->prices)) return SQ_L3_ERR_NOMEM;
    if (b->free_level < 0 && b->n_levels_used == b->cap_levels) {
        int64_t cap = b->cap_levels ? (int64_t)b->cap_levels * 2 : 64;
        if (cap > INT32_MAX) return SQ_L3_ERR_NOMEM;
        sq_l3_level *p = (sq_l3_level *)sq_l3_grow(b->levels, (size_t)b->cap_levels * sizeof(sq_l3_level),
                                                   (size_t)cap * sizeof(sq_l3_level));
        if (!p) return SQ_L3_ERR_NOMEM;
        b->levels = p;
        b->cap_levels = (int32_t)cap;
    }
    return SQ_L3_OK;
}

/* ------------------------------------------------------------------ sorted levels */

/* First index i with key[i] >= k (n if none): scans the last 8 keys (near the best), then bisects. */
static inline int32_t sq_l3_lower_bound(const sq_l3_side *s, int64_t k) {
    const int64_t *key = s->key;
    int32_t n = s->n;
    int32_t lim = n > 8 ? n - 8 : 0;
    int32_t i = n;
    while (i > lim && key[i - 1] >= k) i--;
    if (i > lim || lim == 0) return i;
    if (key[0] >= k) return 0; /* at the worst end (a snapshot, best first) */
    int32_t lo = 0, hi = lim; /* key[lim] >= k */
    while (lo < hi) {
        int32_t mid = (lo + hi) >> 1;
        if (key[mid] >= k) hi = mid; else lo = mid + 1;
    }
    return lo;
}

/* The level slot at (side, price), or -1. */
SQ_L3_HOT int32_t sq_l3_level_at(const sq_l3_book *b, int side, int64_t price) {
    return sq_l3_get(&b->sides[side].prices, (uint64_t)price);
}

/* The level at (side, price), created empty if absent (after sq_l3_level_reserve: cannot fail). */
static inline int32_t sq_l3_level_get(sq_l3_book *b, int side, int64_t price) {
    sq_l3_side *s = &b->sides[side];
    uint64_t slot = sq_l3_probe(&s->prices, (uint64_t)price);
    int32_t l = s->prices.slots[slot].val;
    if (l >= 0) return l;
    l = b->free_level;
    if (l >= 0) b->free_level = b->levels[l].head; else l = b->n_levels_used++;
    sq_l3_level *lv = &b->levels[l];
    lv->price = price; lv->qty = 0; lv->count = 0; lv->head = -1; lv->tail = -1; lv->side = side;
    sq_l3_map_put_at(&s->prices, slot, (uint64_t)price, l);
    int64_t k = sq_l3_key(side, price);
    int32_t i = sq_l3_lower_bound(s, k);
    int32_t m = s->n - i;
    if (m <= i) { /* fewer entries after i: shift them up (room: lo + n < cap, from sq_l3_level_reserve) */
        if (m <= 8) { /* near the best: a short loop beats two memmove calls */
            for (int32_t j = s->n; j > i; j--) { s->key[j] = s->key[j - 1]; s->lv[j] = s->lv[j - 1]; }
        } else {
            memmove(s->key + i + 1, s->key + i, (size_t)m * sizeof(int64_t));
            memmove(s->lv + i + 1, s->lv + i, (size_t)m * sizeof(int32_t));
        }
    } else { /* fewer before: shift them down (room: lo > 0) */
        s->key--; s->lv--; s->lo--;
        if (i <= 8) {
            for (int32_t j = 0; j < i; j++) { s->key[j] = s->key[j + 1]; s->lv[j] = s->lv[j + 1]; }
        } else {
            memmove(s->key, s->key + 1, (size_t)i * sizeof(int64_t));
            memmove(s->lv, s->lv + 1, (size_t)i * sizeof(int32_t));
        }
    }
    s->key[i] = k; s->lv[i] = l; s->n++;
    return l;
}

/* Remove level l from its side and return it to the pool. */
static inline void sq_l3_level_drop(sq_l3_book *b, int32_t l) {
    sq_l3_level *lv = &b->levels[l];
    sq_l3_side *s = &b->sides[lv->side];
    sq_l3_map_del_at(&s->prices, sq_l3_probe(&s->prices, (uint64_t)lv->price));
    int32_t i = sq_l3_lower_bound(s, sq_l3_key(lv->side, lv->price));
    int32_t m = s->n - i - 1;
    if (m <= i) { /* fewer entries after i: shift them down */
        if (m <= 8) {
            for (int32_t j = i; j < s->n - 1; j++) { s->key[j] = s->key[j + 1]; s->lv[j] = s->lv[j + 1]; }
        } else {
            memmove(s->key + i, s->key + i + 1, (size_t)m * sizeof(int64_t));
            memmove(s->lv + i, s->lv + i + 1, (size_t)m * sizeof(int32_t));
        }
    } else { /* fewer before: shift them up */
        if (i <= 8) {
            for (int32_t j = i; j > 0; j--) { s->key[j] = s->key[j - 1]; s->lv[j] = s->lv[j - 1]; }
        } else {
            memmove(s->key + 1, s->key, (size_t)i * sizeof(int64_t));
            memmove(s->lv + 1, s->lv, (size_t)i * sizeof(int32_t));
        }
        s->key++; s->lv++; s->lo++;
    }
    s->n--;
    lv->head = b->free_level;
    b->free_level = l;
}

/* ------------------------------------------------------------------ FIFO lists */

/* cond ? (int32_t *)a : b without a branch (the compiler turns a ?: on pointers into a jump here). */
SQ_L3_HOT int32_t *sq_l3_sel(int cond, uintptr_t a, int32_t *b) {
    uintptr_t m = (uintptr_t)0 - (uintptr_t)(cond != 0);
    return (int32_t *)((a & m) | ((uintptr_t)b & ~m));
}

/* Append o (qty already set) at the back of level l; the caller checked that the total fits. */
SQ_L3_HOT void sq_l3_append(sq_l3_book *b, int32_t l, int32_t o) {
    sq_l3_level *lv = &b->levels[l];
    sq_l3_order *od = &b->orders[o];
    lv->qty += od->qty;
    int32_t t = lv->tail;
    od->level = l; od->next = -1; od->prev = t;
    *sq_l3_sel(t >= 0, (uintptr_t)b->orders + (size_t)t * sizeof(sq_l3_order) + offsetof(sq_l3_order, next),
               &lv->head) = o;
    lv->tail = o;
    lv->count++;
}

/* Unlink o from its level's queue without dropping the level. */
SQ_L3_HOT void sq_l3_detach(sq_l3_book *b, sq_l3_level *lv, sq_l3_order *od) {
    int32_t p = od->prev, nx = od->next;
    /* whether o is first / last in its queue is data-dependent: select the link to write, no branch */
    *sq_l3_sel(p >= 0, (uintptr_t)b->orders + (size_t)p * sizeof(sq_l3_order) + offsetof(sq_l3_order, next),
               &lv->head) = nx;
    *sq_l3_sel(nx >= 0, (uintptr_t)b->orders + (size_t)nx * sizeof(sq_l3_order) + offsetof(sq_l3_order, prev),
               &lv->tail) = p;
    lv->qty -= od->qty;
    lv->count--;
}

/* ------------------------------------------------------------------ operations */

/* The order slot of id, or -1. */
static inline int32_t sq_l3_find(const sq_l3_book *b, uint64_t id) { return sq_l3_get(&b->ids, id); }

SQ_L3_HOT int sq_l3_add(sq_l3_book *b, uint64_t id, int side, int64_t price, int64_t qty) {
    if (side != SQ_SIDE_BID && side != SQ_SIDE_ASK) return SQ_L3_ERR_SIDE;
    if (price == SQ_L3_NULL) return SQ_L3_ERR_PRICE;
    if (qty <= 0) return SQ_L3_ERR_QTY;
    uint64_t slot = sq_l3_probe(&b->ids, id);
    if (b->ids.slots[slot].val >= 0) return SQ_L3_ERR_DUPLICATE;
    if ((uint64_t)(b->ids.size + 1) << b->ids.load_shift > b->ids.mask + 1) {
        if (sq_l3_map_reserve(&b->ids)) return SQ_L3_ERR_NOMEM;
        slot = sq_l3_probe(&b->ids, id);
    }
    if (sq_l3_order_reserve(b)) return SQ_L3_ERR_NOMEM;
    const sq_l3_map *pm = &b->sides[side].prices;
    int32_t l = pm->slots[sq_l3_probe(pm, (uint64_t)price)].val;
    if (l >= 0) { /* an existing level (the common case): no room to reserve */
        if (b->levels[l].qty > INT64_MAX - qty) return SQ_L3_ERR_OVERFLOW; /* nothing changed */
    } else {
        if (sq_l3_level_reserve(b, side)) return SQ_L3_ERR_NOMEM;
        l = sq_l3_level_get(b, side, price);
    }
    int32_t o = sq_l3_new_order(b);
    sq_l3_order *od = &b->orders[o];
    od->id = id; od->qty = qty; od->pad = 0;
    sq_l3_append(b, l, o);
    sq_l3_map_put_at(&b->ids, slot, id, o);
    b->live++;
    return SQ_L3_OK;
}

/* Remove order o (found at id-map slot `slot`) entirely. */
SQ_L3_HOT void sq_l3_remove(sq_l3_book *b, int32_t o, uint64_t slot) {
    sq_l3_order *od = &b->orders[o];
    int32_t l = od->level;
    sq_l3_level *lv = &b->levels[l];
    sq_l3_detach(b, lv, od);
    if (lv->count == 0) sq_l3_level_drop(b, l);
    sq_l3_map_del_at(&b->ids, slot);
    od->next = b->free_order;
    b->free_order = o;
    b->live--;
}

/* Reduce order `id` by qty (cancel: qty SQ_L3_NULL = the whole order; execute: qty must be given).
 * Keeps queue priority; removes the order when it reaches zero. clamp != 0: more than resting
 * removes the whole order and reports SQ_L3_ERR_OVERFILL after doing so. */
SQ_L3_HOT int sq_l3_reduce(sq_l3_book *b, uint64_t id, int64_t qty, int allow_null, int clamp) {
    if (qty == SQ_L3_NULL) { if (!allow_null) return SQ_L3_ERR_QTY; }
    else if (qty <= 0) return SQ_L3_ERR_QTY;
    uint64_t slot = sq_l3_probe(&b->ids, id);
    int32_t o = b->ids.slots[slot].val;
    if (o < 0) return SQ_L3_ERR_UNKNOWN;
    sq_l3_order *od = &b->orders[o];
    if (qty != SQ_L3_NULL && qty < od->qty) {
        od->qty -= qty;
        b->levels[od->level].qty -= qty;
        return SQ_L3_OK;
    }
    int over = qty != SQ_L3_NULL && qty > od->qty;
    if (over && !clamp) return SQ_L3_ERR_OVERFILL;
    sq_l3_remove(b, o, slot);
    return over ? SQ_L3_ERR_OVERFILL : SQ_L3_OK;
}

/* Modify: same price and smaller size keeps priority; a price change or a larger size goes to the back. */
SQ_L3_HOT int sq_l3_modify(sq_l3_book *b, uint64_t id, int64_t price, int64_t qty) {
    if (price == SQ_L3_NULL) return SQ_L3_ERR_PRICE;
    if (qty <= 0) return SQ_L3_ERR_QTY;
    int32_t o = sq_l3_get(&b->ids, id);
    if (o < 0) return SQ_L3_ERR_UNKNOWN;
    sq_l3_order *od = &b->orders[o];
    int32_t l = od->level;
    sq_l3_level *lv = &b->levels[l];
    if (price == lv->price) {
        if (lv->qty - od->qty > INT64_MAX - qty) return SQ_L3_ERR_OVERFLOW;
        if (qty <= od->qty || lv->tail == o) { /* keeps its place (or is already last) */
            lv->qty += qty - od->qty;
            od->qty = qty;
            return SQ_L3_OK;
        }
        sq_l3_detach(b, lv, od); /* count stays >= 1: o is not the tail */
        od->qty = qty;
        sq_l3_append(b, l, o);
        return SQ_L3_OK;
    }
    int side = lv->side;
    int32_t nl = sq_l3_level_at(b, side, price);
    if (nl >= 0) {
        if (b->levels[nl].qty > INT64_MAX - qty) return SQ_L3_ERR_OVERFLOW;
    } else {
        if (sq_l3_level_reserve(b, side)) return SQ_L3_ERR_NOMEM; /* a failure leaves the book as it was */
        lv = &b->levels[l]; /* the level pool may have moved */
    }
    sq_l3_detach(b, lv, od);
    if (lv->count == 0) sq_l3_level_drop(b, l);
    if (nl < 0) nl = sq_l3_level_get(b, side, price);
    od->qty = qty;
    sq_l3_append(b, nl, o);
    return SQ_L3_OK;
}

/* Release the orders of level l to the pools (the level itself is left to the caller). */
static inline void sq_l3_release_level(sq_l3_book *b, int32_t l) {
    int32_t o = b->levels[l].head;
    while (o >= 0) {
        int32_t nx = b->orders[o].next;
        sq_l3_map_del_at(&b->ids, sq_l3_probe(&b->ids, b->orders[o].id));
        b->orders[o].next = b->free_order;
        b->free_order = o;
        b->live--;
        o = nx;
    }
}

/* Remove every order of one side. */
static inline void sq_l3_clear_side(sq_l3_book *b, int side) {
    sq_l3_side *s = &b->sides[side];
    for (int32_t i = 0; i < s->n; i++) {
        int32_t l = s->lv[i];
        sq_l3_release_level(b, l);
        b->levels[l].head = b->free_level;
        b->free_level = l;
    }
    sq_l3_side_empty(s);
    sq_l3_map_clear(&s->prices);
}

/* Remove every order at (side, price); returns how many. */
static inline int32_t sq_l3_clear_level(sq_l3_book *b, int side, int64_t price) {
    int32_t l = sq_l3_level_at(b, side, price);
    if (l < 0) return 0;
    int32_t n = b->levels[l].count;
    sq_l3_release_level(b, l);
    sq_l3_level_drop(b, l);
    return n;
}

/* ------------------------------------------------------------------ batch */

typedef struct {
    int64_t applied;   /* records that changed (or cleared) the book */
    int64_t unknown;   /* lenient: MODIFY/CANCEL/FILL of an unknown id, skipped */
    int64_t duplicate; /* lenient: ADD of an id already resting, skipped */
    int64_t overfill;  /* lenient: CANCEL/FILL of more than resting, the order removed */
} sq_l3_counts;

#ifndef SQ_L3_AHEAD
#define SQ_L3_AHEAD 8  /* records ahead whose id-map slot is prefetched */
#endif
#ifndef SQ_L3_EV_AHEAD
#define SQ_L3_EV_AHEAD 32  /* records ahead prefetched themselves (a day's records do not fit in L2) */
#endif

/* Apply records [0, n) in order. Returns SQ_L3_OK, or an error code with *err_index set to the record
 * that failed (records before it are applied, it is not). strict == 0: unknown ids and duplicate adds
 * are skipped and over-fills clamped, each counted; other errors still stop the batch. */
static inline int sq_l3_apply(sq_l3_book *b, const sq_event *ev, int64_t n, int strict, sq_l3_counts *c,
                              int64_t *err_index) {
    /* counts in locals (a store through c would be assumed to alias the book, forcing reloads) */
    int64_t applied = 0, unknown = 0, duplicate = 0, overfill = 0;
    int st = SQ_L3_OK;
    int64_t i;
    for (i = 0; i < n; i++) {
        const sq_event *e = &ev[i];
        /* hints: a stale address is harmless (the last records prefetch their own slot again) */
        const sq_event *pf = &ev[i + SQ_L3_AHEAD < n ? i + SQ_L3_AHEAD : i];
        __builtin_prefetch(&b->ids.slots[SQ_L3_HASH(pf->order_id, b->ids.shift)]);
        __builtin_prefetch(&ev[i + SQ_L3_EV_AHEAD < n ? i + SQ_L3_EV_AHEAD : i]); /* the record stream */
        unsigned kind = e->kind; /* an if chain, most frequent first, predicts better than a jump table */
        if (kind == SQ_EV_ADD) st = sq_l3_add(b, e->order_id, e->side, e->price, e->qty);
        else if (kind == SQ_EV_CANCEL) st = sq_l3_reduce(b, e->order_id, e->qty, 1, !strict);
        else if (kind == SQ_EV_MODIFY) st = sq_l3_modify(b, e->order_id, e->price, e->qty);
        else if (kind == SQ_EV_FILL) st = sq_l3_reduce(b, e->order_id, e->qty, 0, !strict);
        else if (kind == SQ_EV_CLEAR) {
            if (e->side == SQ_SIDE_NONE) sq_l3_clear_all(b);
            else if (e->side == SQ_SIDE_BID || e->side == SQ_SIDE_ASK) sq_l3_clear_side(b, e->side);
            else { st = SQ_L3_ERR_SIDE; break; }
            applied++;
            continue;
        } else continue;
        if (st == SQ_L3_OK) { applied++; continue; }
        if (!strict) {
            if (st == SQ_L3_ERR_UNKNOWN) { unknown++; continue; }
            if (st == SQ_L3_ERR_DUPLICATE) { duplicate++; continue; }
            if (st == SQ_L3_ERR_OVERFILL) { overfill++; applied++; continue; }
        }
        break;
    }
    c->applied += applied; c->unknown += unknown; c->duplicate += duplicate; c->overfill += overfill;
    if (i < n) { *err_index = i; return st; }
    return SQ_L3_OK;
}

#endif /* SQ_BOOK_L3_H */
