"""Campaigns in the database: save (add or replace), look up, read back as a definition."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.campaigns.errors import CampaignError
from crawler.campaigns.spec import CampaignSpec
from crawler.storage.db import session_scope
from crawler.storage.models import Campaign, utcnow


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
