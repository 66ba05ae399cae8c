/*
 * Write-ahead-log framing (see docs/wal.md for the byte-by-byte format).
 *
 * Segment header (32 bytes, little-endian):
 *   0  u8[8]  magic "SQWALSEG"
 *   8  u32    version (1)
 *   12 u32    header length (32)
 *   16 u64    first_seq: sequence number of the segment's first record
 *   24 u32    flags: bit 0 SQW_SEG_PREV_SYNCED (every earlier segment was durable when this one was made)
 *   28 u32    masked CRC-32C of bytes 0..28
 *
 * Frame (one group commit), 8-byte aligned:
 *   0  u32    masked CRC-32C of bytes 4..32 of the header, then of the body (body_len bytes)
 *   4  u32    body_len (bytes, <= SQW_MAX_BODY, padding excluded)
 *   8  u64    first_seq
 *   16 u32    count (>= 1)
 *   20 u32    flags: low 16 bits SQW_F_*, high 16 bits the tag SQW_TAG
 *   24 u64    synced_seq: the last sequence number the writer knew durable when it wrote this frame
 *   32 body, then zero padding to a multiple of 8
 * Body: SQW_F_FIXED64 -> count records of 64 bytes; else u32 lengths[count] then the payloads back to back.
 */
#ifndef SQ_WAL_H
#define SQ_WAL_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sq_crc32c.h"

#define SQW_SEG_HDR 32
#define SQW_FRAME_HDR 32
#define SQW_VERSION 1u
#define SQW_TAG 0x5157u
#define SQW_F_FIXED64 1u
#define SQW_SEG_PREV_SYNCED 1u
#define SQW_F_KNOWN 1u
#define SQW_MAX_BODY (64u << 20) /* format cap on a frame body: 64 MiB */
#define SQW_MAX_COUNT (16u << 20)

/* status codes of sqw_check_frame / sqw_scan */
#define SQW_OK 0
#define SQW_NEED 1        /* the frame is not complete in the buffer; *need = its total size */
#define SQW_ZERO 2        /* an all-zero header: end of the written part (preallocated tail) */
#define SQW_BAD_TAG 3     /* the flags word does not carry the tag, or unknown flags */
#define SQW_BAD_LEN 4     /* body length over the cap or inconsistent with count */
#define SQW_BAD_CRC 5     /* checksum mismatch */
#define SQW_BAD_PAD 6     /* non-zero padding */
#define SQW_BAD_RECORDS 7 /* record lengths do not add up, or a record is over the cap */
#define SQW_BAD_SEQ 8     /* a valid frame whose first_seq is not the expected one */

static const char SQW_SEG_MAGIC[8] = {'S', 'Q', 'W', 'A', 'L', 'S', 'E', 'G'};

static inline uint32_t sqw_ld32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}
static inline uint64_t sqw_ld64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}
static inline void sqw_st32(uint8_t *p, uint32_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, 4);
}
static inline void sqw_st64(uint8_t *p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

static inline int64_t sqw_pad8(int64_t n) { return (n + 7) & ~(int64_t)7; }

typedef struct sqw_frame {
    int64_t offset;      /* of the frame header, in the file */
    int64_t total;       /* header + body + padding */
    uint64_t first_seq;
    uint64_t count;
    uint64_t flags;
    uint64_t synced_seq;
    uint64_t body_len;
} sqw_frame;

static void sqw_segment_header(uint8_t *h, uint64_t first_seq, uint32_t flags) {
    memset(h, 0, SQW_SEG_HDR);
    memcpy(h, SQW_SEG_MAGIC, 8);
    sqw_st32(h + 8, SQW_VERSION);
    sqw_st32(h + 12, SQW_SEG_HDR);
    sqw_st64(h + 16, first_seq);
    sqw_st32(h + 24, flags);
    sqw_st32(h + 28, sq_crc_mask(sq_crc32c(0, h, 28)));
}

/* 0 ok; 1 bad magic; 2 bad version/length/flags; 3 bad crc */
static int sqw_parse_segment_header(const uint8_t *h, uint64_t *first_seq, uint32_t *flags) {
    if (memcmp(h, SQW_SEG_MAGIC, 8) != 0) return 1;
    if (sq_crc_unmask(sqw_ld32(h + 28)) != sq_crc32c(0, h, 28)) return 3;
    if (sqw_ld32(h + 8) != SQW_VERSION || sqw_ld32(h + 12) != SQW_SEG_HDR || (sqw_ld32(h + 24) & ~SQW_SEG_PREV_SYNCED))
        return 2;
    *first_seq = sqw_ld64(h + 16);
    *flags = sqw_ld32(h + 24);
    return 0;
}

/* Fill a frame header; the CRC covers header bytes 4..32, then `lens` (lens_n bytes), then `data`. */
static void sqw_frame_header(uint8_t *h, uint32_t body_len, uint64_t first_seq, uint32_t count, uint32_t flags,
                             uint64_t synced_seq, const void *lens, size_t lens_n, const void *data, size_t data_n) {
    sqw_st32(h + 4, body_len);
    sqw_st64(h + 8, first_seq);
    sqw_st32(h + 16, count);
    sqw_st32(h + 20, (SQW_TAG << 16) | (flags & 0xffffu));
    sqw_st64(h + 24, synced_seq);
    uint32_t c = sq_crc32c(0, h + 4, SQW_FRAME_HDR - 4);
    if (lens_n) c = sq_crc32c(c, lens, lens_n);
    if (data_n) c = sq_crc32c(c, data, data_n);
    sqw_st32(h, sq_crc_mask(c));
}

static int sqw_all_zero(const uint8_t *p, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w) return 0;
    }
    for (; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* one past the last non-zero byte of p[0..n), 0 if all zero */
static int64_t sqw_nonzero_end(const uint8_t *p, int64_t n) {
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p + n - 8, 8);
        if (w) break;
        n -= 8;
    }
    while (n > 0 && p[n - 1] == 0) n--;
    return n;
}

