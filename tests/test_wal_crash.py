"""SIGKILL loop (guide cases 6, 7, 9, 10): a writer subprocess appending deterministic records is killed at
random moments, right after an ACK, during start-up/recovery and at the N-th write/fdatasync/rename (strace
fault injection), then the directory is replayed read-only: every ACKed record present, in order,
byte-identical, contiguous, no phantom, no duplicate; the next writer recovers exactly what the reader saw.

The same loop runs against SQLite (WAL mode, synchronous=FULL) as a check of the harness itself. The long
loop (hundreds of kills per configuration) is behind ``-m soak``; its result is in docs/wal-verification.md.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import time
import zlib
from pathlib import Path

import pytest
import wal_harness as h
import wal_harness_crashloop as cl

HAVE_WAL = importlib.util.find_spec("shrivenquant.wal") is not None
HAVE_STRACE = cl.strace_works()
needs_wal = pytest.mark.skipif(not HAVE_WAL, reason="shrivenquant.wal not available")


def _modes(rng: random.Random, cycles: int, *, strace: bool, startup: bool = True) -> list[tuple[str, int]]:
    kinds = ["random", "after-ack"] + (["startup", "torn-recovery"] if startup else [])
    if strace:
        kinds += ["inject-write", "inject-fdatasync", "inject-rename", "inject-ftruncate"]
    out = []
    for i in range(cycles):
        k = kinds[i % len(kinds)]
        n = {"after-ack": rng.randint(1, 40), "inject-write": rng.randint(1, 120),
             "inject-fdatasync": rng.randint(1, 60), "inject-rename": rng.randint(1, 6),
             "inject-ftruncate": rng.randint(1, 2), "torn-recovery": rng.randint(0, 2) if strace else 0}.get(k, 0)
        out.append((k, n))
    return out


def _run(tmp_path: Path, args: tuple[str, ...], cycles: int, seed: int, *, impl: str = "sq",
         large: bool = True) -> cl.LoopState:
    st = cl.LoopState(tmp_path / "wal", writer_args=args, impl=impl, large=large)
    rng = random.Random(seed)
    problems = cl.run_loop(st, _modes(rng, cycles, strace=HAVE_STRACE), rng)
    assert not problems, "\n".join(problems + st.log[-10:])
    assert st.kills >= cycles // 2, st.log
    assert st.max_acked > 0, st.log
    return st


# ------------------------------------------------------------------ quick versions (normal suite)


@needs_wal
def test_kill_loop_always_with_rotation(tmp_path: Path) -> None:
    """Group commits under policy always, 256 KiB segments (frequent rotation), records crossing 32 KiB."""
    st = _run(tmp_path, ("--sync", "always", "--segment-bytes", str(256 << 10)), 7, seed=1)
    assert len([p for p in (tmp_path / "wal").iterdir() if p.name.endswith(".wal")]) >= 2, st.log


@needs_wal
def test_kill_loop_single_appends_batch_policy(tmp_path: Path) -> None:
    """Single appends acknowledged by commit() under policy batch; small records only."""
    _run(tmp_path, ("--sync", "batch", "--api", "single", "--no-large", "--segment-bytes", str(128 << 10)), 6,
         seed=2, large=False)


@needs_wal
def test_kill_loop_none_background_writer(tmp_path: Path) -> None:
    """Policy none with the background writer thread (frames of 16 KiB and more posted to it mid-group,
    groups up to 80 records; commit() drains it and syncs), 512 KiB segments, records crossing 32 KiB."""
    _run(tmp_path, ("--sync", "none", "--background", "--commit-none", "--segment-bytes", str(512 << 10),
                    "--batch-bytes", "16384", "--group-max", "80"), 6, seed=3)


@needs_wal
def test_kill_loop_none_lean_batches(tmp_path: Path) -> None:
    """Policy none, every group one append_buffer of up to 1,500 records (most are 256 KiB to a few MiB:
    the lean path, one frame or several in one native write), 2 MiB segments (multi-frame batches that do
    not fit go to the generic path, which rotates between their frames)."""
    _run(tmp_path, ("--sync", "none", "--commit-none", "--api", "buffer", "--segment-bytes", str(2 << 20),
                    "--group-max", "1500"), 6, seed=5)


@needs_wal
def test_concurrent_tailing_reader_sees_valid_prefix(tmp_path: Path) -> None:
    """A follow() reader tails the directory while the writer appends and is SIGKILLed."""
    st = cl.LoopState(tmp_path / "wal", writer_args=("--sync", "always", "--segment-bytes", str(256 << 10),
                                                     "--sleep-ms", "1"))
    rng = random.Random(3)
    for _ in range(2):
        problems = cl.concurrent_follow(st, rng, follow_s=0.8)
        assert not problems, "\n".join(problems + st.log)


def test_kill_loop_sqlite_subject(tmp_path: Path) -> None:
    """The harness against SQLite (WAL mode, synchronous=FULL): it must pass a trusted implementation."""
    _run(tmp_path, ("--sync", "always", "--no-large"), 4, seed=4, impl="sqlite", large=False)


@needs_wal
@pytest.mark.skipif(not HAVE_STRACE, reason="strace/ptrace not available")
def test_kill_loop_catches_ack_before_commit(tmp_path: Path) -> None:
    """Proof of the harness: a writer that prints ACK before commit() (policy none, so nothing reaches the
    kernel before commit) loses acknowledged records when killed at its next write."""
    args = ("--sync", "none", "--commit-none", "--broken", "ack-early", "--no-large")
    caught = []
    for i, n in enumerate((1, 2, 3, 5, 8)):
        st = cl.LoopState(tmp_path / f"wal{i}", writer_args=args, large=False)
        rng = random.Random(i)
        caught += cl.run_loop(st, [("inject-write", n)], rng)
    assert any("lost" in p for p in caught), caught


# ------------------------------------------------------------------ soak (hundreds of kills)

SOAK_CONFIGS = {
    "always-rotate": ("--sync", "always", "--segment-bytes", str(256 << 10)),
    "always-prealloc": ("--sync", "always", "--preallocate", "yes", "--segment-bytes", str(256 << 10)),
    "always-single": ("--sync", "always", "--api", "single", "--no-large", "--segment-bytes", str(64 << 10)),
    "batch-mixed": ("--sync", "batch", "--segment-bytes", str(1 << 20)),
    "none-commit": ("--sync", "none", "--commit-none", "--segment-bytes", str(512 << 10)),
    "none-lean": ("--sync", "none", "--commit-none", "--api", "buffer", "--segment-bytes", str(2 << 20),
                  "--group-max", "1500"),
    "none-background": ("--sync", "none", "--background", "--commit-none", "--segment-bytes", str(512 << 10),
                        "--batch-bytes", "16384", "--group-max", "80"),
}


@pytest.mark.soak
@needs_wal
@pytest.mark.parametrize("config", sorted(SOAK_CONFIGS))
def test_kill_loop_soak(tmp_path: Path, config: str) -> None:
    """Hundreds of crash-recover-append cycles per configuration on one directory, with a tailing reader
    every 25 cycles. ``WAL_SOAK_CYCLES`` sets the count (default 300); a JSON summary is appended to
    ``$WAL_SOAK_LOG`` when set."""
    cycles = int(os.environ.get("WAL_SOAK_CYCLES", "300"))
    args = SOAK_CONFIGS[config]
    large = "--no-large" not in args
    st = cl.LoopState(tmp_path / "wal", writer_args=args, large=large)
    rng = random.Random(zlib.crc32(config.encode()))
    t0 = time.perf_counter()
    problems: list[str] = []
    modes = _modes(rng, cycles, strace=HAVE_STRACE)
    for i, (mode, n) in enumerate(modes):
        follow = i % 25 == 24
        problems = cl.concurrent_follow(st, rng, follow_s=0.6) if follow else cl.run_loop(st, [(mode, n)], rng)
        if problems:
            break
    summary = {"config": config, "args": list(args), "cycles": st.cycles, "kills": st.kills,
               "max_acked": st.max_acked, "records": st.last_read, "seconds": round(time.perf_counter() - t0, 1),
               "segments": len([p for p in (tmp_path / "wal").iterdir() if p.name.endswith(".wal")]),
               "strace": HAVE_STRACE, "problems": problems[:5]}
    if os.environ.get("WAL_SOAK_LOG"):
        with open(os.environ["WAL_SOAK_LOG"], "a") as fh:
            fh.write(json.dumps(summary) + "\n")
    assert not problems, "\n".join(problems + st.log[-10:])


# ------------------------------------------------------------------ injected I/O errors in the real process


def _run_writer(argv: list[str]) -> tuple[int, list[str], str]:
    import subprocess

    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    return p.returncode, p.stdout.splitlines(), p.stderr


@needs_wal
@pytest.mark.skipif(not HAVE_STRACE, reason="strace/ptrace not available")
@pytest.mark.parametrize(("call", "err", "when"), [("pwritev2", "ENOSPC", 9), ("fdatasync", "EIO", 7),
                                                   ("fsync", "EIO", 9), ("rename", "EIO", 4)])
def test_os_level_io_error_poisons_then_reopen_recovers(tmp_path: Path, call: str, err: str, when: int) -> None:
    """strace makes the N-th ``call`` of the writer process fail with ``err`` (no mock: every thread and code
    path of the real process): the writer must stop acknowledging (WalPoisonedError, exit 4), nothing it
    ACKed may be lost, and a new writer on the directory recovers and continues the sequence."""
    d = tmp_path / "wal"
    args = ("--sync", "always", "--segment-bytes", str(64 << 10), "--no-large", "--count", "1500")
    argv = [cl.STRACE, "-f", "-qq", "-o", os.devnull, "-e", f"trace={call}",
            "-e", f"inject={call}:error={err}:when={when}", *h.writer_argv(d, *args)]
    rc, lines, stderr = _run_writer(argv)
    assert rc == h.EXIT_POISONED and lines[-1] == "POISONED WalPoisonedError", (rc, lines[-3:], stderr[-2000:])
    acked = max([int(x.split()[1]) for x in lines if x.startswith("ACK ")] or [0])
    assert acked > 0, "the error must hit a writer that had already acknowledged records"
    res = h.read_records(d)
    assert not h.judge_acked(res, acked, large=False), h.judge_acked(res, acked, large=False)
    rc2, lines2, stderr2 = _run_writer(h.writer_argv(d, *args[:-1], "50"))
    assert rc2 == 0, stderr2[-2000:]
    ready = int(lines2[0].split()[1])
    assert ready >= acked
    res2 = h.read_records(d)
    assert res2.ok and not h.judge_prefix(res2.records, large=False)
    assert res2.records[-1].seq == int(lines2[-1].split()[1]) >= ready + 50


# ------------------------------------------------------------------ determinism across processes and replicas


@needs_wal
def test_replicas_and_replays_are_byte_identical(tmp_path: Path) -> None:
    """Two writer processes fed the same input under different policies and segment sizes (two replicas) give
    the same record stream; two reader processes on one directory print byte-identical output."""
    import subprocess

    outs = []
    for i, extra in enumerate((("--sync", "always", "--segment-bytes", str(256 << 10)),
                               ("--sync", "none", "--commit-none", "--segment-bytes", str(1 << 20)))):
        d = tmp_path / f"r{i}"
        rc, _, err = _run_writer(h.writer_argv(d, *extra, "--count", "400", "--seed", "77"))
        assert rc == 0, err[-2000:]
        runs = [subprocess.run(h.reader_argv(d), capture_output=True, text=True, timeout=120, check=False)
                for _ in range(2)]
        assert runs[0].returncode == 0 and runs[0].stdout == runs[1].stdout and runs[0].stdout.endswith("END OK\n")
        outs.append([ln.split()[1:4] for ln in runs[0].stdout.splitlines()[:-1]])
    assert outs[0] == outs[1] and len(outs[0]) >= 400
    res = h.read_records(tmp_path / "r0")
    assert not h.judge_prefix(res.records)
