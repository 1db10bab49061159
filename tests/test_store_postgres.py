"""What only the PostgreSQL engine has: its versioned schema, the database's own constraints on identities,
and a poll's record as one transaction. The behaviour both engines share is tests/test_store.py's contract."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import psycopg
import pytest

from monitor.errors import StoreError
from monitor.records import FeedState, PollRecord
from monitor.settings import StorageSettings
from monitor.store import open_store
from tests.test_store import alert, figure, record, story


def open_database(url: str, tmp_path: Path):
    return open_store(StorageSettings(path=tmp_path / "unused.json", url=url))


def test_a_new_database_gets_each_migration_once(database_url: str, tmp_path: Path) -> None:
    with open_database(database_url, tmp_path) as store:
        store.save_poll(record(story("https://n.example.com/a", figure())))
    with open_database(database_url, tmp_path) as store:
        assert store.info().schema_version == 3
        assert len(store.history()) == 1
    with psycopg.connect(database_url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [1, 2, 3]
    assert not (tmp_path / "unused.json").exists()


def test_a_newer_schema_is_refused_by_name(database_url: str, tmp_path: Path) -> None:
    open_database(database_url, tmp_path).close()
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (99)")
    with pytest.raises(
        StoreError, match=r"/t_\w+ has schema version 99, newer than this gba-monitor's \(3\)"
    ):
        open_database(database_url, tmp_path)


def test_the_database_itself_keeps_story_urls_guids_and_alert_keys_unique(
    database_url: str, tmp_path
) -> None:
    open_database(database_url, tmp_path).close()
    with psycopg.connect(database_url) as conn:
        constraints = {
            name
            for (name,) in conn.execute(
                "SELECT conname FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text"
                " IN ('articles', 'alerts')"
            )
        }
        indexes = {
            name for (name,) in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'figures'")
        }
    assert constraints == {"articles_url_key", "articles_guid_key", "alerts_key_key"}
    assert "figures_metric_published" in indexes


def test_a_guid_moves_to_the_newest_story_that_carries_it(database_url: str, tmp_path: Path) -> None:
    """As in the TinyDB index: a GUID found under a new URL names the story stored last."""
    with open_database(database_url, tmp_path) as store:
        store.save_poll(record(story("https://n.example.com/a", guid="g")))
        store.save_poll(record(story("https://n.example.com/b", guid="g", content_hash="c2")))
        assert store.find_article(guid="g", url="https://elsewhere/").url == "https://n.example.com/b"


def test_a_poll_that_fails_midway_leaves_nothing_behind(database_url: str, tmp_path: Path) -> None:
    """One transaction: a poll whose alert cannot be stored stores none of its stories either."""
    broken = alert("k", blocks=({"bad": float("nan")},))  # JSON has no NaN: the database refuses it
    with open_database(database_url, tmp_path) as store:
        with pytest.raises(StoreError, match=r"^store: postgresql://postgres@127\.0\.0\.1:\d+/t_\w+: "):
            store.save_poll(record(story("https://n.example.com/a", figure()), alerts=(broken,)))
        assert store.history() == [] and store.articles() == [] and store.feed_states() == []
        [queued] = store.save_poll(PollRecord(FeedState("qianhai"), alerts=(alert("k"),)))
        assert queued.key == "k"  # the failed poll enqueued nothing


def taking(claim: Callable[[], AbstractContextManager[None]]) -> threading.Event:
    """An event set once ``claim``, taken in a thread of its own (and released at once), was held."""
    taken = threading.Event()

    def take() -> None:
        with claim():
            taken.set()

    threading.Thread(target=take, daemon=True).start()
    return taken


def test_a_channel_of_the_outbox_is_held_by_one_worker_and_the_whole_outbox_waits_for_every_channel(
    database_url: str, tmp_path: Path
) -> None:
    """Two workers: #b while the first holds #a; #a and the whole outbox once it lets go (not before)."""
    with open_database(database_url, tmp_path) as first, open_database(database_url, tmp_path) as second:
        with first.delivering("#a"):
            assert taking(lambda: second.delivering("#b")).wait(30)
            same_channel, whole = taking(lambda: second.delivering("#a")), taking(second.delivering)
            assert not same_channel.wait(0.5) and not whole.is_set()
        assert same_channel.wait(30) and whole.wait(30)


def test_a_worker_reads_again_the_articles_another_worker_changed(database_url: str, tmp_path: Path) -> None:
    """A store keeps the articles it parsed by row version: another worker's revision of one is read again,
    and its new ones are read."""
    with open_database(database_url, tmp_path) as first, open_database(database_url, tmp_path) as second:
        first.save_poll(record(story("https://n.example.com/a")))
        assert [a.content_hash for a in first.articles()] == ["c1"]
        second.save_poll(record(story("https://n.example.com/a", content_hash="c2")))
        second.save_poll(record(story("https://n.example.com/b", content_hash="c3")))
        hashes = {a.url: a.content_hash for a in first.articles()}
        assert hashes == {"https://n.example.com/a": "c2", "https://n.example.com/b": "c3"}
        assert first.articles() == second.articles()


def test_connections_the_server_drops_cost_one_failed_call_and_the_pool_opens_new_ones(
    database_url: str, tmp_path: Path
) -> None:
    """A database restart or an idle timeout closes the pool's connections under it: a call on a dropped one
    fails as a StoreError (the poll records it and retries), and the next calls get fresh connections."""
    with open_database(database_url, tmp_path) as store:
        store.save_poll(record(feed="bay"))
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        failures = 0
        for _ in range(10):  # the pool holds at most a handful; each dropped one fails once, then is replaced
            try:
                assert store.feed_state("bay").name == "bay"
                break
            except StoreError:
                failures += 1
        else:
            pytest.fail("the store never recovered from its connections being dropped")
        assert failures <= 8
        assert all(store.feed_state("bay").name == "bay" for _ in range(5))
