"""The crawl's store process (crawler/storage/writer.py, started by crawler/pipelines/store.py):
what it reports for each listing, what it does with a bad listing and an unreachable
database, and that it and the crawl stand or fall together — a crawl whose store process dies
stops and says why; a crawl killed with SIGKILL takes its store process with it."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from crawler.items import ListingItem, SellerProfileItem
from crawler.storage.db import open_database, session_factory
from crawler.storage.listings import SaveOutcome
from crawler.storage.models import CrawlRun, Listing, ListingSnapshot
from crawler.storage.writer import frame, read_frame, serve
from tests.conftest import LIJIAN, run_lijian, start_sandbox, stop_sandbox, wait_until


def listing(key: str, **changes) -> ListingItem:
    base = dict(marketplace="sandbox-a", listing_key=key, url=f"http://127.0.0.1/a/{key}.html",
                title=f"公牛 插座 {key}", price=Decimal("39.90"), currency="CNY", category="appliance",
                brand="公牛", seller_key="S1", seller_name="公牛旗舰店", seller_province="浙江", seller_city="宁波")
    return ListingItem(**{**base, **changes})


def served(database_url: str, *jobs: tuple) -> list[tuple]:
    """Run the store process's loop on real pipes with `jobs` as its input; every (job id,
    outcome) it reported, the closing one last."""
    jobs_read, jobs_write = os.pipe()
    results_read, results_write = os.pipe()
    with os.fdopen(jobs_read, "rb") as jobs_in, os.fdopen(results_write, "wb") as results_out:
        thread = threading.Thread(target=serve, args=(jobs_in, results_out, database_url))
        thread.start()
        with os.fdopen(jobs_write, "wb") as feed:
            for job in jobs:
                feed.write(frame(job))
        reported = []
        with os.fdopen(results_read, "rb") as results:
            while (payload := read_frame(results)) is not None:
                reported += payload
                if payload and payload[-1][0] is None:
                    break
        thread.join()
    return reported


def test_each_listing_is_reported_after_its_commit_and_a_bad_one_fails_alone(db_url):
    sessions = session_factory(open_database(db_url))
    with sessions() as session:
        run = CrawlRun(spider="marketplace")
        session.add(run)
        session.commit()
        run_id = run.id
    shop = SellerProfileItem(marketplace="sandbox-a", seller_key="S1", url="http://127.0.0.1/a/shop/S1",
                             name="公牛旗舰店", location="浙江 宁波", phone="0574-1234567")
    bad = listing("3", marketplace=None)  # NOT NULL: the statement fails, the database is fine
    reported = served(db_url, (1, run_id, listing("1")), (2, run_id, listing("2")), (3, run_id, bad),
                      (4, run_id, shop), (5, run_id, listing("1", price=Decimal("35.00"))))
    outcomes = dict(reported[:-1])
    assert sorted(outcomes) == [1, 2, 3, 4, 5] and reported[-1][0] is None
    assert outcomes[1] == ("ok", SaveOutcome(outcomes[1][1].listing_id, True, True))
    assert outcomes[2][0] == "ok" and outcomes[2][1].new_listing
    kind, gone, reason = outcomes[3]
    assert kind == "error" and gone is False and "NULL" in reason.upper()
    assert outcomes[4][0] == "ok" and isinstance(outcomes[4][1], int)  # the seller's id
    assert outcomes[5] == ("ok", SaveOutcome(outcomes[1][1].listing_id, False, True))  # a new price: a snapshot
    closed, batches = reported[-1][1]
    assert closed == "closed" and batches >= 2  # a batch that failed is written again one by one
    with sessions() as session:
        assert session.scalar(sql_select(func.count()).select_from(Listing)) == 2
        assert session.scalar(sql_select(func.count()).select_from(ListingSnapshot)) == 3
        assert {s.crawl_run_id for s in session.scalars(sql_select(ListingSnapshot))} == {run_id}


def test_a_database_that_cannot_be_opened_is_reported_as_gone(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'no such folder' / 'lijian.db'}"
    reported = served(url, (1, None, listing("1")), (2, None, listing("2")))
    assert [job for job, _ in reported[:-1]] == [1, 2]
    for _, (kind, gone, reason) in reported[:-1]:
        assert kind == "error" and gone is True and "unable to open database file" in reason


def store_process_of(crawl: subprocess.Popen) -> int:
    children = Path(f"/proc/{crawl.pid}/task/{crawl.pid}/children").read_text().split()
    found = [int(pid) for pid in children
             if b"crawler.storage.writer" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(found) == 1, f"the crawl's children: {children}"
    return found[0]


def ended_within(pid: int, seconds: float) -> bool:
    """Whether process `pid` ends within `seconds` (waited on with a pidfd, not polled)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([handle], [], [], seconds)[0])
    finally:
        os.close(handle)


