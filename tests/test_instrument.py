"""Instrument: validation, precisions, exact rounding helpers, notional and serialization."""

from __future__ import annotations

import decimal
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import DEC_MODE

from shrivenquant._native.fixed import Currency, Money, Price, Quantity, Rounding
from shrivenquant.core.enums import InstrumentKind, OptionRight
from shrivenquant.core.instrument import Instrument, currency_for
from shrivenquant.core.serialization import from_json, from_msgpack, to_json, to_msgpack
from shrivenquant.errors import (
    FixedPointOverflowError,
    InstrumentError,
    PrecisionError,
    ShrivenQuantError,
    ValidationError,
)

_DEC_ROUNDING = DEC_MODE
_INEXACT_MODES = list(_DEC_ROUNDING)


def spot(**kw: object) -> Instrument:
    """A BTCUSDT-like spot instrument (ticks written with Binance's trailing zeros)."""
    fields: dict[str, object] = {
        "venue": "BINANCE", "symbol": "BTCUSDT", "kind": InstrumentKind.SPOT, "base": "BTC", "quote": "USDT",
        "settlement": "USDT", "price_tick": Price("0.01000000"), "size_step": Quantity("0.00001000"),
        "min_qty": Quantity("0.00001"), "max_qty": Quantity("9000"), "min_price": Price("0.01"),
        "max_price": Price("1000000"), "min_notional": Money("10", "USDT"),
    }
    fields.update(kw)
    return Instrument(**fields)  # type: ignore[arg-type]


def inverse_future() -> Instrument:
    return Instrument(
        venue="BINANCE_COINM", symbol="BTCUSD_211231", kind=InstrumentKind.FUTURE, base="BTC", quote="USD",
        settlement="BTC", price_tick=Price("0.1"), size_step=Quantity("1"), multiplier=Quantity("100"),
        inverse=True, expiry_ns=1_640_937_600_000_000_000)


def nfo_option() -> Instrument:
    return Instrument(
        venue="NFO", symbol="BANKNIFTY18JAN23500CE", kind=InstrumentKind.OPTION, quote="INR", settlement="INR",
        price_tick=Price("0.05"), size_step=Quantity("1"), lot_size=40, expiry_ns=1_516_874_400_000_000_000,
        strike=Price("23500"), option_right=OptionRight.CALL, venue_token=12073986, underlying="BANKNIFTY")


# ---------------------------------------------------------------------------------------------- definition

def test_identity_and_precisions() -> None:
    inst = spot()
    assert inst.id == "BTCUSDT.BINANCE"
    assert inst.price_precision == 2  # "0.01000000": trailing zeros dropped
    assert inst.size_precision == 5
    assert inst.quote_currency == Currency.of("USDT")
    assert inverse_future().price_precision == 1
    assert inverse_future().size_precision == 0
    assert spot(price_tick=Price("5")).price_precision == 0


def test_unknown_quote_currency_is_registered_as_crypto() -> None:
    assert not Currency.is_registered("ZQTESTX")
    inst = spot(quote="ZQTESTX", min_notional=None)
    cur = inst.quote_currency
    assert (cur.code, cur.precision, cur.kind) == ("ZQTESTX", 8, "crypto")
    assert currency_for("ZQTESTX") is cur
    assert currency_for("INR").precision == 2  # registered ones are kept


def test_currency_for_rejects_a_bad_code() -> None:
    with pytest.raises(ValidationError, match="currency code"):
        currency_for("BAD CODE!")


