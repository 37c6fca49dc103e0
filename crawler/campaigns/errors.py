"""The error of the campaigns package: a campaign, schedule or definition that cannot be used."""

from __future__ import annotations


class CampaignError(ValueError):
    """A campaign definition or command that cannot be accepted; the message says why."""
