"""A writer process for tests/test_store.py: saves one poll after another and prints each story's URL once the
save has returned (the acknowledgement the kill test holds the store to).

    python tests/store_writer.py STORE NAME COUNT [THREADS]   # COUNT 0: until killed

With THREADS, that many threads save at once (feeds NAME-0, NAME-1, ...), so their polls share writes.

Each poll of feed NAME stores one story, ``https://example.test/NAME/<n>``, with FIGURES figures of metric
``writer.NAME`` and one of metric ``writer.shared``, and enqueues the alert ``story:<url>``.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.records import Alert, Entry, FeedState, Figure, PollRecord, Story
from monitor.store import Store

FIGURES = 8
START = datetime(2025, 1, 1, tzinfo=UTC)
# Long sentences make each write take a while, so that kills often land in the middle of one.
SENTENCE = "Qianhai recorded {value:g} Hong Kong-funded enterprises so far this year, officials said. " * 4


def poll(name: str, n: int) -> PollRecord:
    """Poll ``n`` of feed ``name``."""
    url = f"https://example.test/{name}/{n}"
    when = START + timedelta(minutes=n)
    figures = [
        Figure(
            value=float(n * 100 + i),
            unit="enterprises",
            qualifier="exact",
            subject="Hong Kong-funded enterprises",
            text=f"{n * 100 + i}",
            sentence=SENTENCE.format(value=n * 100 + i),
            metric=f"writer.{name}" if i < FIGURES else "writer.shared",
        )
        for i in range(FIGURES + 1)
    ]
    entry = Entry(feed=name, title=f"Story {n}", link=url, guid=url, published=when)
    story = Story(
        feed=name,
        outlet=name,
        entry=entry,
        url=url,
        title=f"Story {n}",
        keywords=("Qianhai",),
        figures=tuple(figures),
        fetched_at=when,
        content_hash=f"{n:08x}",
    )
    state = FeedState(name, last_poll=when, last_success=when, seeded=True)
    return PollRecord(state, (story,), (Alert(key=f"story:{url}", channel=None, text=url),))


def save(store: Store, name: str, count: int, printing: threading.Lock) -> None:
    """Save polls of feed ``name`` one after another, printing each URL once its save returned."""
    n = 0
    while count == 0 or n < count:
        record = poll(name, n)
        store.save_poll(record)
        with printing:
            print(record.stories[0].url, flush=True)
        n += 1


def main() -> None:
    path, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    printing = threading.Lock()
    with Store(path) as store:
        if not threads:
            save(store, name, count, printing)
            return
        workers = [
            threading.Thread(target=save, args=(store, f"{name}-{t}", count, printing))
            for t in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()


if __name__ == "__main__":
    main()
