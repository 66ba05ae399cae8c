"""A streaming k-way merge of event-chunk streams by a timestamp field (stable, memory-bounded)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ValidationError

__all__ = ["merge_chunks"]

_EMPTY = np.empty(0, dtype=EVENT_DTYPE)


def merge_chunks(streams: Iterable[Iterable[np.ndarray]], key: str = "ts_local",
                 names: Iterable[str] | None = None) -> Iterator[np.ndarray]:
    """Merge streams of EVENT_DTYPE chunks, each sorted by ``key``, into one stream sorted by ``key``.

    Ties are broken by stream order, then by order within the stream, whatever the chunk sizes (the
    output is the stable sort of the concatenated streams by ``key``). Only records below the smallest
    "last key" of the streams' current chunks are emitted at each step, so memory stays at about one
    chunk per stream. A stream that is not sorted by ``key`` raises :class:`ValidationError`.
    """
    its = [iter(s) for s in streams]
    labels = list(names) if names is not None else [f"stream {i}" for i in range(len(its))]
    k = len(its)
    bufs: list[np.ndarray] = [_EMPTY] * k
    done = [False] * k
    last = [np.iinfo(np.int64).min] * k

    def pull(i: int) -> None:
        """Append the next non-empty chunk of stream i to its buffer (or mark it done)."""
        for chunk in its[i]:
            if chunk.dtype != EVENT_DTYPE:
                raise ValidationError(f"{labels[i]}: chunk dtype {chunk.dtype} is not EVENT_DTYPE")
            if chunk.shape[0] == 0:
                continue
            ts = chunk[key]
            if ts[0] < last[i] or (ts.shape[0] > 1 and bool(np.any(ts[1:] < ts[:-1]))):
                raise ValidationError(f"cannot merge: {labels[i]} is not sorted by {key}")
            last[i] = int(ts[-1])
            bufs[i] = chunk if bufs[i].shape[0] == 0 else np.concatenate((bufs[i], chunk))
            return
        done[i] = True

    for i in range(k):
        pull(i)
    while True:
        live = [i for i in range(k) if not done[i]]
        bound = min((int(bufs[i][key][-1]) for i in live), default=None)
        pieces = []
        for i in range(k):
            b = bufs[i]
            if b.shape[0] == 0:
                continue
            j = b.shape[0] if bound is None else int(np.searchsorted(b[key], bound, side="left"))
            if j:
                pieces.append(b[:j])
                bufs[i] = b[j:]
        if pieces:
            if len(pieces) == 1:
                yield pieces[0]
            else:
                cat = np.concatenate(pieces)
                yield cat[np.argsort(cat[key], kind="stable")]
        if bound is None:
            return
        # streams whose buffer is used up to the bound need more data to move the bound on
        for i in live:
            if bufs[i].shape[0] == 0 or int(bufs[i][key][-1]) == bound:
                pull(i)