@pytest.mark.parametrize(("changes", "message"), [
    ({"venue": ""}, "venue and a symbol"),
    ({"symbol": ""}, "venue and a symbol"),
    ({"quote": ""}, "quote currency"),
    ({"price_tick": Price("0")}, "price_tick must be > 0"),
    ({"price_tick": Price("-0.01")}, "price_tick must be > 0"),
    ({"size_step": Quantity("0")}, "size_step must be > 0"),
    ({"lot_size": 0}, "lot_size must be >= 1"),
    ({"multiplier": Quantity("0")}, "multiplier must be > 0"),
    ({"min_qty": Quantity("2"), "max_qty": Quantity("1")}, "max_qty 1 < min_qty 2"),
    ({"min_price": Price("2"), "max_price": Price("1.5")}, "max_price 1.5 < min_price 2"),
    ({"min_notional": Money("10", "USDT"), "max_notional": Money("5", "USDT")}, "max_notional"),
    ({"min_notional": Money("10", "USD")}, "notional bound 10 USD must be in the quote currency USDT"),
    ({"max_notional": Money("10", "BTC")}, "must be in the quote currency USDT"),
    ({"kind": InstrumentKind.OPTION, "expiry_ns": 1}, "option needs a strike"),
    ({"kind": InstrumentKind.OPTION, "strike": Price("1"), "option_right": OptionRight.PUT}, "needs an expiry"),
    ({"kind": InstrumentKind.FUTURE}, "future needs an expiry"),
])
def test_invalid_definitions_raise_instrument_error(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InstrumentError, match=message):
        spot(**changes)


# ---------------------------------------------------------------------------------------------- make_price / make_qty

def test_make_price_exact_and_rounded() -> None:
    inst = spot()
    p = inst.make_price("61773.6")
    assert (p.raw, p.precision) == (6177360, 2)  # at the instrument's price precision
    assert inst.make_price(Price("61773.600000")) == Price("61773.60")
    assert inst.make_price(Decimal("1.10")).precision == 2
    assert inst.make_price(7).raw == 700
    with pytest.raises(PrecisionError, match=r"BTCUSDT\.BINANCE: price 1\.005 is not on the tick 0\.01"):
        inst.make_price("1.005")
    assert inst.make_price("1.005", Rounding.HALF_UP) == Price("1.01")
    assert inst.make_price("1.005", Rounding.HALF_EVEN) == Price("1.00")
    assert inst.make_price("1.005", Rounding.HALF_DOWN) == Price("1.00")
    assert inst.make_price("-1.005", Rounding.FLOOR) == Price("-1.01")
    assert inst.make_price("-1.005", Rounding.DOWN) == Price("-1.00")


