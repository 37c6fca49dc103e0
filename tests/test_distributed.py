"""Past one machine: workers sharing a Redis frontier, killed mid-run, and a database that goes away.

Everything is real: the sandbox on loopback, Redis on 127.0.0.1:6379 (database 13 unless
LIJIAN_TEST_REDIS says otherwise, flushed before and after), PostgreSQL on 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from crawler.sandbox.catalog import build_catalog
from crawler.storage.db import open_database, session_factory
from crawler.storage.models import CrawlRun, CrawlRunWorker, Listing, ListingSnapshot
from tests.conftest import (
    LIJIAN,
    postgres_database,
    run_lijian,
    service_missing,
    start_sandbox,
    stop_sandbox,
    wait_until,
)

REDIS_URL = os.environ.get("LIJIAN_TEST_REDIS", "redis://127.0.0.1:6379/13")
FLAVOURS = ("a", "b", "d")  # server-rendered flavours: 20,000 listings without the browser


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    try:
        server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        server.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {REDIS_URL}: {exc}")
    server.flushdb()
    yield REDIS_URL
    server.flushdb()


def start_worker(env: dict[str, str], idle_exit: float = 5) -> subprocess.Popen:
    """`lijian worker` in its own process group, so killing the group kills its crawl child too."""
    return subprocess.Popen([*LIJIAN, "worker", "--exit-when-idle", str(idle_exit)], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def expected_keys(listings: int, seed: int) -> set[tuple[str, str]]:
    return {(f"sandbox-{item.flavour}", str(item.id)) for item in build_catalog(listings, seed, FLAVOURS).listings}


def assert_stored_exactly_once(sessions, listings: int, seed: int) -> None:
    with sessions() as session:
        keys = session.execute(select(Listing.marketplace, Listing.listing_key)).all()
        per_listing = session.execute(select(ListingSnapshot.listing_id, func.count())
                                      .group_by(ListingSnapshot.listing_id)).all()
    assert len(keys) == len(set(keys)), "a listing was stored twice"
    missing = expected_keys(listings, seed) - set(keys)
    assert not missing, f"{len(missing)} sandbox listings never stored, e.g. {sorted(missing)[:3]}"
    assert len(keys) == listings
    assert len(per_listing) == listings and {n for _, n in per_listing} == {1}, "a listing has 0 or 2+ snapshots"


def crawl_with_workers(sandbox, db_url: str, redis_url: str, workers: int, kill_after: int | None,
                       tmp_path) -> tuple[CrawlRun, list[str]]:
    """Queue a crawl of the sandbox, start `workers` workers, SIGKILL the first (with its crawl
    child) once `kill_after` listings are stored; the finished run and the workers' output."""
    env = {"LIJIAN_DATABASE_URL": db_url, "LIJIAN_REDIS_URL": redis_url, "LIJIAN_OUT": str(tmp_path / "out")}
    assert run_lijian("db", "upgrade", env=env).returncode == 0
    sessions = session_factory(open_database(db_url))
    queued = run_lijian("crawl", "--sandbox", sandbox.url, *[x for f in FLAVOURS for x in ("--site", f)],
                        "--max-pages", "1000", "--no-wait", env=env)
    assert queued.returncode == 0, queued.stderr[-2000:]
    run_id = int(queued.stdout.split("crawl run ")[1].split(":")[0])
    processes = [start_worker(env) for _ in range(workers)]
    outputs: list[str] = []
    if kill_after is not None:
        wait_until(lambda: count(sessions, Listing) >= kill_after, 600, f"{kill_after} listings stored")
        os.killpg(processes[0].pid, signal.SIGKILL)
        outputs.append(processes[0].communicate(timeout=30)[0])
        processes = processes[1:]
    for process in processes:
        out, _ = process.communicate(timeout=900)
        outputs.append(out)
        assert process.returncode == 0, out[-3000:]
    with sessions() as session:
        run = session.get(CrawlRun, run_id)
        session.expunge(run)
    return run, outputs


@pytest.mark.exclusive
def test_three_workers_one_killed_under_faults_store_every_listing_of_20000_exactly_once(redis_url, tmp_path):
    """The demonstration: 20,000 listings, three workers, one SIGKILLed after 4,000 listings,
    and the sandbox failing one page in ten (5xx, 429, truncated bodies, captcha pages) on its
    first request: every listing stored exactly once all the same."""
    listings, seed = 20_000, 2018
    sandbox = start_sandbox("--flavours", ",".join(FLAVOURS), "--faults", "5xx,429,truncate,captcha",
                            "--fault-rate", "0.1", listings=listings, seed=seed)
    try:
        with postgres_database() as db_url:
            run, outputs = crawl_with_workers(sandbox, db_url, redis_url, workers=3, kill_after=4_000,
                                              tmp_path=tmp_path)
            sessions = session_factory(open_database(db_url))
            assert run.status == "finished", (run.status, run.error_text)
            assert_stored_exactly_once(sessions, listings, seed)
            with sessions() as session:
                parts = session.scalars(select(CrawlRunWorker).where(CrawlRunWorker.run_id == run.id)).all()
            # The killed worker's part is "lost"; what it held was re-queued and crawled by the others.
            assert len(run.stats["lost_workers"]) == 1 and run.stats["requeued"] > 0, run.stats
            assert sum(1 for p in parts if p.status == "finished" and p.listings) >= 2
            assert run.items_scraped == sum(p.listings for p in parts)  # the run sums its workers' parts
    finally:
        stop_sandbox(sandbox)


def test_a_single_worker_killed_with_sigkill_resumes_and_finishes_exactly_once(redis_url, tmp_path):
    """One machine, SQLite: the crawl is killed mid-run; a new worker finishes it."""
    db_url = f"sqlite:///{tmp_path / 'lijian.db'}"
    listings, seed = 2_000, 7
    sandbox = start_sandbox("--flavours", ",".join(FLAVOURS), listings=listings, seed=seed)
    try:
        env = {"LIJIAN_DATABASE_URL": db_url, "LIJIAN_REDIS_URL": redis_url}
        run, _ = crawl_with_workers(sandbox, db_url, redis_url, workers=1, kill_after=500, tmp_path=tmp_path)
        assert run.status in ("queued", "running")  # nobody left to finish it yet
        resumed = start_worker(env)
        out, _ = resumed.communicate(timeout=600)
        assert resumed.returncode == 0, out[-3000:]
        sessions = session_factory(open_database(db_url))
        with sessions() as session:
            run = session.get(CrawlRun, run.id)
            assert run.status == "finished" and run.stats["requeued"] > 0, (run.status, run.stats)
        assert_stored_exactly_once(sessions, listings, seed)
    finally:
        stop_sandbox(sandbox)


