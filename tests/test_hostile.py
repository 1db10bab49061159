"""Hostile feeds, pages and settings through the entry point: no secret printed, no terminal hijacked, no
file readable by others. (Issue 18; the per-module rules are specified beside each module's own tests.)"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.articles import read_article
from monitor.errors import ArticleError, FeedError
from monitor.feeds import parse_entries
from monitor.figures import extract_figures
from monitor.output import write_rows
from monitor.records import Fetched, Figure, NewStory
from monitor.slack import render_alert, render_digest
from tests.conftest import Response, Site
from tests.slack_api import SlackStandIn
from tests.test_cli import OCTOBER, PAGES, invoke, polls_counted, rss
from tests.test_cli import write_config as write_cli_config
from tests.test_slack import figure, story

SECRETS = ("hunter2", "S3CR3TKEY", "T0KEN", "s1gnature")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any real Slack credential, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GBA_MONITOR_"))}
    return {**env, **extra}


def cli(config: Path, env: dict[str, str], *args: str, umask: int = -1) -> subprocess.CompletedProcess[str]:
    """``gba-monitor ARGS --config CONFIG`` through the package's entry point."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=60, cwd=config.parent, umask=umask,
    )  # fmt: skip


def write_config(tmp_path: Path, feed_url: str, *, extra: str = "") -> Path:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"""
storage: {{path: storage/monitor.json}}
slack: {{channel: "#gba"}}
fetch: {{timeout: 5s, deadline: 10s, respect_robots: false}}
health: {{alert_after_failures: 1}}
feeds:
  - {{name: secret-feed, url: "{feed_url}"{extra}}}
""",
        encoding="utf-8",
    )
    return config


def test_credentials_in_a_feed_url_never_reach_logs_status_the_store_or_slack(site: Site, tmp_path: Path):
    """A failing feed whose URL carries a password, an api_key, a token and a signature: its error is
    logged, stored, shown by ``status`` and posted as an ops alert, each time with the secrets masked."""
    host = site.url("/").removeprefix("http://").rstrip("/")
    url = f"http://reader:hunter2@{host}/gone.xml?api_key=S3CR3TKEY&token=T0KEN&sig=s1gnature&page=2"
    config = write_config(tmp_path, url)
    with SlackStandIn() as slack:
        env = clean_env(SLACK_BOT_TOKEN=slack.token, SLACK_API_URL=slack.api_url)
        ran = invoke(env, "--log-level", "debug", "run", "--once", "--config", str(config))
        status = invoke(env, "status", "--format", "json", "--config", str(config))
        posted = json.dumps([message.payload for message in slack.messages])
    assert ran.exit_code == 1, ran.stderr  # the feed failed: cron hears of it
    stored = (tmp_path / "storage" / "monitor.json").read_text(encoding="utf-8")
    for shown in (ran.stdout + ran.stderr, status.stdout, stored, posted):
        assert not [secret for secret in SECRETS if secret in shown], shown
    assert "http://***@" in ran.stderr and "api_key=***" in ran.stderr and "page=2" in ran.stderr
    assert "api_key=***" in status.stdout and "api_key=***" in posted, "the error is still shown, masked"


def test_check_and_run_refuse_a_malformed_webhook_url_in_one_line_without_printing_it(tmp_path: Path):
    config = write_config(tmp_path, "https://news.example.com/feed.xml")
    env = clean_env(SLACK_WEBHOOK_URL="hooks.slack.com/services/T0/B0/S3CR3TKEY")
    for command in (["check"], ["run", "--once"]):
        result = invoke(env, *command, "--config", str(config))
        assert result.exit_code == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "SLACK_WEBHOOK_URL" in result.stderr
        assert "S3CR3TKEY" not in result.stdout + result.stderr


@pytest.mark.slow
def test_store_index_and_lock_files_are_created_private_whatever_the_umask(site: Site, tmp_path: Path):
    """They hold feed state and outbox texts: only their owner may read them, even under umask 000."""
    site.route("/feed.xml", Response(b"<rss version='2.0'><channel><title>t</title></channel></rss>"))
    config = write_config(tmp_path, site.url("/feed.xml"))
    ran = cli(config, clean_env(), "run", "--once", umask=0)
    assert ran.returncode == 0, ran.stderr
    created = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "storage").iterdir()}
    assert {"monitor.json", "monitor.json.index", "monitor.json.lock"} <= set(created), created
    assert {name: mode for name, mode in created.items() if mode != 0o600} == {}


# --- Slack: no mention, no hidden direction --------------------------------------------------------------

BIDI_AND_ZERO_WIDTH = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u2060\ufeff"


def test_a_digests_fallback_text_defuses_broadcasts_in_urls_too():
    """The digest's plain text writes each link as "label (url)": a URL's "@here" must stay inert there."""
    url = "https://news.example.com/@here/@channel?who=@everyone"
    alerts = [render_alert(NewStory(story(figure(), url=url, title="@here story")), channel="#gba")]
    digest = render_digest(alerts, channel="#gba", key="digest:#gba:1")
    assert not re.search(r"@(channel|here|everyone)\b", digest.text, re.IGNORECASE), digest.text
    assert "news.example.com" in digest.text