def test_make_price_from_float_reads_the_shortest_repr_and_rounds_once() -> None:
    inst = spot()
    assert inst.make_price(0.1 + 0.2, Rounding.HALF_EVEN) == Price("0.30")  # 0.30000000000000004
    with pytest.raises(PrecisionError):
        inst.make_price(0.1 + 0.2)  # EXACT: not on the tick
    assert inst.make_price(61773.6) == Price("61773.60")
    # a repr with more digits than the tick, just above a half: rounded once, never twice
    assert inst.make_price(0.005000000000000001, Rounding.HALF_DOWN) == Price("0.01")
    assert inst.make_price(1e-12, Rounding.UP) == Price("0.01")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_make_price_rejects_non_finite_floats(bad: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        spot().make_price(bad, Rounding.HALF_EVEN)


@pytest.mark.parametrize("bad", [object(), None, True, [1]])
def test_make_price_and_qty_reject_unsupported_types(bad: object) -> None:
    with pytest.raises(ValidationError, match="cannot make a price"):
        spot().make_price(bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="cannot make a quantity"):
        spot().make_qty(bad)  # type: ignore[arg-type]


def test_make_price_rejects_bad_text_and_bad_rounding() -> None:
    with pytest.raises(ValidationError, match="invalid Price"):
        spot().make_price("12,5")
    with pytest.raises(ValidationError, match="Rounding"):
        spot().make_price(1.234, 99)  # type: ignore[arg-type]


def test_make_qty() -> None:
    inst = spot()
    q = inst.make_qty("0.5")
    assert (q.raw, q.precision) == (50000, 5)
    assert inst.make_qty(1.23456789, Rounding.DOWN) == Quantity("1.23456")
    assert inst.make_qty(Quantity("0.000015"), Rounding.HALF_EVEN) == Quantity("0.00002")
    with pytest.raises(PrecisionError, match="not on the step 0.00001"):
        inst.make_qty("0.000015")
    with pytest.raises(PrecisionError, match="not on the step"):
        inst.make_qty(0.000015)
    with pytest.raises(ValidationError, match=">= 0"):
        inst.make_qty(-1.0)
    with pytest.raises(ValidationError):
        inst.make_qty("-1")


@given(
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
    mode=st.sampled_from(_INEXACT_MODES),
    tick=st.sampled_from(["0.01", "0.05", "0.5", "1", "25", "0.0001", "0.00000100"]),
)
def test_make_price_float_matches_decimal_reference(value: float, mode: Rounding, tick: str) -> None:
    inst = spot(price_tick=Price(tick), min_price=None, max_price=None)
    t = Decimal(tick)
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        expected = (Decimal(repr(value)) / t).to_integral_value(rounding=_DEC_ROUNDING[mode]) * t
    got = inst.make_price(value, mode)
    assert got.precision == inst.price_precision
    assert got.as_decimal() == expected
    inst.check_price(got)  # always on the tick


# ---------------------------------------------------------------------------------------------- check_price / check_qty

def test_check_price() -> None:
    inst = spot()
    p = Price("61773.60")
    assert inst.check_price(p) is p
    assert inst.check_price(Price("61773.6")) == p  # any precision, as long as on the tick
    with pytest.raises(PrecisionError, match="not on the tick"):
        inst.check_price(Price("61773.601"))
    with pytest.raises(ValidationError, match="below the minimum 0.01"):
        inst.check_price(Price("0"))
    with pytest.raises(ValidationError, match="above the maximum 1000000"):
        inst.check_price(Price("1000000.01"))
    with pytest.raises(ValidationError, match="expected a Price, got str"):
        inst.check_price("61773.60")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="expected a Price, got Quantity"):
        inst.check_price(Quantity("1"))  # type: ignore[arg-type]


def test_check_price_without_bounds_allows_negative_prices_on_tick() -> None:
    inst = spot(min_price=None, max_price=None)
    assert inst.check_price(Price("-3.25")) == Price("-3.25")


def test_check_qty() -> None:
    inst = spot(market_max_qty=Quantity("100.05381873"))
    q = Quantity("0.00017")
    assert inst.check_qty(q) is q
    with pytest.raises(PrecisionError, match="not on the step"):
        inst.check_qty(Quantity("0.000171"))
    with pytest.raises(ValidationError, match="must be > 0"):
        inst.check_qty(Quantity("0"))
    with pytest.raises(ValidationError, match="above the maximum 9000"):
        inst.check_qty(Quantity("9000.00001"))
    assert inst.check_qty(Quantity("500")) == Quantity("500")
    with pytest.raises(ValidationError, match="market order quantity 500 is above the maximum 100.05381873"):
        inst.check_qty(Quantity("500"), market=True)
    with pytest.raises(ValidationError, match="expected a Quantity"):
        inst.check_qty(0.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="below the minimum 0.001"):
        spot(min_qty=Quantity("0.001")).check_qty(Quantity("0.0005"))


def test_check_qty_requires_whole_lots() -> None:
    inst = nfo_option()
    assert inst.check_qty(Quantity("80")) == Quantity("80")
    with pytest.raises(PrecisionError, match="whole number of lots of 40"):
        inst.check_qty(Quantity("20"))
    with pytest.raises(PrecisionError, match="not on the step 1"):
        inst.check_qty(Quantity("40.5"))


# ---------------------------------------------------------------------------------------------- notional

def test_notional_is_exact_at_the_quote_precision() -> None:
    inst = spot()
    n = inst.notional(Price("61773.60"), Quantity("0.00017"))
    assert n == Money("10.501512", "USDT")
    assert (n.raw, n.precision, n.currency) == (1050151200, 8, Currency.of("USDT"))


