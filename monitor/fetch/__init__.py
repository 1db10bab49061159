"""URL → Fetched: feeds and article pages over HTTP(S), or local files for the offline demo.

The only user of httpx and protego. A ``Fetcher`` holds one ``httpx.Client`` per host for its life and bounds
every request (timeouts, a whole-request deadline, redirects followed one hop at a time, a cap on the decoded
size, public addresses only for pages). Its private helpers, one job each: ``_fetcher`` (the Fetcher: slots,
hops, redirects, robots.txt), ``_addresses`` (which hosts a request may reach), ``_deadline`` (the deadline
and its alarm thread), ``_body`` (a response's body within the size cap), ``_local`` (a local file within
the same cap), ``_named`` (``fetch_named_page``: one page a person named), ``_errors`` (what a failed answer
means).
"""

from typing import TYPE_CHECKING, Any

from ._named import fetch_named_page

if TYPE_CHECKING:
    from ._errors import RateLimited
    from ._fetcher import Fetcher


def __getattr__(name: str) -> Any:
    """The Fetcher and its errors, loaded on first use: reading a local page never loads httpx."""
    if name == "Fetcher":
        from ._fetcher import Fetcher

        return Fetcher
    if name == "RateLimited":
        from ._errors import RateLimited

        return RateLimited
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Fetcher", "RateLimited", "fetch_named_page"]
