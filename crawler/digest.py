"""The suspect-listing digest: one HTML page and one CSV for analysts, Chinese labels.

All listing text is attacker-controlled. The HTML is rendered with autoescaping on; the CSV
neutralises cells that a spreadsheet would run as a formula (=, +, -, @ at the start: OWASP's
CSV-injection advice), so opening it in Excel or WPS is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from crawler.storage.db import session_scope
from crawler.storage.models import Listing, Suspect
from matchers.scoring import SIGNAL_LABELS
from watchlists import Watchlists

REPORT_TZ = ZoneInfo("Asia/Shanghai")
COLUMNS = {
    "id": "编号", "score": "风险分", "title": "商品标题", "url": "链接", "marketplace": "平台",
    "category": "类别", "seller": "店铺", "location": "所在地", "price": "价格", "brand": "品牌",
    "lookalike_of": "疑似仿冒", "reasons": "可疑原因", "first_flagged": "首次发现", "status": "状态",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class DigestFiles:
    html: Path
    csv: Path
    rows: int


def _rows(session: Session, categories: dict[str, str]) -> list[dict]:
    suspects = session.execute(
        select(Suspect).options(
            selectinload(Suspect.signals), selectinload(Suspect.snapshot),
            selectinload(Suspect.listing).selectinload(Listing.seller),
        ).order_by(Suspect.score.desc(), Suspect.id)
    ).scalars().all()
    rows = []
    for s in suspects:
        seller = s.listing.seller
        snap = s.snapshot
        reasons = [f"{SIGNAL_LABELS.get(sig.name, (sig.name,))[0]}：{sig.detail}" for sig in s.signals]
        rows.append({
            "id": s.id, "score": round(s.score, 2), "title": snap.title, "url": web_url(s.listing.url),
            "marketplace": s.listing.marketplace, "category": categories.get(s.listing.category or "", s.listing.category or ""),
            "seller": (seller.name if seller else snap.seller_name) or "",
            "location": " ".join(x for x in (seller.province, seller.city) if x) if seller else "",
            "price": f"{snap.price} {snap.currency or ''}".strip() if snap.price is not None else "",
            "brand": s.brand or snap.brand or "", "lookalike_of": s.lookalike_of or "",
            "reasons": "；".join(reasons),
            "reason_list": reasons,
            "signals": [SIGNAL_LABELS.get(sig.name, (sig.name,))[0] for sig in s.signals],
            "first_flagged": s.first_flagged_at.astimezone(REPORT_TZ).strftime("%Y-%m-%d %H:%M"),
            "status": s.status,
        })
    return rows


def web_url(url: str) -> str:
    """The URL if it is http(s); anything else (javascript:, data:) is not linked."""
    return url if url.lower().startswith(("http://", "https://")) else ""


def spreadsheet_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_digest(sessions: sessionmaker[Session], watchlists: Watchlists, out_dir: Path,
                 day: date | None = None) -> DigestFiles:
    day = day or datetime.now(REPORT_TZ).date()
    categories = {slug: c.zh for slug, c in watchlists.categories.items()}
    with session_scope(sessions) as session:
        rows = _rows(session, categories)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out_dir / f"digest-{day.isoformat()}.html", out_dir / f"digest-{day.isoformat()}.csv"

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    by_signal = pd.Series([name for r in rows for name in r["signals"]], dtype="object").value_counts()
    by_category = frame["category"].value_counts() if rows else pd.Series(dtype="int64")

    env = Environment(loader=PackageLoader("crawler", "templates"), autoescape=select_autoescape(["html"]))
    html = env.get_template("digest.html").render(
        day=day.isoformat(), rows=rows, columns=COLUMNS, by_signal=by_signal.items(),
        by_category=by_category.items(), generated=datetime.now(REPORT_TZ).strftime("%Y-%m-%d %H:%M"),
        watchlist_hash=watchlists.content_hash,
    )
    _atomic_write(html_path, html.encode("utf-8"))
    safe = frame.map(spreadsheet_safe).rename(columns=COLUMNS)
    # utf-8-sig: Excel and WPS read a CSV as UTF-8 only with the byte-order mark.
    _atomic_write(csv_path, safe.to_csv(index=False).encode("utf-8-sig"))
    return DigestFiles(html_path, csv_path, len(rows))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