def test_notional_rounds_once_with_the_given_mode() -> None:
    inst = spot(quote="USD", min_notional=None)  # USD: 2 decimals
    price, qty = Price("0.05"), Quantity("0.1")  # 0.005 USD exactly: a tie
    assert inst.notional(price, qty) == Money("0.00", "USD")  # HALF_EVEN
    assert inst.notional(price, qty, Rounding.HALF_UP) == Money("0.01", "USD")
    assert inst.notional(price, qty, Rounding.HALF_DOWN) == Money("0.00", "USD")
    assert inst.notional(price, qty, Rounding.UP) == Money("0.01", "USD")
    assert inst.notional(Price("-0.05"), qty, Rounding.FLOOR) == Money("-0.01", "USD")
    assert inst.notional(Price("-0.05"), qty, Rounding.CEILING) == Money("0.00", "USD")
    with pytest.raises(PrecisionError, match="not exact at USD precision 2"):
        inst.notional(price, qty, Rounding.EXACT)
    assert inst.notional(Price("0.05"), Quantity("0.2"), Rounding.EXACT) == Money("0.01", "USD")


def test_notional_of_an_inverse_contract_is_its_face_value() -> None:
    inst = inverse_future()
    assert inst.notional(Price("32000.0"), Quantity("3")) == Money("300", "USD")
    assert inst.notional(Price("45000.5"), Quantity("3")) == Money("300", "USD")


def test_notional_multiplier_and_type_checks() -> None:
    inst = spot(multiplier=Quantity("0.001"), min_notional=None)
    assert inst.notional(Price("2000"), Quantity("3")) == Money("6", "USDT")
    with pytest.raises(ValidationError, match="expected a Price"):
        inst.notional(2000, Quantity("3"))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="expected a Quantity"):
        inst.notional(Price("2000"), 3)  # type: ignore[arg-type]


def test_notional_overflow_raises_library_error() -> None:
    inst = spot(min_notional=None, max_price=None)
    with pytest.raises(FixedPointOverflowError):
        inst.notional(Price("900000000000"), Quantity("900000000"))


@given(
    price_raw=st.integers(-(10**15), 10**15), price_p=st.integers(0, 9),
    qty_raw=st.integers(0, 10**15), qty_p=st.integers(0, 9),
    mult=st.sampled_from(["1", "0.001", "10", "0.5"]),
    mode=st.sampled_from(_INEXACT_MODES),
)
def test_notional_matches_decimal_reference(
    price_raw: int, price_p: int, qty_raw: int, qty_p: int, mult: str, mode: Rounding
) -> None:
    inst = spot(quote="USD", min_notional=None, min_price=None, max_price=None, multiplier=Quantity(mult))
    price, qty = Price.from_raw(price_raw, price_p), Quantity.from_raw(qty_raw, qty_p)
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        exact = price.as_decimal() * qty.as_decimal() * Decimal(mult)
        expected = exact.quantize(Decimal("0.01"), rounding=_DEC_ROUNDING[mode])
    try:
        got = inst.notional(price, qty, mode)
    except FixedPointOverflowError:
        assert abs(expected) * 100 > 2**63 - 1
        return
    assert got.as_decimal() == expected
    assert got.precision == 2
    if exact == expected:
        assert inst.notional(price, qty, Rounding.EXACT) == got
    else:
        with pytest.raises(PrecisionError):
            inst.notional(price, qty, Rounding.EXACT)


def test_check_notional_compares_the_exact_value() -> None:
    inst = spot(quote="USD", min_notional=Money("10", "USD"), price_tick=Price("0.001"),
                size_step=Quantity("0.001"), min_qty=None)
    # 9.999 would round to 10.00 at USD's 2 decimals: the exact value is still below the minimum
    with pytest.raises(ValidationError, match=r"\(9\.999 USD\) is below the minimum 10 USD"):
        inst.check_notional(Price("9.999"), Quantity("1"))
    assert inst.check_notional(Price("10"), Quantity("1")) == Money("10.00", "USD")  # equal: allowed
    assert inst.check_notional(Price("3.333"), Quantity("3.001"), Rounding.DOWN) == Money("10.00", "USD")


