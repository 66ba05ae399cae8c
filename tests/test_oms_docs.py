"""docs/oms.md: the worked example runs and gives the figures the doc states."""

from __future__ import annotations

import re
from pathlib import Path

from shrivenquant import Money, Price

DOC = Path(__file__).resolve().parents[1] / "docs" / "oms.md"


def test_worked_example(tmp_path: Path) -> None:
    text = DOC.read_text()
    section = text[text.index("## Worked example"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    src = code.group(1).replace('"/tmp/oms-demo"', repr(str(tmp_path / "demo")))
    ns: dict[str, object] = {}
    exec(compile(src, "docs/oms.md", "exec"), ns)
    pos, om, perp = ns["pos"], ns["om"], ns["perp"]
    buy = ns["buy"]
    assert str(buy.avg_px) == "1999.875"  # type: ignore[attr-defined]
    assert pos.qty == -1000 and str(pos.avg_px) == "2010.00"  # type: ignore[attr-defined]
    assert pos.realized_pnl() == Money("20.25", "USDT")  # type: ignore[attr-defined]
    assert pos.unrealized_pnl(Price("2005.00")) == Money("5", "USDT")  # type: ignore[attr-defined]
    assert om.account("BINANCE_USDM").balance("USDT") == Money("1017.038", "USDT")  # type: ignore[attr-defined]
    from shrivenquant.oms import portfolio_view

    view = portfolio_view(om, {perp.id: Price("2005.00")}, {"USDT": "1.0001"}, "USD")  # type: ignore[arg-type,attr-defined]
    assert view.equity == Money("1022.1402038", "USD")
    assert ns["again"].state() == om.state()  # type: ignore[attr-defined]
