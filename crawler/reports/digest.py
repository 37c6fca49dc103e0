"""The daily digest: what analysts read each morning, as HTML, XLSX and CSV (Chinese by default).

Sections: suspects new since the previous digest, then those still open; breakdowns by
product area, marketplace, seller province and city (regional rectification), imitated
brand and signal; top sellers and seller networks; trend charts (suspects per day by area;
this week against the previous week and the same week last year) embedded as images.

All listing text is attacker-controlled. The HTML is rendered with autoescaping on and is one
self-contained file (charts as data: URIs, no scripts, print styles). In the XLSX every text
cell is stored as text (a title starting with "=" is never a formula); in the CSV such cells
are neutralised with a leading apostrophe (OWASP's CSV-injection advice). The XLSX has one
sheet per section, frozen headers, and a 状态 column with the triage choices for
`lijian triage import`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.app.triage import OPEN_STATUSES, STATUS_EN, STATUS_ZH
from crawler.clock import BEIJING, beijing
from crawler.files import write_atomic
from crawler.reports.charts import digest_charts
from crawler.storage.db import session_scope
from crawler.storage.models import (
    Campaign,
    CrawlRun,
    Digest,
    Listing,
    ListingSnapshot,
    Seller,
    Suspect,
    SuspectSignal,
)
from matchers.base import SIGNAL_LABELS
from watchlists import Watchlists
from watchlists.tables import spreadsheet_safe

FORMATS = ("html", "xlsx", "csv")
HTML_ROWS = 500  # per section: the HTML is for reading; the XLSX and CSV hold every row
# Context signals are listed after the decisive ones with this mark (they did not flag the listing).
CONTEXT_MARK = {"zh": "（参考）", "en": "(context) "}

COLUMNS = {
    "id": ("编号", "id"), "score": ("风险分", "score"), "title": ("商品标题", "title"), "url": ("链接", "link"),
    "marketplace": ("平台", "marketplace"), "category": ("类别", "area"), "seller": ("店铺", "seller"),
    "location": ("所在地", "location"), "price": ("价格", "price"), "reference": ("参考价", "reference price"),
    "certificate": ("证书情况", "certificate"), "brand": ("品牌", "brand"), "lookalike_of": ("疑似仿冒", "imitates"),
    "reasons": ("可疑原因", "reasons"), "first_flagged": ("首次发现", "first flagged"),
    "evidence": ("证据", "evidence"), "status": ("状态", "status"), "note": ("备注", "note"),
    "console": ("审核台", "console"),
}
TEXT = {
    "title": ("利剑监测 · 可疑商品日报", "Lijian Monitor · daily suspect digest"),
    "new": ("新增可疑商品（自上次日报以来）", "New since the previous digest"),
    "open": ("仍待处理的可疑商品", "Still open"),
    "by_area": ("按类别", "By product area"), "by_marketplace": ("按平台", "By marketplace"),
    "by_region": ("按地区（省、市）", "By region (province, city)"), "by_brand": ("按被仿冒品牌", "By imitated brand"),
    "by_signal": ("按可疑原因", "By signal"), "top_sellers": ("重点店铺", "Top sellers"),
    "networks": ("关联店铺（同一联系电话）", "Seller networks (same phone)"),
    "trend": ("趋势", "Trends"), "count": ("件数", "count"), "none": ("无", "none"),
    "date": ("日期", "date"), "generated": ("生成时间（北京时间）", "generated (Beijing time)"),
    "total": ("可疑商品", "suspects"), "watchlist": ("监测名单版本", "watchlist version"),
    "campaign": ("监测任务", "campaign"), "all": ("全部", "all"),
    "per_day": ("每日新增可疑商品（按类别，近30天）", "New suspects per day by area (30 days)"),
    "periods": ("本周、上周与去年同期", "This week, last week, same week last year"),
    "about": ("说明", "About"),
    "summary": ("概况", "Summary"), "max_score": ("最高风险分", "highest score"), "phone": ("电话", "phone"),
    "shops": ("店铺数", "shops"), "name": ("名称", "name"), "suspects": ("可疑商品", "suspects"),
    "where": ("平台 · 类别", "marketplace · area"), "seller_where": ("店铺 · 所在地", "seller · location"),
    "price_ref": ("价格 / 参考价", "price / reference"), "open_console": ("在审核台中打开", "open in the console"),
    "no_suspects": ("今日无可疑商品。", "No suspects today."),
    "more": ("仅显示风险分最高的 {shown} 件，共 {total} 件；全部见 XLSX / CSV。",
             "Showing the {shown} highest-scoring of {total}; all are in the XLSX / CSV."),
    "about_text": ("状态列可改为：新发现、已确认、误报、已下单抽检、已结案；保存后用 lijian triage import 导入。",
                   "Edit the status column (new, confirmed, false positive, sampling ordered, closed), save, "
                   "and import with lijian triage import."),
}


def t(key: str, lang: str) -> str:
    zh, en = TEXT[key]
    return zh if lang == "zh" else en


def col(key: str, lang: str) -> str:
    zh, en = COLUMNS[key]
    return zh if lang == "zh" else en


@dataclass(frozen=True)
class DigestFiles:
    html: Path | None
    xlsx: Path | None
    csv: Path | None
    rows: int
    new_rows: int


def web_url(url: str) -> str:
    """The URL if it is http(s); anything else (javascript:, data:) is not linked."""
    return url if url.lower().startswith(("http://", "https://")) else ""




def _local(moment: datetime) -> datetime:
    return beijing(moment)


def _campaign_listing_ids(session: Session, campaign: str) -> set[int]:
    row = session.scalar(select(Campaign).where(Campaign.name == campaign))
    if row is None:
        raise ValueError(f"no campaign {campaign!r}")
    run_ids = select(CrawlRun.id).where(CrawlRun.campaign_id == row.id)
    return set(session.scalars(select(ListingSnapshot.listing_id).where(ListingSnapshot.crawl_run_id.in_(run_ids))))


def suspect_rows(session: Session, categories: dict[str, str], lang: str = "zh",
                 campaign: str | None = None, console_url: str | None = None) -> list[dict]:
    """Every suspect, highest score first, as plain values (text is escaped later, by the renderer).

    Two Core queries (suspects with their listing, snapshot and seller; then all signals in
    suspect order), not ORM objects: a million-listing database has hundreds of thousands of
    suspects, and plain tuples take a fraction of the memory."""
    query = (select(Suspect.id, Suspect.score, Suspect.status, Suspect.note, Suspect.brand, Suspect.lookalike_of,
                    Suspect.first_flagged_at, Listing.url, Listing.marketplace, Listing.category,
                    ListingSnapshot.title, ListingSnapshot.price, ListingSnapshot.currency,
                    ListingSnapshot.seller_name, ListingSnapshot.brand.label("shown_brand"),
                    Seller.name.label("seller"), Seller.province, Seller.city, Seller.phone)
             .join(Listing, Listing.id == Suspect.listing_id)
             .join(ListingSnapshot, ListingSnapshot.id == Suspect.snapshot_id)
             .outerjoin(Seller, Seller.id == Listing.seller_id)
             .order_by(Suspect.score.desc(), Suspect.id))
    if campaign:
        query = query.where(Suspect.listing_id.in_(_campaign_listing_ids(session, campaign)))
    signals: dict[int, list[tuple[str, str, str | None, str]]] = defaultdict(list)
    for suspect_id, name, detail, watchlist_value, role in session.execute(
            select(SuspectSignal.suspect_id, SuspectSignal.name, SuspectSignal.detail, SuspectSignal.watchlist_value,
                   SuspectSignal.role)
            .order_by(SuspectSignal.suspect_id, SuspectSignal.id)):
        signals[suspect_id].append((name, detail, watchlist_value, role))
    labels = STATUS_ZH if lang == "zh" else STATUS_EN
    signal_labels = {name: label for name, (label, *_rest) in SIGNAL_LABELS.items()}
    rows = []
    for r in session.execute(query):
        found = signals.get(r.id, ())
        # Decisive reasons first; context ones are marked as such (参考, for reference only).
        reasons = ([f"{signal_labels.get(name, name)}：{detail}" for name, detail, _, role in found if role != "context"]
                   + [f"{CONTEXT_MARK[lang]}{signal_labels.get(name, name)}：{detail}"
                      for name, detail, _, role in found if role == "context"])
        price_reference = next((value for name, _, value, _ in found if name.startswith("price")), None)
        flagged = _local(r.first_flagged_at)
        rows.append({
            "id": r.id, "score": round(r.score, 2), "title": r.title, "url": web_url(r.url),
            "marketplace": r.marketplace, "category": categories.get(r.category or "", r.category or ""),
            "category_slug": r.category or "", "seller": (r.seller or r.seller_name) or "",
            "province": r.province or "", "city": r.city or "",
            "location": " ".join(x for x in (r.province, r.city) if x), "phone": r.phone or "",
            "price": f"{r.price} {r.currency or ''}".strip() if r.price is not None else "",
            "price_value": r.price, "currency": r.currency or "",
            "reference": price_reference or "",
            "certificate": "；".join(detail for name, detail, _, _ in found if name.startswith("cert")),
            "brand": r.brand or r.shown_brand or "", "lookalike_of": r.lookalike_of or "",
            "reasons": "；".join(reasons), "reason_list": reasons,
            "signals": [signal_labels.get(name, name) for name, _, _, role in found if role != "context"],
            "first_flagged_at": flagged, "first_flagged": flagged.strftime("%Y-%m-%d %H:%M"),
            "evidence": "", "evidence_href": "",  # filled by link_evidence from the captures
            "status_code": r.status, "status": labels.get(r.status, r.status), "note": r.note or "",
            "console": f"{console_url}/suspects/{r.id}" if console_url else "",
        })
    return rows


def _count(rows: list[dict], key, lang: str, limit: int | None = None) -> list[tuple[str, int]]:
    counter = Counter()
    for row in rows:
        values = key(row)
        for value in values if isinstance(values, list) else [values]:
            counter[value or t("none", lang)] += 1
    return counter.most_common(limit)


def breakdowns(rows: list[dict], lang: str) -> dict[str, list[tuple]]:
    sellers: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        sellers[f"{row['seller']}（{row['marketplace']}）"].append(row["score"])
    top = sorted(((name, len(scores), round(max(scores), 2)) for name, scores in sellers.items()),
                 key=lambda item: (-item[1], -item[2]))[:20]
    phones: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["phone"]:
            phones[row["phone"]].add(f"{row['seller']}（{row['marketplace']}）")
    networks = sorted(((phone, len(shops), "、".join(sorted(shops))) for phone, shops in phones.items()
                       if len(shops) > 1), key=lambda item: -item[1])
    return {
        "by_area": _count(rows, lambda r: r["category"], lang),
        "by_marketplace": _count(rows, lambda r: r["marketplace"], lang),
        "by_region": _count(rows, lambda r: " ".join(x for x in (r["province"], r["city"]) if x), lang),
        "by_brand": _count(rows, lambda r: r["lookalike_of"] or r["brand"], lang, 30),
        "by_signal": _count(rows, lambda r: r["signals"], lang),
        "top_sellers": top,
        "networks": networks,
    }


def _week_bounds(day: date, weeks_back: int = 0, years_back: int = 0) -> tuple[date, date]:
    """Monday-to-Monday of `day`'s week, `weeks_back` weeks or `years_back` years (52 weeks,
    so the same weekdays) earlier."""
    start = day - timedelta(days=day.weekday()) - timedelta(weeks=weeks_back + 52 * years_back)
    return start, start + timedelta(days=7)


def trends(rows: list[dict], day: date) -> dict[str, object]:
    """Suspects per day by area (30 days to `day`), and week counts for comparison."""
    first = day - timedelta(days=29)
    per_day: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        flagged = row["first_flagged_at"].date()
        if first <= flagged <= day:
            per_day[row["category"]][flagged] += 1
    periods = {}
    for key, (weeks_back, years_back) in (("this_week", (0, 0)), ("last_week", (1, 0)), ("last_year", (0, 1))):
        start, end = _week_bounds(day, weeks_back, years_back)
        periods[key] = sum(1 for row in rows if start <= row["first_flagged_at"].date() < end)
    return {"days": [first + timedelta(days=i) for i in range(30)], "per_day": per_day, "periods": periods}


TABLE_KEYS = ("id", "score", "title", "url", "marketplace", "category", "seller", "location", "price", "reference",
              "certificate", "brand", "lookalike_of", "reasons", "first_flagged", "evidence", "status", "note",
              "console")
# In the workbook: typed values instead of their text (a number, an Excel date), and links.
TYPED = {"price": "price_value", "first_flagged": "first_flagged_at"}
LINKED = ("url", "console", "evidence_href")
WIDTHS = {"id": 7, "score": 7, "title": 50, "url": 28, "marketplace": 12, "category": 10, "seller": 22, "location": 14,
          "price": 10, "reference": 12, "certificate": 24, "brand": 12, "lookalike_of": 12, "reasons": 60,
          "first_flagged": 16, "evidence": 24, "status": 12, "note": 30, "console": 30}


def link_evidence(session: Session, rows: list[dict], evidence_root: Path, out_dir: Path, lang: str) -> int:
    """Fill each row's evidence: its latest capture (number and Beijing time) and a link to the
    capture's screenshot in the evidence store, as an absolute file URL (it still opens when the
    digest is copied elsewhere on the same machine, and after the demo's sandbox is gone)."""
    from crawler.evidence.store import EvidenceStore
    from crawler.storage.models import EvidenceCapture

    store = EvidenceStore(evidence_root)
    latest = {}
    for capture_id, suspect_id, captured_at, files in session.execute(
            select(EvidenceCapture.id, EvidenceCapture.suspect_id, EvidenceCapture.captured_at, EvidenceCapture.files)
            .where(EvidenceCapture.status == "ok", EvidenceCapture.suspect_id.is_not(None))
            .order_by(EvidenceCapture.captured_at, EvidenceCapture.id)):
        latest[suspect_id] = (capture_id, captured_at, files)
    linked = 0
    for row in rows:
        found = latest.get(row["id"])
        if not found:
            continue
        capture_id, captured_at, files = found
        label = "取证" if lang == "zh" else "capture"
        row["evidence"] = f"{label} #{capture_id} {_local(captured_at).strftime('%Y-%m-%d %H:%M')}"
        shot = files.get("screenshot.png")
        if shot:
            row["evidence_href"] = store.path(shot["sha256"], ".png").resolve().as_uri()
        linked += 1
    return linked


