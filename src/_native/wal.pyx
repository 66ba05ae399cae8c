# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=True, embedsignature=True, autotestdict=False, annotation_typing=False
"""Native write-ahead-log primitives: CRC-32C and frame encoding / validation (see ``docs/wal.md``).

The C core is ``sq_crc32c.h`` (SSE4.2 ``crc32`` with three interleaved streams, slicing-by-8 fallback,
chosen at run time) and ``sq_wal.h`` (segment header, frame header, frame check, scanner). This module
is a thin layer for :mod:`shrivenquant.wal`: a reusable :class:`FrameBuilder` that packs many records
into one frame body without a Python object per record, and scanners used by recovery and the reader.
The GIL is released for CRCs of large buffers.
"""

cimport cython
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE,
                             PyBUF_FORMAT, PyBUF_C_CONTIGUOUS)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize, PyBytes_CheckExact
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

import numpy as _np

cdef extern from "<sys/uio.h>" nogil:
    cdef struct iovec:
        void *iov_base
        size_t iov_len
    ssize_t pwritev2(int fd, const iovec *iov, int iovcnt, long long offset, int flags)

cdef extern from "<unistd.h>" nogil:
    int fdatasync(int fd)

from libc.errno cimport errno, EINTR, EIO
from libc.string cimport strerror

from shrivenquant.errors import ValidationError as _ValidationError

cdef extern from "sq_wal.h" nogil:
    const int SQW_SEG_HDR_C "SQW_SEG_HDR"
    const int SQW_FRAME_HDR_C "SQW_FRAME_HDR"
    const unsigned int SQW_MAX_BODY_C "SQW_MAX_BODY"
    const unsigned int SQW_MAX_COUNT_C "SQW_MAX_COUNT"
    const unsigned int SQW_F_FIXED64_C "SQW_F_FIXED64"
    const unsigned int SQW_SEG_PREV_SYNCED_C "SQW_SEG_PREV_SYNCED"
    const int SQW_OK_C "SQW_OK"
    const int SQW_NEED_C "SQW_NEED"
    const int SQW_ZERO_C "SQW_ZERO"
    const int SQW_BAD_TAG_C "SQW_BAD_TAG"
    const int SQW_BAD_LEN_C "SQW_BAD_LEN"
    const int SQW_BAD_CRC_C "SQW_BAD_CRC"
    const int SQW_BAD_PAD_C "SQW_BAD_PAD"
    const int SQW_BAD_RECORDS_C "SQW_BAD_RECORDS"
    const int SQW_BAD_SEQ_C "SQW_BAD_SEQ"
    ctypedef struct sqw_frame:
        int64_t offset
        int64_t total
        uint64_t first_seq
        uint64_t count
        uint64_t flags
        uint64_t synced_seq
        uint64_t body_len
    void sq_crc32c_init()
    int sq_crc_hw
    uint32_t sq_crc32c(uint32_t crc, const void *buf, size_t n)
    uint32_t sq_crc32c_sw(uint32_t crc, const void *buf, size_t n)
    uint32_t sq_crc_mask(uint32_t crc)
    uint32_t sq_crc_unmask(uint32_t m)
    void sqw_segment_header(uint8_t *h, uint64_t first_seq, uint32_t flags)
    int sqw_parse_segment_header(const uint8_t *h, uint64_t *first_seq, uint32_t *flags)
    void sqw_frame_header(uint8_t *h, uint32_t body_len, uint64_t first_seq, uint32_t count, uint32_t flags,
                          uint64_t synced_seq, const void *lens, size_t lens_n, const void *data, size_t data_n)
    int sqw_all_zero(const uint8_t *p, int64_t n)
    int64_t sqw_pad8(int64_t n)
    int64_t sqw_nonzero_end(const uint8_t *p, int64_t n)
    int sqw_check_frame(const uint8_t *p, int64_t avail, uint32_t max_body, uint32_t max_record, sqw_frame *f)
    int64_t sqw_scan(const uint8_t *buf, int64_t n, int64_t start, int64_t base, uint64_t *expected_seq,
                     uint32_t max_body, uint32_t max_record, sqw_frame *out, int64_t max_out, int *status,
                     int64_t *stop, int64_t *need)
    int sqw_find_frame(const uint8_t *buf, int64_t n, int64_t start, uint32_t max_body, uint32_t max_record,
                       int64_t *at, sqw_frame *f)
    int sqw_pwritev_all(int fd, iovec *iov, int n, int64_t off, int64_t *done)
    ctypedef struct sqw_worker:
        int stop
        int err
    int SQW_WORKER_IOV
    enum: SQW_WORKER_DEPTH
    void sqw_worker_serve(sqw_worker *w)
    int sqw_worker_wait(sqw_worker *w, uint64_t max_pending)
    int sqw_worker_slot(sqw_worker *w)
    int sqw_worker_pending(sqw_worker *w)
    void sqw_worker_post(sqw_worker *w, int fd, int64_t off, const iovec *iov, int n)
    void sqw_worker_stop(sqw_worker *w)

