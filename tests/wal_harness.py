"""Crash-test harness for the write-ahead log: a writer and a reader command with a line protocol.

Run as a program (exec'd directly, never through a shell, so SIGKILL and strace hit the writer itself)::

    python tests/wal_harness.py writer DIR [--sync always|batch|none] [--api single|mixed] [--count N] ...
    python tests/wal_harness.py reader DIR [--follow SECONDS] [--copy]

Writer: opens (and so recovers) ``DIR``, prints ``READY <last_recovered_seq>``, then appends records
``seq = last_recovered + 1, ...`` whose payload is :func:`payload` of ``seq`` (SHAKE-128 keyed on seq; sizes
from a profile crossing 32 KiB; runs of 64-byte event records appended as ``EVENT_DTYPE`` arrays) and prints
``ACK <seq>`` (flushed) only once every record up to ``seq`` is durable. ``DONE <seq>`` after ``--count``.

Reader: read-only (``WalReader`` never modifies the directory; ``--copy`` reads a private copy anyway);
prints ``R <seq> <length> <digest> <segment> <offset>`` per record and exactly one final line, ``END OK``
(exit 0; a torn tail may have been dropped) or ``END CORRUPT <reason>`` (exit :data:`EXIT_CORRUPT`). Anything
else (a traceback, no END line) is a reader failure.

Subjects: ``--impl sq`` (shrivenquant.wal, default) or ``--impl sqlite`` (stdlib sqlite3 in WAL mode,
``synchronous=FULL``), so the harness itself can be exercised against a second, trusted implementation.

The test modules import the pure functions (:func:`payload`, :func:`expected`, :func:`judge_prefix`,
:func:`read_records`) from here.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve()
EXIT_CORRUPT = 3
EXIT_POISONED = 4
KEY = b"shrivenquant-wal-harness-v1"
SMALL = (1, 7, 16, 64, 100, 255, 333)
MEDIUM = (512, 1000, 4095, 4096, 4097, 8191)
LARGE = (32767, 32768, 32769, 40000, 70000)
EVENT_RUN = 32  # seqs come in runs of 32; every 5th run is 64-byte event records


def is_event(seq: int) -> bool:
    """True if ``seq`` belongs to a run of 64-byte event records (appended with ``append_events``)."""
    return (seq // EVENT_RUN) % 5 == 4


def size_of(seq: int, *, large: bool = True) -> int:
    """Payload length of ``seq``: mostly small, 1/8 medium, 1/64 beyond 32 KiB (when ``large``)."""
    if is_event(seq):
        return 64
    h = hashlib.blake2b(seq.to_bytes(8, "little"), key=KEY, digest_size=8).digest()
    r = int.from_bytes(h, "little")
    if large and r % 64 == 0:
        return LARGE[(r >> 8) % len(LARGE)]
    if r % 8 == 0:
        return MEDIUM[(r >> 8) % len(MEDIUM)]
    return SMALL[(r >> 8) % len(SMALL)]


def payload(seq: int, *, large: bool = True) -> bytes:
    """The deterministic payload of record ``seq``: SHAKE-128(KEY, seq) stretched to :func:`size_of` bytes."""
    return hashlib.shake_128(KEY + seq.to_bytes(8, "little")).digest(size_of(seq, large=large))


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


@functools.lru_cache(maxsize=1 << 16)
def expected(seq: int, *, large: bool = True) -> tuple[int, str]:
    """(length, digest) the reader must print for ``seq``."""
    p = payload(seq, large=large)
    return len(p), digest(p)


@dataclass(frozen=True)
class Rec:
    seq: int
    length: int
    digest: str
    segment: str = ""
    offset: int = -1


@dataclass(frozen=True)
class ReadResult:
    records: list[Rec]
    ok: bool  # END OK (True) or END CORRUPT (False)
    reason: str = ""


# ---------------------------------------------------------------- subjects


class SqWriter:
    """shrivenquant.wal.WalWriter behind the harness protocol."""

    def __init__(self, directory: Path, args: argparse.Namespace) -> None:
        from shrivenquant.wal import WalWriter

        kw = {"sync": args.sync}
        if args.segment_bytes:
            kw["segment_bytes"] = args.segment_bytes
        if args.preallocate is not None:
            kw["preallocate"] = args.preallocate == "yes"
        if getattr(args, "background", False):
            kw["background"] = True
        if getattr(args, "batch_bytes", 0):
            kw["batch_bytes"] = args.batch_bytes
        if getattr(args, "broken", "") == "no-dir-fsync":
            kw["io"] = _no_dir_fsync_io()
        self.w = WalWriter(directory, **kw)
        self.sync = args.sync

    @property
    def last_seq(self) -> int:
        return int(self.w.last_seq)

    def append(self, data: bytes) -> int:
        return int(self.w.append(data))

    def append_many(self, items: list[bytes]) -> int:
        return int(self.w.append_many(items))

    def append_events(self, blob: bytes) -> int:
        import numpy as np

        from shrivenquant.core.events import EVENT_DTYPE

        return int(self.w.append_events(np.frombuffer(blob, dtype=EVENT_DTYPE)))

    def append_buffer(self, items: list[bytes]) -> int:
        import numpy as np

        lengths = np.array([len(x) for x in items], dtype=np.int64)
        return int(self.w.append_buffer(b"".join(items), lengths))

    def commit(self) -> int:
        return int(self.w.commit())

    def close(self) -> None:
        self.w.close()


def _no_dir_fsync_io() -> object:
    """A deliberately broken OS layer: fsync of a directory does nothing (rotation renames not durable)."""
    import stat

    from shrivenquant.wal._io import OsIo

    class NoDirFsync(OsIo):
        def fsync(self, fd: int) -> None:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                return
            super().fsync(fd)

        def fdatasync(self, fd: int) -> None:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                return
            super().fdatasync(fd)

    return NoDirFsync()


class SqliteWriter:
    """SQLite (WAL mode, synchronous=FULL) as a second subject: one row per record, a transaction per commit."""

    def __init__(self, directory: Path, args: argparse.Namespace) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(directory / "log.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={'FULL' if args.sync != 'none' else 'OFF'}")
        self.db.execute("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        row = self.db.execute("SELECT max(seq) FROM log").fetchone()
        self._last = int(row[0] or 0)
        self._open = False
        self.sync = args.sync

    @property
    def last_seq(self) -> int:
        return self._last

    def _begin(self) -> None:
        if not self._open:
            self.db.execute("BEGIN")
            self._open = True

    def append_many(self, items: list[bytes]) -> int:
        self._begin()
        first = self._last + 1
        self.db.executemany("INSERT INTO log VALUES (?, ?)", [(first + i, x) for i, x in enumerate(items)])
        self._last += len(items)
        if self.sync == "always":
            self.commit()
        return self._last

    def append(self, data: bytes) -> int:
        return self.append_many([data])

    append_events = None  # type: ignore[assignment]
    append_buffer = append_many

    def commit(self) -> int:
        if self._open:
            self.db.execute("COMMIT")
            self._open = False
        return self._last

    def close(self) -> None:
        self.commit()
        self.db.close()


def read_records(directory: Path, *, impl: str = "sq", from_seq: int | None = None) -> ReadResult:
    """Read every record of ``directory`` in-process; ``END CORRUPT`` iff the WAL raised WalCorruptionError."""
    if impl == "sqlite":
        return _read_sqlite(directory)
    from shrivenquant.errors import WalCorruptionError
    from shrivenquant.wal import WalReader

    out: list[Rec] = []
    try:
        r = WalReader(directory)
        for rec in r.records(from_seq=from_seq):
            p = bytes(rec.payload)
            out.append(Rec(int(rec.seq), len(p), digest(p), str(getattr(rec, "segment", "")),
                           int(getattr(rec, "offset", -1))))
    except WalCorruptionError as exc:
        return ReadResult(out, False, f"{type(exc).__name__}: {exc}")
    return ReadResult(out, True)


def _read_sqlite(directory: Path) -> ReadResult:
    # opening a WAL-mode database may checkpoint or rebuild the -shm: read a private copy
    if not (directory / "log.db").exists():
        return ReadResult([], True)
    with tempfile.TemporaryDirectory(dir=directory.parent) as tmp:
        for f in directory.iterdir():
            shutil.copy2(f, Path(tmp) / f.name)
        db = sqlite3.connect(Path(tmp) / "log.db")
        try:
            rows = db.execute("SELECT seq, data FROM log ORDER BY seq").fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                return ReadResult([], False, f"sqlite: {exc}")
            rows = []  # the schema commit itself was lost: an empty log
        except sqlite3.DatabaseError as exc:
            return ReadResult([], False, f"sqlite: {exc}")
        finally:
            db.close()
    return ReadResult([Rec(s, len(d), digest(bytes(d))) for s, d in rows], True)


# ---------------------------------------------------------------- the documented layout (independent parser)

SEG_HDR = 32
FRAME_HDR = 32


@dataclass(frozen=True)
class Frame:
    segment: str
    offset: int  # of the frame header in the segment file
    total: int  # header + body + padding to 8
    first_seq: int
    count: int
    synced_seq: int

    @property
    def end(self) -> int:
        return self.offset + self.total


def segments(directory: Path) -> list[str]:
    """Segment file names (``<20-digit first seq>.wal``), oldest first."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".wal") and p.name[:-4].isdigit())


