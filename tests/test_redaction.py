"""redaction.py: credentials masked in any text meant for people, the rest left readable."""

from __future__ import annotations

import logging
import sys

import pytest

from monitor.logs import JsonFormatter, Redacting, TextFormatter
from monitor.redaction import redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("fetch: HTTP 404 (http://user:pass@news.example.com/feed.xml)", "fetch: HTTP 404 (http://***@news.example.com/feed.xml)"),
        ("https://token@news.example.com/a", "https://***@news.example.com/a"),
        ("https://x.example/f?api_key=abc&page=2", "https://x.example/f?api_key=***&page=2"),
        ("https://x.example/f?page=2&token=abc#top", "https://x.example/f?page=2&token=***#top"),
        ("https://x.example/f?sig=abc&X-Amz-Signature=d&client_secret=e", "https://x.example/f?sig=***&X-Amz-Signature=***&client_secret=***"),
        ("https://x.example/f?apikey=1&access_token=2&password=3", "https://x.example/f?apikey=***&access_token=***&password=***"),
        ("https://x.example/f?keywords=gba&monkey=1&code=600519", "https://x.example/f?keywords=gba&monkey=1&code=600519"),
        ("token xoxb-1234-abcd refused", "token xox-*** refused"),
        ("https://hooks.slack.com/services/T0/B0/XyZ failed", "https://hooks.slack.com/services/*** failed"),
        ("write to editor@example.com", "write to editor@example.com"),
        ("", ""),
    ],
)  # fmt: skip
def test_redact_masks_credentials_and_keeps_the_rest(text: str, shown: str) -> None:
    assert redact(text) == shown
    assert redact(shown) == shown, "idempotent: masking twice changes nothing"


def _record_with_exception(message: str, error: str) -> logging.LogRecord:
    try:
        raise RuntimeError(error)
    except RuntimeError:
        exc_info = sys.exc_info()
    return logging.LogRecord("monitor.test", logging.ERROR, __file__, 1, message, (), exc_info)


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_log_lines_and_the_exceptions_they_carry_are_redacted(formatter: logging.Formatter) -> None:
    """An exception's text is masked too, not only the message: a traceback may repeat a URL or a token."""
    record = _record_with_exception("poll url=%s", "connect http://u:hunter2@h.example/?token=T0KEN failed")
    record.args = ("https://h.example/feed?api_key=S3CR3T",)
    assert Redacting(["xoxb-the-token"]).filter(record)
    line = formatter.format(record)
    assert "api_key=***" in line and "token=***" in line and "http://***@h.example" in line
    assert not [secret for secret in ("hunter2", "T0KEN", "S3CR3T") if secret in line]
