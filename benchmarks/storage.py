"""Storage: ingest 10,000 articles / 100,000 figures in 1,000 polls, then one metric's history; beside
TinyDB's default JSONStorage doing the same work.

Every phase is a fresh subprocess measured with ``os.wait4``: wall time, and that process's own peak RSS. Both
sides are TinyDB tables and Queries; they differ in what is under ``TinyDB(path, storage=...)`` and in how
writes are grouped.

- **ingest, ours**: ``Store.save_poll`` once per poll (a feed state, 10 articles, 100 figures, their metrics
  and 10 alerts): TinyDB's ``insert_multiple``/``update`` per table through ``BatchingMiddleware``, then one
  atomic write of the file (orjson, temporary file, fsync, rename, folder fsync).
- **ingest, TinyDB default**: ``TinyDB(path)`` (JSONStorage: stdlib json, the file rewritten in place, read
  and parsed again before every operation); per poll, ``insert_multiple`` into ``articles`` and into
  ``figures``: the same rows, but no feed state, metrics or outbox, so less work than ours. Its cost grows
  with the square of the size, so it runs on the first ``--baseline-articles`` (default a tenth) and ours is
  measured at that size too for the ratio.
- **history**: ``python -c`` that opens the store and asks for one metric's history, newest first (start-up
  and imports included; median of 3 after a warm-up). Ours is ``Store.history``, which in a fresh process
  reads the metric's rows at the offsets ``<store>.index`` gives (``monitor.store._index``); beside it,
  ``TinyDB(path)`` (default storage) running TinyDB's Query on the very same file, which is what the index
  buys, and on a file of TinyDB default's own at the same size. In-process: open + first query, and a second
  query; then the whole document loaded, as a long-running ``run`` does once, and the same history by
  TinyDB's Query.

``python -m benchmarks.storage [--articles N --figures M --polls P --baseline-articles K]`` prints the table;
``python -m benchmarks`` includes it. Defaults take about two minutes on 2 cores.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .cli import PLACES, QUERIED_METRIC, SUBJECTS
from .poll import Measured, row, run_measured

HISTORY_TARGET_S = 1.0  # issue 5: "well under a second, CLI start included"
START = datetime(2024, 1, 1, tzinfo=UTC)

OUR_HISTORY = """
import sys, time
from pathlib import Path
from monitor.store import Store
with Store(Path(sys.argv[1])) as store:
    print(len(store.history(metric=sys.argv[2])))
"""
TINYDB_HISTORY = """
import sys
from tinydb import TinyDB, where
db = TinyDB(sys.argv[1])
rows = db.table("figures").search(where("metric") == sys.argv[2])
rows.sort(key=lambda r: (r["published"] or r["observed_at"], r["observed_at"], r.doc_id), reverse=True)
print(len(rows))
"""


@dataclass(frozen=True, slots=True)
class Size:
    """How much to ingest, and in how many polls."""

    articles: int = 10_000
    figures: int = 100_000
    polls: int = 1_000

    def scaled(self, articles: int) -> Size:
        """The same shape with ``articles`` articles."""
        ratio = articles / self.articles
        return Size(articles, round(self.figures * ratio), max(1, round(self.polls * ratio)))

    def __str__(self) -> str:
        return f"{self.articles:,} articles / {self.figures:,} figures in {self.polls:,} polls"


def polls(size: Size, *, seed: int = 5) -> Iterator[Any]:
    """PollRecords of synthetic stories, built one poll at a time (so they never all sit in memory)."""
    from monitor.records import Alert, Entry, FeedState, Figure, PollRecord, Story

    rng = random.Random(seed)
    per_poll, figures_left = -(-size.articles // size.polls), size.figures
    for poll in range(size.polls):
        feed, when = f"feed-{poll % 20:02d}", START + timedelta(minutes=15 * poll)
        stories, alerts = [], []
        for n in range(poll * per_poll, min(size.articles, (poll + 1) * per_poll)):
            count = figures_left // max(1, size.articles - n)
            figures_left -= count
            url = f"https://news.example.com/{feed}/2024/{n:06d}-qianhai-and-the-greater-bay-area.html"
            title = f"Qianhai and the Greater Bay Area keep growing, officials say (report {n})"
            figures = []
            for _ in range(count):
                slug, subject, unit_key, unit = rng.choice(SUBJECTS)
                place, value = rng.choice(PLACES), float(rng.randint(100, 20_000))
                sentence = (
                    f"A total of {value:,.0f} {subject} were recorded in {place.title()} so far this year, "
                    "up from last year, according to the district's commerce bureau."
                )
                figures.append(Figure(
                    value=value, unit=unit, qualifier="exact", subject=subject,
                    text=f"{value:,.0f} {subject}", sentence=sentence,
                    metric=f"{place}.{slug}.{unit_key}", label=f"{subject} in {place.title()}",
                    place=place.title(), period="so far",
                ))  # fmt: skip
            entry = Entry(feed=feed, title=title, link=url, guid=url, published=when - timedelta(hours=2))
            stories.append(Story(
                feed=feed, outlet=f"Outlet {feed}", entry=entry, url=url, title=title, keywords=("Qianhai",),
                figures=tuple(figures), fetched_at=when, content_hash=f"{n:016x}",
            ))  # fmt: skip
            alerts.append(Alert(key=f"story:{url}", channel=None, text=title))
        state = FeedState(feed, last_poll=when, last_success=when, seeded=True)
        yield PollRecord(state, tuple(stories), tuple(alerts))


def plain_rows(record: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(article rows, figure rows) of one poll as TinyDB documents, as a user of plain TinyDB would."""
    from monitor.records import Observation

    def iso(when: datetime | None) -> str | None:
        return when.isoformat() if when else None

    articles, figures = [], []
    for story in record.stories:
        articles.append({
            "url": story.url, "guid": story.entry.guid, "title": story.title, "outlet": story.outlet,
            "feed": story.feed, "published": iso(story.published), "fetched_at": iso(story.fetched_at),
            "content_hash": story.content_hash, "figures": len(story.figures),
            "keywords": list(story.keywords),
        })  # fmt: skip
        for figure in story.figures:
            observation = Observation.of(story, figure)
            figures.append({
                **{f.name: getattr(observation, f.name) for f in fields(Observation)},
                "published": iso(observation.published), "observed_at": iso(observation.observed_at),
            })  # fmt: skip
    return articles, figures


