"""Fixed-point value types against decimal.Decimal: every operation, rounding mode and precision."""

from __future__ import annotations

import decimal
import pickle
from decimal import Decimal

import msgspec
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from support import DEC_MODE

from shrivenquant._native.fixed import (
    MAX_PRECISION,
    RAW_MAX,
    RAW_NULL,
    Currency,
    Money,
    Price,
    Quantity,
    Rounding,
    format_decimals,
    format_raw,
    parse_decimal,
    parse_decimals,
    raw_to_float,
    rescale_raw,
    to_raw_array,
)
from shrivenquant.core.serialization import dec_hook, enc_hook
from shrivenquant.errors import (
    CurrencyMismatchError,
    FixedPointOverflowError,
    PrecisionError,
    ShrivenQuantError,
    ShrivenQuantTypeError,
    ValidationError,
)

CTX = decimal.Context(prec=120, Emax=999999, Emin=-999999)


precisions = st.integers(0, MAX_PRECISION)
raws = st.one_of(
    st.integers(-RAW_MAX, RAW_MAX),
    st.integers(-10**6, 10**6),
    st.sampled_from([0, 1, -1, RAW_MAX, -RAW_MAX, RAW_MAX - 1, 10**18, -(10**18)]),
)
modes = st.sampled_from(list(DEC_MODE))


def dec(raw: int, p: int) -> Decimal:
    return CTX.scaleb(Decimal(raw), -p)


def exact_raw(value: Decimal, p: int) -> Decimal:
    """value × 10**p (exact in CTX)."""
    return CTX.scaleb(value, p)


def fits(raw: Decimal) -> bool:
    return raw == raw.to_integral_value() and abs(raw) <= RAW_MAX


# --------------------------------------------------------------------------- construction


@given(raws, precisions)
def test_str_round_trip_is_exact(raw: int, p: int) -> None:
    price = Price.from_raw(raw, p)
    text = str(price)
    assert Decimal(text) == dec(raw, p)
    again = Price(text)
    assert (again.raw, again.precision) == (raw, p)
    assert repr(price) == f"Price('{text}')"
    assert format_raw(raw, p) == text


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None), precisions)
def test_from_decimal_exact_or_precision_error(value: Decimal, p: int) -> None:
    scaled = exact_raw(value, p)
    if not fits(scaled):
        with pytest.raises((PrecisionError, FixedPointOverflowError)):
            Price(value, p)
        return
    price = Price(value, p)
    assert price.precision == p
    assert price.raw == int(scaled)
    assert price.as_decimal() == value


@given(st.integers(-(10**20), 10**20), st.integers(0, 6))
def test_from_int(value: int, p: int) -> None:
    if abs(value) * 10**p > RAW_MAX:
        with pytest.raises(FixedPointOverflowError):
            Price(value, p)
    else:
        assert Price(value, p).raw == value * 10**p
        assert Price(value).precision == 0


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12), st.integers(0, 8), modes)
def test_from_float_rounds_the_shortest_repr(x: float, p: int, mode: Rounding) -> None:
    expected = Decimal(repr(x)).quantize(Decimal(1).scaleb(-p), rounding=DEC_MODE[mode], context=CTX)
    if abs(exact_raw(expected, p)) > RAW_MAX:
        with pytest.raises(FixedPointOverflowError):
            Price.from_float(x, p, mode)
        return
    assert Price.from_float(x, p, mode).as_decimal() == expected
    if Decimal(repr(x)) == expected:
        assert Price(x, p).as_decimal() == expected  # the constructor is exact
    else:
        with pytest.raises(PrecisionError):
            Price(x, p)


def test_float_needs_precision_and_documented_half_even() -> None:
    with pytest.raises(ValidationError, match="explicit precision"):
        Price(1.5)
    assert str(Price.from_float(1.005, 2)) == "1.00"  # "1.005" is a tie: half-even keeps 1.00
    assert str(Price.from_float(1.005, 2, Rounding.HALF_UP)) == "1.01"
    assert str(Price.from_float(0.1 + 0.2, 2)) == "0.30"
    assert str(Price.from_float(1e-5, 6)) == "0.000010"
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValidationError, match="finite"):
            Price.from_float(bad, 2)


@given(
    st.sampled_from(["", "-", "+", ".", "1.2.3", "abc", "1e", "1e+", "--1", "1 ", " 1", "0x10", "1_000", "nan", "inf"])
)
def test_bad_strings_raise_validation_error(text: str) -> None:
    with pytest.raises(ValidationError, match="invalid Price"):
        Price(text)


