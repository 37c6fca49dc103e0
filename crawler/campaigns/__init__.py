"""Crawl campaigns (moved here from crawler/campaigns.py; split by responsibility next)."""

from crawler.campaigns.runner import *  # noqa: F403
from crawler.campaigns.runner import _stage_crawl, _stage_match  # noqa: F401