cdef extern from "<pthread.h>" nogil:
    ctypedef struct pthread_mutex_t:
        pass
    ctypedef struct pthread_cond_t:
        pass
    int pthread_mutex_init(pthread_mutex_t *m, const void *attr)
    int pthread_mutex_destroy(pthread_mutex_t *m)
    int pthread_mutex_lock(pthread_mutex_t *m)
    int pthread_mutex_unlock(pthread_mutex_t *m)
    int pthread_cond_init(pthread_cond_t *c, const void *attr)
    int pthread_cond_destroy(pthread_cond_t *c)

cdef extern from *:
    """
    static inline pthread_mutex_t *sqw_worker_mu(sqw_worker *w) { return &w->mu; }
    static inline pthread_cond_t *sqw_worker_cv(sqw_worker *w) { return &w->cv; }
    """
    pthread_mutex_t *sqw_worker_mu(sqw_worker *w) nogil
    pthread_cond_t *sqw_worker_cv(sqw_worker *w) nogil

from libc.stdlib cimport malloc, free

sq_crc32c_init()

SEG_HDR = SQW_SEG_HDR_C
FRAME_HDR = SQW_FRAME_HDR_C
MAX_BODY = SQW_MAX_BODY_C
MAX_COUNT = SQW_MAX_COUNT_C
F_FIXED64 = SQW_F_FIXED64_C
SEG_PREV_SYNCED = SQW_SEG_PREV_SYNCED_C
ST_OK = SQW_OK_C
ST_NEED = SQW_NEED_C
ST_ZERO = SQW_ZERO_C
ST_BAD_TAG = SQW_BAD_TAG_C
ST_BAD_LEN = SQW_BAD_LEN_C
ST_BAD_CRC = SQW_BAD_CRC_C
ST_BAD_PAD = SQW_BAD_PAD_C
ST_BAD_RECORDS = SQW_BAD_RECORDS_C
ST_BAD_SEQ = SQW_BAD_SEQ_C

cdef Py_ssize_t _NOGIL_BYTES = 16384
cdef bytes _ZEROS8 = b"\0" * 8


@cython.auto_pickle(False)
cdef class _Buf:
    """A read-only (or writable) view of a buffer for the duration of one call."""
    cdef Py_buffer view
    cdef bint held

    def __cinit__(self, object obj, bint writable=False):
        PyObject_GetBuffer(obj, &self.view, PyBUF_WRITABLE if writable else PyBUF_SIMPLE)
        self.held = True

    def __dealloc__(self):
        if self.held:
            PyBuffer_Release(&self.view)


cdef inline uint32_t _crc_buf(uint32_t value, const uint8_t *p, Py_ssize_t n, bint sw) noexcept:
    if sw:
        if n >= _NOGIL_BYTES:
            with nogil:
                value = sq_crc32c_sw(value, p, <size_t>n)
            return value
        return sq_crc32c_sw(value, p, <size_t>n)
    if n >= _NOGIL_BYTES:
        with nogil:
            value = sq_crc32c(value, p, <size_t>n)
        return value
    return sq_crc32c(value, p, <size_t>n)


def crc32c(data, unsigned int value=0):
    """CRC-32C (Castagnoli) of a bytes-like object, continuing from ``value`` (0 to start).

    Hardware (SSE4.2) when the CPU has it, else slicing-by-8; ``crc32c(b"123456789") == 0xE3069283``.
    """
    cdef _Buf b = _Buf(data)
    return _crc_buf(value, <const uint8_t *>b.view.buf, b.view.len, False)


def crc32c_sw(data, unsigned int value=0):
    """The portable slicing-by-8 CRC-32C (for tests and CPUs without SSE4.2)."""
    cdef _Buf b = _Buf(data)
    return _crc_buf(value, <const uint8_t *>b.view.buf, b.view.len, True)


def crc32c_hardware():
    """True if :func:`crc32c` uses the SSE4.2 instruction on this CPU."""
    return bool(sq_crc_hw)


def mask_crc(unsigned int crc):
    """LevelDB's masked form of a CRC (rotate right 15, add 0xa282ead8), stored inside checksummed data."""
    return sq_crc_mask(crc)


def unmask_crc(unsigned int masked):
    """Inverse of :func:`mask_crc`."""
    return sq_crc_unmask(masked)


