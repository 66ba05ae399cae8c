# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=True, embedsignature=True, autotestdict=False
"""Fixed-point value types: ``Price``, ``Quantity``, ``Money`` and ``Currency``.

A value is an ``int64`` ``raw`` with a per-value decimal ``precision``: value = raw / 10**precision.
Precision is 0..18; raw is within ±(2**63 - 1) (``INT64_MIN`` is reserved as the "no value" marker of
raw columns, :data:`RAW_NULL`). Arithmetic is exact or raises; rounding happens only where a
:class:`Rounding` mode is given or documented.
"""

cimport cython
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeASCII
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int64_t
from libc.math cimport NAN, isfinite

import decimal
import operator
from enum import IntEnum

from shrivenquant.errors import (
    CurrencyMismatchError,
    FixedPointOverflowError,
    PrecisionError,
    ShrivenQuantTypeError,
    ValidationError,
)

cdef extern from "sq_fixed.h" nogil:
    const int SQ_MAX_PRECISION
    const int64_t SQ_RAW_NULL
    const int64_t SQ_RAW_MAX
    const int SQ_OK
    const int SQ_ERR_SYNTAX
    const int SQ_ERR_OVERFLOW
    const int SQ_ERR_INEXACT
    const int SQ_ERR_PRECISION
    const int SQ_ROUND_HALF_EVEN
    const int SQ_ROUND_EXACT
    const int64_t SQ_POW10[19]
    int sq_rescale(int64_t raw, int frm, int to, int mode, int64_t *out)
    int sq_cmp(int64_t a, int pa, int64_t b, int pb)
    int sq_addsub(int64_t a, int pa, int64_t b, int pb, int negate_b, int64_t *out, int *pout)
    int sq_mul(int64_t a, int pa, int64_t b, int pb, int to, int mode, int64_t *out)
    int sq_parse_decimal(const char *s, Py_ssize_t n, int precision, int mode, int64_t *raw, int *prec_out)
    int sq_format(int64_t raw, int p, char *buf)
    int sq_div_round_i64(int64_t n, int64_t d, int mode, int64_t *out)

cdef extern from *:
    bint __builtin_add_overflow(int64_t a, int64_t b, int64_t *r) nogil
    bint __builtin_sub_overflow(int64_t a, int64_t b, int64_t *r) nogil
    bint __builtin_mul_overflow(int64_t a, int64_t b, int64_t *r) nogil

cdef extern from "Python.h":
    char *PyOS_double_to_string(double val, char format_code, int precision, int flags, int *ptype) except NULL
    void PyMem_Free(void *p)

MAX_PRECISION = SQ_MAX_PRECISION
RAW_NULL = SQ_RAW_NULL
RAW_MAX = SQ_RAW_MAX


class Rounding(IntEnum):
    """Rounding modes, with the meaning of the same-named modes of :mod:`decimal`.

    ``EXACT`` refuses to round: an inexact result raises :class:`~shrivenquant.errors.PrecisionError`.
    """

    HALF_EVEN = 0
    HALF_UP = 1
    HALF_DOWN = 2
    DOWN = 3
    UP = 4
    FLOOR = 5
    CEILING = 6
    EXACT = 7


cdef inline int _check_precision(object precision) except -1:
    if type(precision) is not int:
        if isinstance(precision, bool) or not isinstance(precision, int):
            raise ValidationError(
                f"precision must be an int from 0 to {SQ_MAX_PRECISION}, got {precision!r}")
    if precision < 0 or precision > SQ_MAX_PRECISION:
        raise ValidationError(f"precision must be from 0 to {SQ_MAX_PRECISION}, got {precision}")
    return <int>precision


cdef inline int _check_mode(object rounding) except -1:
    cdef int m
    try:
        m = rounding
    except TypeError:
        raise ValidationError(f"rounding must be a Rounding member, got {rounding!r}") from None
    if m < 0 or m > 7:
        raise ValidationError(f"rounding must be a Rounding member, got {rounding!r}")
    return m


cdef str _type_label(object cls):
    return cls.__name__ if isinstance(cls, type) else str(cls)


cdef int _raise_status(int st, object what, object text, int precision) except -1:
    if st == SQ_ERR_SYNTAX:
        raise ValidationError(
            f"invalid {what} {text!r}: expected a decimal number such as '61773.60' "
            f"(digits, an optional sign, point and exponent)")
    if st == SQ_ERR_OVERFLOW:
        raise FixedPointOverflowError(
            f"{what} {text!r} does not fit in int64 at precision {precision} "
            f"(|raw| must be <= {SQ_RAW_MAX})")
    if st == SQ_ERR_INEXACT:
        raise PrecisionError(
            f"{what} {text!r} is not exact at precision {precision}; "
            f"pass an explicit rounding mode or a larger precision")
    if st == SQ_ERR_PRECISION:
        raise PrecisionError(
            f"{what} {text!r} needs more than {SQ_MAX_PRECISION} decimal places "
            f"or 38 significant digits")
    raise ValidationError(f"could not convert {what} {text!r}")


