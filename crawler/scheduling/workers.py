"""Crawling past one machine: queue a run's seeds in Redis, and workers that crawl whatever
run is queued (crawler.scheduling.frontier holds the shared, loss-free request queue).

    lijian crawl … (with LIJIAN_REDIS_URL)   creates the CrawlRun, queues its seeds, waits
    lijian worker                             picks a queued run, crawls it with the others,
                                              goes idle when nothing is queued

Twisted's reactor cannot restart, so a worker crawls each run in a child process (`python -m
crawler.app.child`, given the run's number as a CrawlJob); a worker killed with its child loses
nothing: its held requests go back to the queue when its heartbeat expires.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from crawler.app.crawls import CrawlJob, start_child
from crawler.config import Config
from crawler.crawlspec import CrawlSpec
from crawler.scheduling.frontier import (
    WAKE,
    FrontierError,
    active_runs,
    connect,
    enqueue_run,
    new_worker_id,
    run_state,
)
from crawler.storage.db import open_database, safe_url, session_factory, session_scope
from crawler.storage.models import CrawlRun

logger = logging.getLogger(__name__)
FINAL = ("finished", "failed", "interrupted")


def _say(line: str) -> None:
    print(line, flush=True)


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def queue_run(config: Config, spec: CrawlSpec, run_id: int | None = None,
              campaign_id: int | None = None) -> tuple[int, int]:
    """Create (or take) a CrawlRun, queue its seeds in Redis; (run id, seeds queued). A
    distributed run has no listing or time limit: each worker would count its own."""
    server = connect(config.redis_url)
    sessions = session_factory(open_database(config.database_url))
    with session_scope(sessions) as session:
        if run_id is None:
            run = CrawlRun(spider="marketplace", status="queued", stats={}, campaign_id=campaign_id)
            session.add(run)
            session.flush()
            run_id = run.id
        else:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise FrontierError(f"crawl run {run_id} does not exist")
            run.status = "queued"
    seeds = enqueue_run(server, run_id, spec.model_copy(update={"max_listings": None, "max_runtime": None}))
    return run_id, seeds


def wait_for_run(config: Config, run_id: int, stop: threading.Event | None = None,
                 on_progress: Callable[[dict], None] | None = None, poll: float = 1.0) -> CrawlRun:
    """Wait until the workers have finished run `run_id` (or `stop` is set); the run row."""
    server = connect(config.redis_url)
    sessions = session_factory(open_database(config.database_url))
    stop = stop or threading.Event()
    while True:
        with sessions() as session:
            run = session.get(CrawlRun, run_id)
            session.expunge(run)
        if run.status in FINAL or stop.is_set():
            return run
        if on_progress:
            try:
                on_progress(run_state(server, run_id))
            except Exception as exc:  # noqa: BLE001 - progress display only
                logger.debug("no frontier state: %s", exc)
        stop.wait(poll)


def queue_crawl(config: Config, spec: CrawlSpec, wait: bool = True, run_id: int | None = None,
                say: Callable[[str], None] = _say, warn: Callable[[str], None] = _warn) -> int:
    """`lijian crawl` with Redis: queue the run; with wait, report when the workers are done."""
    try:
        run_id, seeds = queue_run(config, spec, run_id)
    except FrontierError as exc:
        warn(f"error: {exc}")
        return 1
    say(f"crawl run {run_id}: {seeds} seeds queued in {safe_url(config.redis_url)}; "
        f"`lijian worker` processes crawl it")
    if not wait:
        return 0
    shown = {"at": 0.0}

    def show(state: dict) -> None:
        if time.monotonic() - shown["at"] >= 10:
            shown["at"] = time.monotonic()
            warn(f"  queued {state['queued']}, in flight {state['held']}, workers {state['workers']}, "
                 f"requests seen {state['seen']}")

    try:
        run = wait_for_run(config, run_id, on_progress=show)
    except KeyboardInterrupt:
        warn(f"stopped waiting; run {run_id} stays queued for the workers")
        return 1
    say(f"crawl run {run_id}: {run.status}; pages {run.pages}, listings {run.items_scraped} "
        f"(new {run.listings_new}, changed or new snapshots {run.snapshots_new}), dropped {run.items_dropped}, "
        f"errors {run.errors}; workers {run.stats.get('workers', '?')}, "
        f"requests re-queued from stopped workers {run.stats.get('requeued', 0)}")
    if run.status != "finished":
        warn(f"error: {run.error_text or run.status}")
        return 1
    return 0


def work(config: Config, stop: threading.Event, idle_exit: float | None = None, log_level: str = "INFO",
         say: Callable[[str], None] = _say) -> int:
    """Crawl queued runs until `stop` (or, with idle_exit, until idle that long); runs done."""
    server = connect(config.redis_url)
    done = 0
    idle_since = time.monotonic()
    backoff: dict[int, float] = {}  # runs whose crawl failed just now: not again for a while
    say(f"worker {new_worker_id().rsplit('-', 1)[0]}: waiting for runs in {safe_url(config.redis_url)}")
    while not stop.is_set():
        now = time.monotonic()
        runs = [r for r in active_runs(server) if backoff.get(r, 0) <= now]
        if not runs:
            if idle_exit is not None and now - idle_since >= idle_exit:
                say(f"idle for {idle_exit:g} s: exiting")
                break
            server.blpop([WAKE], timeout=1)  # a queued run wakes us; else look again in a second
            continue
        run_id = next((r for r in runs if _worth_joining(server, r)), None)
        if run_id is None:  # queued runs with nothing to pop yet: others hold what is left
            server.blpop([WAKE], timeout=1)
            continue
        worker_id = new_worker_id()
        say(f"run {run_id}: joining as {worker_id}")
        env = {**os.environ, "LIJIAN_DATABASE_URL": config.database_url, "LIJIAN_REDIS_URL": config.redis_url}
        process = start_child(CrawlJob(frontier_run=run_id, worker_id=worker_id, log_level=log_level), env)
        while True:
            try:
                code = process.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop.is_set():
                    process.send_signal(signal.SIGINT)  # Scrapy stops; held requests go back to the queue
                    code = process.wait()
                    break
        if code == 0:
            done += 1
        else:
            backoff[run_id] = time.monotonic() + 30
            say(f"run {run_id}: worker exited with {code}; trying other runs first for 30 s")
        idle_since = time.monotonic()
    return done


def _worth_joining(server, run_id: int) -> bool:
    """Something to pop, or nobody left to close the run (its last worker was killed)."""
    state = run_state(server, run_id)
    return state["queued"] > 0 or (state["held"] == 0 and state["workers"] == 0)


__all__ = ["queue_crawl", "queue_run", "wait_for_run", "work"]
