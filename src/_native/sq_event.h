/*
 * The market-event record: one fixed-width 64-byte struct shared by the order book's batch API,
 * the WAL, recordings and the backtester. Mirrored by shrivenquant.core.events.EVENT_DTYPE; a test
 * checks that sizeof, offsets and field sizes agree.
 *
 * Prices and quantities are raw int64 at the instrument's price/size precision
 * (SQ_RAW_NULL = INT64_MIN where a record has no price or quantity). Timestamps are ns since the
 * Unix epoch, UTC.
 */
#ifndef SQ_EVENT_H
#define SQ_EVENT_H

#include <stdint.h>
#include <stddef.h>

typedef struct sq_event {
    int64_t ts_event;       /*  0: exchange timestamp, ns UTC (0 if the venue gave none) */
    int64_t ts_local;       /*  8: local receive timestamp, ns UTC */
    int64_t price;          /* 16: raw price at the instrument's price precision */
    int64_t qty;            /* 24: raw quantity at the instrument's size precision (L2: the new level size) */
    uint64_t order_id;      /* 32: venue order id (L3), else 0 */
    uint64_t seq;           /* 40: venue sequence: depth update id `u`, trade id, ... */
    int64_t aux;            /* 48: kind-specific: first update id `U`, previous `pu`, order count, ... */
    uint32_t instrument_id; /* 56: index into the run's instrument table */
    uint8_t kind;           /* 60: SQ_EV_* */
    uint8_t side;           /* 61: SQ_SIDE_* (for TRADE: the aggressor side) */
    uint8_t flags;          /* 62: SQ_F_* bits */
    uint8_t reserved;       /* 63: zero */
} sq_event;

/* kinds */
#define SQ_EV_NONE 0
#define SQ_EV_LEVEL 1    /* L2: set the level at `price` on `side` to `qty` (0 deletes) */
#define SQ_EV_CLEAR 2    /* clear the book (side NONE) or one side */
#define SQ_EV_ADD 3      /* L3: add order `order_id` */
#define SQ_EV_MODIFY 4   /* L3: change order `order_id` to `price`/`qty` */
#define SQ_EV_CANCEL 5   /* L3: remove order `order_id` (qty = size removed, if known) */
#define SQ_EV_FILL 6     /* L3: resting order `order_id` executed for `qty` at `price` */
#define SQ_EV_TRADE 7    /* a public trade print; side = aggressor */
#define SQ_EV_BBO 8      /* top of book for one side (a bookTicker gives a BID and an ASK record) */
#define SQ_EV_MARK 9     /* mark / index price */
#define SQ_EV_KIND_MAX 9

/* sides */
#define SQ_SIDE_NONE 0
#define SQ_SIDE_BID 1    /* = BUY */
#define SQ_SIDE_ASK 2    /* = SELL */

/* flags */
#define SQ_F_LAST 1      /* last record of one venue message / packet: the book is consistent after it */
#define SQ_F_SNAPSHOT 2  /* part of a snapshot */
#define SQ_F_TOB 4       /* top-of-book only data */
#define SQ_F_MBP 8       /* market-by-price (L2) data */
#define SQ_F_BAD_TS 16   /* ts_event missing or not from the venue */

#endif /* SQ_EVENT_H */
