"""Crawl campaigns: what to search where, how often, within what limits — and running one.

    schedules.py  cron expressions and intervals in a timezone
    spec.py       a campaign's definition, its checks, the 2018 work plan's seed campaigns
    store.py      campaigns in the database
    leases.py     one run per campaign at a time, across processes and machines
    runner.py     a campaign run: crawl → match → evidence → digest, stage by stage
    outcome.py    what a run came to
    notify.py     the webhook and e-mail when a run fails or finds enough new suspects
    errors.py     CampaignError

The names other modules use are importable from the package itself.
"""

from crawler.campaigns.errors import CampaignError
from crawler.campaigns.leases import (
    HOLDER,
    LEASE_TTL,
    LeaseKeeper,
    acquire_lease,
    lease_holder,
    release_lease,
    renew_lease,
)
from crawler.campaigns.outcome import RunOutcome
from crawler.campaigns.runner import StageFailed, log_tail, read_progress, run_campaign
from crawler.campaigns.schedules import (
    DEFAULT_TIMEZONE,
    check_timezone,
    describe_schedule,
    parse_schedule,
    trigger_for,
)
from crawler.campaigns.spec import (
    EVIDENCE_POLICIES,
    LIJIAN_2018,
    SEED_MARKETPLACES,
    SEEDS,
    CampaignSpec,
    check_spec,
    is_evidence_policy,
)
from crawler.campaigns.store import get_campaign, save_campaign, spec_of

__all__ = [
    "DEFAULT_TIMEZONE", "EVIDENCE_POLICIES", "HOLDER", "LEASE_TTL", "LIJIAN_2018", "SEEDS", "SEED_MARKETPLACES",
    "CampaignError", "CampaignSpec", "LeaseKeeper", "RunOutcome", "StageFailed", "acquire_lease", "check_spec",
    "check_timezone", "describe_schedule", "get_campaign", "is_evidence_policy", "lease_holder", "log_tail",
    "parse_schedule", "read_progress", "release_lease", "renew_lease", "run_campaign", "save_campaign", "spec_of",
    "trigger_for",
]
