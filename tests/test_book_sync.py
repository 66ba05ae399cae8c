"""Binance local-book synchronisation: every rule on hand-built messages, gap detection and resync, and
the eight real recordings replayed with zero bookTicker mismatches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import ReferenceL2Book

from shrivenquant.book import OrderBook
from shrivenquant.book.sync import BinanceBookSync, iter_messages, replay_binance
from shrivenquant.core.events import EventFlag, EventKind, empty_events
from shrivenquant.errors import SequenceGapError, ValidationError
from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, read_recording


def depth(first: int, last: int, levels: list[tuple[int, int, int]], prev: int = 0) -> np.ndarray:
    """A depthUpdate message: U=first, u=last, pu=prev, levels (side, price, qty)."""
    rows = levels or [(0, 0, 0)]
    ev = empty_events(len(rows))
    for i, (side, px, qty) in enumerate(rows):
        ev[i]["kind"] = EventKind.LEVEL if levels else EventKind.NONE
        ev[i]["side"] = side
        if levels:
            ev[i]["price"], ev[i]["qty"] = px, qty
        ev[i]["seq"], ev[i]["aux"], ev[i]["order_id"] = last, first, prev
        ev[i]["flags"] = EventFlag.MBP
    ev[-1]["flags"] |= EventFlag.LAST
    return ev


def snapshot(last_update_id: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> np.ndarray:
    ev = empty_events(1 + len(bids) + len(asks))
    ev[0]["kind"] = EventKind.CLEAR
    rows = [(1, p, q) for p, q in bids] + [(2, p, q) for p, q in asks]
    for i, (side, px, qty) in enumerate(rows, start=1):
        ev[i]["kind"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = EventKind.LEVEL, side, px, qty
    ev["seq"] = last_update_id
    ev["flags"] = EventFlag.SNAPSHOT | EventFlag.MBP
    ev[-1]["flags"] |= EventFlag.LAST
    return ev


# --------------------------------------------------------------------------- spot rules


def test_spot_buffers_drops_and_applies_in_order() -> None:
    book = ReferenceL2Book()
    sync = BinanceBookSync(book, "spot")
    assert sync.on_depth(depth(95, 99, [(1, 100, 5)])) is False  # buffered
    assert sync.on_depth(depth(100, 104, [(1, 101, 7)])) is False
    assert sync.on_depth(depth(105, 110, [(2, 103, 2)])) is False
    sync.on_snapshot(snapshot(100, [(100, 1)], [(104, 9)]))
    # u=99 <= 100 dropped; [100,104] contains 101 = lastUpdateId+1 -> first applied; then 105..110
    assert sync.book_id == 110
    assert sync.dropped_messages == 1
    assert book.bids == {100: 1, 101: 7}
    assert book.asks == {104: 9, 103: 2}
    assert sync.on_depth(depth(111, 111, [(1, 100, 0)])) is True
    assert book.bids == {101: 7}
    assert sync.on_depth(depth(108, 109, [(1, 99, 1)])) is False  # u < book id: ignored
    assert 99 not in book.bids


def test_spot_stale_snapshot_needs_a_new_one() -> None:
    sync = BinanceBookSync(ReferenceL2Book(), "spot")
    sync.on_depth(depth(200, 210, [(1, 1, 1)]))
    with pytest.raises(SequenceGapError, match="older than the first buffered") as info:
        sync.on_snapshot(snapshot(150, [], []))
    assert (info.value.expected, info.value.received) == (200, 150)


def test_spot_first_event_must_contain_last_update_id_plus_one() -> None:
    sync = BinanceBookSync(ReferenceL2Book(), "spot")
    sync.on_snapshot(snapshot(100, [(10, 1)], [(20, 1)]))
    with pytest.raises(SequenceGapError, match=r"U <= lastUpdateId \+ 1 <= u"):
        sync.on_depth(depth(103, 105, [(1, 11, 1)]))


def test_spot_gap_then_resync_rebuilds_from_the_next_snapshot() -> None:
    book = ReferenceL2Book()
    sync = BinanceBookSync(book, "spot")
    sync.on_snapshot(snapshot(100, [(10, 1)], [(20, 1)]))
    sync.on_depth(depth(101, 102, [(1, 11, 2)]))
    with pytest.raises(SequenceGapError, match="were missed") as info:
        sync.on_depth(depth(105, 106, [(1, 12, 3)]))
    assert (info.value.expected, info.value.received) == (103, 105)
    assert sync.synced is False
    sync.resync()
    assert book.bids == {} and book.asks == {}
    sync.on_depth(depth(107, 108, [(2, 19, 4)]))  # buffered until the new snapshot
    sync.on_snapshot(snapshot(107, [(12, 3)], [(20, 1)]))
    assert sync.synced and sync.book_id == 108
    assert book.asks == {19: 4, 20: 1}


# --------------------------------------------------------------------------- futures rules


def test_futures_first_event_rule_and_pu_chain() -> None:
    book = ReferenceL2Book()
    sync = BinanceBookSync(book, "futures")
    sync.on_depth(depth(90, 95, [(1, 1, 1)], prev=89))  # u < lastUpdateId: dropped
    sync.on_depth(depth(96, 100, [(1, 2, 2)], prev=95))  # u == lastUpdateId: kept (futures drop u < L)
    sync.on_snapshot(snapshot(100, [(5, 5)], [(9, 9)]))
    assert sync.book_id == 100
    assert book.bids == {5: 5, 2: 2}
    assert sync.on_depth(depth(101, 103, [(2, 8, 1)], prev=100)) is True
    with pytest.raises(SequenceGapError, match="does not chain") as info:
        sync.on_depth(depth(106, 107, [(2, 8, 0)], prev=105))
    assert (info.value.expected, info.value.received) == (103, 105)


def test_futures_first_event_must_straddle_the_snapshot() -> None:
    sync = BinanceBookSync(ReferenceL2Book(), "futures")
    sync.on_snapshot(snapshot(100, [], []))
    with pytest.raises(SequenceGapError, match=r"U <= lastUpdateId <= u"):
        sync.on_depth(depth(102, 104, [(1, 1, 1)], prev=101))


def test_messages_without_levels_keep_the_chain() -> None:
    sync = BinanceBookSync(ReferenceL2Book(), "futures")
    sync.on_snapshot(snapshot(10, [(1, 1)], [(3, 1)]))
    assert sync.on_message(depth(9, 11, [], prev=8)) is True
    assert sync.on_message(depth(12, 12, [(1, 2, 1)], prev=11)) is True
    assert sync.book_id == 12


def test_bad_input() -> None:
    with pytest.raises(ValidationError, match="market must be"):
        BinanceBookSync(ReferenceL2Book(), "coin")  # type: ignore[arg-type]
    ev = depth(1, 2, [(1, 1, 1)])
    ev["flags"] = 0
    with pytest.raises(ValidationError, match="truncated message"):
        list(iter_messages(ev))
    with pytest.raises(ValidationError, match="EVENT_DTYPE"):
        list(iter_messages(np.zeros(3)))


# --------------------------------------------------------------------------- real recordings

STREAMS = {
    # name: (files, market, applied depth messages, bookTicker checks (None: not in the data README));
    # every stream but the 2023 one has depth messages before its snapshot line (buffered, some dropped)
    "usdm-btcusdt-2023-04": (["usdm_btcusdt_20230404.dat.gz", "usdm_btcusdt_20230405.dat.gz"], "futures", 16110, 1565),
    "usdm-btcusdt-2024-07": (["usdm_btcusdt_20240718.gz", "usdm_btcusdt_20240719.gz"], "futures", 9017, 625),
    "usdm-btcusdt-2024-08": (["usdm_btcusdt_20240808.gz"], "futures", 6547, 629),
    "usdm-ethusdt-2024-08": (["usdm_ethusdt_20240808.gz"], "futures", 6581, None),
    "spot-btcusdt-2024-08": (["spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz"], "spot", 6493, 1072),
    "spot-ethusdt-2024-08": (["spot_ethusdt_20240808.gz", "spot_ethusdt_20240809.gz"], "spot", 6468, None),
    "coinm-btcusd-2024-08": (["cm_btcusd_perp_20240808.gz", "cm_btcusd_perp_20240809.gz"], "futures", 44772, 1885),
    "coinm-ethusd-2024-08": (["cm_ethusd_perp_20240808.gz", "cm_ethusd_perp_20240809.gz"], "futures", 39133, None),
}


def _decode(shared_data: Path, files: list[str]) -> np.ndarray:
    folder = shared_data / "binance-hftbacktest"
    if not all((folder / f).exists() for f in files):
        pytest.skip(f"recording {files} not present")
    dec = BinanceRecordingDecoder()
    for f in files:  # day files continue each other: one decoder, one array
        dec.decode_lines(read_recording(folder / f))
    events = dec.flush()
    return events[events["instrument_id"] == 0]


def _book() -> OrderBook:
    return OrderBook(8, 8)  # raw values stay at the decoder's (inferred) precisions


@pytest.mark.parametrize("name", list(STREAMS))
def test_real_stream_replays_with_zero_bookticker_mismatches(shared_data: Path, name: str) -> None:
    files, market, applied, checks = STREAMS[name]
    events = _decode(shared_data, files)
    stats = replay_binance(events, _book(), market)
    assert stats.bbo_mismatches == 0, stats.mismatches
    assert stats.applied_messages == applied
    if name == "usdm-btcusdt-2023-04":
        assert stats.buffered_before_snapshot == 0  # its snapshot is line 17, before any depth message
    else:
        assert stats.buffered_before_snapshot >= 2  # the snapshot line comes after the stream starts
    if checks is not None:
        assert stats.bbo_checks == checks
    else:
        assert stats.bbo_checks > 500


def test_real_gap_is_detected_and_resync_recovers(shared_data: Path) -> None:
    events = _decode(shared_data, ["usdm_btcusdt_20240808.gz"])
    messages = list(iter_messages(events))
    depth_msgs = [i for i, (a, _) in enumerate(messages)
                  if events[a]["kind"] == EventKind.LEVEL and not events[a]["flags"] & EventFlag.SNAPSHOT]
    victim_pos = len(depth_msgs) // 2
    victim = depth_msgs[victim_pos]
    book, reference = _book(), ReferenceL2Book()
    sync, ref_sync = BinanceBookSync(book, "futures"), BinanceBookSync(reference, "futures")
    with pytest.raises(SequenceGapError, match="does not chain"):
        for i, (a, b) in enumerate(messages):
            ref_sync.on_message(events[a:b])
            if i != victim:
                sync.on_message(events[a:b])
    # resync: a fresh snapshot (the reference book's state at this point) rebuilds the book
    sync.resync()
    snap = snapshot(ref_sync.book_id, sorted(reference.bids.items()), sorted(reference.asks.items()))
    sync.on_snapshot(snap)
    detected = depth_msgs[victim_pos + 1]  # the depth message whose pu exposed the gap: U <= L <= u
    a, b = messages[detected]
    assert sync.on_message(events[a:b]) is True
    checks = 0
    for a, b in messages[detected + 1:]:
        ref_sync.on_message(events[a:b])
        sync.on_message(events[a:b])
        if sync.book_id == ref_sync.book_id and events[a]["kind"] == EventKind.LEVEL:
            checks += 1
            assert (book.best_bid_price_raw, book.best_ask_price_raw) == (
                reference.best_bid_price_raw, reference.best_ask_price_raw)
    assert checks > 1000
