"""The scheduler's heartbeat: one small JSON file beside the store (``<store>.heartbeat``), so `health`
answers at once on any store size. The private helper of ``store``; another engine may keep it elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from ..records import Heartbeat
from ._rows import iso, parse_datetime


def heartbeat_path(store_path: Path) -> Path:
    """Where the heartbeat of the store at ``store_path`` lives."""
    return store_path.with_name(store_path.name + ".heartbeat")


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Replace the heartbeat file whole (a reader sees the old beat or the new one, never half of one)."""
    data = {
        "at": iso(beat.at),
        "started_at": iso(beat.started_at),
        "pid": beat.pid,
        "last_success": iso(beat.last_success),
        "failing": [[feed, iso(since)] for feed, since in beat.failing],
        "oldest_pending": iso(beat.oldest_pending),
    }
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(orjson.dumps(data))
    os.replace(temporary, path)


def read_heartbeat(store_path: Path) -> Heartbeat | None:
    """The last heartbeat the scheduler of the store at ``store_path`` wrote, read without opening the store
    (which may parse the whole file); None when there is none or it cannot be read (no news is bad news)."""
    try:
        data = orjson.loads(heartbeat_path(store_path).read_bytes())
        return Heartbeat(
            at=parse_datetime(data["at"]),
            started_at=parse_datetime(data["started_at"]),
            pid=int(data["pid"]),
            last_success=parse_datetime(data.get("last_success")),
            failing=tuple((str(f), parse_datetime(s)) for f, s in data.get("failing") or ()),
            oldest_pending=parse_datetime(data.get("oldest_pending")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