# --- phases (each runs in its own process) -----------------------------------------------------------------


def ingest_ours(path: Path, size: Size) -> dict[str, float]:
    from monitor.store import Store

    started = time.perf_counter()
    with Store(path, now=lambda: START) as store:
        for record in polls(size):
            store.save_poll(record)
    return {"seconds": time.perf_counter() - started}


def ingest_tinydb(path: Path, size: Size) -> dict[str, float]:
    from tinydb import TinyDB

    started = time.perf_counter()
    db = TinyDB(path)
    articles, figures = db.table("articles"), db.table("figures")
    for record in polls(size):
        article_rows, figure_rows = plain_rows(record)
        articles.insert_multiple(article_rows)
        figures.insert_multiple(figure_rows)
    db.close()
    return {"seconds": time.perf_counter() - started}


def ingest_tinydb_bulk(path: Path, size: Size) -> dict[str, float]:
    """The same rows loaded with one insert_multiple per table: the cheapest way to get them into TinyDB."""
    from tinydb import TinyDB

    article_rows, figure_rows = [], []
    for record in polls(size):
        articles, figures = plain_rows(record)
        article_rows += articles
        figure_rows += figures
    started = time.perf_counter()
    db = TinyDB(path)
    db.table("articles").insert_multiple(article_rows)
    db.table("figures").insert_multiple(figure_rows)
    db.close()
    return {"seconds": time.perf_counter() - started}


def query_ours(path: Path, metric: str) -> dict[str, float]:
    from monitor.store import Store

    started = time.perf_counter()
    store = Store(path)  # reads <store>.index only, when it describes the file
    opened = time.perf_counter()
    found = len(store.history(metric=metric))
    cold = time.perf_counter()
    store.history(metric=metric)
    warm = time.perf_counter()
    store.feed_states()  # the whole document read, checked and its lookups built: what `run` does at start
    loaded = time.perf_counter()
    store.history(metric=metric)  # now TinyDB's Query on the loaded figures table
    queried = time.perf_counter()
    return {
        "rows": found,
        "open_s": opened - started,
        "cold_s": cold - started,
        "warm_s": warm - cold,
        "load_s": loaded - warm,
        "query_s": queried - loaded,
    }


def query_tinydb(path: Path, metric: str) -> dict[str, float]:
    from tinydb import TinyDB, where

    started = time.perf_counter()
    db = TinyDB(path)
    found = len(db.table("figures").search(where("metric") == metric))
    cold = time.perf_counter()
    db.table("figures").search(where("metric") == metric)  # TinyDB's query cache answers this one
    warm = time.perf_counter()
    return {"rows": found, "cold_s": cold - started, "warm_s": warm - cold}


