"""Argument preparation shared by the vectorised option APIs: broadcasting and call/put flags."""

from __future__ import annotations

from typing import Any

import numpy as np

from shrivenquant.errors import ValidationError

_CALL_WORDS = {"c": True, "call": True, "ce": True, "p": False, "put": False, "pe": False}


def as_flags(call: Any) -> np.ndarray:
    """Call/put flags as a bool array: ``True``/``False``, ``+1``/``-1``, or ``"c"``/``"p"`` (also
    ``"call"``, ``"put"``, Kite's ``"CE"``/``"PE"``), scalar or array."""
    a = np.asarray(call)
    if a.dtype == np.bool_:
        return a
    if a.dtype.kind in "iu":
        ok = (a == 1) | (a == -1)
        if not ok.all():
            bad = a[~ok].flat[0]
            raise ValidationError(f"call/put flag {bad!r}: expected +1 (call) or -1 (put), True/False or 'c'/'p'")
        return a == 1
    if a.dtype.kind in "UOS":
        flat = [str(v.decode() if isinstance(v, bytes) else v).lower() for v in a.ravel()]
        try:
            return np.array([_CALL_WORDS[v] for v in flat], dtype=np.bool_).reshape(a.shape)
        except KeyError as exc:
            raise ValidationError(
                f"call/put flag {exc.args[0]!r}: expected 'c'/'call'/'CE' or 'p'/'put'/'PE'") from None
    raise ValidationError(f"call/put flags of dtype {a.dtype}: expected bool, +1/-1 or 'c'/'p'")


def broadcast(*args: Any, names: tuple[str, ...]) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """The broadcast shape and each argument as a 1-D contiguous array of length n, or of length 1 (a
    scalar, broadcast inside the kernels without copying). Floats become float64, flags stay bool."""
    arrs = [np.asarray(a) for a in args]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrs))
    except ValueError:
        desc = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrs, strict=True))
        raise ValidationError(f"option inputs do not broadcast together: {desc}") from None
    out = []
    for given in arrs:
        a = given
        if a.dtype != np.bool_:
            if a.dtype.kind not in "fiu":
                raise ValidationError(f"numeric input expected, got dtype {a.dtype}")
            a = a.astype(np.float64, copy=False)
        if a.size == 1:
            out.append(a.reshape(1))
        elif a.shape == shape:
            out.append(np.ascontiguousarray(a).reshape(-1))
        else:
            out.append(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
    return shape, out


def first_bad(mask: np.ndarray) -> int:
    """Flat index of the first True in ``mask``."""
    return int(np.flatnonzero(mask.reshape(-1))[0])
