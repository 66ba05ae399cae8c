"""ALICE-style power-cut simulation from a recorded syscall trace (imported by ``test_wal_powercut.py``).

1. :func:`record` runs a program (the harness writer) under ``strace -f -e write=all`` and keeps every
   file-affecting call (open/creat, write/pwrite/writev, lseek/read for the file position, fsync/fdatasync,
   ftruncate, fallocate, rename, unlink, directory fsyncs) with the exact bytes written, plus the ``ACK``
   lines the program wrote to stdout, in one ordered list of events.
2. :class:`Model` replays the events, keeping per file the current bytes, the bytes as of the last
   fsync/fdatasync and the operations since; per directory the names as of the last directory fsync and the
   operations since (create, rename, unlink).
3. :func:`crash_states` builds, at each crash point, states a power cut may legally leave: every unsynced
   operation dropped; all kept; a prefix kept with the next write torn at 512 B sectors; unsynced extensions
   zero-filled; unsynced sectors kept at random (reordering); each combined with the directory operations since
   the last directory fsync undone (none, all, or a prefix kept).

The model is stricter than ext4 ``data=ordered`` (which never shows zero-filled extensions and journals
directory operations in order) and cannot model a drive that lies about flushes.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

STRACE = "/usr/bin/strace"
SECTOR = 512
CALLS = ("open,openat,creat,close,read,readv,write,pwrite64,writev,pwritev,pwritev2,lseek,fsync,fdatasync,"
         "sync,syncfs,sync_file_range,ftruncate,truncate,fallocate,rename,renameat,renameat2,unlink,unlinkat,"
         "mkdir,mkdirat,rmdir,dup,dup2,dup3,fcntl,mmap,msync,copy_file_range,sendfile,link,linkat")


class UnmodelledError(RuntimeError):
    """The trace holds an operation the model cannot replay (e.g. a shared writable mmap of a WAL file)."""


def record(argv: list[str], trace: Path, *, timeout: float = 120.0, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` under strace, writing the trace to ``trace``."""
    cmd = [STRACE, "-f", "-qq", "-s", "0", "-xx", "-e", f"trace={CALLS}", "-e", "write=all", "-o", str(trace),
           *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env)


# ---------------------------------------------------------------- parsing

_LINE = re.compile(r"^(\d+) +(\w+)\((.*)\) += (-?\d+|\?)(?: (\w+) \(.*\))?.*$")
_UNFINISHED = re.compile(r"^(\d+) +(\w+)\((.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^(\d+) +<\.\.\. (\w+) resumed>(.*)\) += (-?\d+|\?)(?: (\w+) \(.*\))?.*$")
_DUMP = re.compile(r"^ \| ([0-9a-f]{5,})  ")  # then 49 columns of hex (16 bytes, 8+8), then the ASCII column
_STR = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')


@dataclass
class Call:
    pid: int
    name: str
    args: list[str]
    ret: int | None
    data: bytearray = field(default_factory=bytearray)


def _split_args(s: str) -> list[str]:
    out, depth, cur, q = [], 0, [], False
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            cur.append(c)
            if c == "\\":
                cur.append(s[i + 1])
                i += 1
            elif c == '"':
                q = False
        elif c == '"':
            q = True
            cur.append(c)
        elif c in "[{(":
            depth += 1
            cur.append(c)
        elif c in "]})":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur:
        out.append("".join(cur).strip())
    return out


def unhex(arg: str) -> bytes:
    m = _STR.search(arg)
    if m is None:
        raise UnmodelledError(f"not a string argument: {arg!r}")
    return bytes.fromhex(m.group(1).replace("\\x", ""))


