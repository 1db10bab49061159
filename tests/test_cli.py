"""The whole monitor through its commands: feeds and pages on 127.0.0.1 → TinyDB → a Slack stand-in.

In-process through click's runner, except where the process boundary is under test (the real entry point's
exit code and stderr, SIGTERM, the offline demo): those run ``python -m monitor`` and are marked slow."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner, Result

import monitor.cli as commands
from monitor.cli import main
from monitor.clock import utc_now
from tests.conftest import DATA, Request, Response, Site
from tests.slack_api import SlackStandIn, block_problems, texts_of

ROOT = Path(__file__).parent.parent
PAGES = DATA / "site"

OCTOBER = (
    "Qianhai draws record number of Hong Kong firms",
    "/news/qianhai-october.html",
    datetime(2025, 10, 28, 1, 30, tzinfo=UTC),
)
NOVEMBER = (
    "More Hong Kong companies set up in Qianhai",
    "/news/qianhai-november.html",
    datetime(2025, 11, 24, 2, 0, tzinfo=UTC),
)
FOOTBALL = ("Eastern win league opener", "/news/football.html", datetime(2025, 11, 23, 12, 0, tzinfo=UTC))


def rss(site: Site, items: list[tuple[str, str, datetime]]) -> bytes:
    """An RSS 2.0 feed whose items link to pages on ``site``."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{site.url(path)}</link><guid>{site.url(path)}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{escape(title)}"
        f"</description></item>"
        for title, path, when in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bay Herald GBA</title>'
        f"<link>{site.url('/')}</link><description>GBA news</description>{entries}</channel></rss>"
    ).encode()


@dataclass
class World:
    """A news site and a Slack stand-in on 127.0.0.1, and a config that points at them."""

    site: Site
    slack: SlackStandIn
    config: Path
    env: dict[str, str]

    def publish(self, *items: tuple[str, str, datetime]) -> None:
        self.site.route(
            "/gba.xml", Response(rss(self.site, list(items)), headers={"content-type": "application/rss+xml"})
        )

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """``gba-monitor ARGS --config CONFIG`` in this process, in the world's environment plus ``env``, from
        the config's folder (where a relative path given on the command line lands)."""
        with contextlib.chdir(self.config.parent):
            return invoke(self.env | (env or {}), *args, "--config", str(self.config))

    def stored(self, **filters: str) -> list[dict]:
        options = [item for key, value in filters.items() for item in (f"--{key}", value)]
        result = self.cli("history", "--format", "json", *options)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)


OWN_SETTINGS = ("SLACK_", "GBA_MONITOR_")  # the variables the monitor reads: none of the test process's


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any real Slack credential or monitor setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
    return {**env, **extra}


def invoke(env: dict[str, str], *args: str) -> Result:
    """``gba-monitor ARGS`` in this process, as if ``env`` were its whole environment (see ``clean_env``)."""
    hidden = {key: None for key in os.environ if key.startswith(OWN_SETTINGS) and key not in env}
    changed = {key: value for key, value in env.items() if os.environ.get(key) != value}
    return CliRunner().invoke(main, list(args), env=hidden | changed)


def entry_point(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m monitor ARGS``: the real entry point, for tests of what crosses the process boundary."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True, text=True, env=env, timeout=120, cwd=cwd,
    )  # fmt: skip


