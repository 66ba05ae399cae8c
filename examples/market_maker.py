"""A market maker with inventory skew, backtested through risk, OMS and the simulated exchange.

Run: python examples/market_maker.py [RECORDING [EXCHANGE_INFO]]
(default: the project's generated Binance USD-M stream; pass a recording such as
../shared/data/binance-hftbacktest/usdm_btcusdt_20240808.gz with ../shared/data/binance-cryptofeed/BINANCE_FUTURES.0.gz)
"""

from __future__ import annotations

import sys
from decimal import Decimal

from shrivenquant.backtest import BacktestEngine, MarketMaker, VenueConfig, generated_events, recording_events
from shrivenquant.oms import PreTradeRiskGate
from shrivenquant.risk import InstrumentLimits, PreTradeRisk, RiskConfig


def main() -> None:
    if len(sys.argv) > 1:
        instruments = []
        if len(sys.argv) > 2:
            from shrivenquant.venues.binance.exchange_info import load_exchange_info

            instruments = load_exchange_info(sys.argv[2])
        events, table = recording_events([sys.argv[1]], instruments)
        k = int(events["instrument_id"][events["kind"] == 7][0])  # the first traded symbol
    else:
        events, table, _ = generated_events(8_000, seed=1)
        k = 0
    inst = table[k]
    step = inst.size_step.raw_at(inst.size_precision)
    qty = 5 * step
    # pre-trade risk: order size and net position caps (the OMS asks it before anything leaves)
    scale = Decimal(10) ** -inst.size_precision
    limits = InstrumentLimits(instrument_id=inst.id, max_order_qty=Decimal(10 * qty) * scale,
                              max_position_net=Decimal(12 * qty) * scale)
    risk = PreTradeRiskGate(PreTradeRisk.from_config(RiskConfig(currency=inst.quote, instruments=(limits,)), [inst]))
    venue = VenueConfig(entry_latency_ns=2_000_000, response_latency_ns=2_000_000, queue="power3",
                        maker_fee="-0.0001", taker_fee="0.0004")
    strategy = MarketMaker(k, qty=qty, offset_ticks=0, skew_qty=2 * qty, max_position=10 * qty)
    result = BacktestEngine(table, strategy, venues={inst.venue: venue}, risk=risk).run(events)
    for key, value in result.summary().items():
        print(f"{key:18s} {value}")
    print("first fills:")
    print(result.fills[:5])


if __name__ == "__main__":
    main()