/* Parse the header fields only (no CRC): cheap plausibility used before reading a body. */
static int sqw_check_header(const uint8_t *p, uint32_t max_body, sqw_frame *f) {
    if (sqw_all_zero(p, SQW_FRAME_HDR)) return SQW_ZERO;
    uint32_t flags = sqw_ld32(p + 20);
    if ((flags >> 16) != SQW_TAG || (flags & 0xffffu & ~SQW_F_KNOWN)) return SQW_BAD_TAG;
    uint32_t body_len = sqw_ld32(p + 4);
    uint32_t count = sqw_ld32(p + 16);
    if (body_len > max_body || body_len > SQW_MAX_BODY || count == 0 || count > SQW_MAX_COUNT) return SQW_BAD_LEN;
    if (flags & SQW_F_FIXED64) {
        if ((uint64_t)count * 64u != body_len) return SQW_BAD_LEN;
    } else if ((uint64_t)count * 4u > body_len) {
        return SQW_BAD_LEN;
    }
    f->body_len = body_len;
    f->total = SQW_FRAME_HDR + sqw_pad8(body_len);
    f->first_seq = sqw_ld64(p + 8);
    f->count = count;
    f->flags = flags & 0xffffu;
    f->synced_seq = sqw_ld64(p + 24);
    return SQW_OK;
}

/* Validate one frame at p (avail bytes available). On SQW_NEED, f->total is the size needed. */
static int sqw_check_frame(const uint8_t *p, int64_t avail, uint32_t max_body, uint32_t max_record, sqw_frame *f) {
    if (avail < SQW_FRAME_HDR) {
        f->total = SQW_FRAME_HDR;
        return SQW_NEED;
    }
    int st = sqw_check_header(p, max_body, f);
    if (st != SQW_OK) return st;
    if (f->total > avail) return SQW_NEED;
    uint32_t c = sq_crc32c(0, p + 4, SQW_FRAME_HDR - 4);
    c = sq_crc32c(c, p + SQW_FRAME_HDR, f->body_len);
    if (sq_crc_unmask(sqw_ld32(p)) != c) return SQW_BAD_CRC;
    if (!sqw_all_zero(p + SQW_FRAME_HDR + f->body_len, f->total - SQW_FRAME_HDR - (int64_t)f->body_len))
        return SQW_BAD_PAD;
    if (!(f->flags & SQW_F_FIXED64)) {
        const uint8_t *lens = p + SQW_FRAME_HDR;
        uint64_t sum = 0;
        for (uint64_t i = 0; i < f->count; i++) {
            uint32_t l = sqw_ld32(lens + 4 * i);
            if (l > max_record) return SQW_BAD_RECORDS;
            sum += l;
        }
        if (sum + 4u * f->count != f->body_len) return SQW_BAD_RECORDS;
    } else if (max_record < 64) {
        return SQW_BAD_RECORDS;
    }
    return SQW_OK;
}

/*
 * Validate consecutive frames in buf[start..n) (buf[0] is at file offset base). Each frame must start with
 * `*expected_seq`; on success *expected_seq advances. Up to max_out frames are written to out. Returns the
 * number of frames; *status is SQW_OK when max_out frames were read, else the code that stopped the scan
 * at *stop (a buffer index); for SQW_NEED, *need is the total size of the frame at *stop.
 */
static int64_t sqw_scan(const uint8_t *buf, int64_t n, int64_t start, int64_t base, uint64_t *expected_seq,
                        uint32_t max_body, uint32_t max_record, sqw_frame *out, int64_t max_out, int *status,
                        int64_t *stop, int64_t *need) {
    int64_t pos = start, k = 0;
    *need = 0;
    while (k < max_out) {
        sqw_frame f;
        int st = sqw_check_frame(buf + pos, n - pos, max_body, max_record, &f);
        if (st == SQW_OK && f.first_seq != *expected_seq) st = SQW_BAD_SEQ;
        if (st != SQW_OK) {
            *status = st;
            *stop = pos;
            if (st == SQW_NEED) *need = f.total;
            return k;
        }
        f.offset = base + pos;
        out[k++] = f;
        *expected_seq += f.count;
        pos += f.total;
    }
    *status = SQW_OK;
    *stop = pos;
    return k;
}

