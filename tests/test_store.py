"""The store: what each method returns, on real files in tmp_path; that a crash, a second writer, a newer or a
broken file never loses or overwrites anything; and that its file stays plain TinyDB JSON."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import psycopg
import pytest
from filelock import FileLock, Timeout
from hypothesis import given, settings
from hypothesis import strategies as st
from tinydb import TinyDB, where

from monitor.errors import StoreError, StoreLocked
from monitor.records import (
    Alert,
    Delivery,
    Entry,
    FeedState,
    Figure,
    Heartbeat,
    Observation,
    PollRecord,
    Story,
    key_figures,
)
from monitor.settings import StorageSettings
from monitor.store import SCHEMA_VERSION, AtomicJSONStorage, Store, open_store, read_heartbeat
from monitor.store._schema import migrate
from tests.store_writer import FIGURES

ROOT = Path(__file__).parent.parent
WRITER = Path(__file__).with_name("store_writer.py")
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
TABLES = ["meta", "feeds", "metrics", "alerts", "articles", "figures"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["tinydb", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageSettings:
    """Each contract test runs on both engines: a TinyDB file, and a new database on the test server."""
    path = tmp_path / "store" / "monitor.json"
    if request.param == "postgresql":
        return StorageSettings(path=path, url=request.getfixturevalue("database_url"))
    return StorageSettings(path=path)


@pytest.fixture
def store(storage: StorageSettings, clock: Clock):
    with open_store(storage, now=clock) as opened:
        yield opened


# For what only a TinyDB file has (its bytes, its lock files, its write count).
tinydb_only = pytest.mark.parametrize("storage", ["tinydb"], indirect=True)


def table_rows(store: Store, table: str) -> list[dict]:
    """A table's rows as the engine keeps them, read independently of the code under test."""
    if isinstance(store, Store):
        return list(document(store.path)[table].values())
    order = {"feeds": "name", "metrics": "key"}.get(table, "id")
    with psycopg.connect(store.url) as conn:
        return [data for (data,) in conn.execute(f"SELECT data FROM {table} ORDER BY {order}")]


def figure(metric: str = "qianhai.hk-firms.count", value: float = 10_577.0, **changes) -> Figure:
    return Figure(
        value=value,
        unit="enterprises",
        qualifier="exact",
        subject="Hong Kong-funded enterprises",
        text=f"{value:,.0f} Hong Kong-funded enterprises",
        sentence=f"Qianhai is home to {value:,.0f} Hong Kong-funded enterprises.",
        metric=metric,
        label="HK-funded enterprises in Qianhai",
        place="Qianhai",
        period="so far",
        **changes,
    )


def story(
    url: str = "https://news.example.com/a",
    *figures: Figure,
    feed: str = "qianhai",
    guid: str | None = None,
    published: datetime | None = T0 - timedelta(hours=1),
    fetched_at: datetime = T0,
    content_hash: str = "c1",
) -> Story:
    entry = Entry(feed=feed, title=f"Title of {url}", link=url, guid=guid, published=published)
    return Story(
        feed=feed,
        outlet="Qianhai News",
        entry=entry,
        url=url,
        title=f"Title of {url}",
        keywords=("Qianhai",),
        figures=figures,
        fetched_at=fetched_at,
        content_hash=content_hash,
    )


def alert(key: str, **changes) -> Alert:
    return Alert(key=key, channel="#gba", text=f"alert {key}", **changes)


def record(*stories: Story, alerts: tuple[Alert, ...] = (), feed: str = "qianhai") -> PollRecord:
    return PollRecord(FeedState(feed, last_poll=T0, last_success=T0, seeded=True), stories, alerts)


def document(path: Path) -> dict:
    """The store file, parsed independently of the code under test."""
    return json.loads(path.read_text(encoding="utf-8"))


# --- the file ----------------------------------------------------------------------------------------------


