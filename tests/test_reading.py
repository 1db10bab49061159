"""Specification of ``monitor.reading``: a page read on a worker process says what it says read here."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from monitor.errors import ArticleError
from monitor.reading import Reading, ReadPool, cores, read_page
from monitor.records import Fetched
from monitor.settings import TrackedMetric

ARTICLES = sorted((Path(__file__).parent / "data" / "articles").glob("*.html"))
QIANHAI = TrackedMetric(
    key="qianhai.hk-funded-enterprises",
    label="Hong Kong-funded enterprises in Qianhai",
    patterns=("(hong kong|hk)[- ]funded (enterprises|companies|firms)", "港资企业"),
    place="Qianhai",
)
DIES = b"<!-- this page kills the worker that reads it -->"


def page(body: bytes, url: str = "https://news.example/a") -> Fetched:
    return Fetched(url=url, final_url=url, status=200, body=body, headers={"content-type": "text/html"})


def read_or_die(page: Fetched, selector: str | None, metrics: Sequence[TrackedMetric]) -> Reading:
    """A worker's job that ends the worker on one marked page: a parser crash, the OOM killer."""
    if page.body == DIES:
        os._exit(1)
    return read_page(page, selector, metrics)


@pytest.fixture
def pool() -> Iterator[ReadPool]:
    with ReadPool(2) as opened:
        yield opened


def test_pages_read_on_workers_equal_the_same_pages_read_here(pool: ReadPool) -> None:
    pages = [page(path.read_bytes(), url=f"https://news.example/{path.name}") for path in ARTICLES]
    futures = [pool.submit(p, metrics=(QIANHAI,)) for p in pages]
    assert [future.result() for future in futures] == [read_page(p, None, (QIANHAI,)) for p in pages]


def test_a_page_without_a_body_is_an_article_error_from_a_worker_as_from_here(pool: ReadPool) -> None:
    empty = page(b"<html><body><nav>Home</nav></body></html>")
    with pytest.raises(ArticleError, match="no body found") as here:
        read_page(empty)
    with pytest.raises(ArticleError) as there:
        pool.read(empty)
    assert str(there.value) == str(here.value)


@pytest.mark.slow
def test_a_page_whose_worker_dies_twice_is_an_article_error_and_the_next_page_is_read() -> None:
    """A worker that dies fails its pages on that pool; each is tried once more on a new one."""
    story = page(ARTICLES[0].read_bytes())
    with ReadPool(1, read=read_or_die) as pool:
        with pytest.raises(ArticleError, match=r"^article: the reader process died while reading \(https://"):
            pool.read(page(DIES))
        assert pool.read(story) == read_page(story)


def test_workers_killed_while_idle_are_replaced_on_the_next_page(pool: ReadPool) -> None:
    story = page(ARTICLES[0].read_bytes())
    pool.read(story)
    for worker in multiprocessing.active_children():
        worker.kill()
        worker.join()
    assert pool.read(story) == read_page(story)


def test_with_no_processes_pages_are_read_in_the_calling_thread() -> None:
    story = page(ARTICLES[0].read_bytes())
    with ReadPool(0) as pool:
        assert pool.read(story) == read_page(story)
        assert multiprocessing.active_children() == []


def test_one_worker_per_core_by_default_and_none_on_a_single_core() -> None:
    assert ReadPool().processes == (cores() if cores() > 1 else 0)


def test_closing_stops_the_workers_and_refuses_more_pages() -> None:
    story = page(ARTICLES[0].read_bytes())
    pool = ReadPool(2)
    pool.read(story)
    pool.close()
    assert multiprocessing.active_children() == []
    with pytest.raises(RuntimeError, match="closed"):
        pool.read(story)


SLOW = b"<!-- this page takes a worker forever -->"


def read_or_hang(page: Fetched, selector: str | None, metrics: Sequence[TrackedMetric]) -> Reading:
    """A worker's job that never ends on one marked page, as a pathological page could (the seam stands in
    for a parser stuck in C code, which no signal would interrupt)."""
    if page.body == SLOW:
        time.sleep(3600)
    return read_page(page, selector, metrics)


@pytest.mark.slow
def test_a_page_that_overruns_its_time_is_too_slow_and_its_worker_is_replaced() -> None:
    """The limit (3 s) is far above a page's measured reading time (about 0.05 s on a worker)."""
    story = page(ARTICLES[0].read_bytes())
    with ReadPool(1, read=read_or_hang, timeout_s=3) as pool:
        assert pool.read(story) == read_page(story)
        [worker] = multiprocessing.active_children()
        with pytest.raises(ArticleError, match=r"^article: too slow \(not read within 3s, https://news"):
            pool.read(page(SLOW))
        # is_alive() polls again: the executor's own thread may reap the killed worker while this one joins
        # it, and the loser of that race reads "alive" once
        deadline = time.monotonic() + 30
        while worker.is_alive() and time.monotonic() < deadline:
            worker.join(timeout=0.5)
        assert not worker.is_alive(), "the overrunning worker is killed, not left to spin"
        assert pool.read(story) == read_page(story), "a fresh worker reads the next page"
