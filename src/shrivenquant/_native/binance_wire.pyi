"""Type stubs for ``shrivenquant._native.binance_wire`` (compiled from ``src/_native/binance_wire.pyx``)."""

from collections.abc import Mapping, Sequence
from typing import Any, final

import numpy as np
import numpy.typing as npt

from shrivenquant._native.fixed import Rounding

DONE: int
UNHANDLED: int
ERROR: int
FULL: int
MESSAGE_TYPES: tuple[str, ...]

@final
class BinanceWireDecoder:
    def __init__(
        self,
        symbols: Mapping[str, tuple[int, int, int]] | None = None,
        *,
        default_symbol: str | None = None,
        mark_rounding: Rounding | int | None = ...,
    ) -> None: ...
    def add_symbol(self, symbol: str, instrument_id: int, price_precision: int, size_precision: int) -> None: ...
    @property
    def symbols(self) -> dict[str, tuple[int, int, int]]: ...
    @property
    def default_symbol(self) -> str | None: ...
    @default_symbol.setter
    def default_symbol(self, value: str | None) -> None: ...
    @property
    def last_error(self) -> str: ...
    @property
    def last_unhandled(self) -> str: ...
    @property
    def records_needed(self) -> int: ...
    def take_stats(self) -> dict[str, Any]: ...
    def decode_into(self, payload: bytes, ts_local: int, out: np.ndarray, pos: int = 0) -> int: ...
    def decode_batch(
        self,
        lines: Sequence[bytes | None],
        ts_locals: npt.ArrayLike,
        start: int,
        out: np.ndarray,
        pos: int,
    ) -> tuple[int, int, int]: ...
    def decode_lines(self, lines: Sequence[bytes], ts_locals: npt.ArrayLike) -> np.ndarray: ...
    def scan_hftbacktest(
        self, data: bytes, offset: int, line: int, out: np.ndarray, pos: int
    ) -> tuple[int, int, int, int]: ...
    def decode_hftbacktest_buffer(self, data: bytes) -> tuple[np.ndarray, dict[str, Any]]: ...