def parse(trace: Path) -> list[Call]:
    """The calls of a trace, in completion order, with the bytes of every write."""
    calls: list[Call] = []
    pending: dict[int, tuple[str, str]] = {}
    last: Call | None = None
    with open(trace, encoding="ascii", errors="replace") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if line.startswith(" | "):
                m = _DUMP.match(line)
                if m and last is not None:
                    last.data += bytes.fromhex(line[m.end(): m.end() + 49])
                continue
            if line.startswith(" * "):
                continue
            m = _UNFINISHED.match(line)
            if m:
                pending[int(m.group(1))] = (m.group(2), m.group(3))
                last = None
                continue
            m = _RESUMED.match(line)
            if m:
                pid = int(m.group(1))
                name, head = pending.pop(pid, (m.group(2), ""))
                rest = m.group(3)
                args_s = head + rest
                ret = None if m.group(4) == "?" else int(m.group(4))
                last = Call(pid, name, _split_args(args_s), ret)
                calls.append(last)
                continue
            m = _LINE.match(line)
            if m:
                ret = None if m.group(4) == "?" else int(m.group(4))
                last = Call(int(m.group(1)), m.group(2), _split_args(m.group(3)), ret)
                calls.append(last)
                continue
            last = None
    return calls


# ---------------------------------------------------------------- the model


@dataclass
class Inode:
    ino: int
    content: bytearray = field(default_factory=bytearray)
    durable: bytes = b""
    ops: list[tuple] = field(default_factory=list)  # since the last fsync: ("w", off, data) | ("t", size)


@dataclass
class Fd:
    kind: str  # "file" | "dir"
    path: str
    inode: Inode | None
    pos: list[int]  # shared between dup'ed fds
    append: bool = False


@dataclass
class Event:
    index: int
    what: str
    acked: int  # highest seq ACKed so far (visible to the outside world)


