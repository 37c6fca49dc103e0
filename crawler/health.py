"""Crawl health: is each site profile still reading its pages, or has the layout changed?

Per run and per profile: field coverage (the share of listings with a title, price, seller…),
block-page rate, HTTP error rate, and results per search page. A run is *degraded* when a
profile's coverage of a key field, or its results per page, falls below half of the median
of that profile's recent healthy runs (or below an absolute floor on a first run): the
site probably changed its layout, and the analyst should not read "fewer suspects" as
"fewer counterfeits".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import median
from typing import Any

COVERED_FIELDS = ("title", "price", "seller_name", "seller_location", "brand", "category", "specs")
KEY_FIELDS = ("title", "price", "seller_name")
FIRST_RUN_FLOOR = 0.5  # key-field coverage below this on a profile's first run is degraded
DROP_RATIO = 0.5  # below half of the recent median is degraded
MIN_LISTINGS = 5  # fewer listings than this say nothing about coverage


@dataclass
class ProfileTally:
    listings: int = 0
    present: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    responses: int = 0
    http_errors: int = 0  # 4xx/5xx responses, retried ones included

    def add_listing(self, item: Any) -> None:
        self.listings += 1
        for name in COVERED_FIELDS:
            if getattr(item, name, None) not in (None, "", {}, []):
                self.present[name] += 1

    def add_response(self, status: int) -> None:
        self.responses += 1
        if status >= 400:
            self.http_errors += 1


def summarise(tallies: dict[str, ProfileTally], stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The health record of one run: per profile, rates rounded to 3 places."""
    health: dict[str, dict[str, Any]] = {}
    for name, tally in sorted(tallies.items()):
        search_pages = int(stats.get(f"lijian/profile/{name}/search_pages", 0))
        blocked = int(stats.get(f"lijian/profile/{name}/blocked", 0))
        results = int(stats.get(f"lijian/profile/{name}/results", 0))
        health[name] = {
            "listings": tally.listings,
            "coverage": {f: round(tally.present[f] / tally.listings, 3) if tally.listings else 0.0
                         for f in COVERED_FIELDS},
            "responses": tally.responses,
            "block_rate": round(blocked / tally.responses, 3) if tally.responses else 0.0,
            "http_error_rate": round(tally.http_errors / tally.responses, 3) if tally.responses else 0.0,
            "search_pages": search_pages,
            "results_per_page": round(results / search_pages, 2) if search_pages else 0.0,
            "empty_search_pages": int(stats.get(f"lijian/profile/{name}/empty_search_pages", 0)),
            "session_expired": int(stats.get(f"lijian/profile/{name}/session_expired", 0)),
        }
    return health


def degradation(health: dict[str, dict[str, Any]], recent: list[dict[str, dict[str, Any]]]) -> list[str]:
    """Reasons this run is degraded against `recent` healthy runs' health records (newest first)."""
    reasons: list[str] = []
    for name, now in health.items():
        if now.get("session_expired"):
            reasons.append(f"{name}: session expired (its login wall came back {now['session_expired']} times): "
                           f"import a fresh one with lijian session import {name} FILE")
            continue
        history = [h[name] for h in recent if name in h and h[name].get("listings", 0) >= MIN_LISTINGS]
        if now["search_pages"] and now["empty_search_pages"] == now["search_pages"]:
            reasons.append(f"{name}: no result cards on any of {now['search_pages']} search pages")
            continue
        if now["listings"] < MIN_LISTINGS:
            continue
        for key in KEY_FIELDS:
            value = now["coverage"][key]
            if history:
                usual = median(h["coverage"][key] for h in history)
                if value < usual * DROP_RATIO:
                    reasons.append(f"{name}: {key} coverage {value:.0%} against {usual:.0%} in recent runs")
            elif value < FIRST_RUN_FLOOR:
                reasons.append(f"{name}: {key} coverage {value:.0%} (first run of this profile)")
        if history:
            usual_rpp = median(h["results_per_page"] for h in history)
            if usual_rpp and now["results_per_page"] < usual_rpp * DROP_RATIO:
                reasons.append(f"{name}: {now['results_per_page']} results per search page against {usual_rpp} "
                               "in recent runs")
    return reasons
