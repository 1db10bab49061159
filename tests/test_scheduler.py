"""scheduler.py: each enabled feed polled at start and at its interval, the outbox delivered after each poll,
a feed backing off left alone, and SIGTERM stopping it all. Runs the real APScheduler in this process."""

from __future__ import annotations

import io
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.outbox import Outbox
from monitor.poll import Deps, open_deps, poll_feed
from monitor.records import Delivery
from monitor.scheduler import run_forever
from tests.conftest import DATA, Response, Site
from tests.test_cli import OCTOBER, write_config
from tests.test_poll import Clock, publish


@pytest.fixture
def deps(site: Site, tmp_path: Path) -> Iterator[Deps]:
    for page in (DATA / "site").glob("*.html"):
        site.route(f"/news/{page.name}", Response(page.read_bytes(), headers={"content-type": "text/html"}))
    opened = open_deps(load_settings(write_config(tmp_path, site), environ={}), now=Clock())
    yield opened
    opened.close()


def terminate() -> None:
    """What a process manager does to stop the worker."""
    os.kill(os.getpid(), signal.SIGTERM)


class StopAfterDelivery(Outbox):
    """The real outbox, which stops the scheduler once it has delivered."""

    def deliver(self) -> list[Delivery]:
        delivered = super().deliver()
        terminate()
        return delivered


class StopWhenLogged(logging.Handler):
    """Stops the scheduler when a log line says what the test waits for."""

    def __init__(self, says: Callable[[str], bool]) -> None:
        super().__init__()
        self.says, self.seen = says, []

    def emit(self, record: logging.LogRecord) -> None:
        if self.says(record.getMessage()):
            self.seen.append(record.getMessage())
            terminate()


@pytest.fixture
def stop_when_logged() -> Iterator[Callable[[Callable[[str], bool]], StopWhenLogged]]:
    installed: list[StopWhenLogged] = []

    logger = logging.getLogger("monitor")
    level = logger.level

    def install(says: Callable[[str], bool]) -> StopWhenLogged:
        handler = StopWhenLogged(says)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        installed.append(handler)
        return handler

    yield install
    for handler in installed:
        logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture(autouse=True)
def give_up_eventually() -> Iterator[None]:
    """A scheduler that never stops would hang the suite: stop it far past the time these tests take (1 s)."""
    timer = threading.Timer(60, terminate)
    timer.start()
    yield
    timer.cancel()


def test_each_feed_is_polled_at_start_and_its_alerts_delivered_before_sigterm_stops_it(
    deps: Deps, site: Site
) -> None:
    publish(site, OCTOBER)
    out = io.StringIO()
    run_forever(deps, StopAfterDelivery(deps.store, deps.settings, stream=out, now=deps.now))
    assert deps.stop.is_set(), "SIGTERM asks the polls under way to stop"
    assert "Qianhai draws record number of Hong Kong firms" in out.getvalue()
    assert deps.store.pending_alerts() == []
    assert signal.getsignal(signal.SIGTERM) is not None, "the previous handler is put back"


def test_a_feed_backing_off_after_failures_is_not_fetched(
    deps: Deps, site: Site, stop_when_logged: Callable[..., StopWhenLogged]
) -> None:
    site.route("/gba.xml", Response(b"upstream down", 502))
    poll_feed(deps.settings.feeds[0], deps)
    requests = len(site.requests)
    handler = stop_when_logged(lambda message: "status=backing_off" in message)
    run_forever(deps, Outbox(deps.store, deps.settings, stream=io.StringIO(), now=deps.now))
    assert handler.seen and "feed=bay-herald" in handler.seen[0]
    assert len(site.requests) == requests, "the back-off was honoured: no request"
