"""Storage on both engines, same data, one run: a TinyDB file and a PostgreSQL database (a server this
benchmark starts in a temporary folder, as the tests do), each filled by ``save_poll`` with the polls of
``benchmarks.storage``; PostgreSQL then grown to ``--pg-figures`` by copying figures under other metric keys
(the queried metric keeps its rows, the table and its indexes grow tenfold).

- **history via the CLI**: ``gba-monitor history --metric M --format json`` in a fresh process, start-up and
  imports included (median of 3 after a warm-up), against a config naming the store.
- **peak memory of what ``run`` reads**: a fresh process that opens the store as ``run`` does and reads what a
  poll reads (feed states, each metric's latest and recent values) and one history; its own peak RSS.
- **lines of code** of ``monitor/store/`` (non-blank), now and at the commit before PostgreSQL (``git show``).
- **a 200-feed poll**: ``gba-monitor run --once`` against the feed farm of ``benchmarks.poll`` (200 feeds on
  loopback, 50 ms latency), into an empty TinyDB file and into an empty database: wall time, PostgreSQL
  against TinyDB (issue 14: within 1.3×).
- **three workers against one**: the same poll, made by one worker process, then by three at once sharing a
  new database (each as ``run`` polls a scheduled round: a feed is claimed, polled once, and not due for the
  others); wall time until every worker is done, and the feeds each polled.

``python -m benchmarks.storage_postgres [--quick]`` prints the table; ``python -m benchmarks`` includes it in
the storage section. Needs PostgreSQL's initdb/postgres (see tests/postgres.py); without them the rows say so.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cli import QUERIED_METRIC
from .farm import FarmSpec, running_farm
from .poll import ROOT, Measured, monitor_command, polled_counts, row, run_measured, write_config
from .storage import START, Size, polls

CLI_TARGETS_S = {"tinydb": 1.0, "postgresql": 0.3}  # issue 14
RUN_MEMORY_TARGET_MB = 150  # issue 14, PostgreSQL, whatever the size
POLL_TARGET_RATIO = 1.3  # issue 14: a 200-feed poll on PostgreSQL within 1.3× of TinyDB's wall time
WORKERS = 3
STORE_BEFORE = "0b13033"  # the last commit with the TinyDB engine alone

GROW = """INSERT INTO figures (metric, article_url, feed, qualifier, published, observed_at, data)
    SELECT metric || '.copy' || g, article_url, feed, qualifier, published, observed_at, data
    FROM figures, generate_series(1, %s) g WHERE metric NOT LIKE '%%.copy%%'"""


def ingest(storage: dict[str, str], size: Size, grow_to: int) -> dict[str, float]:
    """Fill the store poll by poll (then grow a database's figures to ``grow_to``); seconds taken."""
    from monitor.settings import StorageSettings
    from monitor.store import open_store

    settings = StorageSettings(path=Path(storage["path"]), url=storage.get("url"))
    started = time.perf_counter()
    with open_store(settings, now=lambda: START) as store:
        for record in polls(size):
            store.save_poll(record)
    filled = time.perf_counter()
    if settings.url and grow_to > size.figures:
        import psycopg

        with psycopg.connect(settings.url, autocommit=True) as conn:
            conn.execute(GROW, (grow_to // size.figures - 1,))
            conn.execute("ANALYZE figures")
    return {"seconds": filled - started, "grow_s": time.perf_counter() - filled}


def read_like_run(storage: dict[str, str]) -> dict[str, float]:
    """Open the store and read what a poll reads; how many figures the store holds."""
    from monitor.settings import StorageSettings
    from monitor.store import open_store

    settings = StorageSettings(path=Path(storage["path"]), url=storage.get("url"))
    with open_store(settings) as store:
        store.feed_states()
        keys = [m.key for m in store.metrics()][:40]
        store.latest(keys)
        store.recent(keys)
        store.history(metric=QUERIED_METRIC)
        return {"figures": sum(figures for _, figures in store.feed_totals().values())}


def poll_as_worker(config: str) -> dict[str, Any]:
    """One worker's scheduled round, as ``run`` polls it: every due feed claimed and polled (concurrently,
    as ``run_once`` does), then the outbox delivered. What happened to the feeds, by status."""
    import io
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    from monitor.config import load_settings
    from monitor.outbox import Outbox
    from monitor.poll import open_deps, poll_due

    settings = load_settings(config)
    deps = open_deps(settings)
    try:
        threads = max(1, min(2 * settings.fetch.max_concurrency, len(settings.feeds)))
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda feed: poll_due(feed, deps, scheduled=True), settings.feeds))
        Outbox(deps.store, settings, stream=io.StringIO()).deliver()
    finally:
        deps.close()
    return dict(Counter(result.status for result in results))


def run_phase(phase: str, *args: str) -> tuple[dict[str, Any], Any]:
    command = [sys.executable, "-m", "benchmarks.storage_postgres", "--phase", phase, *args]
    measured = run_measured(command)
    if measured.returncode != 0:
        raise RuntimeError(f"storage: {phase} exited {measured.returncode}: {measured.stderr[-800:]}")
    return json.loads(measured.stdout.strip().splitlines()[-1]), measured


def cli_history(config: Path) -> tuple[float, int]:
    """Median wall seconds of 3 ``gba-monitor history`` runs after a warm-up, and the rows it printed."""
    command = [sys.executable, "-m", "monitor", "history", "--metric", QUERIED_METRIC, "--format", "json",
               "--config", str(config)]  # fmt: skip
    run_measured(command)
    runs = [run_measured(command) for _ in range(3)]
    if any(r.returncode for r in runs):
        raise RuntimeError(f"storage: history failed: {runs[-1].stderr[-800:]}")
    return statistics.median(r.wall_s for r in runs), len(json.loads(runs[-1].stdout))


def config_for(folder: Path, storage: dict[str, str]) -> Path:
    config = folder / f"{'pg' if storage.get('url') else 'tinydb'}.yaml"
    url = f', url: "{storage["url"]}"' if storage.get("url") else ""
    config.write_text(
        f'storage: {{path: "{storage["path"]}"{url}}}\nfeeds:\n  - {{name: f, url: "https://example.com/f"}}\n'
    )
    return config


def store_lines(revision: str | None) -> int:
    """Non-blank lines of monitor/store/ (or monitor/store.py and monitor/store_*.py) at ``revision``."""
    if revision is None:
        files = sorted((ROOT / "monitor" / "store").glob("*.py"))
        return sum(1 for f in files for line in f.read_text().splitlines() if line.strip())
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", revision, "monitor/"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    total = 0
    for name in [n for n in listing if n.startswith(("monitor/store/", "monitor/store"))]:
        text = subprocess.run(["git", "show", f"{revision}:{name}"], cwd=ROOT, capture_output=True, text=True)
        total += sum(1 for line in text.stdout.splitlines() if line.strip())
    return total


def results(size: Size, pg_figures: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """The rows comparing the engines on the same data."""
    sys.path.insert(0, str(ROOT))
    from tests.postgres import Server, binaries

    bindir = binaries()
    if bindir is None:
        return [
            row("storage", "PostgreSQL engine", "not measured: no initdb/postgres here", "", "", "", None)
        ]
    folder = Path(tempfile.mkdtemp(prefix="gba-bench-pg-"))
    server = Server(bindir)
    try:
        engines = {"tinydb": {"path": str(folder / "store.json")},
                   "postgresql": {"path": str(folder / "unused.json"), "url": server.database()}}  # fmt: skip
        measured = {}
        for engine, storage in engines.items():
            grow_to = pg_figures if engine == "postgresql" else size.figures
            log(
                f"storage: {engine}: {size}"
                + (f", grown to {grow_to:,} figures" if grow_to > size.figures else "")
            )
            built, _ = run_phase("ingest", json.dumps(storage), *map(str, (size.articles, size.figures,
                                                                           size.polls, grow_to)))  # fmt: skip
            read, read_run = run_phase("read", json.dumps(storage))
            cli_s, cli_rows = cli_history(config_for(folder, storage))
            measured[engine] = built | read | {"rss": read_run.max_rss_mb, "cli_s": cli_s, "rows": cli_rows}
        # The full size polls the full farm; a quick run (a tenth of the data) a small one.
        spec = FarmSpec() if size == Size() else FarmSpec(feeds=10, items=5, latency_ms=20, hosts=3)
        polled = poll_results(server, spec, log)
    finally:
        server.stop()
    return table(size, measured, store_lines(STORE_BEFORE), store_lines(None)) + polled


def poll_results(server: Any, spec: FarmSpec, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """The farm's poll into an empty TinyDB file and an empty database; then one worker against three."""
    folder = Path(tempfile.mkdtemp(prefix="gba-bench-pg-poll-"))
    try:
        log(f"storage: a farm of {spec.feeds} feeds × {spec.items} items for the poll on both engines")
        with running_farm(spec) as farm:
            (folder / "tinydb").mkdir()
            tinydb = write_config(folder / "tinydb", farm.feed_urls, concurrency=None, per_host=None)
            runs: dict[str, Measured] = {}
            for engine in ("tinydb", "postgresql"):
                config = tinydb if engine == "tinydb" else with_url(tinydb, server.database(), "pg")
                log(f"storage: {spec.feeds}-feed poll (`run --once`) on {engine}")
                runs[engine] = run_measured(monitor_command(config), stdout_to_null=True)
                if runs[engine].returncode != 0:
                    raise RuntimeError(f"storage: run --once on {engine}: {runs[engine].stderr[-800:]}")
            workers = {}
            for count in (1, WORKERS):
                config = with_url(tinydb, server.database(), f"workers{count}")
                log(f"storage: {spec.feeds}-feed poll by {count} worker(s) on one database")
                workers[count] = workers_poll(config, count)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return poll_table(spec, runs, workers)


def with_url(config: Path, url: str, name: str) -> Path:
    """A copy of the farm's config (JSON) whose store is the database at ``url``."""
    document = json.loads(config.read_text(encoding="utf-8"))
    document["storage"]["url"] = url
    copy = config.parent.parent / name / "feeds.yaml"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return copy


def workers_poll(config: Path, count: int) -> dict[str, Any]:
    """``count`` worker processes polling the farm at once: wall time until all are done, feeds each
    polled."""
    from concurrent.futures import ThreadPoolExecutor

    command = [sys.executable, "-m", "benchmarks.storage_postgres", "--phase", "worker", str(config)]
    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        done = list(pool.map(lambda _: run_measured(command), range(count)))
    wall_s = time.perf_counter() - started
    if any(d.returncode for d in done):
        raise RuntimeError(f"storage: a worker failed: {next(d for d in done if d.returncode).stderr[-800:]}")
    statuses = [json.loads(d.stdout.strip().splitlines()[-1]) for d in done]
    polled = [sum(n for status, n in s.items() if status != "claimed") for s in statuses]
    return {"wall_s": wall_s, "polled": polled, "cpu_s": sum(d.cpu_s for d in done)}


def poll_table(
    spec: FarmSpec, runs: dict[str, Measured], workers: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    tiny, pg = runs["tinydb"], runs["postgresql"]
    one, many = workers[1], workers[WORKERS]
    ratio = pg.wall_s / tiny.wall_s
    stored = polled_counts(pg.stderr)
    farm = f"{spec.feeds} feeds × {spec.items} items, {spec.latency_ms:g} ms latency"
    return [
        row("storage", f"{spec.feeds}-feed poll, `run --once` into an empty store ({farm})",
            f"PostgreSQL {pg.wall_s:.2f} s (CPU {pg.cpu_s:.2f} s; {stored.get('stories', '?')} stories)",
            f"TinyDB {tiny.wall_s:.2f} s (CPU {tiny.cpu_s:.2f} s)", f"{ratio:.2f}× TinyDB's time",
            f"≤ {POLL_TARGET_RATIO}×", ratio <= POLL_TARGET_RATIO),
        row("storage", f"{spec.feeds}-feed poll by {WORKERS} workers sharing one PostgreSQL (one round)",
            f"{many['wall_s']:.2f} s; feeds polled per worker {'/'.join(map(str, many['polled']))} "
            f"(total {sum(many['polled'])}); CPU {many['cpu_s']:.2f} s",
            f"1 worker {one['wall_s']:.2f} s ({sum(one['polled'])} feeds); CPU {one['cpu_s']:.2f} s",
            f"{one['wall_s'] / many['wall_s']:.2f}× faster", "", None),
    ]  # fmt: skip


def table(size: Size, m: dict[str, dict[str, Any]], before: int, after: int) -> list[dict[str, Any]]:
    tiny, pg = m["tinydb"], m["postgresql"]
    return [
        row("storage", f"both engines, ingest {size} by save_poll",
            f"PostgreSQL {pg['seconds']:.1f} s ({pg['seconds'] / size.polls * 1000:.0f} ms/poll); grown to "
            f"{pg['figures']:,} figures in {pg['grow_s']:.1f} s", f"TinyDB {tiny['seconds']:.1f} s",
            f"{pg['seconds'] / tiny['seconds']:.2f}× TinyDB's time", "", None),
        row("storage", f"history of one metric via the CLI, start-up included ({pg['rows']} rows)",
            f"PostgreSQL at {pg['figures']:,} figures: {pg['cli_s']:.3f} s",
            f"TinyDB at {tiny['figures']:,} figures: {tiny['cli_s']:.3f} s", "",
            "PG < 0.3 s, TinyDB < 1 s",
            pg["cli_s"] < CLI_TARGETS_S["postgresql"] and tiny["cli_s"] < CLI_TARGETS_S["tinydb"]),
        row("storage", "peak memory of a process reading what `run` reads (states, latest, recent, history)",
            f"PostgreSQL at {pg['figures']:,} figures: {pg['rss']:.0f} MB",
            f"TinyDB at {tiny['figures']:,} figures: {tiny['rss']:.0f} MB", "", "PG < 150 MB",
            pg["rss"] < RUN_MEMORY_TARGET_MB),
        row("storage", "non-blank lines of monitor/store/", f"{after:,} (two engines)",
            f"{before:,} (TinyDB alone, {STORE_BEFORE})", "", "", None),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.storage_postgres``: both engines, same data, as a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage_postgres")
    parser.add_argument("--quick", action="store_true", help="1,000 articles / 10,000 figures, grown tenfold")
    parser.add_argument("--pg-figures", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=("ingest", "read", "worker"), help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.phase == "ingest":
        storage, articles, figures, count, grow_to = rest
        print(
            json.dumps(
                ingest(json.loads(storage), Size(int(articles), int(figures), int(count)), int(grow_to))
            )
        )
        return
    if args.phase == "read":
        print(json.dumps(read_like_run(json.loads(rest[0]))))
        return
    if args.phase == "worker":
        print(json.dumps(poll_as_worker(rest[0])))
        return
    size = Size().scaled(1_000) if args.quick else Size()
    pg_figures = size.figures * 10 if args.quick else args.pg_figures
    started = time.perf_counter()
    rows = results(size, pg_figures, lambda message: print(message, file=sys.stderr, flush=True))
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        print(f"| {r['measure']} | {r['ours']} | {r['baseline']} | {r['ratio']} | {r['target']} | {met} |")
    print(f"\n{time.perf_counter() - started:.0f} s in all.")


if __name__ == "__main__":
    main()
