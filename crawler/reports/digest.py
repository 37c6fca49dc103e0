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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.app.triage import STATUS_EN, STATUS_ZH
from crawler.clock import BEIJING, beijing
from crawler.files import replacing, write_atomic
from crawler.reports import digest_data as data
from crawler.reports.charts import digest_charts
from crawler.reports.workbooks import WorkbookProcess, add_sheet
from crawler.reports.xlsx import ExcelDate
from crawler.storage.db import session_scope
from crawler.storage.models import Digest
from watchlists import Watchlists
from watchlists.sheets import spreadsheet_safe_row

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


TABLE_KEYS = data.TABLE_KEYS
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
    header = [col(k, lang) for k in TABLE_KEYS]
    with ExitStack() as files:
        csv_partial = files.enter_context(replacing(paths["csv"])) if "csv" in paths else None
        book = table = None
        if "xlsx" in paths:
            # The workbook and the CSV are written by their own process, started before this one
            # opens connections or threads; this one reads the rows and sends them over.
            book = WorkbookProcess(str(csv_partial) if csv_partial else None, header)
            files.callback(book.close)  # stops the workbook process if the digest fails
        elif csv_partial is not None:
            # utf-8-sig: Excel and WPS read a CSV as UTF-8 only with the byte-order mark.
            table = csv.writer(files.enter_context(csv_partial.open("w", encoding="utf-8-sig", newline="")))
            table.writerow(header)
        session = files.enter_context(session_scope(sessions))
        same_scope = Digest.campaign.is_(None) if campaign is None else Digest.campaign == campaign
        previous = session.scalar(select(Digest).where(same_scope).order_by(Digest.generated_at.desc()).limit(1))
        chosen = data.scope(session, campaign, previous.generated_at if previous else None)

        def summary() -> dict:  # counts, breakdowns and trends: SQL aggregates, on their own session
            with session_scope(sessions) as other:
                return {"total": data.count(other, chosen.where),
                        "counts": {"new": data.count(other, chosen.new), "open": data.count(other, chosen.still_open)},
                        "parts": data.breakdowns(other, chosen.where, categories, lang),
                        "trend": data.trends(other, chosen.where, categories, day)}

        # The aggregates run in a thread while the rows stream (the database works without the GIL).
        summarising = files.enter_context(ThreadPoolExecutor(1, thread_name_prefix="digest-summary"))
        summarised = summarising.submit(summary)
        captures = data.latest_captures(session) if evidence_root is not None else {}
        store = None
        if evidence_root is not None:
            from crawler.evidence.store import EvidenceStore

            store = EvidenceStore(evidence_root)
        shown: dict[str, list[dict]] = {"new": [], "open": []}
        make = DigestRows(categories, lang, console_url, captures, store)

        def section(key: str, where: tuple) -> Iterator:
            for chunk, signals in data.chunks(session, where):
                for r in chunk:
                    found = signals.get(r[0], ())
                    if book is not None:  # the workbook process writes the CSV and workbook rows (see _split)
                        if len(shown[key]) < HTML_ROWS:
                            shown[key].append(make(r, found))
                        yield make.sent(r, found)
                        continue
                    row = make(r, found)
                    if len(shown[key]) < HTML_ROWS:
                        shown[key].append(row)
                    if table is not None:
                        table.writerow(spreadsheet_safe_row([row[k] for k in TABLE_KEYS]))
                    yield row

        sections = {"new": section("new", chosen.new), "open": section("open", chosen.still_open)}
        context: dict = {"day": day.isoformat(), "campaign": campaign, "lang": lang,
                         "generated": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M"),
                         "watchlist_hash": watchlists.content_hash,
                         "since": _local(previous.generated_at).strftime("%Y-%m-%d %H:%M") if previous else None}

        def summarised_context() -> dict:
            if "parts" not in context:
                found = summarised.result()
                context.update(total=found["total"], counts=found["counts"], parts=found["parts"],
                               periods=found["trend"]["periods"], trend=found["trend"])
            return context

        if book is not None:
            with replacing(paths["xlsx"]) as partial:
                _workbook(book, summarised_context, lang, sections, _split).save(partial)
        else:
            for rows_of_section in sections.values():
                for _ in rows_of_section:
                    pass
        summarised_context()
        total, counts = context["total"], context["counts"]
        if "html" in paths:
            env = Environment(loader=PackageLoader("crawler", "templates"), autoescape=select_autoescape(["html"]))
            env.globals.update(t=lambda key: t(key, lang), col=lambda key: col(key, lang))
            html = env.get_template("digest.html").render(**context, new=shown["new"], still_open=shown["open"],
                                                          charts=digest_charts(context["trend"], lang), keys=TABLE_KEYS,
                                                          html_rows=HTML_ROWS)
            write_atomic(paths["html"], html.encode("utf-8"))
    with session_scope(sessions) as session:
        session.add(Digest(day=day.isoformat(), campaign=campaign, rows=total, new_rows=counts["new"],
                           files={k: str(v) for k, v in paths.items()}))
    return DigestFiles(paths.get("html"), paths.get("xlsx"), paths.get("csv"), total, counts["new"])