cdef int _parse_text(object text, int precision, int mode, int64_t *raw, int *prec, object what) except -1:
    """Parse str or bytes into (raw, precision). precision < 0: natural precision."""
    cdef const char *s
    cdef Py_ssize_t n
    cdef int st
    if isinstance(text, str):
        s = PyUnicode_AsUTF8AndSize(text, &n)
    elif isinstance(text, bytes):
        s = PyBytes_AS_STRING(text)
        n = PyBytes_GET_SIZE(text)
    else:
        raise ShrivenQuantTypeError(f"expected str or bytes, got {type(text).__name__}")
    st = sq_parse_decimal(s, n, precision, mode, raw, prec)
    if st != SQ_OK:
        _raise_status(st, what, text, precision if precision >= 0 else SQ_MAX_PRECISION)
    return 0


cdef int _from_float(double x, int precision, int mode, int64_t *raw, object what) except -1:
    """Float via its shortest round-trip repr (the decimal a person typed), then rounded."""
    cdef char *s
    cdef int p
    cdef int st
    if not isfinite(x):
        raise ValidationError(f"{what} cannot be {x!r}: expected a finite number")
    s = PyOS_double_to_string(x, b'r', 0, 0, NULL)
    try:
        st = sq_parse_decimal(s, len(s), precision, mode, raw, &p)
    finally:
        PyMem_Free(s)
    if st != SQ_OK:
        _raise_status(st, what, x, precision)
    return 0


cdef int _convert(object value, object precision, int64_t *raw, int *prec, object what) except -1:
    """Exact conversion of str, bytes, int, Decimal, or another fixed-point value."""
    cdef int p = -1
    cdef int p_out, st
    cdef object t = type(value)
    if precision is not None:
        p = _check_precision(precision)
    if t is str or t is bytes:
        _parse_text(value, p, SQ_ROUND_EXACT, raw, prec, what)
        return 0
    if t is int:
        _parse_text(str(value), p if p >= 0 else 0, SQ_ROUND_EXACT, raw, prec, what)
        return 0
    if t is float:
        if p < 0:
            raise ValidationError(
                f"{what} from float {value!r} needs an explicit precision: use "
                f"{what}.from_float(value, precision, rounding) or an instrument's rounding helper")
        _from_float(value, p, SQ_ROUND_EXACT, raw, what)
        prec[0] = p
        return 0
    if isinstance(value, FixedPoint):
        p_out = p if p >= 0 else (<FixedPoint>value).precision
        st = sq_rescale((<FixedPoint>value).raw, (<FixedPoint>value).precision, p_out, SQ_ROUND_EXACT, raw)
        if st != SQ_OK:
            _raise_status(st, what, str(value), p_out)
        prec[0] = p_out
        return 0
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValidationError(f"{what} cannot be {value!r}: expected a finite number")
        _parse_text(str(value), p, SQ_ROUND_EXACT, raw, prec, what)
        return 0
    if isinstance(value, bool):
        raise ShrivenQuantTypeError(f"{what} cannot be built from bool")
    if isinstance(value, int):
        _parse_text(str(int(value)), p if p >= 0 else 0, SQ_ROUND_EXACT, raw, prec, what)
        return 0
    if isinstance(value, float):
        return _convert(float(value), precision, raw, prec, what)
    if hasattr(type(value), "__index__"):  # NumPy and other exact integer types
        return _convert(operator.index(value), precision, raw, prec, what)
    raise ShrivenQuantTypeError(
        f"{what} must be built from str, bytes, an integer, decimal.Decimal, float (with a precision) "
        f"or another fixed-point value, got {type(value).__name__}")


cdef inline object _format(int64_t raw, int precision):
    cdef char buf[48]
    cdef int n = sq_format(raw, precision, buf)
    return PyUnicode_DecodeASCII(buf, n, NULL)


cdef inline int64_t _check_raw(object raw) except? -1:
    cdef int64_t r
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationError(f"raw must be an int, got {type(raw).__name__}")
    if raw > SQ_RAW_MAX or raw < -SQ_RAW_MAX:
        raise FixedPointOverflowError(
            f"raw {raw} out of range: expected |raw| <= {SQ_RAW_MAX} (INT64_MIN is the null marker)")
    r = raw
    return r


