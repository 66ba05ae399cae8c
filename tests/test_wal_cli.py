"""``shrivenquant wal verify | inspect | dump``: output and exit codes (0 OK, 3 corruption, 2 error)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from shrivenquant.cli.main import main
from shrivenquant.wal import WalWriter


class Fill(msgspec.Struct):
    order: int
    px: str


@pytest.fixture
def log(tmp_path: Path) -> Path:
    d = tmp_path / "wal"
    with WalWriter(d, sync="none", segment_bytes=4096) as w:
        for i in range(60):
            w.append(b"rec-%03d" % i * 16)
            if i % 10 == 9:
                w.commit()  # later frames then prove the earlier ones durable (damage there is corruption)
        w.append(Fill(7, "101.5"))
    return d


def test_verify_ok_and_json(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wal", "verify", str(log)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and "seq 1..61 (61 records)" in out
    assert main(["wal", "verify", "--json", str(log)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["last_seq"] == 61 and len(rep["segments"]) >= 2 and rep["torn"] is False


def test_verify_reports_torn_tail_as_ok(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    last = sorted(p for p in log.iterdir() if p.suffix == ".wal")[-1]
    with open(last, "ab") as f:
        f.write(b"\x01" * 50)
    assert main(["wal", "verify", str(log)]) == 0
    assert "torn tail in" in capsys.readouterr().out


def test_verify_corruption_exit_code_names_segment_and_offset(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = sorted(p for p in log.iterdir() if p.suffix == ".wal")[0]
    data = bytearray(first.read_bytes())
    data[40] ^= 0xFF
    first.write_bytes(bytes(data))
    assert main(["wal", "verify", str(log)]) == 3
    out = capsys.readouterr().out
    assert f"segment={first.name} offset=32" in out and "checksum" in out
    assert main(["wal", "dump", str(log)]) == 3


def test_inspect_text_json_frames(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wal", "inspect", str(log)]) == 0
    out = capsys.readouterr().out
    assert "manifest: first segment seq 1" in out and "00000000000000000001.wal" in out
    assert main(["wal", "inspect", "--frames", "--json", str(log)]) == 0
    rep = json.loads(capsys.readouterr().out)
    frames = [f for s in rep["segments"] for f in s["frame_list"]]
    assert sum(f["count"] for f in frames) == 61
    assert frames[0]["offset"] == 32 and frames[0]["first_seq"] == 1
    assert all(b["first_seq"] == a["first_seq"] + a["count"] for a, b in itertools.pairwise(frames))
    assert main(["wal", "inspect", "--frames", str(log)]) == 0
    assert "synced<=" in capsys.readouterr().out


def test_dump_hex_msgpack_from_limit(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wal", "dump", "--from", "59", str(log)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["seq"] for r in rows] == [59, 60, 61]
    assert bytes.fromhex(rows[0]["hex"]) == b"rec-058" * 16
    assert main(["wal", "dump", "--from", "61", "--msgpack", str(log)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["value"] == {"order": 7, "px": "101.5"}
    assert main(["wal", "dump", "--limit", "2", str(log)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wal", "verify", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["wal"]) == 2


def test_cli_never_modifies_directory(log: Path) -> None:
    with open(sorted(p for p in log.iterdir() if p.suffix == ".wal")[-1], "ab") as f:
        f.write(os.urandom(64))
    before = {p.name: p.read_bytes() for p in log.iterdir()}
    for cmd in (["verify"], ["inspect", "--frames"], ["dump"]):
        r = subprocess.run([sys.executable, "-m", "shrivenquant", "wal", *cmd, str(log)], capture_output=True,
                           check=False, timeout=120)
        assert r.returncode == 0, r.stderr
    assert {p.name: p.read_bytes() for p in log.iterdir()} == before
