"""durations.py: one grammar for config intervals, the CLI's --since and what the CLI prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.durations import format_duration, parse_duration
from monitor.query import parse_when

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("1h", 3600),
        ("1d", 86400),
        ("2w", 1209600),
        ("1h30m", 5400),
        ("90", 90),
        (45, 45),
    ],
)
def test_durations_accept_the_documented_forms(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "1x", "m", "0", "-5", True, float("inf"), float("nan")])
def test_durations_reject_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["9" * 5000, 10**30, 1e300, "800w"])
def test_absurd_durations_are_refused_in_one_line_not_computed(text: str | int | float) -> None:
    with pytest.raises(ValueError, match="longer than ten years") as caught:
        parse_duration(text)
    assert len(str(caught.value)) < 100


@pytest.mark.parametrize("text", ["30s", "15m", "1h", "1d", "1h30m", "2d3h4m5s"])
def test_what_is_printed_reads_back_as_the_same_duration(text: str) -> None:
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["1h30m", "7d", "12h", "2w"])
def test_since_takes_every_duration_the_config_takes(text: str) -> None:
    assert parse_when(text, now=NOW) == NOW - timedelta(seconds=parse_duration(text))


def test_since_still_takes_dates_and_says_what_it_takes_otherwise() -> None:
    assert parse_when("2025-01-31", now=NOW) == datetime(2025, 1, 31, tzinfo=UTC)
    with pytest.raises(ValueError, match="1h30m"):
        parse_when("last tuesday", now=NOW)
