"""Journal and recovery: the WAL journal, snapshots plus tail, and crash tests with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from oms_harness import INSTRUMENTS, Clock, ScriptedVenue, check_recovery, run_session

from shrivenquant.oms import OrderManager
from shrivenquant.oms.wal_journal import WalJournal

HARNESS = Path(__file__).with_name("oms_harness.py")


def _live(tmp: Path, *, snapshot_every: int, sync: str = "none", ops: int = 400) -> OrderManager:
    clock = Clock()
    journal = WalJournal(tmp, sync=sync)
    om = OrderManager(INSTRUMENTS, journal=journal, venue=ScriptedVenue(clock), clock=clock,
                      snapshot_every=snapshot_every)
    run_session(om, 7, ops)
    return om


@pytest.mark.parametrize("snapshot_every", [0, 97])
def test_recover_from_a_directory_equals_the_live_state(tmp_path: Path, snapshot_every: int) -> None:
    om = _live(tmp_path, snapshot_every=snapshot_every)
    state = om.state()
    om.journal.close()
    again = OrderManager.recover(tmp_path, INSTRUMENTS)
    try:
        assert again.state() == state
        snaps = sorted((tmp_path / "snapshots").glob("snap-*.bin"))
        assert (len(snaps) == 2) == bool(snapshot_every)
        # it carries on appending after the recovered records
        n = again.journal.last_seq
        again.deposit("BINANCE", again.account("BINANCE").balance("USDT"))
        assert again.journal.last_seq == n + 1
    finally:
        again.journal.close()


def test_a_damaged_snapshot_falls_back_to_the_previous_one(tmp_path: Path) -> None:
    om = _live(tmp_path, snapshot_every=50)
    state = om.state()
    om.journal.close()
    newest = sorted((tmp_path / "snapshots").glob("snap-*.bin"))[-1]
    blob = bytearray(newest.read_bytes())
    blob[-1] ^= 0xFF
    newest.write_bytes(bytes(blob))
    again = OrderManager.recover(tmp_path, INSTRUMENTS)
    try:
        assert again.state() == state
    finally:
        again.journal.close()


def test_snapshot_never_runs_ahead_of_the_durable_journal(tmp_path: Path) -> None:
    j = WalJournal(tmp_path, sync="none")
    try:
        j.append(b"x")
        from shrivenquant.errors import WalCorruptionError

        with pytest.raises(WalCorruptionError, match="ahead of the durable journal"):
            j.save_snapshot(1, b"state")
        j.commit()
        j.save_snapshot(1, b"state")
        assert j.load_snapshot() == (1, b"state")
    finally:
        j.close()


def _crash_once(tmp: Path, rng: random.Random, *, ops: int = 3000) -> tuple[int, int]:
    seed = rng.randrange(1 << 30)
    snapshot_every = rng.choice([0, 25, 200])
    sync = rng.choice(["always", "batch", "none"])
    proc = subprocess.Popen([sys.executable, str(HARNESS), str(tmp), str(seed), str(ops), str(snapshot_every), sync],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HARNESS.parent)
    acked = [0]
    done = [False]

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.strip()
            if line == "done":
                done[0] = True
            elif line:
                acked[0] = int(line)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while acked[0] == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.4))
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    t.join(timeout=10)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"session failed: {proc.stderr.read() if proc.stderr else ''}")
    if proc.stderr is not None:
        proc.stderr.close()
    n = check_recovery(str(tmp), seed, ops, snapshot_every, acked[0])
    return acked[0], n


def test_crash_recovery_quick(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    results = [_crash_once(tmp_path / f"k{i}", rng) for i in range(3)]
    assert all(n >= a for a, n in results)
    assert any(a > 0 for a, _ in results), "no kill happened mid-session"


@pytest.mark.soak
def test_crash_recovery_soak(tmp_path: Path) -> None:
    kills = int(os.environ.get("SQ_OMS_KILLS", "300"))
    rng = random.Random(int(os.environ.get("SQ_OMS_SEED", "1")))
    total_acked = total_recovered = mid = 0
    for i in range(kills):
        a, n = _crash_once(tmp_path / f"k{i}", rng)
        total_acked += a
        total_recovered += n
        mid += a > 0
    print(f"\nOMS crash soak: {kills} kills ({mid} mid-session), {total_acked} acknowledged records, "
          f"{total_recovered} recovered, 0 lost, 0 duplicated fills")


def test_hedging_fifo_session_recovers_from_snapshot_and_tail() -> None:
    from shrivenquant.oms import MemoryJournal, OmsType, PnlMethod

    clock = Clock()
    kw = {"oms_type": OmsType.HEDGING, "pnl_method": PnlMethod.FIFO}
    om = OrderManager(INSTRUMENTS, journal=MemoryJournal(), venue=ScriptedVenue(clock), clock=clock,
                      snapshot_every=37, **kw)  # type: ignore[arg-type]
    run_session(om, 11, 600)
    assert om.journal.load_snapshot() is not None
    legs = {leg for _, leg in om.positions}
    assert len(legs) == 2, "the session should trade both legs"
    assert OrderManager.recover(om.journal, INSTRUMENTS, **kw).state() == om.state()  # type: ignore[arg-type]