def layout(directory: Path) -> list[Frame]:
    """Every frame of a *clean* log, parsed from the byte layout in the format documentation (segment header
    32 B; frame header: crc u32, body_len u32, first_seq u64, count u32, flags u32, synced_seq u64; body padded
    to 8), independently of the WAL's own scanner; stops at an all-zero header or the end of each file."""
    import struct

    frames: list[Frame] = []
    for name in segments(directory):
        data = (directory / name).read_bytes()
        off = SEG_HDR
        while off + FRAME_HDR <= len(data) and any(data[off: off + FRAME_HDR]):
            _crc, body_len, first, count, _flags, synced = struct.unpack_from("<IIQIIQ", data, off)
            total = FRAME_HDR + ((body_len + 7) & ~7)
            if off + total > len(data):
                break
            frames.append(Frame(name, off, total, first, count, synced))
            off += total
    return frames


def build_log(directory: Path, n: int, *, sync: str = "always", segment_bytes: int = 0, large: bool = True,
              group_max: int = 24, seed: int = 1, **kw: object) -> int:
    """Write records 1..~n in-process with the mixed API (groups, event arrays, buffers), commit, close;
    returns the last seq."""
    from shrivenquant.wal import WalWriter

    opts: dict[str, object] = {"sync": sync, **kw}
    if segment_bytes:
        opts["segment_bytes"] = segment_bytes
    args = argparse.Namespace(sync=sync)
    w = SqWriter.__new__(SqWriter)
    w.w = WalWriter(directory, **opts)
    w.sync = args.sync
    last = w.last_seq
    rng = [seed]
    for kind, items in _groups(last + 1, rng, group_max, large):
        if kind == "events":
            last = w.append_events(b"".join(items))
        elif kind == "buffer":
            last = w.append_buffer(items)
        elif kind == "single":
            for p in items:
                last = w.append(p)
        else:
            last = w.append_many(items)
        w.commit()
        if last >= n:
            break
    w.close()
    return last


