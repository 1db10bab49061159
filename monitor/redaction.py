"""Secrets out of text meant for people: the one definition of what is redacted.

Used by logs, the store's ``last_error``, ``status``, ``check`` and Slack ops alerts.

A feed URL may carry credentials (``http://user:pass@host/``, ``?api_key=…``, ``?token=…``, ``?sig=…``),
and an exception's text may repeat a Slack token or webhook URL. ``redact`` masks each wherever it appears
in a text, keeping the rest readable: ``http://***@host/feed?api_key=***&page=2``.
"""

from __future__ import annotations

import re

MASK = "***"

# The user-info part of any URL in the text: "scheme://user:pass@" (no "/", "?", "#" or space before the "@").
_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/?#@\s]+@", re.IGNORECASE)
# A query or fragment parameter whose name says it is a credential: "token", "api_key", "X-Amz-Signature",
# "client_secret"... (a prefix ends in "_", "-" or "."; "monkey=" and "keywords=" are not credentials).
_SECRET_NAMES = (
    r"api[_-]?key|apikey|key|token|access[_-]?token|auth|authorization|sig|signature|secret|password|passwd"
    r"|pwd|session|sessionid|credentials?"
)
_SECRET_PARAM = re.compile(
    rf"(?P<name>[?&;#](?:[\w.-]*[_.-])?(?:{_SECRET_NAMES}))=[^&;#\s\"'<>|]*", re.IGNORECASE
)
# Slack's own secrets, should an exception's text repeat them.
_SLACK_TOKEN = re.compile(r"\bxox[a-z]-[\w-]+", re.IGNORECASE)
_SLACK_HOOK = re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s\"'<>|]+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with URL credentials, secret query parameters and Slack tokens or webhook paths masked."""
    if not text:
        return text
    text = _USERINFO.sub(rf"\g<scheme>{MASK}@", text)
    text = _SECRET_PARAM.sub(rf"\g<name>={MASK}", text)
    text = _SLACK_TOKEN.sub(f"xox-{MASK}", text)
    return _SLACK_HOOK.sub(rf"\g<1>{MASK}", text)
