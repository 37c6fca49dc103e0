"""Crawl campaigns: what to search where, how often, within what limits — and running one.

A campaign run is one `CrawlRun` row with stages:

    crawl   a `lijian crawl` subprocess (Twisted's reactor cannot restart in one process),
            writing into the pre-created CrawlRun; its log goes to OUT/logs/run-<id>.log
    match   score the new snapshots (one matcher at a time: a "stage:match" lease)
    digest  rewrite the day's digest

Each stage's outcome, counts, duration and error go into `CrawlRun.stages`; a failed stage
marks the run failed with the reason and skips the stages after it. One run per campaign at a
time, across processes and machines: a lease row in the database (`leases`), renewed while
the run lives and left to expire if its process dies.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crawler.clock import TIMEZONE_NAME
from crawler.config import Config
from crawler.storage.db import session_scope
from crawler.storage.models import (
    Campaign,
    CrawlRun,
    Lease,
    ListingSnapshot,
    Suspect,
    utcnow,
)

logger = logging.getLogger("lijian.campaigns")

DEFAULT_TIMEZONE = TIMEZONE_NAME
EVIDENCE_POLICIES = ("none", "suspects", "on_demand")  # or "score>=0.8"
LEASE_TTL = timedelta(seconds=120)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"
_INTERVAL = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_SECONDS = 5


class CampaignError(ValueError):
    """A campaign definition or command that cannot be accepted; the message says why."""


# -- schedules ------------------------------------------------------------------------------
def parse_schedule(text: str) -> str:
    """Normalise a schedule: a cron expression (5 fields, "0 3 * * *") or an interval
    ("every 6h", "30m", "1d"). Returns "cron:…" or "every:…"; CampaignError says what is wrong."""
    from apscheduler.triggers.cron import CronTrigger

    shown = " ".join((text or "").split())
    body = shown.removeprefix("cron:").removeprefix("every:").removeprefix("every ").strip()
    interval = _INTERVAL.match(body)
    if interval and not shown.startswith("cron:"):
        seconds = int(interval.group(1)) * _UNIT_SECONDS[interval.group(2)]
        if seconds < MIN_INTERVAL_SECONDS:
            raise CampaignError(f"schedule {shown!r}: an interval must be at least {MIN_INTERVAL_SECONDS}s")
        return f"every:{interval.group(1)}{interval.group(2)}"
    try:
        CronTrigger.from_crontab(body, timezone=DEFAULT_TIMEZONE)
    except ValueError as exc:
        raise CampaignError(f"schedule {shown!r} is neither an interval (30m, 6h, 1d) nor a valid cron "
                            f"expression (minute hour day month weekday, e.g. '0 3 * * *'): {exc}") from None
    return f"cron:{body}"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(f"unknown timezone {name!r} (use an IANA name such as Asia/Shanghai)") from None
    return name


def trigger_for(schedule: str, timezone: str):
    """The APScheduler trigger of a normalised schedule."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    kind, _, body = schedule.partition(":")
    if kind == "every":
        match = _INTERVAL.match(body)
        return IntervalTrigger(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)], timezone=timezone)
    return CronTrigger.from_crontab(body, timezone=timezone)


def describe_schedule(schedule: str, timezone: str) -> str:
    kind, _, body = schedule.partition(":")
    return f"every {body}" if kind == "every" else f"cron '{body}' ({timezone})"


# -- definitions ------------------------------------------------------------------------------
@dataclass
class CampaignSpec:
    """A campaign as given on the command line, before it is checked and stored."""

    name: str
    schedule: str
    categories: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    timezone: str = DEFAULT_TIMEZONE
    max_pages: int | None = None
    max_listings: int | None = None
    max_runtime: int | None = None
    evidence_policy: str = "suspects"
    notify_threshold: int | None = None
    sandbox_url: str | None = None
    description: str | None = None
    enabled: bool = True


def is_evidence_policy(policy: str) -> bool:
    return policy in EVIDENCE_POLICIES or bool(re.fullmatch(r"score>=(0(\.\d+)?|1(\.0+)?)", policy))


