"""What happened, told to whoever listens: the seam between polls and deliveries and the metrics.

The seam between the places polls and deliveries happen and the
metrics a shell exports. Nothing here imports from the rest of the package, nor any metrics library.

``poll`` and ``outbox`` call ``emit("poll", feed=..., status=..., seconds=...)``; a shell that serves metrics
(``exporter``) calls ``listen(callback)`` once at start. With nobody listening, ``emit`` does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]

log = logging.getLogger("monitor.telemetry")
_listeners: list[Listener] = []
_lock = threading.Lock()


def listen(listener: Listener) -> Callable[[], None]:
    """Call ``listener(event, fields)`` on every event from now on; returns the function that stops it."""
    with _lock:
        _listeners.append(listener)

    def stop() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return stop


def emit(event: str, **fields: Any) -> None:
    """Tell the listeners that ``event`` happened. A listener's bug is logged, never raised into a poll."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event, fields)
        except Exception:  # metrics must never break the work they count
            log.exception("telemetry listener failed event=%s", event)
