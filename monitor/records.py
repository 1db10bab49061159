"""The small frozen records that pass between the steps of a poll.

``Fetched`` flows in from ``fetch``; ``Entry`` from ``feeds``; ``Article`` from ``articles``; ``Figure`` from
``figures``; ``Story``, ``Source``, ``Observation`` and the ``Change`` kinds from ``changes`` and ``store``;
``Alert`` and ``Delivery`` from ``slack``. The settings they run under live in ``settings``. Nothing here
imports from the rest of the package.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Qualifier = Literal["exact", "approx", "more_than", "less_than", "at_least", "up_to"]
QUALIFIERS: tuple[str, ...] = ("exact", "approx", "more_than", "less_than", "at_least", "up_to")
MIN_FINGERPRINT_CHARS = 150  # a body shorter than this identifies no story by its content

# --- one poll ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response body with what later requests and parsers need from its headers."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int  # 200, or 304 when the validators matched
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased names
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304 to our conditional GET."""
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, if any."""
        return self.headers.get("content-type")


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, as the feed describes it."""

    feed: str
    title: str
    link: str | None
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None  # timezone-aware
    updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """The readable body of an article page."""

    url: str
    title: str
    text: str
    sentences: tuple[str, ...]
    lang: str = "en"  # "en" or "zh"
    content_hash: str = ""
    published: datetime | None = None  # from the page's own metadata, when the feed has none


Aspect = Literal["level", "change", "target"]  # see Figure.aspect


@dataclass(frozen=True, slots=True)
class Figure:
    """A number an article states, with what it measures."""

    value: float  # fully scaled: "846.14 billion" -> 846140000000.0
    unit: str  # ISO-4217 code for money, "%" or "pp" for percentages, else the unit or the counted noun
    qualifier: str  # one of QUALIFIERS
    subject: str  # what the number measures, e.g. "Hong Kong-funded enterprises"
    text: str  # the matched span, as written
    sentence: str
    metric: str  # stable key, e.g. "qianhai.hong-kong-funded-enterprises.count"
    label: str = ""  # human name of the metric
    place: str | None = None
    period: str | None = None  # "so far", "2024", "first half of 2025", "截至10月"
    direction: str | None = None  # "up" or "down" when the sentence says so
    conversion_of: int | None = None  # index (in the same list) of the figure this one converts
    range_high: float | None = None  # upper bound when the figure is a range "3 to 5 billion yuan"
    # what of the subject the number is: its value, a change of it ("rose by 300") or a goal for it ("aims to
    # reach 15,000 by 2027"); a change's or a target's metric key and label say so ("...-change")
    aspect: Aspect = "level"

    @property
    def named(self) -> bool:
        """False for a figure whose subject could not be found: its key is its sentence's (PLACE.unnamed-HASH
        .UNIT); it is stored with its story but is no metric that is charted or alerted as a change."""
        return UNNAMED_KEY not in self.metric


# The middle part of a figure's metric key when nothing says what it measures (see Figure.named)
UNNAMED_KEY = ".unnamed-"


def figure_rank(qualifier: str, position: int) -> tuple[bool, int]:
    """How one story's figures of one metric rank to represent it, highest first: an exact figure over a
    qualified one, then the earlier. "10,577 enterprises" beside "over 10,000 enterprises", or "passed the
    11,000 mark" before "11,020 companies": the precise one is the news, the other rounds it."""
    return (qualifier == "exact", -position)


def key_figures(figures: Sequence[Figure]) -> list[Figure]:
    """One figure per metric in a story (the one ``figure_rank`` puts first), metrics in the order the story
    first states them; conversions
    ("($120.14 billion)": they move with the exchange rate, not with the news) and figures without a subject
    (``Figure.named``) left out. The one definition of which figure represents a metric in a story: change
    detection, the stored metric summaries and the index's latest value all use it."""
    chosen: dict[str, tuple[tuple[bool, int], Figure]] = {}
    for position, figure in enumerate(figures):
        if figure.conversion_of is not None or not figure.named:  # an unnamed figure is no metric to follow
            continue
        rank = figure_rank(figure.qualifier, position)
        if figure.metric not in chosen or rank > chosen[figure.metric][0]:
            chosen[figure.metric] = (rank, figure)
    return [figure for _, figure in chosen.values()]


