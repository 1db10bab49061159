"""What a one-page command needs of the config (tracked metrics, fetch settings), taken without pydantic when
plainly valid.

``extract`` and ``preview`` on one page would spend more on importing pydantic and building the models than
on reading the page. "Plainly valid": ``fetch`` holds only its own keys, ``metrics`` only tracked metrics
(key, label, patterns, place, unit; no alert rule), each value of the exact type and within the bounds that
``_models`` declares. For anything else, valid or not, ``plain_reading`` returns None and ``_models``
validates the document, with the messages users read. tests/test_config.py checks that it never accepts what
``_models`` refuses and that both give the same settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..durations import parse_duration
from ..settings import FetchSettings, TrackedMetric
from ._document import MAX_CONFIG_VALUES, TooManyValues, plain

# fetch's whole numbers: (least, most or None). Declared here once: ``_models`` gives pydantic these bounds.
FETCH_COUNTS: dict[str, tuple[int, int | None]] = {
    "max_feed_bytes": (1, None),
    "max_page_bytes": (1, None),
    "max_concurrency": (1, 64),
    "max_per_host": (1, 16),
    "read_processes": (0, 64),
}
METRIC_KEY = r"[a-z0-9*?][a-z0-9._*?-]*"  # a metric key or a pattern of keys; ``_models`` checks it too
_PLAIN_INT = 2**63  # a plain value is below it (pydantic's bound for a fast int)
_FETCH_DURATIONS = {"timeout": "timeout_s", "deadline": "deadline_s"}
_METRIC_FIELDS = frozenset({"key", "label", "patterns", "place", "unit"})
_METRIC_KEY = re.compile(METRIC_KEY)


def plain_reading(document: Mapping[str, Any]) -> tuple[tuple[TrackedMetric, ...], FetchSettings] | None:
    """The tracked metrics and fetch settings, as ``_models.validated_reading`` gives them, when both
    sections are plainly valid; None otherwise."""
    try:
        values = plain(document, [MAX_CONFIG_VALUES])
    except TooManyValues:
        return None
    fetch = _fetch(values.get("fetch", {}))
    metrics = values.get("metrics", [])
    if fetch is None or not isinstance(metrics, list) or not all(_tracked(m) for m in metrics):
        return None
    tracked = tuple(
        TrackedMetric(m["key"], m["label"] or m["key"], tuple(m["patterns"]), m.get("place"), m.get("unit"))
        for m in metrics
        if m.get("patterns")
    )
    return tracked, fetch


def _fetch(section: Any) -> FetchSettings | None:
    if not isinstance(section, dict):
        return None
    settings: dict[str, Any] = {}
    for name, value in section.items():
        if name in FETCH_COUNTS:
            least, most = FETCH_COUNTS[name]
            if not (type(value) is int and least <= value <= (most or _PLAIN_INT - 1)) and not (
                name == "read_processes" and value is None
            ):
                return None
            settings[name] = value
        elif name in _FETCH_DURATIONS:
            if type(value) not in (str, int, float):
                return None
            try:
                settings[_FETCH_DURATIONS[name]] = float(parse_duration(value))
            except ValueError:
                return None
        elif (name == "user_agent" and type(value) is str) or (
            name == "respect_robots" and type(value) is bool
        ):
            settings[name] = value
        else:
            return None
    return FetchSettings(**settings)


def _tracked(metric: Any) -> bool:
    """True for a plainly valid tracked metric (or a named one without patterns, which tracks nothing)."""
    if not isinstance(metric, dict) or not metric.keys() <= _METRIC_FIELDS:
        return False
    key, label, patterns = metric.get("key"), metric.get("label"), metric.get("patterns", [])
    if type(key) is not str or _METRIC_KEY.fullmatch(key) is None or type(label) is not str:
        return False
    if any(type(metric.get(name)) not in (str, type(None)) for name in ("place", "unit")):
        return False
    if type(patterns) is not list or not all(type(p) is str and pattern_error(p) is None for p in patterns):
        return False
    return not (patterns and any(c in key for c in "*?"))


def pattern_error(pattern: str) -> str | None:
    """Why a tracked metric's pattern is no regular expression (``_models`` tells the user), else None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None