@cython.freelist(512)
@cython.auto_pickle(False)
cdef class FixedPoint:
    """Base of the fixed-point value types: an int64 ``raw`` at a decimal ``precision``.

    Not built directly: use :class:`Price`, :class:`Quantity` or :class:`Money`.
    """

    cdef readonly int64_t raw
    """The raw integer: value = raw / 10**precision."""
    cdef readonly int precision
    """Number of decimal places, 0..18."""

    def __init__(self, *args, **kwargs):
        raise ShrivenQuantTypeError("FixedPoint is abstract: build a Price, Quantity or Money")

    def __str__(self) -> str:
        return _format(self.raw, self.precision)

    def __bool__(self) -> bool:
        return self.raw != 0

    def __float__(self) -> float:
        return self.as_double()

    cpdef double as_double(self):
        """The value as a float, for edges such as plotting; never feed it back into the core."""
        return <double>self.raw / <double>SQ_POW10[self.precision]

    def as_decimal(self):
        """The exact value as a :class:`decimal.Decimal`."""
        return decimal.Decimal(_format(self.raw, self.precision))

    def is_zero(self) -> bool:
        """True if the value is zero."""
        return self.raw == 0

    def raw_at(self, int precision, rounding=Rounding.EXACT) -> int:
        """The raw integer of this value at ``precision``, rounded with ``rounding`` (default exact)."""
        cdef int64_t out
        cdef int p = _check_precision(precision)
        cdef int st = sq_rescale(self.raw, self.precision, p, _check_mode(rounding), &out)
        if st != SQ_OK:
            _raise_status(st, type(self).__name__, str(self), p)
        return out

    def __hash__(self):
        cdef int64_t r = self.raw
        cdef int p = self.precision
        while p > 0 and r % 10 == 0:
            r //= 10
            p -= 1
        return hash((r, p))


cdef inline FixedPoint _new_like(FixedPoint template, int64_t raw, int precision):
    cdef FixedPoint out
    if type(template) is Price:
        out = Price.__new__(Price)
    elif type(template) is Quantity:
        out = Quantity.__new__(Quantity)
    else:
        out = Money.__new__(Money)
        (<Money>out).currency = (<Money>template).currency
    out.raw = raw
    out.precision = precision
    return out


cdef inline object _addsub(FixedPoint a, FixedPoint b, int negate):
    cdef int64_t raw
    cdef int p
    if a.precision == b.precision:
        if negate:
            if __builtin_sub_overflow(a.raw, b.raw, &raw) or raw == SQ_RAW_NULL:
                _overflow(a, b, "-")
        else:
            if __builtin_add_overflow(a.raw, b.raw, &raw) or raw == SQ_RAW_NULL:
                _overflow(a, b, "+")
        p = a.precision
    elif sq_addsub(a.raw, a.precision, b.raw, b.precision, negate, &raw, &p) != SQ_OK:
        _overflow(a, b, "-" if negate else "+")
    return _new_like(a, raw, p)




cdef int _overflow(FixedPoint a, FixedPoint b, str op) except -1:
    raise FixedPointOverflowError(
        f"{type(a).__name__}({str(a)!r}) {op} {type(b).__name__}({str(b)!r}) overflows int64 "
        f"at precision {max(a.precision, b.precision)}")


cdef inline bint _richcmp_result(int c, int op):
    if op == 0:
        return c < 0
    if op == 1:
        return c <= 0
    if op == 2:
        return c == 0
    if op == 3:
        return c != 0
    if op == 4:
        return c > 0
    return c >= 0


cdef object _notional(FixedPoint price, FixedPoint qty, object precision, object rounding, object currency):
    cdef int64_t raw
    cdef int p, st, mode
    cdef Money out
    if precision is None:
        p = price.precision + qty.precision
        st = SQ_ERR_OVERFLOW
        if p <= SQ_MAX_PRECISION:
            st = sq_mul(price.raw, price.precision, qty.raw, qty.precision, p, SQ_ROUND_EXACT, &raw)
        # exact product too wide: drop trailing zeros only (never rounds)
        while st != SQ_OK and p > 0:
            p -= 1
            st = sq_mul(price.raw, price.precision, qty.raw, qty.precision, p, SQ_ROUND_EXACT, &raw)
            if st == SQ_ERR_INEXACT:
                break
        if st != SQ_OK:
            raise FixedPointOverflowError(
                f"{price!r} * {qty!r} does not fit exactly in int64 at any precision; use "
                f"Price.notional(qty, precision=..., rounding=...) to round it")
    else:
        p = _check_precision(precision)
        mode = _check_mode(rounding)
        st = sq_mul(price.raw, price.precision, qty.raw, qty.precision, p, mode, &raw)
        if st != SQ_OK:
            _raise_status(st, "notional", f"{price} * {qty}", p)
    out = Money.__new__(Money)
    out.raw = raw
    out.precision = p
    out.currency = _check_currency(currency)
    return out