def check_spec(spec: CampaignSpec, taxonomy: dict, profiles: dict) -> CampaignSpec:
    """Validate against the category taxonomy and the site profiles; CampaignError names the problem."""
    from crawler.profiles import SANDBOX_SHORTHAND

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", spec.name or ""):
        raise CampaignError(f"campaign name {spec.name!r}: letters, digits, '-', '_' or '.', at most 64")
    spec.schedule = parse_schedule(spec.schedule)
    spec.timezone = check_timezone(spec.timezone or DEFAULT_TIMEZONE)
    unknown = [c for c in spec.categories if c not in taxonomy]
    if unknown:
        raise CampaignError(f"unknown category {unknown[0]!r}; known: {', '.join(taxonomy)}")
    if not spec.categories and not spec.keywords:
        raise CampaignError("give at least one category or keyword")
    spec.profiles = [SANDBOX_SHORTHAND.get(p, p) for p in spec.profiles]
    unknown = [p for p in spec.profiles if p not in profiles]
    if unknown:
        raise CampaignError(f"unknown profile {unknown[0]!r}; known: {', '.join(sorted(profiles))}")
    if not spec.profiles:
        raise CampaignError("give at least one marketplace profile")
    if any(profiles[p].sandbox for p in spec.profiles) and not spec.sandbox_url:
        raise CampaignError("the sandbox flavours need the sandbox's URL (--sandbox URL)")
    if spec.sandbox_url and not spec.sandbox_url.startswith(("http://", "https://")):
        raise CampaignError(f"sandbox URL {spec.sandbox_url!r} must start with http:// or https://")
    if not is_evidence_policy(spec.evidence_policy):
        raise CampaignError(f"evidence policy {spec.evidence_policy!r}: one of {', '.join(EVIDENCE_POLICIES)} "
                            "or score>=X (0-1)")
    for name in ("max_pages", "max_listings", "max_runtime", "notify_threshold"):
        value = getattr(spec, name)
        if value is not None and value < 1:
            raise CampaignError(f"{name.replace('_', '-')} must be at least 1")
    return spec


# The 2018 Lijian work plan's task areas: one campaign each. Daily at night (Beijing time),
# staggered so that runs do not overlap; the general e-commerce sweep weekly.
LIJIAN_2018 = (
    CampaignSpec("lijian-2018-children-appliances", "0 1 * * *", ["children", "appliance"],
                 description="儿童用品和家用电器 children's products and home appliances"),
    CampaignSpec("lijian-2018-agri", "0 2 * * *", ["fertilizer", "farm_machinery"],
                 description="化肥、农机及配件 fertilizer, farm machinery and spare parts"),
    CampaignSpec("lijian-2018-building", "0 3 * * *", ["steel", "cable"],
                 description="钢材、电线电缆 steel, electric wire and cable"),
    CampaignSpec("lijian-2018-auto-fuel", "0 4 * * *", ["auto_parts", "fuel"],
                 description="汽车配件（滤清器、内饰）和汽柴油 auto spare parts, gasoline and diesel"),
    CampaignSpec("lijian-2018-ecommerce", "0 5 * * 1", ["children", "appliance", "fertilizer", "farm_machinery",
                                                       "steel", "cable", "auto_parts", "fuel", "general"],
                 description="电子商务领域综合抽查 e-commerce listings across all areas (weekly)"),
)
SEED_MARKETPLACES = ("jd", "tmall", "taobao", "pinduoduo", "1688")
SEEDS = {"lijian-2018": LIJIAN_2018}


