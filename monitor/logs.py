"""Logs for operators: one line per event, as key=value text or as JSON objects.

A constant message with key=value fields (``poll feed=scmp-gba
status=ok entries=12 ms=431``); with ``--log-format json`` the same fields become the keys of one JSON object
(``{"event": "poll", "feed": "scmp-gba", "status": "ok", "ms": 431, ...}``). Secrets never appear in either.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

from .redaction import redact as redact_text

# key=value, the value bare, or quoted as repr() quotes it (error='timeout after 10s (https://…)').
_FIELD = re.compile(r"""(?:^|\s)([a-z_][a-z0-9_]*)=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S*)""")
_RESERVED = {"time", "level", "logger", "event", "message", "exception"}


def fields_of(message: str) -> dict[str, Any]:
    """A log message as its event (the words before the first key=value), its fields, and any other text."""
    first = _FIELD.search(message)
    if first is None:
        return {"event": message}
    entry: dict[str, Any] = {"event": message[: first.start()].strip()}
    rest, end = [], first.start()
    for match in _FIELD.finditer(message, first.start()):
        rest.append(message[end : match.start()])
        end = match.end()
        key = match[1] if match[1] not in _RESERVED else f"{match[1]}_"
        entry[key] = _value(match[2])
    rest.append(message[end:])
    if text := " ".join(part.strip() for part in rest if part.strip()):
        entry["message"] = text
    return entry


def _value(raw: str) -> Any:
    if raw[:1] in ("'", '"'):
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if re.fullmatch(r"-?\d+\.\d+", raw):
        return float(raw)
    return raw


class JsonFormatter(logging.Formatter):
    """One JSON object per line whose keys are the message's fields, for platforms that collect logs."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **fields_of(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger message``, kept on one line (a newline in a field would split it)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        head, _, rest = super().format(record).partition("\n")
        return head if not rest else f"{head} exception={json.dumps(rest)}"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with each secret replaced by [redacted], and credentials in URLs masked (``redaction``)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return redact_text(text)


class Redacting(logging.Filter):
    """Replace each secret (the Slack token, the webhook URL) wherever a log record would repeat it, and mask
    credentials in URLs (a feed's ``user:pass@``, ``?api_key=``) in every record and its exception."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (clean := scrub(message, self.secrets)) != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if scrub(text, self.secrets) != text:
                record.exc_info, record.exc_text = None, None
                record.msg = f"{record.getMessage()} exception={scrub(text, self.secrets)!r}"
                record.args = ()
        return True


def setup_logging(level: str, log_format: str) -> None:
    """Log to stderr at ``level`` as ``text`` or ``json``; httpx's per-request lines are kept quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(Redacting(()))  # credentials in feed URLs, whatever the command
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # httpx logs every request at INFO; the house rule is one line per feed per poll.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


def redact(secrets: Iterable[str | None]) -> None:
    """Keep these secrets out of every log line from now on."""
    redacting = Redacting(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
