"""Product identity in a shop crawled without a profile: a listing is its page, never a code
read from it, so two products sharing a model number stay two listings, each SKU comes from a
labelled field (here the UPC row of the product table), and a flag on one is not cleared by the
other's snapshot."""

from __future__ import annotations

import json

from sqlalchemy import select

from crawler.storage.db import open_database, session_factory
from crawler.storage.models import Listing, ListingSnapshot, Suspect
from tests.conftest import HTML, loopback_site, run_lijian


def product(title: str, upc: str | None, price: str) -> bytes:
    data = json.dumps({"@context": "https://schema.org", "@type": "Product", "name": title,
                       "offers": {"@type": "Offer", "price": price, "priceCurrency": "CNY",
                                  "availability": "https://schema.org/InStock"}}, ensure_ascii=False)
    return (f"<html><head><meta charset='utf-8'><title>{title}</title>"
            f"<script type='application/ld+json'>{data}</script></head><body><h1>{title}</h1>"
            + (f"<table class='table'><tr><th>UPC</th><td>{upc}</td></tr></table>" if upc else "")
            + f"<p>¥{price}</p><form method='post' action='/basket/add/'><button>Add to basket</button></form>"
            f"</body></html>").encode("utf-8")


PAGES = {
    "/catalogue/midea-mb-fb40-60337_11/": product("美的 电饭煲 MB-FB40 60337 家用智能", "6901234567892", "299.00"),
    "/catalogue/meide-mb-fb40-60337_12/": product("美旳 电饭煲 MB-FB40 60337 家用智能", "6909876543210", "89.00"),
    "/catalogue/meide-mb-fb40-60337_12/?utm_source=x&ref=home": None,  # the same page, tracked: one listing
    # No labelled code: the model number 60337 in both URLs and titles must not make them one.
    "/catalogue/train-set-60337_21/": product("城市 高速列车 60337 积木", None, "199.00"),
    "/catalogue/train-track-60337_22/": product("城市 轨道套装 60337 积木", None, "99.00"),
}


def respond(path, headers, base):
    body = PAGES.get(path.split("?")[0])
    return (200 if body else 404), body or b"", HTML


def test_two_products_sharing_a_model_number_stay_two_listings(db_url):
    with loopback_site(respond) as base:
        done = run_lijian("crawl-shop", *(base + path for path in PAGES), "--depth", "0", "--generic",
                          "--db", db_url)
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
        matched = run_lijian("match", "--db", db_url)
        assert matched.returncode == 0, matched.stderr[-2000:]
    sessions = session_factory(open_database(db_url))
    with sessions() as session:
        listings = {listing.listing_key: listing for listing in session.scalars(select(Listing))}
        assert set(listings) == {"/catalogue/midea-mb-fb40-60337_11/", "/catalogue/meide-mb-fb40-60337_12/",
                                 "/catalogue/train-set-60337_21/", "/catalogue/train-track-60337_22/"}
        skus = {listing.listing_key: snap.raw.get("sku") for listing in listings.values()
                for snap in session.scalars(select(ListingSnapshot).where(ListingSnapshot.listing_id == listing.id))}
        # the labelled UPC, not the 60337 of the URL and title
        assert skus["/catalogue/midea-mb-fb40-60337_11/"] == "6901234567892"
        assert skus["/catalogue/meide-mb-fb40-60337_12/"] == "6909876543210"
        flagged = {session.get(Listing, s.listing_id).listing_key for s in session.scalars(select(Suspect))}
    # The imitation (美旳 for 美的) is flagged, and stays so whatever the genuine page scores.
    assert flagged == {"/catalogue/meide-mb-fb40-60337_12/"}
