"""The package's shape: imports point down only, steps never import each other, one owner per library."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "monitor"

LEAVES = {"records", "settings", "errors", "sparkline"}
# A step may lean on a private helper module of its own (a word table, a storage class).
STEPS = {
    "config": set(),
    "fetch": {"fetch_addresses", "fetch_body", "fetch_deadline", "fetch_errors"},
    "fetch_addresses": set(),
    "fetch_body": {"fetch_deadline"},
    "fetch_deadline": {"fetch_addresses"},
    "fetch_errors": set(),
    "feeds": set(),
    "articles": {"article_encoding", "article_meta", "article_sentences"},
    "article_encoding": set(),
    "article_meta": set(),
    "article_sentences": set(),
    "figures": {"figure_counts", "figure_keys", "figure_words"},
    "figure_counts": {"figure_keys", "figure_words"},
    "figure_keys": {"figure_words"},
    "figure_words": set(),
    "changes": set(),
    "store": {"store_file", "store_document", "store_edits", "store_rows", "store_schema"},
    "store_document": {"store_file", "store_rows", "store_schema"},
    "store_edits": {"store_rows", "store_schema"},
    "store_rows": {"store_schema"},
    "store_schema": set(),
    "store_file": {"store_schema"},
    "slack": {"slack_blocks"},
    "slack_blocks": {"slack_figures", "slack_text"},
    "slack_figures": {"slack_text"},
    "slack_text": set(),
    "output": set(),
}
SHELLS = {"poll", "identity", "outbox", "reading", "query", "scheduler", "cli", "__main__", "__init__"}
OWNERS = {
    "httpx": {"fetch", "fetch_addresses", "fetch_body", "fetch_errors"},
    "protego": {"fetch"},
    "feedparser": {"feeds"},
    "bs4": {"articles"},
    "lxml": {"articles"},
    "charset_normalizer": {"article_encoding"},
    "tinydb": {"store", "store_file", "store_rows"},
    "filelock": {"store", "store_document", "store_file"},
    "orjson": {"store", "store_file"},
    "slack_sdk": {"slack"},
    "apscheduler": {"scheduler"},
    "click": {"cli"},
    "ruamel": {"config"},
    "pydantic": {"config"},
    "tabulate": {"output"},
}


def imports(module: Path) -> tuple[set[str], set[str]]:
    """(modules of this package, top-level third-party packages) that ``module`` imports."""
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                if node.module:
                    ours.add(node.module.split(".")[0])
                else:
                    ours.update(alias.name for alias in node.names)
            elif node.module == "monitor":
                ours.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("monitor."):
                ours.add(node.module.split(".")[1])
            elif node.module:
                theirs.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            theirs.update(alias.name.split(".")[0] for alias in node.names)
    return ours, theirs


MODULES = {path.stem: imports(path) for path in PACKAGE.glob("*.py")}


def test_every_module_has_a_known_place() -> None:
    assert set(MODULES) <= LEAVES | set(STEPS) | SHELLS


def test_leaves_import_nothing_from_the_package() -> None:
    for name in LEAVES:
        assert MODULES[name][0] == set(), name


def test_steps_never_import_each_other() -> None:
    for name, own in STEPS.items():
        if name in MODULES:
            assert MODULES[name][0] <= LEAVES | own, f"{name} imports {MODULES[name][0] - LEAVES - own}"


def test_each_third_party_package_has_one_owner() -> None:
    for name, (_, theirs) in MODULES.items():
        for package, owners in OWNERS.items():
            if package in theirs:
                assert name in owners, f"{name} imports {package}, which belongs to {sorted(owners)}"
