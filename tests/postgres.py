"""A real PostgreSQL server for the tests, started in a temporary folder on 127.0.0.1 and stopped at the end.

The machine's ``initdb``/``postgres`` are used (on PATH, or Debian's /usr/lib/postgresql/*/bin). PostgreSQL
refuses to run as root, and tests and CI run as root: the server then runs as ``nobody`` (its folder is
owned by that user). Without binaries the tests skip, except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

SERVER_USER = "nobody"  # any unprivileged user with a passwd entry (initdb names the superuser after it)


def binaries() -> Path | None:
    """The folder holding initdb and postgres, if this machine has them."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One running PostgreSQL server; ``database()`` gives each test its own empty database."""

    def __init__(self, bindir: Path) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gba-pg-"))
        self.port = _free_port()
        demote = None
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)

            def demote() -> None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        data = self.folder / "data"
        subprocess.run(
            [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C",
             "--no-sync"],
            check=True, capture_output=True, preexec_fn=demote, cwd=self.folder,
        )  # fmt: skip
        self.log = open(self.folder / "server.log", "wb")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [bindir / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(self.port), "-k", self.folder,
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=self.log,
            preexec_fn=demote, cwd=self.folder,
        )  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "server.log").read_text(errors="replace")
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.1)

    def database(self) -> str:
        """The URL of a new, empty database."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> Iterator[Server]:
    """The session's server (a generator for a session-scoped fixture); skip, or fail on CI, without one."""
    bindir = binaries()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "PostgreSQL binaries (initdb, postgres) are missing: CI must run the PostgreSQL tests"
            )
        pytest.skip("no PostgreSQL binaries (initdb, postgres) on this machine")
    server = Server(bindir)
    try:
        yield server
    finally:
        server.stop()
