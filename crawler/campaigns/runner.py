"""Crawl campaigns: what to search where, how often, within what limits — and running one.

A campaign run is one `CrawlRun` row with stages:

    crawl   a crawl subprocess (`python -m crawler.app.child`; Twisted's reactor cannot restart
            in one process),
            writing into the pre-created CrawlRun; its log goes to OUT/logs/run-<id>.log
    match   score the new snapshots (one matcher at a time: a "stage:match" lease)
    digest  rewrite the day's digest

Each stage's outcome, counts, duration and error go into `CrawlRun.stages`; a failed stage
marks the run failed with the reason and skips the stages after it. One run per campaign at a
time, across processes and machines: a lease row in the database (`leases`), renewed while
the run lives and left to expire if its process dies."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.app.crawls import CrawlJob, start_child
from crawler.campaigns.leases import (
    LeaseKeeper,
    acquire_lease,
    lease_holder,
    release_lease,
)
from crawler.campaigns.notify import notify
from crawler.campaigns.outcome import RunOutcome
from crawler.campaigns.store import get_campaign
from crawler.config import Config
from crawler.crawlspec import CrawlSpec
from crawler.storage.db import session_scope
from crawler.storage.models import Campaign, CrawlRun, Lease, ListingSnapshot, Suspect, utcnow

logger = logging.getLogger("lijian.campaigns")


def crawl_spec(config: Config, campaign: Campaign) -> CrawlSpec:
    """What a run of `campaign` crawls (its profiles, areas, keywords and limits)."""
    return CrawlSpec.of(sites=campaign.profiles, categories=campaign.categories, keywords=campaign.keywords,
                        base_url=campaign.sandbox_url, max_pages=campaign.max_pages,
                        max_listings=campaign.max_listings, max_runtime=campaign.max_runtime,
                        profiles_dir=str(config.profiles_dir) if config.profiles_dir else None,
                        watchlists_dir=str(config.watchlists_dir) if config.watchlists_dir else None)


def read_progress(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_campaign(config: Config, sessions: sessionmaker[Session], name: str, trigger: str = "manual",
                 stop: threading.Event | None = None, on_progress: Callable[[str, dict], None] | None = None,
                 on_event: Callable[..., None] | None = None) -> RunOutcome:
    """One run of a campaign: crawl → match → evidence → digest, each stage recorded. Never raises for a
    stage's failure; CampaignError for an unknown campaign."""
    stop = stop or threading.Event()
    emit = on_event or (lambda *a, **k: None)
    with session_scope(sessions) as session:
        campaign = get_campaign(session, name)
        session.expunge(campaign)
    lease = f"campaign:{campaign.name}"
    if not acquire_lease(sessions, lease):
        with sessions() as session:
            holder = lease_holder(session, lease)
        reason = f"already running (held by {holder.holder if holder else 'another process'})"
        emit("run_skipped", campaign=campaign.name, reason=reason)
        return RunOutcome(None, "skipped", reason)
    keeper = LeaseKeeper(sessions, lease)
    keeper.start()
    started = utcnow()
    logs = config.out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        with session_scope(sessions) as session:
            run = CrawlRun(spider="marketplace", status="queued", stats={}, campaign_id=campaign.id, trigger=trigger,
                           stages={})
            session.add(run)
            session.flush()
            run_id = run.id
            run.log_path = str(logs / f"run-{run_id}.log")
        with session_scope(sessions) as session:
            session.execute(update(Lease).where(Lease.name == lease).values(run_id=run_id))
        emit("run_started", campaign=campaign.name, run=run_id, trigger=trigger)
        outcome = RunOutcome(run_id, "finished")
        for stage in STAGES:
            if stop.is_set():
                outcome.status, outcome.reason = "interrupted", f"stopped before {stage}"
                break
            began = time.monotonic()
            emit("stage_started", campaign=campaign.name, run=run_id, stage=stage)
            try:
                result = STAGES[stage](config, sessions, campaign, run_id, stop, on_progress)
                record = {"status": "finished", **result}
            except StageFailed as exc:
                record = {"status": exc.status, "error": str(exc)}
            except Exception as exc:  # noqa: BLE001 - any stage error fails the run, not the scheduler
                logger.exception("stage %s of run %s failed", stage, run_id)
                record = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]}
            record["seconds"] = round(time.monotonic() - began, 1)
            outcome.stages[stage] = record
            _save_stages(sessions, run_id, outcome.stages)
            emit("stage_finished", campaign=campaign.name, run=run_id, stage=stage, status=record["status"],
                 seconds=record["seconds"], **{k: v for k, v in record.items() if k in ("listings", "scored",
                                                                                      "suspects_new", "error")})
            if record["status"] != "finished":
                outcome.status = record["status"]
                outcome.reason = f"{stage}: {record.get('error', record['status'])}"
                break
        with session_scope(sessions) as session:
            outcome.suspects_new = session.scalar(select(func.count()).select_from(Suspect).where(
                Suspect.first_flagged_at >= started)) or 0
            run = session.get(CrawlRun, run_id)
            run.suspects_new = outcome.suspects_new
            if outcome.status != "finished":
                run.status = outcome.status
                run.error_text = "\n".join(filter(None, [run.error_text, outcome.reason]))
            run.finished_at = utcnow()
        emit("run_finished", campaign=campaign.name, run=run_id, status=outcome.status,
             suspects_new=outcome.suspects_new, reason=outcome.reason)
        notify(config, campaign, outcome, emit)
        return outcome
    finally:
        keeper.stop()
        release_lease(sessions, lease)


