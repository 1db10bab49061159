"""The one clock: the current time, timezone-aware UTC.

Code that needs the time takes ``now`` as a parameter defaulting to this, so tests pass their own clock
instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