cdef inline object _mul(FixedPoint price, FixedPoint qty):
    """Exact price × quantity; the common case (p+q <= 18, product fits) without leaving C."""
    cdef int p = price.precision + qty.precision
    cdef int64_t raw
    cdef Money out
    if p <= SQ_MAX_PRECISION and not __builtin_mul_overflow(price.raw, qty.raw, &raw) and raw != SQ_RAW_NULL:
        out = Money.__new__(Money)
        out.raw = raw
        out.precision = p
        return out
    return _notional(price, qty, None, Rounding.EXACT, None)


@cython.final
cdef class Price(FixedPoint):
    """A price: exact decimal as int64 ``raw`` at ``precision`` decimal places (may be negative).

    ``Price("61773.60")`` keeps the string's precision (2); ``Price("61773.6", 2)`` fixes it and raises
    :class:`PrecisionError` if the string has more non-zero decimals. ``int`` and ``Decimal`` are exact;
    a ``float`` needs an explicit precision and is read through its shortest repr (``repr(0.1) == "0.1"``),
    see :meth:`from_float`.
    """

    def __init__(self, value, precision=None):
        cdef int64_t raw
        cdef int p
        _convert(value, precision, &raw, &p, "Price")
        self.raw = raw
        self.precision = p

    @staticmethod
    def from_raw(raw, int precision) -> Price:
        """Build from a raw integer at ``precision`` (value = raw / 10**precision)."""
        cdef Price out = Price.__new__(Price)
        out.precision = _check_precision(precision)
        out.raw = _check_raw(raw)
        return out

    @staticmethod
    def from_float(double value, int precision, rounding=Rounding.HALF_EVEN) -> Price:
        """Build from a float: its shortest repr rounded to ``precision`` with ``rounding``."""
        cdef Price out = Price.__new__(Price)
        cdef int64_t raw
        out.precision = _check_precision(precision)
        _from_float(value, out.precision, _check_mode(rounding), &raw, "Price")
        out.raw = raw
        return out

    @staticmethod
    def from_raw_array(raw, int precision) -> list:
        """A list of Price from an int64 array of raw values at ``precision``."""
        return _objects_from_raw(Price, raw, precision)

    def rescale(self, int precision, rounding=Rounding.EXACT) -> Price:
        """The same value at ``precision``, rounded with ``rounding`` (default: exact or raise)."""
        return _rescale(self, precision, rounding)

    def quantize(self, Price increment, rounding=Rounding.EXACT) -> Price:
        """Round to a multiple of ``increment`` (e.g. a tick); the result has the increment's precision."""
        return _quantize(self, increment, rounding)

    def notional(self, Quantity quantity, precision=None, rounding=Rounding.HALF_EVEN, currency=None) -> Money:
        """price × quantity as :class:`Money` through a 128-bit product.

        With ``precision=None`` the product is exact (precision p+q, trailing zeros dropped if it is
        too wide) or raises :class:`FixedPointOverflowError`; with a precision it is rounded with
        ``rounding``.
        """
        return _notional(self, quantity, precision, rounding, currency)

    def __add__(self, other):
        if type(self) is Price and type(other) is Price:
            return _addsub(<FixedPoint>self, <FixedPoint>other, 0)
        return NotImplemented

    def __sub__(self, other):
        if type(self) is Price and type(other) is Price:
            return _addsub(<FixedPoint>self, <FixedPoint>other, 1)
        return NotImplemented

    def __mul__(self, other):
        if type(other) is Quantity:
            return _mul(<FixedPoint>self, <FixedPoint>other)
        return NotImplemented

    def __neg__(self) -> Price:
        return _new_like(self, -self.raw, self.precision)

    def __pos__(self) -> Price:
        return self

    def __abs__(self) -> Price:
        return _new_like(self, -self.raw if self.raw < 0 else self.raw, self.precision)

    def __richcmp__(self, other, int op):
        if type(other) is not Price:
            return NotImplemented
        if self.precision == (<Price>other).precision:
            return _richcmp_result((self.raw > (<Price>other).raw) - (self.raw < (<Price>other).raw), op)
        return _richcmp_result(sq_cmp(self.raw, self.precision, (<Price>other).raw,
                                      (<Price>other).precision), op)

    def __hash__(self):
        return FixedPoint.__hash__(self)

    def __repr__(self) -> str:
        return f"Price('{_format(self.raw, self.precision)}')"

    def __reduce__(self):
        return (Price.from_raw, (self.raw, self.precision))


