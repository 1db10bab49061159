"""`run --metrics-port`: Prometheus metrics scraped over HTTP on 127.0.0.1 from a running scheduler, and what
each telemetry event does to them."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor import telemetry
from monitor.exporter import Metrics
from tests.conftest import Site
from tests.test_cli import OCTOBER, World, worlds


@pytest.fixture
def world(site: Site, tmp_path: Path) -> Iterator[World]:
    yield from worlds(site, tmp_path)


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def value(text: str, sample: str) -> float | None:
    """The value of one exposition line, ``name{labels}``, or None when it is absent."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else None


@pytest.mark.slow
def test_a_running_scheduler_serves_its_metrics_on_loopback(world: World) -> None:
    world.publish(OCTOBER)
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--metrics-port", "0", "--config", str(world.config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=world.env, cwd=world.config.parent,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        url = re.search(r"metrics: (http://127\.0\.0\.1:\d+/metrics)", first)
        assert url, first
        give_up, text = time.monotonic() + 60, ""
        while time.monotonic() < give_up:
            text = scrape(url[1])
            if value(text, 'gba_monitor_alerts_sent_total{kind="story"}'):
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    finally:
        process.kill()
    assert value(text, 'gba_monitor_polls_total{feed="bay-herald",outcome="ok"}') == 1
    assert value(text, 'gba_monitor_poll_duration_seconds_count{feed="bay-herald"}') == 1
    assert value(text, 'gba_monitor_last_success_timestamp_seconds{feed="bay-herald"}')
    assert value(text, 'gba_monitor_stories_stored_total{feed="bay-herald"}') == 1
    assert value(text, 'gba_monitor_figures_stored_total{feed="bay-herald"}')
    assert value(text, 'gba_monitor_alerts_queued_total{kind="story"}') == 1
    assert value(text, 'gba_monitor_alerts_sent_total{kind="story"}') == 1
    assert value(text, "gba_monitor_outbox_depth") == 0
    assert value(text, "gba_monitor_slack_retries_total") == 0


def test_failed_posts_count_by_slacks_reason_and_their_retries_count_later() -> None:
    metrics = Metrics()
    stop = telemetry.listen(metrics.on_event)
    try:
        telemetry.emit("delivered", sent=[], failed=["channel_not_found", "failed"], retries=0, depth=2)
        telemetry.emit("delivered", sent=["figure", "story"], failed=[], retries=2, depth=0)
        telemetry.emit("poll", feed="f", status="backing_off", seconds=0.0, stories=0, figures=0)
    finally:
        stop()
    telemetry.emit("delivered", sent=["story"], failed=[], retries=0, depth=5)  # nobody listens any more
    get = metrics.registry.get_sample_value
    assert get("gba_monitor_alerts_failed_total", {"reason": "channel_not_found"}) == 1
    assert get("gba_monitor_alerts_sent_total", {"kind": "story"}) == 1
    assert get("gba_monitor_slack_retries_total") == 2
    assert get("gba_monitor_outbox_depth") == 0
    assert get("gba_monitor_polls_total", {"feed": "f", "outcome": "backing_off"}) == 1
    assert get("gba_monitor_poll_duration_seconds_count", {"feed": "f"}) is None, (
        "a skipped poll took no time"
    )


def test_a_broken_listener_never_breaks_the_work_it_counts(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: str, fields: dict) -> None:
        raise KeyError("bug")

    stop = telemetry.listen(broken)
    try:
        telemetry.emit("poll", feed="f")
    finally:
        stop()
    assert "telemetry listener failed event=poll" in caplog.text
