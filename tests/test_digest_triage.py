"""The analyst's day: the digest (HTML, XLSX, CSV), triage in the workbook and back, dismissals."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from crawler.app.matching import match_new_snapshots
from crawler.cli import cli
from crawler.items import ListingItem
from crawler.reports.digest import write_digest
from crawler.storage.listings import ListingStore
from crawler.storage.models import Suspect, SuspectEvent
from watchlists import load_watchlists

WATCHLISTS = load_watchlists()
HOSTILE = "美旳 电饭煲 <script>alert('x')</script><img src=x onerror=alert(1)>"


def item(key: str, title: str, brand: str, **changes) -> ListingItem:
    base = dict(marketplace="sandbox-a", listing_key=key, url=f"http://127.0.0.1/a/item/{key}.html", title=title,
                price=Decimal("199.00"), currency="CNY", category="appliance", brand=brand, seller_key=f"S{key}",
                seller_name=f"店铺{key}", seller_province="广东", seller_city="佛山",
                specs={"品牌": brand, "3C证书编号": "2018010707123456"})
    return ListingItem(**{**base, **changes})


@pytest.fixture
def flagged(sessions):
    store = ListingStore(sessions)
    store.save(item("1", HOSTILE, "美旳"), None)
    store.save(item("2", "=cmd|' /C calc'!A0 美旳 电饭煲", "美旳", seller_province="浙江", seller_city="宁波"), None)
    store.save(item("3", "海尓 电热水器 60L", "海尓", category="appliance"), None)
    store.save(item("4", "美的 电饭煲 正品", "美的"), None)  # genuine
    match_new_snapshots(sessions, WATCHLISTS)
    with sessions() as session:
        return {s.listing.listing_key: s.id for s in session.scalars(select(Suspect))}


def test_digest_sections_breakdowns_and_new_since_the_previous_one(sessions, flagged, tmp_path):
    files = write_digest(sessions, WATCHLISTS, tmp_path)
    assert (files.rows, files.new_rows) == (3, 3) and set(flagged) == {"1", "2", "3"}
    html = files.html.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert html.count('src="data:image/png;base64,') == 2  # both charts embedded: one file, offline
    assert "按地区" in html and "广东 佛山" in html and "浙江 宁波" in html and "疑似仿冒" in html
    assert "<script" not in html.replace("&lt;script", "")  # no scripts of our own either
    # A second digest: nothing is new any more, the three are still open.
    second = write_digest(sessions, WATCHLISTS, tmp_path)
    assert (second.rows, second.new_rows) == (3, 0)
    book = load_workbook(second.xlsx)
    assert book["新增"].max_row == 1 and book["待处理"].max_row == 4
    english = write_digest(sessions, WATCHLISTS, tmp_path, lang="en", formats=("html",))
    assert "daily suspect digest" in english.html.read_text(encoding="utf-8") and english.xlsx is None


def test_workbook_sheets_have_frozen_headers_a_status_list_and_text_not_formulas(sessions, flagged, tmp_path):
    files = write_digest(sessions, WATCHLISTS, tmp_path, formats=("xlsx",))
    book = load_workbook(files.xlsx)
    assert {"新增", "待处理", "按类别", "按平台", "按地区（省、市）", "按被仿冒品牌", "按可疑原因", "重点店铺"} <= set(book.sheetnames)
    sheet = book["新增"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert {"编号", "状态", "备注", "商品标题", "证据"} <= set(header)
    titles = [row[header.index("商品标题")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "=cmd|' /C calc'!A0 美旳 电饭煲" in titles  # stored as text, shown as typed
    cell = next(c for c in sheet[chr(65 + header.index("商品标题"))] if str(c.value).startswith("=cmd"))
    assert cell.data_type == "s"
    validations = sheet.data_validations.dataValidation
    assert validations and "误报" in validations[0].formula1


def test_triage_round_trip_through_the_workbook(sessions, flagged, tmp_path, db_url):
    files = write_digest(sessions, WATCHLISTS, tmp_path, formats=("xlsx",))
    book = load_workbook(files.xlsx)
    sheet = book["新增"]
    header = [c.value for c in sheet[1]]
    id_col, status_col, note_col = (header.index(h) + 1 for h in ("编号", "状态", "备注"))
    by_id = {sheet.cell(row=r, column=id_col).value: r for r in range(2, sheet.max_row + 1)}
    sheet.cell(row=by_id[flagged["1"]], column=status_col).value = "已确认"
    sheet.cell(row=by_id[flagged["2"]], column=status_col).value = "误报"
    sheet.cell(row=by_id[flagged["2"]], column=note_col).value = "授权经销商"
    sheet.append([None] * len(header))
    sheet.cell(row=sheet.max_row, column=id_col).value = "abc"
    sheet.cell(row=sheet.max_row, column=status_col).value = "已确认"
    sheet.append([None] * len(header))
    sheet.cell(row=sheet.max_row, column=id_col).value = flagged["3"] + 1000
    sheet.cell(row=sheet.max_row, column=status_col).value = "maybe"
    edited = tmp_path / "edited.xlsx"
    book.save(edited)

    first = CliRunner().invoke(cli, ["triage", "import", str(edited), "--by", "张三", "--db", db_url])
    assert first.exit_code == 1
    assert "新增!5: 编号 'abc' is not a suspect id" in first.output
    assert "新增!6: unknown status 'maybe'" in first.output
    assert "2 applied, 1 unchanged, 2 invalid" in first.output
    with sessions() as session:
        one, two = session.get(Suspect, flagged["1"]), session.get(Suspect, flagged["2"])
        assert (one.status, one.status_by, two.status, two.note) == ("confirmed", "张三", "false_positive", "授权经销商")
        assert len(session.scalars(select(SuspectEvent)).all()) == 2
    again = CliRunner().invoke(cli, ["triage", "import", str(edited), "--by", "张三", "--db", db_url])
    assert "0 applied, 3 unchanged" in again.output  # nothing applied twice
    with sessions() as session:
        assert len(session.scalars(select(SuspectEvent)).all()) == 2
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    bad = CliRunner().invoke(cli, ["triage", "import", str(broken), "--db", db_url])
    assert bad.exit_code == 1 and "not a readable .xlsx workbook" in bad.output and "Traceback" not in bad.output


def test_a_false_positive_stays_dismissed_until_its_content_changes(sessions, flagged, db_url):
    suspect_id = flagged["3"]
    result = CliRunner().invoke(cli, ["triage", "set", str(suspect_id), "误报", "--note", "正品", "--db", db_url])
    assert result.exit_code == 0 and "新发现 → 误报" in result.output
    match_new_snapshots(sessions, WATCHLISTS, rescore=True)  # seen again, same content
    with sessions() as session:
        assert session.get(Suspect, suspect_id).status == "false_positive"
    ListingStore(sessions).save(item("3", "海尓 电热水器 60L 高仿", "海尓"), None)  # the listing changed
    match_new_snapshots(sessions, WATCHLISTS)
    with sessions() as session:
        suspect = session.get(Suspect, suspect_id)
        events = session.scalars(select(SuspectEvent).where(SuspectEvent.suspect_id == suspect_id)
                                 .order_by(SuspectEvent.id)).all()
    assert suspect.status == "new" and [(e.to_status, e.by) for e in events] == [
        ("false_positive", events[0].by), ("new", "matcher")]
    listing = CliRunner().invoke(cli, ["triage", "list", "--status", "new", "--db", db_url])
    assert str(suspect_id) in listing.output
    bad = CliRunner().invoke(cli, ["triage", "set", str(suspect_id), "maybe", "--db", db_url])
    assert bad.exit_code == 2 and "unknown status 'maybe'" in bad.output


@pytest.mark.browser
def test_the_html_digest_renders_with_its_charts_in_chromium(sessions, flagged, tmp_path):
    from PIL import Image
    from playwright.async_api import async_playwright

    from crawler.browser import launch_options
    from crawler.config import find_chromium

    files = write_digest(sessions, WATCHLISTS, tmp_path, formats=("html",))
    shot = tmp_path / "digest.png"

    async def render() -> list[int]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options(find_chromium()))
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(files.html.as_uri())
            widths = await page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            await page.screenshot(path=str(shot), full_page=True)
            await browser.close()
            return widths

    widths = asyncio.run(render())
    assert len(widths) == 2 and all(w > 300 for w in widths)  # both charts decoded
    with Image.open(shot) as image:
        low, high = image.convert("L").getextrema()
    assert high - low > 100


def test_sampling_orders_export_prioritised_purchases_and_record_results(sessions, flagged, tmp_path, db_url):
    runner = CliRunner()
    # Analyst confirms one: confirmed suspects are bought first.
    assert runner.invoke(cli, ["triage", "set", str(flagged["3"]), "confirmed", "--db", db_url]).exit_code == 0
    first = runner.invoke(cli, ["sampling", "orders", "--limit", "2", "--by", "李四", "--out", str(tmp_path),
                                "--db", db_url])
    assert first.exit_code == 0 and "2 sampling orders" in first.output
    sheet = load_workbook(next(tmp_path.glob("sampling-orders-*.xlsx")))["抽检订单"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows[0]["编号"] == flagged["3"]  # the confirmed one first
    assert all("GB 4706.1-2005" in r["检验项目及依据标准"] and r["抽检理由"] and r["链接"].startswith("http")
               for r in rows)
    assert {r["所在地"] for r in rows} <= {"广东 佛山", "浙江 宁波"} and all(r["购买数量"] == 1 for r in rows)
    with sessions() as session:
        ordered = {s.id for s in session.scalars(select(Suspect).where(Suspect.status == "sampling_ordered"))}
    assert ordered == {r["编号"] for r in rows}
    # The lab reports: the failed one becomes a confirmed case; it is never ordered twice.
    order_id = rows[0]["抽检单号"]
    result = runner.invoke(cli, ["sampling", "result", str(order_id), "fail", "--note", "漏电流不合格", "--db", db_url])
    assert result.exit_code == 0 and "confirmed" in result.output
    second = runner.invoke(cli, ["sampling", "orders", "--limit", "5", "--out", str(tmp_path / "2"), "--db", db_url])
    assert "1 sampling orders" in second.output  # only the one never ordered
    third = runner.invoke(cli, ["sampling", "orders", "--out", str(tmp_path / "3"), "--db", db_url])
    assert "no suspects to order" in third.output
    bad = runner.invoke(cli, ["sampling", "orders", "--area", "toys", "--db", db_url])
    assert bad.exit_code == 1 and "unknown area 'toys'" in bad.output
    missing = runner.invoke(cli, ["sampling", "result", "999", "pass", "--db", db_url])
    assert missing.exit_code == 1 and "no sampling order 999" in missing.output


def test_periodic_report_compares_with_the_previous_period_and_last_year(sessions, flagged, tmp_path, db_url):
    from datetime import datetime

    from sqlalchemy import update

    from crawler.clock import BEIJING as REPORT_TZ

    # Three suspects: one this month (2026-10), one the month before, one in October last year.
    dates = {flagged["1"]: datetime(2026, 10, 5, 10, tzinfo=REPORT_TZ),
             flagged["2"]: datetime(2026, 9, 20, 10, tzinfo=REPORT_TZ),
             flagged["3"]: datetime(2025, 10, 8, 10, tzinfo=REPORT_TZ)}
    with sessions.begin() as session:
        for suspect_id, when in dates.items():
            session.execute(update(Suspect).where(Suspect.id == suspect_id).values(first_flagged_at=when))
    result = CliRunner().invoke(cli, ["report", "--period", "month", "--date", "2026-10-15", "--out", str(tmp_path),
                                      "--db", db_url])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report-month-2026-10-01.html").read_text(encoding="utf-8")
    assert "2026-10-01 至 2026-10-31" in html and "2025-10-01 至 2025-10-31" in html
    book = load_workbook(tmp_path / "report-month-2026-10-01.xlsx")
    overall = {row[0]: row[1:] for row in book["总体"].iter_rows(min_row=2, values_only=True)}
    assert overall["发现可疑商品"] == (1, 1, "+0%", 1, "+0%")
    assert "&lt;script&gt;" in html and "<script>alert" not in html  # the typical case's title, escaped
    # By province: this month and last year's (the Zhejiang suspect was last month's).
    assert list(book["按地区"].iter_rows(min_row=2, values_only=True)) == [("广东", 1, 1)]


def test_a_later_digest_never_replaces_the_workbook_an_analyst_is_editing(sessions, flagged, tmp_path):
    first = write_digest(sessions, WATCHLISTS, tmp_path, formats=("xlsx", "html"))
    book = load_workbook(first.xlsx)
    sheet = book["新增"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("状态") + 1, value="误报")
    sheet.cell(row=2, column=header.index("备注") + 1, value="正品授权店")
    book.save(first.xlsx)  # the analyst's edit, not yet imported
    edited = first.xlsx.read_bytes()
    second = write_digest(sessions, WATCHLISTS, tmp_path, formats=("xlsx", "html"))
    third = write_digest(sessions, WATCHLISTS, tmp_path, formats=("xlsx", "html"))
    assert first.xlsx.read_bytes() == edited
    assert [p.name for p in (first.xlsx, second.xlsx, third.xlsx)] == [
        first.xlsx.name, first.xlsx.stem + "-2.xlsx", first.xlsx.stem + "-3.xlsx"]
    assert second.html.name == first.html.stem + "-2.html"


def test_workbook_values_sort_and_link_as_what_they_are(sessions, flagged, tmp_path):
    from datetime import datetime

    files = write_digest(sessions, WATCHLISTS, tmp_path, formats=("xlsx",), console_url="http://console.example:8600")
    sheet = load_workbook(files.xlsx)["新增"]
    header = [c.value for c in sheet[1]]
    row = [c for c in sheet[2]]
    assert isinstance(row[header.index("价格")].value, (int, float)) and row[header.index("价格")].value == 199  # a number
    assert isinstance(row[header.index("首次发现")].value, datetime)
    link = row[header.index("链接")]
    assert link.hyperlink is not None and link.hyperlink.target.startswith("http://127.0.0.1/a/item/")
    console = row[header.index("审核台")]
    assert console.hyperlink.target.startswith("http://console.example:8600/suspects/")
    assert sheet.auto_filter.ref.startswith("A1:") and sheet.auto_filter.ref.endswith(str(sheet.max_row))
    widths = {letter: dimension.width for letter, dimension in sheet.column_dimensions.items()}
    assert len(widths) == len(header) and widths["C"] == 50  # the title column is wide


def test_the_html_digest_puts_the_summary_and_breakdowns_before_the_suspects(sessions, flagged, tmp_path):
    html = write_digest(sessions, WATCHLISTS, tmp_path, formats=("html",),
                        console_url="http://console.example:8600").html.read_text(encoding="utf-8")
    assert html.index("按类别") < html.index("重点店铺") < html.index('class="suspects"')
    table = html[html.index('class="suspects"'):]
    assert table.index("<thead>") < table.index("<tbody>") and "<th>" in table[:table.index("<tbody>")]
    assert 'href="http://console.example:8600/suspects/' in html  # absolute links, to the console


def test_a_sampling_order_keeps_the_analysts_note(sessions, flagged, tmp_path, db_url):
    runner = CliRunner()
    suspect = flagged["1"]
    assert runner.invoke(cli, ["triage", "set", str(suspect), "confirmed", "--note", "外观仿冒明显",
                               "--by", "wang", "--db", db_url]).exit_code == 0
    ordered = runner.invoke(cli, ["sampling", "orders", "--limit", "5", "--db", db_url, "--out", str(tmp_path)])
    assert ordered.exit_code == 0, ordered.output
    with sessions() as session:
        assert session.get(Suspect, suspect).note == "外观仿冒明显"
    shown = runner.invoke(cli, ["triage", "show", str(suspect), "--db", db_url])
    assert shown.exit_code == 0 and "外观仿冒明显" in shown.output and "抽检单" in shown.output


def test_ordering_sampling_as_a_decision_places_the_order(sessions, flagged, tmp_path):
    """The console's 'order sampling' button: one decision that places a one-row order batch."""
    from crawler.app.sampling import place_orders
    from crawler.app.triage import decide
    from crawler.storage.models import SamplingOrder

    suspect = flagged["3"]
    with sessions() as session:
        version = session.get(Suspect, suspect).version
    decision = decide(sessions, suspect, "sampling_ordered", "wang", "外观可疑，送检", source="console",
                      expected_version=version,
                      then=lambda session, s: place_orders(session, WATCHLISTS, tmp_path, "wang", limit=1,
                                                           suspect_ids=[s.id]))
    assert decision.changed and decision.before == "new"
    with sessions() as session:
        orders = session.scalars(select(SamplingOrder).where(SamplingOrder.suspect_id == suspect)).all()
        row = session.get(Suspect, suspect)
        assert len(orders) == 1 and row.status == "sampling_ordered" and row.note == "外观可疑，送检"
    assert len(list(tmp_path.glob("sampling-orders-*.xlsx"))) == 1


