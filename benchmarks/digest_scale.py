"""Benchmark: the daily digest on a large database.

    python benchmarks/digest_scale.py [--listings 1000000] [--db sqlite:////tmp/digest-bench.db] [--keep] [--runs 3]

Builds (once; --keep reuses it) a database of N listings with one snapshot each, a seller per
50 listings in 31 provinces, and about 38% of listings flagged as suspects with one to three
signals, first flagged over the last 400 days (as the sandbox plants them). Then, in the same
process: the baseline — reading every suspect with its listing and seller into a pandas
DataFrame (the least any export must do) — and `write_digest` with all three formats, each
--runs times, alternating; the best of each is reported. Prints seconds, the ratio to the
baseline, peak memory (the baseline's; the digest's process / its workbook process), and the
sizes of the files.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from crawler.reports.digest import write_digest  # noqa: E402
from crawler.storage.db import open_database, session_factory  # noqa: E402
from crawler.storage.models import Listing, ListingSnapshot, Seller, Suspect, SuspectSignal  # noqa: E402
from watchlists import load_watchlists  # noqa: E402

PROVINCES = ("广东", "浙江", "江苏", "山东", "河北", "河南", "福建", "上海", "北京", "湖北", "湖南", "四川", "安徽",
             "江西", "辽宁", "天津", "重庆", "陕西", "山西", "吉林", "黑龙江", "广西", "云南", "贵州", "甘肃", "内蒙古",
             "新疆", "海南", "宁夏", "青海", "西藏")
CATEGORIES = ("children", "appliance", "fertilizer", "farm_machinery", "steel", "cable", "auto_parts", "fuel")
MARKETS = ("jd", "tmall", "taobao", "pinduoduo", "1688")
SIGNALS = ("brand_lookalike", "risk_term", "cert_missing", "cert_malformed", "cert_status", "price_below_reference",
           "price_outlier", "fake_official_shop")
BATCH = 20_000


def build(url: str, listings: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    engine = open_database(url)
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        sellers = max(1, listings // 50)
        connection.execute(insert(Seller), [
            {"id": i + 1, "marketplace": MARKETS[i % 5], "seller_key": f"S{i}", "name": f"店铺{i}",
             "province": PROVINCES[i % len(PROVINCES)], "city": None, "phone": f"138{i % (sellers // 3 + 1):08d}"}
            for i in range(sellers)])
    suspect_id = signal_id = 0
    for start in range(0, listings, BATCH):
        rows, snaps, suspects, signals = [], [], [], []
        for i in range(start, min(start + BATCH, listings)):
            listing_id = i + 1
            category = CATEGORIES[i % len(CATEGORIES)]
            rows.append({"id": listing_id, "marketplace": MARKETS[i % 5], "listing_key": str(i),
                         "url": f"https://item.example.cn/{i}.html", "category": category,
                         "seller_id": (i // 50) + 1, "first_seen_at": now, "last_seen_at": now})
            snaps.append({"id": listing_id, "listing_id": listing_id, "observed_at": now,
                          "title": f"美旳 电饭煲 {i} <b>正品</b>", "price": 99 + i % 500, "currency": "CNY",
                          "seller_name": f"店铺{i // 50}", "brand": "美旳", "specs": {}, "raw": {},
                          "content_hash": f"{i:064d}", "scored_at": now})
            if rng.random() < 0.38:
                suspect_id += 1
                flagged = now - timedelta(days=rng.randrange(400), hours=rng.randrange(24))
                suspects.append({"id": suspect_id, "listing_id": listing_id, "snapshot_id": listing_id,
                                 "score": round(rng.uniform(0.5, 1.0), 2), "brand": "美旳", "lookalike_of": "美的",
                                 "status": "new", "algorithm": "bench", "watchlist_hash": "bench",
                                 "first_flagged_at": flagged, "last_flagged_at": flagged})
                for name in rng.sample(SIGNALS, rng.randint(1, 3)):
                    signal_id += 1
                    signals.append({"id": signal_id, "suspect_id": suspect_id, "name": name, "weight": 0.5,
                                    "detail": f"{name} 说明", "listing_value": "x", "watchlist_value": "y"})
        with engine.begin() as connection:
            connection.execute(insert(Listing), rows)
            connection.execute(insert(ListingSnapshot), snaps)
            if suspects:
                connection.execute(insert(Suspect), suspects)
                connection.execute(insert(SuspectSignal), signals)
        print(f"  built {min(start + BATCH, listings):,} listings", file=sys.stderr, end="\r")
    print(file=sys.stderr)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--db", default="sqlite:////tmp/lijian-digest-bench.db")
    parser.add_argument("--keep", action="store_true", help="reuse an existing database of the right size")
    parser.add_argument("--runs", type=int, default=3, help="runs of each (the best is reported)")
    args = parser.parse_args()
    engine = open_database(args.db)
    sessions = session_factory(engine)
    with sessions() as session:
        have = session.scalar(select(func.count()).select_from(Listing))
    if have != args.listings or not args.keep:
        if have:
            with engine.begin() as connection:
                for table in ("suspect_signals", "suspect_events", "sampling_orders", "suspects", "digests",
                              "listing_snapshots", "listings", "sellers"):
                    connection.execute(text(f"DELETE FROM {table}"))
        started = time.perf_counter()
        build(args.db, args.listings)
        print(f"built in {time.perf_counter() - started:.0f} s")
        if engine.dialect.name == "postgresql":
            # What autovacuum does within a minute of a bulk load: without statistics, PostgreSQL
            # plans the digest's signal lookups as sequential scans (21 s instead of 3 s here).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
    with sessions() as session:
        suspects = session.scalar(select(func.count()).select_from(Suspect))
    lists = load_watchlists()

    def baseline_read() -> float:
        started = time.perf_counter()
        with engine.connect() as connection:
            frame = pd.read_sql(select(Suspect.id, Suspect.score, ListingSnapshot.title, Listing.url,
                                       Listing.marketplace, Listing.category, Seller.name, Seller.province)
                                .join(Listing, Listing.id == Suspect.listing_id)
                                .join(ListingSnapshot, ListingSnapshot.id == Suspect.snapshot_id)
                                .outerjoin(Seller, Seller.id == Listing.seller_id), connection)
        del frame
        return time.perf_counter() - started

    def digest() -> tuple[float, object]:
        out = Path(tempfile.mkdtemp(prefix="digest-bench-"))
        started = time.perf_counter()
        files = write_digest(sessions, lists, out)
        return time.perf_counter() - started, files

    # Best of `--runs` each, alternating, so a slow moment of the machine does not decide the ratio.
    baselines, digests = [], []
    for _ in range(args.runs):
        baselines.append(baseline_read())
        baseline_peak = peak_mib()
        seconds, files = digest()
        digests.append(seconds)
    baseline, took = min(baselines), min(digests)
    sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 2**20:.1f} MiB" for p in (files.html, files.xlsx, files.csv))
    workbook_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"| {args.listings:,} | {suspects:,} | {baseline:.1f} | {took:.1f} | {took / baseline:.1f}x "
          f"| {baseline_peak:,.0f} | {peak_mib():,.0f} / {workbook_peak:,.0f} | {sizes} |")
    print(f"runs: baseline {', '.join(f'{b:.2f}' for b in baselines)} s; "
          f"digest {', '.join(f'{d:.1f}' for d in digests)} s")


if __name__ == "__main__":
    main()
