"""The error of the campaigns package: a campaign, schedule or definition that cannot be used."""

from __future__ import annotations

from crawler.errors import UserError


class CampaignError(UserError, ValueError):
    """A campaign definition or command that cannot be accepted; the message says why (every
    face shows it as one line)."""