def segment_header(unsigned long long first_seq, unsigned int flags=0):
    """The 32-byte segment header for a segment whose first record is ``first_seq``; ``flags`` bit 0
    (SEG_PREV_SYNCED) says every earlier segment was durable when this one was created."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, SQW_SEG_HDR_C)
    sqw_segment_header(<uint8_t *>PyBytes_AS_STRING(out), first_seq, flags)
    return out


def parse_segment_header(data):
    """``(code, first_seq, flags)`` of a segment header: code 0 ok, 1 bad magic, 2 bad version, length or
    flags, 3 bad CRC, 4 too short."""
    cdef _Buf b = _Buf(data)
    cdef uint64_t first = 0
    cdef uint32_t flags = 0
    if b.view.len < SQW_SEG_HDR_C:
        return 4, 0, 0
    cdef int code = sqw_parse_segment_header(<const uint8_t *>b.view.buf, &first, &flags)
    return code, first, flags


def frame_header(unsigned long long first_seq, unsigned int count, unsigned int flags,
                 unsigned long long synced_seq, lens, data):
    """The 32-byte frame header of a frame whose body is ``lens`` followed by ``data`` (either may be
    empty); the CRC (computed here, without the GIL for large bodies) covers the header and both."""
    cdef _Buf bl = _Buf(lens)
    cdef _Buf bd = _Buf(data)
    cdef Py_ssize_t body = bl.view.len + bd.view.len
    if body > SQW_MAX_BODY_C:
        raise _ValidationError(f"frame body of {body} bytes is over the format cap of {SQW_MAX_BODY_C}")
    cdef bytes out = PyBytes_FromStringAndSize(NULL, SQW_FRAME_HDR_C)
    cdef uint8_t *h = <uint8_t *>PyBytes_AS_STRING(out)
    if body >= _NOGIL_BYTES:
        with nogil:
            sqw_frame_header(h, <uint32_t>body, first_seq, count, flags, synced_seq,
                             bl.view.buf, <size_t>bl.view.len, bd.view.buf, <size_t>bd.view.len)
    else:
        sqw_frame_header(h, <uint32_t>body, first_seq, count, flags, synced_seq,
                         bl.view.buf, <size_t>bl.view.len, bd.view.buf, <size_t>bd.view.len)
    return out


def pack_lengths(lengths, long long max_record, out):
    """Copy record ``lengths`` (a one-dimensional C-contiguous buffer of native int64) into ``out`` (a
    writable buffer of ``4 * len(lengths)`` bytes) as little-endian u32 and return their sum; -1 if a
    length is negative or over ``max_record``; -2 if ``lengths`` is not such a buffer (nothing is written).
    One pass instead of the min, max, sum and conversion a NumPy caller would make."""
    cdef Py_buffer lv
    try:
        PyObject_GetBuffer(lengths, &lv, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS)
    except (BufferError, ValueError):  # a strided view (NumPy raises ValueError): the caller copies it
        return -2
    cdef _Buf bo
    cdef Py_ssize_t i, n = lv.shape[0] if lv.ndim == 1 else 0
    cdef long long total = 0, l
    cdef uint32_t v
    cdef uint8_t *o
    cdef const int64_t *src = <const int64_t *>lv.buf
    cdef const char *fmt = lv.format
    try:
        if fmt[0] == b'@' or fmt[0] == b'=' or fmt[0] == b'<':
            fmt += 1
        if lv.ndim != 1 or lv.itemsize != 8 or (fmt[0] != b'l' and fmt[0] != b'q') or fmt[1] != 0:
            return -2
        bo = _Buf(out, True)
        o = <uint8_t *>bo.view.buf
        if bo.view.len != 4 * n:
            raise _ValidationError(f"out holds {bo.view.len} bytes, {4 * n} needed")
        for i in range(n):
            l = src[i]
            if l < 0 or l > max_record:
                return -1
            total += l
            v = <uint32_t>l
            memcpy(o + 4 * i, &v, 4)
        return total
    finally:
        PyBuffer_Release(&lv)


cdef extern from *:
    """
    #include <errno.h>
    #include <fcntl.h>
    /* reserve [off, off+len) of fd without changing its size (FALLOC_FL_KEEP_SIZE): 0 or an errno */
    static int sqw_reserve(int fd, long long off, long long len) {
    #if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE)
        int r;
        do { r = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len); } while (r != 0 && errno == EINTR);
        return r == 0 ? 0 : errno;
    #else
        (void)fd; (void)off; (void)len;
        return EOPNOTSUPP;
    #endif
    }
    """
    int sqw_reserve(int fd, long long off, long long len) nogil


def reserve_space(int fd, long long offset, long long length):
    """Reserve the file blocks of ``[offset, offset + length)`` of ``fd`` without changing the file's size
    (Linux ``fallocate`` with ``FALLOC_FL_KEEP_SIZE``; the reserved blocks read as nothing: they lie past the
    end of the file until data is written there). Buffered writes into reserved blocks skip the
    filesystem's per-page block reservation. Raises ``OSError`` (``EOPNOTSUPP`` where the filesystem or
    the platform has no such call)."""
    if offset < 0 or length <= 0:
        raise _ValidationError(f"reserve_space needs offset >= 0 and length > 0, got {offset}, {length}")
    cdef int err
    with nogil:
        err = sqw_reserve(fd, offset, length)
    if err:
        raise OSError(err, strerror(err).decode())


cdef uint8_t _ZBUF[65536]  # zero-initialised: the source of zero padding and of the zeros written ahead
cdef enum:
    _MAX_IOV = 80


def write_frame(int fd, long long offset, unsigned long long first_seq, unsigned int count, unsigned int flags,
                unsigned long long synced_seq, lens, data, Py_ssize_t zeros=0, bint sync=False):
    """Write one frame (header with its CRC, ``lens``, ``data``, zero padding) followed by ``zeros`` zero
    bytes at ``offset`` of ``fd`` with ``pwritev2`` (continuing after short writes), then ``fdatasync`` if
    ``sync``; all without the GIL. Returns the bytes written. Raises ``OSError`` (errno of the failing call)
    on an error: what reached the file is then unknown, as with :func:`os.pwritev`. The native form of the
    writer's one-frame path when it uses the default OS layer."""
    cdef _Buf bl = _Buf(lens)
    cdef _Buf bd = _Buf(data)
    cdef Py_ssize_t body = bl.view.len + bd.view.len
    if body > SQW_MAX_BODY_C:
        raise _ValidationError(f"frame body of {body} bytes is over the format cap of {SQW_MAX_BODY_C}")
    if zeros < 0 or zeros > (_MAX_IOV - 8) * 65536:
        raise _ValidationError(f"zeros must be in 0..{(_MAX_IOV - 8) * 65536}, got {zeros}")
    cdef uint8_t hdr[32]
    cdef iovec iov[_MAX_IOV]
    cdef int n = 0, err = 0
    cdef Py_ssize_t pad = (-body) & 7, total, z = zeros
    cdef int64_t done = 0, off = offset
    total = SQW_FRAME_HDR_C + body + pad + zeros
    with nogil:
        sqw_frame_header(hdr, <uint32_t>body, first_seq, count, flags, synced_seq,
                         bl.view.buf, <size_t>bl.view.len, bd.view.buf, <size_t>bd.view.len)
        iov[n].iov_base = hdr
        iov[n].iov_len = SQW_FRAME_HDR_C
        n += 1
        if bl.view.len:
            iov[n].iov_base = bl.view.buf
            iov[n].iov_len = <size_t>bl.view.len
            n += 1
        if bd.view.len:
            iov[n].iov_base = bd.view.buf
            iov[n].iov_len = <size_t>bd.view.len
            n += 1
        if pad:
            iov[n].iov_base = _ZBUF
            iov[n].iov_len = <size_t>pad
            n += 1
        while z > 0:
            iov[n].iov_base = _ZBUF
            iov[n].iov_len = <size_t>(z if z < 65536 else 65536)
            z -= <Py_ssize_t>iov[n].iov_len
            n += 1
        err = sqw_pwritev_all(fd, iov, n, off, &done)
        if not err and sync:
            while fdatasync(fd) != 0:
                if errno != EINTR:
                    err = errno
                    break
    if err:
        raise OSError(err, strerror(err).decode())
    return done