@cython.final
cdef class Quantity(FixedPoint):
    """A non-negative quantity: exact decimal as int64 ``raw`` at ``precision`` decimal places.

    Construction follows :class:`Price`; a negative value, or a subtraction that would go below
    zero, raises :class:`ValidationError`.
    """

    def __init__(self, value, precision=None):
        cdef int64_t raw
        cdef int p
        _convert(value, precision, &raw, &p, "Quantity")
        if raw < 0:
            raise ValidationError(f"Quantity must be >= 0, got {value!r}")
        self.raw = raw
        self.precision = p

    @staticmethod
    def from_raw(raw, int precision) -> Quantity:
        """Build from a raw integer at ``precision``; raw must be >= 0."""
        cdef Quantity out = Quantity.__new__(Quantity)
        out.precision = _check_precision(precision)
        out.raw = _check_raw(raw)
        if out.raw < 0:
            raise ValidationError(f"Quantity raw must be >= 0, got {raw}")
        return out

    @staticmethod
    def from_float(double value, int precision, rounding=Rounding.HALF_EVEN) -> Quantity:
        """Build from a float: its shortest repr rounded to ``precision`` with ``rounding``."""
        cdef Quantity out = Quantity.__new__(Quantity)
        cdef int64_t raw
        out.precision = _check_precision(precision)
        _from_float(value, out.precision, _check_mode(rounding), &raw, "Quantity")
        if raw < 0:
            raise ValidationError(f"Quantity must be >= 0, got {value!r}")
        out.raw = raw
        return out

    @staticmethod
    def from_raw_array(raw, int precision) -> list:
        """A list of Quantity from an int64 array of raw values at ``precision``."""
        return _objects_from_raw(Quantity, raw, precision)

    def rescale(self, int precision, rounding=Rounding.EXACT) -> Quantity:
        """The same value at ``precision``, rounded with ``rounding`` (default: exact or raise)."""
        return _rescale(self, precision, rounding)

    def quantize(self, Quantity increment, rounding=Rounding.EXACT) -> Quantity:
        """Round to a multiple of ``increment`` (e.g. a lot step); result has the increment's precision."""
        return _quantize(self, increment, rounding)

    def __add__(self, other):
        if type(self) is Quantity and type(other) is Quantity:
            return _addsub(<FixedPoint>self, <FixedPoint>other, 0)
        return NotImplemented

    def __sub__(self, other):
        cdef FixedPoint out
        if type(self) is Quantity and type(other) is Quantity:
            out = _addsub(<FixedPoint>self, <FixedPoint>other, 1)
            if out.raw < 0:
                raise ValidationError(f"Quantity {self} - {other} would be negative")
            return out
        return NotImplemented

    def __mul__(self, other):
        if type(other) is Price:
            return _mul(<FixedPoint>other, <FixedPoint>self)
        return NotImplemented

    def __richcmp__(self, other, int op):
        if type(other) is not Quantity:
            return NotImplemented
        if self.precision == (<Quantity>other).precision:
            return _richcmp_result((self.raw > (<Quantity>other).raw) - (self.raw < (<Quantity>other).raw), op)
        return _richcmp_result(sq_cmp(self.raw, self.precision, (<Quantity>other).raw,
                                      (<Quantity>other).precision), op)

    def __hash__(self):
        return FixedPoint.__hash__(self)

    def __repr__(self) -> str:
        return f"Quantity('{_format(self.raw, self.precision)}')"

    def __reduce__(self):
        return (Quantity.from_raw, (self.raw, self.precision))


# ----------------------------------------------------------------------------------------------
# Currency and Money
# ----------------------------------------------------------------------------------------------

cdef dict _CURRENCIES = {}


