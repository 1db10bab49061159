"""Feed states, articles, figures, metrics and the alert outbox, behind one interface and two engines.

``MonitorStore`` (``_protocol``) is what the rest of the code may ask of a store; ``open_store`` picks the
engine from the settings: a TinyDB file (``storage.path``, the default) or a PostgreSQL database
(``storage.url``). No module outside this package knows which one runs.

TinyDB engine: ``_store`` is its ``Store``, on ``TinyDB(path, storage=BatchingMiddleware(AtomicJSONStorage))``
(``_batching``: the document in memory, one atomic write per poll shared by threads; ``_file``: the atomic
orjson storage); ``_writes`` hands a change's rows to TinyDB's tables; ``_lookups`` keeps the doc_id maps a
poll's look-ups use; ``_schema`` migrates older files.
PostgreSQL engine: ``_postgres`` (reads, the pool), ``_pg_writes`` (a poll's transaction), ``_pg_claims``
(several workers), ``_pg_schema`` (versioned migrations). Both turn records into the same rows with
``_rows`` and ``_edits``; ``_copy`` copies a store from one engine to the other. ``_heartbeat`` is the
scheduler's heartbeat file, beside ``storage.path`` whatever the engine (``read_heartbeat`` reads it without
opening the store).
"""

from typing import TYPE_CHECKING, Any

from ._heartbeat import read_heartbeat
from ._open import describe, has_store, open_store, storage_at
from ._protocol import MonitorStore, Staged, StoreInfo

if TYPE_CHECKING:
    from ._copy import copy_store, scratch_copy, store_info
    from ._file import AtomicJSONStorage
    from ._schema import SCHEMA_VERSION
    from ._store import Store


def __getattr__(name: str) -> Any:
    """The TinyDB engine's names, loaded on first use: a command on a PostgreSQL store never loads TinyDB;
    nor the copying of ``store info``, ``store migrate`` and dry runs, which no query needs."""
    if name in ("copy_store", "scratch_copy", "store_info"):
        from . import _copy

        return getattr(_copy, name)
    if name == "Store":
        from ._store import Store

        return Store
    if name == "AtomicJSONStorage":
        from ._file import AtomicJSONStorage

        return AtomicJSONStorage
    if name == "SCHEMA_VERSION":
        from ._schema import SCHEMA_VERSION

        return SCHEMA_VERSION
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "AtomicJSONStorage",
    "MonitorStore",
    "Staged",
    "Store",
    "StoreInfo",
    "copy_store",
    "describe",
    "has_store",
    "open_store",
    "read_heartbeat",
    "scratch_copy",
    "storage_at",
    "store_info",
]