class Model:
    """Replays file operations under ``root`` (a directory, initially holding ``initial`` files, durable)."""

    def __init__(self, root: Path, initial: dict[str, bytes] | None = None, volatile: tuple[str, ...] = ()
                 ) -> None:
        self.volatile = volatile  # name suffixes whose shared mmaps are allowed (e.g. SQLite's -shm)
        self.root = os.path.normpath(str(root))
        self.next_ino = 1
        self.names: dict[str, Inode] = {}
        for name, data in (initial or {}).items():
            ino = self._new()
            ino.content = bytearray(data)
            ino.durable = bytes(data)
            self.names[name] = ino
        self.durable_names: dict[str, Inode] = dict(self.names)
        self.dir_ops: list[tuple] = []  # since the last directory fsync: ("link", name, inode) | ("unlink", name)
        self.fds: dict[int, Fd] = {}
        self.cwd = self.root
        self.stdout = bytearray()
        self.acked = 0
        self.unmodelled: list[str] = []

    def _new(self) -> Inode:
        ino = Inode(self.next_ino)
        self.next_ino += 1
        return ino

    def _rel(self, path: str, dirfd: str = "AT_FDCWD") -> str | None:
        """The name inside root of ``path`` ("" for root itself), or None when outside root."""
        if not path.startswith("/"):
            base = self.cwd
            if dirfd not in ("AT_FDCWD", ""):
                fd = self.fds.get(int(dirfd))
                if fd is None:
                    return None
                base = fd.path
            path = os.path.join(base, path)
        path = os.path.normpath(path)
        if path == self.root:
            return ""
        if path.startswith(self.root + "/"):
            rel = path[len(self.root) + 1:]
            if "/" in rel:
                self.unmodelled.append(f"subdirectory path {rel}")
            return rel
        return None

    # file content operations -------------------------------------------------
    @staticmethod
    def _write(ino: Inode, off: int, data: bytes) -> None:
        end = off + len(data)
        if len(ino.content) < off:
            ino.content.extend(b"\0" * (off - len(ino.content)))
        ino.content[off:end] = data
        ino.ops.append(("w", off, bytes(data)))

    @staticmethod
    def _truncate(ino: Inode, size: int) -> None:
        if size < len(ino.content):
            del ino.content[size:]
        else:
            ino.content.extend(b"\0" * (size - len(ino.content)))
        ino.ops.append(("t", size))

    def _link(self, name: str, ino: Inode) -> None:
        self.names[name] = ino
        self.dir_ops.append(("link", name, ino))

    def _unlink(self, name: str) -> None:
        self.names.pop(name, None)
        self.dir_ops.append(("unlink", name))

    def apply(self, c: Call) -> str | None:
        """Apply one call; returns a short description when it changed the model (a crash point)."""
        if c.ret is None or c.ret < 0:
            return None
        n, a = c.name, c.args
        if n in ("open", "openat", "creat"):
            if n == "openat":
                dirfd, path, flags = a[0], unhex(a[1]).decode(), a[2]
            elif n == "open":
                dirfd, path, flags = "AT_FDCWD", unhex(a[0]).decode(), a[1]
            else:
                dirfd, path, flags = "AT_FDCWD", unhex(a[0]).decode(), "O_WRONLY|O_CREAT|O_TRUNC"
            rel = self._rel(path, dirfd)
            self.fds.pop(c.ret, None)
            if rel is None:
                return None
            if rel == "" or "O_DIRECTORY" in flags:
                self.fds[c.ret] = Fd("dir", os.path.join(self.root, rel) if rel else self.root, None, [0])
                return None
            ino = self.names.get(rel)
            made = None
            if ino is None:
                if "O_CREAT" not in flags:
                    raise UnmodelledError(f"open of {rel} not in the model without O_CREAT")
                ino = self._new()
                self._link(rel, ino)
                made = f"create {rel}"
            if "O_TRUNC" in flags and ino.content:
                self._truncate(ino, 0)
                made = made or f"truncate {rel}"
            self.fds[c.ret] = Fd("file", os.path.join(self.root, rel), ino, [0], "O_APPEND" in flags)
            return made
        if n == "close":
            self.fds.pop(int(a[0]), None)
            return None
        if n in ("dup", "dup2", "dup3") or (n == "fcntl" and "F_DUPFD" in a[1]):
            src = self.fds.get(int(a[0]))
            if src is not None:
                self.fds[c.ret] = src
            else:
                self.fds.pop(c.ret, None)
            return None
        if n in ("write", "pwrite64", "writev", "pwritev", "pwritev2"):
            fdn = int(a[0])
            if len(c.data) != c.ret:
                raise UnmodelledError(f"{n} on fd {fdn}: {len(c.data)} bytes dumped, {c.ret} written")
            data = bytes(c.data)
            if fdn == 1:
                self.stdout += data
                while b"\n" in self.stdout:
                    ln, _, rest = bytes(self.stdout).partition(b"\n")
                    self.stdout = bytearray(rest)
                    if ln.startswith(b"ACK "):
                        self.acked = max(self.acked, int(ln.split()[1]))
                        return f"ack {self.acked}"
                return None
            fd = self.fds.get(fdn)
            if fd is None or fd.inode is None:
                return None
            if n in ("pwrite64", "pwritev", "pwritev2"):
                off = int(a[-1] if n == "pwrite64" else a[3])
            else:
                off = len(fd.inode.content) if fd.append else fd.pos[0]
                fd.pos[0] = off + c.ret
            self._write(fd.inode, off, data)
            return f"{n} {os.path.basename(fd.path)} @{off}+{len(data)}"
        if n in ("read", "readv"):
            fd = self.fds.get(int(a[0]))
            if fd is not None:
                fd.pos[0] += c.ret
            return None
        if n == "lseek":
            fd = self.fds.get(int(a[0]))
            if fd is not None:
                fd.pos[0] = c.ret
            return None
        if n in ("fsync", "fdatasync"):
            fd = self.fds.get(int(a[0]))
            if fd is None:
                return None
            if fd.kind == "dir":
                self.durable_names = dict(self.names)
                self.dir_ops.clear()
                return "fsync dir"
            assert fd.inode is not None
            fd.inode.durable = bytes(fd.inode.content)
            fd.inode.ops.clear()
            return f"{n} {os.path.basename(fd.path)}"
        if n in ("sync", "syncfs"):
            for ino in self.names.values():
                ino.durable = bytes(ino.content)
                ino.ops.clear()
            self.durable_names = dict(self.names)
            self.dir_ops.clear()
            return n
        if n == "ftruncate":
            fd = self.fds.get(int(a[0]))
            if fd is None or fd.inode is None:
                return None
            self._truncate(fd.inode, int(a[1]))
            return f"ftruncate {os.path.basename(fd.path)} {a[1]}"
        if n == "truncate":
            rel = self._rel(unhex(a[0]).decode())
            if rel is None or rel not in self.names:
                return None
            self._truncate(self.names[rel], int(a[1]))
            return f"truncate {rel}"
        if n == "fallocate":
            fd = self.fds.get(int(a[0]))
            if fd is None or fd.inode is None:
                return None
            mode, off, ln = a[1], int(a[2]), int(a[3])
            if "PUNCH_HOLE" in mode or "ZERO_RANGE" in mode or "COLLAPSE" in mode or "INSERT" in mode:
                raise UnmodelledError(f"fallocate mode {mode}")
            if "KEEP_SIZE" not in mode and off + ln > len(fd.inode.content):
                self._truncate(fd.inode, off + ln)
                return f"fallocate {os.path.basename(fd.path)} {off}+{ln}"
            return None
        if n in ("rename", "renameat", "renameat2"):
            if n == "rename":
                src, dst = self._rel(unhex(a[0]).decode()), self._rel(unhex(a[1]).decode())
            else:
                src, dst = self._rel(unhex(a[1]).decode(), a[0]), self._rel(unhex(a[3]).decode(), a[2])
            if src is None and dst is None:
                return None
            if src is None or dst is None:
                raise UnmodelledError(f"rename across the root: {a}")
            ino = self.names.get(src)
            if ino is None:
                raise UnmodelledError(f"rename of unknown {src}")
            self._unlink(src)
            self._link(dst, ino)
            return f"rename {src} -> {dst}"
        if n in ("unlink", "unlinkat", "rmdir"):
            rel = self._rel(unhex(a[0]).decode()) if n != "unlinkat" else self._rel(unhex(a[1]).decode(), a[0])
            if rel is None or rel == "":
                return None
            if rel in self.names:
                self._unlink(rel)
                return f"unlink {rel}"
            return None
        if n in ("link", "linkat", "mkdir", "mkdirat", "copy_file_range", "sendfile"):
            paths = [x for x in a if x.startswith('"')]
            if any(self._rel(unhex(p).decode()) is not None for p in paths) or n in ("copy_file_range",
                                                                                  "sendfile"):
                fd_targets = [self.fds.get(int(x)) for x in a if x.isdigit()]
                if paths or any(f is not None for f in fd_targets):
                    self.unmodelled.append(f"{n}{tuple(a)}")
            return None
        if n == "mmap":
            if len(a) >= 5 and "PROT_WRITE" in a[2] and "MAP_SHARED" in a[3] and a[4].lstrip("-").isdigit():
                fd = self.fds.get(int(a[4]))
                if fd is not None and fd.inode is not None and not fd.path.endswith(self.volatile):
                    raise UnmodelledError(f"shared writable mmap of {fd.path}: writes through it are not traced")
            return None
        return None

    # crash states -------------------------------------------------------------
    def namespace(self, keep_dir_ops: int) -> dict[str, Inode]:
        names = dict(self.durable_names)
        for op in self.dir_ops[:keep_dir_ops]:
            if op[0] == "link":
                names[op[1]] = op[2]
            else:
                names.pop(op[1], None)
        return names