class StageFailed(RuntimeError):
    def __init__(self, message: str, status: str = "failed") -> None:
        super().__init__(message)
        self.status = status


def _save_stages(sessions: sessionmaker[Session], run_id: int, stages: dict[str, Any]) -> None:
    with session_scope(sessions) as session:
        run = session.get(CrawlRun, run_id)
        run.stages = json.loads(json.dumps(stages, default=str))


def _stage_crawl_distributed(config: Config, sessions, campaign: Campaign, run_id: int, stop: threading.Event,
                             on_progress) -> dict[str, Any]:
    """With Redis: queue the run's seeds for the `lijian worker` processes and wait for them."""
    from crawler.scheduling.frontier import FrontierError, cancel_run, connect
    from crawler.scheduling.workers import queue_run, wait_for_run
    from crawler.storage.models import CrawlRunWorker

    try:
        queue_run(config, crawl_spec(config, campaign), run_id=run_id)
    except FrontierError as exc:
        raise StageFailed(str(exc)) from None

    def progress(_state: dict) -> None:
        if on_progress:
            with sessions() as session:
                pages, listings = session.execute(select(func.coalesce(func.sum(CrawlRunWorker.pages), 0),
                                                         func.coalesce(func.sum(CrawlRunWorker.listings), 0))
                                                  .where(CrawlRunWorker.run_id == run_id)).one()
            on_progress("crawl", {"pages": pages, "listings": listings})

    run = wait_for_run(config, run_id, stop, on_progress=progress)
    if stop.is_set() and run.status not in ("finished", "failed"):
        cancel_run(connect(config.redis_url), run_id)
        raise StageFailed("crawl interrupted (scheduler stopping); its queue was dropped", status="interrupted")
    if run.status != "finished":
        raise StageFailed(f"distributed crawl {run.status}: {run.error_text or 'no reason recorded'}")
    return {"pages": run.pages, "listings": run.items_scraped, "workers": (run.stats or {}).get("workers")}


def _stage_crawl(config: Config, sessions, campaign: Campaign, run_id: int, stop: threading.Event,
                 on_progress) -> dict[str, Any]:
    if config.redis_url:
        return _stage_crawl_distributed(config, sessions, campaign, run_id, stop, on_progress)
    log_path = config.out_dir / "logs" / f"run-{run_id}.log"
    progress_file = config.out_dir / "logs" / f"run-{run_id}.progress.json"
    job = CrawlJob(spec=crawl_spec(config, campaign), run_id=run_id, progress_file=str(progress_file),
                   log_level="INFO")
    with log_path.open("ab") as log:
        # The database URL goes by environment, not argv: a password would show in `ps`.
        env = {**os.environ, "LIJIAN_DATABASE_URL": config.database_url}
        process = start_child(job, env, stdout=log, new_session=True)
        interrupted = False
        while True:
            try:
                code = process.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pass
            if on_progress:
                on_progress("crawl", read_progress(progress_file))
            if stop.is_set() and not interrupted:
                interrupted = True
                process.send_signal(signal.SIGINT)  # Scrapy closes the run as interrupted
    if on_progress:
        on_progress("crawl", read_progress(progress_file))
    with sessions() as session:
        run = session.get(CrawlRun, run_id)
        status, listings, pages = run.status, run.items_scraped, run.pages
        degraded = run.degraded_reason
    if interrupted or status == "interrupted":
        raise StageFailed("crawl interrupted (scheduler stopping)", status="interrupted")
    if code != 0 or status != "finished":
        tail = _tail(log_path, 5)
        raise StageFailed(f"crawl exited with {code} (run status {status}); log: {tail}")
    return {"pages": pages, "listings": listings, **({"degraded": degraded} if degraded else {})}


