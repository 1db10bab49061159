"""Rows → a table, JSON, JSON lines or CSV on a given stream (pure; no colours, no truncation when piped)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from .controls import strip_controls

FORMATS = ("table", "json", "jsonl", "csv")


def write_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str, stream: TextIO, *, empty: str = ""
) -> None:
    """Write ``rows`` (only ``columns``, in that order for table and csv) to ``stream`` in format ``fmt``."""
    if fmt == "json":
        json.dump([_plain(row) for row in rows], stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(_plain(row), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(stream, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(_printable(_plain(row)) for row in rows)
    elif fmt == "table":
        if not rows:
            if empty:
                stream.write(empty + "\n")
            return
        table = [[strip_controls(_cell(row.get(column))) for column in columns] for row in rows]
        from tabulate import tabulate  # 50 ms at start-up, for the one format that needs it

        stream.write(tabulate(table, headers=list(columns), disable_numparse=True) + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")


def format_value(value: float | None) -> str:
    """A number as a person reads it: 10,577 / 846,140,000,000 / 12.5."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}


def _printable(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's strings without what a terminal would act on (a feed title could clear the screen); JSON
    keeps them, escaped by the encoder."""
    return {key: strip_controls(value) if isinstance(value, str) else value for key, value in row.items()}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, float | int) and not isinstance(value, bool):
        return format_value(value)
    return str(value)
