"""identity.py: which entries are stories already stored, and which stored story a new page repeats."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.identity import identify, worth_reading
from monitor.records import Entry, Story
from monitor.settings import FeedSettings
from monitor.signatures import body_signature, similarity
from monitor.store import Store
from tests.test_store import T0, Clock, figure, record, story

HERALD = FeedSettings(
    name="herald", url="https://herald.example.com/feed.xml", interval_s=900, outlet="Herald"
)
DAILY = FeedSettings(name="daily", url="https://daily.example.com/rss", interval_s=900, outlet="Daily")
LONG = 500  # characters of body: enough for the body's fingerprint to count


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "monitor.json", now=Clock()) as opened:
        yield opened


def read(url: str, *, feed: FeedSettings = HERALD, value: float = 10_577, **changes: object) -> Story:
    """The story a poll of ``feed`` read from ``url``."""
    made = story(url, figure(value=value), feed=feed.name, **changes)
    return replace(made, outlet=feed.outlet or feed.name, text_chars=LONG)


def stored(store: Store, *stories: Story) -> None:
    store.save_poll(record(*stories))


def test_an_unseen_entry_is_worth_reading_and_a_stored_one_is_not_until_its_feed_says_it_was_updated(
    store: Store,
) -> None:
    first = read("https://herald.example.com/a")
    assert worth_reading(first.entry, store)
    stored(store, first)
    assert not worth_reading(first.entry, store)
    assert worth_reading(replace(first.entry, updated=T0 + timedelta(hours=2)), store)


def test_a_new_story_is_new_and_the_same_url_read_again_with_the_same_figures_is_only_refreshed(
    store: Store,
) -> None:
    first = read("https://herald.example.com/a")
    found = identify([first.entry], {first.entry: first}, HERALD, store)
    assert found.new == [first] and not found.revised
    stored(store, first)
    again = read("https://herald.example.com/a", content_hash="c2")
    found = identify([again.entry], {again.entry: again}, HERALD, store)
    assert (found.new, found.revised, found.refreshed) == ([], [], [again])


def test_a_stored_story_read_again_with_another_figure_is_revised(store: Store) -> None:
    stored(store, read("https://herald.example.com/a"))
    again = read("https://herald.example.com/a", content_hash="c2", value=11_020)
    found = identify([again.entry], {again.entry: again}, HERALD, store)
    [revised] = found.revised
    assert revised.story.url == "https://herald.example.com/a" and found.new == []


def test_another_outlet_with_the_same_body_is_a_second_source_of_one_story_not_a_new_story(
    store: Store,
) -> None:
    stored(store, read("https://herald.example.com/a"))
    copy = read("https://daily.example.com/b", feed=DAILY)  # the same content hash, another URL
    found = identify([copy.entry], {copy.entry: copy}, DAILY, store)
    assert found.new == [] and found.echoes == []
    [sighting] = found.sightings
    assert sighting.article_url == "https://herald.example.com/a" and sighting.source.feed == "daily"


def test_a_listed_story_seen_again_elsewhere_lists_with_its_new_source(store: Store) -> None:
    """Each poll lists the week's stories for the near-twin check; a sighting rewrites a listed story's row,
    and the next listing shows the second source."""
    stored(store, read("https://herald.example.com/a"))
    [before] = store.articles()
    copy = read("https://daily.example.com/b", feed=DAILY)
    found = identify([copy.entry], {copy.entry: copy}, DAILY, store)
    store.save_poll(replace(record(feed="daily"), sightings=found.sightings))
    [after] = store.articles()
    assert [s.feed for s in before.sources] == ["herald"]
    assert sorted(s.feed for s in after.sources) == ["daily", "herald"]


def test_the_same_story_twice_in_one_poll_is_one_new_story(store: Store) -> None:
    first = read("https://herald.example.com/a")
    second = read("https://herald.example.com/a-amp", guid="other")
    found = identify([first.entry, second.entry], {first.entry: first, second.entry: second}, HERALD, store)
    assert found.new == [first]
    assert [s.article_url for s in found.sightings] == ["https://herald.example.com/a"]


def test_an_entry_whose_page_could_not_be_read_is_left_for_the_next_poll(store: Store) -> None:
    entry = Entry(feed="herald", title="Unread", link="https://herald.example.com/unread")
    found = identify([entry], {}, HERALD, store)
    assert (found.new, found.sightings) == ([], ())
    assert worth_reading(entry, store)


def test_stories_come_out_oldest_first_so_a_metric_moves_in_news_order(store: Store) -> None:
    late = read("https://herald.example.com/late", published=T0, content_hash="late")
    early = read("https://herald.example.com/early", published=T0 - timedelta(days=1), content_hash="early")
    found = identify([late.entry, early.entry], {late.entry: late, early.entry: early}, HERALD, store)
    assert [s.url for s in found.stored] == [early.url, late.url]


def test_nothing_is_written_by_telling_identity(store: Store, tmp_path: Path) -> None:
    before = (tmp_path / "monitor.json").read_bytes() if (tmp_path / "monitor.json").exists() else b""
    first = read("https://herald.example.com/a")
    identify([first.entry], {first.entry: first}, HERALD, store)
    after = (tmp_path / "monitor.json").read_bytes() if (tmp_path / "monitor.json").exists() else b""
    assert before == after


def test_a_signature_made_by_another_minhash_compares_as_unlike_anything() -> None:
    """A signature stored before the MinHash changed (datasketch's plain hex) or by a later algorithm is never
    compared value by value with today's: its values would be noise, so it is no near twin of anything."""
    body = " ".join(f"Qianhai registered {n} Hong Kong-funded enterprises in month {n}." for n in range(40))
    mine = body_signature(body).minhash
    assert similarity(mine, mine) == 1.0
    plain = mine.split(":", 1)[1]  # the same values, as datasketch-era signatures were stored
    assert similarity(mine, plain) == similarity(plain, mine) == similarity(plain, plain) == 0.0