@cython.final
cdef class Currency:
    """A currency or asset: ``code`` (e.g. ``"USDT"``), its usual ``precision`` and a ``kind``.

    ``Currency.of("USDT")`` returns the registered instance; an unknown code raises
    :class:`ValidationError` unless registered first with :meth:`register`.
    """

    cdef readonly str code
    cdef readonly int precision
    cdef readonly str kind

    def __init__(self, str code, int precision, str kind="crypto"):
        if not code or len(code) > 32 or not code.replace("_", "").replace("-", "").isalnum():
            raise ValidationError(f"currency code must be 1-32 letters or digits, got {code!r}")
        if kind not in ("fiat", "crypto", "commodity"):
            raise ValidationError(f"currency kind must be 'fiat', 'crypto' or 'commodity', got {kind!r}")
        self.code = code
        self.precision = _check_precision(precision)
        self.kind = kind

    @staticmethod
    def of(str code) -> Currency:
        """The registered currency with this code."""
        cdef object c = _CURRENCIES.get(code)
        if c is None:
            raise ValidationError(
                f"unknown currency {code!r}: register it with Currency.register(Currency({code!r}, precision))")
        return c

    @staticmethod
    def register(Currency currency, bint overwrite=False) -> Currency:
        """Add a currency to the registry; returns the registered instance (the existing one if present)."""
        cdef object existing = _CURRENCIES.get(currency.code)
        if existing is not None and not overwrite:
            return existing
        _CURRENCIES[currency.code] = currency
        return currency

    @staticmethod
    def is_registered(str code) -> bool:
        """True if a currency with this code is registered."""
        return code in _CURRENCIES

    def __eq__(self, other):
        if type(other) is not Currency:
            return NotImplemented
        return self.code == (<Currency>other).code and self.precision == (<Currency>other).precision

    def __hash__(self):
        return hash((self.code, self.precision))

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"Currency({self.code!r}, {self.precision}, {self.kind!r})"

    def __reduce__(self):
        return (Currency, (self.code, self.precision, self.kind))


for _code, _prec, _kind in (
    ("USD", 2, "fiat"), ("EUR", 2, "fiat"), ("GBP", 2, "fiat"), ("JPY", 0, "fiat"), ("INR", 2, "fiat"),
    ("TRY", 2, "fiat"), ("BRL", 2, "fiat"), ("AUD", 2, "fiat"), ("RUB", 2, "fiat"), ("UAH", 2, "fiat"),
    ("USDT", 8, "crypto"), ("USDC", 8, "crypto"), ("BUSD", 8, "crypto"), ("FDUSD", 8, "crypto"),
    ("TUSD", 8, "crypto"), ("DAI", 8, "crypto"), ("BTC", 8, "crypto"), ("ETH", 8, "crypto"),
    ("BNB", 8, "crypto"), ("SOL", 8, "crypto"), ("XRP", 8, "crypto"),
):
    Currency.register(Currency(_code, _prec, _kind))


cdef object _check_currency(object currency):
    if currency is None or type(currency) is Currency:
        return currency
    if isinstance(currency, str):
        return Currency.of(currency)
    raise ShrivenQuantTypeError(f"currency must be a Currency, a registered code or None, got {type(currency).__name__}")


cdef int _same_currency(Money a, Money b, str op) except -1:
    if a.currency is b.currency:
        return 0
    if a.currency is None or b.currency is None or a.currency != b.currency:
        raise CurrencyMismatchError(
            f"cannot {op} Money in {a.currency} and Money in {b.currency}: convert one first")
    return 0


