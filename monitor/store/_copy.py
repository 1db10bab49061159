"""``store migrate`` and ``store info``: a store copied whole to another engine, and what a store holds;
the scratch copy a dry run works on."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import cast

from ..errors import StoreError
from ..settings import StorageSettings
from ._open import describe, open_store
from ._protocol import COPIED_TABLES, CopyableStore, StoreInfo


def _open(storage: StorageSettings) -> CopyableStore:
    return cast(CopyableStore, open_store(storage, max_connections=1))  # both engines are copyable


def store_info(storage: StorageSettings) -> StoreInfo:
    """The store's engine, place, schema version, rows per table and size; StoreError when there is none."""
    if not storage.url and not storage.path.exists():
        raise StoreError(f"store: {storage.path} does not exist yet (nothing has been stored)")
    with _open(storage) as store:
        return store.info()


def copy_store(source: StorageSettings, target: StorageSettings) -> dict[str, int]:
    """Copy every row of ``source`` into the empty store ``target`` (either engine to either), then count
    both: StoreError unless every table holds as many rows in both. Returns the rows copied per table."""
    if describe(source) == describe(target):
        raise StoreError(f"store: {describe(target)} is the store being copied; name another one")
    with _open(source) as reader, _open(target) as writer:
        already = {t: n for t, n in writer.info().rows.items() if n}
        if already:
            rows = sum(already.values())
            raise StoreError(f"store: {describe(target)} is not empty ({rows} rows); copy into a new store")
        tables = {table: reader.table_rows(table) for table in COPIED_TABLES}
        writer.load_rows(tables)
        copied = {table: len(rows) for table, rows in tables.items()}
        counted = writer.info().rows
    if counted != copied:
        raise StoreError(f"store: copy to {describe(target)} holds {counted} rows, not {copied}")
    return copied


def scratch_copy(storage: StorageSettings, path: Path) -> StorageSettings:
    """The settings of a throwaway copy of the store, a TinyDB file at ``path`` (for a dry run): a file is
    copied as is, a database row by row; nothing at all when nothing has been stored yet."""
    scratch = replace(storage, path=path, url=None)
    if storage.url:
        copy_store(storage, scratch)
    elif storage.path.exists():
        shutil.copyfile(storage.path, path)
    return scratch
