"""Body reading for fetches: a response's decoded body within a size cap.

The cap is on the *decoded* size and is enforced while streaming and while inflating, so a small gzip bomb
cannot grow past it in memory; the whole-request deadline is checked between chunks. Local files are
``_local``'s.
"""

from __future__ import annotations

import zlib
from typing import Any

import httpx

from ..errors import FetchError
from ._deadline import Deadline
from ._local import too_large


class _Inflater:
    """Content-Encoding decoder whose output per call never exceeds the room left under the cap."""

    def __init__(self, content_encoding: str | None, url: str) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        for coding in codings:
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(
                    f"fetch: unsupported content-encoding {coding} ({url})", kind="http", url=url
                )
        self._layers = [_Layer(coding) for coding in reversed(codings)]
        self.identity = not self._layers

    def decode(self, data: bytes, room: int) -> bytes:
        """Up to ``room + 1`` decoded bytes (one more than room means: over the cap)."""
        for layer in self._layers:
            data = layer.decode(data, room + 1)
            if len(data) > room:
                return data
        return data


class _Layer:
    """One Content-Encoding layer (gzip, or deflate zlib-wrapped or raw), inflated with a bounded output."""

    def __init__(self, coding: str) -> None:
        self.gzip = coding in ("gzip", "x-gzip")
        self._inflater: Any = zlib.decompressobj(zlib.MAX_WBITS | 16) if self.gzip else None
        self._started = False

    def decode(self, data: bytes, limit: int) -> bytes:
        """Decompress ``data``; output stops at ``limit`` bytes, which is enough to know the cap is passed."""
        out = bytearray()
        while data and len(out) < limit:
            if self._inflater is None:  # "deflate" is zlib-wrapped by the RFC, raw in some servers
                raw = len(data) < 2 or (data[0] & 0x0F) != 8 or (data[0] << 8 | data[1]) % 31 != 0
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
            try:
                out += self._inflater.decompress(data, limit - len(out))
            except zlib.error:
                if out or self._started:
                    break  # a corrupt tail: keep what decoded, the parser will judge it
                raise
            self._started = True
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                data = self._inflater.unused_data
                if not (self.gzip and data[:2] == b"\x1f\x8b"):
                    break  # trailing garbage after the stream, as browsers ignore it
                self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)  # a further gzip member
        return bytes(out)


def read_body(
    response: httpx.Response, max_bytes: int, deadline: Deadline, url: str, *, truncate: bool
) -> bytes:
    """The decoded body, read chunk by chunk against the deadline and the decoded-size cap.

    With ``truncate`` (error pages, redirects) it keeps what fits and what decodes instead of failing.
    """
    try:
        inflater = _Inflater(response.headers.get("content-encoding"), url)
    except FetchError:
        if truncate:
            return b""
        raise
    declared = response.headers.get("content-length", "")
    if inflater.identity and declared.isdigit() and int(declared) > max_bytes and not truncate:
        raise too_large(max_bytes, url)
    body = bytearray()
    # Iterate the transport stream itself: the raw bytes, and the connection goes back to the pool only on
    # close(), after the watchdog has been stopped.
    for raw in response.stream:  # type: ignore[union-attr]  # a sync client's stream is a SyncByteStream
        deadline.check(url)
        room = max_bytes - len(body)
        try:
            chunk = inflater.decode(raw, room)
        except zlib.error as exc:
            if truncate:
                break
            raise FetchError(f"fetch: corrupt compressed body ({url})", kind="http", url=url) from exc
        if len(chunk) > room:
            if truncate:
                return bytes(body + chunk[:room])
            raise too_large(max_bytes, url)
        body += chunk
    deadline.check(url)
    return bytes(body)
