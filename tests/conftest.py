"""Shared fixtures: the sandbox marketplace as a real subprocess on a free loopback port,
a fresh SQLite database per test, and a runner for the `lijian` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lijian.db'}"


@pytest.fixture
def sessions(db_url: str):
    return session_factory(open_database(db_url))


def run_lijian(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    merged = {**os.environ, **(env or {})}
    return subprocess.run([*LIJIAN, *args], capture_output=True, text=True, cwd=cwd, env=merged, timeout=timeout)


PG_ADMIN_URL = os.environ.get("LIJIAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (dropped after); skipped with the reason when
    no server answers at LIJIAN_TEST_POSTGRES (default postgres@127.0.0.1:5432/test)."""
    import uuid

    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any reason the server is not there
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    name = f"lijian_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
