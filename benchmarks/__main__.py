"""``python -m benchmarks``: every section in one run, one Markdown table, written to benchmarks/RESULTS.md.

Sections: poll (``benchmarks.poll``, against the feed farm of ``benchmarks.farm``), extraction
(``benchmarks.figures``), storage (``benchmarks.storage``), cli (``benchmarks.cli``) and near-duplicates
(``benchmarks.near_duplicates``, the labelled pairs of tests/data/near-duplicates). A section whose
module is missing is reported as skipped; one that fails is reported as failed and the exit status is 1.
Everything runs on 127.0.0.1 in temporary folders that are removed afterwards.

``--quick`` shrinks every size for a smoke run (well under a minute) and prints the table without writing
RESULTS.md unless ``--output`` is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from . import cli as cli_bench
from . import poll as poll_bench

RESULTS = Path(__file__).with_name("RESULTS.md")
COLUMNS = ("section", "measure", "ours", "baseline", "ratio", "target", "met")
HEADERS = ("section", "measure", "ours", "baseline", "ratio", "target", "met?")
SECTIONS = ("poll", "extraction", "storage", "cli", "near-duplicates")


def log(message: str) -> None:
    """Progress goes to stderr, so the table on stdout can be piped."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def external_rows(module_name: str, section: str, *, quick: bool) -> list[dict[str, Any]]:
    """Rows from a sibling benchmark module that exposes a row-returning function, or one 'skipped' row."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return [_note(section, f"skipped: {module_name} cannot be imported ({exc})")]
    names = ("rows", "measure", "results", "run_rows", "benchmark_rows", "run")
    function = next((getattr(module, n) for n in names if callable(getattr(module, n, None))), None)
    if function is None and section == "extraction" and hasattr(module, "pages_per_second"):
        return extraction_rows(module)
    if function is None:
        return [
            _note(section, f"skipped: {module_name} exposes no function returning rows ({', '.join(names)})")
        ]
    parameters = inspect.signature(function).parameters
    offered = {"quick": quick, "log": log}
    result = function(**{k: v for k, v in offered.items() if k in parameters})
    return [normalized(r, section) for r in result]


def extraction_rows(module: Any) -> list[dict[str, Any]]:
    """Rows built from ``benchmarks.figures``' own functions when it offers no row-returning one."""
    cases = module.load_cases()
    if not cases:
        return [_note("extraction", f"skipped: no labelled pages in {module.CORPUS}")]
    ours, floor = module.pages_per_second(cases)  # one thread: pages per second on one core
    size_kb = sum(len(case.html) for case in cases) / len(cases) / 1024
    rows = [
        {
            "section": "extraction",
            "measure": f"body + figures, {len(cases)} labelled pages of {size_kb:.0f} KB mean",
            "ours": f"{ours:,.0f} pages/s per core",
            "baseline": f"bare lxml parse {floor:,.0f} pages/s",
            "ratio": f"{floor / ours:.0f}× the floor's time",
            "target": "≥ 100 pages/s per core",
            "met": ours >= 100,
        }
    ]
    if hasattr(module, "score_corpus"):
        for lang, score in sorted(module.score_corpus(cases).items()):
            rows.append(
                {
                    "section": "extraction",
                    "measure": f"accuracy ({lang}): precision / recall / F1",
                    "ours": f"{score.precision:.3f} / {score.recall:.3f} / {score.f1:.3f}",
                    "baseline": f"{score.golden} golden figures",
                    "ratio": "",
                    "target": "",
                    "met": None,
                }
            )
    return rows


def normalized(row: Any, section: str) -> dict[str, Any]:
    """A row as a dict with the table's columns, whether it came as a dict, a dataclass or a tuple."""
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        row = dataclasses.asdict(row)
    elif hasattr(row, "_asdict"):
        row = row._asdict()
    elif isinstance(row, list | tuple):
        row = dict(zip(COLUMNS if len(row) == len(COLUMNS) else COLUMNS[1:], row, strict=False))
    row = dict(row)
    if "met?" in row and "met" not in row:
        row["met"] = row.pop("met?")
    row.setdefault("section", section)
    return {name: row.get(name, "") for name in COLUMNS}


def _note(section: str, text: str) -> dict[str, Any]:
    return {
        "section": section,
        "measure": text,
        "ours": "",
        "baseline": "",
        "ratio": "",
        "target": "",
        "met": None,
    }


