"""Crawl runs as the faces list and show them: runs whose crawling process died are marked
interrupted first (crawler/storage/runs.py), so nothing reads 'running' that is not."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import UserError
from crawler.storage.models import Campaign, CrawlRun, ListingSnapshot, Suspect
from crawler.storage.runs import mark_interrupted


@dataclass(frozen=True)
class RunLine:
    run: CrawlRun  # detached
    campaign: str | None  # its campaign's name; "(removed)" when the campaign is gone
    suspects: int = 0  # suspects flagged on what this run fetched (a campaign run: its new suspects)


def _suspects_of(session: Session, run_ids: list[int]) -> dict[int, int]:
    """Per run, the suspects whose flagged snapshot this run fetched (a plain crawl's suspects;
    a campaign run also records its new ones itself)."""
    if not run_ids:
        return {}
    return dict(session.execute(
        select(ListingSnapshot.crawl_run_id, func.count(Suspect.id))
        .join(Suspect, Suspect.snapshot_id == ListingSnapshot.id)
        .where(ListingSnapshot.crawl_run_id.in_(run_ids)).group_by(ListingSnapshot.crawl_run_id)).all())


def _campaign_name(names: dict[int, str], run: CrawlRun) -> str | None:
    if run.campaign_id is None:
        return None
    return names.get(run.campaign_id, "(removed)")


def recent(sessions: sessionmaker[Session], failed: bool = False, degraded: bool = False,
           campaign: str | None = None, limit: int = 20) -> list[RunLine]:
    """The newest runs first; only failed or interrupted ones, only degraded ones, only one
    campaign's (CampaignError when it does not exist) as asked."""
    mark_interrupted(sessions)
    query = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)
    if failed:
        query = query.where(CrawlRun.status.in_(("failed", "interrupted")))
    if degraded:
        query = query.where(CrawlRun.degraded.is_(True))
    with sessions() as session:
        if campaign:
            from crawler.campaigns import get_campaign

            query = query.where(CrawlRun.campaign_id == get_campaign(session, campaign).id)
        names = dict(session.execute(select(Campaign.id, Campaign.name)).all())
        found = list(session.scalars(query))
        flagged = _suspects_of(session, [run.id for run in found])
        lines = [RunLine(run, _campaign_name(names, run), max(run.suspects_new, flagged.get(run.id, 0)))
                 for run in found]
        session.expunge_all()
    return lines


def as_record(run: CrawlRun) -> dict:
    """Every column of the run, for `runs show --json`."""
    return {column.name: getattr(run, column.name) for column in CrawlRun.__table__.columns}


def one(sessions: sessionmaker[Session], run_id: int) -> RunLine:
    mark_interrupted(sessions)
    with sessions() as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise UserError(f"no crawl run {run_id}")
        names = dict(session.execute(select(Campaign.id, Campaign.name)).all())
        flagged = _suspects_of(session, [run.id]).get(run.id, 0)
        session.expunge_all()
    return RunLine(run, _campaign_name(names, run), max(run.suspects_new, flagged))
