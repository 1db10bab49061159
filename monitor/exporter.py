"""Prometheus metrics at ``/metrics``, for `gba-monitor run --metrics-port PORT`.

The only prometheus_client user: polls and deliveries tell ``telemetry`` what happened, and this shell
turns that into metrics.

    gba_monitor_polls_total{feed,outcome}            polls: ok, not_modified, error, backing_off, stopped
    gba_monitor_poll_duration_seconds{feed}          histogram of poll durations
    gba_monitor_last_success_timestamp_seconds{feed} when the feed last polled successfully (Unix time)
    gba_monitor_stories_stored_total{feed}           new stories stored
    gba_monitor_figures_stored_total{feed}           figures stored with them
    gba_monitor_alerts_queued_total{kind}            alerts queued for Slack (story, figure, revised, ...)
    gba_monitor_alerts_sent_total{kind}              alerts Slack accepted
    gba_monitor_alerts_failed_total{reason}          failed posts by Slack's error code
    gba_monitor_slack_retries_total                  posts of alerts that failed or were interrupted before
    gba_monitor_outbox_depth                         alerts waiting after the last delivery
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from . import telemetry

PREFIX = "gba_monitor"


class Metrics:
    """The monitor's metrics in their own registry, updated from ``telemetry`` events."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r, p = self.registry, PREFIX
        self.polls = Counter(f"{p}_polls", "Polls by feed and outcome", ["feed", "outcome"], registry=r)
        self.duration = Histogram(
            f"{p}_poll_duration_seconds",
            "How long a poll took",
            ["feed"],
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=r,
        )
        self.last_success = Gauge(
            f"{p}_last_success_timestamp_seconds", "Last successful poll (Unix time)", ["feed"], registry=r
        )
        self.stories = Counter(f"{p}_stories_stored", "New stories stored", ["feed"], registry=r)
        self.figures = Counter(f"{p}_figures_stored", "Figures stored", ["feed"], registry=r)
        self.queued = Counter(f"{p}_alerts_queued", "Alerts queued for Slack", ["kind"], registry=r)
        self.sent = Counter(f"{p}_alerts_sent", "Alerts Slack accepted", ["kind"], registry=r)
        self.failed = Counter(f"{p}_alerts_failed", "Failed posts by reason", ["reason"], registry=r)
        self.retries = Counter(f"{p}_slack_retries", "Posts of alerts tried before", registry=r)
        self.depth = Gauge(f"{p}_outbox_depth", "Alerts waiting after the last delivery", registry=r)

    def on_event(self, event: str, fields: dict[str, Any]) -> None:
        """Update the metrics from one telemetry event (see ``telemetry.emit``'s callers)."""
        if event == "poll":
            feed = fields["feed"]
            self.polls.labels(feed, fields["status"]).inc()
            if fields["status"] in ("ok", "not_modified"):
                self.last_success.labels(feed).set(time.time())
            if fields["status"] != "backing_off":
                self.duration.labels(feed).observe(fields["seconds"])
            self.stories.labels(feed).inc(fields["stories"])
            self.figures.labels(feed).inc(fields["figures"])
        elif event == "queued":
            for kind in fields["kinds"]:
                self.queued.labels(kind).inc()
        elif event == "delivered":
            for kind in fields["sent"]:
                self.sent.labels(kind).inc()
            for reason in fields["failed"]:
                self.failed.labels(reason).inc()
            self.retries.inc(fields["retries"])
            self.depth.set(fields["depth"])


@dataclass
class Served:
    """A metrics endpoint being served, and how to stop it."""

    metrics: Metrics
    port: int
    stop: Callable[[], None]


def serve_metrics(port: int, *, host: str = "127.0.0.1") -> Served:
    """Serve ``/metrics`` on ``host:port`` (port 0: any free one) from a daemon thread, fed by telemetry."""
    metrics = Metrics()
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    unlisten = telemetry.listen(metrics.on_event)

    def stop() -> None:
        unlisten()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return Served(metrics, server.server_address[1], stop)