def test_a_database_lost_mid_crawl_fails_the_run_with_the_reason_and_no_half_written_rows(tmp_path):
    """PostgreSQL stops accepting connections mid-crawl: the crawl stops, says why, marks the run
    failed once the database is back, and every listing it stored is whole (one snapshot each)."""
    import queue

    import psycopg

    from tests.conftest import PG_ADMIN_URL

    listings, seed = 3_000, 11
    sandbox = start_sandbox("--flavours", ",".join(FLAVOURS), listings=listings, seed=seed)
    try:
        with postgres_database() as db_url:
            name = db_url.rsplit("/", 1)[1]
            env = {**os.environ, "LIJIAN_DATABASE_URL": db_url, "LIJIAN_DB_RETRY_SECONDS": "300"}
            assert run_lijian("db", "upgrade", env=env).returncode == 0
            crawl = subprocess.Popen([*LIJIAN, "crawl", "--local", "--sandbox", sandbox.url,
                                      *[x for f in FLAVOURS for x in ("--site", f)], "--max-pages", "1000",
                                      "--log-level", "INFO"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
            lines: queue.Queue[str] = queue.Queue()
            waiting = threading.Event()

            def read() -> None:
                for line in crawl.stdout:
                    lines.put(line)
                    if "database unreachable while closing the run" in line:
                        waiting.set()

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            sessions = session_factory(open_database(db_url))
            wait_until(lambda: count(sessions, Listing) >= 300, 300, "300 listings stored")
            sessions.kw["bind"].dispose()
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
                assert waiting.wait(120), "the crawl never said it was waiting for the database"
                admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            assert crawl.wait(timeout=120) == 1
            reader.join(timeout=30)
            output = "".join(lines.queue)
            assert "Traceback" not in output
            assert "database unreachable, stopping the crawl" in output and "the run is marked failed" in output
            sessions = session_factory(open_database(db_url))
            with sessions() as session:
                run = session.scalars(select(CrawlRun)).one()
                stored = session.scalar(select(func.count()).select_from(Listing))
                per_listing = session.execute(select(ListingSnapshot.listing_id, func.count())
                                              .group_by(ListingSnapshot.listing_id)).all()
            assert run.status == "failed" and "database unreachable" in run.error_text, (run.status, run.error_text)
            assert run.finished_at is not None
            assert 300 <= stored < listings  # stopped early …
            assert len(per_listing) == stored and {n for _, n in per_listing} == {1}  # … with nothing half-written
    finally:
        stop_sandbox(sandbox)


def test_a_campaign_run_with_redis_queues_its_crawl_for_the_workers(redis_url, db_url, tmp_path, sandbox):
    """The scheduler does not crawl itself: the campaign's seeds go to Redis, a worker crawls
    them, and the run goes on to match and digest with the same listings as a local crawl."""
    from click.testing import CliRunner

    from crawler.cli import cli

    out = tmp_path / "out"
    env = {"LIJIAN_DATABASE_URL": db_url, "LIJIAN_REDIS_URL": redis_url, "LIJIAN_OUT": str(out)}
    added = CliRunner().invoke(cli, ["campaign", "add", "cable", "--schedule", "1d", "--category", "cable", "--site", "a",
                                     "--site", "b", "--sandbox", sandbox.url, "--evidence", "none", "--db", db_url])
    assert added.exit_code == 0, added.output
    worker = start_worker(env, idle_exit=3)
    result = run_lijian("campaign", "run", "cable", env=env)
    out_text, _ = worker.communicate(timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert worker.returncode == 0 and "run 1: joining as" in out_text, out_text[-2000:]
    sessions = session_factory(open_database(db_url))
    with sessions() as session:
        run = session.scalars(select(CrawlRun)).one()
        parts = session.scalars(select(CrawlRunWorker)).all()
    assert run.status == "finished" and list(run.stages) == ["crawl", "match", "evidence", "digest"]
    assert run.stages["crawl"]["workers"] == 1 and len(parts) == 1 and parts[0].listings == run.items_scraped > 0
    assert run.stages["match"]["scored"] == run.items_scraped and run.suspects_new > 0
    local = run_lijian("crawl", "--local", "--sandbox", sandbox.url, "--site", "a", "--site", "b", "--category", "cable",
                       "--db", f"sqlite:///{tmp_path / 'local.db'}")
    assert f"listings {run.items_scraped} " in local.stdout, (local.stdout, run.items_scraped)


def test_finished_requests_are_released_in_batches_and_never_put_back(redis_url):
    """Acknowledgements go out one HDEL per ACK_BATCH finished requests (and on every flush):
    until then they stay held, and a requeue of this worker's share flushes first, so what
    finished is not crawled again while what did not goes back."""
    import redis
    from scrapy import Request, Spider
    from scrapy.utils.test import get_crawler

    from crawler.scheduling.frontier import ACK_BATCH, ReliableQueue, RunKeys

    crawler = get_crawler(Spider, {"LIJIAN_CRAWL_RUN_ID": 7, "LIJIAN_WORKER_ID": "w1"})
    spider = Spider.from_crawler(crawler, name="frontier-test")
    server = redis.Redis.from_url(redis_url)
    queue = ReliableQueue(server, spider, RunKeys(7).requests)
    for n in range(ACK_BATCH + 5):
        queue.push(Request(f"http://127.0.0.1/item/{n}.html"))
    popped = [queue.pop() for _ in range(ACK_BATCH + 5)]
    assert server.hlen(queue.held) == ACK_BATCH + 5
    for request in popped[:ACK_BATCH - 1]:
        queue.ack(request)
    assert server.hlen(queue.held) == ACK_BATCH + 5  # batched: nothing released yet
    queue.ack(popped[ACK_BATCH - 1])
    assert server.hlen(queue.held) == 5  # one batch out
    queue.ack(popped[ACK_BATCH])
    assert queue.requeue("w1") == 4  # flushed first: only the four unfinished go back
    assert server.hlen(queue.held) == 0 and len(queue) == 4
    back = sorted(queue.pop().url for _ in range(4))
    assert back == sorted(r.url for r in popped[ACK_BATCH + 1:])
