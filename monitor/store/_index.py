"""``<store>.index``: where each figure row lies in the store file, by metric, so that a fresh CLI process
reads one metric's history without parsing the whole file.

TinyDB's own way (``TinyDB(path)``, then ``Query``) parses the whole document first: at 100,000 figures that
is most of a second before the first row is tested, against the issue's "< 1 s, start-up included" for the
CLI's history (see benchmarks/RESULTS.md: ours with the index, and TinyDB's Query on the same file). So the
storage serializes the indexed table in chunks of ``CHUNK_ROWS`` rows, noting each row's offset, and leaves
those offsets beside the file. A chunk's bytes are reused while it holds the very same row objects (TinyDB
keeps a row's dict when it rebuilds a table, and the store only ever inserts or removes figure rows), so a
poll re-serializes the last chunk or two, not the table.

The index is a cache: it names the file version it describes (see ``_file.Identity``) and is ignored when
that is not the file on disk (a crash between the two writes, another writer, a hand edit).
"""

from __future__ import annotations

import contextlib
import operator
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

CHUNK_ROWS = 1024


@dataclass(frozen=True, slots=True)
class Chunk:
    """Serialized rows, valid while the table holds these very row objects under these ids."""

    keys: list[str]
    rows: list[Any]  # compared by identity
    fragment: bytes  # '"1":{...},"2":{...}'
    spans: bytes  # JSON {field value: [row id, offset in fragment, length, ...]}


class ChunkedTable:
    """One table's rows serialized chunk by chunk, with the offsets of its rows by one field's value."""

    def __init__(self, field: str, chunk_rows: int = CHUNK_ROWS) -> None:
        self.field = field
        self.chunk_rows = chunk_rows
        self._kept: list[Chunk] = []

    def chunks(self, table: dict[str, Any]) -> list[Chunk]:
        """The table's rows in chunks, reusing the bytes of chunks whose rows are unchanged."""
        keys, rows, size = list(table), list(table.values()), self.chunk_rows
        chunks = []
        for n, start in enumerate(range(0, len(keys), size)):
            chunk_keys, chunk_rows = keys[start : start + size], rows[start : start + size]
            kept = self._kept[n] if n < len(self._kept) else None
            if not (
                kept is not None
                and kept.keys == chunk_keys
                and len(kept.rows) == len(chunk_rows)
                and all(map(operator.is_, kept.rows, chunk_rows))
            ):
                kept = self._chunk(chunk_keys, chunk_rows)
            chunks.append(kept)
        self._kept = chunks
        return chunks

    def forget(self) -> None:
        """Drop the kept bytes (the rows were read again: new objects)."""
        self._kept = []

    def _chunk(self, keys: list[str], rows: list[Any]) -> Chunk:
        pieces: list[bytes] = []
        spans: dict[str, list[int]] = {}
        at = 0
        for key, row in zip(keys, rows, strict=True):
            label, body = orjson.dumps(key) + b":", orjson.dumps(row)
            spans.setdefault(str(row.get(self.field)), []).extend((int(key), at + len(label), len(body)))
            pieces.append(label + body)
            at += len(label) + len(body) + 1  # and the comma
        return Chunk(keys, rows, b",".join(pieces), orjson.dumps(spans))


def write_index(path: Path, about: dict[str, Any], spans: list[tuple[int, bytes]]) -> None:
    """Leave the index at ``path``: ``about`` (which file version it describes) and each chunk's file offset
    with its spans. A cache: failing to write it loses nothing."""
    chunks = b",".join(b"[%d,%s]" % (base, spans_json) for base, spans_json in spans)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with open(fd, "wb") as file:
            file.write(orjson.dumps(about)[:-1] + b',"chunks":[' + chunks + b"]}")
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def read_index(path: Path) -> Any:
    """The parsed index at ``path``, or None when there is none or it is not JSON."""
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def rows_at(fd: int, index: Any, value: str) -> list[tuple[int, dict[str, Any]]] | None:
    """(id, row) of the rows whose field is ``value``, read from ``fd`` at the index's offsets; None when
    what lies there is not such a row."""
    found = []
    try:
        for base, groups in index["chunks"]:
            flat = groups.get(value, ())
            for n in range(0, len(flat), 3):
                row = orjson.loads(os.pread(fd, flat[n + 2], base + flat[n + 1]))
                if type(row) is not dict:
                    return None
                found.append((flat[n], row))
    except (OSError, ValueError, TypeError, KeyError, IndexError):
        return None
    return found
