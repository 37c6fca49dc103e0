"""Crawl runs as the faces list and show them: runs whose crawling process died are marked
interrupted first (crawler/storage/runs.py), so nothing reads 'running' that is not."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import UserError
from crawler.storage.models import Campaign, CrawlRun
from crawler.storage.runs import mark_interrupted


@dataclass(frozen=True)
class RunLine:
    run: CrawlRun  # detached
    campaign: str | None  # its campaign's name; "(removed)" when the campaign is gone


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
        lines = [RunLine(run, _campaign_name(names, run)) for run in session.scalars(query)]
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
        session.expunge_all()
    return RunLine(run, _campaign_name(names, run))
