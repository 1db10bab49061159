"""`check --online`: each feed fetched once, the Slack credential and channels tried once.

One fetch of each feed (status, entries, keyword matches) and the Slack credential and
channels, each a ``Probe``; nothing is stored and nothing is posted."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import FeedError, FetchError
from .feeds import matched_keywords, parse_entries
from .fetch import Fetcher
from .records import Probe
from .settings import FeedSettings, Settings
from .slack import check_slack


def probe(settings: Settings, feeds: Sequence[FeedSettings]) -> list[Probe]:
    """Fetch each of ``feeds`` once, then try Slack with the configured credential and channels."""
    with Fetcher(settings.fetch) as fetcher:
        probes = [_probe_feed(feed, fetcher) for feed in feeds]
    slack = settings.slack
    channels = {feed.channel for feed in feeds if feed.channel} | (
        {slack.ops_channel} if slack.ops_channel else set()
    )
    return probes + check_slack(slack, channels)


def _probe_feed(feed: FeedSettings, fetcher: Fetcher) -> Probe:
    try:
        fetched = fetcher.fetch_feed(feed)
        entries = parse_entries(fetched, feed=feed.name)
    except (FetchError, FeedError) as exc:
        return Probe(f"feed {feed.name}", "error", detail=str(exc))
    matches = sum(1 for entry in entries if not feed.keywords or matched_keywords(entry, feed.keywords))
    return Probe(f"feed {feed.name}", "ok", entries=len(entries), matches=matches, detail=fetched.final_url)