# -- storage ----------------------------------------------------------------------------------
def save_campaign(sessions: sessionmaker[Session], spec: CampaignSpec, replace: bool = False) -> tuple[Campaign, bool]:
    """Insert (or with `replace`, update) a checked campaign; returns (row, created)."""
    values = {k: getattr(spec, k) for k in ("description", "categories", "profiles", "keywords", "schedule",
                                            "timezone", "max_pages", "max_listings", "max_runtime",
                                            "evidence_policy", "notify_threshold", "sandbox_url", "enabled")}
    with session_scope(sessions) as session:
        row = session.scalar(select(Campaign).where(Campaign.name == spec.name))
        if row is not None and not replace:
            raise CampaignError(f"campaign {spec.name!r} exists (edit it, or remove it first)")
        created = row is None
        if created:
            row = Campaign(name=spec.name, **values)
            session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        session.flush()
        session.expunge(row)
    return row, created


def get_campaign(session: Session, name: str) -> Campaign:
    row = session.scalar(select(Campaign).where(Campaign.name == name))
    if row is None:
        known = session.scalars(select(Campaign.name).order_by(Campaign.name)).all()
        raise CampaignError(f"no campaign {name!r}" + (f"; known: {', '.join(known)}" if known else
                                                        " (there are none: lijian campaign add or seed)"))
    return row


def spec_of(row: Campaign) -> CampaignSpec:
    return CampaignSpec(**{k: getattr(row, k) for k in CampaignSpec.__dataclass_fields__})


# -- leases -----------------------------------------------------------------------------------
def acquire_lease(sessions: sessionmaker[Session], name: str, holder: str = HOLDER,
                  ttl: timedelta = LEASE_TTL, run_id: int | None = None) -> bool:
    """Take the named lease if it is free, expired, or already ours. Atomic in the database:
    a conditional UPDATE, or an INSERT that the primary key lets only one process win."""
    now = utcnow()
    with session_scope(sessions) as session:
        taken = session.execute(
            update(Lease).where(Lease.name == name, (Lease.expires_at < now) | (Lease.holder == holder))
            .values(holder=holder, acquired_at=now, expires_at=now + ttl, run_id=run_id)).rowcount
        if taken:
            return True
    try:
        with session_scope(sessions) as session:
            session.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl, run_id=run_id))
        return True
    except IntegrityError:
        return False


def renew_lease(sessions: sessionmaker[Session], name: str, holder: str = HOLDER, ttl: timedelta = LEASE_TTL) -> bool:
    with session_scope(sessions) as session:
        return bool(session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                                    .values(expires_at=utcnow() + ttl)).rowcount)


def release_lease(sessions: sessionmaker[Session], name: str, holder: str = HOLDER) -> None:
    with session_scope(sessions) as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def lease_holder(session: Session, name: str) -> Lease | None:
    lease = session.get(Lease, name)
    return lease if lease is not None and _aware(lease.expires_at) > utcnow() else None


def _aware(moment: datetime) -> datetime:
    from datetime import timezone

    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class LeaseKeeper(threading.Thread):
    """Renews a lease every third of its lifetime until stopped (the run is alive)."""

    def __init__(self, sessions: sessionmaker[Session], name: str, ttl: timedelta = LEASE_TTL) -> None:
        super().__init__(daemon=True, name=f"lease:{name}")
        self.sessions, self.lease, self.ttl = sessions, name, ttl
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.ttl.total_seconds() / 3):
            try:
                renew_lease(self.sessions, self.lease, ttl=self.ttl)
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not kill the run
                logger.warning("lease %s not renewed: %s", self.lease, exc)

    def stop(self) -> None:
        self.stopped.set()


# -- running ----------------------------------------------------------------------------------
@dataclass
class RunOutcome:
    run_id: int | None
    status: str  # finished | failed | interrupted | skipped
    reason: str | None = None
    suspects_new: int = 0
    stages: dict[str, Any] = field(default_factory=dict)


def _crawl_command(campaign: Campaign, run_id: int, progress_file: Path, profiles_dir: Path | None) -> list[str]:
    # The database URL goes by environment, not argv: a password would show in `ps`.
    command = [sys.executable, "-m", "crawler.cli", "crawl", "--crawl-run-id", str(run_id),
               "--log-level", "INFO", "--progress-file", str(progress_file)]
    for profile in campaign.profiles:
        command += ["--site", profile]
    for category in campaign.categories:
        command += ["--category", category]
    for keyword in campaign.keywords:
        command += ["--keyword", keyword]
    if campaign.sandbox_url:
        command += ["--sandbox", campaign.sandbox_url]
    for option, value in (("--max-pages", campaign.max_pages), ("--max-listings", campaign.max_listings),
                          ("--max-runtime", campaign.max_runtime)):
        if value:
            command += [option, str(value)]
    if profiles_dir:
        command += ["--profiles", str(profiles_dir)]
    return command


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
    from crawler.distributed import queue_run, wait_for_run
    from crawler.frontier import FrontierError, cancel_run, connect
    from crawler.storage.models import CrawlRunWorker

    spider_args = {"base_url": campaign.sandbox_url, "sites": ",".join(campaign.profiles),
                   "categories": ",".join(campaign.categories) or None,
                   "keywords": ",".join(campaign.keywords) or None, "max_pages": campaign.max_pages,
                   "profiles_dir": str(config.profiles_dir) if config.profiles_dir else None}
    try:
        queue_run(config, spider_args, run_id=run_id)
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
    command = _crawl_command(campaign, run_id, progress_file, config.profiles_dir)
    with log_path.open("ab") as log:
        env = {**os.environ, "LIJIAN_DATABASE_URL": config.database_url}
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
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
    from crawler.matching import match_new_snapshots
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
    from crawler.digest import write_digest
    from watchlists import load_watchlists

    lists = load_watchlists(config.watchlists_dir, cache_dir=config.cache_dir)
    files = write_digest(sessions, lists, config.out_dir, evidence_root=config.out_dir / "evidence")
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


# -- notifications ----------------------------------------------------------------------------
def notify(config: Config, campaign: Campaign, outcome: RunOutcome, emit: Callable[..., None]) -> None:
    """A run that failed, or found at least the campaign's threshold of new suspects, is sent
    to the webhook and/or by e-mail when those are configured. Failures are logged, not raised."""
    failed = outcome.status in ("failed", "interrupted")
    many = campaign.notify_threshold is not None and outcome.suspects_new >= campaign.notify_threshold
    if not (failed or many) or not (config.notify_webhook or (config.smtp_url and config.notify_email)):
        return
    reason = "run failed" if failed else f"{outcome.suspects_new} new suspects"
    payload = {"campaign": campaign.name, "run": outcome.run_id, "status": outcome.status, "reason": outcome.reason,
               "suspects_new": outcome.suspects_new, "why": reason}
    subject = f"[利剑监测] {campaign.name}: {'运行失败' if failed else f'新增可疑商品 {outcome.suspects_new} 件'}"
    if config.notify_webhook:
        try:
            request = urllib.request.Request(config.notify_webhook, data=json.dumps(payload, ensure_ascii=False)
                                             .encode("utf-8"), headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                emit("notified", campaign=campaign.name, run=outcome.run_id, via="webhook", status=response.status)
        except OSError as exc:
            emit("notify_failed", campaign=campaign.name, run=outcome.run_id, via="webhook", error=str(exc))
    if config.smtp_url and config.notify_email:
        try:
            send_mail(config.smtp_url, config.notify_email, subject,
                      json.dumps(payload, ensure_ascii=False, indent=1))
            emit("notified", campaign=campaign.name, run=outcome.run_id, via="email")
        except (OSError, smtplib.SMTPException) as exc:
            emit("notify_failed", campaign=campaign.name, run=outcome.run_id, via="email", error=str(exc))


def send_mail(smtp_url: str, to: str, subject: str, body: str) -> None:
    """smtp://[user:password@]host[:port] (smtps:// for TLS from the start; STARTTLS when offered)."""
    parts = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"] = unquote(parts.username or "lijian") + "@" + (parts.hostname or "localhost")
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parts.hostname or "localhost", parts.port or (465 if parts.scheme == "smtps" else 25),
                    timeout=10) as smtp:
        smtp.ehlo()
        if parts.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