def test_a_sheet_links_up_to_excels_limit_then_writes_the_urls_as_text(tmp_path):
    """Excel keeps at most 65,530 hyperlinks per sheet: past the limit (3 here) a link is its
    text and URL, so nothing is lost and the file stays one Excel opens."""
    from crawler.reports.workbooks import add_sheet, new_workbook

    book = new_workbook()
    rows = [(i, f"http://127.0.0.1/item/{i}.html", (f"=#{i}", f"http://127.0.0.1/ev/{i}")) for i in range(5)]
    assert add_sheet(book, "links", ["n", "url", "evidence"], rows, links={2, 3}, max_links=3) == 5
    book.save(tmp_path / "links.xlsx")
    sheet = load_workbook(tmp_path / "links.xlsx").active
    linked = [(c.coordinate, c.hyperlink.target) for row in sheet.iter_rows(min_row=2) for c in row if c.hyperlink]
    assert linked == [("B2", "http://127.0.0.1/item/0.html"), ("C2", "http://127.0.0.1/ev/0"),
                      ("B3", "http://127.0.0.1/item/1.html")]
    assert sheet["C3"].value == "=#1 http://127.0.0.1/ev/1" and sheet["C3"].data_type == "s"  # text, not a formula
    assert sheet["B6"].value == "http://127.0.0.1/item/4.html" and sheet["C6"].value == "=#4 http://127.0.0.1/ev/4"
    assert sheet["C2"].value == "=#0" and sheet["C2"].data_type == "s"


