"""Exact fixed-point prices, quantities and money: construction, arithmetic, rounding and columns.

Run: python examples/fixed_point_basics.py
"""

from __future__ import annotations

from shrivenquant import Money, Price, Quantity, Rounding
from shrivenquant.core import parse_decimals, raw_to_float, to_raw_array
from shrivenquant.errors import PrecisionError


def main() -> None:
    bid, ask = Price("61773.60"), Price("61773.70")
    qty = Quantity("0.005")
    spread = ask - bid
    print(f"bid {bid}  ask {ask}  spread {spread}  (raw {spread.raw} at precision {spread.precision})")
    print(f"notional bid x qty = {bid * qty} (exact), rounded to cents: "
          f"{bid.notional(qty, 2, Rounding.HALF_EVEN, 'USDT')}")
    print(f"1.005 as a 2-dp price: half-even {Price.from_float(1.005, 2)}, "
          f"half-up {Price.from_float(1.005, 2, Rounding.HALF_UP)}")
    try:
        Price("61773.605", 2)
    except PrecisionError as exc:
        print(f"refused: {exc}")
    fee = Money("0.02", "USDT") + Money("0.0125", "USDT")
    print(f"fees {fee}")
    # columns: the hot-path form is raw int64 arrays at one precision
    raw = parse_decimals(["61773.60", "61773.70", "61774.1"], 2)
    print(f"raw column {raw.tolist()}  as floats {raw_to_float(raw, 2).tolist()}")
    print(f"objects back to raw at 4 dp: {to_raw_array([bid, ask], 4).tolist()}")


if __name__ == "__main__":
    main()
