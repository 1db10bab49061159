"""Shared fixtures: a real HTTP server on 127.0.0.1 whose routes each test declares."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@dataclass
class Response:
    """What a route answers."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """What the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


# A route is a fixed Response, or a callable that gets the Request and returns one, or a callable that
# gets the raw handler (for servers that misbehave: drip bytes, hang, lie about lengths) and returns None.
Route = Response | Callable[[Request], Response] | Callable[[BaseHTTPRequestHandler], None]


class Site:
    """A loopback web server: ``site.route(path, Response(...))``, then fetch ``site.url(path)``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.raw_routes: set[str] = set()
        self.requests: list[Request] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                request = Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                site.requests.append(request)
                route = site.routes.get(path) or site.routes.get(self.path)
                if route is None:
                    response = Response(b"not found", 404)
                elif path in site.raw_routes:
                    route(self)  # type: ignore[operator]
                    return
                elif isinstance(route, Response):
                    response = route
                else:
                    response = route(request)  # type: ignore[assignment]
                self.send_response(response.status)
                headers = {"content-length": str(len(response.body)), **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_HEAD = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # serve_forever checks for shutdown every poll interval (0.5 s by default): a short one makes close()
        # quick, which every test with a ``site`` waits for at teardown
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this server."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def route(self, path: str, response: Route, *, raw: bool = False) -> None:
        """Serve ``response`` at ``path``; ``raw=True`` hands the handler itself to the callable."""
        self.routes[path] = response
        if raw:
            self.raw_routes.add(path)
        else:
            self.raw_routes.discard(path)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    """A fresh loopback server for one test."""
    server = Site()
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server on 127.0.0.1 for the whole session (see tests/postgres.py)."""
    from tests.postgres import start_server

    yield from start_server()


@pytest.fixture
def database_url(postgres) -> str:
    """The URL of a new, empty PostgreSQL database."""
    return postgres.database()
