"""The store's document as the threads of one process share it. The private helper of ``store``.

Every change is a read-modify-write of the whole document under a file lock (``<store>.lock``): the file is
read again first when another process replaced it (a long-lived in-memory copy would lose its updates), then
written whole, atomically (``store._file``). A change is staged first: made in memory, where every later read
in this process sees it at once, then written by the next write, which carries every change staged by then.
Threads saving at once so share one write: a poll of 200 feeds makes a few dozen writes of the whole file, not
200. The file lock is held from the first staged change until none waits for the disk, so no other process
writes meanwhile; readers take no lock, since the file is only ever replaced whole.

Lookups (``store._rows.Index``) are built once per loaded version of the file and kept current by our own
changes. One threading.RLock guards the document, the lookups and the bookkeeping.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import StoreError
from ._file import PRIVATE_MODE, AtomicJSONStorage
from ._rows import Index, Row
from ._schema import SCHEMA_VERSION, Document, new_document

LOCK_TIMEOUT_S = 60.0  # a write of 100,000 figures takes well under a second; a minute means a stuck process


@dataclass(slots=True)
class Change:
    """The document and lookups a change edits in place, and the ticket it gets once staged."""

    doc: Document
    index: Index
    ticket: int = 0


class SharedDocument:
    """One store file's document, loaded, changed and written on behalf of every thread of the process.

    Opening it creates the file (or migrates an older one, keeping a backup), or raises StoreError for a
    broken or newer file, which it leaves untouched."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._storage = AtomicJSONStorage(path, immutable_rows=True, index=("figures", "metric"))
        # Not thread-local: the thread that stages a change may not be the one whose write settles it.
        self._file_lock = FileLock(
            f"{path}.lock", timeout=LOCK_TIMEOUT_S, mode=PRIVATE_MODE, thread_local=False
        )
        self._file_locked = False
        self._flushing = threading.Lock()  # one write of the file at a time
        self._staged = self._saved = 0  # changes staged in memory / of those, the ones known to be on disk
        self._unsaved: Document | None = None  # the document holding staged changes not on disk yet
        self._dropped: dict[int, str] = {}  # staged changes a failed write lost → why
        self._index: Index | None = None
        self._indexed = -1  # the storage generation self._index describes
        self._swept = False
        with self.lock:
            if self._storage.indexed():
                return  # we wrote this file whole and at our version: no need to parse it now
            if self._storage.read() is None or self._storage.found_version < SCHEMA_VERSION:
                with self.writing(create=True):
                    pass
            self.load()  # checks every row the lookups rely on, so a broken file fails here

    def close(self) -> None:
        """Write what is staged, then let the file lock and the cached document go."""
        try:
            if self._staged > self._saved:
                self.settle(self._staged)
        finally:
            with self.lock:
                self._release_file()
                self._storage.close()
                self._index, self._indexed = None, -1

    # --- reading -------------------------------------------------------------------------------------------

    def load(self) -> tuple[Document, Index]:
        """The current document (read again only when the file changed) and its lookups. Hold ``lock``."""
        doc = self._storage.read()
        if doc is None:
            raise StoreError(f"store: {self.path} disappeared while in use; restart to create a new one")
        if self._index is None or self._indexed != self._storage.generation:
            self._index, self._indexed = Index(self.path, doc), self._storage.generation
        return doc, self._index

    @contextmanager
    def reading(self) -> Iterator[tuple[Document, Index]]:
        """Under the lock: the current document and its lookups, to read and not to change."""
        with self.lock:
            yield self.load()

    @property
    def loaded(self) -> bool:
        """True once the whole document was parsed (queries answered by offset leave it unparsed)."""
        return self._storage.cached

    def rows_where(self, metric: str) -> list[tuple[int, Row]] | None:
        """(id, row) of the metric's figures read by offset from a file this process has not loaded, when
        the file's index describes it (a CLI query then parses ~1% of it); else None."""
        return None if self.loaded else self._storage.rows_where(metric)

    def reindex(self, doc: Document) -> None:
        """Build the lookups again, after a change that removed rows (they only know how to add them)."""
        self._index = Index(self.path, doc)

    # --- changing ------------------------------------------------------------------------------------------

    @contextmanager
    def writing(self, *, create: bool = False) -> Iterator[tuple[Document, Index]]:
        """One change to the document, on disk (with any staged before it) when the block ends."""
        with self.changing(create=create) as change:
            yield change.doc, change.index
        self.settle(change.ticket)

    @contextmanager
    def changing(self, *, create: bool = False) -> Iterator[Change]:
        """Under the lock: the document to change in place. The change is then staged: every later read in
        this process sees it, and ``settle(change.ticket)`` returns once it is on disk.

        Rows are replaced, never mutated (the storage reuses the bytes of unchanged rows). On any error the
        cached document is dropped with every staged change: nothing half-changed survives in memory."""
        with self.lock:
            self._lock_file()
            try:
                if not self._swept:
                    self._storage.remove_temporaries()
                    self._swept = True
                if create and self._storage.read() is None:
                    doc = new_document()
                    self._index, self._indexed = Index(self.path, doc), -1
                else:
                    doc, _ = self.load()
                    self._back_up_older()
                assert self._index is not None
                change = Change(doc, self._index)
                yield change
                doc["meta"]["1"] = doc["meta"]["1"] | {"revision": doc["meta"]["1"].get("revision", 0) + 1}
            except BaseException as exc:
                self._drop(exc)
                raise
            self._unsaved = doc
            self._staged += 1
            change.ticket = self._staged

    def settle(self, ticket: int) -> None:
        """Return once staged change ``ticket`` is on disk: write it now, with every change staged by then,
        unless a write already made holds it. StoreError when the write that held it failed. Never call it
        holding the lock: the writer needs it to swap the file."""
        with self._flushing:
            with self.lock:
                if ticket in self._dropped:
                    raise StoreError(f"store: not saved to {self.path} ({self._dropped[ticket]})")
                if ticket <= self._saved:
                    return
            try:
                with self.lock:  # what is serialized is exactly what is staged by now
                    assert self._unsaved is not None
                    target, version = self._staged, self._storage.prepare(self._unsaved)
                # Bytes go to disk while other threads read and stage: only the swap needs the lock.
                self._storage.write_temporary(version)
                with self.lock:
                    self._storage.install(version)
                    self._indexed = self._storage.generation
                self._storage.settle(version)
            except BaseException as exc:
                with self.lock:
                    self._drop(exc)
                raise
            with self.lock:
                self._saved = target
                if self._saved == self._staged:
                    self._unsaved = None
                    self._release_file()

    def _drop(self, exc: BaseException) -> None:
        """Forget every staged change (the cached document holds them) after ``exc``; their settle raises."""
        self._storage.forget()
        reason = str(exc) if isinstance(exc, StoreError) else f"an earlier change failed: {exc!r}"
        self._dropped.update(dict.fromkeys(range(self._saved + 1, self._staged + 1), reason))
        self._saved, self._unsaved = self._staged, None
        self._release_file()

    def _lock_file(self) -> None:
        """Take the file lock for the first staged change (it is kept until none waits for the disk)."""
        if self._file_locked:
            return
        try:
            self._file_lock.acquire(poll_interval=0.01)  # writes are short: check often
        except Timeout:
            raise StoreError(
                f"store: {self.path} stayed locked by another process for {LOCK_TIMEOUT_S:g}s "
                f"({self.path}.lock)"
            ) from None
        self._file_locked = True

    def _release_file(self) -> None:
        if self._file_locked:
            self._file_lock.release()
            self._file_locked = False

    def _back_up_older(self) -> None:
        """Before a migrated document replaces an older file, copy that file to <store>.v<N>.bak."""
        found = self._storage.found_version
        backup = self.path.with_name(f"{self.path.name}.v{found}.bak")
        if found < SCHEMA_VERSION and not backup.exists():
            try:
                shutil.copy2(self.path, backup)
            except OSError as exc:
                raise StoreError(f"store: cannot back up {self.path} before migrating it ({exc})") from None
