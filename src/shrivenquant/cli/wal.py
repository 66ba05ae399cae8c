"""``shrivenquant wal verify | inspect | dump DIR``: check, describe and print a write-ahead-log directory.

Exit codes: 0 OK (a torn tail, which a writer's recovery would cut, is reported but is not an error),
3 corruption (the segment and byte offset are printed), 2 any other error (missing directory, bad
arguments).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["EXIT_CORRUPT", "add_wal_parser", "run_wal"]

EXIT_CORRUPT = 3


def add_wal_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``wal`` and its sub-commands on the main parser's sub-parsers."""
    wal = sub.add_parser(
        "wal",
        help="verify, inspect or dump a write-ahead-log directory",
        description="Read-only tools for a shrivenquant WAL directory (they never modify it). Exit status: "
        "0 OK, 3 corruption (segment and byte offset printed), 2 other errors.",
    )
    wsub = wal.add_subparsers(dest="wal_command", metavar="WAL_COMMAND")
    verify = wsub.add_parser("verify", help="check every segment and frame; exit 3 on corruption")
    verify.add_argument("directory", type=Path)
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    inspect = wsub.add_parser("inspect", help="manifest, segments, sequence ranges, frames and sizes")
    inspect.add_argument("directory", type=Path)
    inspect.add_argument("--frames", action="store_true", help="also list every frame")
    inspect.add_argument("--json", action="store_true", help="print as JSON")
    dump = wsub.add_parser("dump", help="print records as JSON lines (payload in hex, or decoded MessagePack)")
    dump.add_argument("directory", type=Path)
    dump.add_argument("--from", dest="from_seq", type=int, default=None, help="first sequence number")
    dump.add_argument("--limit", type=int, default=None, help="at most this many records")
    dump.add_argument("--msgpack", action="store_true",
                      help="decode payloads as MessagePack (records appended as msgspec structs)")


def run_wal(args: argparse.Namespace) -> int:
    """Run a ``wal`` sub-command; returns the exit code."""
    from shrivenquant.errors import WalCorruptionError, WalError

    if args.wal_command is None:
        print("shrivenquant wal: choose one of verify, inspect, dump", file=sys.stderr)
        return 2
    try:
        if args.wal_command == "verify":
            return _verify(args)
        if args.wal_command == "inspect":
            return _inspect(args)
        return _dump(args)
    except WalCorruptionError as exc:
        print(f"CORRUPT segment={exc.segment} offset={exc.offset} reason={exc.reason}", file=sys.stdout)
        print(f"shrivenquant wal {args.wal_command}: {exc}", file=sys.stderr)
        return EXIT_CORRUPT
    except WalError as exc:
        print(f"shrivenquant wal {args.wal_command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def _report_dict(rep: object) -> dict:
    import msgspec

    return msgspec.to_builtins(rep)


def _verify(args: argparse.Namespace) -> int:
    import orjson

    from shrivenquant.wal import verify

    rep = verify(args.directory)
    if args.json:
        sys.stdout.write(orjson.dumps(_report_dict(rep), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    torn = [s for s in rep.segments if s.torn_offset is not None]
    line = (f"OK {args.directory}: {len(rep.segments)} segment(s), seq {rep.first_seq}..{rep.last_seq} "
            f"({rep.records} records)")
    if torn:
        line += f"; torn tail in {torn[0].name} at byte {torn[0].torn_offset} ({torn[0].torn_reason})"
    print(line)
    return 0


def _frames(directory: Path, name: str, first: int) -> list[dict]:
    """The valid frames of one segment (``verify`` already judged the damage; a torn tail just ends it)."""
    import os

    from shrivenquant._native import wal as nw
    from shrivenquant.wal._scan import SegmentScan

    fd = os.open(directory / name, os.O_RDONLY)
    try:
        scan = SegmentScan(fd, name, first, last=True)
        return [{"offset": off, "size": total, "first_seq": fseq, "count": count,
                 "kind": "events64" if flags & nw.F_FIXED64 else "records", "synced_seq": synced}
                for _buf, _pos, off, total, fseq, count, flags, synced in scan.frames()]
    finally:
        os.close(fd)


def _inspect(args: argparse.Namespace) -> int:
    import orjson

    from shrivenquant.wal import verify

    rep = verify(args.directory)
    out = _report_dict(rep)
    if args.frames:
        for seg in out["segments"]:
            seg["frame_list"] = _frames(args.directory, seg["name"], seg["first_seq"])
    if args.json:
        sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    m = rep.manifest
    print(f"directory: {rep.directory}")
    if m is None:
        print("manifest: none (empty log)")
    else:
        closed = f"{m.closed_first}..{m.closed_next - 1}" if m.closed_first else "none"
        print(f"manifest: first segment seq {m.first_segment}, last closed segment {closed}, flags {m.flags}")
    print(f"records: {rep.records} (seq {rep.first_seq}..{rep.last_seq})")
    print(f"{'segment':<26} {'first':>12} {'last':>12} {'frames':>8} {'end':>12} {'size':>12}  tail")
    for s in rep.segments:
        tail = f"torn at {s.torn_offset}: {s.torn_reason}" if s.torn_offset is not None else "clean"
        print(f"{s.name:<26} {s.first_seq:>12} {s.last_seq:>12} {s.frames:>8} {s.end_offset:>12} {s.size:>12}  {tail}")
    if args.frames:
        for seg in out["segments"]:
            print(f"-- {seg['name']}")
            for f in seg["frame_list"]:
                print(f"   @{f['offset']:<12} size {f['size']:<10} seq {f['first_seq']}+{f['count']} {f['kind']} "
                      f"synced<={f['synced_seq']}")
    return 0


def _dump(args: argparse.Namespace) -> int:
    import msgspec
    import orjson

    from shrivenquant.wal import WalReader

    out = sys.stdout
    for n, rec in enumerate(WalReader(args.directory).records(args.from_seq)):
        if args.limit is not None and n >= args.limit:
            break
        row: dict[str, object] = {"seq": rec.seq, "segment": rec.segment, "offset": rec.offset,
                                  "len": len(rec.payload)}
        if args.msgpack:
            try:
                row["value"] = msgspec.msgpack.decode(rec.payload)
            except msgspec.DecodeError:
                row["hex"] = rec.payload.hex()
        else:
            row["hex"] = rec.payload.hex()
        out.write(orjson.dumps(row, default=str).decode() + "\n")
    return 0
