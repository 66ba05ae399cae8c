"""An order-book-imbalance taker: a TOML-style configuration run with ``shrivenquant.backtest.run``.

Run: python examples/imbalance_taker.py
The same configuration as a file runs with ``shrivenquant backtest CONFIG.toml``.
"""

from __future__ import annotations

from shrivenquant.backtest import run

CONFIG = {
    "data": {"generated_messages": 8_000, "seed": 2},
    "strategy": {"name": "imbalance_taker",
                 "params": {"qty": "0.010", "levels": 5, "threshold": 0.5, "max_position": "0.050",
                            "cooldown_ns": 250_000_000}},
    "venue": {"entry_latency_ns": 1_000_000, "response_latency_ns": 1_000_000, "taker_fee": "0.0004"},
    "risk": {"currency": "USDT", "instruments": [{"instrument_id": "SYNTHUSDT.BINANCE_USDM",
                                                  "max_order_qty": "0.100"}]},
    "initial_balance": "1000",
}


def main() -> None:
    result = run(CONFIG)
    s = result.summary()
    print(f"orders {s['orders']}, fills {s['fills']} (all taker: {s['taker_fills'] == s['fills']})")
    print(f"position {s['positions']}, fees {s['fees']}, PnL {s['pnl']:+.4f} USDT")
    for o in result.orders[:5]:
        print(o)


if __name__ == "__main__":
    main()
