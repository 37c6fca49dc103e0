"""Shared fixtures: the sandbox marketplace as a real subprocess on a free loopback port,
a fresh SQLite database per test, and a runner for the `lijian` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.storage.db import open_database, session_factory

LIJIAN = [sys.executable, "-m", "crawler.cli"]


@dataclass
class Sandbox:
    url: str
    listings: int
    seed: int
    process: subprocess.Popen


def start_sandbox(*extra: str, listings: int = 120, seed: int = 2018) -> Sandbox:
    """Start `lijian sandbox serve --port 0` and wait for the line announcing its URL."""
    process = subprocess.Popen(
        [*LIJIAN, "sandbox", "serve", "--port", "0", "--listings", str(listings), "--seed", str(seed), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline()  # blocks until the server is listening (or exits)
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        raise RuntimeError(f"sandbox did not start: {line!r} {process.stderr.read()!r}")
    return Sandbox(match.group(1), listings, seed, process)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Re-check `condition` every 0.2 s until it holds; fail naming `what` after `timeout` seconds.

    What is awaited here is a count of rows other processes (workers on their own crawls)
    write to the database, which offers no event to block on: it is polled, and the test fails
    at the deadline rather than after a fixed pause."""
    deadline = time.monotonic() + timeout
    poll = threading.Event()  # never set: its wait is the poll interval
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        poll.wait(0.2)


def stop_sandbox(sandbox: Sandbox) -> None:
    sandbox.process.terminate()
    sandbox.process.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory) -> Iterator[Path]:
    """Tests (and the commands they start) cache into a temporary folder, not the user's."""
    folder = tmp_path_factory.mktemp("cache")
    previous = os.environ.get("LIJIAN_CACHE")
    os.environ["LIJIAN_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("LIJIAN_CACHE", None)
    else:
        os.environ["LIJIAN_CACHE"] = previous


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    server = start_sandbox()
    yield server
    stop_sandbox(server)


# `LIJIAN_TEST_BACKEND=postgresql pytest` runs every test that uses a database (`db_url`, or a
# module's `crawled` store) against a fresh PostgreSQL database instead of a SQLite file, and
# leaves out the tests that use none (`make test` runs both passes).
TEST_BACKEND = os.environ.get("LIJIAN_TEST_BACKEND", "sqlite")
DATABASE_FIXTURES = {"db_url", "crawled", "console_server"}
# Tests that choose their own services (PostgreSQL and Redis at once) whatever the backend:
# a plain `pytest` runs them, and so does the PostgreSQL pass (`make test` runs them there only).
OWN_BACKENDS = ("test_distributed.py", "test_scale_out.py")
# LIJIAN_REQUIRE_SERVICES=1 (set by .ci/run): a service that is not there fails the test
# instead of skipping it, so CI cannot pass without having run them.
REQUIRE_SERVICES = os.environ.get("LIJIAN_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config, items) -> None:
    if TEST_BACKEND != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        uses_db = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        # Tests that pick their own backends (PostgreSQL, Redis) run once, in this pass.
        (keep if uses_db or item.path.name in OWN_BACKENDS else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def service_missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (LIJIAN_REQUIRE_SERVICES=1: CI must run these tests)")
    pytest.skip(reason)


@contextmanager
def fresh_database(folder: Path, backend: str | None = None) -> Iterator[str]:
    """The URL of an empty database for one test or module: a SQLite file in `folder`, or a new
    PostgreSQL database (dropped afterwards) when the backend is postgresql."""
    if (backend or TEST_BACKEND) != "postgresql":
        yield f"sqlite:///{folder / 'lijian.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def sessions(db_url: str):
    return session_factory(open_database(db_url))


def run_lijian(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    merged = {**os.environ, **(env or {})}
    return subprocess.run([*LIJIAN, *args], capture_output=True, text=True, cwd=cwd, env=merged, timeout=timeout)


PG_ADMIN_URL = os.environ.get("LIJIAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards; pytest.skip with the reason when no
    server answers at LIJIAN_TEST_POSTGRES (default postgres@127.0.0.1:5432/test)."""
    import uuid

    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any reason the server is not there
        service_missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    name = f"lijian_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, whatever the test backend."""
    with postgres_database() as url:
        yield url


SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def needs_corpus(path: Path):
    """A test that reads ../shared/corpus: skipped on a checkout without it, but under CI (which
    has it beside the clone) it runs, and fails if the corpus is missing rather than passing by
    skipping."""
    return pytest.mark.skipif(not path.exists() and not os.environ.get("CI"),
                              reason=f"{path.relative_to(SHARED_CORPUS.parent.parent)} is not beside this checkout")


# What a loopback site answers: (status, body, headers as (name, value) pairs; Set-Cookie may repeat).
Answer = tuple[int, "str | bytes", list[tuple[str, str]]]


@contextmanager
def loopback_site(respond: Callable[[str, object, str], Answer]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 for one test, yielding its base URL. `respond(path,
    request_headers, base_url)` gives each GET's answer; Content-Length is added."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            status, body, headers = respond(self.path, self.headers, base)
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


HTML = [("Content-Type", "text/html; charset=utf-8")]