@dataclass(frozen=True, slots=True)
class Story:
    """A relevant entry, its article and figures: what one poll learned about one story."""

    feed: str
    outlet: str
    entry: Entry
    url: str  # canonical URL of the article
    title: str
    keywords: tuple[str, ...]
    figures: tuple[Figure, ...]
    fetched_at: datetime
    content_hash: str = ""
    channel: str | None = None
    text_chars: int = 0  # length of the article's body text
    extractor: str = ""  # the version of the figure extractor that read it (provenance of its figures)
    lang: str = ""  # the article's language, "en" or "zh"
    minhash: str = ""  # the body's shingles as a MinHash (hex), to tell a re-edited copy (``identity``)
    numbers: tuple[str, ...] = ()  # the numbers the body states: copies state the same ones

    @property
    def published(self) -> datetime | None:
        """When the story was published, as the feed says."""
        return self.entry.published

    @property
    def fingerprint(self) -> str:
        """The content hash when the body is long enough to tell one story from another, else "": a short
        body may be a JavaScript or cookie wall that many pages of one site share."""
        return self.content_hash if self.text_chars >= MIN_FINGERPRINT_CHARS else ""

    @property
    def headline_key(self) -> str:
        """The headline as an identity: see ``fold_headline``."""
        return fold_headline(self.title)

    @property
    def source(self) -> Source:
        """This sighting of the story: the feed and outlet that listed it, under which URL and GUID."""
        return Source(self.feed, self.outlet, self.url, title=self.title, guid=self.entry.guid)


_NOT_WORD = re.compile(r"[\W_]+")


def fold_headline(title: str) -> str:
    """A headline folded for comparison: lowercase, punctuation and whitespace runs as one space.

    "Qianhai draws  record number of HK firms!" and "Qianhai Draws Record Number of HK Firms" fold alike.
    """
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", title).casefold()).strip()


@dataclass(frozen=True, slots=True)
class Source:
    """One sighting of a story: a feed (and its outlet) that listed it, with the URL and GUID it gave."""

    feed: str
    outlet: str
    url: str
    title: str = ""
    guid: str | None = None


@dataclass(frozen=True, slots=True)
class Sighting:
    """The stored story at ``article_url`` was listed again, by another feed or under another URL or GUID."""

    article_url: str
    source: Source


@dataclass(frozen=True, slots=True)
class Observation:
    """A stored figure: one value of one metric, with where and when it was seen."""

    metric: str
    label: str
    value: float
    unit: str
    qualifier: str
    subject: str
    place: str | None
    period: str | None
    text: str
    sentence: str
    article_title: str
    article_url: str
    feed: str
    published: datetime | None
    observed_at: datetime
    outlet: str = ""
    extractor: str = ""

    @classmethod
    def of(cls, story: Story, figure: Figure) -> Observation:
        """The observation a story's figure becomes once stored."""
        return cls(
            metric=figure.metric,
            label=figure.label or figure.subject,
            value=figure.value,
            unit=figure.unit,
            qualifier=figure.qualifier,
            subject=figure.subject,
            place=figure.place,
            period=figure.period,
            text=figure.text,
            sentence=figure.sentence,
            article_title=story.title,
            article_url=story.url,
            feed=story.feed,
            published=story.published,
            observed_at=story.fetched_at,
            outlet=story.outlet,
            extractor=story.extractor,
        )


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """A tracked metric as the store sums it up: its latest and previous (different) values."""

    key: str
    label: str
    unit: str
    latest_value: float
    latest_published: datetime | None
    latest_observed_at: datetime | None
    latest_article_url: str
    previous_value: float | None = None
    previous_published: datetime | None = None
    previous_observed_at: datetime | None = None
    previous_article_url: str | None = None
    observations: int = 1


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article the store remembers."""

    url: str
    title: str
    outlet: str
    feed: str
    published: datetime | None
    fetched_at: datetime | None
    figures: int = 0
    keywords: tuple[str, ...] = ()
    guid: str | None = None
    content_hash: str = ""
    updated: datetime | None = None  # the feed entry's updated time when it was last read
    sources: tuple[Source, ...] = ()  # every feed that listed it, the first one first
    lang: str = ""  # "en" or "zh"; "" for articles stored before languages were kept
    minhash: str = ""  # see Story.minhash
    numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about a feed between polls."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    last_poll: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    failures: int = 0  # in a row
    failing_since: datetime | None = None  # the first failure of the current streak
    next_retry: datetime | None = None
    seeded: bool = False  # the first poll has stored its history


@dataclass(frozen=True, slots=True)
class Probe:
    """One line of `check --online`: a feed fetched once, or a Slack credential or channel tried."""

    target: str
    status: str  # ok | not_modified | error | skipped
    entries: int | None = None
    matches: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What a running scheduler last said about itself: small enough to read without loading the store."""

    at: datetime  # when it was written
    started_at: datetime
    pid: int
    last_success: datetime | None = None  # the newest successful poll of any feed
    failing: tuple[tuple[str, datetime], ...] = ()  # (feed, failing since) of each enabled feed failing now
    oldest_pending: datetime | None = None  # when the oldest alert still waiting in the outbox was queued


