"""Crawl runs whose process is gone: killed (kill -9, a crash, a power cut) before it could
close the run, which would otherwise stay 'running' forever with the counts of its start."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy import func, select

from crawler.storage.db import session_scope
from crawler.storage.models import CrawlRun, Listing, ListingSnapshot, utcnow


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host and is not a zombie (killed, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process of that number
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def mark_interrupted(sessions) -> list[int]:
    """Mark every 'running' run of this host whose process is gone as 'interrupted', with the
    counts it stored (snapshots, listings it first saw); returns their ids. Runs of other hosts
    are left alone: their processes cannot be seen from here."""
    host = socket.gethostname()
    marked = []
    with session_scope(sessions) as session:
        runs = session.scalars(select(CrawlRun).where(CrawlRun.status == "running", CrawlRun.host == host,
                                                      CrawlRun.pid.is_not(None))).all()
        for run in runs:
            if process_alive(run.pid):
                continue
            in_run = select(ListingSnapshot.listing_id).where(ListingSnapshot.crawl_run_id == run.id)
            snapshots = session.scalar(select(func.count()).select_from(in_run.subquery())) or 0
            listings = session.scalar(select(func.count(func.distinct(ListingSnapshot.listing_id)))
                                      .where(ListingSnapshot.crawl_run_id == run.id)) or 0
            new = session.scalar(select(func.count()).select_from(Listing).where(
                Listing.id.in_(in_run), Listing.first_seen_at >= run.started_at)) or 0
            run.status = "interrupted"
            run.finished_at = utcnow()
            run.snapshots_new = max(run.snapshots_new, snapshots)
            run.listings_new = max(run.listings_new, new)
            run.items_scraped = max(run.items_scraped, listings)
            note = (f"the crawling process (pid {run.pid} on {host}) is gone, killed or crashed before it "
                    f"closed the run; the counts are what it had stored")
            run.error_text = f"{run.error_text}\n{note}" if run.error_text else note
            marked.append(run.id)
    return marked
