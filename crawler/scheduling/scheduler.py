"""The scheduler: APScheduler 3 in the foreground, its jobs in the project database.

    lijian scheduler start [--json] [--misfire-grace 3600] [--sync-every 30]
    lijian scheduler status

One job per enabled campaign (id `campaign:<name>`), stored by APScheduler's SQLAlchemy job
store in the `apscheduler_jobs` table, so jobs and their next run times survive restarts.
Coalescing and a misfire grace time: a machine that was off for a week runs each campaign
once when it comes back, not once per missed slot; a slot missed by more than the grace time
is skipped. Every `--sync-every` seconds the jobs are brought in line with the campaigns table
(added, rescheduled when the schedule changed, removed when paused or removed), so
`lijian campaign …` commands take effect while the scheduler runs.

One run per campaign at a time, also across two schedulers started by mistake: each run first
takes the campaign's lease in the database (crawler.campaigns); a second scheduler's attempt
is logged as skipped. SIGINT / SIGTERM stop it gracefully: no new runs start, a running crawl
is told to stop (its run is recorded as interrupted), and the scheduler waits for it.

The log is one line per event (`--json`: one JSON object per line).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select

from crawler.campaigns import (
    CampaignError,
    describe_schedule,
    run_campaign,
    trigger_for,
)
from crawler.clock import TIMEZONE_NAME
from crawler.config import Config
from crawler.storage.db import open_database, session_factory
from crawler.storage.models import Campaign

JOB_TABLE = "apscheduler_jobs"
JOB_PREFIX = "campaign:"
logger = logging.getLogger("lijian.scheduler")

# What scheduled jobs run with: set by start(); jobs in the store hold only the campaign name.
_RUNTIME: dict[str, Any] = {}


class EventLog:
    """One line per event on `stream`: `2026-11-23T22:00:00+08:00 run_started campaign=x run=5`,
    or with `as_json` one JSON object per line."""

    def __init__(self, stream: TextIO = sys.stdout, as_json: bool = False) -> None:
        self.stream, self.as_json = stream, as_json
        self.lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        now = datetime.now().astimezone().isoformat(timespec="seconds")
        fields = {k: v for k, v in fields.items() if v is not None}
        if self.as_json:
            line = json.dumps({"time": now, "event": event, **fields}, ensure_ascii=False, default=str)
        else:
            parts = [f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, str) and (' ' in v or not v) else v}"
                     for k, v in fields.items()]
            line = " ".join([now, event, *parts])
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def scheduled_run(campaign: str) -> None:
    """The job function (referenced by name in the job store)."""
    config, sessions, stop, emit = (_RUNTIME[k] for k in ("config", "sessions", "stop", "emit"))
    if stop.is_set():
        return
    try:
        run_campaign(config, sessions, campaign, trigger="schedule", stop=stop, on_event=emit)
    except CampaignError as exc:  # removed between sync and run
        emit("run_skipped", campaign=campaign, reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken run must not stop the scheduler
        logger.exception("run of %s failed", campaign)
        emit("run_error", campaign=campaign, error=f"{type(exc).__name__}: {exc}")


def job_store(database_url: str):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    return SQLAlchemyJobStore(url=database_url, tablename=JOB_TABLE)


def _signature(campaign: Campaign) -> str:
    return f"{campaign.schedule}|{campaign.timezone}"


def sync_jobs(scheduler, sessions, emit) -> None:
    """Bring the scheduler's jobs in line with the enabled campaigns, keeping next run times."""
    with sessions() as session:
        campaigns = {c.name: c for c in session.scalars(select(Campaign).where(Campaign.enabled.is_(True)))}
    jobs = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)}
    for name, campaign in campaigns.items():
        job_id = JOB_PREFIX + name
        job = jobs.pop(job_id, None)
        if job is None:
            scheduler.add_job("crawler.scheduling.scheduler:scheduled_run", trigger_for(campaign.schedule, campaign.timezone),
                              id=job_id, name=_signature(campaign), kwargs={"campaign": name},
                              replace_existing=True)
            emit("job_added", campaign=name, schedule=describe_schedule(campaign.schedule, campaign.timezone),
                 next_run=_next(scheduler, job_id))
        elif job.name != _signature(campaign):
            scheduler.modify_job(job_id, name=_signature(campaign))
            scheduler.reschedule_job(job_id, trigger=trigger_for(campaign.schedule, campaign.timezone))
            emit("job_rescheduled", campaign=name, schedule=describe_schedule(campaign.schedule, campaign.timezone),
                 next_run=_next(scheduler, job_id))
    for job_id in jobs:  # paused or removed campaigns
        scheduler.remove_job(job_id)
        emit("job_removed", campaign=job_id.removeprefix(JOB_PREFIX))