def _stage_match(config: Config, sessions, campaign: Campaign, run_id: int, stop, on_progress) -> dict[str, Any]:
    from crawler.app.matching import match_new_snapshots
    from matchers import cache
    from watchlists import load_watchlists

    cache.configure(config.cache_dir)
    lists = load_watchlists(config.watchlists_dir, cache_dir=config.cache_dir)
    deadline = time.monotonic() + 600
    while not acquire_lease(sessions, "stage:match"):  # one matcher at a time on this database
        if stop.wait(1.0) or time.monotonic() > deadline:
            raise StageFailed("another run's matching held the match lease too long", status="failed")
    try:
        summary = match_new_snapshots(sessions, lists)
    finally:
        release_lease(sessions, "stage:match")
    if on_progress:
        on_progress("match", {"scored": summary.scored, "flagged": summary.flagged})
    return {"scored": summary.scored, "flagged": summary.flagged}


def _stage_evidence(config: Config, sessions, campaign: Campaign, run_id: int, stop, on_progress) -> dict[str, Any]:
    """Capture the suspects the campaign's evidence policy covers, now, while the listings are
    still up: those of this run's listings without a capture of their current snapshot."""
    from crawler.evidence.capture import capture_many, listings_to_capture
    from crawler.evidence.package import EvidenceError
    from crawler.profiles import BUNDLED_PROFILES, load_profiles

    policy = campaign.evidence_policy
    if policy in ("none", "on_demand"):
        return {"policy": policy, "captured": 0}
    with sessions() as session:
        seen = select(ListingSnapshot.listing_id).where(ListingSnapshot.crawl_run_id == run_id)
        listing_ids = listings_to_capture(session, policy, listing_ids=seen)
    if not listing_ids:
        return {"policy": policy, "captured": 0}
    done = {"ok": 0, "failed": 0}

    def count(result) -> None:
        done["ok" if result.status == "ok" else "failed"] += 1
        if on_progress:
            on_progress("evidence", {"captured": done["ok"], "failed": done["failed"], "total": len(listing_ids)})

    try:
        capture_many(sessions, config.out_dir / "evidence", config.chromium_path, listing_ids,
                     load_profiles(config.profiles_dir or BUNDLED_PROFILES), f"campaign:{campaign.name}",
                     config.user_agent, on_result=count, stop=stop)
    except EvidenceError as exc:
        raise StageFailed(str(exc)) from None
    if done["failed"] and not done["ok"]:
        raise StageFailed(f"all {done['failed']} evidence captures failed (see lijian evidence list)")
    return {"policy": policy, "captured": done["ok"], "failed": done["failed"]}


def _stage_digest(config: Config, sessions, campaign: Campaign, run_id: int, stop, on_progress) -> dict[str, Any]:
    from crawler.reports.digest import write_digest
    from watchlists import load_watchlists

    lists = load_watchlists(config.watchlists_dir, cache_dir=config.cache_dir)
    files = write_digest(sessions, lists, config.out_dir, evidence_root=config.out_dir / "evidence",
                         console_url=config.console_url)
    return {"html": str(files.html), "xlsx": str(files.xlsx), "csv": str(files.csv), "new": files.new_rows}


STAGES: dict[str, Callable[..., dict[str, Any]]] = {"crawl": _stage_crawl, "match": _stage_match,
                                                    "evidence": _stage_evidence, "digest": _stage_digest}


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())[:1000]


def log_tail(path: str | None, lines: int = 20) -> list[str]:
    if not path:
        return []
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []
