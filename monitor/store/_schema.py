"""The store document's shape and versions: what a readable store looks like, and the migrations that lift
an older one to ours. The private helper of ``store._batching`` and ``store._file``.

Each document carries ``meta.schema_version``. An older document is migrated in memory on read (the store
writes it back, after keeping a copy of the older file); a newer one, or one not shaped like TinyDB's tables,
raises StoreError and is never written to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import StoreError

Document = dict[str, dict[str, dict[str, Any]]]

SCHEMA_VERSION = 1
# In file order: the small tables a reader looks at first, the two long ones last.
TABLES = ("meta", "feeds", "metrics", "alerts", "articles", "figures")


def unreadable(path: Path, detail: str) -> StoreError:
    """The error for a file that is not a store we can read; the caller must not write to it."""
    return StoreError(f"store: {path} is not a readable store ({detail}); fix or move it")


def new_document() -> Document:
    """An empty store at the current schema version."""
    return {"meta": {"1": {"revision": 0, "schema_version": SCHEMA_VERSION}}} | {t: {} for t in TABLES[1:]}


def _v0_to_v1(doc: Document) -> Document:
    """Version 0 is a bare TinyDB file (as ``TinyDB(path)`` leaves it): give it our tables and a meta row."""
    migrated = new_document()
    migrated.update({name: rows for name, rows in doc.items() if name in TABLES})
    return migrated


# schema version → the function that lifts a document from it to the next version.
MIGRATIONS: dict[int, Callable[[Document], Document]] = {0: _v0_to_v1}


def schema_version(doc: Mapping[str, Any]) -> int:
    """The document's schema version: 0 when it has no meta table. Raises ValueError for a malformed meta."""
    if "meta" not in doc:
        return 0
    version = doc["meta"].get("1", {}).get("schema_version")
    if type(version) is not int or version < 1:
        raise ValueError(f"meta.schema_version is {version!r}, not a version number")
    return version


def migrate(
    doc: Document,
    *,
    migrations: Mapping[int, Callable[[Document], Document]] = MIGRATIONS,
    to: int = SCHEMA_VERSION,
) -> Document:
    """``doc`` lifted one version at a time to version ``to`` (returned as it is when already there)."""
    version = schema_version(doc)
    while version < to:
        if version not in migrations:
            raise StoreError(f"store: no migration from schema version {version} (this is a bug)")
        doc = migrations[version](doc)
        version, before = schema_version(doc), version
        if version <= before:
            raise StoreError(f"store: migrating from schema version {before} did not advance (this is a bug)")
    return doc


def check_document(path: Path, doc: Any) -> tuple[Document, int]:
    """(the document at our version, every table present and meta first; the version it was found at).

    Raises StoreError for anything but TinyDB's shape (an object of tables, each an object of numbered rows,
    each an object), for a version newer than ours, and for an unversioned file holding others' tables.
    """
    if not isinstance(doc, dict):
        raise unreadable(path, f"the top level is {_kind(doc)}, not an object of tables")
    for name, table in doc.items():
        if not isinstance(table, dict):
            raise unreadable(path, f"table {name!r} is {_kind(table)}, not an object of rows")
        bad = next((k for k, row in table.items() if type(row) is not dict or not k.isdigit()), None)
        if bad is not None:
            raise unreadable(path, f"{name} row {bad!r} is not an object with a numeric id")
    try:
        found = schema_version(doc)
    except (AttributeError, ValueError) as exc:
        raise unreadable(path, str(exc)) from None
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"store: {path} has schema version {found}, newer than this gba-monitor reads "
            f"({SCHEMA_VERSION}); "
            "upgrade gba-monitor, or point storage.path at another file"
        )
    if found == 0:  # a bare TinyDB file is ours to migrate only when it holds nothing but our tables
        foreign = sorted(set(doc) - set(TABLES) - {"_default"})
        foreign = foreign or (["_default"] if doc.get("_default") else [])
        if foreign:
            raise unreadable(path, f"no meta table, and tables {foreign} are not gba-monitor's")
    doc = migrate(doc)
    if list(doc)[: len(TABLES)] != list(TABLES):
        doc = {name: doc.get(name, {}) for name in TABLES} | doc
    return doc, found


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", type(None): "null"}.get(type(value), f"a {type(value).__name__}")
