"""The store's own commands: ``store info`` (engine, schema, rows, size) and ``store migrate`` (a copy into
the other engine: TinyDB file ↔ PostgreSQL)."""

from __future__ import annotations

import sys

import click

from .. import output
from ._shared import config_option, epilog, format_option, handles_errors, load


@click.group(epilog=epilog("gba-monitor store migrate --to postgresql://monitor@db/gba", "never"))
def store() -> None:
    """The store itself: what it holds, and copying it to another engine (TinyDB file ↔ PostgreSQL)."""


@store.command("info", epilog=epilog("gba-monitor store info --format json", "never"))
@config_option
@format_option
@handles_errors
def store_info_command(config_file: str | None, fmt: str) -> None:
    """The store's engine, place, schema version, rows per table and size."""
    from ..store import store_info

    info = store_info(load(config_file).storage)
    row = {"engine": info.engine, "store": info.where, "schema_version": info.schema_version}
    row |= {**info.rows, "size_bytes": info.size_bytes}
    output.write_rows([row], tuple(row), fmt, sys.stdout)


@store.command("migrate", epilog=epilog("gba-monitor store migrate --to storage/copy.json", "never"))
@click.option("--to", "target", required=True, metavar="URL_OR_PATH", help="An empty store to copy into.")
@config_option
@handles_errors
def store_migrate(target: str, config_file: str | None) -> None:
    """Copy the configured store into another engine's empty store, and check every table's count.

    Then point storage.path or storage.url (or GBA_MONITOR_DATABASE_URL) at the copy."""
    from ..store import copy_store, describe, storage_at

    source = load(config_file).storage
    destination = storage_at(target, like=source)
    copied = copy_store(source, destination)
    counts = ", ".join(f"{table}={count}" for table, count in copied.items())
    click.echo(f"copied {describe(source)} → {describe(destination)}: {counts} (counts verified)")
