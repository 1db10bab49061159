"""Page → its article and figures on every core: ``read_article`` + ``extract_figures`` in worker processes.

Both steps are pure CPU (lxml, BeautifulSoup, regular expressions) and hold the GIL, so the poller's threads
could only read one page at a time, however many cores the machine has. A ``ReadPool`` sends each page to a
``ProcessPoolExecutor`` of one worker per core, started with "spawn" (never plain fork: the poller is full of
threads and holds an HTTP client and file locks); the records it gets back are frozen dataclasses, which
pickle. With one core, or ``processes=0`` (tests, one-page commands), it reads in the calling thread.

A worker that dies (a crash in a parser, the OOM killer) takes down only the pages its pool held: each is
tried once more on a fresh pool, and a page that fails again comes back as an ArticleError, which the poll
records and retries next time. Workers ignore SIGINT and SIGTERM (the poller stops them when it stops) and
exit if the poller dies.

A page may take no more than ``timeout_s`` on a worker (a hostile page could otherwise pin a core for
minutes): a watchdog thread sees it overrun, fails it as "article: too slow", and abandons that pool, killing
its workers (a process is the only thing that can be stopped mid-regex); the pages the pool held besides are
tried once more on a fresh one, as when a worker dies.

As with any "spawn" pool, a script of your own that polls must guard its entry point with
``if __name__ == "__main__":``; ``python -m monitor`` and the ``gba-monitor`` command do.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from .errors import ArticleError
from .records import Article, Fetched, Figure
from .settings import TrackedMetric
from .signatures import BodySignature, body_signature

log = logging.getLogger("monitor.reading")

# A page under the size cap is read in well under a second: one that takes this long is hostile.
READ_TIMEOUT_S = 20.0
_WATCH_EVERY_S = 0.1


@dataclass(frozen=True, slots=True)
class Reading:
    """What one page says: its article, the figures the article states, and its body's signature."""

    article: Article
    figures: tuple[Figure, ...]
    signature: BodySignature


def read_page(page: Fetched, selector: str | None = None, metrics: Sequence[TrackedMetric] = ()) -> Reading:
    """The page's article and its figures; raises ArticleError when the page has no body text."""
    # Imported where pages are read: the poller's own process never needs lxml, bs4 or the word tables.
    from .articles import read_article
    from .figures import extract_figures

    article = read_article(page, selector=selector)
    # signed here, on a reader process: the MinHash's CPU stays off the poller
    return Reading(article, tuple(extract_figures(article, metrics=metrics)), body_signature(article.text))


ReadPage = Callable[[Fetched, str | None, Sequence[TrackedMetric]], Reading]
Job = tuple[Fetched, str | None, tuple[TrackedMetric, ...]]


@dataclass(slots=True)
class _Watched:
    """A page handed to a worker, for the watchdog: whose pool it is on, and since when it runs."""

    executor: ProcessPoolExecutor
    reading: Future[Reading]
    url: str
    started: float | None = field(default=None)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