@given(
    st.integers(-(10**25), 10**25),
    st.integers(-30, 30),
    st.sampled_from(["e", "E"]),
    st.integers(0, 12),
    st.sampled_from([*DEC_MODE, Rounding.EXACT]),
)
def test_parse_decimal_with_exponent_matches_decimal(mant: int, exp: int, e: str, p: int, mode: Rounding) -> None:
    text = f"{mant}{e}{exp}"
    value = Decimal(text)
    q = Decimal(1).scaleb(-p)
    if mode is Rounding.EXACT:
        scaled = exact_raw(value, p)
        rounded = value.quantize(q, context=CTX) if scaled == scaled.to_integral_value() else None
    else:
        rounded = value.quantize(q, rounding=DEC_MODE[mode], context=CTX)
    if rounded is None:
        with pytest.raises(PrecisionError):
            parse_decimal(text, p, mode)
        return
    scaled = exact_raw(rounded, p)
    if abs(scaled) > RAW_MAX:
        with pytest.raises(FixedPointOverflowError):
            parse_decimal(text, p, mode)
        return
    assert parse_decimal(text, p, mode) == int(scaled)
    assert parse_decimal(text.encode(), p, mode) == int(scaled)


def test_natural_precision_keeps_trailing_zeros() -> None:
    assert Price("61737.63000000").precision == 8
    assert str(Price("61737.63000000")) == "61737.63000000"
    assert Price("61773.6", 2).raw == 6177360
    assert Price("1.2300", 2).raw == 123  # zeros beyond the precision are exact
    with pytest.raises(PrecisionError, match="not exact at precision 2"):
        Price("1.234", 2)
    assert Price("-0.000").raw == 0
    assert Price(".5").raw == 5
    assert Price("5.").raw == 5
    with pytest.raises(PrecisionError):
        Price("1e-19")  # natural precision above the maximum


def test_bad_types_and_precisions() -> None:
    with pytest.raises(ShrivenQuantTypeError, match="bool"):
        Price(True)
    with pytest.raises(ShrivenQuantTypeError, match="must be built from str"):
        Price([1])
    with pytest.raises(ShrivenQuantTypeError, match="currency must be"):
        Money("1", 5)
    assert issubclass(ShrivenQuantTypeError, TypeError)
    with pytest.raises(ValidationError, match="precision"):
        Price("1", 19)
    with pytest.raises(ValidationError, match="precision"):
        Price("1", -1)
    with pytest.raises(ValidationError, match="precision"):
        Price("1", "2")
    with pytest.raises(ValidationError, match="finite"):
        Price(Decimal("NaN"))
    with pytest.raises(ValidationError, match="Quantity must be >= 0"):
        Quantity("-1")
    with pytest.raises(ValidationError):
        Quantity.from_raw(-5, 2)
    with pytest.raises(FixedPointOverflowError, match="out of range"):
        Price.from_raw(RAW_NULL, 2)
    with pytest.raises(ValidationError, match="rounding"):
        Price("1").rescale(0, "ROUND_HALF_UP")
    with pytest.raises(TypeError, match="abstract"):
        from shrivenquant._native.fixed import FixedPoint

        FixedPoint()
    # every error is in the one hierarchy
    for exc in (ValidationError, PrecisionError, FixedPointOverflowError, CurrencyMismatchError):
        assert issubclass(exc, ShrivenQuantError)


# --------------------------------------------------------------------------- arithmetic


@given(raws, precisions, raws, precisions, st.booleans())
def test_add_sub_match_decimal_or_overflow(ra: int, pa: int, rb: int, pb: int, subtract: bool) -> None:
    a, b = Price.from_raw(ra, pa), Price.from_raw(rb, pb)
    exact = CTX.subtract(dec(ra, pa), dec(rb, pb)) if subtract else CTX.add(dec(ra, pa), dec(rb, pb))
    p = max(pa, pb)
    if abs(exact_raw(exact, p)) > RAW_MAX:
        with pytest.raises(FixedPointOverflowError):
            _ = a - b if subtract else a + b
        return
    result = a - b if subtract else a + b
    assert type(result) is Price
    assert result.precision == p
    assert result.as_decimal() == exact