def test_a_new_store_creates_its_folder_and_a_tinydb_file_with_every_table(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "monitor.json"
    with Store(path):
        pass
    assert list(document(path)) == TABLES
    db = TinyDB(path, access_mode="r")
    assert db.table("meta").all() == [{"revision": 1, "schema_version": SCHEMA_VERSION}]
    assert db.table("figures").all() == []
    db.close()


@tinydb_only
def test_tinydb_reads_every_table_the_store_writes(store: Store) -> None:
    """A newcomer can open the file with TinyDB and read rows with plain field names."""
    store.save_poll(record(story("https://news.example.com/a", figure()), alerts=(alert("story:a"),)))
    db = TinyDB(store.path, access_mode="r")
    [article] = db.table("articles").all()
    assert article["url"] == "https://news.example.com/a" and article["figures"] == 1
    [row] = db.table("figures").all()
    assert (
        row["metric"] == "qianhai.hk-firms.count" and row["observed_at"] == "2025-03-01T08:00:00.000000+00:00"
    )
    [metric] = db.table("metrics").all()
    assert (metric["key"], metric["latest_value"], metric["observations"]) == (
        "qianhai.hk-firms.count",
        10577,
        1,
    )
    assert db.table("alerts").all()[0]["key"] == "story:a"
    assert db.table("feeds").all()[0]["name"] == "qianhai"
    db.close()


@tinydb_only
def test_tinydbs_own_api_can_fix_a_row_through_the_atomic_storage(store: Store) -> None:
    """A one-off repair script may use TinyDB's tables on the store file; the store sees the change."""
    store.save_poll(PollRecord(FeedState("qianhai", failures=3, last_error="fetch: http 503")))
    db = TinyDB(store.path, storage=AtomicJSONStorage)
    db.table("feeds").update({"failures": 0, "last_error": None}, where("name") == "qianhai")
    db.close()
    assert store.feed_state("qianhai") == FeedState("qianhai")
    with Store(store.path) as fresh:
        assert fresh.feed_state("qianhai") == FeedState("qianhai")


@tinydb_only
def test_each_save_poll_is_exactly_one_write(store: Store) -> None:
    """The meta revision counts writes: a poll of three stories, figures, metrics and alerts is one."""
    before = document(store.path)["meta"]["1"]["revision"]
    stories = [
        story(f"https://news.example.com/{n}", figure(value=n), figure("other", value=n)) for n in range(3)
    ]
    store.save_poll(record(*stories, alerts=(alert("a"), alert("b"))))
    after = document(store.path)
    assert after["meta"]["1"]["revision"] == before + 1
    assert (len(after["articles"]), len(after["figures"]), len(after["alerts"])) == (3, 6, 2)


@tinydb_only
def test_staged_polls_are_seen_at_once_in_process_and_reach_the_disk_in_one_shared_write(
    store: Store,
) -> None:
    """What one thread stages, the next one's identity checks see; the first wait writes every staged poll."""
    before = document(store.path)
    urls = [f"https://news.example.com/{n}" for n in range(3)]
    staged = [
        store.stage_poll(record(story(url, figure(value=n)), alerts=(alert(url),)))
        for n, url in enumerate(urls)
    ]
    assert all(store.is_known(guid=None, url=url) for url in urls)
    assert document(store.path) == before
    assert store.wait_saved(staged[2]) == [replace(alert(urls[2]), created_at=T0)]
    inode, after = os.stat(store.path).st_ino, document(store.path)
    assert len(after["articles"]) == len(after["alerts"]) == 3
    assert after["meta"]["1"]["revision"] == before["meta"]["1"]["revision"] + 3
    assert [store.wait_saved(s)[0].key for s in staged[:2]] == urls[:2]
    assert os.stat(store.path).st_ino == inode  # already on disk: no second write


@tinydb_only
def test_no_other_writer_gets_the_file_while_a_staged_poll_waits_for_the_disk(store: Store) -> None:
    """The file lock is held from the first staged change until the write that holds the last one."""
    other = FileLock(f"{store.path}.lock", timeout=0)
    staged = store.stage_poll(record(story("https://news.example.com/a", figure())))
    with pytest.raises(Timeout):
        other.acquire()
    store.wait_saved(staged)
    with other:
        assert document(store.path)["articles"]


@tinydb_only
def test_a_failed_shared_write_fails_every_poll_it_held_and_memory_returns_to_the_file(store: Store) -> None:
    store.save_poll(record(story("https://n.example.com/a", figure(value=1.0))))
    before = store.path.read_bytes()
    fine = store.stage_poll(record(story("https://n.example.com/b", figure(value=2.0))))
    unsaveable = replace(figure(value=3.0), value=object())
    broken = store.stage_poll(record(story("https://n.example.com/c", figure(value=3.0), unsaveable)))
    with pytest.raises(StoreError, match="cannot save to"):
        store.wait_saved(fine)
    with pytest.raises(StoreError, match=r"not saved to .*cannot save to"):
        store.wait_saved(broken)
    assert store.path.read_bytes() == before
    assert not store.is_known(guid=None, url="https://n.example.com/b")
    assert [o.value for o in store.history()] == [1.0]
    store.save_poll(record(story("https://n.example.com/d", figure(value=4.0))))  # the store goes on
    assert [o.value for o in store.history()] == [4.0, 1.0]


def test_closing_the_store_writes_what_is_staged(tmp_path: Path) -> None:
    with Store(tmp_path / "monitor.json") as store:
        store.stage_poll(record(story("https://n.example.com/a", figure())))
    with Store(tmp_path / "monitor.json") as reopened:
        assert reopened.is_known(guid=None, url="https://n.example.com/a")


@tinydb_only
def test_the_file_is_replaced_never_rewritten_in_place(store: Store) -> None:
    """Each write is a new file renamed over the old one: an open reader keeps the whole old version."""
    with open(store.path, "rb") as reader:
        old_inode = os.fstat(reader.fileno()).st_ino
        store.save_poll(record(story("https://news.example.com/a", figure())))
        assert os.stat(store.path).st_ino != old_inode
        assert json.loads(reader.read())["figures"] == {}


def test_temporary_files_of_killed_writers_are_removed_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "monitor.json"
    Store(path).close()
    leftover = tmp_path / ".monitor.json.12345-deadbeef.tmp"
    leftover.write_bytes(b'{"meta": {')
    with Store(path) as store:
        store.save_poll(record())
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "monitor.json",
        "monitor.json.index",
        "monitor.json.lock",
    ]


# --- feeds, articles, figures ------------------------------------------------------------------------------


def test_a_feed_never_polled_has_a_fresh_state(store: Store) -> None:
    assert store.feed_state("new") == FeedState("new")
    assert store.feed_states() == []


def test_feed_state_round_trips_with_utc_datetimes(store: Store) -> None:
    state = FeedState(
        "qianhai",
        etag='W/"abc"',
        last_modified="Sat, 01 Mar 2025 07:00:00 GMT",
        last_poll=T0,
        last_success=T0 - timedelta(hours=1),
        last_error="fetch: timeout after 10s (https://example.com/feed)",
        failures=2,
        next_retry=T0 + timedelta(minutes=20),
        seeded=True,
    )
    store.save_poll(PollRecord(state))
    store.save_poll(PollRecord(FeedState("bay", seeded=False)))
    assert store.feed_state("qianhai") == state
    assert store.feed_state("qianhai").last_poll.tzinfo is not None
    assert [s.name for s in store.feed_states()] == ["bay", "qianhai"]