@cython.final
cdef class Money(FixedPoint):
    """An amount of money (may be negative) in a :class:`Currency`, or currency-less notional.

    ``Money("12.50", "USD")``; ``precision`` defaults to the string's (or, for int/float input, the
    currency's). ``str(Money)`` is ``"12.50 USD"`` and ``Money("12.50 USD")`` reads it back.
    ``Price * Quantity`` gives a currency-less Money; combining two currencies raises
    :class:`CurrencyMismatchError`.
    """

    cdef readonly object currency
    """The :class:`Currency`, or None for a currency-less notional."""

    def __init__(self, value, currency=None, precision=None):
        cdef int64_t raw
        cdef int p
        if currency is None and type(value) is str and " " in value:
            value, currency = value.rsplit(" ", 1)
        self.currency = _check_currency(currency)
        if precision is None and self.currency is not None and type(value) in (int, float):
            precision = (<Currency>self.currency).precision
        _convert(value, precision, &raw, &p, "Money")
        self.raw = raw
        self.precision = p

    @staticmethod
    def from_raw(raw, int precision, currency=None) -> Money:
        """Build from a raw integer at ``precision`` in ``currency``."""
        cdef Money out = Money.__new__(Money)
        out.precision = _check_precision(precision)
        out.raw = _check_raw(raw)
        out.currency = _check_currency(currency)
        return out

    @staticmethod
    def from_float(double value, int precision, currency=None, rounding=Rounding.HALF_EVEN) -> Money:
        """Build from a float: its shortest repr rounded to ``precision`` with ``rounding``."""
        cdef Money out = Money.__new__(Money)
        cdef int64_t raw
        out.precision = _check_precision(precision)
        out.currency = _check_currency(currency)
        _from_float(value, out.precision, _check_mode(rounding), &raw, "Money")
        out.raw = raw
        return out

    def rescale(self, int precision, rounding=Rounding.EXACT) -> Money:
        """The same amount at ``precision``, rounded with ``rounding`` (default: exact or raise)."""
        return _rescale(self, precision, rounding)

    def with_currency(self, currency) -> Money:
        """The same amount labelled with ``currency`` (for currency-less notionals)."""
        return Money.from_raw(self.raw, self.precision, currency)

    def __add__(self, other):
        if type(self) is Money and type(other) is Money:
            _same_currency(self, other, "add")
            return _addsub(<FixedPoint>self, <FixedPoint>other, 0)
        return NotImplemented

    def __sub__(self, other):
        if type(self) is Money and type(other) is Money:
            _same_currency(self, other, "subtract")
            return _addsub(<FixedPoint>self, <FixedPoint>other, 1)
        return NotImplemented

    def __neg__(self) -> Money:
        return _new_like(self, -self.raw, self.precision)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return _new_like(self, -self.raw if self.raw < 0 else self.raw, self.precision)

    def __richcmp__(self, other, int op):
        if type(other) is not Money:
            return NotImplemented
        if op == 2 or op == 3:
            if self.currency != (<Money>other).currency:
                return op == 3
        else:
            _same_currency(self, other, "compare")
        return _richcmp_result(sq_cmp(self.raw, self.precision, (<Money>other).raw,
                                      (<Money>other).precision), op)

    def __hash__(self):
        return hash((FixedPoint.__hash__(self), self.currency))

    def __str__(self) -> str:
        if self.currency is None:
            return _format(self.raw, self.precision)
        return f"{_format(self.raw, self.precision)} {(<Currency>self.currency).code}"

    def __repr__(self) -> str:
        if self.currency is None:
            return f"Money('{_format(self.raw, self.precision)}')"
        return f"Money('{_format(self.raw, self.precision)}', {(<Currency>self.currency).code!r})"

    def __reduce__(self):
        return (Money.from_raw, (self.raw, self.precision, self.currency))


cdef object _rescale(FixedPoint value, int precision, object rounding):
    cdef int64_t out
    cdef int p = _check_precision(precision)
    cdef int st = sq_rescale(value.raw, value.precision, p, _check_mode(rounding), &out)
    if st != SQ_OK:
        _raise_status(st, type(value).__name__, str(value), p)
    return _new_like(value, out, p)


cdef object _quantize(FixedPoint value, FixedPoint increment, object rounding):
    cdef int mode = _check_mode(rounding)
    cdef int c = value.precision if value.precision > increment.precision else increment.precision
    cdef int64_t a, t, n, res
    cdef int st
    if increment.raw <= 0:
        raise ValidationError(f"increment must be > 0, got {increment}")
    st = sq_rescale(value.raw, value.precision, c, SQ_ROUND_EXACT, &a)
    if st == SQ_OK:
        st = sq_rescale(increment.raw, increment.precision, c, SQ_ROUND_EXACT, &t)
    if st != SQ_OK:
        _raise_status(st, type(value).__name__, str(value), c)
    # n = round(a / t); result raw = n * increment.raw at the increment's precision
    n = _div_round_i64(a, t, mode, value, increment)
    if __builtin_mul_overflow(n, increment.raw, &res) or res == SQ_RAW_NULL:
        raise FixedPointOverflowError(f"{value} rounded to a multiple of {increment} overflows int64")
    return _new_like(value, res, increment.precision)




cdef int64_t _div_round_i64(int64_t a, int64_t t, int mode, object value, object increment) except? -1:
    cdef int64_t n
    if sq_div_round_i64(a, t, mode, &n) != SQ_OK:
        raise PrecisionError(f"{value} is not a multiple of {increment}: pass a rounding mode to round it")
    return n


# ----------------------------------------------------------------------------------------------
# Columns: raw int64 arrays <-> text and objects
# ----------------------------------------------------------------------------------------------

cdef list _objects_from_raw(object cls, object raw, int precision):
    cdef const int64_t[::1] view = _as_int64(raw)
    cdef Py_ssize_t i, n = view.shape[0]
    cdef int p = _check_precision(precision)
    cdef list out = []
    cdef FixedPoint obj
    cdef int64_t r
    for i in range(n):
        r = view[i]
        if r == SQ_RAW_NULL:
            raise ValidationError(f"raw value at index {i} is RAW_NULL: no {cls.__name__} there")
        if cls is Price:
            obj = Price.__new__(Price)
        else:
            if r < 0:
                raise ValidationError(f"Quantity raw at index {i} is negative: {r}")
            obj = Quantity.__new__(Quantity)
        obj.raw = r
        obj.precision = p
        out.append(obj)
    return out


