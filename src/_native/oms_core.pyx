# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=False, embedsignature=True, autotestdict=False, annotation_typing=False
"""Native helpers for the order manager's hot path.

* :func:`encode_record`: the journal's msgpack encoding of a record, written directly from the record's
  slots into a buffer. The bytes are exactly those of ``msgspec.msgpack.Encoder(enc_hook=enc_hook)``
  (``shrivenquant.core.serialization.enc_hook``: fixed-point values as their exact decimal strings) for the
  struct types registered with :func:`register_struct`; any value outside what it writes (a float, a
  dict, an unregistered type, an int beyond 64 bits, a record over 8 KiB) makes it hand the whole record
  to the msgspec encoder instead, so the output never differs.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong
from cpython.object cimport PyObject, PyTypeObject
from libc.stdint cimport int64_t, uint64_t, uint8_t
from libc.string cimport memcpy

from sq_slots cimport object_slot_offset, slot_get, slot_offset, slot_put

import enum

import msgspec

from shrivenquant._native.fixed import Money, Price, Quantity

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size) except NULL

cdef extern from "Python.h":
    PyTypeObject *Py_TYPE(PyObject *o)
    int PyUnicode_CheckExact(object o)
    int PyLong_CheckExact(object o)
    int PyLong_Check(object o)
    int PyTuple_CheckExact(object o)
    Py_ssize_t PyTuple_GET_SIZE(object o)
    PyObject *PyTuple_GET_ITEM(object o, Py_ssize_t i)
    PyObject *Py_None
    PyObject *Py_True
    PyObject *Py_False
    object PyObject_Str(object o)

cdef extern from *:
    """
    #define SQ_SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))
    """
    PyObject *SQ_SLOT(PyObject *obj, Py_ssize_t off)

DEF _CAP = 8192
DEF _MAX_FIELDS = 32
DEF _MAX_DEPTH = 4


cdef class _Spec:
    """How to write one registered struct type: its map header, tag and field slots."""
    cdef bytes header            # map header + tag key/value (if tagged)
    cdef list keys               # encoded field keys (msgpack str)
    cdef Py_ssize_t n
    cdef Py_ssize_t offsets[_MAX_FIELDS]


cdef dict _specs = {}          # type -> _Spec
cdef set _int_types = set()    # IntEnum subclasses seen (written as their int value)
cdef PyObject *_PRICE = <PyObject *>Price
cdef PyObject *_QUANTITY = <PyObject *>Quantity
cdef PyObject *_MONEY = <PyObject *>Money
DEF _MAX_ENUMS = 16
cdef PyObject *_enums[_MAX_ENUMS]     # the first IntEnum types seen (borrowed: kept alive by _int_types)
cdef int _n_enums = 0
cdef object _fallback = None   # the msgspec encoder


cdef struct _Buf:
    char data[_CAP]
    Py_ssize_t n


cdef inline bint _put(_Buf *b, const char *s, Py_ssize_t n) noexcept:
    if b.n + n > _CAP:
        return False
    memcpy(b.data + b.n, s, n)
    b.n += n
    return True


cdef inline bint _put1(_Buf *b, uint8_t c) noexcept:
    if b.n + 1 > _CAP:
        return False
    b.data[b.n] = <char>c
    b.n += 1
    return True


cdef inline bint _put_be(_Buf *b, uint8_t tag, uint64_t v, int nbytes) noexcept:
    cdef int i
    if b.n + 1 + nbytes > _CAP:
        return False
    b.data[b.n] = <char>tag
    for i in range(nbytes):
        b.data[b.n + 1 + i] = <char>((v >> (8 * (nbytes - 1 - i))) & 0xFF)
    b.n += 1 + nbytes
    return True


cdef inline bint _str_header(_Buf *b, Py_ssize_t n) noexcept:
    if n < 32:
        return _put1(b, <uint8_t>(0xA0 | n))
    if n < 256:
        return _put_be(b, 0xD9, <uint64_t>n, 1)
    if n < 65536:
        return _put_be(b, 0xDA, <uint64_t>n, 2)
    return _put_be(b, 0xDB, <uint64_t>n, 4)


cdef inline bint _write_str(_Buf *b, object s) except -1:
    cdef Py_ssize_t n
    cdef const char *p = PyUnicode_AsUTF8AndSize(s, &n)
    if n > 0xFFFFFFFF or not _str_header(b, n):
        return False
    return _put(b, p, n)


cdef inline bint _write_int(_Buf *b, object v) except -1:
    cdef int overflow = 0
    cdef long long x = PyLong_AsLongLongAndOverflow(v, &overflow)
    cdef uint64_t u
    if overflow == 0:
        if x >= 0:
            u = <uint64_t>x
            if u < 128:
                return _put1(b, <uint8_t>u)
            if u <= 0xFF:
                return _put_be(b, 0xCC, u, 1)
            if u <= 0xFFFF:
                return _put_be(b, 0xCD, u, 2)
            if u <= 0xFFFFFFFF:
                return _put_be(b, 0xCE, u, 4)
            return _put_be(b, 0xCF, u, 8)
        if x >= -32:
            return _put1(b, <uint8_t>(<int64_t>x & 0xFF))
        if x >= -128:
            return _put_be(b, 0xD0, <uint64_t>x, 1)
        if x >= -32768:
            return _put_be(b, 0xD1, <uint64_t>x, 2)
        if x >= -2147483648:
            return _put_be(b, 0xD2, <uint64_t>x, 4)
        return _put_be(b, 0xD3, <uint64_t>x, 8)
    if overflow > 0 and v <= 0xFFFFFFFFFFFFFFFF:
        u = PyLong_AsUnsignedLongLong(v)
        return _put_be(b, 0xCF, u, 8)
    return False  # beyond 64 bits: msgspec's business (it raises)


cdef bint _write_value(_Buf *b, PyObject *p, int depth) except -1:
    cdef object v
    cdef type t
    cdef Py_ssize_t i, n
    if p == NULL:
        return False
    if p == Py_None:
        return _put1(b, 0xC0)
    if p == Py_True:
        return _put1(b, 0xC3)
    if p == Py_False:
        return _put1(b, 0xC2)
    v = <object>p
    if PyUnicode_CheckExact(v):
        return _write_str(b, v)
    if PyLong_CheckExact(v):
        return _write_int(b, v)
    cdef PyObject *tp = <PyObject *>Py_TYPE(p)
    if tp == _PRICE or tp == _QUANTITY or tp == _MONEY:
        return _write_str(b, PyObject_Str(v))
    for i in range(_n_enums):
        if tp == _enums[i]:
            return _write_int(b, v)
    if PyTuple_CheckExact(v):
        n = PyTuple_GET_SIZE(v)
        if n < 16:
            if not _put1(b, <uint8_t>(0x90 | n)):
                return False
        elif n < 65536:
            if not _put_be(b, 0xDC, <uint64_t>n, 2):
                return False
        else:
            return False
        for i in range(n):
            if not _write_value(b, PyTuple_GET_ITEM(v, i), depth):
                return False
        return True
    t = type(v)
    if depth < _MAX_DEPTH:
        spec = _specs.get(t)
        if spec is not None:
            return _write_struct(b, <_Spec>spec, p, depth + 1)
    if PyLong_Check(v) and isinstance(v, enum.IntEnum):
        _remember_enum(t)
        return _write_int(b, v)
    return False


cdef void _remember_enum(type t):
    global _n_enums
    if t in _int_types:
        return
    _int_types.add(t)
    if _n_enums < _MAX_ENUMS:
        _enums[_n_enums] = <PyObject *>t
        _n_enums += 1


cdef bint _write_struct(_Buf *b, _Spec spec, PyObject *obj, int depth) except -1:
    cdef Py_ssize_t i
    cdef bytes key
    if not _put(b, <const char *>spec.header, len(spec.header)):
        return False
    for i in range(spec.n):
        key = <bytes>spec.keys[i]
        if not _put(b, <const char *>key, len(key)):
            return False
        if not _write_value(b, SQ_SLOT(obj, spec.offsets[i]), depth):
            return False
    return True


cdef bytes _packed(object value):
    """msgpack bytes of a str / int key or tag value (through msgspec itself)."""
    return msgspec.msgpack.encode(value)


def register_struct(cls) -> bool:
    """Let :func:`encode_record` write ``cls`` (a msgspec Struct) itself; returns False (and leaves it to
    msgspec) for a struct it cannot write exactly: array-like, omitting defaults, or a field not held in a
    plain object slot."""
    cfg = cls.__struct_config__
    if cfg.array_like or cfg.omit_defaults:
        return False
    fields = cls.__struct_fields__
    names = cls.__struct_encode_fields__
    if len(fields) > _MAX_FIELDS:
        return False
    cdef _Spec spec = _Spec()
    cdef Py_ssize_t off
    tag = cfg.tag
    tagged = tag is not None and tag is not False
    n_entries = len(fields) + (1 if tagged else 0)
    if n_entries >= 16:
        header = b"\xde" + n_entries.to_bytes(2, "big")
    else:
        header = bytes([0x80 | n_entries])
    if tagged:
        header += _packed(cfg.tag_field) + _packed(tag)
    spec.header = header
    spec.keys = [_packed(k) for k in names]
    spec.n = len(fields)
    for i, f in enumerate(fields):
        off = object_slot_offset(cls, f)
        if off < 0:
            return False
        spec.offsets[i] = off
    _specs[cls] = spec
    return True


def set_fallback(encoder: object) -> None:
    """The msgspec encoder used for what :func:`encode_record` does not write itself."""
    global _fallback
    _fallback = encoder


def encode_record(rec: object) -> bytes:
    """The msgpack bytes of ``rec`` (identical to the fallback msgspec encoder's)."""
    return _encode(rec)


cdef bytes _encode(object rec):
    cdef _Buf buf
    spec = _specs.get(type(rec))
    cdef bint ok = False
    if spec is not None:
        buf.n = 0
        try:
            ok = _write_struct(&buf, <_Spec>spec, <PyObject *>rec, 1)
        except (TypeError, ValueError, OverflowError, UnicodeError):
            ok = False  # the msgspec encoder below raises its own error for this value
        if ok:
            return PyBytes_FromStringAndSize(buf.data, buf.n)
    return _fallback.encode(rec)


cdef object _INITIALIZED = None   # OrderStatus.INITIALIZED and OrderSide.BUY, set by configure()
cdef object _BUY = None


# ---------------------------------------------------------------- the managed order's slots
# ManagedOrder stays a Python class with __slots__ (Python reads its fields at slot speed); the handlers
# below build one and read and write its slots at the offsets of its member descriptors (configure()).
cdef type _MO_T = None
cdef Py_ssize_t _MO_ACCOUNT, _MO_CHILDREN, _MO_COID, _MO_EXTERNAL, _MO_FILLED, _MO_HOLD, _MO_IID, _MO_LEG
cdef Py_ssize_t _MO_NOTIONAL, _MO_OCO, _MO_ORDER, _MO_PARENT, _MO_POSITION, _MO_PREV, _MO_PRICE, _MO_PPREC
cdef Py_ssize_t _MO_QTY, _MO_REASON, _MO_SENT, _MO_SIDE, _MO_SIGN, _MO_SPREC, _MO_STATUS, _MO_TIDS, _MO_TRIG
cdef Py_ssize_t _MO_TS, _MO_VID


cdef inline object _mo(object obj):
    if type(obj) is not _MO_T:
        raise TypeError(f"expected a ManagedOrder, got {type(obj).__name__}")
    return obj


def configure(initialized: object, buy: object, managed_order: type) -> None:
    """Tell the module ``OrderStatus.INITIALIZED``, ``OrderSide.BUY`` and the ``ManagedOrder`` class whose slots
    the handlers use; called once by ``shrivenquant.oms.order`` (they live in Python modules that import this
    one)."""
    global _INITIALIZED, _BUY, _MO_T
    global _MO_ACCOUNT, _MO_CHILDREN, _MO_COID, _MO_EXTERNAL, _MO_FILLED, _MO_HOLD, _MO_IID, _MO_LEG, _MO_NOTIONAL
    global _MO_OCO, _MO_ORDER, _MO_PARENT, _MO_POSITION, _MO_PREV, _MO_PRICE, _MO_PPREC, _MO_QTY, _MO_REASON
    global _MO_SENT, _MO_SIDE, _MO_SIGN, _MO_SPREC, _MO_STATUS, _MO_TIDS, _MO_TRIG, _MO_TS, _MO_VID
    c = managed_order
    _MO_ACCOUNT, _MO_CHILDREN, _MO_COID = (slot_offset(c, "account"), slot_offset(c, "_children"),
                                           slot_offset(c, "client_order_id"))
    _MO_EXTERNAL, _MO_FILLED, _MO_HOLD = (slot_offset(c, "external"), slot_offset(c, "filled_raw"),
                                          slot_offset(c, "hold"))
    _MO_IID, _MO_LEG, _MO_NOTIONAL = (slot_offset(c, "instrument_id"), slot_offset(c, "leg"),
                                      slot_offset(c, "notional_raw"))
    _MO_OCO, _MO_ORDER, _MO_PARENT = slot_offset(c, "oco"), slot_offset(c, "order"), slot_offset(c, "parent")
    _MO_POSITION, _MO_PREV, _MO_PRICE = (slot_offset(c, "position"), slot_offset(c, "prev_status"),
                                         slot_offset(c, "price"))
    _MO_PPREC, _MO_QTY, _MO_REASON = (slot_offset(c, "price_prec"), slot_offset(c, "quantity_raw"),
                                      slot_offset(c, "reason"))
    _MO_SENT, _MO_SIDE, _MO_SIGN = slot_offset(c, "sent"), slot_offset(c, "side"), slot_offset(c, "sign")
    _MO_SPREC, _MO_STATUS, _MO_TIDS = (slot_offset(c, "size_prec"), slot_offset(c, "status"),
                                       slot_offset(c, "_trade_ids"))
    _MO_TRIG, _MO_TS, _MO_VID = (slot_offset(c, "trigger_price"), slot_offset(c, "ts_last"),
                                 slot_offset(c, "venue_order_id"))
    _INITIALIZED, _BUY, _MO_T = initialized, buy, managed_order


cdef object _new_order(object order, object size_prec, object price_prec, object leg, object ts):
    """A ManagedOrder as ``ManagedOrder.__init__`` builds it."""
    if _MO_T is None:
        raise RuntimeError("oms_core.configure() was not called (import shrivenquant.oms first)")
    mo = _MO_T.__new__(_MO_T)
    slot_put(mo, _MO_ORDER, order)
    slot_put(mo, _MO_COID, order.client_order_id)
    slot_put(mo, _MO_IID, order.instrument_id)
    side = order.side
    slot_put(mo, _MO_SIDE, side)
    slot_put(mo, _MO_SIGN, 1 if side is _BUY else -1)
    slot_put(mo, _MO_SPREC, size_prec)
    slot_put(mo, _MO_PPREC, price_prec)
    slot_put(mo, _MO_STATUS, _INITIALIZED)
    slot_put(mo, _MO_PREV, _INITIALIZED)
    q = order.quantity
    slot_put(mo, _MO_QTY, q.raw if q.precision == size_prec else q.raw_at(size_prec))
    slot_put(mo, _MO_FILLED, 0)
    slot_put(mo, _MO_PRICE, order.price)
    slot_put(mo, _MO_TRIG, order.trigger_price)
    slot_put(mo, _MO_VID, None)
    slot_put(mo, _MO_NOTIONAL, 0)
    slot_put(mo, _MO_TIDS, None)
    slot_put(mo, _MO_REASON, None)
    slot_put(mo, _MO_PARENT, None)
    slot_put(mo, _MO_CHILDREN, None)
    slot_put(mo, _MO_OCO, ())
    slot_put(mo, _MO_HOLD, False)
    slot_put(mo, _MO_LEG, leg)
    slot_put(mo, _MO_EXTERNAL, False)
    slot_put(mo, _MO_SENT, False)
    slot_put(mo, _MO_TS, ts)
    slot_put(mo, _MO_POSITION, None)
    slot_put(mo, _MO_ACCOUNT, None)
    return mo


# ---------------------------------------------------------------- positions and accounts
# Position and Account stay Python classes with __slots__; their fill updates are these functions (the
# classes' apply_fill calls them), reading and writing the slots at their member descriptors' offsets.
cdef object _FIFO = None
cdef object _CASH = None
cdef object _money_scaled = None
cdef object _ValidationError = None
cdef type _POS_T = None
cdef type _ACC_T = None
cdef Py_ssize_t _P_FILLS, _P_BOUGHT, _P_SOLD, _P_QTY, _P_METHOD, _P_COST, _P_REALIZED, _A_TYPE, _A_BAL


def configure_positions(fifo: object, position_type: type) -> None:
    """``PnlMethod.FIFO`` and the ``Position`` class (called once by ``shrivenquant.oms.positions``)."""
    global _FIFO, _POS_T, _P_FILLS, _P_BOUGHT, _P_SOLD, _P_QTY, _P_METHOD, _P_COST, _P_REALIZED
    c = position_type
    _P_FILLS, _P_BOUGHT, _P_SOLD = slot_offset(c, "fills"), slot_offset(c, "bought"), slot_offset(c, "sold")
    _P_QTY, _P_METHOD, _P_COST = slot_offset(c, "qty"), slot_offset(c, "method"), slot_offset(c, "cost")
    _P_REALIZED = slot_offset(c, "realized")
    _FIFO, _POS_T = fifo, position_type


def configure_accounts(cash: object, money_scaled: object, validation_error: object, account_type: type) -> None:
    """``AccountType.CASH``, ``accounts._money_scaled``, ``ValidationError`` and the ``Account`` class (called
    once by ``shrivenquant.oms.accounts``)."""
    global _CASH, _money_scaled, _ValidationError, _ACC_T, _A_TYPE, _A_BAL
    _A_TYPE, _A_BAL = slot_offset(account_type, "account_type"), slot_offset(account_type, "balances")
    _CASH, _money_scaled, _ValidationError, _ACC_T = cash, money_scaled, validation_error, account_type


cdef inline object _round_div_half_even(object n, object d):
    """``n / d`` rounded half to even (``d > 0``): ``shrivenquant.oms.money.round_div``'s default."""
    q, r = divmod(n, d)
    if r == 0:
        return q
    twice = 2 * r
    if twice < d:
        return q
    if twice > d:
        return q + 1
    return q if q % 2 == 0 else q + 1


def position_fill(pos: object, sign: object, qty: object, px: object) -> object:
    """``Position.apply_fill``: a fill of ``qty`` (raw, > 0) at ``px`` (raw) on side ``sign`` (+1 buy, -1 sell);
    returns its realized PnL (int at scale P + S, per unit multiplier). Average cost here; FIFO in
    ``Position._fifo``."""
    return _position_fill(pos, sign, qty, px)


cdef object _position_fill(object pos, object sign, object qty, object px):
    if _POS_T is None or not isinstance(pos, _POS_T):
        raise TypeError(f"expected a Position, got {type(pos).__name__}")
    slot_put(pos, _P_FILLS, slot_get(pos, _P_FILLS) + 1)
    if sign > 0:
        slot_put(pos, _P_BOUGHT, slot_get(pos, _P_BOUGHT) + qty)
    else:
        slot_put(pos, _P_SOLD, slot_get(pos, _P_SOLD) + qty)
    q = slot_get(pos, _P_QTY)
    if slot_get(pos, _P_METHOD) is _FIFO:
        return pos._fifo(sign, qty, px)
    cost = slot_get(pos, _P_COST)
    if q == 0 or (q > 0) == (sign > 0):  # open or increase
        slot_put(pos, _P_QTY, q + sign * qty)
        slot_put(pos, _P_COST, cost + sign * qty * px)
        return 0
    open_abs = q if q > 0 else -q
    pos_sign = 1 if q > 0 else -1
    if qty <= open_abs:
        removed = cost if qty == open_abs else _round_div_half_even(cost * qty, open_abs)
        pnl = pos_sign * qty * px - removed
        slot_put(pos, _P_COST, cost - removed)
        slot_put(pos, _P_QTY, q + sign * qty)
    else:  # flip through zero: close everything, open the rest at px
        pnl = pos_sign * open_abs * px - cost
        rest = qty - open_abs
        slot_put(pos, _P_QTY, sign * rest)
        slot_put(pos, _P_COST, sign * rest * px)
    slot_put(pos, _P_REALIZED, slot_get(pos, _P_REALIZED) + pnl)
    return pnl


def account_fill(acc: object, spec: object, sign: object, qty: object, px: object, realized: object) -> None:
    """``Account.apply_fill``: move balances for a fill (fees are applied separately)."""
    _account_fill(acc, spec, sign, qty, px, realized)


cdef int _account_fill(object acc, object spec, object sign, object qty, object px, object realized) except -1:
    if _ACC_T is None or not isinstance(acc, _ACC_T):
        raise TypeError(f"expected an Account, got {type(acc).__name__}")
    b = slot_get(acc, _A_BAL)
    if slot_get(acc, _A_TYPE) is _CASH:
        if spec.base is None:
            raise _ValidationError(f"cash account fill on {spec.instrument_id}: the instrument has no base asset")
        notional = _money_scaled(qty * px * spec.mult_raw, spec.notional_scale)
        b[spec.quote] = b.get(spec.quote, 0) - sign * notional
        b[spec.base] = b.get(spec.base, 0) + sign * _money_scaled(qty * spec.mult_raw, spec.qty_scale)
    elif realized:
        code = spec.settlement
        b[code] = b.get(code, 0) + _money_scaled(realized * spec.mult_raw, spec.notional_scale)
    return 0


cdef class ManagerBase:
    """The fields of :class:`shrivenquant.oms.OrderManager` its native handlers read on every record (the Python
    subclass holds the rest)."""

    cdef public object snapshot_every, _since_snapshot, clock, venue


# OrderEventKind values (stable: journaled)
DEF _K_REJECT = 6
DEF _K_FILL_PARTIAL = 15
DEF _K_FILL_FULL = 16
DEF _N_STATUS = 32


cdef class OmsCore:
    """The order manager's hot record handlers in native code: :meth:`submit`, :meth:`apply` of an ack /
    rejection / cancel / expiry / trigger / fill, and the ``Submitted``, simple-event and ``OrderFilled``
    record handlers (live and replay). Each is the same sequence of checks, journal append and state
    changes as the manager's Python handler of the same name; every error path (and every case it does not
    cover: denial, unknown orders, contingent links) is handed to the manager's Python code, which raises
    the same errors."""

    cdef ManagerBase mgr
    cdef object orders, open, by_venue, append, flat, specs, positions, accounts, instruments, precs
    cdef object ignore, status_type, applied, ignored, duplicate, simple_kind, filled_type, submitted_type
    cdef object denied_type, risk_check, risk_event, net_leg, submitted_status, pow10, py_apply, py_submit
    cdef object py_filled, py_submitted
    cdef bint netting
    cdef int money_scale
    cdef bint pending_tab[_N_STATUS]
    cdef bint open_tab[_N_STATUS]
    cdef bint terminal_tab[_N_STATUS]

    def __init__(self, ManagerBase mgr, tables: dict) -> None:
        cdef int i
        self.mgr = mgr
        self.orders = mgr.orders
        self.open = mgr._open
        self.by_venue = mgr._by_venue
        self.append = mgr._append
        self.specs = mgr._specs
        self.positions = mgr.positions
        self.accounts = mgr.accounts
        self.instruments = mgr.instruments
        self.precs = mgr._precs
        self.netting = mgr._netting
        self.risk_check = mgr.risk.check
        self.risk_event = mgr._risk_event
        self.flat = tables["flat"]
        self.ignore = tables["ignore"]
        self.status_type = tables["status_type"]
        self.applied = tables["applied"]
        self.ignored = tables["ignored"]
        self.duplicate = tables["duplicate"]
        self.simple_kind = tables["simple_kind"]
        self.filled_type = tables["filled_type"]
        self.submitted_type = tables["submitted_type"]
        self.denied_type = tables["denied_type"]
        self.net_leg = tables["net_leg"]
        self.submitted_status = tables["submitted_status"]
        self.pow10 = tables["pow10"]
        self.money_scale = tables["money_scale"]
        self.py_apply = tables["py_apply"]
        self.py_submit = tables["py_submit"]
        self.py_filled = tables["py_filled"]
        self.py_submitted = tables["py_submitted"]
        for i in range(_N_STATUS):
            self.pending_tab[i] = self.open_tab[i] = self.terminal_tab[i] = False
        for st in tables["pending"]:
            self.pending_tab[<long>st] = True
        for st in tables["open"]:
            self.open_tab[<long>st] = True
        for st in tables["terminal"]:
            self.terminal_tab[<long>st] = True

    cdef inline int _status(self, object mo, object out) except -1:
        """``_set``'s common case inline (a plain status, not a pending one); the rest goes to ``_set``."""
        cdef long v
        if type(out) is self.status_type:
            v = out
            if not self.pending_tab[v]:
                slot_put(mo, _MO_STATUS, out)
                if self.open_tab[v]:
                    self.open.add(slot_get(mo, _MO_COID))
                else:
                    self.open.discard(slot_get(mo, _MO_COID))
                return 0
        self.mgr._set(mo, out)
        return 0

    cdef inline int _journal(self, object rec) except -1:
        self.append(_encode(rec))
        cdef ManagerBase mgr = self.mgr
        if mgr.snapshot_every:
            mgr._since_snapshot += 1
        return 0

    def submit(self, order: object) -> object:
        """``OrderManager.submit`` (risk gate, journal, send)."""
        orders = self.orders
        coid = order.client_order_id
        if coid in orders or order.instrument_id not in self.precs:
            return self.py_submit(self.mgr, order)  # raises
        cdef ManagerBase mgr = self.mgr
        ts = mgr.clock()
        verdict = self.risk_check(order, mgr, ts)
        if verdict is not None:
            mgr._record(self.denied_type(order=order, check=verdict[0], reason=verdict[1], ts=ts))
            return orders[coid]
        self.submitted(self.submitted_type(order=order, ts=ts), True)
        mo = orders[coid]
        venue = mgr.venue
        if venue is not None:
            venue.submit(mo)
        return mo

    def submitted(self, rec: object, bint log) -> object:
        """The ``Submitted`` record handler."""
        order = rec.order
        coid = order.client_order_id
        orders = self.orders
        if coid in orders:
            return self.py_submitted(self.mgr, rec, log)  # raises
        p, sz = self.precs[order.instrument_id]
        mo = _new_order(order, sz, p, self.net_leg if self.netting else self.mgr._leg_for(order), rec.ts)
        if log:
            self._journal(rec)
        orders[coid] = mo
        parent = rec.parent
        if parent is not None:
            slot_put(mo, _MO_PARENT, parent)
            orders[parent].children.append(coid)
        if rec.oco:
            slot_put(mo, _MO_OCO, rec.oco)
        if rec.hold or rec.external:
            slot_put(mo, _MO_HOLD, rec.hold)
            ext = rec.external
            slot_put(mo, _MO_EXTERNAL, ext)
            slot_put(mo, _MO_SENT, ext)
        else:
            slot_put(mo, _MO_STATUS, self.submitted_status)
            slot_put(mo, _MO_SENT, True)
            self.open.add(coid)
        if log and self.mgr.snapshot_every:
            self.mgr._after()
        return self.applied

    def simple(self, rec: object, bint log) -> object:
        """Accepted, rejected, canceled, expired, triggered: a status change (and the venue id)."""
        kobj = self.simple_kind[type(rec)]
        cdef long k = kobj
        mo = _mo(self.orders[rec.client_order_id])
        cdef long st = slot_get(mo, _MO_STATUS)
        out = self.flat[st * 32 + k]
        if out is None:
            out = self.mgr._step(mo, kobj)  # raises
        vid = rec.venue_order_id
        mvid = slot_get(mo, _MO_VID)
        if vid is not None and mvid != vid and (mvid is not None or vid in self.by_venue):
            self.mgr._venue_id(mo, vid)
        if out is self.ignore:
            return self.ignored
        if log:
            self._journal(rec)
        if vid is not None and mvid is None:
            slot_put(mo, _MO_VID, vid)
            self.by_venue[vid] = slot_get(mo, _MO_COID)
        self._status(mo, out)
        slot_put(mo, _MO_TS, rec.ts_event)
        if k == _K_REJECT:
            slot_put(mo, _MO_REASON, rec.reason)
        if log and self.mgr.snapshot_every:
            self.mgr._after()
        return self.applied

    def filled(self, rec: object, bint log) -> object:
        """The ``OrderFilled`` handler: the order, its position and its account."""
        mo = _mo(self.orders[rec.client_order_id])
        tid = rec.trade_id
        tids = slot_get(mo, _MO_TIDS)
        if tids is not None and tid in tids:
            return self.duplicate
        vid = rec.venue_order_id
        mvid = slot_get(mo, _MO_VID)
        if mvid != vid and (mvid is not None or vid in self.by_venue):
            self.mgr._venue_id(mo, vid)
        if not slot_get(mo, _MO_SENT) or rec.order_side is not slot_get(mo, _MO_SIDE):
            return self.py_filled(self.mgr, rec, log)  # raises
        q = rec.last_qty
        p = rec.last_px
        sprec = slot_get(mo, _MO_SPREC)
        pprec = slot_get(mo, _MO_PPREC)
        qty = q.raw if q.precision == sprec else q.raw_at(sprec)
        px = p.raw if p.precision == pprec else p.raw_at(pprec)
        filled = slot_get(mo, _MO_FILLED) + qty
        quantity = slot_get(mo, _MO_QTY)
        if filled > quantity:
            return self.py_filled(self.mgr, rec, log)  # raises
        cdef long st = slot_get(mo, _MO_STATUS)
        out = self.flat[st * 32 + (_K_FILL_FULL if filled == quantity else _K_FILL_PARTIAL)]
        fee = rec.fee
        fee_raw = fee.raw
        if out is None or (fee_raw and fee.currency is None):
            return self.py_filled(self.mgr, rec, log)  # raises
        if log:
            self._journal(rec)
        # order
        if tids is None:
            slot_put(mo, _MO_TIDS, {tid})
        else:
            tids.add(tid)
        slot_put(mo, _MO_FILLED, filled)
        slot_put(mo, _MO_NOTIONAL, slot_get(mo, _MO_NOTIONAL) + qty * px)
        if mvid is None:
            slot_put(mo, _MO_VID, vid)
            self.by_venue[vid] = slot_get(mo, _MO_COID)
        self._status(mo, out)
        slot_put(mo, _MO_TS, rec.ts_event)
        # position and account (looked up once per order, then kept on it)
        pos = slot_get(mo, _MO_POSITION)
        if pos is None:
            iid = slot_get(mo, _MO_IID)
            leg = slot_get(mo, _MO_LEG)
            pos = self.positions.get((iid, leg))
            if pos is None:
                pos = self.mgr._new_position(iid, leg)
            slot_put(mo, _MO_POSITION, pos)
            inst = self.instruments[iid]
            slot_put(mo, _MO_ACCOUNT, self.accounts.get(inst.venue) or self.mgr._account_for_venue(inst.venue, inst))
        sign = slot_get(mo, _MO_SIGN)
        realized = _position_fill(pos, sign, qty, px)
        acc = slot_get(mo, _MO_ACCOUNT)
        _account_fill(acc, self.specs[slot_get(mo, _MO_IID)], sign, qty, px, realized)
        if fee_raw:
            amount = fee_raw * self.pow10[self.money_scale - fee.precision]
            code = fee.currency.code
            balances = acc.balances
            balances[code] = balances.get(code, 0) - amount
            fees = pos.fees
            fees[code] = fees.get(code, 0) + amount
        if log and self.mgr.snapshot_every:
            self.mgr._after()
        return self.applied

    def apply(self, event: object) -> object:
        """``OrderManager.apply`` (the venue event handlers above, the risk engine, contingent links)."""
        kind = type(event)
        if kind is not self.filled_type and kind not in self.simple_kind:
            return self.py_apply(self.mgr, event)
        m = self.orders.get(event.client_order_id)
        if m is None:
            return self.py_apply(self.mgr, event)  # found by venue id, or unknown
        mo = _mo(m)
        out = self.filled(event, True) if kind is self.filled_type else self.simple(event, True)
        if out is self.applied:
            if self.risk_event is not None:
                self.risk_event(event, self.mgr)
            if slot_get(mo, _MO_CHILDREN) or slot_get(mo, _MO_OCO):
                self.mgr._contingencies(mo)
            parent = slot_get(mo, _MO_PARENT)
            if parent is not None and not self.terminal_tab[<long>slot_get(mo, _MO_STATUS)]:
                # a child's request resolved: a resize its parent's late fill needs may now be due
                self.mgr._contingencies(self.orders[parent])
        return out


cdef class RiskGateCore:
    """The hot half of :class:`shrivenquant.oms.PreTradeRiskGate` (its base): ``check`` of a new order and
    ``on_event`` feeding venue events to the native risk engine, with the instrument cache, the strategy
    function, the engine's id table and the owner table it keeps. The Python subclass fills the fields and
    supplies ``_instrument`` / ``_strat`` (cache misses) and ``_reason_name``."""

    cdef public object _engine, _ids, _inst, _order_id, _owner, _strategy, _strategy_fn, _reason
    cdef public object _valued_at_reference, _filled, _accepted, _rejected, _canceled, _expired

    def check(self, order: object, manager: object, ts: object) -> object:
        """None if the engine accepts ``order`` (and counts it), else ``(check name, explanation)``."""
        iid = order.instrument_id
        c = self._inst.get(iid)
        if c is None:
            c = self._instrument(iid, manager)
        i, pp, sp = c
        s = self._strategy if self._strategy_fn is None else self._strat(order)
        p = order.price
        if p is None or order.order_type in self._valued_at_reference:
            px = 0
        else:
            px = p.raw if p.precision == pp else p.raw_at(pp)
        q = order.quantity
        coid = order.client_order_id
        oid = self._ids.get(coid) or self._order_id(coid)
        e = self._engine
        r = e.check(i, s, order.side, px, q.raw if q.precision == sp else q.raw_at(sp), ts, oid)
        if r:
            return self._reason(r), e.explain(r)
        self._owner[oid] = s
        return None

    def on_event(self, event: object, manager: object) -> None:
        """Feed a venue event the manager applied to the engine (fills move positions; acks, rejections,
        cancels and expiries update the working orders)."""
        kind = type(event)
        coid = event.client_order_id
        oid = self._ids.get(coid) or self._order_id(coid)
        e = self._engine
        if kind is self._filled:
            iid = event.instrument_id
            c = self._inst.get(iid)
            if c is None:
                c = self._instrument(iid, manager)
            i, pp, sp = c
            px = event.last_px
            q = event.last_qty
            e.on_fill(oid, i, self._owner.get(oid, 0), event.order_side, px.raw if px.precision == pp
                      else px.raw_at(pp), q.raw if q.precision == sp else q.raw_at(sp), event.ts_event)
        elif kind is self._accepted:
            e.on_accepted(oid)
        elif kind is self._rejected:
            e.on_rejected(oid)
        elif kind is self._canceled or kind is self._expired:
            e.on_canceled(oid)
