"""Errors for fetches: what a server's answer or a transport failure means, as a FetchError.

A final non-2xx status becomes "blocked" (a bot challenge), ``RateLimited`` (429/503, with Retry-After in
seconds) or "http"; an httpx failure becomes "timeout", "refused", "tls" or "connection". Messages read
"fetch: what (url)".
"""

from __future__ import annotations

import email.utils
import ssl
from collections.abc import Mapping

import httpx

from ..clock import utc_now
from ..errors import FetchError

ERROR_BODY_BYTES = 65_536  # enough of a 403/503 page to recognise a bot challenge
CHALLENGE_MARKERS = (
    b"cf-chl",
    b"challenge-platform",
    b"just a moment...",
    b"attention required! | cloudflare",
    b"checking your browser",
    b"captcha",
    b"_incapsula_resource",
    b"ddos-guard",
    b"verify you are human",
    b"are you a robot",
    b"aliyun_waf",
    b"_waf_",
    b"\xe5\xae\x89\xe5\x85\xa8\xe9\xaa\x8c\xe8\xaf\x81",  # 安全验证
)


class RateLimited(FetchError):
    """HTTP 429 or 503: the server asked us to come back later; ``retry_after_s`` says when, if it did."""

    def __init__(self, message: str, *, url: str | None, status: int, retry_after_s: float | None) -> None:
        super().__init__(message, kind="http", url=url)
        self.status = status
        self.retry_after_s = retry_after_s


def status_error(status: int, headers: Mapping[str, str], body: bytes, url: str) -> FetchError:
    """The error for a final non-2xx answer: "blocked" by a bot challenge, RateLimited, or "http"."""
    if status in (403, 429, 503) and _is_challenge(headers, body):
        return FetchError(
            f"fetch: blocked by a bot challenge, HTTP {status} ({url})", kind="blocked", url=url
        )
    if status in (429, 503):
        retry_after_s = _retry_after_s(headers)
        when = f", retry after {retry_after_s:g}s" if retry_after_s is not None else ""
        return RateLimited(
            f"fetch: HTTP {status}{when} ({url})", url=url, status=status, retry_after_s=retry_after_s
        )
    return FetchError(f"fetch: HTTP {status} ({url})", kind="http", url=url)


def _is_challenge(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the answer is a bot challenge (Cloudflare, Incapsula, a WAF...), not the server's own page."""
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    lowered = body[:ERROR_BODY_BYTES].lower()
    return any(marker in lowered for marker in CHALLENGE_MARKERS)


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds: delta-seconds, or an HTTP date measured from the response's own Date."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:  # measured from the server's own clock when it sent one we can read
        now = email.utils.parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError, IndexError, OverflowError):
        now = utc_now()
    if when.tzinfo is None or now.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def transport_error(
    exc: httpx.HTTPError, url: str, timeout_s: float, deadline_s: float, deadline_fired: bool
) -> FetchError:
    """The error for an httpx failure: our deadline, a timeout, a bad URL, TLS, or a failed connection."""
    if deadline_fired:
        return FetchError(f"fetch: timeout after {deadline_s:g}s ({url})", kind="timeout", url=url)
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"fetch: timeout after {timeout_s:g}s ({url})", kind="timeout", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FetchError(f"fetch: invalid URL ({url})", kind="refused", url=url)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return FetchError(f"fetch: TLS error: {cause} ({url})", kind="tls", url=url)
        cause = cause.__cause__ or cause.__context__
    return FetchError(
        f"fetch: connection failed: {exc or type(exc).__name__} ({url})", kind="connection", url=url
    )