cdef object _as_int64(object raw):
    import numpy as np
    arr = np.ascontiguousarray(raw)
    if arr.dtype != np.int64:
        if arr.dtype.kind not in "iu":
            raise ValidationError(f"expected an integer array of raw values, got dtype {arr.dtype}")
        arr = arr.astype(np.int64, casting="safe")
    if arr.ndim != 1:
        raise ValidationError(f"expected a 1-D array of raw values, got {arr.ndim} dimensions")
    return arr


def to_raw_array(values, int precision):
    """An int64 array of the raw values of ``values`` (Price/Quantity/Money) at ``precision``, exactly.

    Raises :class:`PrecisionError` if a value has more decimals than ``precision``.
    """
    import numpy as np
    cdef int p = _check_precision(precision)
    cdef Py_ssize_t i = 0, n = len(values)
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] view = out
    cdef int64_t r
    cdef int st
    for v in values:
        if not isinstance(v, FixedPoint):
            raise ShrivenQuantTypeError(f"to_raw_array takes Price, Quantity or Money, got {type(v).__name__} at {i}")
        st = sq_rescale((<FixedPoint>v).raw, (<FixedPoint>v).precision, p, SQ_ROUND_EXACT, &r)
        if st != SQ_OK:
            _raise_status(st, f"value at index {i}", str(v), p)
        view[i] = r
        i += 1
    return out


def parse_decimal(text, int precision, rounding=Rounding.EXACT) -> int:
    """The raw int64 of a decimal string (str or bytes) at ``precision``; exact unless ``rounding`` says."""
    cdef int64_t raw
    cdef int p
    _parse_text(text, _check_precision(precision), _check_mode(rounding), &raw, &p, "decimal")
    return raw


def parse_decimals(texts, int precision, rounding=Rounding.EXACT):
    """An int64 array of raw values from a sequence of decimal strings (str or bytes) at ``precision``.

    Exact unless ``rounding`` says otherwise; the error names the index of a bad entry.
    """
    import numpy as np
    cdef int p = _check_precision(precision)
    cdef int mode = _check_mode(rounding)
    cdef Py_ssize_t i = 0, n = len(texts)
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] view = out
    cdef int64_t raw
    cdef int pout
    for t in texts:
        try:
            _parse_text(t, p, mode, &raw, &pout, "decimal")
        except (ValidationError, FixedPointOverflowError) as exc:
            raise type(exc)(f"at index {i}: {exc}") from None
        view[i] = raw
        i += 1
    return out


def format_decimals(raw, int precision) -> list:
    """Exact decimal strings for an int64 array of raw values at ``precision`` (RAW_NULL gives '')."""
    cdef const int64_t[::1] view = _as_int64(raw)
    cdef int p = _check_precision(precision)
    cdef Py_ssize_t i, n = view.shape[0]
    cdef list out = []
    for i in range(n):
        out.append("" if view[i] == SQ_RAW_NULL else _format(view[i], p))
    return out


def format_raw(raw, int precision) -> str:
    """The exact decimal string of one raw integer at ``precision``."""
    cdef int64_t r = _check_raw(raw)
    return _format(r, _check_precision(precision))


def rescale_raw(raw, int from_precision, int to_precision, rounding=Rounding.EXACT):
    """A new int64 array: ``raw`` at ``from_precision`` rescaled to ``to_precision`` with ``rounding``.

    RAW_NULL entries stay RAW_NULL.
    """
    import numpy as np
    cdef const int64_t[::1] src = _as_int64(raw)
    cdef int pf = _check_precision(from_precision)
    cdef int pt = _check_precision(to_precision)
    cdef int mode = _check_mode(rounding)
    cdef Py_ssize_t i, n = src.shape[0]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] dst = out
    cdef int st = SQ_OK
    with nogil:
        for i in range(n):
            if src[i] == SQ_RAW_NULL:
                dst[i] = SQ_RAW_NULL
                continue
            st = sq_rescale(src[i], pf, pt, mode, &dst[i])
            if st != SQ_OK:
                break
    if st != SQ_OK:
        _raise_status(st, f"raw value at index {i}", src[i], pt)
    return out


def raw_to_float(raw, int precision):
    """A float64 array of ``raw / 10**precision`` (NaN for RAW_NULL): for analytics and plots at the edge."""
    import numpy as np
    cdef const int64_t[::1] src = _as_int64(raw)
    cdef double scale = <double>SQ_POW10[_check_precision(precision)]
    cdef Py_ssize_t i, n = src.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] dst = out
    with nogil:
        for i in range(n):
            dst[i] = (<double>src[i]) / scale if src[i] != SQ_RAW_NULL else NAN
    return out