/*
 * Search buf[start..n) at 8-byte aligned file offsets (buf[0] at file offset base, base % 8 == 0) for the
 * first position holding a valid frame. Returns SQW_OK with *at and *f set; SQW_NEED with *at when a
 * plausible header's frame runs past the buffer (*f->total = size needed); SQW_ZERO when nothing was found
 * (*at = n rounded down to 8).
 */
static int sqw_find_frame(const uint8_t *buf, int64_t n, int64_t start, uint32_t max_body, uint32_t max_record,
                          int64_t *at, sqw_frame *f) {
    int64_t pos = sqw_pad8(start);
    for (; pos + SQW_FRAME_HDR <= n; pos += 8) {
        uint32_t flags = sqw_ld32(buf + pos + 20);
        if ((flags >> 16) != SQW_TAG) continue;
        int st = sqw_check_frame(buf + pos, n - pos, max_body, max_record, f);
        if (st == SQW_OK || st == SQW_NEED) {
            *at = pos;
            return st;
        }
    }
    *at = pos;
    return SQW_ZERO;
}

/*
 * Write iov[0..n) at file offset off with pwritev2, continuing after short writes and EINTR (iov is
 * consumed). Returns 0, or the errno of the failing call (EIO for a zero-byte write); *done = bytes written.
 */
static int sqw_pwritev_all(int fd, struct iovec *iov, int n, int64_t off, int64_t *done) {
    int i = 0;
    *done = 0;
    while (i < n) {
        ssize_t r = pwritev2(fd, &iov[i], n - i, (off_t)off, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) return EIO;
        off += r;
        *done += r;
        while (i < n && (size_t)r >= iov[i].iov_len) {
            r -= (ssize_t)iov[i].iov_len;
            i++;
        }
        if (i < n && r) {
            iov[i].iov_base = (uint8_t *)iov[i].iov_base + r;
            iov[i].iov_len -= (size_t)r;
        }
    }
    return 0;
}

/*
 * The background frame writer of policy none (one per WalWriter): a bounded single-producer /
 * single-consumer queue of SQW_WORKER_DEPTH frames. The producer (the appending thread) fills job slot
 * tail % DEPTH once it is free (tail - head < DEPTH) and publishes it by advancing tail; the consumer (the
 * writer thread, in sqw_worker_serve, no GIL) writes job head % DEPTH and then advances head, which frees
 * the slot. Frames are written one at a time in posting order. One condition variable, broadcast on every
 * change, serves both sides. After an error (`err`, the first failing errno) the consumer writes nothing
 * more and drains the queue: the log stops at the failed frame.
 */
#define SQW_WORKER_IOV 4
#define SQW_WORKER_DEPTH 4
typedef struct {
    int fd, niov;
    int64_t off;
    struct iovec iov[SQW_WORKER_IOV];
} sqw_job;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t head, tail; /* jobs [head, tail) are posted and not yet written */
    int stop, err;
    sqw_job jobs[SQW_WORKER_DEPTH];
} sqw_worker;

static void sqw_worker_serve(sqw_worker *w) {
    sqw_job job;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == w->tail && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
        if (w->head == w->tail) break; /* stopped with nothing left to write */
        job = w->jobs[w->head % SQW_WORKER_DEPTH];
        int e = w->err;
        pthread_mutex_unlock(&w->mu);
        int64_t done = 0;
        if (!e) e = sqw_pwritev_all(job.fd, job.iov, job.niov, job.off, &done);
        pthread_mutex_lock(&w->mu);
        if (e && !w->err) w->err = e;
        w->head++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

/* Wait until at most `max_pending` jobs are pending; returns the worker's error (0 if none). */
static int sqw_worker_wait(sqw_worker *w, uint64_t max_pending) {
    pthread_mutex_lock(&w->mu);
    while (w->tail - w->head > max_pending) pthread_cond_wait(&w->cv, &w->mu);
    int e = w->err;
    pthread_mutex_unlock(&w->mu);
    return e;
}

/* The slot the next job goes to (free after sqw_worker_wait(w, DEPTH - 1)); only the producer calls it. */
static int sqw_worker_slot(sqw_worker *w) {
    pthread_mutex_lock(&w->mu);
    int k = (int)(w->tail % SQW_WORKER_DEPTH);
    pthread_mutex_unlock(&w->mu);
    return k;
}

/* Publish the job in slot tail % DEPTH (the caller waited for it to be free). */
static void sqw_worker_post(sqw_worker *w, int fd, int64_t off, const struct iovec *iov, int n) {
    pthread_mutex_lock(&w->mu);
    sqw_job *j = &w->jobs[w->tail % SQW_WORKER_DEPTH];
    j->fd = fd;
    j->off = off;
    memcpy(j->iov, iov, (size_t)n * sizeof(struct iovec));
    j->niov = n;
    w->tail++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int sqw_worker_pending(sqw_worker *w) {
    pthread_mutex_lock(&w->mu);
    int n = (int)(w->tail - w->head);
    pthread_mutex_unlock(&w->mu);
    return n;
}

static void sqw_worker_stop(sqw_worker *w) {
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

#endif /* SQ_WAL_H */