PRICE_AT, FLAGGED_AT, EVIDENCE_AT = (TABLE_KEYS.index(k) for k in ("price", "first_flagged", "evidence"))


class DigestRows(data.RowMaker):
    """Digest rows, with their evidence when there is an evidence store."""

    def __init__(self, categories: dict[str, str], lang: str, console_url: str | None, captures: dict, store):
        super().__init__(categories, lang, console_url)
        self.captures, self.store = captures, store

    def __call__(self, r, found) -> dict:
        row = super().__call__(r, found)
        return row if self.store is None else _with_evidence(row, self.captures, self.store, self.lang)

    def sent(self, r, found) -> tuple:
        """What the workbook process needs of a row (see _split), in values marshal takes: the
        TABLE_KEYS values, the price as text, the moment as a POSIX time, the evidence link."""
        values = self.table(r, found)
        href = ""
        if self.store is not None:
            row = _with_evidence({"id": r[0], "evidence": "", "evidence_href": ""}, self.captures, self.store,
                                 self.lang)
            values[EVIDENCE_AT], href = row["evidence"], row["evidence_href"]
        moment, price = r[6], r[11]
        if moment is not None:
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
        return values, None if price is None else str(price), moment, href


def _split(item: tuple) -> tuple[list, list]:
    """In the workbook process: a row as DigestRows.sent made it, as (its CSV values, its
    workbook values) — in the workbook the price is a number, the moment an Excel date
    (Beijing time, UTC+8 all year since 1991) and the evidence its link."""
    values, price, moment, href = item
    typed = values.copy()
    if price is not None:
        typed[PRICE_AT] = Decimal(price)
    if moment is not None:
        typed[FLAGGED_AT] = ExcelDate.from_posix(moment, 8)
    if href:
        typed[EVIDENCE_AT] = (values[EVIDENCE_AT], href)
    return values, typed


def _workbook(book, summarised: Callable[[], dict], lang: str, sections: dict[str, Iterator], split):
    """The digest workbook (streamed: each section's rows are written as they come; the
    breakdowns, which `summarised` waits for, after them)."""
    labels = list((STATUS_ZH if lang == "zh" else STATUS_EN).values())
    for key, rows in (("new", sections["new"]), ("open", sections["open"])):
        title = t(key, lang) if lang == "en" else ("新增" if key == "new" else "待处理")
        add_sheet(book, title, [col(k, lang) for k in TABLE_KEYS], rows,
                  {i: WIDTHS[k] for i, k in enumerate(TABLE_KEYS, start=1)},
                  choices=(TABLE_KEYS.index("status") + 1, labels),
                  links={TABLE_KEYS.index(k) + 1 for k in ("url", "console", "evidence")}, split=split)
    context = summarised()
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



