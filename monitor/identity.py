"""A story's identity: which entries are stories already stored, and which stored story a new page repeats.

Identity is layered: a story's GUID, then its canonical URL, then its content fingerprint, then its folded
headline within a day. A changed GUID or an edited headline over the same body, or the same story from another
feed or outlet, is one story with several sources, never a second alert. A story seen before whose feed entry
says it was updated is read again, and told as revised only when its figures changed. ``poll`` asks before
reading pages (``worth_reading``) and after (``identify``), under the lock that makes feeds take turns here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .changes import revision, twin_of
from .feeds import canonical_url
from .records import Alert, Entry, Sighting, Source, StoredArticle, Story, StoryRevised
from .settings import FeedSettings
from .signatures import BodySignature, near_duplicate
from .slack import render_sighting
from .store import MonitorStore

SAME_STORY_WINDOW = timedelta(hours=24)  # the same folded headline this close in time is the same story
NEAR_DUPLICATE_WINDOW = timedelta(days=3)  # outlets re-run a wire story within days, not weeks


@dataclass
class Found:
    """What one poll's entries turned out to be, once each story's identity is told."""

    new: list[Story] = field(default_factory=list)  # first seen: a NewStory each
    echoes: list[Story] = field(default_factory=list)  # another outlet's page of a stored story
    revised: list[StoryRevised] = field(default_factory=list)  # read again, with other figures
    refreshed: list[Story] = field(default_factory=list)  # read again, same figures: nothing to tell
    sightings: tuple[Sighting, ...] = ()

    @property
    def stored(self) -> tuple[Story, ...]:
        """The stories whose figures are stored, oldest first so a metric's changes chain in news order."""
        stories = [*self.new, *self.echoes, *(change.story for change in self.revised)]
        return tuple(sorted(stories, key=lambda story: story.published or story.fetched_at))


def worth_reading(entry: Entry, store: MonitorStore) -> bool:
    """True for an entry not stored yet, and for one whose feed says it was updated since it was read."""
    assert entry.link is not None
    known = store.find_article(guid=entry.guid, url=canonical_url(entry.link))
    return known is None or _updated_since(entry, known)


def _updated_since(entry: Entry, known: StoredArticle) -> bool:
    return entry.updated is not None and (known.updated is None or entry.updated > known.updated)


def identify(
    entries: Sequence[Entry], read: Mapping[Entry, Story], feed: FeedSettings, store: MonitorStore
) -> Found:
    """Each entry against the stored stories (and the ones before it in this poll): GUID, canonical URL,
    content fingerprint, then folded headline within a day. ``read`` holds the stories read, by entry."""
    found, sightings = Found(), []
    nearby = _StoredNearby(store, [s.published or s.fetched_at for s in read.values()])
    for entry in entries:
        assert entry.link is not None
        url, story = canonical_url(entry.link), read.get(entry)
        known = store.find_article(guid=entry.guid, url=url)
        if known is not None:
            if not any(s.feed == feed.name and s.url == url for s in known.sources):
                source = Source(feed.name, feed.outlet or feed.name, url, title=entry.title, guid=entry.guid)
                sightings.append(Sighting(known.url, source))
            if story is not None:
                _read_again(replace(story, url=known.url), known, store, found)
            continue
        if story is None:
            continue  # its page could not be read: the next poll tries again
        twin = (
            twin_of(story, [*found.new, *found.echoes], within=SAME_STORY_WINDOW)
            or store.find_same_story(
                content_hash=story.fingerprint,
                headline=story.headline_key,
                at=story.published or story.fetched_at,
                within=SAME_STORY_WINDOW,
            )
            or near_twin(
                story, [*found.new, *found.echoes], nearby.around(story.published or story.fetched_at)
            )
        )
        if twin is None:
            found.new.append(story)
            continue
        sightings.append(Sighting(twin.url, story.source))
        if not story.content_hash or story.content_hash != twin.content_hash:
            found.echoes.append(story)  # another outlet's own page: its figures are news, the story is not
    found.sightings = tuple(sightings)
    return found


class _StoredNearby:
    """The stored stories a poll's new ones may be near twins of, listed once per poll: listing them for each
    new story made a poll of N new stories cost N listings of the whole window (minutes for 2,000)."""

    def __init__(self, store: MonitorStore, times: Sequence[datetime]) -> None:
        self._store, self._times = store, times
        self._listed: list[StoredArticle] | None = None

    def around(self, when: datetime) -> list[StoredArticle]:
        """The stored stories published (else fetched) within NEAR_DUPLICATE_WINDOW of ``when``."""
        window = NEAR_DUPLICATE_WINDOW
        if self._listed is None:
            since, until = min(self._times, default=when) - window, max(self._times, default=when) + window
            self._listed = self._store.articles(
                since=min(since, when - window), until=max(until, when + window)
            )
        return [a for a in self._listed if abs((a.published or a.fetched_at or when) - when) <= window]


def near_twin(
    story: Story, earlier: Sequence[Story], stored: Sequence[StoredArticle]
) -> Story | StoredArticle | None:
    """The story (of this poll, else of ``stored``) published within NEAR_DUPLICATE_WINDOW that ``story``'s
    body re-edits: another outlet's copy of a wire story, with its own headline and a sentence more or less.

    Only another outlet's: one outlet's pages share its boilerplate, and its own copies of a story are told by
    GUID, URL, fingerprint and headline already.
    """
    if not story.minhash:
        return None
    mine = BodySignature(story.minhash, story.numbers)
    candidates: list[Story | StoredArticle] = [*earlier, *stored]
    for other in candidates:
        if other.outlet == story.outlet or other.url == story.url:
            continue
        if near_duplicate(mine, BodySignature(other.minhash, other.numbers)):
            return other
    return None


def _read_again(story: Story, known: StoredArticle, store: MonitorStore, found: Found) -> None:
    """A stored story read again: revised when its figures changed, else only refreshed."""
    change = None
    if story.content_hash != known.content_hash:
        change = revision(story, store.article_figures(known.url))
    if change is None:
        found.refreshed.append(story)
    else:
        found.revised.append(change)


def thread_replies(found: Found, store: MonitorStore) -> list[Alert]:
    """A thread reply under each posted story that another outlet now carries (a story still waiting to be
    posted names its outlets itself, when it is sent)."""
    replies = []
    for sighting in found.sightings:
        posted = store.sent_alert(f"story:{sighting.article_url}")
        article = store.find_article(guid=None, url=sighting.article_url)
        if posted is None or posted.sent_ts is None or article is None:
            continue
        if any(s.outlet == sighting.source.outlet for s in article.sources):
            continue  # the same outlet under another URL or GUID: nothing new to tell
        replies.append(
            render_sighting(
                sighting.article_url, sighting.source, channel=posted.channel, reply_to=posted.sent_ts
            )
        )
    return replies


# --- near-duplicate bodies ---------------------------------------------------------------------------------
