"""Sampling orders: the prioritised list of test purchases, and their results.

`lijian sampling orders` takes the suspects worth a purchase — confirmed ones first, then new
ones — highest score first, within an area or region if asked, writes the purchase list
(listing URL, seller and its location, price, quantity, what to test against which standard,
why it was chosen) as XLSX and CSV, records a `SamplingOrder` per suspect and marks it
`sampling_ordered`, all in one transaction. Running it again orders the next ones: a suspect
already ordered is not ordered twice. `lijian sampling result ID pass|fail` records the lab's
result: a failed sample confirms the case, a passed one closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import case, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from crawler.app.triage import set_status
from crawler.clock import BEIJING
from crawler.errors import UserError
from crawler.files import write_atomic
from crawler.reports.digest_data import web_url
from crawler.storage.db import session_scope
from crawler.storage.models import Listing, SamplingOrder, Seller, Suspect, utcnow
from watchlists import Watchlists
from watchlists.tables import spreadsheet_safe

COLUMNS = ("order", "suspect", "score", "url", "title", "marketplace", "area", "seller", "location", "price",
           "quantity", "tests", "reason")
HEADERS = {"order": "抽检单号", "suspect": "编号", "score": "风险分", "url": "链接", "title": "商品标题", "marketplace": "平台",
           "area": "类别", "seller": "店铺", "location": "所在地", "price": "价格", "quantity": "购买数量",
           "tests": "检验项目及依据标准", "reason": "抽检理由"}


class SamplingError(UserError, ValueError):
    """A sampling request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class OrderBatch:
    batch: str
    orders: int
    xlsx: Path | None
    csv: Path | None


def place_orders(session: Session, lists: Watchlists, out_dir: Path, by: str, area: str | None = None,
                 region: str | None = None, limit: int = 20, quantity: int = 1,
                 suspect_ids: list[int] | None = None) -> OrderBatch:
    """Order the next `limit` purchases (only among `suspect_ids` when given), write the list as
    XLSX and CSV, mark those suspects sampling_ordered; nothing for a suspect ordered already."""
    if area and area not in lists.categories:
        raise SamplingError(f"unknown area {area!r}; known: {', '.join(lists.categories)}")
    priority = case((Suspect.status == "confirmed", 0), else_=1)
    query = (select(Suspect).join(Listing, Listing.id == Suspect.listing_id)
             .outerjoin(Seller, Seller.id == Listing.seller_id)
             .where(Suspect.status.in_(("confirmed", "new")),
                    ~select(SamplingOrder.id).where(SamplingOrder.suspect_id == Suspect.id).exists())
             .options(selectinload(Suspect.signals), selectinload(Suspect.snapshot),
                      selectinload(Suspect.listing).selectinload(Listing.seller))
             .order_by(priority, Suspect.score.desc(), Suspect.id).limit(limit))
    if area:
        query = query.where(Listing.category == area)
    if region:
        query = query.where((Seller.province == region) | (Seller.city == region))
    if suspect_ids is not None:
        query = query.where(Suspect.id.in_(suspect_ids))
    suspects = session.scalars(query).all()
    now = datetime.now(BEIJING)
    batch = now.strftime("S%Y%m%d-%H%M%S-") + f"{now.microsecond // 1000:03d}"  # two batches a second: two files
    rows = []
    for suspect in suspects:
        listing, snapshot, seller = suspect.listing, suspect.snapshot, suspect.listing.seller
        category = lists.categories.get(listing.category or "")
        tests = (category.sampling_tests if category and category.sampling_tests else "对照产品明示标准与标签标识")
        reason = "；".join(signal.detail for signal in suspect.signals)
        order = SamplingOrder(suspect_id=suspect.id, batch=batch, ordered_at=utcnow(), ordered_by=by[:64],
                              quantity=quantity, tests=tests, reason=reason)
        session.add(order)
        session.flush()
        set_status(session, suspect, "sampling_ordered", by, note=f"抽检单 {order.id}（批次 {batch}）", source="sampling")
        rows.append({"order": order.id, "suspect": suspect.id, "score": round(suspect.score, 2),
                     "url": web_url(listing.url), "title": snapshot.title, "marketplace": listing.marketplace,
                     "area": category.zh if category else (listing.category or ""),
                     "seller": (seller.name if seller else snapshot.seller_name) or "",
                     "location": " ".join(x for x in ((seller.province, seller.city) if seller else ()) if x),
                     "price": f"{snapshot.price} {snapshot.currency or ''}".strip() if snapshot.price is not None else "",
                     "quantity": quantity, "tests": tests, "reason": reason})
    if not rows:
        return OrderBatch(batch, 0, None, None)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"sampling-orders-{batch}"
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).rename(columns=HEADERS)
    xlsx, csv = stem.with_suffix(".xlsx"), stem.with_suffix(".csv")
    write_atomic(xlsx, _workbook(frame))
    write_atomic(csv, frame.map(spreadsheet_safe).to_csv(index=False).encode("utf-8-sig"))
    return OrderBatch(batch, len(rows), xlsx, csv)


def _workbook(frame: pd.DataFrame) -> bytes:
    from crawler.reports.workbooks import add_sheet, new_workbook, to_bytes

    book = new_workbook()
    add_sheet(book, "抽检订单", list(frame.columns), frame.itertuples(index=False), {5: 50, 12: 60, 13: 60})
    return to_bytes(book)


def record_result(session: Session, order_id: int, result: str, by: str, note: str | None = None) -> SamplingOrder:
    if result not in ("pass", "fail"):
        raise SamplingError(f"result must be pass or fail, not {result!r}")
    order = session.get(SamplingOrder, order_id)
    if order is None:
        raise SamplingError(f"no sampling order {order_id}")
    if order.result == result:
        return order  # recorded already: nothing changes
    order.result, order.result_at, order.result_by, order.result_note = result, utcnow(), by[:64], note
    suspect = session.get(Suspect, order.suspect_id)
    verdict = "confirmed" if result == "fail" else "closed"
    label = "不合格" if result == "fail" else "合格"
    set_status(session, suspect, verdict, by, note=f"抽检单 {order.id} 检验{label}" + (f"：{note}" if note else ""),
               source="sampling")
    return order


def order(sessions: sessionmaker[Session], lists: Watchlists, out_dir: Path, by: str, **scope) -> OrderBatch:
    """Place the next batch of orders in one transaction (see place_orders for `scope`)."""
    with session_scope(sessions) as session:
        return place_orders(session, lists, out_dir, by, **scope)


def record(sessions: sessionmaker[Session], order_id: int, result: str, by: str, note: str | None = None) -> int:
    """Record a lab result in one transaction; the id of the suspect it decided."""
    with session_scope(sessions) as session:
        return record_result(session, order_id, result, by, note).suspect_id


@dataclass(frozen=True)
class OrderLine:
    order: SamplingOrder  # detached
    title: str
    marketplace: str
    url: str


def recent_orders(sessions: sessionmaker[Session], limit: int = 200) -> list[OrderLine]:
    """Sampling orders, newest first, with the listing each one buys."""
    from crawler.storage.models import ListingSnapshot

    query = (select(SamplingOrder, ListingSnapshot.title, Listing.marketplace, Listing.url)
             .join(Suspect, Suspect.id == SamplingOrder.suspect_id)
             .join(Listing, Listing.id == Suspect.listing_id)
             .join(ListingSnapshot, ListingSnapshot.id == Suspect.snapshot_id)
             .order_by(SamplingOrder.id.desc()).limit(limit))
    with sessions() as session:
        lines = [OrderLine(*row) for row in session.execute(query).all()]
        session.expunge_all()
    return lines