def _content(ino: Inode, how: str, rng: random.Random) -> bytes:
    """The bytes of ``ino`` after a power cut, keeping its unsynced operations as ``how`` says."""
    buf = bytearray(ino.durable)
    if how == "drop" or not ino.ops:
        return bytes(buf)
    if how == "all":
        return bytes(ino.content)
    ops = ino.ops
    if how == "zero":  # every unsynced range reads as zeros, sizes as they are now
        out = bytearray(ino.durable[: len(ino.content)])
        out.extend(b"\0" * (len(ino.content) - len(out)))
        return bytes(out)
    if how == "torn":  # a prefix of the operations, then the next write cut at a sector boundary
        k = rng.randrange(len(ops))
        for op in ops[:k]:
            _apply_op(buf, op)
        op = ops[k]
        if op[0] == "w":
            _, off, data = op
            cut = rng.choice(sorted({0, len(data)} | {s - off for s in range((off // SECTOR + 1) * SECTOR,
                                                                             off + len(data), SECTOR)}))
            _apply_op(buf, ("w", off, data[:cut]))
        return bytes(buf)
    if how == "reorder":  # each unsynced sector of each write survives or not; sizes grow as far as kept
        keep_p = rng.random()
        for op in ops:
            if op[0] == "t":
                if rng.random() < keep_p:
                    _apply_op(buf, op)
                continue
            _, off, data = op
            pos = off
            while pos < off + len(data):
                nxt = min(off + len(data), (pos // SECTOR + 1) * SECTOR)
                if rng.random() < keep_p:
                    _apply_op(buf, ("w", pos, data[pos - off: nxt - off]))
                pos = nxt
        return bytes(buf)
    raise ValueError(how)


def _apply_op(buf: bytearray, op: tuple) -> None:
    if op[0] == "t":
        size = op[1]
        if size < len(buf):
            del buf[size:]
        else:
            buf.extend(b"\0" * (size - len(buf)))
        return
    _, off, data = op
    if len(buf) < off:
        buf.extend(b"\0" * (off - len(buf)))
    buf[off: off + len(data)] = data


@dataclass
class CrashState:
    index: int  # crash after this many model-changing events
    what: str  # the last event before the crash
    acked: int
    files: dict[str, bytes]
    how: str


def crash_states(calls: list[Call], root: Path, initial: dict[str, bytes] | None = None, *,
                 rng: random.Random, every: int = 1, variants: tuple[str, ...] = ("drop", "all", "torn", "zero"),
                 max_points: int | None = None, volatile: tuple[str, ...] = ()) -> Iterator[CrashState]:
    """Replay ``calls`` and yield power-cut states after model-changing events (every ``every``-th, or
    ``max_points`` spread evenly). Each point gets every content variant crossed with a choice of how many
    directory operations since the last directory fsync survive (none, all, a random prefix)."""
    model = Model(root, initial, volatile)
    points: list[int] = []
    events: list[str] = []
    # first pass: count the crash points
    probe = Model(root, initial, volatile)
    for c in calls:
        w = probe.apply(c)
        if w is not None:
            events.append(w)
    if probe.unmodelled:
        raise UnmodelledError("; ".join(probe.unmodelled[:5]))
    total = len(events)
    if max_points is not None and total > max_points:
        step = total / max_points
        points = sorted({int(i * step) for i in range(max_points)} | {total - 1})
    else:
        points = list(range(0, total, every))
    want = set(points)
    k = -1
    yield from _states_at(model, -1, "start", rng, variants) if -1 in want else ()
    for c in calls:
        w = model.apply(c)
        if w is None:
            continue
        k += 1
        if k in want:
            yield from _states_at(model, k, w, rng, variants)


def _states_at(model: Model, k: int, what: str, rng: random.Random, variants: tuple[str, ...]
               ) -> Iterator[CrashState]:
    nd = len(model.dir_ops)
    dir_choices = sorted({0, nd, rng.randint(0, nd)})
    for how in variants:
        for keep in dir_choices:
            names = model.namespace(keep)
            files = {name: _content(ino, how, rng) for name, ino in names.items()}
            yield CrashState(k, what, model.acked, files, f"{how}, {keep}/{nd} dir ops kept")


def materialize(state: CrashState, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=False)
    for name, data in state.files.items():
        (directory / name).write_bytes(data)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file of ``directory`` (flat) as bytes: the initial, durable state of a traced run."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}
