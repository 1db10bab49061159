"""CLI: start-up of ``--help`` and ``extract PAGE``; ``history --metric KEY --format json`` on a big store.

The large store is built through the library (``monitor.store.Store.save_poll`` with synthetic stories, one
write per feed poll): 10,000 articles carrying 100,000 figures of 200 metrics, so one metric has about 500
observations. Each command is a fresh subprocess (interpreter start and imports included, as a user sees it);
the figure is the median of five runs after one warm-up. Beside ``history`` stands the script a user would
write against TinyDB's default JSONStorage holding the same 100,000 observations as flat documents:
``TinyDB(path).search(Query().metric == KEY)``, sorted newest first, dumped as JSON.

``python -m benchmarks.cli`` runs this section alone.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .poll import row, run_measured

RUNS = 5
HISTORY_TARGET_S = 0.5
EXTRACT = ["extract", "tests/data/site/qianhai-november.html", "--config", "feeds.yaml"]  # from the checkout
EXTRACT_TARGET_S = 0.4
SUBJECTS = (
    ("hong-kong-funded-enterprises", "Hong Kong-funded enterprises", "count", "enterprises"),
    ("registered-capital", "registered capital", "cny", "CNY"),
    ("gross-domestic-product", "gross domestic product", "cny", "CNY"),
    ("cross-boundary-trade", "cross-boundary trade", "cny", "CNY"),
    ("macao-funded-enterprises", "Macao-funded enterprises", "count", "enterprises"),
    ("vehicles", "vehicles", "count", "vehicles"),
    ("foreign-capital", "foreign capital", "usd", "USD"),
    ("tax-revenue", "tax revenue", "cny", "CNY"),
    ("researchers", "researchers", "count", "researchers"),
    ("financial-institutions", "financial institutions", "count", "institutions"),
)
PLACES = (*(f"zone-{i:02d}" for i in range(18)), "qianhai", "hengqin")  # 20 places × 10 subjects = 200
QUERIED_METRIC = "qianhai.hong-kong-funded-enterprises.count"


@dataclass(frozen=True, slots=True)
class CliOptions:
    """Size of the large store."""

    articles: int = 10_000
    figures_per_article: int = 10
    feeds: int = 20
    runs: int = RUNS  # timed runs per command (after one warm-up); the median is reported


def synthetic_polls(options: CliOptions, *, seed: int = 8) -> list[Any]:
    """PollRecords of ``options.feeds`` feeds sharing ``options.articles`` stories, each with its figures."""
    from monitor.records import Entry, FeedState, Figure, PollRecord, Story

    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    per_feed = -(-options.articles // options.feeds)
    records = []
    for feed_index in range(options.feeds):
        feed = f"feed-{feed_index:03d}"
        stories = []
        for n in range(feed_index * per_feed, min(options.articles, (feed_index + 1) * per_feed)):
            when = start + timedelta(minutes=53 * n)
            url = f"https://news.example.com/{feed}/{n:06d}.html"
            title = f"Qianhai and the Greater Bay Area, report {n}"
            figures = []
            for _ in range(options.figures_per_article):
                slug, subject, unit_key, unit = rng.choice(SUBJECTS)
                place = rng.choice(PLACES)
                value = float(rng.randint(100, 20_000))
                sentence = f"A total of {value:,.0f} {subject} were recorded in {place.title()} so far."
                figures.append(
                    Figure(
                        value=value,
                        unit=unit,
                        qualifier="exact",
                        subject=subject,
                        text=f"{value:,.0f} {subject}",
                        sentence=sentence,
                        metric=f"{place}.{slug}.{unit_key}",
                        label=f"{subject} in {place.title()}",
                        place=place.title(),
                        period="so far",
                    )
                )
            entry = Entry(feed=feed, title=title, link=url, guid=url, summary="", published=when)
            stories.append(
                Story(
                    feed=feed,
                    outlet=f"Outlet {feed_index}",
                    entry=entry,
                    url=url,
                    title=title,
                    keywords=("Qianhai",),
                    figures=tuple(figures),
                    fetched_at=when + timedelta(minutes=5),
                    content_hash=f"{n:016x}",
                )
            )
        state = FeedState(name=feed, last_poll=start, last_success=start, seeded=True)
        records.append(PollRecord(state=state, stories=tuple(stories)))
    return records


def build_store(path: Path, options: CliOptions) -> float:
    """Fill a store at ``path`` with ``Store.save_poll``, one write per feed; returns the seconds it took."""
    from monitor.store import Store

    records = synthetic_polls(options)
    started = time.perf_counter()
    with Store(path) as store:
        for record in records:
            store.save_poll(record)
    return time.perf_counter() - started


def build_naive_db(path: Path, records: list[Any]) -> None:
    """The same observations as flat documents in TinyDB's default JSONStorage layout (ids as keys)."""
    documents = {}
    for record in records:
        for story in record.stories:
            for figure in story.figures:
                documents[str(len(documents) + 1)] = {
                    "metric": figure.metric,
                    "label": figure.label,
                    "value": figure.value,
                    "unit": figure.unit,
                    "qualifier": figure.qualifier,
                    "subject": figure.subject,
                    "place": figure.place,
                    "period": figure.period,
                    "text": figure.text,
                    "sentence": figure.sentence,
                    "article_title": story.title,
                    "article_url": story.url,
                    "feed": story.feed,
                    "published": story.published.isoformat(),
                    "observed_at": story.fetched_at.isoformat(),
                }
    path.write_text(json.dumps({"_default": documents}), encoding="utf-8")


