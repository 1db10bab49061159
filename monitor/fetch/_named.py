"""One page a person named (``extract``, ``preview``): a local path read directly, a URL fetched.

A local page loads no HTTP client: httpx and a TLS context, a tenth of a second of a one-page command's
start-up, are for URLs only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..records import Fetched
from ..settings import FeedSettings, FetchSettings
from ._local import is_named_file, read_named_file

if TYPE_CHECKING:
    from ._fetcher import Fetcher


def fetch_named_page(target: str, settings: FetchSettings, fetcher: Fetcher | None = None) -> Fetched:
    """A page a person named: a local file read within the page size cap, or a URL fetched as any article
    page (robots.txt, the page size cap, redirects checked hop by hop) by ``fetcher``, else by a
    short-lived one. The named host is trusted as a feed's is: a page on 127.0.0.1 may be named, as a feed
    on it may."""
    if is_named_file(target):
        return read_named_file(target, settings.max_page_bytes)
    page = FeedSettings(name="page", url=target, interval_s=60)
    if fetcher is not None:
        return fetcher.fetch_page(target, feed=page)
    from ._fetcher import Fetcher

    with Fetcher(settings) as short_lived:
        return short_lived.fetch_page(target, feed=page)