def test_check_notional_max_bound() -> None:
    inst = spot(max_notional=Money("9000000", "USDT"))
    assert inst.check_notional(Price("100000"), Quantity("90")) == Money("9000000", "USDT")
    with pytest.raises(ValidationError, match="above the maximum 9000000 USDT"):
        inst.check_notional(Price("100000.01"), Quantity("90"))


def test_check_order_runs_every_rule() -> None:
    inst = spot()
    assert inst.check_order(Price("57000.00"), Quantity("0.00018")) == Money("10.26", "USDT")
    with pytest.raises(ValidationError, match="below the minimum 10 USDT"):
        inst.check_order(Price("57000.00"), Quantity("0.00017"))
    with pytest.raises(PrecisionError, match="not on the tick"):
        inst.check_order(Price("57000.001"), Quantity("0.001"))
    with pytest.raises(PrecisionError, match="not on the step"):
        inst.check_order(Price("57000"), Quantity("0.000181"))
    with pytest.raises(ValidationError, match="above the maximum 9000"):
        inst.check_order(Price("57000"), Quantity("9001"))
    # lots on an NFO option: 1 lot of 40 at 2528.40 INR
    assert nfo_option().check_order(Price("2528.40"), Quantity("40")) == Money("101136.00", "INR")
    with pytest.raises(PrecisionError, match="lots"):
        nfo_option().check_order(Price("2528.40"), Quantity("39"))


def test_check_order_refuses_an_index() -> None:
    index = Instrument(venue="NSE", symbol="NIFTY 50", kind=InstrumentKind.INDEX, quote="INR",
                       price_tick=Price("0.01"), size_step=Quantity("1"))
    assert index.check_price(Price("24123.45")) == Price("24123.45")  # index values are still checked
    with pytest.raises(InstrumentError, match="not tradable"):
        index.check_order(Price("24123.45"), Quantity("1"))


def test_every_error_is_a_library_error() -> None:
    inst = spot()
    for call in (
        lambda: inst.make_price("x"),
        lambda: inst.make_price(object()),  # type: ignore[arg-type]
        lambda: inst.check_price(Price("0.001")),
        lambda: inst.check_qty(Quantity("0")),
        lambda: inst.check_notional(Price("1"), Quantity("1")),
        lambda: inst.notional(Price("0.01"), Quantity("0.00001"), 99),  # type: ignore[arg-type]
    ):
        with pytest.raises(ShrivenQuantError):
            call()


# ---------------------------------------------------------------------------------------------- serialization

@pytest.mark.parametrize("make", [spot, inverse_future, nfo_option])
def test_json_and_msgpack_round_trips_are_bit_identical(make: object) -> None:
    inst = make()  # type: ignore[operator]
    for back in (from_json(to_json(inst), Instrument), from_msgpack(to_msgpack(inst), Instrument)):
        assert back == inst
        assert (back.price_tick.raw, back.price_tick.precision) == (inst.price_tick.raw, inst.price_tick.precision)
        assert back.kind is inst.kind
        assert back.option_right is inst.option_right
        assert back.min_notional == inst.min_notional


def test_json_wire_format() -> None:
    doc = msgspec.json.decode(to_json(spot()))
    assert doc["price_tick"] == "0.01000000"
    assert doc["min_notional"] == "10 USDT"
    assert doc["kind"] == InstrumentKind.SPOT.value
    assert doc["multiplier"] == "1"


def test_decoding_an_invalid_instrument_raises_validation_error() -> None:
    doc = msgspec.json.decode(to_json(spot()))
    doc["price_tick"] = "0"
    with pytest.raises(ValidationError, match="price_tick must be > 0"):
        from_json(msgspec.json.encode(doc), Instrument)
    doc["price_tick"] = 0.01
    with pytest.raises(ValidationError, match="decimal string"):
        from_json(msgspec.json.encode(doc), Instrument)
    with pytest.raises(ValidationError):
        from_msgpack(b"\x93", Instrument)