def _next(scheduler, job_id: str) -> str | None:
    job = scheduler.get_job(job_id)
    return job.next_run_time.isoformat(timespec="seconds") if job and job.next_run_time else None


def _ensure_job_table(store) -> None:
    """Create APScheduler's job table before the scheduler does: two schedulers started at the
    same moment on a new database both see no table and both CREATE it; the loser's error is
    caught here (the table exists now) instead of killing that scheduler at start."""
    from sqlalchemy.exc import DBAPIError

    try:
        store.jobs_t.create(store.engine, checkfirst=True)
    except DBAPIError:
        store.jobs_t.create(store.engine, checkfirst=True)  # raises again only if it is something else


def start(config: Config, as_json: bool = False, misfire_grace: int = 3600, sync_every: float = 30.0,
          workers: int = 4, stream: TextIO = sys.stdout, stop: threading.Event | None = None) -> None:
    """Run the scheduler until SIGINT/SIGTERM (or `stop` is set)."""
    from apscheduler.events import EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    emit = EventLog(stream, as_json)
    sessions = session_factory(open_database(config.database_url))
    stop = stop or threading.Event()
    _RUNTIME.update(config=config, sessions=sessions, stop=stop, emit=emit)
    store = job_store(config.database_url)
    _ensure_job_table(store)
    scheduler = BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={"coalesce": True, "misfire_grace_time": misfire_grace, "max_instances": 1},
        timezone=TIMEZONE_NAME,
    )
    scheduler.add_listener(lambda e: emit("run_missed", campaign=e.job_id.removeprefix(JOB_PREFIX),
                                          scheduled=e.scheduled_run_time.isoformat(timespec="seconds")),
                           EVENT_JOB_MISSED)

    received: list[str] = []

    def request_stop(signum, _frame) -> None:
        # No emit here: the handler runs in the main thread, possibly while that thread holds the
        # event log's lock in the middle of a write — emitting would deadlock. Logged below.
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, request_stop)
    scheduler.start()
    emit("scheduler_started", jobs=len(scheduler.get_jobs()), misfire_grace=misfire_grace)
    try:
        while not stop.is_set():
            try:
                sync_jobs(scheduler, sessions, emit)
                # Another scheduler on this database may have added or moved jobs; APScheduler
                # only re-reads the store when woken, so wake it every round.
                scheduler.wakeup()
            except Exception as exc:  # noqa: BLE001 - a database hiccup: try again next round
                emit("sync_failed", error=f"{type(exc).__name__}: {exc}")
            stop.wait(sync_every)
    finally:
        if received:
            emit("stop_requested", signal=received[0])
        emit("scheduler_stopping")
        scheduler.shutdown(wait=True)  # running jobs see `stop` and end their runs as interrupted
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        emit("scheduler_stopped")


def status(config: Config) -> list[dict[str, Any]]:
    """Per campaign: enabled, schedule, next run time (from the job store), running now, last run."""
    from sqlalchemy import inspect

    from crawler.campaigns import lease_holder
    from crawler.storage.models import CrawlRun

    engine = open_database(config.database_url)
    sessions = session_factory(engine)
    next_runs: dict[str, datetime | None] = {}
    if inspect(engine).has_table(JOB_TABLE):
        store = job_store(config.database_url)
        store.start(None, "default")  # the store only needs its table; no scheduler attached
        try:
            for job in store.get_all_jobs():
                next_runs[job.id.removeprefix(JOB_PREFIX)] = job.next_run_time
        finally:
            store.shutdown()
    rows = []
    with sessions() as session:
        for campaign in session.scalars(select(Campaign).order_by(Campaign.name)):
            last = session.scalar(select(CrawlRun).where(CrawlRun.campaign_id == campaign.id)
                                  .order_by(CrawlRun.id.desc()).limit(1))
            lease = lease_holder(session, JOB_PREFIX + campaign.name)
            rows.append({
                "campaign": campaign.name, "enabled": campaign.enabled,
                "schedule": describe_schedule(campaign.schedule, campaign.timezone),
                "next_run": next_runs.get(campaign.name),
                "running": f"run {lease.run_id} on {lease.holder}" if lease else None,
                "last_run": f"{last.id} {last.status}" if last else None,
            })
    return rows
