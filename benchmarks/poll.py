"""Poll cycle: one ``gba-monitor run --once`` against the feed farm, beside the ideal and the naive loop.

Each run is a fresh subprocess measured with ``os.wait4``, so wall time, CPU time (user + sys) and peak RSS
are exactly that process's, start-up and imports included, and never the farm's (another process) or this
harness's. Three runs:

- **ours, cycle 1**: the real CLI on a generated config (``respect_robots: false``, ``on_first_run: seed``, no
  Slack credentials: the alerts go to /dev/null) with an empty store;
- **ours, cycle 2**: the same again with nothing changed; the feeds answer 304 to the conditional GETs;
- **naive**: what a user would write instead: feeds one after another (httpx + feedparser), each article one
  after another, the same extraction (``monitor.articles.read_article`` and
  ``monitor.figures.extract_figures``), every entry inserted into TinyDB's default JSONStorage with
  ``db.insert``. It may run on the first few feeds only and is then scaled linearly to all of them (kind to
  the baseline: each insert rewrites the whole file, so the real cost grows faster than linearly).

The ideal is the larger of the slowest request chain (a feed then one of its pages, measured on the farm) and
our CPU time spread over every core.

``python -m benchmarks.poll`` runs this section alone; ``python -m benchmarks`` runs it with the others.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.settings import FetchSettings

from .farm import ROOT, FarmSpec, RunningFarm, running_farm

KEYWORDS = ["Greater Bay Area", "GBA", "Qianhai", "Hengqin", "Nansha", "前海", "大湾区", "横琴"]
METRICS = [
    {
        "key": "qianhai.hk-funded-enterprises",
        "label": "Hong Kong-funded enterprises in Qianhai",
        "patterns": ["(hong kong|hk)[- ]funded (enterprises|companies|firms)", "港资企业"],
        "place": "Qianhai",
    },
    {
        "key": "gba.gdp",
        "label": "Greater Bay Area economic output",
        "patterns": ["economic output", "经济总量"],
        "place": "Greater Bay Area",
    },
    {
        "key": "hzmb.vehicles",
        "label": "Vehicles crossing the Hong Kong-Zhuhai-Macao Bridge",
        "patterns": ["vehicles"],
    },
]
POLLED = re.compile(r"polled (\d+) feeds: (\d+) new stories, (\d+) figures, (\d+) failed")


@dataclass(frozen=True, slots=True)
class Measured:
    """What one subprocess cost: wall and CPU seconds, peak resident memory, and how it ended.

    CPU includes the child's own children once it has reaped them (the poller's reader processes); peak RSS
    is only the largest single process, so ``tree_mb`` adds up the whole tree when it was sampled.
    """

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    tree_mb: float | None = None  # peak of the summed PSS of the child and its descendants, sampled

    @property
    def cpu_s(self) -> float:
        """User plus system CPU seconds."""
        return self.user_s + self.sys_s


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


WARM_IMPORTS = """
import importlib
for name in ("monitor.cli", "monitor.poll", "monitor.query", "monitor.scheduler", "feedparser", "httpx",
             "tinydb", "benchmarks.poll", "benchmarks.storage"):
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""