@given(raws, precisions, raws, precisions)
def test_comparisons_and_hash_match_decimal(ra: int, pa: int, rb: int, pb: int) -> None:
    a, b = Price.from_raw(ra, pa), Price.from_raw(rb, pb)
    da, db = dec(ra, pa), dec(rb, pb)
    assert (a < b) is (da < db)
    assert (a <= b) is (da <= db)
    assert (a > b) is (da > db)
    assert (a >= b) is (da >= db)
    assert (a == b) is (da == db)
    assert (a != b) is (da != db)
    if a == b:
        assert hash(a) == hash(b)


@given(raws, precisions, st.integers(1, 10**9), st.integers(0, 9))
def test_equal_values_hash_equal_across_precisions(raw: int, p: int, _unused: int, extra: int) -> None:
    assume(p + extra <= MAX_PRECISION and abs(raw) * 10**extra <= RAW_MAX)
    a = Price.from_raw(raw, p)
    b = Price.from_raw(raw * 10**extra, p + extra)
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


@given(raws, precisions, precisions, modes)
def test_rescale_every_mode(raw: int, p: int, to: int, mode: Rounding) -> None:
    value = dec(raw, p)
    expected = value.quantize(Decimal(1).scaleb(-to), rounding=DEC_MODE[mode], context=CTX)
    if abs(exact_raw(expected, to)) > RAW_MAX:
        with pytest.raises(FixedPointOverflowError):
            Price.from_raw(raw, p).rescale(to, mode)
        return
    out = Price.from_raw(raw, p).rescale(to, mode)
    assert out.precision == to
    assert out.as_decimal() == expected
    exact_ok = expected == value
    if exact_ok:
        assert Price.from_raw(raw, p).rescale(to).as_decimal() == value
    else:
        with pytest.raises(PrecisionError):
            Price.from_raw(raw, p).rescale(to)


@given(st.integers(-(10**12), 10**12), st.integers(0, 8), st.integers(1, 10**6), st.integers(0, 8), modes)
def test_quantize_to_increment(raw: int, p: int, inc_raw: int, inc_p: int, mode: Rounding) -> None:
    value, inc = dec(raw, p), dec(inc_raw, inc_p)
    n = CTX.divide(value, inc).to_integral_value(rounding=DEC_MODE[mode])
    expected = CTX.multiply(n, inc)
    common = max(p, inc_p)
    if abs(exact_raw(value, common)) > RAW_MAX or abs(exact_raw(expected, inc_p)) > RAW_MAX:
        with pytest.raises(FixedPointOverflowError):
            Price.from_raw(raw, p).quantize(Price.from_raw(inc_raw, inc_p), mode)
        return
    out = Price.from_raw(raw, p).quantize(Price.from_raw(inc_raw, inc_p), mode)
    assert out.as_decimal() == expected
    assert out.precision == inc_p
    if expected != value:
        with pytest.raises(PrecisionError, match="not a multiple"):
            Price.from_raw(raw, p).quantize(Price.from_raw(inc_raw, inc_p))


@given(st.integers(-(10**15), 10**15), st.integers(0, 9), st.integers(0, 10**15), st.integers(0, 9))
def test_price_times_quantity_is_exact(rp: int, pp: int, rq: int, pq: int) -> None:
    price, qty = Price.from_raw(rp, pp), Quantity.from_raw(rq, pq)
    exact = CTX.multiply(dec(rp, pp), dec(rq, pq))
    try:
        money = price * qty
    except FixedPointOverflowError:
        # only when no precision holds the exact product in int64
        digits = exact.normalize(CTX)
        needed = max(0, -digits.as_tuple().exponent)
        assert needed > MAX_PRECISION or abs(exact_raw(exact, needed)) > RAW_MAX
        return
    assert type(money) is Money
    assert money.currency is None
    assert money.as_decimal() == exact
    assert (qty * price) == money


@given(
    st.integers(-RAW_MAX, RAW_MAX), precisions, st.integers(0, RAW_MAX), precisions, precisions, modes
)
def test_notional_with_rounding_matches_decimal(rp: int, pp: int, rq: int, pq: int, to: int, mode: Rounding) -> None:
    price, qty = Price.from_raw(rp, pp), Quantity.from_raw(rq, pq)
    exact = CTX.multiply(dec(rp, pp), dec(rq, pq))
    expected = exact.quantize(Decimal(1).scaleb(-to), rounding=DEC_MODE[mode], context=CTX)
    if abs(exact_raw(expected, to)) > RAW_MAX:
        with pytest.raises(FixedPointOverflowError):
            price.notional(qty, to, mode)
        return
    out = price.notional(qty, to, mode, "USDT")
    assert out.as_decimal() == expected
    assert out.precision == to
    assert out.currency == Currency.of("USDT")