class ReadPool:
    """Reads pages in ``processes`` worker processes (default: one per core; 0: in the calling thread), with
    at most ``max_pending`` pages submitted and not yet read (``submit`` waits for room), each within
    ``timeout_s`` once a worker has it (None: no limit; pages read in the calling thread have none).

    Thread-safe; ``close()`` it, or use it as a context manager.
    """

    def __init__(
        self,
        processes: int | None = None,
        *,
        max_pending: int | None = None,
        read: ReadPage = read_page,
        timeout_s: float | None = READ_TIMEOUT_S,
    ) -> None:
        self.processes = (cores() if cores() > 1 else 0) if processes is None else processes
        self.timeout_s = timeout_s
        self._read = read  # what a worker does with a page: read_page, or a test's stand-in
        # Enough pages queued to keep every worker busy while the fetchers run ahead, few enough that a
        # burst of large pages cannot pile up in memory.
        self._pending = threading.BoundedSemaphore(max_pending or 16 * max(1, self.processes))
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._retired: list[ProcessPoolExecutor] = []
        self._closed = False
        self._watched: dict[Future[Reading], _Watched] = {}  # a worker's future → its page (under _lock)
        self._watchdog: threading.Thread | None = None
        self._stopping = threading.Event()

    def __enter__(self) -> ReadPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(
        self, page: Fetched, *, selector: str | None = None, metrics: Sequence[TrackedMetric] = ()
    ) -> Reading:
        """``read_page`` on a worker, waiting for it; raises ArticleError as ``read_page`` does."""
        return self.submit(page, selector=selector, metrics=metrics).result()

    def submit(
        self, page: Fetched, *, selector: str | None = None, metrics: Sequence[TrackedMetric] = ()
    ) -> Future[Reading]:
        """``read_page`` on a worker, without waiting for it (unless ``max_pending`` pages already wait).

        The future's exception is an ArticleError when ``read_page`` raised one, and also when the worker
        died under the page or the pool was closed before reading it.
        """
        if not self.processes:
            return _read_here(self._read, page, selector, metrics)
        self._pending.acquire()
        reading: Future[Reading] = Future()
        job = (page, selector, tuple(metrics))
        try:
            executor, submitted = self._submit(job, reading)
        except BaseException:
            self._pending.release()
            raise
        submitted.add_done_callback(functools.partial(self._settle, reading, executor, job, True))
        return reading

    def _submit(self, job: Job, reading: Future[Reading]) -> tuple[ProcessPoolExecutor, Future[Reading]]:
        """The page handed to the current pool (a pool found broken, its workers died idle, is replaced),
        and to the watchdog."""
        executor = self._current()
        try:
            submitted = executor.submit(self._read, *job)
        except BrokenProcessPool:
            self._retire(executor)
            executor = self._current()
            submitted = executor.submit(self._read, *job)
        if self.timeout_s is not None:
            with self._lock:
                self._watched[submitted] = _Watched(executor, reading, job[0].final_url or job[0].url)
                if self._watchdog is None:
                    self._watchdog = threading.Thread(target=self._watch, name="read-watchdog", daemon=True)
                    self._watchdog.start()
        return executor, submitted

    def close(self) -> None:
        """Stop the workers once they finish the page in hand; pages not yet started are dropped."""
        self._stopping.set()
        with self._lock:
            self._closed = True
            executors = [*self._retired, *filter(None, [self._executor])]
            self._executor, self._retired = None, []
        for executor in executors:
            executor.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("reading: the read pool is closed")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_started,
                )
            return self._executor

    def _settle(
        self,
        reading: Future[Reading],
        executor: ProcessPoolExecutor,
        job: Job,
        retry: bool,
        done: Future[Reading],
    ) -> None:
        """Hand the worker's answer on. A page whose worker died is tried once more on a new pool (it may
        have died of another page); then, like a page the closed pool never read, it is an ArticleError."""
        with self._lock:
            self._watched.pop(done, None)
        error = None if done.cancelled() else done.exception()
        if reading.done():  # the watchdog failed it as too slow, and abandoned its pool
            self._pending.release()
            return
        if isinstance(error, BrokenProcessPool):
            self._retire(executor)
            if retry and not self._closed:
                with contextlib.suppress(RuntimeError):  # closed meanwhile
                    executor, again = self._submit(job, reading)
                    again.add_done_callback(functools.partial(self._settle, reading, executor, job, False))
                    return
        self._pending.release()
        url = job[0].final_url or job[0].url
        with contextlib.suppress(InvalidStateError):  # the watchdog failed it meanwhile
            if done.cancelled() or isinstance(error, BrokenProcessPool):
                what = "the reader process died while reading" if error else "not read, the reader was closed"
                reading.set_exception(ArticleError(f"article: {what} ({url})"))
            elif error is not None:
                reading.set_exception(error)
            else:
                reading.set_result(done.result())

    def _watch(self) -> None:
        """The watchdog: a page that a worker has had for more than ``timeout_s`` is abandoned."""
        assert self.timeout_s is not None
        while not self._stopping.wait(_WATCH_EVERY_S):
            now, overdue = time.monotonic(), []
            with self._lock:
                ahead: dict[int, int] = {}  # a pool → its pages seen so far in this sweep, not yet read
                for submitted, watched in list(self._watched.items()):  # in the order they were submitted
                    position = ahead.get(id(watched.executor), 0)
                    ahead[id(watched.executor)] = position + 1
                    # Workers take pages in order: the first `processes` unread pages of a pool are the
                    # ones being read (a page waiting its turn has no clock running).
                    if watched.started is None and position < self.processes:
                        watched.started = now
                    if watched.started is not None and now - watched.started > self.timeout_s:
                        overdue.append(self._watched.pop(submitted))
            for watched in overdue:
                self._abandon(watched)

    def _abandon(self, watched: _Watched) -> None:
        """Fail an overrunning page as too slow, and replace its pool, killing the workers (its other pages
        are read again on the new pool)."""
        with contextlib.suppress(InvalidStateError):  # read after all, just now
            watched.reading.set_exception(
                ArticleError(f"article: too slow (not read within {self.timeout_s:g}s, {watched.url})")
            )
        log.warning("reading page=too_slow url=%s action=restart", watched.url)
        self._retire(watched.executor)
        # ProcessPoolExecutor cannot cancel a running call: only killing its workers stops the page.
        for process in list((getattr(watched.executor, "_processes", None) or {}).values()):
            process.kill()

    def _retire(self, executor: ProcessPoolExecutor) -> None:
        """Set a broken pool aside (``close()`` reaps it), so that the next page starts a new one."""
        with self._lock:
            if self._executor is not executor:
                return  # another page's failure retired it already
            self._executor = None
            self._retired.append(executor)
        log.warning("reading pool=broken action=restart")


def _read_here(
    read: ReadPage, page: Fetched, selector: str | None, metrics: Sequence[TrackedMetric]
) -> Future[Reading]:
    """``read`` in this thread, now, as a finished future."""
    reading: Future[Reading] = Future()
    try:
        reading.set_result(read(page, selector, metrics))
    except Exception as error:  # handed over as a worker's would be
        reading.set_exception(error)
    return reading


def _worker_started() -> None:
    """In each worker: leave signals to the poller, and exit when the poller is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="poller-watch", daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(0)  # the poller is gone: nobody will read what this worker would write
