"""What a campaign is before it is stored: its definition, the checks against the category taxonomy
and the site profiles, and the 2018 work plan's seed campaigns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.campaigns.errors import CampaignError
from crawler.campaigns.schedules import DEFAULT_TIMEZONE, check_timezone, parse_schedule

EVIDENCE_POLICIES = ("none", "suspects", "on_demand")  # or "score>=0.8"


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
    from crawler.crawlspec import CrawlSpec, SpecError, check

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", spec.name or ""):
        raise CampaignError(f"campaign name {spec.name!r}: letters, digits, '-', '_' or '.', at most 64")
    spec.schedule = parse_schedule(spec.schedule)
    spec.timezone = check_timezone(spec.timezone or DEFAULT_TIMEZONE)
    if not spec.categories and not spec.keywords:
        raise CampaignError("give at least one category or keyword")
    if not spec.profiles:
        raise CampaignError("give at least one marketplace profile")
    try:  # the checks every crawl gets: sites, the sandbox's URL, categories
        checked = check(CrawlSpec.of(sites=spec.profiles, categories=spec.categories, keywords=spec.keywords,
                                     base_url=spec.sandbox_url), profiles, taxonomy)
    except SpecError as exc:
        raise CampaignError(str(exc)) from None
    spec.profiles = [p.name for p in checked.profiles]
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