def test_mixing_types_raises_type_error() -> None:
    p, q, m = Price("1.5"), Quantity("2"), Money("3", "USD")
    for op in (
        lambda: p + q, lambda: p - q, lambda: p + 1, lambda: 1 + p, lambda: p * p, lambda: q * q,
        lambda: p * 2, lambda: p + m, lambda: q + m, lambda: m * p, lambda: p < q, lambda: p < 1,
        lambda: p + Decimal(1), lambda: p / p, lambda: m < 1,
    ):
        with pytest.raises(TypeError):
            op()
    assert (p == q) is False
    assert (p == 1.5) is False
    assert p != "1.5"


@given(st.integers(0, RAW_MAX), precisions, st.integers(0, RAW_MAX), precisions, st.booleans())
def test_quantity_add_sub_match_decimal(ra: int, pa: int, rb: int, pb: int, subtract: bool) -> None:
    a, b = Quantity.from_raw(ra, pa), Quantity.from_raw(rb, pb)
    exact = CTX.subtract(dec(ra, pa), dec(rb, pb)) if subtract else CTX.add(dec(ra, pa), dec(rb, pb))
    p = max(pa, pb)
    if abs(exact_raw(exact, p)) > RAW_MAX:
        with pytest.raises(FixedPointOverflowError):
            _ = a - b if subtract else a + b
    elif exact < 0:
        with pytest.raises(ValidationError, match="negative"):
            _ = a - b
    else:
        out = a - b if subtract else a + b
        assert type(out) is Quantity
        assert (out.as_decimal(), out.precision) == (exact, p)
        assert (a < b) is (dec(ra, pa) < dec(rb, pb))


@given(raws, precisions, raws, precisions, st.sampled_from(["USD", "USDT", "INR", None]))
def test_money_add_sub_compare_match_decimal(ra: int, pa: int, rb: int, pb: int, code: str | None) -> None:
    a, b = Money.from_raw(ra, pa, code), Money.from_raw(rb, pb, code)
    da, db = dec(ra, pa), dec(rb, pb)
    for op, exact in (("+", CTX.add(da, db)), ("-", CTX.subtract(da, db))):
        if abs(exact_raw(exact, max(pa, pb))) > RAW_MAX:
            with pytest.raises(FixedPointOverflowError):
                _ = a + b if op == "+" else a - b
            continue
        out = a + b if op == "+" else a - b
        assert out.as_decimal() == exact
        assert out.currency == a.currency
    assert (a < b) is (da < db)
    assert (a == b) is (da == db)
    assert (-a).as_decimal() == -da
    assert abs(a).as_decimal() == abs(da)


def test_numpy_scalars_convert_exactly() -> None:
    assert Price(np.int64(5), 2) == Price("5.00")
    assert Quantity(np.uint32(7)) == Quantity("7")
    assert Price(np.float64(1.5), 1) == Price("1.5")
    with pytest.raises(ValidationError, match="explicit precision"):
        Price(np.float64(1.5))


def test_quantity_cannot_go_negative() -> None:
    assert Quantity("2") - Quantity("0.5") == Quantity("1.5")
    with pytest.raises(ValidationError, match="negative"):
        _ = Quantity("1") - Quantity("1.01")


def test_unary_and_conversions() -> None:
    p = Price("-12.340")
    assert -p == Price("12.34")
    assert abs(p) == Price("12.34")
    assert +p is p
    assert float(p) == -12.34
    assert p.as_decimal() == Decimal("-12.340")
    assert bool(Price("0.00")) is False
    assert Price("0.00").is_zero()
    assert p.raw_at(5) == -1234000
    with pytest.raises(PrecisionError):
        p.raw_at(1)
    assert p.raw_at(1, Rounding.FLOOR) == -124


# --------------------------------------------------------------------------- money and currency


