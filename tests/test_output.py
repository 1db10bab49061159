"""output.py: rows → table, JSON, JSON lines or CSV on a stream; numbers and dates as people read them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from monitor.output import FORMATS, format_value, write_rows

ROWS = [
    {"key": "qianhai.hk-firms", "latest": 11020.0, "published": datetime(2025, 11, 24, 2, 0, tzinfo=UTC)},
    {"key": "前海.港资企业", "latest": 0.125, "published": None, "extra": "not a column"},
]
COLUMNS = ("key", "latest", "published")


def written(fmt: str, rows=ROWS, **options) -> str:
    stream = io.StringIO()
    write_rows(rows, COLUMNS, fmt, stream, **options)
    return stream.getvalue()


def test_json_is_the_rows_whole_with_dates_as_iso_and_chinese_unescaped() -> None:
    rows = json.loads(written("json"))
    assert rows[0]["published"] == "2025-11-24T02:00:00+00:00"
    assert rows[1]["key"] == "前海.港资企业" and "前海" in written("json")


def test_json_lines_is_one_parsable_row_per_line() -> None:
    lines = written("jsonl").splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["qianhai.hk-firms", "前海.港资企业"]


def test_csv_has_exactly_the_columns_in_order_and_reads_back() -> None:
    rows = list(csv.DictReader(io.StringIO(written("csv"))))
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["latest"] == "11020.0" and rows[1]["published"] == ""


def test_a_table_shows_numbers_with_thousands_separators_and_dates_to_the_minute() -> None:
    table = written("table")
    assert "11,020" in table and "2025-11-24T02:00+00:00" in table
    assert "not a column" not in table


def test_an_empty_table_says_so_and_machine_formats_stay_valid() -> None:
    assert written("table", rows=[], empty="no figures yet") == "no figures yet\n"
    assert json.loads(written("json", rows=[])) == []
    assert written("csv", rows=[]) == "key,latest,published\n"


def test_an_unknown_format_names_the_ones_there_are() -> None:
    with pytest.raises(ValueError, match=", ".join(FORMATS)):
        written("yaml")


@pytest.mark.parametrize(
    ("value", "text"),
    [(10577, "10,577"), (846_140_000_000, "846,140,000,000"), (12.5, "12.5"), (0.125, "0.125"), (None, "")],
)
def test_values_read_as_a_person_writes_them(value: float | None, text: str) -> None:
    assert format_value(value) == text
