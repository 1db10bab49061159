"""Stories + the stored history of each metric → the changes worth telling (pure).

A change is one of the records in ``records.Change``: a new story, a figure that moved, two sources that
disagree on a figure, a story whose publisher revised its figures, or, on a feed's first poll, one ``Seeded``
summary instead of a flood of old stories. Nothing here is ever an empty alert: a value equal to one already
stored for the same period, a zero delta or an unchanged re-read page is no change at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta

from .matching import matched_terms, metric_matches
from .records import (
    Change,
    FeedFailing,
    FeedRecovered,
    FeedState,
    Figure,
    FigureChanged,
    FigureConflict,
    NewStory,
    Observation,
    Seeded,
    Story,
    StoryRevised,
    key_figures,
)
from .settings import MetricRule, MinChange, Route

# Two figures without a dated period, published this close together, describe the same moment.
SAME_PERIOD_WINDOW = timedelta(days=7)
_YEAR = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")


def detect_changes(
    stories: Sequence[Story],
    latest: Mapping[str, Observation],
    *,
    seeding: bool,
    feed: str = "",
    channel: str | None = None,
    recent: Mapping[str, Sequence[Observation]] | None = None,
    echoes: Collection[str] = (),
) -> list[Change]:
    """The changes these stories bring against ``latest`` (metric key → newest stored observation).

    ``recent`` (metric key → stored observations, newest first) tells a value already reported for the same
    period (no change) and a source that disagrees (a conflict). Stories whose URL is in ``echoes`` are
    another outlet's copy of a stored story: their figures count, but they are not a new story.
    When ``seeding``, the stories only become history: one ``Seeded`` summary is returned for ``feed``.
    """
    if seeding:
        figures = sum(len(story.figures) for story in stories)
        if not stories:  # an empty feed has nothing to tell: "Now tracking 0 stories" is noise
            return []
        return [Seeded(feed=feed, stories=len(stories), figures=figures, channel=channel)]
    changes: list[Change] = []
    known = dict(latest)
    seen = {metric: list(observations) for metric, observations in (recent or {}).items()}
    for story in stories:
        if story.url not in echoes:
            changes.append(NewStory(story))
        for figure in key_figures(story.figures):
            new = Observation.of(story, figure)
            history = seen.setdefault(figure.metric, [])
            change = figure_change(new, known.get(figure.metric), history)
            known[figure.metric] = new
            history.insert(0, new)
            if change is not None:
                changes.append(change)
    return changes


def with_moves(changes: Sequence[Change], latest: Mapping[str, Observation]) -> list[Change]:
    """``changes`` with each new story carrying the moves of its own figures, so that a story and everything
    it changed are told in one message; ``latest`` (metric key → the stored value before these stories)
    tells the metrics whose value a story only repeats.

    The moves stay in the list, each with its own idempotency key: the message that tells a story tells its
    moves, and records them as told (see ``outbox``).
    """
    moves: dict[str, list[FigureChanged]] = {}
    for change in changes:
        if isinstance(change, FigureChanged):
            moves.setdefault(change.new.article_url, []).append(change)
    told: list[Change] = []
    for change in changes:
        if isinstance(change, NewStory):
            story = change.story
            own = tuple(moves.get(story.url, ()))
            moved = {m.new.metric for m in own}
            same = tuple(
                f.metric
                for f in key_figures(story.figures)
                if f.metric not in moved
                and (known := latest.get(f.metric)) is not None
                and known.unit == f.unit
                and same_value(known, Observation.of(story, f))
            )
            change = NewStory(story, moves=own, same=same)
        told.append(change)
    return told


def twin_of(story: Story, earlier: Sequence[Story], *, within: timedelta) -> Story | None:
    """The story in ``earlier`` that is the same story as ``story``: the same canonical URL, the same content
    fingerprint (of a body long enough to tell), or the same folded headline published within ``within``."""
    when = story.published or story.fetched_at
    for other in earlier:
        close = abs((other.published or other.fetched_at) - when) <= within
        if (
            other.url == story.url
            or (story.fingerprint and other.content_hash == story.fingerprint)
            or (story.headline_key and other.headline_key == story.headline_key and close)
        ):
            return other
    return None


def figure_change(
    new: Observation, latest: Observation | None, recent: Sequence[Observation] = ()
) -> FigureChanged | FigureConflict | None:
    """What ``new`` tells against the metric's ``latest`` value and ``recent`` observations (newest first).

    Nothing when a stored observation of the same period already has this value (a source repeating a known
    figure, or one side of a known conflict coming back); a conflict when another source gave a different
    value for the same period; else a change when the value moved from the latest one.
    """
    peers = [o for o in recent if o.unit == new.unit and same_period(o, new)]
    if any(same_value(o, new) for o in peers):
        return None
    rival = next((o for o in peers if o.feed != new.feed and o.article_url != new.article_url), None)
    if rival is not None:
        return FigureConflict.of(rival, new)
    if latest is not None and moved(latest, new):
        return FigureChanged(new=new, old=latest)
    return None


def revision(story: Story, before: Sequence[Figure]) -> StoryRevised | None:
    """A ``StoryRevised`` when the re-read ``story`` states other values than ``before`` (its stored
    figures); None when every metric kept its value, whatever else the page changed."""
    # Figures stored before conversions were marked look like figures of their own: the new reading says.
    conversions = {f.metric for f in story.figures if f.conversion_of is not None}
    if _values(story.figures) == _values(before, leaving_out=conversions):
        return None
    old = {f.metric: f for f in key_figures(before) if f.metric not in conversions}
    new = {f.metric: f for f in key_figures(story.figures)}
    changed = tuple(
        (old.get(metric), new.get(metric))
        for metric in dict.fromkeys([*old, *new])
        if _values([old[metric]] if metric in old else []) != _values([new[metric]] if metric in new else [])
    )
    return StoryRevised(story=story, before=tuple(before), changed=changed)


def _values(figures: Sequence[Figure], *, leaving_out: Collection[str] = ()) -> dict[str, tuple[float, str]]:
    return {
        f.metric: (round(f.value, 9), f.unit) for f in key_figures(figures) if f.metric not in leaving_out
    }


def moved(old: Observation, new: Observation) -> bool:
    """True when ``new`` reports a different value of the same quantity than ``old``, from another article."""
    if old.article_url == new.article_url or old.unit != new.unit:
        return False
    if math.isnan(old.value) or math.isnan(new.value):
        return False
    return not same_value(old, new)


def same_value(one: Observation, other: Observation) -> bool:
    """Equal values (to float noise): a delta that would print as zero is no delta."""
    return math.isclose(one.value, other.value, rel_tol=1e-9, abs_tol=1e-12)


def same_period(one: Observation, other: Observation, *, window: timedelta = SAME_PERIOD_WINDOW) -> bool:
    """True when both figures describe the same period.

    A period naming a year ("2024", "first half of 2025") is the same period wherever it appears. A relative
    one ("so far", "this year") or none at all is the same only within ``window`` of publication: "10,577
    enterprises so far" in October and "11,020 so far" in November are a change, not a conflict.
    """
    period = _fold(one.period)
    if period != _fold(other.period):
        return False
    if period and _YEAR.search(period):
        return True
    one_at, other_at = one.published or one.observed_at, other.published or other.observed_at
    return abs(one_at - other_at) <= window


def _fold(period: str | None) -> str:
    return " ".join((period or "").casefold().split())


def worth_posting(change: FigureChanged, rules: Sequence[MetricRule], default: MinChange) -> bool:
    """True when a move is worth a Slack alert under the first rule whose pattern matches its metric.

    A move crossing the rule's ``above`` level upwards (or ``below`` downwards) always is, however small; any
    other must go the rule's ``direction`` and reach both floors of its ``min_change`` (else ``default``).
    A move that is not worth posting is still stored: ``history`` shows it.
    """
    old, new = change.old.value, change.new.value
    rule = next((r for r in rules if metric_matches(r.pattern, change.new.metric)), None)
    if rule is not None:
        if rule.above is not None and old < rule.above <= new:
            return True
        if rule.below is not None and old > rule.below >= new:
            return True
        if (rule.direction == "up" and new < old) or (rule.direction == "down" and new > old):
            return False
    floor = rule.min_change if rule is not None and rule.min_change is not None else default
    delta = abs(new - old)
    pct = math.inf if old == 0 else delta / abs(old) * 100
    return delta >= floor.abs and pct >= floor.pct


def route_channels(change: Change, routes: Sequence[Route], fallback: str | None) -> tuple[str | None, ...]:
    """Every channel whose route matches the change, in the routes' order and each once; else ``fallback``.

    A route's keywords are looked for in a story's title and summary (a figure's: its article's title and its
    sentence); its metric globs in the metrics the change is about.
    """
    text, metrics = _routed_by(change)
    channels: list[str | None] = []
    for route in routes:
        hit = (text and matched_terms(text, route.keywords)) or any(
            metric_matches(pattern, metric) for pattern in route.metrics for metric in metrics
        )
        if hit and route.channel not in channels:
            channels.append(route.channel)
    return tuple(channels) or (fallback,)


def _routed_by(change: Change) -> tuple[str, set[str]]:
    """The text and the metric keys a route is matched against."""
    if isinstance(change, NewStory | StoryRevised):
        story = change.story
        return f"{story.title}\n{story.entry.summary}", {f.metric for f in key_figures(story.figures)}
    if isinstance(change, FigureChanged):
        return f"{change.new.article_title}\n{change.new.sentence}", {change.new.metric}
    if isinstance(change, FigureConflict):
        return f"{change.high.article_title}\n{change.high.sentence}", {change.low.metric}
    return "", set()


def health_change(
    before: FeedState, after: FeedState, *, threshold: int, channel: str | None = None
) -> FeedFailing | FeedRecovered | None:
    """An ops alert when a feed's failure streak reaches ``threshold`` polls, and one when it ends."""
    if after.failures == threshold and before.failures < threshold:
        return FeedFailing(after.name, after.failures, after.last_error or "", before.last_success, channel)
    if after.failures == 0 and before.failures >= threshold:
        return FeedRecovered(after.name, before.failures, before.last_success, channel)
    return None