def test_datetimes_in_other_zones_are_stored_as_utc_and_naive_ones_are_taken_as_utc(store: Store) -> None:
    hong_kong = timezone(timedelta(hours=8))
    store.save_poll(PollRecord(FeedState("a", last_poll=datetime(2025, 3, 1, 16, 0, tzinfo=hong_kong))))
    store.save_poll(PollRecord(FeedState("b", last_poll=datetime(2025, 3, 1, 8, 0))))
    assert table_rows(store, "feeds")[0]["last_poll"] == "2025-03-01T08:00:00.000000+00:00"
    assert store.feed_state("a").last_poll == store.feed_state("b").last_poll == T0
    assert store.feed_state("b").last_poll.utcoffset() == timedelta(0)


def test_is_known_by_guid_or_canonical_url_whatever_the_feed(store: Store) -> None:
    store.save_poll(record(story("https://news.example.com/a", guid="guid-a"), feed="one"))
    assert store.is_known(guid=None, url="https://news.example.com/a")
    assert store.is_known(guid="guid-a", url="https://elsewhere.example.com/moved")
    assert not store.is_known(guid="guid-b", url="https://news.example.com/b")
    assert not store.is_known(guid=None, url="https://news.example.com/b")


def test_the_same_content_stored_again_adds_no_figures_but_a_revision_does(store: Store) -> None:
    url = "https://news.example.com/a"
    store.save_poll(record(story(url, figure(value=1.0), content_hash="v1")))
    store.save_poll(record(story(url, figure(value=1.0), content_hash="v1")))
    assert [o.value for o in store.history()] == [1.0]
    store.save_poll(
        record(story(url, figure(value=2.0), content_hash="v2", fetched_at=T0 + timedelta(hours=1)))
    )
    assert [o.value for o in store.history()] == [2.0, 1.0]
    assert len(table_rows(store, "articles")) == 1


def test_a_stored_change_or_goal_reads_back_with_its_aspect(store: Store) -> None:
    """A revised article is compared with, and told from, its stored figures: a change stays a change."""
    url = "https://news.example.com/a"
    change = figure("qianhai.hk-firms-change.count", 300.0, aspect="change", direction="up")
    store.save_poll(
        record(story(url, figure(), change, figure("qianhai.hk-firms-target.count", aspect="target")))
    )

    assert [f.aspect for f in store.article_figures(url)] == ["level", "change", "target"]
    assert "aspect" not in table_rows(store, "figures")[0], "a level's row is as it was"


def test_lone_surrogates_from_odd_feeds_are_stored_as_replacement_characters(store: Store) -> None:
    store.save_poll(record(story("https://news.example.com/a", figure("bad \ud800 key"))))
    [observation] = store.history()
    assert observation.metric == "bad \ufffd key"


# --- latest, history, series -------------------------------------------------------------------------------


def test_latest_is_the_newest_observation_of_each_metric_by_observed_at(store: Store, clock: Clock) -> None:
    later = T0 + timedelta(days=1)
    store.save_poll(record(story("https://news.example.com/new", figure(value=2.0), fetched_at=later)))
    # Published later but observed earlier (a backfill): not the latest.
    store.save_poll(
        record(story("https://news.example.com/old", figure(value=1.0), published=later, fetched_at=T0))
    )
    latest = store.latest(["qianhai.hk-firms.count", "never.seen"])
    assert list(latest) == ["qianhai.hk-firms.count"]
    assert latest["qianhai.hk-firms.count"] == Observation.of(
        story("https://news.example.com/new", figure(value=2.0), fetched_at=later), figure(value=2.0)
    )


def test_latest_breaks_ties_by_insertion(store: Store) -> None:
    store.save_poll(record(story("https://news.example.com/a", figure(value=1.0), figure(value=2.0))))
    store.save_poll(record(story("https://news.example.com/b", figure(value=3.0))))
    assert store.latest(["qianhai.hk-firms.count"])["qianhai.hk-firms.count"].value == 3.0


def test_within_one_article_the_latest_value_is_its_first_exact_figure(store: Store) -> None:
    """ "10,577 enterprises … over 10,000 enterprises": both are stored; 10,577 is the latest value."""
    rounded = replace(figure(value=10_000.0), qualifier="more_than")
    store.save_poll(record(story("https://news.example.com/a", figure(value=10_577.0), rounded)))
    assert store.latest(["qianhai.hk-firms.count"])["qianhai.hk-firms.count"].value == 10_577.0
    assert len(store.history(metric="qianhai.hk-firms.count")) == 2


def test_history_is_newest_first_by_published_then_observed_at(store: Store) -> None:
    def at(hours: float) -> datetime:
        return T0 + timedelta(hours=hours)

    store.save_poll(
        record(story("https://n.example.com/1", figure(value=1), published=at(1), fetched_at=at(10)))
    )
    store.save_poll(
        record(story("https://n.example.com/2", figure(value=2), published=None, fetched_at=at(5)))
    )
    store.save_poll(
        record(story("https://n.example.com/3", figure(value=3), published=at(3), fetched_at=at(11)))
    )
    store.save_poll(
        record(story("https://n.example.com/4", figure(value=4), published=at(3), fetched_at=at(12)))
    )
    assert [o.value for o in store.history()] == [2, 4, 3, 1]
    assert store.history()[0].published is None and store.history()[0].observed_at == at(5)


def test_history_filters_by_metric_feed_and_a_half_open_date_range(store: Store) -> None:
    for n in range(6):
        when = T0 + timedelta(days=n)
        feed = "even" if n % 2 == 0 else "odd"
        figures = (figure(value=n), figure("other", value=n))
        store.save_poll(
            record(story(f"https://n.example.com/{n}", *figures, published=when, feed=feed), feed=feed)
        )
    assert [o.value for o in store.history(metric="qianhai.hk-firms.count")] == [5, 4, 3, 2, 1, 0]
    assert [o.value for o in store.history(metric="other", feed="even")] == [4, 2, 0]
    since, until = T0 + timedelta(days=1), T0 + timedelta(days=4)
    assert [o.value for o in store.history(metric="other", since=since, until=until)] == [3, 2, 1]
    assert [o.value for o in store.history(metric="other", limit=2)] == [5, 4]
    assert store.history(metric="nothing") == []
    assert len(store.history()) == 12


