"""A story's identity: which entries are stories already stored, and which stored story a new page repeats.

Identity is layered: a story's GUID, then its canonical URL, then its content fingerprint, then its folded
headline within a day. A changed GUID or an edited headline over the same body, or the same story from another
feed or outlet, is one story with several sources, never a second alert. A story seen before whose feed entry
says it was updated is read again, and told as revised only when its figures changed. ``poll`` asks before
reading pages (``worth_reading``) and after (``identify``), under the lock that makes feeds take turns here.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .changes import revision, twin_of
from .feeds import canonical_url
from .matching import fold
from .records import Alert, Entry, Sighting, Source, StoredArticle, Story, StoryRevised
from .settings import FeedSettings
from .slack import render_sighting
from .store import MonitorStore

SAME_STORY_WINDOW = timedelta(hours=24)  # the same folded headline this close in time is the same story
# Bodies whose shingles are this similar (estimated Jaccard), with figures that agree, are one story: chosen
# on the labelled pairs of tests/data/near-duplicates, between the most similar two stories (0.19) and the
# least similar re-edit (0.44); `python -m benchmarks.near_duplicates` measures it.
NEAR_DUPLICATE_SIMILARITY = 0.3
NEAR_DUPLICATE_WINDOW = timedelta(days=3)  # outlets re-run a wire story within days, not weeks
MINHASH_PERMUTATIONS = 128
MINHASH_SEED = 1  # stored signatures compare only with ones made with the same seed and permutations
SHINGLE_TOKENS = 3
MIN_SIGNATURE_SHINGLES = 30  # about 150 characters of English, 30 of Chinese
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(f"[{_HAN}]|[^\\W{_HAN}]+")  # a Chinese character is a token; a Latin word is one
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


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


@dataclass(frozen=True, slots=True)
class BodySignature:
    """What a body is compared by: its shingles' MinHash (hex) and the numbers it states."""

    minhash: str
    numbers: tuple[str, ...]


def shingles(text: str) -> set[str]:
    """Runs of SHINGLE_TOKENS tokens (Latin words, single Chinese characters) of the folded, lower-cased text:
    a sentence added, cut or moved changes only the shingles at its edges."""
    tokens = _TOKEN.findall(fold(text).casefold())
    if len(tokens) < SHINGLE_TOKENS:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + SHINGLE_TOKENS]) for i in range(len(tokens) - SHINGLE_TOKENS + 1)}


def numbers_in(text: str) -> frozenset[str]:
    """The numbers a body states, separators dropped ("10,577" → "10577")."""
    return frozenset(match.replace(",", "") for match in _NUMBER.findall(fold(text)))


def body_signature(text: str) -> BodySignature:
    """The body's signature; an empty MinHash for a body too short to tell one story from another (a
    JavaScript or cookie wall that many pages of one site share)."""
    tokens = shingles(text)
    if len(tokens) < MIN_SIGNATURE_SHINGLES:
        return BodySignature("", ())
    from datasketch import MinHash  # numpy and scipy come with it: loaded when a first page is read

    minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED)
    minhash.update_batch([shingle.encode() for shingle in tokens])
    packed = array("I", (int(value) for value in minhash.hashvalues))  # 32-bit values in 64-bit slots
    return BodySignature(packed.tobytes().hex(), tuple(sorted(numbers_in(text))))


def similarity(one: str, other: str) -> float:
    """The estimated Jaccard similarity of two bodies' shingles, from their MinHashes (0 when either is empty
    or they were made with other parameters)."""
    if not one or len(one) != len(other):
        return 0.0
    a, b = array("I", bytes.fromhex(one)), array("I", bytes.fromhex(other))
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def near_duplicate(
    one: BodySignature, other: BodySignature, *, min_similarity: float = NEAR_DUPLICATE_SIMILARITY
) -> bool:
    """True when two bodies are one story re-edited (a new headline, a sentence added or cut, paragraphs
    moved): similar enough shingles, and figures that agree.

    Similar wording is not enough: two stories of one week on the same topic share most of it, and their
    figures tell them apart. Each stating a number the other lacks makes them two stories; an outlet that
    adds or cuts a sentence only adds or removes numbers on one side.
    """
    # the numbers first: a set difference is cheap, and most pairs of one week's stories fail it
    return numbers_agree(one, other) and similarity(one.minhash, other.minhash) >= min_similarity


def numbers_agree(one: BodySignature, other: BodySignature) -> bool:
    """False when each body states a number the other lacks (other figures: another story)."""
    numbers_a, numbers_b = set(one.numbers), set(other.numbers)
    return not (numbers_a - numbers_b and numbers_b - numbers_a)
