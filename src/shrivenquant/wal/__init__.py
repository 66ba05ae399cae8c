"""Write-ahead log: segmented, checksummed (CRC-32C), group-committed journal (see ``docs/wal.md``).

- :class:`WalWriter`: append bytes, msgspec structs, NumPy event arrays or record buffers; sync policies
  ``always`` (group commit), ``batch`` and ``none``; rotation, retention, fail-stop after I/O errors.
- :class:`WalReader`: replay records or event batches from a sequence number, tail a live directory.
- :func:`verify` checks a directory read-only; :func:`repair` cuts damage, keeping a copy.
"""

from shrivenquant.wal._format import Manifest
from shrivenquant.wal.reader import SegmentInfo, VerifyReport, WalReader, WalRecord, verify
from shrivenquant.wal.repair import RepairReport, repair
from shrivenquant.wal.writer import SyncPolicy, WalWriter

__all__ = [
    "Manifest",
    "RepairReport",
    "SegmentInfo",
    "SyncPolicy",
    "VerifyReport",
    "WalReader",
    "WalRecord",
    "WalWriter",
    "repair",
    "verify",
]
