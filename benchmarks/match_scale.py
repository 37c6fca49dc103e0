"""Benchmark: `lijian match` when the database already holds many listings.

    python benchmarks/match_scale.py [--listings 100000 1000000] [--new 10000 100000] [--db-dir /tmp]
                                     [--postgresql URL]

For each table size N: a database of N listings, each with one snapshot scored already (about a
third of them in price cohorts of real watchlist brands, some showing CCC numbers), its market
figures built once (the cost of a taxonomy change, printed). Then, for each K in --new, K of
its listings get a new snapshot (another price) and a match run scores them (in-process,
`match_new_snapshots`, the function `lijian match` calls). Printed per run: snapshots/s, and
beside it the baseline in the same process — what the match run did before market figures
were kept: read every listing's newest snapshot to build price cohorts and certificate habits,
on every run. A cost linear in new snapshots, not in the table, shows as the same snapshots/s
at every N, and as the same seconds per new snapshot for every K.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import bindparam, func, insert, select, update  # noqa: E402

from crawler.app.market import refresh  # noqa: E402
from crawler.app.matching import match_new_snapshots  # noqa: E402
from crawler.storage.db import open_database, session_factory  # noqa: E402
from crawler.storage.models import Listing, ListingSnapshot, Seller  # noqa: E402
from matchers import ListingView  # noqa: E402
from matchers.certs import CertificateDisplay  # noqa: E402
from matchers.prices import PriceCohorts  # noqa: E402
from watchlists import load_watchlists  # noqa: E402

WATCHLISTS = load_watchlists()
MARKETS = ("jd", "tmall", "taobao", "pinduoduo", "1688")
BATCH = 20_000


def catalogue(rng: random.Random) -> list[tuple[str, str, str, float]]:
    """(brand, category, title noun, typical price): real brands with one of their category's keywords."""
    out = []
    for brand in WATCHLISTS.brands:
        for slug in brand.categories or ():
            category = WATCHLISTS.categories.get(slug)
            for noun in (category.keywords if category else ())[:3]:
                out.append((brand.name, slug, noun, round(rng.uniform(20, 2000), 2)))
    return out


def title_and_specs(rng: random.Random, kinds, i: int) -> tuple[str, str, str, Decimal, dict]:
    brand, category, noun, typical = kinds[i % len(kinds)]
    if i % 3:  # a listing of no known brand: no cohort
        brand = f"杂牌{i % 997}"
    price = Decimal(str(round(typical * rng.lognormvariate(0, 0.15), 2)))
    specs = {"品牌": brand}
    if i % 2:
        specs["3C证书编号"] = f"20{10 + i % 15:02d}0107{i % 1000000:06d}"[:16].ljust(16, "0")
    return brand, category, f"{brand} {noun} 型号X{i % 5000} 正品包邮", price, specs


def build(url: str, listings: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    kinds = catalogue(rng)
    engine = open_database(url)
    scored = datetime.now(timezone.utc)
    with engine.begin() as connection:
        connection.execute(insert(Seller), [{"id": i + 1, "marketplace": MARKETS[i % 5], "seller_key": f"S{i}",
                                             "name": f"店铺{i}"} for i in range(max(1, listings // 50))])
    for start in range(0, listings, BATCH):
        rows, snaps = [], []
        for i in range(start, min(start + BATCH, listings)):
            brand, category, title, price, specs = title_and_specs(rng, kinds, i)
            digest = f"{i:064d}"
            rows.append({"id": i + 1, "marketplace": MARKETS[i % 5], "listing_key": str(i),
                         "url": f"http://127.0.0.1/item/{i}.html", "category": category,
                         "seller_id": i // 50 + 1, "content_hash": digest})
            snaps.append({"id": i + 1, "listing_id": i + 1, "title": title, "price": price, "currency": "CNY",
                          "seller_name": f"店铺{i // 50}", "brand": brand, "specs": specs, "raw": {},
                          "content_hash": digest, "scored_at": scored})
        with engine.begin() as connection:
            connection.execute(insert(Listing), rows)
            connection.execute(insert(ListingSnapshot), snaps)
    engine.dispose()


def add_new_snapshots(url: str, listings: int, count: int, seed: int) -> None:
    """`count` listings seen again with another price: a new snapshot each, as the store writes it."""
    rng = random.Random(seed)
    kinds = catalogue(random.Random(11))
    engine = open_database(url)
    with engine.begin() as connection:
        next_id = connection.scalar(select(func.max(ListingSnapshot.id))) + 1
    chosen = rng.sample(range(listings), count)
    for start in range(0, count, BATCH):
        snaps, hashes = [], []
        for offset, i in enumerate(chosen[start:start + BATCH]):
            brand, category, title, price, specs = title_and_specs(rng, kinds, i)
            digest = f"{seed:08d}{i:056d}"
            snaps.append({"id": next_id + start + offset, "listing_id": i + 1, "title": title, "price": price,
                          "currency": "CNY", "seller_name": f"店铺{i // 50}", "brand": brand, "specs": specs,
                          "raw": {}, "content_hash": digest})
            hashes.append({"b_id": i + 1, "b_hash": digest})
        with engine.begin() as connection:
            connection.execute(insert(ListingSnapshot), snaps)
            connection.execute(update(Listing).where(Listing.id == bindparam("b_id"))
                               .values(content_hash=bindparam("b_hash")).execution_options(synchronize_session=False),
                               hashes)
    engine.dispose()


def baseline(sessions) -> float:
    """What each match run did before: every listing's newest snapshot, read and built into figures."""
    began = time.perf_counter()
    with sessions() as session:
        rows = session.execute(select(ListingSnapshot, Listing.category, Listing.marketplace).join(Listing)
                               .where(Listing.content_hash == ListingSnapshot.content_hash)).all()
        views = [ListingView(title=s.title, category=c, brand=s.brand, price=s.price, currency=s.currency,
                             specs=s.specs or {}, marketplace=m) for s, c, m in rows]
    PriceCohorts.build([v for v in views if v.price is not None], WATCHLISTS.categories)
    CertificateDisplay.build(views, WATCHLISTS.categories)
    return time.perf_counter() - began


def run(url: str, listings: int, news: list[int]) -> None:
    build(url, listings)
    sessions = session_factory(open_database(url))
    began = time.perf_counter()
    refresh(sessions, WATCHLISTS)
    print(f"N={listings:,}: market figures built from every listing once in {time.perf_counter() - began:.1f} s")
    for seed, count in enumerate(news, start=1):
        add_new_snapshots(url, listings, count, seed)
        began = time.perf_counter()
        summary = match_new_snapshots(sessions, WATCHLISTS)
        took = time.perf_counter() - began
        assert summary.scored == count, summary
        before = baseline(sessions)
        print(f"N={listings:,} K={count:,}: match {took:.1f} s, {count / took:,.0f} snapshots/s "
              f"({took / count * 1e3:.2f} ms each; flagged {summary.flagged:,}); "
              f"baseline: reading every newest snapshot {before:.1f} s per run, "
              f"{before / took:.2f}x this whole run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--new", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--db-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--postgresql", help="a PostgreSQL URL whose database is emptied for each size instead")
    args = parser.parse_args()
    for listings in args.listings:
        if args.postgresql:
            from sqlalchemy import create_engine, text

            engine = create_engine(args.postgresql)
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            engine.dispose()
            url = args.postgresql
        else:
            path = args.db_dir / f"match-bench-{listings}.db"
            path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        run(url, listings, args.new)


if __name__ == "__main__":
    main()
