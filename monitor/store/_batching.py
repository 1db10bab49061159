"""A TinyDB middleware that holds a poll's writes in memory and writes the file once, when the poll is whole.

In the spirit of TinyDB's ``CachingMiddleware``: TinyDB reads the whole document before every table operation
and writes it whole after every change; ``BatchingMiddleware`` keeps the document in memory and turns the
dozens of table writes of one poll (``insert_multiple``, ``update``, ``upsert`` into six tables) into one
atomic write of the file (``AtomicJSONStorage``). Unlike ``CachingMiddleware`` it also

- reads the file again when another process replaced it (a CLI command, or a second writer), and checks its
  shape and schema version (``store._schema``), migrating an older file after copying it to ``.v<N>.bak``;
- takes ``<store>.lock`` for each change, from before the document is read until it is on disk, so two
  processes never lose each other's updates; readers take no lock (the file is only ever replaced whole);
- lets threads share writes (group commit): a change is staged in memory (``changing``), where this process's
  later reads see it at once, and ``settle`` writes it with every change staged by then. The bytes go to disk
  outside the thread lock, so other feeds keep telling stories apart meanwhile. A failed write drops every
  staged change (their ``settle`` raises) and memory returns to the file.

One ``threading.RLock`` (``lock``) guards the document: TinyDB is not thread-safe, and the poll reads from
several threads.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from filelock import FileLock, Timeout
from tinydb.middlewares import Middleware

from ..errors import StoreError
from ._file import PRIVATE_MODE, AtomicJSONStorage
from ._schema import SCHEMA_VERSION, Document, check_document, new_document

LOCK_TIMEOUT_S = 60.0  # a write of 100,000 figures takes well under a second; a minute means a stuck process


@dataclass(slots=True)
class Ticket:
    """A staged change's number, for ``settle`` (0 until the change is staged)."""

    number: int = 0


