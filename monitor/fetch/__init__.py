"""URL → Fetched: feeds and article pages over HTTP(S), or local files for the offline demo.

The only user of httpx and protego. A ``Fetcher`` holds one ``httpx.Client`` per host for its life and bounds
every request (timeouts, a whole-request deadline, redirects followed one hop at a time, a cap on the decoded
size, public addresses only for pages). Its private helpers, one job each: ``_fetcher`` (the Fetcher: slots,
hops, redirects, robots.txt), ``_addresses`` (which hosts a request may reach), ``_deadline`` (the deadline
and its alarm thread), ``_body`` (a body or a local file within the size cap), ``_errors`` (what a failed
answer means).
"""

from ._errors import RateLimited
from ._fetcher import Fetcher

__all__ = ["Fetcher", "RateLimited"]