def child_env() -> dict[str, str]:
    """The environment of measured subprocesses: this checkout importable, no Slack credentials or proxies,
    bytecode cached (as for an installed package) in a temporary folder instead of the checkout."""
    drop = ("SLACK_", "GBA_MONITOR_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["PYTHONPYCACHEPREFIX"] = str(bytecode_cache())
    return env


@functools.cache
def bytecode_cache() -> Path:
    """A temporary PYTHONPYCACHEPREFIX, filled once by importing what the measured commands import.

    Without it a checkout run under PYTHONDONTWRITEBYTECODE compiles every module on every start (about 70 ms
    for monitor/ alone), which no installed copy does. It is removed when this process exits.
    """
    folder = Path(tempfile.mkdtemp(prefix="gba-bench-pyc-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["PYTHONPYCACHEPREFIX"] = str(folder)
    subprocess.run([sys.executable, "-c", WARM_IMPORTS], cwd=ROOT, env=env, check=False)
    return folder


def run_measured(
    command: list[str], *, cwd: Path = ROOT, stdout_to_null: bool = False, sample_tree: bool = False
) -> Measured:
    """Run ``command`` to completion and measure that one child with ``os.wait4``; with ``sample_tree``, also
    the peak memory of it and its descendants (Linux only)."""
    env = child_env()  # before the clock: the first call warms the bytecode cache, which takes seconds
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if stdout_to_null else out,
            stderr=err,
        )
        sampler = (
            TreeMemory(process.pid) if sample_tree and Path("/proc/self/smaps_rollup").exists() else None
        )
        try:
            _, status, usage = os.wait4(process.pid, 0)
            wall_s = time.perf_counter() - started
        finally:
            tree_mb = sampler.stop() if sampler else None
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux and in bytes on macOS.
        rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return Measured(
            wall_s,
            usage.ru_utime,
            usage.ru_stime,
            rss_mb,
            process.returncode,
            out.read(),
            err.read(),
            tree_mb,
        )


class TreeMemory:
    """A thread that samples the summed PSS of a process and its descendants every ``every_s`` and keeps the
    peak. PSS, not RSS: pages the processes share (the interpreter, libraries) count once in all."""

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        self.pid = pid
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), name="tree-memory", daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak_mb

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.peak_mb = max(self.peak_mb, sum(map(_pss_mb, _tree(self.pid))))


def _tree(root: int) -> list[int]:
    """``root`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _pss_mb(pid: int) -> float:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0  # gone meanwhile, or not ours to read
    match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
    return int(match.group(1)) / 1024 if match else 0.0


def write_config(
    folder: Path, feed_urls: list[str], *, concurrency: int | None, per_host: int | None
) -> Path:
    """A feeds.yaml for the farm (JSON is YAML): no robots.txt, seed on first run, no Slack credentials."""
    shipped = FetchSettings()
    # Every fetch limit is spelled out, at the shipped default unless a flag says otherwise, so the numbers
    # do not depend on how config.py fills in what a file leaves out.
    fetch: dict[str, Any] = {
        "respect_robots": False,
        "timeout": "10s",
        "deadline": "30s",
        "user_agent": shipped.user_agent,
        "max_feed_bytes": shipped.max_feed_bytes,
        "max_page_bytes": shipped.max_page_bytes,
        "max_concurrency": concurrency or shipped.max_concurrency,
        "max_per_host": per_host or shipped.max_per_host,
    }
    document = {
        "storage": {"path": "store/monitor.json"},
        "slack": {"channel": "#gba-bench", "on_first_run": "seed"},
        "fetch": fetch,
        "defaults": {"interval": "30m", "keywords": KEYWORDS},
        "feeds": [
            {"name": f"farm-{index:04d}", "url": url, "outlet": f"Farm outlet {index % 20}"}
            for index, url in enumerate(feed_urls)
        ],
        "metrics": METRICS,
    }
    path = folder / "feeds.yaml"
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def request_chain_s(farm: RunningFarm, tries: int = 3) -> float:
    """The slowest chain a poll cannot shorten: one feed, then one of its pages, each on a new connection."""
    feed_url = farm.feed_urls[0]
    best = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        body = _get(feed_url)
        page_url = re.search(rb"<link>(http[^<]+\.html)</link>", body)
        assert page_url, "farm: the feed has no item links"
        _get(page_url[1].decode())
        best = min(best, time.perf_counter() - started)
    return best


def _get(url: str) -> bytes:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path)
        return connection.getresponse().read()
    finally:
        connection.close()


def monitor_command(config: Path) -> list[str]:
    """``gba-monitor run --once`` for ``config``, through this interpreter (no install needed)."""
    return [
        sys.executable,
        "-m",
        "monitor",
        "--log-level",
        "warning",
        "run",
        "--once",
        "--config",
        str(config),
    ]


def polled_counts(stderr: str) -> dict[str, int]:
    """The CLI's closing line, "polled N feeds: S new stories, F figures, X failed", as numbers."""
    match = POLLED.search(stderr)
    if not match:
        return {}
    return dict(zip(("feeds", "stories", "figures", "failed"), map(int, match.groups()), strict=True))


# --- the naive loop (runs in its own process: python -m benchmarks.poll _naive ...) -----------------------


def naive_poll(feed_urls: list[str], db_path: Path) -> dict[str, int]:
    """Feeds one by one, pages one by one, the same extraction, one ``db.insert`` per entry."""
    import feedparser
    import httpx
    from tinydb import Query, TinyDB

    from monitor.articles import read_article
    from monitor.figures import extract_figures
    from monitor.records import Fetched
    from monitor.settings import TrackedMetric

    metrics = [TrackedMetric(m["key"], m["label"], tuple(m["patterns"]), m.get("place")) for m in METRICS]
    keywords = [k.lower() for k in KEYWORDS]
    counts = {"feeds": 0, "stories": 0, "figures": 0, "failed": 0}
    db = TinyDB(db_path)  # the default JSONStorage: every insert rewrites the file
    story = Query()
    with httpx.Client(timeout=10) as client:
        for feed_url in feed_urls:
            counts["feeds"] += 1
            parsed = feedparser.parse(client.get(feed_url).content)
            for entry in parsed.entries:
                text = f"{entry.get('title', '')} {entry.get('summary', '')}".lower()
                if not any(keyword in text for keyword in keywords) or db.contains(story.url == entry.link):
                    continue
                try:
                    response = client.get(entry.link)
                    response.raise_for_status()
                    page = Fetched(
                        url=entry.link,
                        final_url=str(response.url),
                        status=response.status_code,
                        body=response.content,
                        headers={k.lower(): v for k, v in response.headers.items()},
                    )
                    figures = extract_figures(read_article(page), metrics=metrics)
                except Exception:
                    counts["failed"] += 1
                    continue
                db.insert(
                    {
                        "feed": feed_url,
                        "url": entry.link,
                        "title": entry.get("title"),
                        "published": entry.get("published"),
                        "figures": [
                            {
                                "metric": f.metric,
                                "value": f.value,
                                "unit": f.unit,
                                "text": f.text,
                                "subject": f.subject,
                                "sentence": f.sentence,
                            }
                            for f in figures
                        ],
                    }
                )
                counts["stories"] += 1
                counts["figures"] += len(figures)
    db.close()
    return counts


# --- the section --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollOptions:
    """Sizes and knobs of the poll section."""

    farm: FarmSpec = field(default_factory=FarmSpec)
    concurrency: int | None = None  # None: the shipped default
    per_host: int | None = None  # None: the shipped default
    naive_feeds: int = 20  # the naive loop polls this many feeds; its times are scaled to all of them


def measure(options: PollOptions, *, log=print) -> list[dict[str, Any]]:
    """Rows for the results table: cycle 1 (vs ideal and naive), cycle 2 (conditional GET), memory."""
    spec = options.farm
    workdir = Path(tempfile.mkdtemp(prefix="gba-bench-poll-"))
    try:
        log(f"poll: starting a farm of {spec.feeds} feeds × {spec.items} items on {spec.hosts} hosts")
        with running_farm(spec) as farm:
            chain_s = request_chain_s(farm)
            config = write_config(
                workdir, farm.feed_urls, concurrency=options.concurrency, per_host=options.per_host
            )

            farm.reset()
            log("poll: cycle 1 (empty store)")
            first = run_measured(monitor_command(config), stdout_to_null=True, sample_tree=True)
            first_farm = farm.stats()
            _check(first, "cycle 1")

            farm.reset()
            log("poll: cycle 2 (nothing changed)")
            second = run_measured(monitor_command(config), stdout_to_null=True, sample_tree=True)
            second_farm = farm.stats()
            _check(second, "cycle 2")

            naive_n = max(1, min(options.naive_feeds, spec.feeds))
            urls_file = workdir / "naive-feeds.json"
            urls_file.write_text(json.dumps(farm.feed_urls[:naive_n]))
            farm.reset()
            log(f"poll: naive loop on {naive_n} feeds")
            naive = run_measured(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.poll",
                    "_naive",
                    str(urls_file),
                    str(workdir / "naive.json"),
                ],
                sample_tree=True,
            )
            _check(naive, "naive loop")
            naive_counts = json.loads(naive.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    page_rate = farm_pages_per_second(spec)
    ours = polled_counts(first.stderr)
    n = cores()
    scale = spec.feeds / naive_n
    naive_wall, naive_cpu = naive.wall_s * scale, naive.cpu_s * scale
    ideal = max(chain_s, first.cpu_s / n)
    scaled = f" ({naive_n} feeds, ×{scale:.3g})" if scale != 1 else ""
    stored = ", ".join(f"{ours.get(k, '?')} {k}" for k in ("stories", "figures", "failed"))
    return [
        row(
            "poll",
            "cycle 1: wall time vs ideal",
            f"{first.wall_s:.2f} s",
            f"ideal {ideal:.2f} s",
            f"{first.wall_s / ideal:.2f}× ideal",
            "≤ 1.5× ideal",
            first.wall_s <= 1.5 * ideal,
        ),
        row(
            "poll",
            "cycle 1: wall time vs naive loop",
            f"{first.wall_s:.2f} s",
            f"naive {naive_wall:.1f} s{scaled}",
            f"{naive_wall / first.wall_s:.1f}× faster",
            "≥ 10× faster",
            naive_wall >= 10 * first.wall_s,
        ),
        row(
            "poll",
            "cycle 1: CPU time (user+sys)",
            f"{first.cpu_s:.2f} s",
            f"naive {naive_cpu:.1f} s{scaled}",
            f"{naive_cpu / first.cpu_s:.2f}× less" if first.cpu_s else "-",
            "",
            None,
        ),
        *memory_rows(first, naive),
        row(
            "poll",
            "cycle 1: stored",
            stored,
            f"naive {naive_counts['stories']} stories, {naive_counts['figures']} figures{scaled}",
            "",
            "",
            None,
        ),
        row("poll", "cycle 1: requests / bytes served", _traffic(first_farm), "", "", "", None),
        row(
            "poll",
            "cycle 2 (nothing changed): wall time",
            f"{second.wall_s:.2f} s",
            f"cycle 1 {first.wall_s:.2f} s",
            f"{second.wall_s / first.wall_s:.1%} of cycle 1",
            "",
            None,
        ),
        row(
            "poll",
            "cycle 2: CPU time",
            f"{second.cpu_s:.2f} s",
            f"cycle 1 {first.cpu_s:.2f} s",
            f"{second.cpu_s / first.cpu_s:.1%} of cycle 1",
            "< 10% of cycle 1",
            second.cpu_s < 0.1 * first.cpu_s,
        ),
        row(
            "poll",
            "cycle 2: requests / bytes served",
            _traffic(second_farm),
            _traffic(first_farm),
            f"{second_farm.get('bytes_out', 0) / max(1, first_farm.get('bytes_out', 1)):.2%} of the bytes",
            "",
            None,
        ),
        row(
            "poll",
            f"read_article + extract_figures on the farm's {spec.page_kb} KB pages",
            f"{page_rate:.0f} pages/s per core",
            "",
            "",
            "≥ 100 pages/s per core",
            page_rate >= 100,
        ),
        row(
            "poll",
            "slowest request chain (feed + page)",
            f"{chain_s * 1000:.0f} ms",
            f"2 × {spec.latency_ms:g} ms latency",
            "",
            "",
            None,
        ),
    ]


def memory_rows(first: Measured, naive: Measured) -> list[dict[str, Any]]:
    """Peak memory of cycle 1 beside the naive loop's. The target applies to all of the poller's processes
    together (its reader workers too) when they could be sampled, else to its largest process."""
    largest = row(
        "poll",
        "cycle 1: peak RSS (largest process, os.wait4)",
        f"{first.max_rss_mb:.0f} MB",
        f"naive {naive.max_rss_mb:.0f} MB",
        f"{first.max_rss_mb / naive.max_rss_mb:.2f}× naive",
        "< 250 MB" if first.tree_mb is None else "",
        first.max_rss_mb < 250 if first.tree_mb is None else None,
    )
    if first.tree_mb is None or naive.tree_mb is None:
        return [largest]
    tree = row(
        "poll",
        "cycle 1: peak memory, all its processes (summed PSS, sampled every 0.1 s)",
        f"{first.tree_mb:.0f} MB",
        f"naive {naive.tree_mb:.0f} MB",
        f"{first.tree_mb / naive.tree_mb:.2f}× naive",
        "< 250 MB",
        first.tree_mb < 250,
    )
    return [tree, largest]


def row(section: str, measure: str, ours: str, baseline: str, ratio: str, target: str, met: bool | None):
    """One line of the results table."""
    return {
        "section": section,
        "measure": measure,
        "ours": ours,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "met": met,
    }


def farm_pages_per_second(spec: FarmSpec, *, pages: int = 100) -> float:
    """``read_article`` + ``extract_figures`` on the farm's pages in one thread: pages per second per core."""
    from monitor.articles import read_article
    from monitor.figures import extract_figures
    from monitor.records import Fetched

    from .farm import EPOCH, article_page

    bodies = [article_page(spec, n % max(1, spec.feeds), n, "Qianhai news", EPOCH) for n in range(pages)]
    started = time.perf_counter()
    for n, body in enumerate(bodies):
        url = f"http://127.0.0.1/news/{n}.html"
        page = Fetched(url=url, final_url=url, status=200, body=body, headers={"content-type": "text/html"})
        extract_figures(read_article(page))
    return pages / (time.perf_counter() - started)


def _traffic(stats: dict[str, Any]) -> str:
    statuses = ", ".join(f"{stats[k]:.0f}×{k[-3:]}" for k in sorted(stats) if k.startswith("status_"))
    return f"{stats.get('requests', 0):.0f} req ({statuses}), {stats.get('bytes_out', 0) / 1e6:.2f} MB"


def _check(measured: Measured, what: str) -> None:
    if measured.returncode != 0:
        tail = "\n".join(measured.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"poll: {what} exited with status {measured.returncode}:\n{tail}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The poll section's flags (shared with ``python -m benchmarks``)."""
    parser.add_argument("--feeds", type=int, help="feeds in the farm (default 200)")
    parser.add_argument("--items", type=int, help="items per feed (default 10)")
    parser.add_argument("--latency-ms", type=float, help="farm latency per request (default 50)")
    parser.add_argument("--page-kb", type=int, help="article page size (default 30)")
    parser.add_argument("--hosts", type=int, help="outlets, i.e. loopback addresses (default 20)")
    parser.add_argument(
        "--concurrency", type=int, help="fetch.max_concurrency (default: the shipped default)"
    )
    parser.add_argument("--per-host", type=int, help="fetch.max_per_host (default: the shipped default)")
    parser.add_argument(
        "--naive-feeds", type=int, help="feeds the naive loop polls before scaling (default 20)"
    )


def options_from(args: argparse.Namespace, *, quick: bool = False) -> PollOptions:
    """PollOptions from parsed flags; ``quick`` shrinks whatever was not given."""
    base = FarmSpec(feeds=10, items=5, latency_ms=20, hosts=3) if quick else FarmSpec()
    spec = FarmSpec(
        feeds=args.feeds or base.feeds,
        items=args.items or base.items,
        latency_ms=base.latency_ms if args.latency_ms is None else args.latency_ms,
        page_kb=args.page_kb or base.page_kb,
        hosts=args.hosts or base.hosts,
        seed=base.seed,
    )
    naive = args.naive_feeds or (3 if quick else 20)
    return PollOptions(spec, concurrency=args.concurrency, per_host=args.per_host, naive_feeds=naive)


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.poll``: the poll section alone, printed as a Markdown table."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_naive"]:
        urls_file, db_path = argv[1:3]
        counts = naive_poll(json.loads(Path(urls_file).read_text()), Path(db_path))
        print(json.dumps(counts))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.poll", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small farm, for a smoke run")
    add_arguments(parser)
    args = parser.parse_args(argv)
    rows = measure(options_from(args, quick=args.quick), log=lambda m: print(m, file=sys.stderr))
    for r in rows:
        print(" | ".join(str(v) for v in r.values()))


if __name__ == "__main__":
    main()