# ---------------------------------------------------------------- judging


def judge_prefix(records: Iterable[Rec], *, first_seq: int = 1, large: bool = True) -> list[str]:
    """Problems with a replayed stream: seqs must be ``first_seq, first_seq+1, ...`` and every record
    byte-identical (length and digest) to :func:`payload` of its seq. Empty list = a valid prefix."""
    problems: list[str] = []
    want = first_seq
    for rec in records:
        if rec.seq != want:
            problems.append(f"seq {rec.seq} where {want} was expected (gap, duplicate or reorder)")
            return problems
        if (rec.length, rec.digest) != expected(rec.seq, large=large):
            problems.append(f"seq {rec.seq}: wrong bytes (len {rec.length}, want {expected(rec.seq, large=large)})")
            return problems
        want += 1
    return problems


def judge_acked(result: ReadResult, acked: int, *, first_seq: int = 1, large: bool = True,
                retain: int = 0) -> list[str]:
    """A replay after a crash: END OK, a valid prefix, and every seq ``<= acked`` present. With ``retain``
    (retention ran with checkpoints ``durable - retain``), the log may start later than ``first_seq`` but
    never after ``acked - retain``."""
    problems = [] if result.ok else [f"END CORRUPT {result.reason}"]
    if retain and result.records:
        start = result.records[0].seq
        if start > max(first_seq, acked - retain):
            problems.append(f"retention dropped too much: the log starts at {start}, acked {acked}, "
                            f"checkpoints were at most {acked - retain}")
        first_seq = start
    problems += judge_prefix(result.records, first_seq=first_seq, large=large)
    last = result.records[-1].seq if result.records else first_seq - 1
    if last < acked:
        problems.append(f"acknowledged seq {acked} lost: the log ends at {last}")
    return problems