def test_series_gives_the_last_values_oldest_first(store: Store) -> None:
    for n in range(30):
        store.save_poll(
            record(story(f"https://n.example.com/{n}", figure(value=n), published=T0 + timedelta(n)))
        )
    assert store.series("qianhai.hk-firms.count", limit=3) == [27.0, 28.0, 29.0]
    assert store.series("qianhai.hk-firms.count") == [float(n) for n in range(10, 30)]
    assert store.series("never.seen") == []


def test_recent_lists_a_metric_in_history_order_as_it_grows(store: Store) -> None:
    """The kept order (built once, then added to) is history's: published, then observed, then insertion."""
    rng, metric = random.Random(7), "qianhai.hk-firms.count"
    for n in range(40):
        if n == 20:
            assert store.recent([metric], limit=5)[metric] == store.history(metric=metric, limit=5)
        published = rng.choice([None, T0 - timedelta(days=rng.randrange(5))])
        fetched = T0 + timedelta(hours=rng.randrange(3))  # out of insertion order, and ties
        url = f"https://n.example.com/{n}"
        store.save_poll(record(story(url, figure(value=n), published=published, fetched_at=fetched)))
    assert store.recent([metric], limit=50)[metric] == store.history(metric=metric)
    assert len(store.history(metric=metric)) == 40
    newest = store.recent([metric, "never.seen"], limit=3)
    assert newest == {metric: store.history(metric=metric, limit=3), "never.seen": []}


def test_a_fresh_process_reads_one_metrics_history_by_offset_as_the_writer_saw_it(
    tmp_path: Path, clock: Clock
) -> None:
    """A fresh process answers history(metric=...) from <store>.index without parsing the whole file, and
    TinyDB's own Query on the loaded document gives the same answer."""
    path = tmp_path / "monitor.json"
    with Store(path, now=clock) as writer:
        for n in range(40):
            figures = [figure(f"m{k}", value=n * 10 + k) for k in range(n % 5 + 1)]
            stamp = T0 + timedelta(hours=n)
            writer.save_poll(
                record(story(f"https://n.example.com/{n}", *figures, published=stamp), feed=f"f{n % 3}")
            )
        expected = {f"m{k}": writer.history(metric=f"m{k}", feed="f1", limit=5) for k in range(5)}
    with Store(path) as reader:
        assert reader.history(metric="m3", feed="f1", limit=5) == expected["m3"]
        assert not reader._batching.loaded  # nothing but the index and those rows was read
        assert {f"m{k}": reader.history(metric=f"m{k}", feed="f1", limit=5) for k in range(5)} == expected
        reader.feed_states()  # now the whole document is read: history by TinyDB's Query
        assert reader._batching.loaded
        assert {f"m{k}": reader.history(metric=f"m{k}", feed="f1", limit=5) for k in range(5)} == expected
        assert [o.value for o in reader.recent(["m4"], limit=3)["m4"]] == [394.0, 344.0, 294.0]


def test_an_index_that_does_not_describe_the_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "monitor.json"
    with Store(path) as writer:
        writer.save_poll(record(story("https://n.example.com/1", figure(value=1.0))))
        stale_index = path.with_name("monitor.json.index").read_bytes()
        writer.save_poll(record(story("https://n.example.com/2", figure(value=2.0))))
    path.with_name("monitor.json.index").write_bytes(stale_index)
    with Store(path) as reader:
        assert [o.value for o in reader.history(metric="qianhai.hk-firms.count")] == [2.0, 1.0]
    path.with_name("monitor.json.index").write_bytes(b"not json")
    with Store(path) as reader:
        assert [o.value for o in reader.history(metric="qianhai.hk-firms.count")] == [2.0, 1.0]


# --- metrics -----------------------------------------------------------------------------------------------


def test_the_metrics_table_keeps_the_latest_and_the_last_different_value(store: Store) -> None:
    for n, value in enumerate([100.0, 120.0, 120.0]):
        when = T0 + timedelta(days=n)
        store.save_poll(
            record(story(f"https://n.example.com/{n}", figure(value=value), published=when, fetched_at=when))
        )
    [row] = table_rows(store, "metrics")
    assert row == {
        "key": "qianhai.hk-firms.count",
        "label": "HK-funded enterprises in Qianhai",
        "unit": "enterprises",
        "latest_value": 120.0,
        "latest_published": "2025-03-03T08:00:00.000000+00:00",
        "latest_observed_at": "2025-03-03T08:00:00.000000+00:00",
        "latest_article_url": "https://n.example.com/2",
        "previous_value": 100.0,
        "previous_published": "2025-03-01T08:00:00.000000+00:00",
        "previous_observed_at": "2025-03-01T08:00:00.000000+00:00",
        "previous_article_url": "https://n.example.com/0",
        "observations": 3,
    }


# --- the alert outbox --------------------------------------------------------------------------------------


def test_an_alert_is_enqueued_once_per_key_whatever_its_state(store: Store, clock: Clock) -> None:
    assert [a.key for a in store.save_poll(record(alerts=(alert("k1"), alert("k1"), alert("k2"))))] == [
        "k1",
        "k2",
    ]
    assert store.save_poll(record(alerts=(alert("k1"),))) == []
    store.record_deliveries(
        [Delivery("k1", ts="1700000000.000100"), Delivery("k2", error="slack: rate limited")]
    )
    assert store.save_poll(record(alerts=(alert("k1"), alert("k2"), alert("k3")))) == [
        alert("k3", created_at=clock.now)
    ]
    assert len(table_rows(store, "alerts")) == 3