PHASES: dict[str, Callable[..., dict[str, float]]] = {
    "ingest-ours": ingest_ours,
    "ingest-tinydb": ingest_tinydb,
    "ingest-tinydb-bulk": ingest_tinydb_bulk,
    "query-ours": query_ours,
    "query-tinydb": query_tinydb,
}


# --- the harness -------------------------------------------------------------------------------------------


def run_phase(phase: str, path: Path, *args: Any) -> tuple[dict[str, float], Measured]:
    """Run one phase in a fresh interpreter; its own result, and its wall time and peak RSS."""
    measured = run_measured(
        [sys.executable, "-m", "benchmarks.storage", "--phase", phase, str(path), *map(str, args)]
    )
    if measured.returncode != 0:
        raise RuntimeError(f"storage: phase {phase} exited {measured.returncode}: {measured.stderr[-800:]}")
    return json.loads(measured.stdout.strip().splitlines()[-1]), measured


def median_history(script: str, path: Path) -> tuple[float, float, str]:
    """Median wall seconds of 3 ``python -c`` history runs after a warm-up; the last one's RSS and output."""
    command = [sys.executable, "-c", script, str(path), QUERIED_METRIC]
    run_measured(command)
    runs = [run_measured(command) for _ in range(3)]
    if any(r.returncode for r in runs):
        raise RuntimeError(f"storage: history script failed: {runs[-1].stderr[-800:]}")
    return statistics.median(r.wall_s for r in runs), runs[-1].max_rss_mb, runs[-1].stdout.strip()


def measure(ingest: str, folder: Path, size: Size, log: Callable[[str], None]) -> dict[str, Any]:
    """Ingest ``size`` with one phase (ingest-ours, ingest-tinydb, ...), then query: the table's numbers."""
    path = folder / f"{ingest}-{size.articles}" / "store.json"
    path.parent.mkdir(parents=True)
    log(f"storage: {ingest}: {size}")
    ingested, ingest_run = run_phase(ingest, path, size.articles, size.figures, size.polls)
    ours = ingest == "ingest-ours"
    files = [p for p in path.parent.iterdir() if p.is_file()]
    query, query_run = run_phase("query-ours" if ours else "query-tinydb", path, QUERIED_METRIC)
    cli_s, cli_rss, cli_rows = median_history(OUR_HISTORY if ours else TINYDB_HISTORY, path)
    same_file = ""
    if ours:  # TinyDB's default storage and the same Query on the very same file
        same_s, same_rss, same_rows = median_history(TINYDB_HISTORY, path)
        same_file = f"{same_s:.3f} s ({same_rows} rows), peak {same_rss:.0f} MB"
    return {
        "same_file": same_file,
        "size": size,
        "ingest_s": ingested["seconds"],
        "ingest_rss": ingest_run.max_rss_mb,
        "file_mb": path.stat().st_size / 1e6,
        "beside_mb": sum(p.stat().st_size for p in files if p != path) / 1e6,  # lock files: empty
        "query": query,
        "query_rss": query_run.max_rss_mb,
        "cli": f"{cli_s:.3f} s ({cli_rows} rows), peak {cli_rss:.0f} MB",
        "cli_s": cli_s,
    }


