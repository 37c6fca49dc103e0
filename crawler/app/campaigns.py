"""Campaign use cases: add, edit, list, show, pause and resume, remove, seed a work plan.
Both faces call these; a run is `crawler.campaigns.run_campaign`. Errors are CampaignError
(a UserError): an unknown campaign, a definition that fails its checks, a running campaign
that cannot be removed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.campaigns import (
    SEED_MARKETPLACES,
    SEEDS,
    CampaignError,
    CampaignSpec,
    check_spec,
    describe_schedule,
    get_campaign,
    lease_holder,
    save_campaign,
    spec_of,
)
from crawler.config import Config
from crawler.crawlspec import SANDBOX_SITES
from crawler.storage.db import session_scope
from crawler.storage.models import Campaign, CrawlRun


def checked(config: Config, spec: CampaignSpec) -> CampaignSpec:
    """`spec` checked against the configured category taxonomy and site profiles."""
    from crawler.profiles import BUNDLED_PROFILES, load_profiles
    from watchlists import BUNDLED, read_categories

    return check_spec(spec, read_categories(config.watchlists_dir or BUNDLED),
                      load_profiles(config.profiles_dir or BUNDLED_PROFILES))


def add(config: Config, sessions: sessionmaker[Session], spec: CampaignSpec) -> None:
    save_campaign(sessions, checked(config, spec))


def edit(config: Config, sessions: sessionmaker[Session], name: str, changes: dict[str, Any],
         default_keywords: bool = False) -> CampaignSpec:
    """Change the fields given in `changes` (lists replace lists); with default_keywords the
    campaign searches its categories' keywords again."""
    with sessions() as session:
        spec = spec_of(get_campaign(session, name))
    for key, value in changes.items():
        setattr(spec, key, value)
    if default_keywords:
        spec.keywords = []
    spec = checked(config, spec)
    save_campaign(sessions, spec, replace=True)
    return spec


@dataclass(frozen=True)
class CampaignLine:
    """A campaign in the list: its definition and its last run."""

    name: str
    enabled: bool
    schedule: str  # in words, with its timezone
    categories: list[str]
    profiles: list[str]
    last_run: tuple[int, str] | None  # (id, status)


def overview(sessions: sessionmaker[Session]) -> list[CampaignLine]:
    with sessions() as session:
        lines = []
        for row in session.scalars(select(Campaign).order_by(Campaign.name)):
            last = session.scalar(select(CrawlRun).where(CrawlRun.campaign_id == row.id).order_by(CrawlRun.id.desc()))
            lines.append(CampaignLine(row.name, row.enabled, describe_schedule(row.schedule, row.timezone),
                                      list(row.categories), list(row.profiles),
                                      (last.id, last.status) if last else None))
        return lines


@dataclass(frozen=True)
class CampaignDetails:
    """One campaign as `campaign show` and the console present it."""

    campaign: Campaign  # detached
    schedule: str
    areas: list[tuple[str, str | None]]  # (slug, Chinese label if the taxonomy knows it)
    keywords: list[str]  # what it searches: its own, or its areas'
    own_keywords: bool
    runs: list[CrawlRun]  # the latest first, detached


def details(config: Config, sessions: sessionmaker[Session], name: str, runs: int = 5) -> CampaignDetails:
    from watchlists import BUNDLED, read_categories

    taxonomy = read_categories(config.watchlists_dir or BUNDLED)
    with sessions() as session:
        row = get_campaign(session, name)
        recent = session.scalars(select(CrawlRun).where(CrawlRun.campaign_id == row.id)
                                 .order_by(CrawlRun.id.desc()).limit(runs)).all()
        session.expunge_all()
    keywords = row.keywords or [w for c in row.categories if c in taxonomy for w in taxonomy[c].keywords]
    return CampaignDetails(row, describe_schedule(row.schedule, row.timezone),
                           [(c, taxonomy[c].zh if c in taxonomy else None) for c in row.categories],
                           list(keywords), bool(row.keywords), list(recent))


def set_enabled(sessions: sessionmaker[Session], name: str, enabled: bool) -> None:
    """Pause (the scheduler ignores it; a running run finishes) or resume a campaign."""
    with session_scope(sessions) as session:
        get_campaign(session, name).enabled = enabled


def remove(sessions: sessionmaker[Session], name: str) -> None:
    """Remove a campaign that is not running; its past runs stay, without the link."""
    with session_scope(sessions) as session:
        row = get_campaign(session, name)
        if lease_holder(session, f"campaign:{name}"):
            raise CampaignError(f"campaign {name} is running; pause it and remove it when the run has ended")
        for run in session.scalars(select(CrawlRun).where(CrawlRun.campaign_id == row.id)):
            run.campaign_id = None
        session.delete(row)


def seed(config: Config, sessions: sessionmaker[Session], plan: str, sites: list[str] | None = None,
         sandbox_url: str | None = None, paused: bool = False) -> list[tuple[CampaignSpec, bool]]:
    """One campaign per task area of a work plan; (campaign, added) each, existing ones kept
    as they are. Sites default to the plan's marketplaces, or the sandbox's four flavours."""
    if plan not in SEEDS:
        raise CampaignError(f"no work plan {plan!r}; known: {', '.join(SEEDS)}")
    sites = list(sites or ()) or (list(SANDBOX_SITES) if sandbox_url else list(SEED_MARKETPLACES))
    done = []
    for template in SEEDS[plan]:
        spec = checked(config, replace(template, profiles=sites, sandbox_url=sandbox_url, enabled=not paused))
        try:
            save_campaign(sessions, spec)
            done.append((spec, True))
        except CampaignError:
            done.append((spec, False))
    return done


__all__ = ["CampaignDetails", "CampaignLine", "add", "checked", "details", "edit", "overview", "remove", "seed",
           "set_enabled"]
