"""Jepsen-style SIGKILL loop for the WAL harness (imported by ``test_wal_crash.py``).

Each cycle starts the harness writer as a direct child (no shell), kills it with SIGKILL (after a random
delay, right after the k-th ACK, during start-up/recovery, or at the N-th write/fdatasync via strace fault
injection), then replays the directory read-only and checks: END OK, seqs ``1..n`` contiguous, every record
byte-identical to its deterministic payload, and every ACKed seq present. The next cycle's writer must report
``READY <n>`` with ``n`` equal to the last seq the reader saw (recovery neither drops nor invents records).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import wal_harness as h

STRACE = "/usr/bin/strace"


def strace_works() -> bool:
    """True if strace can trace and inject here (ptrace permitted)."""
    if not os.access(STRACE, os.X_OK):
        return False
    try:
        p = subprocess.run([STRACE, "-f", "-qq", "-o", os.devnull, "-e", "trace=getpid",
                            "-e", "inject=getpid:signal=KILL:when=1", "/bin/true"],
                           capture_output=True, timeout=20, check=False)
        q = subprocess.run([STRACE, "-qq", "-o", os.devnull, "/bin/true"], capture_output=True, timeout=20,
                           check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return q.returncode == 0 and p.returncode in (0, 137, -9)


@dataclass
class Cycle:
    mode: str
    ready: int | None
    acked: int
    lines: list[str]
    returncode: int | None
    stderr: str


@dataclass
class LoopState:
    directory: Path
    writer_args: tuple[str, ...] = ()
    impl: str = "sq"
    large: bool = True
    max_acked: int = 0
    last_read: int = 0
    cycles: int = 0
    kills: int = 0
    startup_s: float = 0.3
    log: list[str] = field(default_factory=list)


class _Pump(threading.Thread):
    """Reads the writer's stdout line by line; signals each ACK count."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.lines: list[str] = []
        self.acks = 0
        self.ready_at: float | None = None
        self.cv = threading.Condition()

    def run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                if line.startswith("ACK"):
                    self.acks += 1
                elif line.startswith("READY"):
                    self.ready_at = time.perf_counter()
                self.cv.notify_all()

    def wait_acks(self, k: int, timeout: float) -> bool:
        end = time.perf_counter() + timeout
        with self.cv:
            while self.acks < k:
                left = end - time.perf_counter()
                if left <= 0 or self.proc.poll() is not None:
                    return self.acks >= k
                self.cv.wait(min(left, 0.05))
        return True


def tear_tail(directory: Path, rng: random.Random) -> bool:
    """Write 1..300 random bytes right after the last frame of the newest segment, as a power cut in the
    middle of an unsynced frame would leave them, so that the next start has a torn tail to recover."""
    if not directory.is_dir() or not h.segments(directory):
        return False
    last = h.segments(directory)[-1]
    frames = [f for f in h.layout(directory) if f.segment == last]
    end = frames[-1].end if frames else h.SEG_HDR
    with open(directory / last, "r+b") as fh:
        fh.seek(end)
        fh.write(rng.randbytes(rng.randint(1, 300)))
    return True