cdef inline Py_ssize_t _frame_end(const uint8_t *lens, Py_ssize_t s, Py_ssize_t n, int64_t limit,
                                  int64_t *body) noexcept nogil:
    """The writer's greedy cut: the frame starting at record ``s`` of the u32 table ``lens`` ends before the
    returned index (at least one record; body at most ``limit`` bytes otherwise); ``*body`` = its body size."""
    cdef uint32_t l
    memcpy(&l, lens + 4 * s, 4)
    body[0] = 4 + <int64_t>l
    s += 1
    while s < n:
        memcpy(&l, lens + 4 * s, 4)
        if body[0] + 4 + <int64_t>l > limit:
            break
        body[0] += 4 + <int64_t>l
        s += 1
    return s


cdef int64_t _plan_frames(const uint8_t *lens, Py_ssize_t n, int64_t limit, Py_ssize_t *nframes) noexcept nogil:
    """The frames' total size (headers, bodies, padding) for the records of the u32 table ``lens`` cut by
    :func:`_frame_end`."""
    cdef Py_ssize_t i = 0
    cdef int64_t total = 0, body = 0
    nframes[0] = 0
    while i < n:
        i = _frame_end(lens, i, n, limit, &body)
        total += SQW_FRAME_HDR_C + sqw_pad8(body)
        nframes[0] += 1
    return total


