"""One page a person named (``extract``, ``preview``): a local path read directly, a URL fetched.

A local page loads no HTTP client: httpx and a TLS context, a tenth of a second of a one-page command's
start-up, are for URLs only.
"""

from __future__ import annotations

from ..records import Fetched
from ..settings import FetchSettings
from ._local import is_named_file, read_named_file


def fetch_named_page(target: str, settings: FetchSettings) -> Fetched:
    """A page a person named: a local file read within the page size cap, or a URL fetched by a
    short-lived ``Fetcher`` as ``Fetcher.fetch_named_page`` fetches it."""
    if is_named_file(target):
        return read_named_file(target, settings.max_page_bytes)
    from ._fetcher import Fetcher

    with Fetcher(settings) as fetcher:
        return fetcher.fetch_named_page(target)
