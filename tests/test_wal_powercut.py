"""Power-cut simulation (guide cases 6-8), ALICE-style: the harness writer runs under strace recording every
file operation with its bytes and the ACK lines; the trace is replayed into a model of synced and unsynced
state (``wal_harness_powercut``) and, at crash points spread over the run, the states a power cut may leave
(unsynced writes dropped, kept, torn at 512 B, zero-filled, reordered by sector; directory operations since
the last directory fsync undone) are materialised and replayed read-only. Every seq ACKed before the crash
point must be present and byte-identical, and END CORRUPT on any of these legal states is a failure.

Proof of the harness: the same simulation catches a writer that ACKs before commit() and one that skips the
directory fsync on rotation. SQLite (WAL mode, synchronous=FULL) passes it.
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import tempfile
from pathlib import Path

import pytest
import wal_harness as h
import wal_harness_crashloop as cl
import wal_harness_powercut as pc

HAVE_WAL = importlib.util.find_spec("shrivenquant.wal") is not None
pytestmark = pytest.mark.skipif(not cl.strace_works(), reason="strace/ptrace not available here")
needs_wal = pytest.mark.skipif(not HAVE_WAL, reason="shrivenquant.wal not available")


def simulate(root: Path, writer_args: tuple[str, ...], *, impl: str = "sq", large: bool = False,
             initial: dict[str, bytes] | None = None, max_points: int = 120, seed: int = 0,
             variants: tuple[str, ...] = ("drop", "all", "torn", "zero", "reorder"),
             recover_every: int = 0, retain: int = 0) -> tuple[list[str], dict[str, int]]:
    """Trace one writer run on ``root/wal`` and check the crash states; returns (problems, stats)."""
    d = root / "wal"
    d.mkdir(parents=True, exist_ok=True)
    for name, data in (initial or {}).items():
        (d / name).write_bytes(data)
    trace = root / "trace.txt"
    proc = pc.record(h.writer_argv(d, "--impl", impl, *writer_args), trace)
    assert proc.returncode == 0, proc.stderr[-3000:]
    calls = pc.parse(trace)
    # self-check of the recorder: replaying the whole trace must rebuild the directory the run left
    final = pc.Model(d, initial, ("-shm",))
    for c in calls:
        final.apply(c)
    real = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file() and not p.name.endswith("-shm")}
    model = {n: bytes(i.content) for n, i in final.names.items() if not n.endswith("-shm")}
    assert real == model, f"trace replay differs from the real directory: {sorted(real)} vs {sorted(model)}"
    acks = [int(x.split()[1]) for x in proc.stdout.splitlines() if x.startswith("ACK ")]
    assert acks, proc.stdout[-500:]
    rng = random.Random(seed)
    problems: list[str] = []
    stats = {"states": 0, "points": 0, "acked_max": max(acks), "calls": len(calls)}
    seen_points = set()
    scratch = Path(tempfile.mkdtemp(dir=root))
    for i, stt in enumerate(pc.crash_states(calls, d, initial, rng=rng, max_points=max_points,
                                            variants=variants, volatile=("-shm",))):
        seen_points.add(stt.index)
        target = scratch / f"s{i}"
        pc.materialize(stt, target)
        res = h.read_records(target, impl=impl)
        got = h.judge_acked(res, stt.acked, large=large, retain=retain)
        if not got and recover_every and i % recover_every == 0 and impl == "sq":
            got = _recover(target, res, stt.acked)
        if got:
            problems.append(f"crash after event {stt.index} ({stt.what}; {stt.how}; acked {stt.acked}; "
                            f"files {sorted(stt.files)}): {got[0]}")
        shutil.rmtree(target)
        stats["states"] += 1
        if len(problems) > 30:
            break
    stats["points"] = len(seen_points)
    return problems, stats


def _recover(d: Path, res: h.ReadResult, acked: int) -> list[str]:
    """Opening a WalWriter on a legal crash state must succeed and keep what the reader saw."""
    from shrivenquant.wal import WalWriter

    k = res.records[-1].seq if res.records else 0
    try:
        w = WalWriter(d, sync="always")
    except Exception as exc:  # noqa: BLE001 - any refusal of a legal state is the failure reported
        return [f"recovery refused a legal state: {type(exc).__name__}: {exc}"]
    last = int(w.last_seq)
    w.close()
    return [] if last == k else [f"recovery kept {last} records, the reader saw {k} (acked {acked})"]


@needs_wal
@pytest.mark.parametrize("prealloc", ["no", "yes"])
def test_powercut_always_with_rotation(tmp_path: Path, prealloc: str) -> None:
    """Policy always, 48 KiB segments (a rotation every ~50 records), with and without pre-zeroed segments
    (prepared by the writer's background thread)."""
    problems, stats = simulate(tmp_path, ("--sync", "always", "--preallocate", prealloc, "--count", "260",
                                          "--segment-bytes", str(48 << 10), "--no-large", "--group-max", "12",
                                          "--seed", "5"),
                               max_points=90, recover_every=25)
    assert not problems, "\n".join(problems[:10])
    assert stats["points"] >= 85, stats


@needs_wal
@pytest.mark.parametrize(("policy", "extra"), [("batch", ()), ("none", ("--commit-none",)),
                                               ("none", ("--commit-none", "--background", "--batch-bytes", "4096"))])
def test_powercut_several_unsynced_frames_in_flight(tmp_path: Path, policy: str, extra: tuple[str, ...]) -> None:
    """commit() only every 4th group: several frames (and, under none, whole segments) unsynced at once, so
    reordered and torn sectors across frames are legal states that must not be refused."""
    problems, stats = simulate(tmp_path, ("--sync", policy, *extra, "--commit-every", "4", "--count", "300",
                                          "--segment-bytes", str(32 << 10), "--no-large", "--group-max", "12",
                                          "--seed", "8"),
                               max_points=70, variants=("reorder", "torn", "zero", "drop"), recover_every=15)
    assert not problems, "\n".join(problems[:10])
    assert stats["points"] >= 50, stats


@needs_wal
def test_powercut_during_retention(tmp_path: Path) -> None:
    """truncate_before(durable - 150) after every commit, 24 KiB segments: crash states inside retention
    (manifest moved, unlinks not yet durable, or undone) must replay from at most acked - 150."""
    problems, stats = simulate(tmp_path, ("--sync", "always", "--retain", "150", "--count", "500",
                                          "--segment-bytes", str(24 << 10), "--no-large", "--group-max", "10",
                                          "--seed", "4"),
                               max_points=90, variants=("drop", "all", "torn", "reorder"), recover_every=12,
                               retain=150)
    assert not problems, "\n".join(problems[:10])
    assert stats["points"] >= 80, stats


@needs_wal
def test_powercut_single_appends_and_large_records(tmp_path: Path) -> None:
    problems, _ = simulate(tmp_path, ("--sync", "always", "--api", "single", "--count", "80",
                                          "--segment-bytes", str(256 << 10), "--seed", "6"),
                               large=True, max_points=80)
    assert not problems, "\n".join(problems[:10])


@needs_wal
def test_powercut_during_recovery_of_a_torn_tail(tmp_path: Path) -> None:
    """Start from a log whose last frame is torn (cut mid-frame, garbage appended): crash points fall inside
    recovery's own truncation and the appends after it."""
    src = tmp_path / "src"
    h.build_log(src, 150, segment_bytes=48 << 10, large=False)
    fr = h.layout(src)[-1]
    seg = src / fr.segment
    data = seg.read_bytes()[: fr.offset + fr.total // 2] + b"\x5a" * 200
    seg.write_bytes(data)
    initial = pc.snapshot(src)
    problems, _ = simulate(tmp_path / "run", ("--sync", "always", "--count", "60", "--segment-bytes",
                                                  str(48 << 10), "--no-large"),
                               initial=initial, max_points=80, recover_every=10)
    assert not problems, "\n".join(problems[:10])


def test_powercut_sqlite_subject(tmp_path: Path) -> None:
    """The model against SQLite (WAL, synchronous=FULL): a trusted implementation must pass every state."""
    problems, _ = simulate(tmp_path, ("--sync", "always", "--count", "60", "--no-large"), impl="sqlite",
                               max_points=25, variants=("drop", "torn", "reorder"))
    assert not problems, "\n".join(problems[:10])


# ------------------------------------------------------------------ proofs: broken writers are caught


@needs_wal
def test_powercut_catches_ack_before_commit(tmp_path: Path) -> None:
    problems, _ = simulate(tmp_path, ("--sync", "none", "--commit-none", "--broken", "ack-early", "--count",
                                      "80", "--no-large"), max_points=60, variants=("drop",))
    assert any("lost" in p for p in problems), problems[:3]


@needs_wal
def test_powercut_catches_missing_directory_fsync(tmp_path: Path) -> None:
    problems, _ = simulate(tmp_path, ("--sync", "always", "--broken", "no-dir-fsync", "--count", "200",
                                      "--segment-bytes", str(32 << 10), "--no-large"), max_points=80,
                           variants=("all",))
    assert any("lost" in p or "CORRUPT" in p for p in problems), problems[:3]