class BatchingMiddleware(Middleware):
    """The store file's document in memory, its writes batched per change; see the module docstring."""

    def __init__(self, storage_cls: type[AtomicJSONStorage] = AtomicJSONStorage) -> None:
        super().__init__(storage_cls)
        self.lock = threading.RLock()
        self.generation = 0  # one more whenever the document was read again or dropped
        self.found_version = SCHEMA_VERSION  # the schema version of the file as last read
        self.missing = False  # True while the document is new, not on disk yet
        self._doc: Document | None = None
        self._holding = 0  # open changes: TinyDB's writes are kept in memory meanwhile
        self._staged = self._saved = 0  # changes staged in memory / of those, the ones known to be on disk
        self._dropped: dict[int, str] = {}  # staged changes a failed write lost → why
        self._flushing = threading.Lock()  # one write of the file at a time
        self._file_lock: FileLock | None = None
        self._file_locked = False
        self._swept = False

    def __call__(self, *args: Any, **kwargs: Any) -> BatchingMiddleware:
        """Create the storage (TinyDB calls this with its own arguments: the file's path)."""
        self.storage = self._storage_cls(*args, **kwargs)  # what Middleware.__call__ does, typed
        # Not thread-local: the thread that stages a change may not be the one whose write settles it.
        self._file_lock = FileLock(
            f"{self.file.path}.lock", timeout=LOCK_TIMEOUT_S, mode=PRIVATE_MODE, thread_local=False
        )
        return self

    @property
    def loaded(self) -> bool:
        """True once the document was read (a history answered from ``<store>.index`` leaves it unread)."""
        return self._doc is not None

    @property
    def file(self) -> AtomicJSONStorage:
        """The storage under this middleware."""
        return cast(AtomicJSONStorage, self.storage)

    # --- what TinyDB calls ---------------------------------------------------------------------------------

    def read(self) -> Document:
        """The document in memory (read from the file the first time)."""
        with self.lock:
            if self._doc is None:
                self._load()
            assert self._doc is not None
            return self._doc

    def write(self, data: dict[str, Any]) -> None:
        """Keep the changed document; inside ``changing`` it reaches the file when the change settles."""
        with self.lock:
            if not self._holding:
                raise StoreError(f"store: a write to {self.file.path} outside a change (this is a bug)")
            self._doc = data

    def close(self) -> None:
        """Write what is staged, then let the file lock and the document go."""
        try:
            if self._staged > self._saved:
                self.settle(Ticket(self._staged))
        finally:
            with self.lock:
                self._release_file()
                self._forget()

    # --- what the store calls ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the file again when another process replaced it. Hold ``lock``. Nothing to do while changes
        staged here wait for the disk: the file lock is held since, so the file is this process's own."""
        if self._staged == self._saved and (self._doc is None or self.file.changed()):
            self._forget()
            self._load()

    @contextmanager
    def changing(self) -> Iterator[Ticket]:
        """Under the lock and the file lock, the current document for TinyDB's tables to change; the change
        is then staged (every later read in this process sees it) and ``settle(ticket)`` puts it on disk.
        On any error every staged change is dropped: nothing half-changed survives in memory."""
        ticket = Ticket()
        with self.lock:
            self._lock_file()
            try:
                self.refresh()
                if not self._swept:
                    self.file.remove_temporaries()
                    self._swept = True
                self._back_up_older()
                self._holding += 1
                try:
                    yield ticket
                finally:
                    self._holding -= 1
            except BaseException as exc:
                self._drop(exc)
                raise
            self._staged += 1
            ticket.number = self._staged

    def settle(self, ticket: Ticket) -> None:
        """Return once the staged change is on disk: write it now, with every change staged by then, unless
        a write already made holds it. StoreError when the write that held it failed. Never call it holding
        ``lock``: other threads read and stage while the bytes go to disk."""
        with self._flushing:
            with self.lock:
                if ticket.number in self._dropped:
                    raise StoreError(f"store: not saved to {self.file.path} ({self._dropped[ticket.number]})")
                if ticket.number <= self._saved:
                    return
                target = self._staged
                try:  # what is serialized is exactly what is staged by now
                    data = self.file.serialize(self.read())
                except BaseException as exc:
                    self._drop(exc)
                    raise
            try:
                self.file.replace(data)
            except BaseException as exc:
                with self.lock:
                    self._drop(exc)
                raise
            with self.lock:
                self._saved, self.found_version, self.missing = target, SCHEMA_VERSION, False
                if self._saved == self._staged:
                    self._release_file()

    # --- inside --------------------------------------------------------------------------------------------

    def _load(self) -> None:
        raw = self.file.read()
        if raw is None:
            self._doc, self.found_version, self.missing = new_document(), SCHEMA_VERSION, True
        else:
            self._doc, self.found_version = check_document(self.file.path, raw)
            self.missing = False
        self.generation += 1

    def _forget(self) -> None:
        self._doc = None
        self.generation += 1

    def _drop(self, exc: BaseException) -> None:
        """Forget every staged change (the document holds them) after ``exc``; their settle raises."""
        self._forget()
        reason = str(exc) if isinstance(exc, StoreError) else f"an earlier change failed: {exc!r}"
        self._dropped.update(dict.fromkeys(range(self._saved + 1, self._staged + 1), reason))
        self._saved = self._staged
        self._release_file()

    def _lock_file(self) -> None:
        """Take the file lock for the first staged change (it is kept until none waits for the disk)."""
        if self._file_locked:
            return
        assert self._file_lock is not None
        try:
            self._file_lock.acquire(poll_interval=0.01)  # writes are short: check often
        except Timeout:
            raise StoreError(
                f"store: {self.file.path} stayed locked by another process for {LOCK_TIMEOUT_S:g}s "
                f"({self.file.path}.lock)"
            ) from None
        self._file_locked = True

    def _release_file(self) -> None:
        if self._file_locked and self._file_lock is not None:
            self._file_lock.release()
            self._file_locked = False

    def _back_up_older(self) -> None:
        """Before a migrated document replaces an older file, copy that file to <store>.v<N>.bak."""
        path = self.file.path
        backup = path.with_name(f"{path.name}.v{self.found_version}.bak")
        if self.found_version < SCHEMA_VERSION and not self.missing and not backup.exists():
            try:
                shutil.copy2(path, backup)
            except OSError as exc:
                raise StoreError(f"store: cannot back up {path} before migrating it ({exc})") from None
