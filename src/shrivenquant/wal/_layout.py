"""The set of live segments of a WAL directory, checked against the manifest."""

from __future__ import annotations

import os
import time

from shrivenquant.errors import WalCorruptionError, WalError
from shrivenquant.wal._format import (
    MAN_SEGMENTS_CREATED,
    MANIFEST,
    Manifest,
    list_segments,
    read_manifest,
    segment_name,
)

__all__ = ["live_segments", "snapshot"]


def snapshot(directory: str) -> tuple[Manifest | None, list[tuple[int, str]]]:
    """A consistent (manifest, segment list) pair of a possibly live directory.

    The writer creates a segment before it names it in the manifest, and updates the manifest before it
    deletes segments, so a listing taken between two identical reads of the manifest is consistent.
    """
    if not os.path.isdir(directory):
        raise WalError(f"WAL directory {directory!r} does not exist")
    bad = 0
    for _ in range(50):
        try:
            m1 = read_manifest(directory)
            segs = list_segments(directory)
            m2 = read_manifest(directory)
        except WalCorruptionError:
            # the writer rewrites the manifest in place: a read racing that write can see a mix of the two
            # versions (a bad CRC); a damaged manifest stays damaged and is reported at the third read
            bad += 1
            if bad >= 3:
                raise
            time.sleep(0.0005)
            continue
        if m1 == m2:
            return m1, segs
    raise WalError(f"WAL directory {directory!r}: the manifest kept changing while listing segments")


def live_segments(manifest: Manifest | None, segs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The segments at or above the low-water mark; WalCorruptionError if the manifest says a segment
    should exist that does not (a missing first segment, or the segment after the last closed one)."""
    if manifest is None:
        if segs:
            raise WalCorruptionError(
                f"WAL corruption: segment files ({segs[0][1]}, ...) but no {MANIFEST}", segment=MANIFEST,
                offset=0, reason="manifest missing")
        return []
    live = [s for s in segs if s[0] >= manifest.first_segment]
    firsts = {s[0] for s in live}
    if manifest.flags & MAN_SEGMENTS_CREATED and manifest.first_segment not in firsts:
        name = segment_name(manifest.first_segment)
        raise WalCorruptionError(f"WAL corruption: first segment {name} (the manifest's low-water mark) is "
                                 "missing", segment=name, offset=0, reason="missing first segment")
    for first in (manifest.closed_first, manifest.closed_next):
        if first and first not in firsts:
            name = segment_name(first)
            raise WalCorruptionError(f"WAL corruption: segment {name}, named by the manifest, is missing",
                                     segment=name, offset=0, reason="missing segment")
    return live