def test_pending_alerts_are_the_undelivered_ones_oldest_first(store: Store, clock: Clock) -> None:
    store.save_poll(record(alerts=(alert("late", created_at=T0 + timedelta(minutes=5)), alert("now"))))
    clock.advance(minutes=1)
    store.save_poll(record(alerts=(alert("later"),)))
    assert [a.key for a in store.pending_alerts()] == ["now", "later", "late"]
    blocks = ({"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}},)
    store.save_poll(record(alerts=(alert("blocks", blocks=blocks, thread_key="m"),)))
    [stored] = [a for a in store.pending_alerts() if a.key == "blocks"]
    assert stored == alert("blocks", blocks=blocks, thread_key="m", created_at=clock.now)


def test_deliveries_count_attempts_and_keep_errors_until_one_succeeds(store: Store, clock: Clock) -> None:
    store.save_poll(record(alerts=(alert("a"), alert("b"))))
    store.record_deliveries([Delivery("a", error="slack: 503"), Delivery("unknown", ts="1.0")])
    store.record_deliveries([Delivery("a", error="slack: channel_not_found", permanent=True)])
    pending = {a.key: a for a in store.pending_alerts()}
    assert (pending["a"].attempts, pending["a"].last_error) == (2, "slack: channel_not_found")
    clock.advance(minutes=3)
    store.record_deliveries([Delivery("a", ts="1700000000.000200"), Delivery("b", ts=None)])
    assert store.pending_alerts() == []
    stored = {row["key"]: row for row in table_rows(store, "alerts")}
    assert stored["a"] == {
        "key": "a",
        "channel": "#gba",
        "text": "alert a",
        "blocks": [],
        "created_at": "2025-03-01T08:00:00.000000+00:00",
        "sent_ts": "1700000000.000200",
        "attempts": 3,
        "last_error": None,
        "thread_key": None,
        "sent_at": "2025-03-01T08:03:00.000000+00:00",
    }
    assert stored["b"]["sent_at"] is not None  # the console sender has no ts, yet the alert was delivered


@tinydb_only
def test_no_deliveries_means_no_write(store: Store) -> None:
    before = document(store.path)["meta"]["1"]["revision"]
    store.record_deliveries([])
    assert document(store.path)["meta"]["1"]["revision"] == before


def test_a_metrics_thread_is_its_first_message_in_the_same_channel(store: Store, clock: Clock) -> None:
    """A story message starts the threads of the metrics it tells (``roots``); never another channel."""
    story = replace(alert("story"), roots=("m",))
    store.save_poll(record(alerts=(alert("policy", thread_key="m"), story)))
    store.record_deliveries([Delivery("policy", ts="111.1", channel="#policy")])
    assert store.thread_ts_in("#gba", "m") is None
    clock.advance(minutes=1)
    store.record_deliveries([Delivery("story", ts="222.2", channel="#gba")])
    assert (store.thread_ts_in("#gba", "m"), store.thread_ts_in("#policy", "m")) == ("222.2", "111.1")
    assert store.thread_ts_in("#gba", "other") is None


def test_a_story_messages_fields_and_its_channel_round_trip(store: Store, clock: Clock) -> None:
    told = alert("story", carries=("figure:m",), roots=("m",), thread_key="story")
    store.save_poll(record(alerts=(told,)))
    assert store.pending_alerts() == [replace(told, created_at=clock.now)]
    clock.advance(minutes=1)
    store.record_deliveries([Delivery("story", ts="111.1", channel="#gba")])
    [row] = table_rows(store, "alerts")
    assert (row["sent_channel"], row["carries"], row["roots"]) == ("#gba", ["figure:m"], ["m"])
    assert row["sent_at"] == "2025-03-01T08:01:00.000000+00:00"


def test_a_dropped_alert_is_kept_unsent_but_never_pending_until_retried(store: Store, clock: Clock) -> None:
    store.save_poll(record(alerts=(alert("a"), alert("b"), alert("c"))))
    store.record_deliveries([Delivery("a", error="slack: channel_not_found", permanent=True, route="r")])
    clock.advance(minutes=1)
    assert store.drop_alerts(["b", "unknown"]) == ["b"]
    assert [a.key for a in store.pending_alerts()] == ["a", "c"]
    unsent = {a.key: a for a in store.unsent_alerts()}
    assert list(unsent) == ["a", "b", "c"] and unsent["b"].dropped_at == clock.now
    assert (unsent["a"].blocked, unsent["a"].attempted_at) == ("r", T0)

    store.record_deliveries([Delivery("c", ts="1.1", channel="#gba")])
    assert store.retry_alerts(["c", "b", "a", "unknown"]) == ["b", "a"], "a sent alert is left alone"
    assert store.drop_alerts(["c"]) == []
    pending = {a.key: a for a in store.pending_alerts()}
    assert list(pending) == ["a", "b"]
    assert (pending["a"].blocked, pending["a"].attempted_at, pending["b"].dropped_at) == (None, None, None)
    assert pending["a"].attempts == 1, "a retry forgets the error that held it, not the attempts made"


def test_the_heartbeat_is_read_without_opening_the_store(store: Store, storage: StorageSettings) -> None:
    assert read_heartbeat(storage.path) is None
    beat = Heartbeat(at=T0, started_at=T0 - timedelta(hours=1), pid=4321, last_success=T0,
                     failing=(("qianhai", T0 - timedelta(minutes=5)),), oldest_pending=T0)  # fmt: skip
    store.write_heartbeat(beat)
    store.write_heartbeat(replace(beat, pid=1234))
    assert read_heartbeat(storage.path) == replace(beat, pid=1234)


# --- retention ---------------------------------------------------------------------------------------------


def test_retention_prunes_old_figures_and_articles_but_keeps_each_metrics_latest(
    store: Store, clock: Clock
) -> None:
    old, recent = T0 - timedelta(days=100), T0 - timedelta(days=2)
    store.save_poll(
        record(story("https://n.example.com/old", figure(value=1), figure("lonely", value=7), fetched_at=old))
    )
    store.save_poll(record(story("https://n.example.com/bare", fetched_at=old)))
    store.save_poll(record(story("https://n.example.com/new", figure(value=2), fetched_at=recent)))
    size_before = store.path.stat().st_size if isinstance(store, Store) else 0
    assert store.retention(30) == (1, 1)
    assert [(o.metric, o.value) for o in store.history()] == [("qianhai.hk-firms.count", 2), ("lonely", 7)]
    assert store.is_known(
        guid=None, url="https://n.example.com/old"
    )  # the article of a metric's latest figure
    assert not store.is_known(guid=None, url="https://n.example.com/bare")
    assert store.latest(["lonely"])["lonely"].value == 7
    if isinstance(store, Store):
        assert store.path.stat().st_size < size_before


def test_prune_up_to_a_date_is_retention_by_date(store: Store) -> None:
    store.save_poll(
        record(story("https://n.example.com/old", figure(value=1), fetched_at=T0 - timedelta(days=9)))
    )
    store.save_poll(record(story("https://n.example.com/new", figure(value=2), fetched_at=T0)))
    store.save_poll(record(story("https://n.example.com/bare", fetched_at=T0 - timedelta(days=9))))
    assert store.prune(T0 - timedelta(days=10)) == (0, 0)
    assert store.prune(T0 - timedelta(days=1)) == (2, 1)
    assert [o.value for o in store.history()] == [2]


def test_retention_removes_old_articles_without_kept_figures(store: Store) -> None:
    store.save_poll(record(story("https://n.example.com/bare", fetched_at=T0 - timedelta(days=40))))
    store.save_poll(record(story("https://n.example.com/fresh", fetched_at=T0)))
    assert store.retention(30) == (1, 0)
    assert not store.is_known(guid=None, url="https://n.example.com/bare")
    assert store.is_known(guid=None, url="https://n.example.com/fresh")


def test_retention_days_prune_during_save_poll_at_most_hourly(storage: StorageSettings, clock: Clock) -> None:
    with open_store(replace(storage, retention_days=7), now=clock) as store:
        store.save_poll(record(story("https://n.example.com/a", figure(value=1), fetched_at=T0)))
        store.save_poll(record(story("https://n.example.com/b", figure(value=2), fetched_at=T0)))
        clock.advance(days=8)
        store.save_poll(record(story("https://n.example.com/c", figure("other"), fetched_at=clock.now)))
        assert [o.value for o in store.history(metric="qianhai.hk-firms.count")] == [2]
        store.save_poll(record(story("https://n.example.com/d", figure("third"), fetched_at=T0)))
        clock.advance(minutes=30)
        store.save_poll(record())
        assert len(store.history()) == 3  # the old "third" figure waits for the next hourly prune...
        clock.advance(minutes=31)
        store.save_poll(record())
        assert len(store.history()) == 3  # ...which keeps it anyway: it is its metric's latest


# --- schema versions and broken files ----------------------------------------------------------------------


def test_a_newer_schema_is_refused_by_name_and_the_file_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "monitor.json"
    with Store(path) as store:
        store.save_poll(record(story("https://n.example.com/a", figure())))
    newer = document(path)
    newer["meta"]["1"]["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(newer))
    before = path.read_bytes(), path.stat().st_mtime_ns
    with pytest.raises(
        StoreError, match=rf"{re.escape(str(path))} has schema version {SCHEMA_VERSION + 1}, newer"
    ):
        Store(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


BROKEN = {
    "truncated": (lambda good: good[: len(good) // 2], r"not JSON: "),
    "hand-edited": (lambda good: good.replace(b'"feeds":{', b'"feeds":{,', 1), r"not JSON: "),
    "empty": (lambda good: b"", r"the file is empty"),
    "a list": (lambda good: b"[1, 2]", r"the top level is a list, not an object of tables"),
    "a table that is a list": (
        lambda good: good.replace(b'"alerts":{}', b'"alerts":[]'),
        r"table 'alerts' is a list",
    ),
    "a row that is a string": (
        lambda good: good.replace(b'"figures":{', b'"figures":{"9":"x",'),
        r"figures row '9'",
    ),
    "a figure without metric": (
        lambda good: good.replace(b'{"metric":', b'{"metrik":'),
        r"figures row 1: no 'metric'",
    ),
    "a bad date": (
        lambda good: good.replace(b'"observed_at":"2025', b'"observed_at":"yesterday'),
        r"figures row 1",
    ),
    "a bad schema version": (
        lambda good: good.replace(b'"schema_version":1', b'"schema_version":"1"'),
        r"not a version",
    ),
    "someone else's tinydb file": (lambda good: b'{"_default": {"1": {"x": 1}}}', r"not gba-monitor's"),
}


@pytest.mark.parametrize("damage", list(BROKEN))
def test_a_broken_file_is_refused_with_its_path_and_left_untouched(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "monitor.json"
    with Store(path) as store:
        store.save_poll(record(story("https://n.example.com/a", figure())))
    damaged = BROKEN[damage][0](path.read_bytes())
    path.write_bytes(damaged)
    where = re.escape(str(path))
    expected = rf"^store: {where} is not a readable store \(.*{BROKEN[damage][1]}.*\); fix or move it$"
    with pytest.raises(StoreError, match=expected):
        Store(path)
    assert path.read_bytes() == damaged
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".bak"] == []


@tinydb_only
def test_a_store_broken_while_open_is_refused_and_not_overwritten(store: Store) -> None:
    store.save_poll(record(story("https://n.example.com/a", figure())))
    store.path.write_bytes(b'{"meta": ')
    with pytest.raises(StoreError, match="is not a readable store"):
        store.save_poll(record())
    assert store.path.read_bytes() == b'{"meta": '


def test_a_version_0_file_is_migrated_and_the_original_kept_as_a_backup(tmp_path: Path) -> None:
    """Version 0 is a bare TinyDB file without the meta table, as TinyDB(path) or a prototype leaves it."""
    path = tmp_path / "monitor.json"
    old = {"_default": {}, "feeds": {"1": {"name": "qianhai", "etag": "x", "failures": 1, "seeded": True}}}
    path.write_text(json.dumps(old))
    with Store(path) as store:
        assert store.feed_state("qianhai") == FeedState("qianhai", etag="x", failures=1, seeded=True)
    assert list(document(path)) == TABLES
    assert document(path)["meta"]["1"]["schema_version"] == SCHEMA_VERSION
    assert json.loads(path.with_name("monitor.json.v0.bak").read_text()) == old


def test_migrations_run_in_order_from_the_files_version_to_ours() -> None:
    steps: list[int] = []

    def step(version: int):
        def lift(doc: dict) -> dict:
            steps.append(version)
            return doc | {"meta": {"1": {"schema_version": version + 1}}}

        return lift

    fake = {1: step(1), 2: step(2), 3: step(3)}
    migrated = migrate({"meta": {"1": {"schema_version": 2}}}, migrations=fake, to=4)
    assert (steps, migrated["meta"]["1"]["schema_version"]) == ([2, 3], 4)
    with pytest.raises(StoreError, match="no migration from schema version 1"):
        migrate({"meta": {"1": {"schema_version": 1}}}, migrations={}, to=2)


@tinydb_only
def test_a_failed_write_leaves_the_file_and_memory_as_they_were(store: Store) -> None:
    store.save_poll(record(story("https://n.example.com/a", figure(value=1.0))))
    before = store.path.read_bytes()
    unsaveable = replace(figure(value=2.0), value=object())
    with pytest.raises(StoreError, match="cannot save to"):
        store.save_poll(record(story("https://n.example.com/b", figure(value=2.0), unsaveable)))
    assert store.path.read_bytes() == before
    assert not store.is_known(guid=None, url="https://n.example.com/b")
    assert [o.value for o in store.history()] == [1.0]


# --- the serialization -------------------------------------------------------------------------------------

rows = st.fixed_dictionaries(
    {
        "metric": st.sampled_from(["a", "b", "ü", 'q"uote']),
        "value": st.floats(allow_nan=False, allow_infinity=False),
        "text": st.text().filter(lambda text: not any(0xD800 <= ord(c) <= 0xDFFF for c in text)),
    }
)


operations = st.lists(
    st.tuples(
        st.sampled_from(["insert", "replace", "delete", "write"]), st.sampled_from(["figures", "other"]), rows
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(operations)
def test_chunked_writes_equal_a_whole_orjson_dump_and_index_every_row(ops: list) -> None:
    """Reused chunk bytes never go stale, and every indexed row is found at its offset."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.json"
        storage = AtomicJSONStorage(path, index=("figures", "metric"), chunk_rows=3)
        meta = {"1": {"revision": 0, "schema_version": SCHEMA_VERSION}}
        doc: dict = {"meta": meta, "figures": {}, "other": {}}
        next_id = 1
        for op, table, row in [*ops, ("write", "figures", {})]:
            if op == "insert":
                doc[table][str(next_id)] = row
                next_id += 1
            elif op in ("replace", "delete") and doc[table]:
                doc_id = random.Random(next_id).choice(list(doc[table]))
                if op == "replace":
                    doc[table][doc_id] = dict(row)
                else:
                    del doc[table][doc_id]
            elif op == "write":
                doc["meta"]["1"] = doc["meta"]["1"] | {"revision": doc["meta"]["1"]["revision"] + 1}
                storage.write(doc)
                assert path.read_bytes() == orjson.dumps(doc)
                for metric in ["a", "b", "ü", 'q"uote']:
                    expected = [(int(i), r) for i, r in doc["figures"].items() if r["metric"] == metric]
                    assert storage.rows_where(metric) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(rows, max_size=30))
def test_the_storage_writes_what_orjson_writes_and_tinydb_reads_it_back(figures: list) -> None:
    """Through AtomicJSONStorage, TinyDB's own tables write the bytes orjson would and read the same rows."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.json"
        db = TinyDB(path, storage=AtomicJSONStorage)
        db.table("figures").insert_multiple(figures)
        db.close()
        assert path.read_bytes() == orjson.dumps(AtomicJSONStorage(path).read())
        reopened = TinyDB(path, storage=AtomicJSONStorage)
        assert reopened.table("figures").all() == figures
        for metric in ["a", "ü", 'q"uote']:
            expected = [row for row in figures if row["metric"] == metric]
            assert reopened.table("figures").search(where("metric") == metric) == expected
        reopened.close()


# --- locks, threads and processes --------------------------------------------------------------------------


def test_a_second_scheduler_on_the_same_store_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "monitor.json"
    first = Store(path)
    first.lock_scheduler()
    first.lock_scheduler()  # taking it again is harmless
    with (
        Store(path) as second,
        pytest.raises(StoreLocked, match=f"^store: another scheduler is already running on {path}$"),
    ):
        second.lock_scheduler()
    first.close()
    with Store(path) as third:
        third.lock_scheduler()


def test_a_reader_process_sees_a_writers_changes_without_reopening(tmp_path: Path) -> None:
    path = tmp_path / "monitor.json"
    with Store(path) as writer, Store(path) as reader:
        assert reader.feed_states() == []
        writer.save_poll(record(story("https://n.example.com/a", figure())))
        assert reader.is_known(guid=None, url="https://n.example.com/a")
        reader.save_poll(
            record(story("https://n.example.com/b", figure()))
        )  # its cached copy is stale: reloads
        assert writer.is_known(guid=None, url="https://n.example.com/b")
        assert len(writer.history()) == len(reader.history()) == 2


def test_threads_sharing_one_store_lose_nothing(store: Store) -> None:
    def work(worker: int) -> None:
        for n in range(25):
            url = f"https://n.example.com/{worker}/{n}"
            store.save_poll(record(story(url, figure(value=n)), alerts=(alert(url),), feed=f"feed-{worker}"))
            store.history(metric="qianhai.hk-firms.count", limit=3)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.history()) == len(store.pending_alerts()) == 100
    assert table_rows(store, "metrics")[0]["observations"] == 100


def writer_process(path: Path, name: str, count: int, threads: int = 0) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(WRITER), str(path), name, str(count), str(threads)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )


def assert_holds(path: Path, names_urls: dict[str, list[str]]) -> None:
    """Every acknowledged poll of each writer is in the store: its article, figures, metric and alert."""
    json.loads(path.read_text(encoding="utf-8"))  # the whole file parses, independently of the store
    with Store(path) as store:
        alerts = {a.key for a in store.pending_alerts()}
        for name, urls in names_urls.items():
            stored = {o.article_url for o in store.history(metric=f"writer.{name}")}
            for url in urls:
                assert store.is_known(guid=None, url=url), url
                assert url in stored and f"story:{url}" in alerts, url
            if urls:
                assert len(store.history(metric=f"writer.{name}")) >= FIGURES * len(urls)


@pytest.mark.slow
def test_two_writer_processes_at_once_lose_no_update_and_readers_never_see_a_torn_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.json"
    Store(path).close()
    writers = {name: writer_process(path, name, 60) for name in ("left", "right")}
    reads = 0
    while any(process.poll() is None for process in writers.values()):
        document(path)  # a whole JSON document every time
        with Store(path) as reader:
            reader.history(metric="writer.shared")
            reader.pending_alerts()
        reads += 1
    assert reads > 3
    acked = {}
    for name, process in writers.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        acked[name] = out.split()
    assert [len(urls) for urls in acked.values()] == [60, 60]
    assert_holds(path, acked)
    with Store(path) as store:
        assert len(store.history(metric="writer.shared")) == 120
        shared = next(r for r in document(path)["metrics"].values() if r["key"] == "writer.shared")
        assert shared["observations"] == 120


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_an_acknowledged_poll(tmp_path: Path) -> None:
    """30 times: a writer saves polls in a loop and is SIGKILLed at a random moment; the file must then load
    and hold every poll the writer acknowledged (after save_poll returned) before it died."""
    path = tmp_path / "monitor.json"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    acked: dict[str, list[str]] = {}
    for kill in range(30):
        name = f"round{kill}"
        process = writer_process(path, name, 0)
        first = process.stdout.readline()  # type: ignore[union-attr]
        time.sleep(rng.uniform(0.0, 0.12))
        process.send_signal(signal.SIGKILL)
        rest, err = process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL, f"seed {seed}, kill {kill}: {err}"
        lines = (first + rest).split("\n")
        acked[name] = [line for line in lines[:-1] if line]  # the last piece may be cut off mid-line
        assert acked[name], f"seed {seed}, kill {kill}: the writer never acknowledged a poll: {err}"
        assert_holds(path, {name: acked[name]})
    assert_holds(path, acked)


@pytest.mark.slow
def test_sigkill_while_threads_share_writes_never_loses_an_acknowledged_poll(tmp_path: Path) -> None:
    """15 times: four threads save polls at once (staged, then written together) and the process is SIGKILLed
    at a random moment; every poll a thread acknowledged (after save_poll returned) must be in the file."""
    path = tmp_path / "monitor.json"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    acked: dict[str, list[str]] = {}
    for kill in range(15):
        process = writer_process(path, f"round{kill}", 0, threads=4)
        first = process.stdout.readline()  # type: ignore[union-attr]
        time.sleep(rng.uniform(0.0, 0.12))
        process.send_signal(signal.SIGKILL)
        rest, err = process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL, f"seed {seed}, kill {kill}: {err}"
        lines = (first + rest).split("\n")[:-1]  # the last piece may be cut off mid-line
        assert lines, f"seed {seed}, kill {kill}: no thread acknowledged a poll: {err}"
        for url in filter(None, lines):
            acked.setdefault(url.rsplit("/", 2)[1], []).append(url)
        assert_holds(path, acked)


def test_a_metric_is_represented_by_one_figure_per_story_everywhere(store: Store) -> None:
    """ "Over 10,000" beside "10,577" in one story: the exact figure is the metric's latest value in the
    summary, in latest() and in change detection alike (``records.key_figures`` decides it once)."""
    exact = figure(value=10_577.0)
    rounded = replace(
        figure(value=10_000.0), qualifier="more_than", text="over 10,000 Hong Kong-funded enterprises"
    )
    store.save_poll(record(story("https://news.example.com/a", exact, rounded)))
    [summary] = store.metrics()
    assert summary.latest_value == 10_577 and summary.previous_value is None
    assert store.latest([exact.metric])[exact.metric].value == 10_577
    assert key_figures((exact, rounded)) == [exact]
