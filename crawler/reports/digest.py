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

import csv
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.app.triage import STATUS_EN, STATUS_ZH
from crawler.clock import BEIJING, beijing
from crawler.files import replacing, write_atomic
from crawler.reports import digest_data as data
from crawler.reports.charts import digest_charts
from crawler.storage.db import session_scope
from crawler.storage.models import Digest
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


def _local(moment: datetime) -> datetime:
    return beijing(moment)


TABLE_KEYS = ("id", "score", "title", "url", "marketplace", "category", "seller", "location", "price", "reference",
              "certificate", "brand", "lookalike_of", "reasons", "first_flagged", "evidence", "status", "note",
              "console")
# In the workbook: typed values instead of their text (a number, an Excel date), and links.
TYPED = {"price": "price_value", "first_flagged": "first_flagged_at"}
LINKED = ("url", "console", "evidence_href")
WIDTHS = {"id": 7, "score": 7, "title": 50, "url": 28, "marketplace": 12, "category": 10, "seller": 22, "location": 14,
          "price": 10, "reference": 12, "certificate": 24, "brand": 12, "lookalike_of": 12, "reasons": 60,
          "first_flagged": 16, "evidence": 24, "status": 12, "note": 30, "console": 30}


def _with_evidence(row: dict, captures: dict, store, lang: str) -> dict:
    """Fill a row's evidence: its latest capture (number and Beijing time) and a link to the
    capture's screenshot in the evidence store, as an absolute file URL (it still opens when the
    digest is copied elsewhere on the same machine, and after the demo's sandbox is gone)."""
    found = captures.get(row["id"])
    if found:
        capture_id, captured_at, files = found
        label = "取证" if lang == "zh" else "capture"
        row["evidence"] = f"{label} #{capture_id} {_local(captured_at).strftime('%Y-%m-%d %H:%M')}"
        shot = files.get("screenshot.png")
        if shot:
            row["evidence_href"] = store.path(shot["sha256"], ".png").resolve().as_uri()
    return row


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
    """Write the digest files (never over an earlier digest) and record the digest.

    Streamed: counts and breakdowns are SQL aggregates (crawler/reports/digest_data.py), and
    each section's rows go from the database to the XLSX sheet and the CSV file as they are
    read, in score order; the HTML keeps the first HTML_ROWS of each."""
    day = day or datetime.now(BEIJING).date()
    categories = {slug: (c.zh if lang == "zh" else slug) for slug, c in watchlists.categories.items()}
    stem = f"digest-{day.isoformat()}" + (f"-{campaign}" if campaign else "") + ("" if lang == "zh" else "-en")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = free_stem(out_dir, stem, formats)
    paths = {fmt: out_dir / f"{stem}.{fmt}" for fmt in FORMATS if fmt in formats}
    with session_scope(sessions) as session, ExitStack() as files:
        same_scope = Digest.campaign.is_(None) if campaign is None else Digest.campaign == campaign
        previous = session.scalar(select(Digest).where(same_scope).order_by(Digest.generated_at.desc()).limit(1))
        chosen = data.scope(session, campaign, previous.generated_at if previous else None)
        total = data.count(session, chosen.where)
        counts = {"new": data.count(session, chosen.new), "open": data.count(session, chosen.still_open)}
        captures = data.latest_captures(session) if evidence_root is not None else {}
        store = None
        if evidence_root is not None:
            from crawler.evidence.store import EvidenceStore

            store = EvidenceStore(evidence_root)
        shown: dict[str, list[dict]] = {"new": [], "open": []}
        table = None
        if "csv" in paths:
            partial = files.enter_context(replacing(paths["csv"]))
            # utf-8-sig: Excel and WPS read a CSV as UTF-8 only with the byte-order mark.
            handle = files.enter_context(partial.open("w", encoding="utf-8-sig", newline=""))
            table = csv.writer(handle)
            table.writerow([col(k, lang) for k in TABLE_KEYS])

        def section(key: str, where: tuple) -> Iterator[list]:
            for row in data.rows(session, where, categories, lang, console_url):
                if store is not None:
                    _with_evidence(row, captures, store, lang)
                if len(shown[key]) < HTML_ROWS:
                    shown[key].append(row)
                if table is not None:
                    table.writerow([spreadsheet_safe(row[k]) for k in TABLE_KEYS])
                yield _typed(row)

        sections = {"new": section("new", chosen.new), "open": section("open", chosen.still_open)}
        parts = data.breakdowns(session, chosen.where, categories, lang)
        trend = data.trends(session, chosen.where, categories, day)
        context = {"day": day.isoformat(), "campaign": campaign, "lang": lang, "counts": counts, "parts": parts,
                   "periods": trend["periods"], "total": total,
                   "generated": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M"),
                   "watchlist_hash": watchlists.content_hash,
                   "since": _local(previous.generated_at).strftime("%Y-%m-%d %H:%M") if previous else None}
        if "xlsx" in paths:
            with replacing(paths["xlsx"]) as partial:
                _workbook(context, lang, sections).save(partial)
        else:
            for rows_of_section in sections.values():
                for _ in rows_of_section:
                    pass
        if "html" in paths:
            env = Environment(loader=PackageLoader("crawler", "templates"), autoescape=select_autoescape(["html"]))
            env.globals.update(t=lambda key: t(key, lang), col=lambda key: col(key, lang))
            html = env.get_template("digest.html").render(**context, new=shown["new"], still_open=shown["open"],
                                                          charts=digest_charts(trend, lang), keys=TABLE_KEYS,
                                                          html_rows=HTML_ROWS)
            write_atomic(paths["html"], html.encode("utf-8"))
    with session_scope(sessions) as session:
        session.add(Digest(day=day.isoformat(), campaign=campaign, rows=total, new_rows=counts["new"],
                           files={k: str(v) for k, v in paths.items()}))
    return DigestFiles(paths.get("html"), paths.get("xlsx"), paths.get("csv"), total, counts["new"])


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


def _workbook(context: dict, lang: str, sections: dict[str, Iterator[list]]):
    """The digest workbook (write-only: each section's rows are written as they come)."""
    from crawler.reports.workbooks import add_sheet, new_workbook

    labels = list((STATUS_ZH if lang == "zh" else STATUS_EN).values())
    book = new_workbook()
    for key, rows in (("new", sections["new"]), ("open", sections["open"])):
        title = t(key, lang) if lang == "en" else ("新增" if key == "new" else "待处理")
        add_sheet(book, title, [col(k, lang) for k in TABLE_KEYS], rows,
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
    return book