def test_money_and_currency() -> None:
    usd = Currency.of("USD")
    m = Money("12.50", "USD")
    assert m.currency is usd
    assert str(m) == "12.50 USD"
    assert Money(str(m)) == m
    assert repr(m) == "Money('12.50', 'USD')"
    assert Money(5, "USDT").precision == 8  # ints take the currency's precision
    assert Money("-3.1", usd) + Money("1", usd) == Money("-2.1", usd)
    assert -m == Money("-12.5", "USD")
    with pytest.raises(CurrencyMismatchError, match="USD"):
        _ = m + Money("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = m < Money("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = m + Money("1")
    assert (m == Money("12.5", "EUR")) is False
    assert m == Money("12.5", "USD")
    assert hash(m) == hash(Money("12.5", "USD"))
    with pytest.raises(ValidationError, match="unknown currency"):
        Currency.of("NOPE")
    with pytest.raises(ValidationError, match="currency code"):
        Currency("bad code!", 2)
    with pytest.raises(ValidationError, match="kind"):
        Currency("ABC", 2, "shares")
    lrc = Currency.register(Currency("LRCTEST", 8))
    assert Currency.of("LRCTEST") is lrc
    assert Currency.register(Currency("LRCTEST", 4)) is lrc  # existing wins unless overwrite
    notional = (Price("61773.60") * Quantity("0.005")).with_currency("USDT")
    assert notional == Money("308.868", "USDT")


# --------------------------------------------------------------------------- serialisation


@given(raws, precisions)
def test_pickle_and_msgspec_round_trip(raw: int, p: int) -> None:
    values = [Price.from_raw(raw, p), Money.from_raw(raw, p, "INR"), Money.from_raw(raw, p)]
    if raw >= 0:
        values.append(Quantity.from_raw(raw, p))
    for v in values:
        back = pickle.loads(pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(back) is type(v)
        assert (back.raw, back.precision) == (v.raw, v.precision)
        assert back == v
        for enc, dec_ in ((msgspec.json, msgspec.json), (msgspec.msgpack, msgspec.msgpack)):
            data = enc.encode(v, enc_hook=enc_hook)
            again = dec_.decode(data, type=type(v), dec_hook=dec_hook)
            assert (again.raw, again.precision) == (v.raw, v.precision)
            assert again == v


def test_currency_pickles() -> None:
    usdt = Currency.of("USDT")
    assert pickle.loads(pickle.dumps(usdt)) == usdt


# --------------------------------------------------------------------------- columns


@given(st.lists(st.tuples(st.integers(-(10**12), 10**12), st.integers(0, 6)), max_size=50), st.integers(6, 12))
def test_columns_round_trip(pairs: list[tuple[int, int]], p: int) -> None:
    assume(all(abs(r) * 10 ** (p - q) <= RAW_MAX for r, q in pairs))
    prices = [Price.from_raw(r, q) for r, q in pairs]
    arr = to_raw_array(prices, p)
    assert arr.dtype == np.int64
    assert [Price.from_raw(int(x), p) for x in arr] == prices
    assert Price.from_raw_array(arr, p) == prices
    texts = format_decimals(arr, p)
    assert texts == [str(Price.from_raw(int(x), p)) for x in arr]
    assert np.array_equal(parse_decimals(texts, p), arr)
    assert np.array_equal(parse_decimals([t.encode() for t in texts], p), arr)
    np.testing.assert_allclose(
        raw_to_float(arr, p), np.array([float(x.as_decimal()) for x in prices]), rtol=4e-16, atol=0
    )
    if all(abs(int(x)) * 1000 <= RAW_MAX for x in arr):
        assert np.array_equal(rescale_raw(rescale_raw(arr, p, p + 3), p + 3, p), arr)
    else:
        with pytest.raises(FixedPointOverflowError):
            rescale_raw(arr, p, p + 3)


def test_column_errors_name_the_index() -> None:
    with pytest.raises(PrecisionError, match="index 1"):
        to_raw_array([Price("1.5"), Price("1.55")], 1)
    with pytest.raises(PrecisionError, match="at index 2"):
        parse_decimals(["1.5", "2", "3.25"], 1)
    with pytest.raises(ValidationError, match="at index 0"):
        parse_decimals(["x"], 1)
    with pytest.raises(ValidationError, match="integer array"):
        Price.from_raw_array(np.array([1.5]), 2)
    with pytest.raises(ValidationError, match="RAW_NULL"):
        Price.from_raw_array(np.array([RAW_NULL]), 2)
    with pytest.raises(PrecisionError):
        rescale_raw(np.array([15]), 1, 0)
    assert rescale_raw(np.array([15, RAW_NULL]), 1, 0, Rounding.HALF_EVEN).tolist() == [2, RAW_NULL]
    assert np.isnan(raw_to_float(np.array([RAW_NULL]), 2)[0])
    assert format_decimals(np.array([RAW_NULL, 5]), 1) == ["", "0.5"]
