"""Local files read in place of fetches, within the same size cap, without loading an HTTP client.

They serve the offline demo (a feed given as an absolute path, and file:// pages beside it) and the pages a
person names by their path (``extract``, ``preview``, ``backfill``).
"""

from __future__ import annotations

import email.utils
import mimetypes
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import FetchError
from ..records import Fetched
from ..settings import FeedSettings


def is_named_file(target: str) -> bool:
    """True when a named page is a path on disk rather than a URL."""
    return "://" not in target


def read_named_file(target: str, max_bytes: int) -> Fetched:
    """A page named by its path, read as a file:// link beside a local feed is (``read_local_page``)."""
    path = Path(target).resolve()
    url = path.as_uri()
    return Fetched(
        url=url, final_url=url, status=200, body=_read_file(path, max_bytes, url), headers=_type(path)
    )


def too_large(max_bytes: int, url: str) -> FetchError:
    """The "too_large" error for ``url``."""
    return FetchError(f"fetch: response larger than {max_bytes} bytes ({url})", kind="too_large", url=url)


def read_local_feed(
    feed: FeedSettings, etag: str | None, last_modified: str | None, max_bytes: int
) -> Fetched:
    """A feed file on disk, with an ETag and Last-Modified of its own so unchanged files cost nothing."""
    path = Path(feed.url)
    if not path.is_absolute():
        raise FetchError(
            f"fetch: a local feed needs an absolute path ({feed.url})", kind="refused", url=feed.url
        )
    try:
        stat = path.stat()
    except OSError as exc:
        raise FetchError(f"fetch: cannot read {path} ({exc.strerror})", kind="file", url=feed.url) from exc
    uri = path.as_uri()
    tag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
    headers = {"content-type": mimetypes.guess_type(path.name)[0] or "application/xml"}
    if (etag == tag) or (etag is None and last_modified == modified):
        return Fetched(
            url=feed.url,
            final_url=uri,
            status=304,
            body=b"",
            headers=headers,
            etag=tag,
            last_modified=modified,
        )
    body = _read_file(path, max_bytes, feed.url)
    return Fetched(
        url=feed.url, final_url=uri, status=200, body=body, headers=headers, etag=tag, last_modified=modified
    )


def read_local_page(url: str, feed: FeedSettings, max_bytes: int) -> Fetched:
    """A file:// link, only from a local feed and only inside the feed file's folder (symlinks resolved)."""
    if not feed.is_local:
        raise FetchError(
            f"fetch: file links are followed only from local feeds ({url})", kind="refused", url=url
        )
    from urllib.request import url2pathname  # with http.client and ssl: loaded for a feed's links only

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise FetchError(f"fetch: remote file links are not followed ({url})", kind="refused", url=url)
    folder = Path(feed.url).resolve().parent
    path = Path(url2pathname(parts.path)).resolve()
    if not path.is_relative_to(folder):
        raise FetchError(f"fetch: file outside the feed's folder ({url})", kind="refused", url=url)
    body = _read_file(path, max_bytes, url)
    return Fetched(url=url, final_url=path.as_uri(), status=200, body=body, headers=_type(path))


def _type(page: Path) -> dict[str, str]:
    """A local page's headers: the content type its name suggests (HTML when it suggests none)."""
    return {"content-type": mimetypes.guess_type(page.name)[0] or "text/html"}


def _read_file(path: Path, max_bytes: int, url: str) -> bytes:
    """The regular file's bytes, if there are at most ``max_bytes`` of them."""
    if not path.is_file():
        raise FetchError(f"fetch: not a regular file ({url})", kind="file", url=url)
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"fetch: cannot read {path} ({exc.strerror})", kind="file", url=url) from exc
    if len(body) > max_bytes:
        raise too_large(max_bytes, url)
    return body