@dataclass(frozen=True, slots=True)
class PollRecord:
    """Everything one poll of one feed hands the store, written in one atomic write."""

    state: FeedState
    stories: tuple[Story, ...] = ()  # new or revised content: article rows and their figures
    alerts: tuple[Alert, ...] = ()
    sightings: tuple[Sighting, ...] = ()  # stored stories listed again: one more source each
    refreshed: tuple[Story, ...] = ()  # stored stories read again with no new figures: article rows only


# --- changes and alerts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewStory:
    """A story not seen before, with what it changed: told in one message."""

    story: Story
    moves: tuple[FigureChanged, ...] = ()  # tracked metrics its own figures moved (each keeps its own key)
    same: tuple[str, ...] = ()  # metrics whose stored value it repeats (told only when it is about them)

    @property
    def key(self) -> str:
        """Idempotency key: the same story is one alert, whatever restarts happen."""
        return f"story:{self.story.url}"


@dataclass(frozen=True, slots=True)
class FigureChanged:
    """A metric whose value moved since the last stored observation."""

    new: Observation
    old: Observation

    @property
    def key(self) -> str:
        """Idempotency key: one alert per metric per (old, new) pair of values and sources."""
        return f"figure:{self.new.metric}:{self.old.value:g}->{self.new.value:g}:{self.new.article_url}"


@dataclass(frozen=True, slots=True)
class StoryRevised:
    """A story seen before whose figures changed on a later fetch."""

    story: Story
    before: tuple[Figure, ...]
    # (before, after) of each metric whose value changed, as change detection compared them (None: absent)
    changed: tuple[tuple[Figure | None, Figure | None], ...] = ()

    @property
    def key(self) -> str:
        """Idempotency key: one alert per revision of the article's content."""
        return f"revised:{self.story.url}:{self.story.content_hash}"


@dataclass(frozen=True, slots=True)
class FigureConflict:
    """Two sources giving different values of one metric for the same period: flagged once, not as moves."""

    low: Observation  # the smaller value
    high: Observation

    @classmethod
    def of(cls, one: Observation, other: Observation) -> FigureConflict:
        """The conflict between two observations, the same whichever arrived first."""
        low, high = sorted((one, other), key=lambda o: (o.value, o.article_url))
        return cls(low=low, high=high)

    @property
    def key(self) -> str:
        """Idempotency key: one alert per metric, period and pair of values, in either order."""
        low, high = self.low, self.high
        return f"conflict:{low.metric}:{low.period or ''}:{low.value:.12g}|{high.value:.12g}"