def run_cycle(st: LoopState, mode: str, rng: random.Random, *, n: int = 0) -> Cycle:
    """One start-kill cycle; ``mode`` in random | after-ack | startup | inject-write | inject-fdatasync |
    inject-rename | inject-ftruncate | torn-recovery | clean. ``torn-recovery`` first tears the tail
    (:func:`tear_tail`) and kills the writer at recovery's truncate (``n`` = 1) or first data sync (``n`` = 2)
    or at a random moment of start-up (``n`` = 0)."""
    if mode == "torn-recovery" and st.impl == "sq" and tear_tail(st.directory, rng):
        mode = {1: "inject-ftruncate", 2: "inject-fdatasync"}.get(n, "startup")
        n = 1
    argv = h.writer_argv(st.directory, "--impl", st.impl, *st.writer_args)
    if mode.startswith("inject-"):
        call = mode.split("-", 1)[1]
        calls = {"write": "pwrite64,pwritev,pwritev2", "fdatasync": "fdatasync,fsync"}.get(call, call)
        argv = [STRACE, "-f", "-qq", "-o", os.devnull, "-e", f"trace={calls}",
                "-e", f"inject={calls}:signal=KILL:when={max(1, n)}", *argv]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                            start_new_session=True)
    pump = _Pump(proc)
    pump.start()
    try:
        if mode == "random":
            pump.wait_acks(1, 30.0)
            time.sleep(rng.uniform(0.0, 0.25))
            _kill(proc)
        elif mode == "after-ack":
            pump.wait_acks(max(1, n), 30.0)
            _kill(proc)
        elif mode == "startup":
            time.sleep(rng.uniform(0.4, 1.1) * st.startup_s)
            _kill(proc)
        elif mode == "clean":
            pass
        else:  # inject-*: strace kills the writer at the N-th call; if it never comes, kill 1 s after READY
            end = time.perf_counter() + 30.0
            while proc.poll() is None and time.perf_counter() < end:
                if pump.ready_at is not None and time.perf_counter() - pump.ready_at > 1.0:
                    break
                time.sleep(0.01)
            _kill(proc)
        try:
            proc.wait(timeout=60.0 if mode == "clean" else 2.0)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.wait(timeout=10.0)
    finally:
        if proc.poll() is None:
            _kill(proc)
            proc.wait(timeout=10.0)
    pump.join(timeout=10.0)
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    ready = None
    acked = 0
    for ln in pump.lines:
        if ln.startswith("READY "):
            ready = int(ln.split()[1])
        elif ln.startswith("ACK "):
            acked = max(acked, int(ln.split()[1]))
    if pump.ready_at is not None:
        st.startup_s = 0.7 * st.startup_s + 0.3 * (pump.ready_at - t0)
    return Cycle(mode, ready, acked, pump.lines, proc.returncode, stderr)


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the child and, when it is strace, its tracee: the child leads its own process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def check_cycle(st: LoopState, cyc: Cycle) -> list[str]:
    """Judge one cycle against everything seen so far; updates the loop state."""
    problems: list[str] = []
    if cyc.returncode not in (-9, 137, 0) or (cyc.returncode == 0 and cyc.mode != "clean"):
        problems.append(f"writer exit {cyc.returncode} (stdout tail {cyc.lines[-3:]}): {cyc.stderr[-1500:]}")
    if "Traceback" in cyc.stderr:
        problems.append(f"writer traceback: {cyc.stderr[-1500:]}")
    if cyc.ready is not None and cyc.ready != st.last_read:
        problems.append(f"writer recovered to {cyc.ready}, the read-only reader had seen {st.last_read}")
    if cyc.ready is not None and cyc.ready < st.max_acked:
        problems.append(f"recovery lost acknowledged records: READY {cyc.ready} < acked {st.max_acked}")
    st.max_acked = max(st.max_acked, cyc.acked)
    res = h.read_records(st.directory, impl=st.impl)
    problems += h.judge_acked(res, st.max_acked, large=st.large)
    st.last_read = res.records[-1].seq if res.records else 0
    st.cycles += 1
    st.kills += cyc.returncode in (-9, 137)
    st.log.append(f"{cyc.mode}: ready={cyc.ready} acked={cyc.acked} read={st.last_read} rc={cyc.returncode}")
    return problems


def run_loop(st: LoopState, modes: list[tuple[str, int]], rng: random.Random) -> list[str]:
    """Run the given (mode, n) cycles; returns every problem found (empty = passed)."""
    problems: list[str] = []
    for mode, n in modes:
        cyc = run_cycle(st, mode, rng, n=n)
        got = check_cycle(st, cyc)
        if got:
            problems += [f"cycle {st.cycles} ({mode} n={n}): {p}" for p in got]
            break
    return problems


def concurrent_follow(st: LoopState, rng: random.Random, follow_s: float = 1.0) -> list[str]:
    """A tailing reader (``reader --follow``) runs while a writer appends and is SIGKILLed: it must end
    with END OK, see a valid prefix, and see at least every record ACKed before it started."""
    argv = h.writer_argv(st.directory, "--impl", st.impl, *st.writer_args)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                            start_new_session=True)
    pump = _Pump(proc)
    pump.start()
    pump.wait_acks(1, 30.0)
    with pump.cv:
        acked_before = max([int(x.split()[1]) for x in pump.lines if x.startswith("ACK")] or [0])
    rproc = subprocess.Popen(h.reader_argv(st.directory, "--follow", str(follow_s), "--until", str(acked_before)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(rng.uniform(0.1, 0.6) * follow_s)
    _kill(proc)
    proc.wait(timeout=10)
    pump.join(timeout=10)
    out, err = rproc.communicate(timeout=120)
    cyc = Cycle("follow", None, 0, pump.lines, proc.returncode, proc.stderr.read() if proc.stderr else "")
    for ln in pump.lines:
        if ln.startswith("READY "):
            cyc.ready = int(ln.split()[1])
        elif ln.startswith("ACK "):
            cyc.acked = max(cyc.acked, int(ln.split()[1]))
    problems = check_cycle(st, cyc)
    res, why = h.parse_reader_output(out)
    if res is None:
        return [*problems, f"follow reader broke the protocol: {why}; stderr {err[-1500:]}"]
    if not res.ok:
        problems.append(f"follow reader saw END CORRUPT {res.reason}")
    problems += [f"follow reader: {p}" for p in h.judge_prefix(res.records, large=st.large)]
    seen = res.records[-1].seq if res.records else 0
    if seen < acked_before:
        problems.append(f"follow reader ended at {seen} < {acked_before} acknowledged before it started")
    return problems


def copy_dir(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst)