def frames_size(lens, Py_ssize_t frame_limit):
    """The bytes that :func:`write_buffer_frames` writes for the packed u32 length table ``lens`` (records cut
    greedily into frames of at most ``frame_limit`` body bytes, at least one record each)."""
    cdef _Buf bl = _Buf(lens)
    cdef Py_ssize_t nf
    return _plan_frames(<const uint8_t *>bl.view.buf, bl.view.len // 4, frame_limit, &nf)


cdef enum:
    _GROUP = 64  # frames per pwritev2 call of write_buffer_frames (4 iovecs each)


def write_buffer_frames(int fd, long long offset, unsigned long long first_seq, unsigned long long synced_seq,
                        lens, data, Py_ssize_t frame_limit):
    """Write the records of one contiguous buffer (``lens``: their packed u32 lengths, summing to the size
    of ``data``) as consecutive variable-record frames at ``offset`` of ``fd``: records cut greedily into
    frames of at most ``frame_limit`` body bytes (at least one record each; the writer's own rule), each
    with its header and CRC, seqs from ``first_seq``, written with ``pwritev2`` (64 frames per call,
    continuing after short writes) without the GIL. Returns the bytes written (:func:`frames_size`).
    Raises ``ValidationError`` if the lengths do not add up or a frame would pass the format cap, and
    ``OSError`` on a write error (what reached the file is then unknown)."""
    cdef _Buf bl = _Buf(lens)
    cdef _Buf bd = _Buf(data)
    cdef const uint8_t *lp = <const uint8_t *>bl.view.buf
    cdef const uint8_t *dp = <const uint8_t *>bd.view.buf
    cdef Py_ssize_t n = bl.view.len // 4, i, s, nf = 0, k
    cdef int64_t sum = 0, body, dbytes, doff = 0, off = offset, done = 0, written = 0
    cdef uint32_t l
    cdef uint8_t hdr[_GROUP * 32]
    cdef iovec iov[_GROUP * 4]
    cdef int niov = 0, err = 0, g = 0
    if bl.view.len % 4:
        raise _ValidationError("the length table is not a whole number of u32")
    for i in range(n):
        memcpy(&l, lp + 4 * i, 4)
        if 4 + <int64_t>l > SQW_MAX_BODY_C:
            raise _ValidationError(f"record {i} of {l} bytes is over the format cap")
        sum += l
    if sum != bd.view.len:
        raise _ValidationError(f"record lengths sum to {sum}, the buffer has {bd.view.len} bytes")
    with nogil:
        i = 0
        while i < n and not err:
            s = i
            i = _frame_end(lp, s, n, frame_limit, &body)
            k = i - s
            dbytes = body - 4 * k
            sqw_frame_header(hdr + 32 * g, <uint32_t>body, first_seq + <uint64_t>s, <uint32_t>k, 0, synced_seq,
                             lp + 4 * s, <size_t>(4 * k), dp + doff, <size_t>dbytes)
            iov[niov].iov_base = hdr + 32 * g
            iov[niov].iov_len = SQW_FRAME_HDR_C
            iov[niov + 1].iov_base = <void *>(lp + 4 * s)
            iov[niov + 1].iov_len = <size_t>(4 * k)
            niov += 2
            if dbytes:
                iov[niov].iov_base = <void *>(dp + doff)
                iov[niov].iov_len = <size_t>dbytes
                niov += 1
            if body & 7:
                iov[niov].iov_base = _ZBUF
                iov[niov].iov_len = <size_t>((-body) & 7)
                niov += 1
            doff += dbytes
            g += 1
            nf += 1
            if g == _GROUP or i == n:
                err = sqw_pwritev_all(fd, iov, niov, off, &done)
                off += done
                written += done
                g = 0
                niov = 0
    if err:
        raise OSError(err, strerror(err).decode())
    return written


def padding(Py_ssize_t body_len):
    """The zero bytes that pad a body of ``body_len`` bytes to a multiple of 8."""
    return _ZEROS8[:(-body_len) & 7]


@cython.auto_pickle(False)
cdef class FrameBuilder:
    """A reusable frame under construction: records are copied into two growing buffers (record lengths
    and payload bytes, or 64-byte event records), then :meth:`seal` returns the pieces to write with one
    ``pwritev``. A frame holds either variable records or fixed 64-byte event records, never both."""

    cdef bytearray _lens
    cdef bytearray _data
    cdef Py_ssize_t _n
    cdef Py_ssize_t _used
    cdef int _fixed  # -1 empty, 0 variable, 1 fixed64
    cdef readonly unsigned int max_record

    def __init__(self, Py_ssize_t capacity=1 << 20, unsigned int max_record=SQW_MAX_BODY_C - 4):
        if capacity < 64:
            capacity = 64
        self._data = bytearray(capacity)
        self._lens = bytearray(max(64, capacity // 16))
        self._n = 0
        self._used = 0
        self._fixed = -1
        self.max_record = max_record

    @property
    def count(self):
        """Records in the frame."""
        return self._n

    @property
    def nbytes(self):
        """Body bytes so far (lengths table included)."""
        return self._used + (0 if self._fixed == 1 else 4 * self._n)

    @property
    def fixed(self):
        """None when empty, True for 64-byte event records, False for variable records."""
        return None if self._fixed < 0 else bool(self._fixed)

    def clear(self):
        """Forget the records (the buffers are kept for reuse)."""
        self._n = 0
        self._used = 0
        self._fixed = -1

    cdef int _mode(self, int fixed) except -1:
        if self._fixed < 0:
            self._fixed = fixed
        elif self._fixed != fixed:
            raise _ValidationError("a frame holds either variable records or 64-byte event records, not both")
        return 0

    cdef int _reserve(self, Py_ssize_t nrec, Py_ssize_t nbytes) except -1:
        cdef Py_ssize_t need = self._used + nbytes
        cdef Py_ssize_t cap = len(self._data)
        cdef bytearray grown
        if need > cap:
            while cap < need:
                cap *= 2
            grown = bytearray(cap)
            memcpy(PyByteArray_AS_STRING(grown), PyByteArray_AS_STRING(self._data), self._used)
            self._data = grown
        need = 4 * (self._n + nrec)
        cap = len(self._lens)
        if need > cap:
            while cap < need:
                cap *= 2
            grown = bytearray(cap)
            memcpy(PyByteArray_AS_STRING(grown), PyByteArray_AS_STRING(self._lens), 4 * self._n)
            self._lens = grown
        return 0

    cdef inline void _put(self, const char *p, Py_ssize_t n) noexcept:
        cdef uint32_t l = <uint32_t>n
        memcpy(PyByteArray_AS_STRING(self._lens) + 4 * self._n, &l, 4)
        memcpy(PyByteArray_AS_STRING(self._data) + self._used, p, n)
        self._n += 1
        self._used += n

    def add(self, payload):
        """Add one variable record (a bytes-like object)."""
        cdef _Buf b
        cdef Py_ssize_t n
        if PyBytes_CheckExact(payload):
            n = PyBytes_GET_SIZE(payload)
            if n > self.max_record:
                raise _ValidationError(f"record of {n} bytes is over max_record_bytes={self.max_record}")
            self._mode(0)
            self._reserve(1, n)
            self._put(PyBytes_AS_STRING(payload), n)
            return self._n
        b = _Buf(payload)
        if b.view.len > self.max_record:
            raise _ValidationError(f"record of {b.view.len} bytes is over max_record_bytes={self.max_record}")
        self._mode(0)
        self._reserve(1, b.view.len)
        self._put(<const char *>b.view.buf, b.view.len)
        return self._n

    def add_many(self, list payloads, Py_ssize_t start=0, Py_ssize_t limit=-1):
        """Add the bytes-like objects ``payloads[start:]`` as one record each, stopping before the body
        would pass ``limit`` bytes (at least one record is added; -1: no limit). Returns the index of the
        first record not added (``len(payloads)`` when all were)."""
        cdef Py_ssize_t i, m = len(payloads), total = 0, n, stop = m, body
        cdef object item
        cdef _Buf b
        if start < 0 or start > m:
            raise _ValidationError("start outside the list")
        body = self._used + 4 * self._n
        for i in range(start, m):
            item = payloads[i]
            if PyBytes_CheckExact(item):
                n = PyBytes_GET_SIZE(item)
            else:
                n = (<_Buf>_Buf(item)).view.len
            if n > self.max_record:
                raise _ValidationError(f"record {i} of {n} bytes is over max_record_bytes={self.max_record}")
            if limit >= 0 and body + total + 4 * (i - start) + n + 4 > limit and (i > start or self._n > 0):
                stop = i
                break
            total += n
        if stop == start:
            return start
        self._mode(0)
        self._reserve(stop - start, total)
        for i in range(start, stop):
            item = payloads[i]
            if PyBytes_CheckExact(item):
                self._put(PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item))
            else:
                b = _Buf(item)
                self._put(<const char *>b.view.buf, b.view.len)
        return stop

    def add_buffer(self, buf, lengths):
        """Add records cut from one contiguous buffer; ``lengths`` is a C-contiguous uint32 array whose sum
        is the buffer's size (checked by the caller)."""
        cdef _Buf b = _Buf(buf)
        cdef _Buf bl = _Buf(lengths)
        cdef Py_ssize_t m = bl.view.len // 4
        if m == 0:
            return self._n
        self._mode(0)
        self._reserve(m, b.view.len)
        memcpy(PyByteArray_AS_STRING(self._lens) + 4 * self._n, bl.view.buf, 4 * m)
        memcpy(PyByteArray_AS_STRING(self._data) + self._used, b.view.buf, b.view.len)
        self._n += m
        self._used += b.view.len
        return self._n

    def add_events(self, records):
        """Add 64-byte event records (any C-contiguous buffer whose size is a multiple of 64)."""
        cdef _Buf b = _Buf(records)
        if b.view.len % 64:
            raise _ValidationError(f"event buffer of {b.view.len} bytes is not a whole number of 64-byte records")
        cdef Py_ssize_t m = b.view.len // 64
        if m == 0:
            return self._n
        self._mode(1)
        self._reserve(0, b.view.len)
        memcpy(PyByteArray_AS_STRING(self._data) + self._used, b.view.buf, b.view.len)
        self._n += m
        self._used += b.view.len
        return self._n

    def seal(self, unsigned long long first_seq, unsigned long long synced_seq):
        """``(header, lens, data, pad)``: the pieces of the frame, to be written in this order. ``lens``
        and ``data`` are views of the builder's buffers, valid until the next change."""
        if self._n == 0:
            raise _ValidationError("an empty frame cannot be sealed")
        cdef memoryview lens = memoryview(self._lens)[:0 if self._fixed == 1 else 4 * self._n]
        cdef memoryview data = memoryview(self._data)[:self._used]
        cdef unsigned int flags = SQW_F_FIXED64_C if self._fixed == 1 else 0
        hdr = frame_header(first_seq, <unsigned int>self._n, flags, synced_seq, lens, data)
        return hdr, lens, data, padding(len(lens) + self._used)

    def body(self):
        """``(lens, data, flags)``: the frame body's pieces (views of the builder's buffers, valid until the
        next change) and its frame flags, for :meth:`FrameWorker.submit` (which builds the header)."""
        if self._n == 0:
            raise _ValidationError("an empty frame has no body")
        return (memoryview(self._lens)[:0 if self._fixed == 1 else 4 * self._n],
                memoryview(self._data)[:self._used], SQW_F_FIXED64_C if self._fixed == 1 else 0)


@cython.auto_pickle(False)
cdef class FrameWorker:
    """The background frame writer of policy ``none``: up to :data:`WORKER_DEPTH` frames posted, written in
    posting order by the thread that runs :meth:`serve` (without the GIL) while the appending thread prepares
    the next. :meth:`submit` waits for a free slot, builds the frame's header (CRC-32C) and, with ``copy``,
    copies the body into the slot's preallocated buffer of ``capacity`` bytes (allocated at its first use);
    otherwise it keeps the caller's buffers referenced (and exported) until the frame is written. The first
    write error stops all writing; :meth:`submit` and :meth:`wait` raise it as ``OSError``."""
    cdef sqw_worker w
    cdef uint8_t *_ring[SQW_WORKER_DEPTH]
    cdef uint8_t _hdr[32 * SQW_WORKER_DEPTH]
    cdef Py_ssize_t _cap
    cdef bint _serving
    cdef list _keep  # per slot: the caller's buffers of the frame posted there (None when copied/written)

    def __cinit__(self):
        memset(&self.w, 0, sizeof(sqw_worker))
        pthread_mutex_init(sqw_worker_mu(&self.w), NULL)
        pthread_cond_init(sqw_worker_cv(&self.w), NULL)
        cdef int i
        for i in range(SQW_WORKER_DEPTH):
            self._ring[i] = NULL
        self._cap = 0
        self._serving = False
        self._keep = [None] * SQW_WORKER_DEPTH

    def __init__(self, Py_ssize_t capacity):
        if capacity < 0 or capacity > SQW_MAX_BODY_C:
            raise _ValidationError(f"capacity must be in 0..{SQW_MAX_BODY_C}, got {capacity}")
        if self._cap:
            raise RuntimeError("FrameWorker is already initialised")
        self._cap = capacity

    def __dealloc__(self):
        cdef int i
        for i in range(SQW_WORKER_DEPTH):
            free(self._ring[i])
        pthread_cond_destroy(sqw_worker_cv(&self.w))
        pthread_mutex_destroy(sqw_worker_mu(&self.w))

    @property
    def capacity(self):
        """Bytes per copy buffer (the largest frame body :meth:`submit` can copy)."""
        return self._cap

    @property
    def error(self):
        """The errno of the first failed write (0 if none)."""
        pthread_mutex_lock(sqw_worker_mu(&self.w))
        cdef int e = self.w.err
        pthread_mutex_unlock(sqw_worker_mu(&self.w))
        return e

    @property
    def pending(self):
        """The number of frames posted and not yet written."""
        return sqw_worker_pending(&self.w)

    def serve(self):
        """The writer thread's body: write posted frames until :meth:`stop` (and every posted frame is
        written). Runs without the GIL throughout."""
        if self._serving:
            raise RuntimeError("FrameWorker.serve is already running")
        self._serving = True
        with nogil:
            sqw_worker_serve(&self.w)

    def stop(self):
        """Ask :meth:`serve` to return once nothing is pending (does not wait)."""
        with nogil:
            sqw_worker_stop(&self.w)

    def wait(self):
        """Wait until every posted frame is written; raise ``OSError`` if a write failed."""
        cdef int e, i
        with nogil:
            e = sqw_worker_wait(&self.w, 0)
        for i in range(SQW_WORKER_DEPTH):
            self._keep[i] = None
        if e:
            raise OSError(e, strerror(e).decode())

    def submit(self, int fd, long long offset, unsigned long long first_seq, unsigned int count,
               unsigned int flags, unsigned long long synced_seq, lens, data, bint copy=False):
        """Post one frame (header with its CRC, ``lens``, ``data``, zero padding) to be written at ``offset``
        of ``fd`` once the frames posted before it are; returns its size in bytes. Blocks (without the GIL)
        while :data:`WORKER_DEPTH` frames are pending. Raises ``OSError`` (and posts nothing) if an earlier
        frame failed."""
        cdef _Buf bl = _Buf(lens)
        cdef _Buf bd = _Buf(data)
        cdef Py_ssize_t nl = bl.view.len, nd = bd.view.len, body = nl + nd
        if body > SQW_MAX_BODY_C or (copy and body > self._cap):
            raise _ValidationError(f"frame body of {body} bytes is over the limit "
                                   f"({self._cap if copy else SQW_MAX_BODY_C})")
        cdef int k, n = 0, e
        cdef uint8_t *h
        cdef uint8_t *dst
        cdef Py_ssize_t pad = (-body) & 7
        cdef iovec iov[4]
        with nogil:
            e = sqw_worker_wait(&self.w, SQW_WORKER_DEPTH - 1)
            k = sqw_worker_slot(&self.w)
        if e:
            raise OSError(e, strerror(e).decode())
        self._keep[k] = None  # the slot's previous frame is written
        h = self._hdr + 32 * k
        if copy and self._ring[k] == NULL:
            self._ring[k] = <uint8_t *>malloc(self._cap if self._cap > 0 else 1)
            if self._ring[k] == NULL:
                raise MemoryError()
        dst = self._ring[k]
        with nogil:  # overlaps the writes of the frames pending before this one
            if copy:
                if nl:
                    memcpy(dst, bl.view.buf, <size_t>nl)
                if nd:
                    memcpy(dst + nl, bd.view.buf, <size_t>nd)
                sqw_frame_header(h, <uint32_t>body, first_seq, count, flags, synced_seq, dst, <size_t>nl,
                                 dst + nl, <size_t>nd)
            else:
                sqw_frame_header(h, <uint32_t>body, first_seq, count, flags, synced_seq,
                                 bl.view.buf, <size_t>nl, bd.view.buf, <size_t>nd)
        iov[n].iov_base = h
        iov[n].iov_len = SQW_FRAME_HDR_C
        n += 1
        if copy:
            if body:
                iov[n].iov_base = dst
                iov[n].iov_len = <size_t>body
                n += 1
        else:
            if nl:
                iov[n].iov_base = bl.view.buf
                iov[n].iov_len = <size_t>nl
                n += 1
            if nd:
                iov[n].iov_base = bd.view.buf
                iov[n].iov_len = <size_t>nd
                n += 1
            self._keep[k] = (bl, bd)  # the caller's buffers stay exported until the frame is written
        if pad:
            iov[n].iov_base = _ZBUF
            iov[n].iov_len = <size_t>pad
            n += 1
        with nogil:
            sqw_worker_post(&self.w, fd, offset, iov, n)
        return SQW_FRAME_HDR_C + body + pad


WORKER_DEPTH = SQW_WORKER_DEPTH


def scan(buf, Py_ssize_t n, Py_ssize_t start, long long base, unsigned long long expected_seq,
         unsigned int max_body, unsigned int max_record, out):
    """Validate consecutive frames in ``buf[start:n]`` (``buf[0]`` is at file offset ``base``), each
    starting at ``expected_seq``. ``out`` is an int64 array of shape (k, 7) receiving, per frame: offset,
    total size, first_seq, count, flags, synced_seq, body_len. Returns ``(frames, status, stop, need,
    next_seq)``: status ST_OK if ``out`` filled up, else the code that stopped the scan at buffer index
    ``stop`` (ST_NEED: the frame there needs ``need`` bytes)."""
    cdef _Buf b = _Buf(buf)
    cdef _Buf bo = _Buf(out, True)
    if n > b.view.len or start < 0 or start > n:
        raise _ValidationError("scan range outside the buffer")
    cdef int64_t max_out = bo.view.len // (7 * 8)
    cdef int status = 0
    cdef int64_t stop = 0, need = 0, k
    cdef uint64_t exp = expected_seq
    with nogil:
        k = sqw_scan(<const uint8_t *>b.view.buf, n, start, base, &exp, max_body, max_record,
                     <sqw_frame *>bo.view.buf, max_out, &status, &stop, &need)
    return k, status, stop, need, exp


def find_frame(buf, Py_ssize_t n, Py_ssize_t start, unsigned int max_body, unsigned int max_record):
    """Search ``buf[start:n]`` at 8-byte aligned positions for a valid frame. Returns ``(status, at,
    total, first_seq, count, synced_seq)``: ST_OK a frame was found at ``at``; ST_NEED a plausible frame
    at ``at`` needs ``total`` bytes; ST_ZERO nothing found before ``at``."""
    cdef _Buf b = _Buf(buf)
    if n > b.view.len or start < 0:
        raise _ValidationError("search range outside the buffer")
    cdef sqw_frame f
    cdef int64_t at = 0
    cdef int st
    memset(&f, 0, sizeof(f))
    with nogil:
        st = sqw_find_frame(<const uint8_t *>b.view.buf, n, start, max_body, max_record, &at, &f)
    return st, at, f.total, f.first_seq, f.count, f.synced_seq


def split_records(buf, Py_ssize_t pos, Py_ssize_t count, unsigned int flags):
    """The records of the (validated) frame body at ``buf[pos:]`` as a list of bytes objects."""
    cdef _Buf b = _Buf(buf)
    cdef const uint8_t *p = <const uint8_t *>b.view.buf + pos
    cdef list out = PyList_New(count)
    cdef Py_ssize_t i, off
    cdef uint32_t l
    cdef object item
    if flags & SQW_F_FIXED64_C:
        if pos + 64 * count > b.view.len:
            raise _ValidationError("frame body outside the buffer")
        for i in range(count):
            item = PyBytes_FromStringAndSize(<const char *>p + 64 * i, 64)
            Py_INCREF(item)
            PyList_SET_ITEM(out, i, item)
        return out
    if pos + 4 * count > b.view.len:
        raise _ValidationError("frame body outside the buffer")
    off = 4 * count
    for i in range(count):
        memcpy(&l, p + 4 * i, 4)
        if pos + off + l > b.view.len:
            raise _ValidationError("frame body outside the buffer")
        item = PyBytes_FromStringAndSize(<const char *>p + off, l)
        Py_INCREF(item)
        PyList_SET_ITEM(out, i, item)
        off += l
    return out


def all_zero(buf, Py_ssize_t start, Py_ssize_t stop):
    """True if ``buf[start:stop]`` holds only zero bytes."""
    cdef _Buf b = _Buf(buf)
    if start < 0 or stop > b.view.len or start > stop:
        raise _ValidationError("range outside the buffer")
    return bool(sqw_all_zero(<const uint8_t *>b.view.buf + start, stop - start))


def nonzero_end(buf, Py_ssize_t start, Py_ssize_t stop):
    """One past the last non-zero byte of ``buf[start:stop]`` (as an index into ``buf``), or ``start``."""
    cdef _Buf b = _Buf(buf)
    if start < 0 or stop > b.view.len or start > stop:
        raise _ValidationError("range outside the buffer")
    return start + sqw_nonzero_end(<const uint8_t *>b.view.buf + start, stop - start)