NAIVE_HISTORY = """
import json, sys
from tinydb import Query, TinyDB
db = TinyDB(sys.argv[1])
rows = sorted(db.search(Query().metric == sys.argv[2]), key=lambda r: r["published"], reverse=True)
json.dump(rows, sys.stdout)
"""


def median_run(command: list[str], *, runs: int = RUNS, cwd: Path | None = None) -> tuple[float, str]:
    """Median wall seconds of ``runs`` runs after one warm-up, and the last run's standard output."""
    from .farm import ROOT

    run_measured(command, cwd=cwd or ROOT)  # warm the page cache and the bytecode cache
    times, last = [], None
    for _ in range(runs):
        last = run_measured(command, cwd=cwd or ROOT)
        if last.returncode != 0:
            raise RuntimeError(
                f"cli: {' '.join(command[:6])}… exited {last.returncode}: {last.stderr[-800:]}"
            )
        times.append(last.wall_s)
    assert last is not None
    return statistics.median(times), last.stdout


def monitor_cli() -> list[str]:
    """How to start gba-monitor: the installed script when it is on PATH, else this interpreter's -m."""
    script = shutil.which("gba-monitor")
    return [script] if script else [sys.executable, "-m", "monitor"]


def measure(options: CliOptions, *, log=print) -> list[dict[str, Any]]:
    """Rows for the results table: --help start-up, history on the large store beside plain TinyDB."""
    workdir = Path(tempfile.mkdtemp(prefix="gba-bench-cli-"))
    try:
        help_s, _ = median_run([*monitor_cli(), "--help"], runs=options.runs)
        python_s, _ = median_run([sys.executable, "-c", "pass"], runs=options.runs)
        extract_s, extracted = median_run([*monitor_cli(), *EXTRACT], runs=options.runs)
        total = options.articles * options.figures_per_article
        log(f"cli: building a store of {options.articles:,} articles / {total:,} figures")
        store_path = workdir / "store" / "monitor.json"
        build_s = build_store(store_path, options)
        config = workdir / "feeds.yaml"
        config.write_text(
            json.dumps(
                {
                    "storage": {"path": "store/monitor.json"},
                    "feeds": [{"name": "placeholder", "url": "http://127.0.0.1:9/feed.xml"}],
                }
            )
        )
        command = [
            *monitor_cli(),
            "history",
            "--metric",
            QUERIED_METRIC,
            "--format",
            "json",
            "--config",
            str(config),
        ]
        history_s, out = median_run(command, runs=options.runs)
        found = len(json.loads(out)) if out.strip().startswith("[") else -1
        naive_path = workdir / "naive.json"
        build_naive_db(naive_path, synthetic_polls(options))
        naive_s, naive_out = median_run(
            [sys.executable, "-c", NAIVE_HISTORY, str(naive_path), QUERIED_METRIC]
        )
        naive_found = len(json.loads(naive_out))
        store_mb = sum(p.stat().st_size for p in store_path.parent.iterdir() if p.is_file()) / 1e6
        naive_mb = naive_path.stat().st_size / 1e6
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    size = f"{options.articles:,} articles / {total:,} figures"
    return [
        row(
            "cli",
            f"`gba-monitor --help` start-up (median of {options.runs})",
            f"{help_s * 1000:.0f} ms",
            f"bare `python -c pass` {python_s * 1000:.0f} ms",
            f"+{(help_s - python_s) * 1000:.0f} ms",
            "",
            None,
        ),
        row(
            "cli",
            f"`{' '.join(EXTRACT[:2])}` (one page, the repo's feeds.yaml), start-up included",
            f"{extract_s:.3f} s ({len(json.loads(extracted))} figures)",
            f"`--help` {help_s:.3f} s",
            f"+{(extract_s - help_s) * 1000:.0f} ms",
            f"< {EXTRACT_TARGET_S} s",
            extract_s < EXTRACT_TARGET_S,
        ),
        row(
            "cli",
            f"`history --metric KEY --format json`, {size}",
            f"{history_s:.3f} s ({found} rows)",
            f"TinyDB default {naive_s:.3f} s ({naive_found} rows)",
            _speed(history_s, naive_s),
            f"< {HISTORY_TARGET_S} s",
            history_s < HISTORY_TARGET_S and found == naive_found,
        ),
        row(
            "cli",
            "large store: file size / build time",
            f"{store_mb:.1f} MB, built in {build_s:.1f} s",
            f"TinyDB default {naive_mb:.1f} MB",
            f"{store_mb / naive_mb:.2f}× the size",
            "",
            None,
        ),
    ]


def _speed(ours_s: float, baseline_s: float) -> str:
    """ "3.2× faster" or "1.5× slower": ours against the baseline."""
    if ours_s <= baseline_s:
        return f"{baseline_s / ours_s:.1f}× faster"
    return f"{ours_s / baseline_s:.1f}× slower"


def options_from(args: argparse.Namespace, *, quick: bool = False) -> CliOptions:
    """CliOptions from parsed flags; ``quick`` builds a store a tenth of the size."""
    articles = getattr(args, "store_articles", None) or (1_000 if quick else CliOptions().articles)
    return CliOptions(articles=articles, runs=3 if quick else RUNS)


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.cli``: this section alone."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cli", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a store of 1,000 articles")
    parser.add_argument("--store-articles", type=int, help="articles in the large store (10 figures each)")
    args = parser.parse_args(argv)
    for r in measure(options_from(args, quick=args.quick), log=lambda m: print(m, file=sys.stderr)):
        print(" | ".join(str(v) for v in r.values()))


if __name__ == "__main__":
    main()