def run_section(name: str, produce: Callable[[], Iterable[Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The section's rows, or one 'failed' row (with the traceback on stderr) when it raised."""
    log(f"{name}: running")
    started = time.perf_counter()
    try:
        rows = [normalized(r, name) for r in produce()]
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [_note(name, f"failed: {first_line}")], False
    log(f"{name}: done in {time.perf_counter() - started:.1f} s")
    return rows, True


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "**no**"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(rows: list[dict[str, Any]], *, context: list[str], notes: list[str]) -> str:
    """The whole report: a heading, the machine, the table, the notes."""
    lines = ["# gba-monitor benchmarks", "", *context, ""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "|".join("---" for _ in HEADERS) + "|")
    lines += ["| " + " | ".join(_cell(r[c]) for c in COLUMNS) + " |" for r in rows]
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _load_text(load: float | None) -> str:
    return "unknown" if load is None else f"{load:.2f}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    """Run the sections, print the table, write RESULTS.md; 1 when a section failed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes for a smoke run; RESULTS.md untouched"
    )
    parser.add_argument("--only", help=f"comma-separated sections to run (of {','.join(SECTIONS)})")
    parser.add_argument(
        "--output", help="where to write the report (default benchmarks/RESULTS.md; '-' for none)"
    )
    parser.add_argument(
        "--store-articles", type=int, help="articles in the CLI's large store (10 figures each)"
    )
    poll_bench.add_arguments(parser)
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in (args.only or ",".join(SECTIONS)).split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))} (choose from {', '.join(SECTIONS)})")

    poll_options = poll_bench.options_from(args, quick=args.quick)
    cli_options = cli_bench.options_from(args, quick=args.quick)
    producers: dict[str, Callable[[], Iterable[Any]]] = {
        "poll": lambda: poll_bench.measure(poll_options, log=log),
        "extraction": lambda: external_rows("benchmarks.figures", "extraction", quick=args.quick),
        "storage": lambda: external_rows("benchmarks.storage", "storage", quick=args.quick),
        "cli": lambda: cli_bench.measure(cli_options, log=log),
        "near-duplicates": lambda: external_rows(
            "benchmarks.near_duplicates", "near-duplicates", quick=args.quick
        ),
    }
    load_before = _load()
    if load_before and load_before > 0.5:
        log(f"warning: load average {load_before:.2f} before starting: other work will skew the timings")
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    ok = True
    for name in chosen:
        section_rows, section_ok = run_section(name, producers[name])
        rows += section_rows
        ok = ok and section_ok

    spec = poll_options.farm
    cores = poll_bench.cores()
    context = [
        f"Measured {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {cores} cores ({_cpu_model()}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"{'quick smoke run' if args.quick else 'full run'} in {time.perf_counter() - started:.0f} s; "
        f"1-minute load average {_load_text(load_before)} before, {_load_text(_load())} after.",
        "",
        f"Reproduce: `python -m benchmarks{' --quick' if args.quick else ''}` (flags: `--feeds`, `--items`, "
        "`--latency-ms`, `--concurrency`, `--hosts`, `--only`; see benchmarks/README.md).",
    ]
    notes = [
        f"Poll: a farm of {spec.feeds} feeds × {spec.items} items on {spec.hosts} loopback hosts, "
        f"~{spec.page_kb} KB pages, {spec.latency_ms:g} ms latency per request; `gba-monitor run --once` "
        "as a "
        f"subprocess with fetch.max_concurrency={poll_options.concurrency or 'default'}, "
        f"max_per_host={poll_options.per_host or 'default'}; CPU (its reader processes included) and "
        "peak RSS of the largest process from os.wait4; peak memory is the summed PSS of all its processes, "
        "sampled every 0.1 s.",
        f"Ideal = max(slowest request chain, our CPU time / {cores} cores).",
        "Naive loop: feeds and pages one after another (httpx + feedparser), same extraction, TinyDB "
        "default "
        f"storage with one `db.insert` per entry; run on {min(poll_options.naive_feeds, spec.feeds)} feeds "
        "and "
        "scaled linearly, which flatters it (each insert rewrites the whole file).",
    ]
    report = markdown(rows, context=context, notes=notes)
    print(report)
    output = args.output or (None if args.quick else str(RESULTS))
    if output and output != "-":
        Path(output).write_text(report, encoding="utf-8")
        log(f"wrote {output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
