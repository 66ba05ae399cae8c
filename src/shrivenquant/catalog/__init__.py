"""Data catalog: event records as Parquet, partitioned by venue / instrument / day, with the instrument
table stored beside them so the raw integers keep their meaning.

``import shrivenquant.catalog`` does not import pyarrow; the first write or read does. Layout, API and
measured figures: ``docs/catalog.md``.
"""

from shrivenquant.catalog._arrow import (
    batch_to_events,
    event_schema,
    events_to_records,
    events_to_table,
    records_to_events,
    table_to_events,
)
from shrivenquant.catalog.importers import (
    binance_venue_from_name,
    import_binance,
    import_databento_mbo,
    import_lobster,
)
from shrivenquant.catalog.instruments import CatalogInstrument, InstrumentTable
from shrivenquant.catalog.layout import Partition
from shrivenquant.catalog.merge import merge_chunks
from shrivenquant.catalog.store import Catalog, CatalogWriter, PartitionInfo, WriteStats

__all__ = [
    "Catalog",
    "CatalogInstrument",
    "CatalogWriter",
    "InstrumentTable",
    "Partition",
    "PartitionInfo",
    "WriteStats",
    "batch_to_events",
    "binance_venue_from_name",
    "event_schema",
    "events_to_records",
    "events_to_table",
    "import_binance",
    "import_databento_mbo",
    "import_lobster",
    "merge_chunks",
    "records_to_events",
    "table_to_events",
]