def free_stem(out_dir: Path, stem: str, formats: tuple[str, ...]) -> str:
    """`stem`, or `stem-2`, `stem-3` … : the first whose files do not exist yet. A digest never
    replaces an earlier one, which an analyst may have open in Excel with decisions not yet
    imported."""
    candidate, number = stem, 1
    while any((out_dir / f"{candidate}.{fmt}").exists() for fmt in formats):
        number += 1
        candidate = f"{stem}-{number}"
    return candidate


def write_digest(sessions: sessionmaker[Session], watchlists: Watchlists, out_dir: Path, day: date | None = None,
                 campaign: str | None = None, formats: tuple[str, ...] = FORMATS, lang: str = "zh",
                 evidence_root: Path | None = None, console_url: str | None = None) -> DigestFiles:
    day = day or datetime.now(BEIJING).date()
    categories = {slug: (c.zh if lang == "zh" else slug) for slug, c in watchlists.categories.items()}
    with session_scope(sessions) as session:
        rows = suspect_rows(session, categories, lang, campaign, console_url)
        if evidence_root is not None:
            link_evidence(session, rows, evidence_root, out_dir, lang)
        same_scope = Digest.campaign.is_(None) if campaign is None else Digest.campaign == campaign
        previous = session.scalar(select(Digest).where(same_scope).order_by(Digest.generated_at.desc()).limit(1))
        since = _local(previous.generated_at) if previous else None
    new = [r for r in rows if since is None or r["first_flagged_at"] > since]
    new_ids = {r["id"] for r in new}
    still_open = [r for r in rows if r["id"] not in new_ids and r["status_code"] in OPEN_STATUSES]
    parts = breakdowns(rows, lang)
    trend = trends(rows, day)
    stem = f"digest-{day.isoformat()}" + (f"-{campaign}" if campaign else "") + ("" if lang == "zh" else "-en")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = free_stem(out_dir, stem, formats)
    paths: dict[str, Path] = {}
    context = {"day": day.isoformat(), "campaign": campaign, "lang": lang, "new": new, "still_open": still_open,
               "parts": parts, "periods": trend["periods"], "total": len(rows),
               "generated": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M"),
               "watchlist_hash": watchlists.content_hash, "since": since.strftime("%Y-%m-%d %H:%M") if since else None}
    if "html" in formats:
        env = Environment(loader=PackageLoader("crawler", "templates"), autoescape=select_autoescape(["html"]))
        env.globals.update(t=lambda key: t(key, lang), col=lambda key: col(key, lang))
        html = env.get_template("digest.html").render(**context, charts=digest_charts(trend, lang), keys=TABLE_KEYS,
                                                      html_rows=HTML_ROWS)
        paths["html"] = out_dir / f"{stem}.html"
        write_atomic(paths["html"], html.encode("utf-8"))
    if "xlsx" in formats:
        paths["xlsx"] = out_dir / f"{stem}.xlsx"
        write_atomic(paths["xlsx"], _workbook(context, lang))
    if "csv" in formats:
        import pandas as pd  # only here: every other command starts without it

        frame = pd.DataFrame([{col(k, lang): spreadsheet_safe(r[k]) for k in TABLE_KEYS} for r in new + still_open],
                             columns=[col(k, lang) for k in TABLE_KEYS])
        paths["csv"] = out_dir / f"{stem}.csv"
        # utf-8-sig: Excel and WPS read a CSV as UTF-8 only with the byte-order mark.
        write_atomic(paths["csv"], frame.to_csv(index=False).encode("utf-8-sig"))
    with session_scope(sessions) as session:
        session.add(Digest(day=day.isoformat(), campaign=campaign, rows=len(rows), new_rows=len(new),
                           files={k: str(v) for k, v in paths.items()}))
    return DigestFiles(paths.get("html"), paths.get("xlsx"), paths.get("csv"), len(rows), len(new))