def start_crawl(sandbox, db_url: str, own_group: bool = False) -> subprocess.Popen:
    env = {**os.environ, "LIJIAN_DATABASE_URL": db_url}
    env.pop("LIJIAN_REDIS_URL", None)
    assert run_lijian("db", "upgrade", env=env).returncode == 0
    return subprocess.Popen([*LIJIAN, "crawl", "--local", "--sandbox", sandbox.url, "--site", "a", "--site", "b",
                             "--site", "d", "--max-pages", "1000", "--log-level", "INFO"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=own_group)


def each_listing_whole(sessions) -> int:
    """The number of listings stored, each asserted to have exactly one snapshot (one statement:
    one view of the database while the crawl goes on writing)."""
    with sessions() as session:
        per_listing = session.execute(sql_select(Listing.id, func.count(ListingSnapshot.id))
                                      .outerjoin(ListingSnapshot, ListingSnapshot.listing_id == Listing.id)
                                      .group_by(Listing.id)).all()
    assert {n for _, n in per_listing} <= {1}, "a listing without its snapshot, or with two"
    return len(per_listing)


@pytest.fixture(scope="module")
def big_sandbox():
    server = start_sandbox("--flavours", "a,b,d", listings=3000)
    yield server
    stop_sandbox(server)


def crawl_under_way(sandbox, db_url: str, own_group: bool = False):
    """A crawl of `sandbox` that has stored 200 listings; the database's sessions and the crawl."""
    sessions = session_factory(open_database(db_url))
    crawl = start_crawl(sandbox, db_url, own_group)
    try:
        wait_until(lambda: each_listing_whole(sessions) >= 200, 300, "200 listings stored")
    except BaseException:
        crawl.kill()
        crawl.communicate()
        raise
    return sessions, crawl


linux = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux's /proc and pidfd_open")


@linux
def test_a_crawl_whose_store_process_dies_stops_and_says_why(big_sandbox, db_url):
    sessions, crawl = crawl_under_way(big_sandbox, db_url)
    try:
        os.kill(store_process_of(crawl), signal.SIGKILL)
        output, _ = crawl.communicate(timeout=120)
    finally:
        crawl.kill()
    assert crawl.returncode == 1, output[-3000:]
    assert "Traceback" not in output
    assert "stopping the crawl: the store process ended (exit status -9)" in output
    stored = each_listing_whole(sessions)
    assert 200 <= stored < 3000
    with sessions() as session:
        run = session.scalars(sql_select(CrawlRun)).one()
    assert run.status == "failed" and "the store process ended" in run.error_text, (run.status, run.error_text)


@linux
def test_a_crawl_killed_with_sigkill_takes_its_store_process_with_it(big_sandbox, db_url):
    sessions, crawl = crawl_under_way(big_sandbox, db_url)
    try:
        writer = store_process_of(crawl)
        crawl.send_signal(signal.SIGKILL)
        crawl.wait(timeout=30)
        assert ended_within(writer, 30), "the store process outlived its crawl"
    finally:
        crawl.kill()
        crawl.communicate()
    stored = each_listing_whole(sessions)  # nothing half-written
    assert 200 <= stored < 3000


@linux
def test_ctrl_c_to_the_crawls_process_group_stops_it_with_every_listing_it_counted_stored(big_sandbox, db_url):
    """Ctrl-C (or a service manager's SIGTERM) reaches the store process too: it must go on
    storing until the crawl, stopping gracefully, closes its input."""
    sessions, crawl = crawl_under_way(big_sandbox, db_url, own_group=True)
    try:
        writer = store_process_of(crawl)
        os.killpg(crawl.pid, signal.SIGINT)
        output, _ = crawl.communicate(timeout=120)
    finally:
        crawl.kill()
    assert ended_within(writer, 30), "the store process outlived its crawl"
    assert "Traceback" not in output and "store process ended" not in output, output[-3000:]
    summary = re.search(r"crawl run \d+: interrupted; pages \d+, listings (\d+) \(new (\d+)", output)
    assert summary, output[-3000:]
    stored = each_listing_whole(sessions)
    assert 200 <= stored < 3000 and stored == int(summary.group(2))  # every listing it counted is stored
