"""The periodic report regulators send upward: a week, month or quarter against the previous
period and the same period last year (the work plan asks for year-on-year growth in cases).

Figures per period: listings checked (read by crawls), suspects found, cases confirmed
(suspects moved to confirmed, by analysts or by a failed sample), test purchases ordered and
failed; by product area and by seller province; and the typical cases of the period.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from crawler.clock import BEIJING
from crawler.reports.charts import report_charts
from crawler.reports.digest_data import web_url
from crawler.storage.models import (
    CrawlRun,
    Listing,
    SamplingOrder,
    Suspect,
    SuspectEvent,
)
from watchlists import Watchlists

PERIODS = ("week", "month", "quarter")
PERIOD_ZH = {"week": "周", "month": "月", "quarter": "季度"}


@dataclass(frozen=True)
class Span:
    start: date
    end: date  # exclusive

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} 至 {(self.end - timedelta(days=1)).isoformat()}"

    def bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time(), BEIJING), datetime.combine(self.end, time(), BEIJING))


def span_of(period: str, day: date) -> Span:
    """The period containing `day`."""
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return Span(start, start + timedelta(days=7))
    if period == "month":
        start = day.replace(day=1)
        return Span(start, (start + timedelta(days=32)).replace(day=1))
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = day.replace(month=first_month, day=1)
    end_month = first_month + 3
    end = start.replace(year=start.year + 1, month=1) if end_month > 12 else start.replace(month=end_month)
    return Span(start, end)


def previous_span(period: str, span: Span) -> Span:
    return span_of(period, span.start - timedelta(days=1))


def last_year_span(period: str, span: Span) -> Span:
    if period == "week":  # the same weekdays 52 weeks earlier
        return Span(span.start - timedelta(weeks=52), span.end - timedelta(weeks=52))
    return span_of(period, span.start.replace(year=span.start.year - 1))


def figures(session: Session, span: Span, categories: dict[str, str]) -> dict:
    start, end = span.bounds()
    checked = session.scalar(select(func.coalesce(func.sum(CrawlRun.items_scraped), 0))
                             .where(CrawlRun.started_at >= start, CrawlRun.started_at < end)) or 0
    found = session.scalars(select(Suspect).options(selectinload(Suspect.listing).selectinload(Listing.seller))
                            .where(Suspect.first_flagged_at >= start, Suspect.first_flagged_at < end)).all()
    confirmed_ids = set(session.scalars(select(SuspectEvent.suspect_id).where(
        SuspectEvent.to_status == "confirmed", SuspectEvent.at >= start, SuspectEvent.at < end)))
    ordered = session.scalar(select(func.count()).select_from(SamplingOrder).where(
        SamplingOrder.ordered_at >= start, SamplingOrder.ordered_at < end)) or 0
    failed = session.scalar(select(func.count()).select_from(SamplingOrder).where(
        SamplingOrder.result == "fail", SamplingOrder.result_at >= start, SamplingOrder.result_at < end)) or 0
    by_area = Counter(categories.get(s.listing.category or "", s.listing.category or "其他") for s in found)
    by_region = Counter((s.listing.seller.province if s.listing.seller else None) or "未知" for s in found)
    return {"checked": int(checked), "suspects": len(found), "confirmed": len(confirmed_ids), "ordered": ordered,
            "failed": failed, "by_area": by_area, "by_region": by_region, "confirmed_ids": confirmed_ids}


def change(now: int, before: int) -> str:
    if before == 0:
        return "—" if now == 0 else "新增"
    return f"{(now - before) / before:+.0%}"


def write_report(sessions, watchlists: Watchlists, out_dir: Path, period: str, day: date | None = None) -> dict:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    today = datetime.now(BEIJING).date()
    # Default: the last complete period (a report is written after its period ends).
    span = span_of(period, day) if day else previous_span(period, span_of(period, today))
    spans = {"now": span, "previous": previous_span(period, span), "last_year": last_year_span(period, span)}
    categories = {slug: c.zh for slug, c in watchlists.categories.items()}
    with sessions() as session:
        data = {key: figures(session, value, categories) for key, value in spans.items()}
        typical_ids = list(data["now"]["confirmed_ids"])
        query = select(Suspect).options(selectinload(Suspect.signals), selectinload(Suspect.snapshot),
                                        selectinload(Suspect.listing).selectinload(Listing.seller))
        start, end = span.bounds()
        cases = session.scalars(query.where(Suspect.id.in_(typical_ids)).order_by(Suspect.score.desc()).limit(10)
                                ).all() if typical_ids else session.scalars(
            query.where(Suspect.first_flagged_at >= start, Suspect.first_flagged_at < end)
            .order_by(Suspect.score.desc()).limit(10)).all()
        typical = [{"id": s.id, "score": round(s.score, 2), "title": s.snapshot.title, "url": web_url(s.listing.url),
                    "marketplace": s.listing.marketplace,
                    "area": categories.get(s.listing.category or "", s.listing.category or ""),
                    "seller": (s.listing.seller.name if s.listing.seller else s.snapshot.seller_name) or "",
                    "location": " ".join(x for x in ((s.listing.seller.province, s.listing.seller.city)
                                                    if s.listing.seller else ()) if x),
                    "status": s.status, "reasons": [sig.detail for sig in s.signals]} for s in cases]
    metrics = [("checked", "检查商品（次）"), ("suspects", "发现可疑商品"), ("confirmed", "确认案件"),
               ("ordered", "下单抽检"), ("failed", "抽检不合格")]
    table = [(label, data["now"][key], data["previous"][key], change(data["now"][key], data["previous"][key]),
              data["last_year"][key], change(data["now"][key], data["last_year"][key])) for key, label in metrics]
    areas = sorted(set(data["now"]["by_area"]) | set(data["previous"]["by_area"]) | set(data["last_year"]["by_area"]))
    regions = sorted(set(data["now"]["by_region"]) | set(data["last_year"]["by_region"]),
                     key=lambda r: -data["now"]["by_region"].get(r, 0))
    by_area = [(a, data["now"]["by_area"].get(a, 0), data["previous"]["by_area"].get(a, 0),
                data["last_year"]["by_area"].get(a, 0)) for a in areas]
    by_region = [(r, data["now"]["by_region"].get(r, 0), data["last_year"]["by_region"].get(r, 0)) for r in regions]
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"report-{period}-{span.start.isoformat()}"
    env = Environment(loader=PackageLoader("crawler", "templates"), autoescape=select_autoescape(["html"]))
    labels = {k: v.label for k, v in spans.items()}
    html = env.get_template("report.html").render(
        period=PERIOD_ZH[period], spans=labels, table=table, by_area=by_area,
        charts=report_charts(labels, table, by_area),
        by_region=by_region, typical=typical, generated=datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M"))
    html_path, xlsx_path = stem.with_suffix(".html"), stem.with_suffix(".xlsx")
    html_path.write_text(html, encoding="utf-8")
    xlsx_path.write_bytes(_workbook(spans, table, by_area, by_region, typical))
    return {"html": html_path, "xlsx": xlsx_path, "span": span, "table": table}


def _workbook(spans, table, by_area, by_region, typical) -> bytes:
    from crawler.reports.workbooks import add_sheet, new_workbook, to_bytes

    book = new_workbook()
    add_sheet(book, "总体", ["指标", f"本期 {spans['now'].label}", f"上期 {spans['previous'].label}", "环比",
                           f"去年同期 {spans['last_year'].label}", "同比"], table, {1: 18})
    add_sheet(book, "按类别", ["类别", "本期", "上期", "去年同期"], by_area)
    add_sheet(book, "按地区", ["省份", "本期", "去年同期"], by_region)
    add_sheet(book, "典型案例", ["编号", "风险分", "商品标题", "链接", "平台", "类别", "店铺", "所在地", "状态", "可疑原因"],
              [[c["id"], c["score"], c["title"], c["url"], c["marketplace"], c["area"], c["seller"], c["location"],
                c["status"], "；".join(c["reasons"])] for c in typical], {3: 50, 10: 60})
    return to_bytes(book)