def test_the_csv_the_workbook_and_the_html_show_the_same_suspects_in_the_same_order(sessions, flagged, tmp_path):
    """The workbook and the CSV are written by the digest's workbook process from rows it is sent;
    the HTML by the digest itself: all three agree, row for row."""
    import csv

    files = write_digest(sessions, WATCHLISTS, tmp_path, console_url="http://console.example:8600")
    with open(files.csv, encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    header, rows = table[0], table[1:]
    sheet = load_workbook(files.xlsx)["新增"]
    assert [c.value for c in sheet[1]] == header
    sheet_rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == len(sheet_rows) == files.new_rows == len(flagged) > 0
    id_at, title_at, price_at, when_at = (header.index(k) for k in ("编号", "商品标题", "价格", "首次发现"))
    assert [int(r[id_at]) for r in rows] == [r[id_at] for r in sheet_rows]
    for text, typed in zip(rows, sheet_rows):
        assert typed[title_at] == (text[title_at][1:] if text[title_at].startswith("'=") else text[title_at])
        assert Decimal(text[price_at].split()[0]) == Decimal(str(typed[price_at]))
        assert typed[when_at].strftime("%Y-%m-%d %H:%M") == text[when_at]
    html = files.html.read_text(encoding="utf-8")
    positions = [html.index(f"/suspects/{r[id_at]}\"") for r in rows]
    assert positions == sorted(positions)
