"""The config file as a YAML document: read with its line numbers (for errors), aliases bounded; and its
``storage`` section, which commands that only read the store check alone (without pydantic)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import ConfigError
from ..settings import StorageSettings

CONFIG_ENV = "GBA_MONITOR_CONFIG"
DATABASE_URL_ENV = "GBA_MONITOR_DATABASE_URL"  # wins over storage.url: a password stays out of the file
# A YAML alias repeated inside an alias multiplies: 436 bytes expanded to 1.2 GB in 71 s. A real config is a
# few thousand values; past this budget the expansion stops.
MAX_CONFIG_VALUES = 50_000
_LONG_NUMBER = re.compile(r"\d{4000,}")


def read_yaml(path: Path) -> Any:
    """The file's YAML document (ruamel's round-trip form, which knows each key's line); ConfigError when
    it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (pass --config or set {CONFIG_ENV})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc})") from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in problem:
            problem = f"{problem} (each key may appear once)"
        raise ConfigError(f"{path}:{line} {problem}") from None
    except YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    except ValueError:  # Python refuses to convert an integer of more than 4300 digits
        if (number := _LONG_NUMBER.search(text)) is None:
            raise
        line = text.count("\n", 0, number.start()) + 1
        digits = len(number[0])
        raise ConfigError(
            f"{path}:{line} a number of {digits} digits (numbers past 4300 digits are refused)"
        ) from None


class TooManyValues(Exception):
    """The document, its aliases expanded, holds more than MAX_CONFIG_VALUES values."""


def plain(node: Any, budget: list[int]) -> Any:
    """ruamel's commented containers and scalar subclasses → plain dicts, lists, str, int, float; each value
    expanded spends one of ``budget[0]`` (aliases are expanded as often as they are used)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise TooManyValues
    if isinstance(node, Mapping):
        return {str(k): plain(v, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v, budget) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    for kind in (str, int, float):
        if isinstance(node, kind):
            return kind(node)
    return node


def line_of(document: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest part of ``loc`` that exists in the YAML document."""
    line, node = 1, document
    for part in loc:
        try:
            if isinstance(part, int) and isinstance(node, CommentedSeq):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            else:
                break
        except (AttributeError, IndexError, KeyError, TypeError):
            break
    return line


def database_url(url: str) -> str:
    """``url`` when it names a PostgreSQL database; ValueError otherwise (the message never shows it whole:
    it may hold a password)."""
    if not url.startswith(("postgresql://", "postgres://")):
        scheme = url.split("://", 1)[0] if "://" in url else url[:12]
        raise ValueError(f'"{scheme}" is not a PostgreSQL URL (use postgresql://user@host:5432/dbname)')
    return url


STORAGE_DEFAULTS: dict[str, Any] = {"path": "storage/monitor.json", "url": None, "retention_days": None}


def storage_settings(path: Path, document: Any, environ: Mapping[str, str]) -> StorageSettings:
    """``storage``: where the store lives, checked by hand (three keys; see ``load_storage``)."""

    def wrong(key: str | None, message: str) -> ConfigError:
        line = line_of(document, ("storage", key) if key else ("storage",))
        return ConfigError(f"{path}:{line} storage{'.' + key if key else ''}: {message}")

    try:
        found = document.get("storage")
        section = {} if found is None else plain(found, [MAX_CONFIG_VALUES])
    except TooManyValues:
        raise wrong(None, f"expands to more than {MAX_CONFIG_VALUES} values") from None
    if not isinstance(section, dict):
        raise wrong(None, f"must be a mapping of {', '.join(STORAGE_DEFAULTS)} (got {section!r})")
    for key in section:
        if key not in STORAGE_DEFAULTS:
            raise wrong(key, "unknown key (check its spelling; see the README for the keys)")
    storage = STORAGE_DEFAULTS | section
    if not isinstance(storage["path"], str):
        raise wrong("path", f"must be a file path (got {storage['path']!r})")
    days = storage["retention_days"]
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days <= 0):
        raise wrong("retention_days", f"must be a whole number of days above 0 (got {days!r})")
    url = storage["url"]
    if url is not None and not isinstance(url, str):
        raise wrong("url", f"must be a postgresql:// URL (got {type(url).__name__})")
    try:
        url = database_url(url) if url is not None else None
    except ValueError as exc:
        raise wrong("url", str(exc)) from None
    if environ.get(DATABASE_URL_ENV):
        try:
            url = database_url(environ[DATABASE_URL_ENV])
        except ValueError as exc:
            raise ConfigError(f"{DATABASE_URL_ENV}: {exc}") from None
    return StorageSettings(path=path.resolve().parent / storage["path"], retention_days=days, url=url)