@dataclass(frozen=True, slots=True)
class Seeded:
    """The first poll of a feed stored its history instead of posting every old story."""

    feed: str
    stories: int
    figures: int
    channel: str | None = None

    @property
    def key(self) -> str:
        """Idempotency key: a feed is seeded once."""
        return f"seeded:{self.feed}"


@dataclass(frozen=True, slots=True)
class FeedFailing:
    """A feed that has failed several polls in a row: told once per streak, to the ops channel."""

    feed: str
    failures: int
    error: str
    since: datetime | None  # its last success, if it ever had one
    channel: str | None = None

    @property
    def key(self) -> str:
        """Idempotency key: one alert per failure streak."""
        return f"feed-failing:{self.feed}:{self.since.isoformat() if self.since else 'never'}"


@dataclass(frozen=True, slots=True)
class FeedRecovered:
    """A feed that works again after a streak that was reported."""

    feed: str
    failures: int
    since: datetime | None  # the last success before the streak
    channel: str | None = None

    @property
    def key(self) -> str:
        """Idempotency key: one alert per recovered streak."""
        return f"feed-recovered:{self.feed}:{self.since.isoformat() if self.since else 'never'}"


Change = NewStory | FigureChanged | StoryRevised | FigureConflict | Seeded | FeedFailing | FeedRecovered
OPS_KINDS = ("feed-failing", "feed-recovered")  # alerts about the monitor itself: never digested


@dataclass(frozen=True, slots=True)
class Alert:
    """A rendered Slack message waiting in the outbox (or already delivered)."""

    key: str  # idempotency key of the change it reports
    channel: str | None
    text: str  # plain-text fallback for notifications
    blocks: tuple[Mapping[str, Any], ...] = ()
    created_at: datetime | None = None
    sent_ts: str | None = None
    attempts: int = 0
    last_error: str | None = None
    thread_key: str | None = None  # metric whose first alert's thread later changes go to
    feed: str | None = None  # the feed it came from: its channel is looked up again when it is sent
    story_url: str | None = None  # a new story's article: its sources are listed again when it is sent
    summary: str = ""  # one line of mrkdwn for a digest
    sending_at: datetime | None = None  # a post started then and its outcome is not recorded (yet)
    interrupted: int = 0  # posts whose outcome was never recorded (the process died): it may be in Slack
    attempted_at: datetime | None = None  # the last failed attempt (held alerts are tried hourly)
    blocked: str | None = None  # the route (credentials + channel) a permanent error was reported for
    carries: tuple[str, ...] = ()  # keys of the changes this message tells besides its own (a story's moves)
    roots: tuple[str, ...] = ()  # metrics whose thread this message starts when it is their first (threads)
    sent_channel: str | None = None  # the channel it was posted to (a metric's thread is per channel)
    sent_at: datetime | None = None  # when Slack accepted it
    dropped_at: datetime | None = None  # an operator dropped it (`outbox drop`): kept, never posted
    routed: bool = False  # its channel is its own (a route's, or its parent message's), not its feed's
    reply_to: str | None = None  # the Slack ts of the message it replies under, in that message's thread

    @property
    def kind(self) -> str:
        """What it reports: story, figure, revised, conflict, seeded, feed-failing or feed-recovered."""
        return self.key.split(":", 1)[0]

    @property
    def is_ops(self) -> bool:
        """True for alerts about the monitor itself (a failing or recovered feed)."""
        return self.kind in OPS_KINDS

    @property
    def in_doubt(self) -> bool:
        """True when an earlier post may have reached Slack without being recorded."""
        return self.sending_at is not None or self.interrupted > 0


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one attempt to post an alert."""

    key: str
    ts: str | None = None  # Slack's message timestamp when delivered
    error: str | None = None
    permanent: bool = False  # a configuration error: retrying will not help until the config is fixed
    route: str | None = None  # with a permanent error: the credentials and channel it holds for
    channel: str | None = None  # where it was posted, when it was

    @property
    def ok(self) -> bool:
        """True when the alert reached Slack (or the console)."""
        return self.error is None
