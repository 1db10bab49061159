"""The one duration grammar: "30s", "15m", "1h", "1d", "2w" and their sums ("1h30m").

Read and written alike by the config (intervals, digests, health limits), `--since` and the CLI's output.
"""

from __future__ import annotations

import math
import re

_UNITS_S = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_MAX_S = 10 * 366 * 86400  # past ten years a duration is a typo, and an int too large for datetime arithmetic
HINT = "use 30s, 15m, 1h, 1d or 1h30m"


def parse_duration(text: str | int | float) -> int:
    """Seconds in a duration such as "30s", "15m", "1h", "1d", "1h30m", or a bare number of seconds.

    Raises ValueError, with a message fit for a one-line error, for anything else, for zero, and for
    durations past ten years (".inf" and 5,000-digit numbers included).
    """
    if isinstance(text, bool) or (isinstance(text, float) and not math.isfinite(text)):
        raise ValueError(f'"{_shown(text)}" is not a duration ({HINT})')
    if isinstance(text, int | float):
        seconds = int(min(text, _MAX_S + 1))
    else:
        seconds = _seconds_in(text.strip().lower(), text)
    if seconds <= 0:
        raise ValueError(f'"{_shown(text)}" is not a positive duration')
    if seconds > _MAX_S:
        raise ValueError(f'"{_shown(text)}" is longer than ten years')
    return seconds


def _seconds_in(cleaned: str, text: str) -> int:
    if len(cleaned) > 24:  # longer than any sane duration; int() of 5,000 digits is slow and pointless
        return _MAX_S + 1
    if cleaned.isdigit():
        return int(cleaned)
    match = _DURATION.fullmatch(cleaned)
    if not cleaned or match is None:
        raise ValueError(f'"{_shown(text)}" is not a duration ({HINT})')
    return sum(int(count or 0) * size for count, size in zip(match.groups(), _UNITS_S.values(), strict=True))


def format_duration(seconds: int) -> str:
    """Seconds in the same notation: 900 → "15m", 5400 → "1h30m", 45 → "45s"; weeks are written as days."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _shown(text: str | int | float) -> str:
    shown = str(text)
    return shown if len(shown) <= 40 else shown[:40] + "…"