# ---------------------------------------------------------------- writer program


def _groups(start: int, rng_state: list[int], group_max: int, large: bool,
            buffers: bool = False) -> Iterable[tuple[str, list[bytes]]]:
    """Endless (api, payloads) groups from seq ``start``: event runs go out as event arrays, the rest as
    append_many / append_buffer / single appends, group sizes 1..group_max from a small LCG. ``buffers``:
    every group is one append_buffer, across event runs (their 64-byte payloads as plain records)."""
    seq = start
    while True:
        rng_state[0] = (rng_state[0] * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        r = rng_state[0] >> 33
        n = 1 + r % group_max
        ev = is_event(seq)
        items: list[bytes] = []
        while len(items) < n and (buffers or is_event(seq) == ev):
            items.append(payload(seq, large=large))
            seq += 1
        if buffers:
            yield "buffer", items
        elif ev:
            yield "events", items
        else:
            yield ("many", "buffer", "single")[(r >> 12) % 3], items


def run_writer(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    make: Callable[[Path, argparse.Namespace], object] = SqliteWriter if args.impl == "sqlite" else SqWriter
    w = make(directory, args)
    last = w.last_seq  # type: ignore[attr-defined]
    out = sys.stdout
    out.write(f"READY {last}\n")
    out.flush()
    rng = [args.seed or (os.getpid() * 2654435761) & 0xFFFFFFFF]
    try:
        return _write_loop(w, args, last, rng, out)
    except Exception as exc:
        from shrivenquant.errors import WalError

        if isinstance(exc, WalError):
            out.write(f"POISONED {type(exc).__name__}\n")
            out.flush()
            return EXIT_POISONED
        raise


def _write_loop(w: object, args: argparse.Namespace, last: int, rng: list[int], out: object) -> int:
    written = 0
    sleep = args.sleep_ms / 1000.0
    for groups, (kind, items) in enumerate(_groups(last + 1, rng, args.group_max, not args.no_large,
                                                   args.api == "buffer"), 1):
        if args.count and written >= args.count:
            break
        if args.api == "single" or kind == "single" or (kind == "events" and w.append_events is None):  # type: ignore[attr-defined]
            for p in items:
                s = w.append(p)  # type: ignore[attr-defined]
                if args.sync == "always":
                    out.write(f"ACK {s}\n")
                    out.flush()
        elif kind == "events":
            w.append_events(b"".join(items))  # type: ignore[attr-defined]
        elif kind == "buffer":
            w.append_buffer(items)  # type: ignore[attr-defined]
        else:
            w.append_many(items)  # type: ignore[attr-defined]
        written += len(items)
        if args.broken == "ack-early":
            out.write(f"ACK {last + written}\n")  # deliberately before commit(): the harness must catch this
            out.flush()
        if (args.sync != "none" or args.commit_none) and groups % args.commit_every == 0:
            d = w.commit()  # type: ignore[attr-defined]
            if args.broken != "ack-early":
                out.write(f"ACK {d}\n")
                out.flush()
            if args.retain and d > args.retain:
                w.w.truncate_before(d - args.retain)  # type: ignore[attr-defined]
        if sleep:
            time.sleep(sleep)
    w.close()  # type: ignore[attr-defined]
    out.write(f"DONE {last + written}\n")
    out.flush()
    return 0


# ---------------------------------------------------------------- reader program


def run_reader(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if args.follow:
        return _follow(directory, args)
    if args.copy:
        with tempfile.TemporaryDirectory(dir=directory.parent) as tmp:
            dst = Path(tmp) / directory.name
            shutil.copytree(directory, dst)
            return _print_result(read_records(dst, impl=args.impl))
    return _print_result(read_records(directory, impl=args.impl))


def _print_result(res: ReadResult) -> int:
    out = sys.stdout
    for r in res.records:
        out.write(f"R {r.seq} {r.length} {r.digest} {r.segment or '-'} {r.offset}\n")
    if res.ok:
        out.write("END OK\n")
        out.flush()
        return 0
    out.write(f"END CORRUPT {' '.join(res.reason.split())}\n")
    out.flush()
    return EXIT_CORRUPT


def _follow(directory: Path, args: argparse.Namespace) -> int:
    """Tail a live directory for ``--follow`` seconds, printing each record as it arrives."""
    from shrivenquant.errors import WalCorruptionError
    from shrivenquant.wal import WalReader

    stop = threading.Event()
    seen = [0]
    t0 = time.monotonic()

    def watch() -> None:  # stop after --follow seconds, but not before --until was seen (60 s at most)
        while not stop.wait(0.01):
            now = time.monotonic() - t0
            if (now >= args.follow and seen[0] >= args.until) or now >= 60.0:
                stop.set()

    timer = threading.Thread(target=watch, daemon=True)
    timer.start()
    out = sys.stdout
    try:
        for rec in WalReader(directory).follow(from_seq=1, poll_s=0.001, stop=stop):
            p = bytes(rec.payload)
            seen[0] = int(rec.seq)
            out.write(f"R {rec.seq} {len(p)} {digest(p)} - -1\n")
    except WalCorruptionError as exc:
        out.write(f"END CORRUPT {' '.join(str(exc).split())}\n")
        out.flush()
        return EXIT_CORRUPT
    finally:
        stop.set()
        timer.join()
    out.write("END OK\n")
    out.flush()
    return 0


def parse_reader_output(text: str) -> tuple[ReadResult | None, str]:
    """(result, error): the reader's stdout parsed; ``None`` with an error if the protocol was broken."""
    lines = text.splitlines()
    if not lines or not lines[-1].startswith("END "):
        return None, f"no END line (last: {lines[-1:]!r})"
    recs = []
    for ln in lines[:-1]:
        parts = ln.split()
        if len(parts) != 6 or parts[0] != "R":
            return None, f"bad reader line {ln!r}"
        recs.append(Rec(int(parts[1]), int(parts[2]), parts[3], parts[4], int(parts[5])))
    end = lines[-1]
    if end == "END OK":
        return ReadResult(recs, True), ""
    if end.startswith("END CORRUPT"):
        return ReadResult(recs, False, end[len("END CORRUPT "):]), ""
    return None, f"bad END line {end!r}"


def writer_argv(directory: Path, *extra: str) -> list[str]:
    """argv that execs the writer directly (the interpreter is the process: no shell)."""
    return [sys.executable, str(HERE), "writer", str(directory), *extra]


def reader_argv(directory: Path, *extra: str) -> list[str]:
    return [sys.executable, str(HERE), "reader", str(directory), *extra]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("writer")
    w.add_argument("dir")
    w.add_argument("--impl", choices=("sq", "sqlite"), default="sq")
    w.add_argument("--sync", choices=("always", "batch", "none"), default="always")
    w.add_argument("--api", choices=("single", "mixed", "buffer"), default="mixed",
                   help="buffer: every group one append_buffer (large groups take the writer's lean path)")
    w.add_argument("--count", type=int, default=0, help="stop cleanly after this many records (0 = never)")
    w.add_argument("--group-max", type=int, default=40)
    w.add_argument("--segment-bytes", type=int, default=0)
    w.add_argument("--preallocate", choices=("yes", "no"), default=None)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--background", action="store_true", help="policy none: WalWriter(background=True)")
    w.add_argument("--batch-bytes", type=int, default=0, help="WalWriter batch_bytes (0 = its default)")
    w.add_argument("--sleep-ms", type=float, default=0.0)
    w.add_argument("--no-large", action="store_true", help="no payloads beyond 32 KiB")
    w.add_argument("--commit-none", action="store_true", help="call commit() and ACK under policy none too")
    w.add_argument("--commit-every", type=int, default=1, help="commit() (and ACK) after every K-th group")
    w.add_argument("--retain", type=int, default=0,
                   help="after each commit, truncate_before(durable - RETAIN): retention while appending")
    w.add_argument("--broken", choices=("", "ack-early", "no-dir-fsync"), default="")
    r = sub.add_parser("reader")
    r.add_argument("dir")
    r.add_argument("--impl", choices=("sq", "sqlite"), default="sq")
    r.add_argument("--copy", action="store_true")
    r.add_argument("--follow", type=float, default=0.0, help="tail the directory for this many seconds")
    r.add_argument("--until", type=int, default=0, help="with --follow: keep tailing until this seq was seen")
    args = ap.parse_args(argv)
    return run_writer(args) if args.cmd == "writer" else run_reader(args)


if __name__ == "__main__":
    sys.exit(main())
