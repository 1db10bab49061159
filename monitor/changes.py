"""Stories + the stored latest value of each metric → the changes worth telling (pure).

A change is one of the records in ``records.Change``: a new story, a figure that moved, or, on a feed's first
poll, one ``Seeded`` summary instead of a flood of old stories.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .records import (
    Change,
    FeedFailing,
    FeedRecovered,
    FeedState,
    Figure,
    FigureChanged,
    NewStory,
    Observation,
    Seeded,
    Story,
)


def detect_changes(
    stories: Sequence[Story],
    latest: Mapping[str, Observation],
    *,
    seeding: bool,
    feed: str = "",
    channel: str | None = None,
) -> list[Change]:
    """The changes these stories bring against ``latest`` (metric key → newest stored observation).

    When ``seeding``, the stories only become history: one ``Seeded`` summary is returned for ``feed``.
    """
    if seeding:
        figures = sum(len(story.figures) for story in stories)
        return [Seeded(feed=feed, stories=len(stories), figures=figures, channel=channel)]
    changes: list[Change] = []
    known = dict(latest)
    for story in stories:
        changes.append(NewStory(story))
        for figure in key_figures(story.figures):
            new = Observation.of(story, figure)
            old = known.get(figure.metric)
            known[figure.metric] = new
            if old is not None and moved(old, new):
                changes.append(FigureChanged(new=new, old=old))
    return changes


def key_figures(figures: Iterable[Figure]) -> list[Figure]:
    """The first figure of each metric in a story, conversions left out.

    A conversion ("($120.14 billion)") moves with the exchange rate, not with the news; a second mention of
    the same metric in one story ("over 10,000 enterprises" after "10,577 enterprises") is a rounding of the first.
    """
    seen: set[str] = set()
    kept = []
    for figure in figures:
        if figure.conversion_of is None and figure.metric not in seen:
            seen.add(figure.metric)
            kept.append(figure)
    return kept


def moved(old: Observation, new: Observation) -> bool:
    """True when ``new`` reports a different value of the same quantity than ``old``, from another article."""
    if old.article_url == new.article_url or old.unit != new.unit:
        return False
    return old.value != new.value


def health_change(
    before: FeedState, after: FeedState, *, threshold: int, channel: str | None = None
) -> FeedFailing | FeedRecovered | None:
    """An ops alert when a feed's failure streak reaches ``threshold`` polls, and one when it ends."""
    if after.failures == threshold and before.failures < threshold:
        return FeedFailing(after.name, after.failures, after.last_error or "", before.last_success, channel)
    if after.failures == 0 and before.failures >= threshold:
        return FeedRecovered(after.name, before.failures, before.last_success, channel)
    return None