def results(size: Size, baseline_articles: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Rows for the results table (section, measure, ours, baseline, ratio, target, met)."""
    folder = Path(tempfile.mkdtemp(prefix="gba-bench-storage-"))
    small = size.scaled(baseline_articles) if baseline_articles < size.articles else size
    try:
        ours = measure("ingest-ours", folder, size, log)
        bulk = measure("ingest-tinydb-bulk", folder, size, log)
        ours_small = measure("ingest-ours", folder, small, log) if small != size else ours
        tinydb_small = measure("ingest-tinydb", folder, small, log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return table_rows(ours, bulk, ours_small, tinydb_small)


def table_rows(
    ours: dict[str, Any], bulk: dict[str, Any], small: dict[str, Any], tinydb: dict[str, Any]
) -> list[dict[str, Any]]:
    """Ours at full size beside TinyDB's default holding the same rows; the ingest beside TinyDB's default
    doing it poll by poll, at the baseline's size."""
    full, at = f"{ours['size']}", f"{small['size']}"
    query = ours["query"]

    def ratio(baseline: float, mine: float) -> str:
        return f"{baseline / mine:.1f}× faster" if baseline >= mine else f"{mine / baseline:.1f}× slower"

    target = f"< {HISTORY_TARGET_S:g} s"
    table = [
        row("storage", f"ingest {full}, one atomic write per poll",
            f"{ours['ingest_s']:.1f} s ({ours['ingest_s'] / ours['size'].polls * 1000:.0f} ms/poll), "
            f"peak {ours['ingest_rss']:.0f} MB",
            f"TinyDB default, one insert_multiple per table for everything: {bulk['ingest_s']:.1f} s",
            "", "", None),
        row("storage", f"ingest {at}, poll by poll",
            f"{small['ingest_s']:.1f} s, peak {small['ingest_rss']:.0f} MB",
            f"TinyDB default {tinydb['ingest_s']:.1f} s, peak {tinydb['ingest_rss']:.0f} MB",
            ratio(tinydb["ingest_s"], small["ingest_s"]), "", None),
        row("storage", f"file size, {full}", f"{ours['file_mb'] + ours['beside_mb']:.1f} MB",
            f"TinyDB default {bulk['file_mb']:.1f} MB (figures and articles only)",
            f"{ours['file_mb'] / bulk['file_mb']:.2f}× the size", "", None),
        row("storage", f"history of one metric via `python -c`, start-up included, {full}", ours["cli"],
            f"TinyDB default {bulk['cli']}", ratio(bulk["cli_s"], ours["cli_s"]), target,
            ours["cli_s"] < HISTORY_TARGET_S),
        row("storage", f"history of one metric via `python -c`, start-up included, {full}, on our file",
            ours["cli"], f"TinyDB(path) default storage, same Query: {ours['same_file']}", "", target,
            ours["cli_s"] < HISTORY_TARGET_S),
        row("storage", f"history of one metric via `python -c`, start-up included, {at}", small["cli"],
            f"TinyDB default {tinydb['cli']}", ratio(tinydb["cli_s"], small["cli_s"]), target,
            small["cli_s"] < HISTORY_TARGET_S),
        row("storage", f"history in-process, open + first query / a second query, {full}",
            f"{query['cold_s'] * 1000:.0f} ms (open {query['open_s'] * 1000:.0f} ms) / "
            f"{query['warm_s'] * 1000:.1f} ms",
            f"TinyDB default {bulk['query']['cold_s'] * 1000:.0f} ms / "
            f"{bulk['query']['warm_s'] * 1000:.1f} ms (its query cache)",
            ratio(bulk["query"]["cold_s"], query["cold_s"]), "", None),
        row("storage", f"whole document loaded once (what `run` does at start), {full}",
            f"{query['load_s']:.2f} s, then {query['query_s'] * 1000:.0f} ms per history (TinyDB Query); "
            f"peak {ours['query_rss']:.0f} MB", f"TinyDB default: peak {bulk['query_rss']:.0f} MB",
            "", "", None),
    ]  # fmt: skip
    return table if small is not ours else table[:5] + table[6:]  # no second history row at the same size


def rows(*, quick: bool = False, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """This section's rows for ``python -m benchmarks``, both engines; ``quick`` ingests a tenth."""
    from . import storage_postgres

    size = Size().scaled(1_000) if quick else Size()
    tinydb = results(size, size.articles if quick else size.articles // 10, log)
    return tinydb + storage_postgres.results(size, size.figures * 10, log)


def markdown(table: list[dict[str, Any]]) -> str:
    columns = ("measure", "ours", "baseline", "ratio", "target", "met")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in table:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append("| " + " | ".join([*(str(r[c]) for c in columns[:-1]), met]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.storage``: this section alone, as a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=Size().articles)
    parser.add_argument("--figures", type=int, default=Size().figures)
    parser.add_argument("--polls", type=int, help="poll batches (default: one per 10 articles)")
    parser.add_argument("--baseline-articles", type=int, help="TinyDB default's size (default: a tenth)")
    parser.add_argument(
        "--quick", action="store_true", help="1,000 articles / 10,000 figures, baseline alike"
    )
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.phase:
        path, *values = rest
        arguments = [Size(*map(int, values))] if args.phase.startswith("ingest") else values
        print(json.dumps(PHASES[args.phase](Path(path), *arguments)))
        return
    size = Size(args.articles, args.figures, args.polls or max(1, args.articles // 10))
    if args.quick:
        size = replace(size.scaled(1_000))
    baseline = args.baseline_articles or (size.articles if args.quick else max(1, size.articles // 10))
    started = time.perf_counter()
    table = results(size, baseline, lambda message: print(message, file=sys.stderr, flush=True))
    print(markdown(table))
    print(
        f"\n{time.perf_counter() - started:.0f} s in all. Peak memory is each phase's own process (os.wait4)."
    )


if __name__ == "__main__":
    main()
