"""Storage on both engines, same data, one run: a TinyDB file and a PostgreSQL database (a server this
benchmark starts in a temporary folder, as the tests do), each filled by ``save_poll`` with the polls of
``benchmarks.storage``; PostgreSQL then grown to ``--pg-figures`` by copying figures under other metric keys
(the queried metric keeps its rows, the table and its indexes grow tenfold).

- **history via the CLI**: ``gba-monitor history --metric M --format json`` in a fresh process, start-up and
  imports included (median of 3 after a warm-up), against a config naming the store.
- **peak memory of what ``run`` reads**: a fresh process that opens the store as ``run`` does and reads what a
  poll reads (feed states, each metric's latest and recent values) and one history; its own peak RSS.
- **lines of code** of ``monitor/store/`` (non-blank), now and at the commit before PostgreSQL (``git show``).

``python -m benchmarks.storage_postgres [--quick]`` prints the table; ``python -m benchmarks`` includes it in
the storage section. Needs PostgreSQL's initdb/postgres (see tests/postgres.py); without them the rows say so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cli import QUERIED_METRIC
from .poll import ROOT, row, run_measured
from .storage import START, Size, polls

CLI_TARGETS_S = {"tinydb": 1.0, "postgresql": 0.3}  # issue 14
RUN_MEMORY_TARGET_MB = 150  # issue 14, PostgreSQL, whatever the size
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
    finally:
        server.stop()
    return table(size, measured, store_lines(STORE_BEFORE), store_lines(None))


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
    parser.add_argument("--phase", choices=("ingest", "read"), help=argparse.SUPPRESS)
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