def _typed(row: dict) -> list:
    """A digest row for the workbook: the price a number, the moment a date, the evidence its link."""
    values = []
    for key in TABLE_KEYS:
        if key in TYPED and row.get(TYPED[key]) not in (None, ""):
            values.append(row[TYPED[key]])
        elif key == "evidence" and row.get("evidence_href"):
            values.append((row["evidence"], row["evidence_href"]))
        else:
            values.append(row[key])
    return values


def _workbook(context: dict, lang: str) -> bytes:
    from crawler.reports.workbooks import add_sheet, new_workbook, to_bytes

    labels = list((STATUS_ZH if lang == "zh" else STATUS_EN).values())
    book = new_workbook()
    for key, rows in (("new", context["new"]), ("open", context["still_open"])):
        title = t(key, lang) if lang == "en" else ("新增" if key == "new" else "待处理")
        add_sheet(book, title, [col(k, lang) for k in TABLE_KEYS], (_typed(r) for r in rows),
                  {i: WIDTHS[k] for i, k in enumerate(TABLE_KEYS, start=1)},
                  choices=(TABLE_KEYS.index("status") + 1, labels),
                  links={TABLE_KEYS.index(k) + 1 for k in ("url", "console", "evidence")})
    count_label = t("count", lang)
    for key in ("by_area", "by_marketplace", "by_region", "by_brand", "by_signal"):
        add_sheet(book, t(key, lang), [t(key, lang), count_label], context["parts"][key], {1: 30})
    add_sheet(book, t("top_sellers", lang), [col("seller", lang), count_label, col("score", lang)],
              context["parts"]["top_sellers"], {1: 40})
    add_sheet(book, t("networks", lang), ["电话" if lang == "zh" else "phone", count_label, col("seller", lang)],
              context["parts"]["networks"], {1: 18, 3: 80})
    periods = context["periods"]
    add_sheet(book, t("trend", lang), [t("periods", lang), count_label],
              [["本周" if lang == "zh" else "this week", periods["this_week"]],
               ["上周" if lang == "zh" else "last week", periods["last_week"]],
               ["去年同期" if lang == "zh" else "same week last year", periods["last_year"]]], {1: 24})
    add_sheet(book, t("about", lang), [t("about", lang)],
              [[t("about_text", lang)], [f"{t('date', lang)} {context['day']}"],
               [f"{t('watchlist', lang)} {context['watchlist_hash']}"]], {1: 100})
    return to_bytes(book)