def test_bidi_overrides_and_zero_width_characters_are_stripped_from_slack_text():
    """U+202E can make "gpj.exe" read "exe.jpg"; zero-width characters hide words from a reader's search."""
    title = "Qianhai \u202eexe.gpj\u202c firms \u2066up\u2069 a\u200db zero\u200bwidth\ufeff"
    alert = render_alert(NewStory(story(figure(), title=title)), channel="#gba")
    posted = alert.text + json.dumps(alert.blocks, ensure_ascii=False)
    assert not [char for char in BIDI_AND_ZERO_WIDTH if char in posted]
    assert "Qianhai exe.gpj firms up ab zerowidth" in alert.text


# --- terminal: no escape sequence reaches it ---------------------------------------------------------------

HOSTILE_TITLE = "Qianhai\x1b]0;pwned\x07 firms\x1b[2J\x1b[H up\x07\x9b31m \u202eexe.gpj\x00"


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_tables_and_csv_strip_terminal_control_sequences_from_every_field(fmt: str):
    rows = [{"title": HOSTILE_TITLE, "feed": "f\x1b[31m", "value": 1.5}]
    stream = io.StringIO()
    write_rows(rows, ["title", "feed", "value"], fmt, stream)
    shown = stream.getvalue()
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", shown), repr(shown)
    assert "Qianhai firms up exe.gpj" in shown and "pwned" not in shown


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_keeps_control_characters_escaped(fmt: str):
    stream = io.StringIO()
    write_rows([{"title": HOSTILE_TITLE}], ["title"], fmt, stream)
    assert "\x1b" not in stream.getvalue() and "\\u001b" in stream.getvalue()
    parsed = json.loads(stream.getvalue().splitlines()[0] if fmt == "jsonl" else stream.getvalue())
    assert (parsed if fmt == "jsonl" else parsed[0])["title"] == HOSTILE_TITLE


# --- scheduler: a full disk is a log line ----------------------------------------------------------------


def _small_files_only() -> None:
    """In the child: no file may grow past 4 KB, as on a full disk (a write fails with EFBIG; Python ignores
    SIGXFSZ). The empty store fits; a poll's stories do not."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.slow
def test_a_full_disk_in_scheduler_mode_is_one_log_line_and_a_retry_on_the_next_poll(
    site: Site, tmp_path: Path
):
    for article in PAGES.glob("*.html"):
        site.route(
            f"/news/{article.name}", Response(article.read_bytes(), headers={"content-type": "text/html"})
        )
    feed = Response(rss(site, [OCTOBER]), headers={"content-type": "application/rss+xml"})
    site.route("/gba.xml", polls_counted(feed, second := threading.Event(), 2))
    config = write_cli_config(tmp_path, site, interval="1s")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=tmp_path, preexec_fn=_small_files_only,
    )  # fmt: skip
    try:
        second.wait(60)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert sum(r.path == "/gba.xml" for r in site.requests) >= 2, "the next poll tries again"
    assert "Traceback" not in stderr, stderr
    failures = [line for line in stderr.splitlines() if "store: could not write" in line]
    assert failures and all("status=error" in line for line in failures), stderr


# --- fuzz: no generated page or feed takes long ----------------------------------------------------------

# Pieces a hostile page or feed repeats: unclosed markup, numbers and units the figure extractor looks at,
# entities, bidi and zero-width characters, Chinese text.
PIECES = [
    "<!--", "-->", "<script>", "</script>", "<p>", "</p>", "<div>", "<br>", "<a href='x'>", "<", ">", "&amp;",
    "&#x202e;", "&", "]]>", "<![CDATA[", " ", ". ", ", ", "\n", "10,577", "1.2", "846.14", "3%", "billion",
    "yuan", "HK$", "US$", "enterprises", "Hong Kong-funded", "Qianhai", "rose to", "from", "in 2024",
    "前海", "港资企业", "亿元", "增长", "。", "1万", "\u202e", "\u200b", "\x1b[2J", "@here",
]  # fmt: skip
BUDGET = timedelta(seconds=10)  # a generated page or feed is read in well under 1 s; 10 s is a hang


def hostile_text(max_pieces: int) -> st.SearchStrategy[str]:
    """Pieces joined, some repeated many times over (one long run is where quadratic work shows)."""
    piece = st.tuples(st.sampled_from(PIECES), st.integers(1, 400)).map(lambda p: p[0] * p[1])
    return st.lists(st.one_of(piece, st.text(max_size=40)), max_size=max_pieces).map("".join)


@settings(max_examples=60, deadline=BUDGET, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_text(40))
def test_no_generated_page_takes_long_to_read(body: str):
    html = f"<html><head><title>t</title></head><body><article>{body}</article></body></html>"
    url = "https://news.example.com/a"
    fetched = Fetched(url=url, final_url=url, status=200, body=html.encode(), headers={})
    try:
        article = read_article(fetched)
    except ArticleError:
        return
    assert all(isinstance(figure, Figure) for figure in extract_figures(article))


@settings(max_examples=60, deadline=BUDGET, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(hostile_text(12), hostile_text(24)), min_size=1, max_size=5))
def test_no_generated_feed_takes_long_to_parse(items: list[tuple[str, str]]):
    body = "".join(
        f"<item><title>{title}</title><link>https://news.example.com/{n}</link>"
        f"<description><![CDATA[{summary}]]></description></item>"
        for n, (title, summary) in enumerate(items)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'
    url = "https://news.example.com/feed.xml"
    try:
        entries = parse_entries(
            Fetched(url=url, final_url=url, status=200, body=feed.encode(), headers={}), feed="f"
        )
    except FeedError:
        return
    assert all(isinstance(entry.summary, str) for entry in entries)