def write_config(tmp_path: Path, site: Site, *, on_first_run: str = "post", interval: str = "15m") -> Path:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"""
storage: {{path: storage/monitor.json}}
slack: {{channel: "#gba", on_first_run: {on_first_run}}}
fetch: {{timeout: 5s, deadline: 10s, respect_robots: false, read_processes: 0}}
defaults: {{interval: {interval}, keywords: [Qianhai, Greater Bay Area]}}
feeds:
  - {{name: bay-herald, url: "{site.url("/gba.xml")}", outlet: Bay Herald}}
metrics:
  - key: qianhai.hk-funded-enterprises
    label: Hong Kong-funded enterprises in Qianhai
    patterns: ['hong kong-funded (enterprises|companies)']
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def world(site: Site, tmp_path: Path) -> Iterator[World]:
    yield from worlds(site, tmp_path)


def worlds(site: Site, tmp_path: Path) -> Iterator[World]:
    """The ``world`` fixture's body, for other test modules' own ``world`` fixtures."""
    for page in PAGES.glob("*.html"):
        site.route(
            f"/news/{page.name}",
            Response(page.read_bytes(), headers={"content-type": "text/html; charset=utf-8"}),
        )
    with SlackStandIn() as slack:
        env = clean_env(SLACK_BOT_TOKEN=slack.token, SLACK_API_URL=slack.api_url)
        yield World(site, slack, write_config(tmp_path, site), env)


def test_two_runs_post_each_alert_once_and_nothing_the_second_time(world: World) -> None:
    world.publish(OCTOBER, FOOTBALL)
    first = world.cli("run", "--once")
    assert first.exit_code == 0, first.stderr
    posted = list(world.slack.messages)
    assert len(posted) == 1, "one relevant story; the football result is not about the GBA"
    assert "Qianhai draws record number of Hong Kong firms" in posted[0]["text"]
    assert "10,577" in json.dumps(posted[0]["blocks"], ensure_ascii=False)

    second = world.cli("run", "--once")
    assert second.exit_code == 0, second.stderr
    assert world.slack.messages == posted


def test_a_figure_that_changes_between_polls_posts_one_alert_with_old_and_new_value(world: World) -> None:
    world.publish(OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    world.publish(NOVEMBER, OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    assert world.cli("run", "--once").exit_code == 0
    changed = [m for m in world.slack.messages if "▲ +443 (+4.2%) from 10,577" in "\n".join(texts_of(m))]
    assert len(changed) == 1 and len(world.slack.messages) == 2, "the story carries its move"
    assert "11,020 Hong Kong-funded companies (+443, +4.2%)" in changed[0]["text"]


def test_the_first_poll_seeds_quietly_with_one_summary(site: Site, tmp_path: Path) -> None:
    for page in PAGES.glob("*.html"):
        site.route(f"/news/{page.name}", Response(page.read_bytes(), headers={"content-type": "text/html"}))
    with SlackStandIn() as slack:
        world = World(site, slack, write_config(tmp_path, site, on_first_run="seed"),
                      clean_env(SLACK_BOT_TOKEN=slack.token, SLACK_API_URL=slack.api_url))  # fmt: skip
        world.publish(OCTOBER, NOVEMBER)
        assert world.cli("run", "--once").exit_code == 0
        assert len(slack.messages) == 1
        assert "2 stories" in slack.messages[0]["text"]
        assert len(world.stored()) >= 2


def test_history_json_returns_the_stored_figures_with_the_contract_fields(world: World) -> None:
    world.publish(OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    rows = world.stored(metric="qianhai.hk-funded-enterprises")
    assert [row["value"] for row in rows] == [10577]
    row = rows[0]
    assert set(row) >= {
        "metric", "value", "unit", "qualifier", "subject", "place", "sentence", "article_title",
        "article_url",
        "feed", "published", "observed_at",
    }  # fmt: skip
    assert row["feed"] == "bay-herald" and row["article_url"].endswith("/news/qianhai-october.html")
    assert row["outlet"] == "Bay Herald" and row["extractor"].startswith("figures-"), "provenance"
    assert datetime.fromisoformat(row["observed_at"]).tzinfo is not None
    assert datetime.fromisoformat(row["published"]) == OCTOBER[2]
    assert any(r["unit"] == "CNY" and r["value"] == 846_140_000_000 for r in world.stored())


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_history_prints_every_format(world: World, fmt: str) -> None:
    world.publish(OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    result = world.cli("history", "--format", fmt, "--since", "2025-10-01", "--limit", "50")
    assert result.exit_code == 0, result.stderr
    assert "10,577" in result.stdout or "10577" in result.stdout


def test_slack_down_keeps_the_alerts_and_the_next_poll_posts_them_once(world: World) -> None:
    world.publish(OCTOBER)
    world.slack.fail_next(500, count=1000)
    result = world.cli("run", "--once")
    assert result.exit_code == 0, "an unreachable Slack is reported, not fatal"
    assert world.slack.messages == []
    world.slack.fail_next(500, count=0)
    assert world.cli("run", "--once").exit_code == 0
    assert len(world.slack.messages) == 1
    assert world.cli("run", "--once").exit_code == 0
    assert len(world.slack.messages) == 1


def test_a_dead_feed_is_reported_and_run_once_exits_1_for_cron(world: World) -> None:
    result = world.cli("run", "--once")  # /gba.xml is not published: 404
    assert result.exit_code == 1
    assert "bay-herald" in result.stderr and "404" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_broken_config_exits_2_with_one_line_and_no_traceback(world: World) -> None:
    """Through the real entry point: what cron and a shell see is the process's exit code and stderr."""
    world.config.write_text(
        "feeds:\n  - name: a\n    url: https://x.example/f\n    interval: soon\n", encoding="utf-8"
    )
    for command in (("run", "--once"), ("check",)):
        result = entry_point(world.env, world.config.parent, *command, "--config", str(world.config))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().count("\n") == 0
        assert 'feeds.yaml:4 feeds[0].interval: "soon" is not a duration' in result.stderr
    world.config.write_text("storage: {path: s.json, retention: 30}\nfeeds: []\n", encoding="utf-8")
    result = entry_point(world.env, world.config.parent, "history", "--config", str(world.config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    unknown = "storage.retention: unknown key (check its spelling; see the README for the keys)"
    assert result.stderr == f"gba-monitor: {world.config}:1 {unknown}\n"


def test_a_command_that_only_reads_the_store_checks_only_the_storage_section(world: World) -> None:
    """history, metrics and articles read the store: a mistake elsewhere in the file (this feed's interval)
    is for the commands that poll to report, and does not keep anyone from reading what is stored."""
    world.publish(OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    text = world.config.read_text(encoding="utf-8")
    world.config.write_text(text.replace("interval: 15m", "interval: soon"), encoding="utf-8")
    assert world.cli("check").exit_code == 2
    assert {row["value"] for row in world.stored()} >= {10577}
    for command in ("metrics", "articles"):
        result = world.cli(command, "--format", "json")
        assert result.exit_code == 0 and json.loads(result.stdout), result.stderr


def test_extract_checks_the_metrics_and_fetch_sections_only(world: World) -> None:
    """A page's figures need the tracked metrics (and how to fetch): a bad feed term is not extract's
    business, a bad metric is."""
    text = world.config.read_text(encoding="utf-8")
    world.config.write_text(text.replace("keywords: [Qianhai,", "keywords: ['/(/', Qianhai,"), "utf-8")
    assert world.cli("check").exit_code == 2
    result = world.cli("extract", str(PAGES / "qianhai-october.html"))
    assert result.exit_code == 0, result.stderr
    assert "qianhai.hk-funded-enterprises" in {f["metric"] for f in json.loads(result.stdout)}
    world.config.write_text(text.replace("key: qianhai.hk-funded-enterprises", "key: Qianhai!"), "utf-8")
    result = world.cli("extract", str(PAGES / "qianhai-october.html"))
    assert result.exit_code == 2 and "metrics[0].key" in result.stderr


def test_check_summarizes_a_valid_config(world: World) -> None:
    result = world.cli("check")
    assert result.exit_code == 0, result.stderr
    assert "bay-herald" in result.stdout and "feeds: 1" in result.stdout


def test_extract_of_a_page_with_no_body_says_so_and_exits_1(tmp_path) -> None:
    """A page of navigation only is never read from its menus: one line on stderr, exit 1."""
    page = tmp_path / "menu.html"
    links = "".join(f'<li><a href="/s/{i}">Qianhai adds {i},200 firms</a></li>' for i in range(20))
    page.write_text(f"<html><body><nav><ul>{links}</ul></nav></body></html>", encoding="utf-8")
    result = invoke(clean_env(), "extract", str(page))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == f"gba-monitor: article: no body found (file://{page})"


def test_extract_prints_the_figures_of_a_local_page() -> None:
    result = invoke(clean_env(), "extract", str(PAGES / "qianhai-october.html"))
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {(f["value"], f["unit"]) for f in figures} >= {(10577, "enterprises"), (846_140_000_000, "CNY")}
    assert {"value", "unit", "qualifier", "subject", "text", "sentence"} <= set(figures[0])


# Runs the command in a process of its own, then names every module it loaded (stderr's last line).
LOADED = """import sys
from monitor.cli import main
try:
    main()
finally:
    print(*sys.modules, file=sys.stderr)
"""


def loaded_by(*args: str, cwd: Path) -> set[str]:
    """The modules ``gba-monitor ARGS`` has loaded by the time it exits (successfully)."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.splitlines()[-1].split())


@pytest.mark.slow
def test_extract_of_a_local_page_loads_no_http_client_nor_pydantic(world: World) -> None:
    """A page on disk is read directly (httpx, and the TLS context a Fetcher builds, are for URLs), and a
    plain config's metrics and fetch sections are taken without pydantic."""
    loaded = loaded_by(
        "extract", str(PAGES / "qianhai-october.html"), "--config", str(world.config), cwd=ROOT
    )
    assert {"monitor.figures", "monitor.config"} <= loaded  # the page and the config were read
    assert "httpx" not in loaded and "monitor.fetch._fetcher" not in loaded
    assert "pydantic" not in loaded and "monitor.config._models" not in loaded


def test_preview_prints_the_block_kit_message_of_a_page_and_its_fallback_line(
    site: Site, tmp_path: Path
) -> None:
    """The page is fetched as a page (over HTTP here), with the config's tracked metrics."""
    site.route("/news/nov.html", Response((PAGES / "qianhai-november.html").read_bytes(),
                                          headers={"content-type": "text/html"}))  # fmt: skip
    config = write_config(tmp_path, site)
    url = site.url("/news/nov.html")

    def preview(*args: str) -> Result:
        return invoke(clean_env(), "preview", *args, "--config", str(config))

    shown, text = preview(url, "--previous", "10577"), preview(url, "--previous", "10577", "--format", "text")

    assert shown.exit_code == 0 and text.exit_code == 0, shown.stderr + text.stderr
    message = json.loads(shown.stdout)
    assert block_problems(message["blocks"]) == []
    assert message["text"] == text.stdout.strip()
    assert text.stdout.count("\n") == 1 and "(+443, +4.2%)" in text.stdout
    assert any("▲ +443 (+4.2%) from 10,577" in t for t in texts_of(message))
    missing = preview(str(tmp_path / "nowhere.html"))
    assert missing.exit_code == 1 and missing.stderr.count("\n") == 1, missing.stderr


@pytest.mark.slow
def test_run_polls_on_its_schedule_and_stops_within_seconds_of_sigterm(site: Site, tmp_path: Path) -> None:
    for page in PAGES.glob("*.html"):
        site.route(f"/news/{page.name}", Response(page.read_bytes(), headers={"content-type": "text/html"}))
    feed = Response(rss(site, [OCTOBER]), headers={"content-type": "application/rss+xml"})
    third = threading.Event()
    site.route("/gba.xml", polls_counted(feed, third, 3))
    config = write_config(tmp_path, site, interval="1s")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=tmp_path,
    )  # fmt: skip
    try:
        assert third.wait(30), "the feed is polled at its interval"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    history = invoke(clean_env(), "history", "--format", "json", "--config", str(config))
    assert history.exit_code == 0 and json.loads(history.stdout)


def polls_counted(response: Response, polled: threading.Event, times: int) -> Callable[[Request], Response]:
    """A route answering ``response`` that sets ``polled`` once it has been asked ``times`` times."""
    asked = itertools.count(1)

    def answer(request: Request) -> Response:
        if next(asked) >= times:
            polled.set()
        return response

    return answer


@pytest.mark.slow
def test_the_offline_demo_prints_alerts_and_stores_figures(tmp_path: Path) -> None:
    """README's demo command, as a newcomer runs it: through the real entry point."""
    demo = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", demo, ignore=shutil.ignore_patterns("storage"))
    config = ("--config", str(demo / "demo.yaml"))
    run = entry_point(clean_env(), tmp_path, "run", "--once", *config)
    assert run.returncode == 0, run.stderr
    assert "Qianhai" in run.stdout
    history = invoke(clean_env(), "history", "--format", "json", *config)
    assert history.exit_code == 0, history.stderr
    assert len(json.loads(history.stdout)) >= 5

    shutil.copy(demo / "feed-updated.xml", demo / "feed.xml")
    again = entry_point(clean_env(), tmp_path, "run", "--once", *config)
    assert again.returncode == 0, again.stderr
    moved = [line for line in again.stdout.splitlines() if "11,020" in line and "10,577" in line]
    assert len(moved) == 1 and "+443" in moved[0], again.stdout


def test_metrics_lists_each_metric_with_its_trend_and_one_metric_shows_its_series(world: World) -> None:
    world.publish(OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    world.publish(NOVEMBER, OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    listing = world.cli("metrics", "--format", "json")
    assert listing.exit_code == 0, listing.stderr
    tracked = {row["key"]: row for row in json.loads(listing.stdout)}["qianhai.hk-funded-enterprises"]
    assert (tracked["latest"], tracked["previous"], tracked["change"]) == (11020, 10577, 443)
    assert len(tracked["trend"]) == 2
    series = world.cli("metrics", "qianhai.hk-funded-enterprises")
    assert series.exit_code == 0, series.stderr
    assert "2 observations" in series.stdout and "11,020" in series.stdout and "10,577" in series.stdout
    missing = world.cli("metrics", "no.such.metric")
    assert missing.exit_code == 1 and "no stored figures" in missing.stderr


def test_articles_lists_the_stored_stories_newest_first(world: World) -> None:
    world.publish(OCTOBER, NOVEMBER)
    assert world.cli("run", "--once").exit_code == 0
    result = world.cli("articles", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [row["title"] for row in json.loads(result.stdout)] == [NOVEMBER[0], OCTOBER[0]]
    assert world.cli("articles", "--since", "2025-11-01", "--format", "csv").stdout.count("\n") == 2


def test_status_exits_non_zero_once_a_feed_has_failed_for_too_long(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = world.config.read_text(encoding="utf-8")
    world.config.write_text(text.replace("feeds:\n", "health: {max_failing: 1s}\nfeeds:\n"), encoding="utf-8")
    world.publish(OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    healthy = world.cli("status")
    assert healthy.exit_code == 0, healthy.stderr
    assert "bay-herald" in healthy.stdout and "outbox: 0 undelivered alerts" in healthy.stdout
    world.site.route("/gba.xml", Response(b"down", 503))
    assert world.cli("run", "--once").exit_code == 1
    later = utc_now() + timedelta(seconds=2)
    monkeypatch.setattr(commands, "utc_now", lambda: later)  # `status` has no clock to pass in
    failing = world.cli("status", "--format", "json")
    assert failing.exit_code == 1
    assert "bay-herald" in failing.stderr
    assert json.loads(failing.stdout)[0]["failures"] == 1


def test_backfill_learns_history_without_posting(world: World) -> None:
    world.publish(OCTOBER)
    result = world.cli("backfill", "--feed", "bay-herald", str(PAGES / "qianhai-november.html"))
    assert result.exit_code == 0, result.stderr
    assert "backfilled 2 stories" in result.stdout
    assert world.slack.messages == []
    assert {row["value"] for row in world.stored(metric="qianhai.hk-funded-enterprises")} == {10577, 11020}
    assert world.cli("run", "--once").exit_code == 0
    assert world.slack.messages == [], "the backfilled feed is not seeded or posted again"


def test_check_points_out_likely_mistakes(world: World) -> None:
    text = world.config.read_text(encoding="utf-8")
    world.config.write_text(text.replace("interval: 15m", "interval: 20s"), encoding="utf-8")
    result = world.cli("check")
    assert result.exit_code == 0
    assert "warning: feed bay-herald polls every 20s" in result.stdout


@pytest.mark.slow
def test_sigterm_during_a_poll_leaves_a_loadable_store_and_no_lost_or_duplicated_alert(world: World) -> None:
    page = (PAGES / "qianhai-october.html").read_bytes()
    arrived = threading.Event()

    def slow(request) -> Response:
        arrived.set()
        time.sleep(2)  # the point: a poll still in flight when SIGTERM arrives
        return Response(page, headers={"content-type": "text/html"})

    world.site.route(OCTOBER[1], slow)
    world.publish(OCTOBER)
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(world.config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=world.env, cwd=world.config.parent,
    )  # fmt: skip
    try:
        assert arrived.wait(30), "the scheduler started a poll"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert world.slack.messages == [], "the interrupted poll stored and posted nothing"
    world.site.route(OCTOBER[1], Response(page, headers={"content-type": "text/html"}))
    for _ in range(2):
        assert world.cli("run", "--once").exit_code == 0
    assert [m["text"].count(OCTOBER[0]) for m in world.slack.messages] == [1]
    assert world.stored(metric="qianhai.hk-funded-enterprises")[0]["value"] == 10577
