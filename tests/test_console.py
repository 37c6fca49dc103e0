"""The review console, driven in real Chromium (Playwright) against a demo database served by
`lijian serve`: sign-in for every role, the queue and its filters, a suspect with its
screenshot and signals, decisions one by one and in bulk, their history, roles refused on the
server, CSRF, hostile listing text, and two analysts deciding one suspect at once."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.storage.db import open_database, session_factory
from crawler.storage.models import CrawlRun, EvidenceCapture, ListingSnapshot, Suspect, SuspectEvent
from tests.conftest import LIJIAN, fresh_database, run_lijian

pytestmark = pytest.mark.browser
PASSWORDS = {"ana": ("analyst", "analyst-pass-1"), "ana2": ("analyst", "analyst-pass-2"),
             "op": ("operator", "operator-pass-1"), "law": ("enforcement", "enforce-pass-1"),
             "boss": ("admin", "admin-pass-001"), "limited": ("analyst", "limited-pass-1")}
HOSTILE = "美旳 电饭煲 <script>alert('xss')</script><img src=x onerror=alert(1)>"
SHOTS = os.environ.get("LIJIAN_CONSOLE_SHOTS")  # a folder: the docs' screenshots are taken there


@dataclass
class Console:
    url: str
    db_url: str
    out: Path
    env: dict[str, str]
    process: subprocess.Popen


def _hostile_suspect(db_url: str, env: dict[str, str]) -> None:
    """A listing whose title and seller are markup, stored and matched the way a crawl's are."""
    from crawler.items import ListingItem
    from crawler.storage.listings import ListingStore

    sessions = session_factory(open_database(db_url))
    ListingStore(sessions).save(ListingItem(marketplace="sandbox-a", listing_key="hostile-1",
                                            url="javascript:alert(1)", title=HOSTILE, price=Decimal("9.90"),
                                            currency="CNY", category="appliance",
                                            seller_key="evil", seller_name="<b>店</b><script>alert(2)</script>"), None)
    done = run_lijian("match", "--db", db_url, env=env)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def console_server(tmp_path_factory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    with fresh_database(folder) as db_url:
        env = {**os.environ, "LIJIAN_OUT": str(folder / "out"), "LIJIAN_EVIDENCE_KEY": str(folder / "key.pem"),
               "LIJIAN_CONSOLE_SECRET": str(folder / "console-secret"), "LIJIAN_DATABASE_URL": db_url}
        demo = run_lijian("demo", "--listings", "120", "--evidence", "2", env=env, cwd=folder)
        assert demo.returncode == 0, demo.stderr[-3000:]
        assert "lijian serve" in demo.stdout and "sign in as demo /" in demo.stdout  # what to try next
        for name, (role, password) in PASSWORDS.items():
            added = subprocess.run([*LIJIAN, "user", "add", name, "--role", role, "--password-stdin"],
                                   input=password + "\n", capture_output=True, text=True, env=env)
            assert added.returncode == 0, added.stderr
        keygen = run_lijian("evidence", "keygen", env=env)
        assert keygen.returncode == 0, keygen.stderr
        campaign = run_lijian("campaign", "add", "cable-daily", "--schedule", "1d", "--category", "cable",
                              "--site", "a", "--sandbox", "http://127.0.0.1:9", env=env)
        assert campaign.returncode == 0, campaign.stderr
        _hostile_suspect(db_url, env)
        process = subprocess.Popen([*LIJIAN, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=env)
        line = process.stdout.readline()
        match = re.search(r"console at (http://127\.0\.0\.1:\d+)/", line)
        assert match, line + process.stderr.read(2000)
        yield Console(match.group(1), db_url, folder / "out", env, process)
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def console(console_server) -> Console:
    return console_server


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from crawler.browser import launch_options
    from crawler.config import find_chromium

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**launch_options(find_chromium()))
        yield chromium
        chromium.close()


def signed_in(browser, console: Console, name: str):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(console.url + "/suspects")
    assert "/login" in page.url  # nothing without signing in
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORDS[name][1])
    page.click("form.login button[type=submit]")
    page.wait_for_url(re.compile(r".*/suspects$"))
    assert page.inner_text("#whoami") == name
    return page


def sessions_of(console: Console):
    return session_factory(open_database(console.db_url))


def csrf(page) -> str:
    return page.get_attribute("input[name=csrf_token]", "value")


def test_nobody_unauthenticated_sees_a_listing(console, browser):
    page = browser.new_page()
    for path in ("/suspects", "/suspects/1", "/captures/1/screenshot.png", "/operations", "/files/package/x.zip"):
        response = page.goto(console.url + path)
        assert "/login" in page.url and response.ok, path
        assert "电饭煲" not in page.content()
    response = page.request.post(console.url + "/suspects/1/decide", form={"status": "confirmed", "version": "0"})
    assert response.status in (400, 401)  # no session: refused (and no CSRF token either)
    page.close()


def test_each_role_signs_in_and_sees_the_queue(console, browser):
    for name in ("ana", "op", "law", "boss"):
        page = signed_in(browser, console, name)
        assert int(page.inner_text("#total")) > 5
        headers = page.request.get(console.url + "/suspects").headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        page.context.close()


def test_an_analyst_filters_opens_decides_and_sees_the_history(console, browser):
    page = signed_in(browser, console, "ana")
    everything = int(page.inner_text("#total"))
    page.check("input[name=status][value=new]")
    area = page.eval_on_selector("select[name=area] option:nth-child(2)", "o => o.value")
    page.select_option("select[name=area]", area)
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r".*area=.*"))
    narrowed = int(page.inner_text("#total"))
    assert 0 < narrowed < everything
    label = page.eval_on_selector(f"select[name=area] option[value='{area}']", "o => o.textContent").split(" (")[0]
    assert set(page.locator("#queue tbody td:nth-child(8)").all_inner_texts()) == {label}
    if SHOTS:
        page.goto(console.url + "/suspects")
        page.screenshot(path=str(Path(SHOTS) / "console-queue.png"))

    with sessions_of(console)() as session:
        captured = session.scalar(select(EvidenceCapture.suspect_id).where(EvidenceCapture.status == "ok")
                                  .order_by(EvidenceCapture.id))
    page.goto(f"{console.url}/suspects/{captured}")
    assert page.eval_on_selector("#screenshot", "img => img.complete && img.naturalWidth") > 300
    assert page.locator("#signals tbody tr").count() >= 1
    assert page.locator("#history tbody tr").count() >= 1
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "console-suspect.png"), full_page=False)
    page.fill("#decide textarea[name=note]", "页面与正品差异明显")
    page.click("#decide button[value=confirmed]")
    page.wait_for_selector("#events tbody tr >> text=页面与正品差异明显")
    assert page.inner_text("#status") == "已确认"
    assert "ana" in page.inner_text("#events") and "console" in page.inner_text("#events")
    history = run_lijian("triage", "show", str(captured), env=console.env)
    assert history.returncode == 0 and "页面与正品差异明显" in history.stdout and "ana" in history.stdout
    page.context.close()


def test_bulk_decisions_on_selected_rows_with_the_keyboard(console, browser):
    page = signed_in(browser, console, "ana")
    page.goto(console.url + "/suspects?status=new&sort=newest")
    ids = [int(text) for text in page.locator("#queue tbody tr td:nth-child(2)").all_inner_texts()[:3]]
    page.keyboard.press("j")
    page.keyboard.press("x")  # the first row, by keyboard
    page.check(f"#row-{ids[1]} input[name=pick]")
    page.check(f"#row-{ids[2]} input[name=pick]")
    page.select_option("#bulk-action", "false_positive")
    page.fill("#bulk input[name=note]", "授权经销商")
    page.click("#bulk-submit")
    page.wait_for_selector(".flash-bulk")
    assert "3" in page.inner_text(".flash-bulk")
    with sessions_of(console)() as session:
        rows = session.scalars(select(Suspect).where(Suspect.id.in_(ids))).all()
        assert {s.status for s in rows} == {"false_positive"} and {s.status_by for s in rows} == {"ana"}
        assert session.scalar(select(SuspectEvent).where(SuspectEvent.suspect_id == ids[0],
                                                         SuspectEvent.note == "授权经销商")) is not None
    page.keyboard.press("j")
    page.keyboard.press("Enter")  # opens the focused row
    page.wait_for_url(re.compile(r".*/suspects/\d+$"))
    page.context.close()


def test_roles_are_enforced_on_the_server(console, browser):
    analyst = signed_in(browser, console, "ana")
    token = csrf(analyst)
    refused = analyst.request.post(console.url + "/operations/campaigns/cable-daily",
                                   form={"csrf_token": token, "schedule": "2d"})
    assert refused.status == 403
    assert analyst.request.post(console.url + "/operations/campaigns/cable-daily/pause",
                                form={"csrf_token": token}).status == 403
    assert analyst.request.post(console.url + "/evidence/export", form={"csrf_token": token, "ids": "1"}).status == 403
    analyst.context.close()

    operator = signed_in(browser, console, "op")
    token = csrf(operator)
    assert operator.request.post(console.url + "/suspects/1/decide",
                                 form={"csrf_token": token, "status": "confirmed", "version": "0"}).status == 403
    operator.goto(console.url + "/operations")
    operator.click("#campaigns form[action$='/pause'] button")
    operator.wait_for_selector("#campaigns >> text=已暂停")
    operator.click("#campaigns form[action$='/run'] button")  # run now: lands on the run's page
    operator.wait_for_url(re.compile(r".*/operations/runs/\d+$"))
    run_id = int(operator.url.rsplit("/", 1)[1])
    with sessions_of(console)() as session:
        assert session.get(CrawlRun, run_id).trigger == "console"
    operator.goto(console.url + "/operations/campaigns/cable-daily")
    operator.fill("input[name=max_pages]", "3")
    operator.click("#campaign-edit button[type=submit]")
    operator.wait_for_selector(".flash-saved")
    assert operator.input_value("input[name=max_pages]") == "3"
    operator.context.close()


def test_a_form_without_its_csrf_token_is_refused(console, browser):
    page = signed_in(browser, console, "ana")
    with sessions_of(console)() as session:
        suspect = session.scalar(select(Suspect).where(Suspect.status == "new").order_by(Suspect.id))
    response = page.request.post(f"{console.url}/suspects/{suspect.id}/decide",
                                 form={"status": "closed", "version": str(suspect.version)})
    assert response.status == 400 and "CSRF" in response.text()
    with sessions_of(console)() as session:
        assert session.get(Suspect, suspect.id).status == "new"
    page.context.close()


def test_hostile_listing_text_is_shown_as_text(console, browser):
    with sessions_of(console)() as session:
        suspect_id = session.scalar(select(Suspect.id).join(ListingSnapshot, ListingSnapshot.id == Suspect.snapshot_id)
                                    .where(ListingSnapshot.title == HOSTILE))
    assert suspect_id is not None, "the hostile listing was not flagged"
    page = signed_in(browser, console, "ana")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{console.url}/suspects?brand=美的")
    page.goto(f"{console.url}/suspects/{suspect_id}")
    assert page.inner_text("#title") == HOSTILE
    assert page.locator("#title script, #title img, .facts b script").count() == 0
    assert page.get_attribute(".facts a[target=_blank]", "href") == "#"  # a javascript: URL is no link
    assert dialogs == []
    page.context.close()


def test_two_analysts_deciding_one_suspect_get_one_success_and_one_conflict(console, browser):
    with sessions_of(console)() as session:
        suspect_id = session.scalar(select(Suspect.id).where(Suspect.status == "new").order_by(Suspect.score.desc()))
    first, second = signed_in(browser, console, "ana"), signed_in(browser, console, "ana2")
    for page in (first, second):
        page.goto(f"{console.url}/suspects/{suspect_id}")
    with first.expect_navigation():
        first.click("#decide button[value=confirmed]")
    with second.expect_response(lambda r: r.url.endswith("/decide")) as answer:
        second.click("#decide button[value=false_positive]")
    assert answer.value.status == 409
    assert "ana" in second.inner_text("#conflict") and "已确认" in second.inner_text("#conflict")
    with sessions_of(console)() as session:
        assert session.get(Suspect, suspect_id).status == "confirmed"
        events = session.scalars(select(SuspectEvent).where(SuspectEvent.suspect_id == suspect_id)).all()
        assert [(e.by, e.to_status) for e in events] == [("ana", "confirmed")]
    first.context.close()
    second.context.close()


def test_concurrent_decisions_on_one_version_write_exactly_one(console):
    """The same race without browsers, both deciders released at once by a barrier."""
    from crawler.app.triage import DecisionConflict, decide

    sessions = sessions_of(console)
    with sessions() as session:
        suspect = session.scalar(select(Suspect).where(Suspect.status == "new").order_by(Suspect.id.desc()))
    barrier, outcomes = threading.Barrier(2), []

    def decider(name: str, status: str) -> None:
        barrier.wait()
        try:
            decide(sessions, suspect.id, status, name, expected_version=suspect.version)
            outcomes.append("ok")
        except DecisionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decider, args=args) for args in (("a", "confirmed"), ("b", "closed"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "ok"]


def test_enforcement_exports_selected_cases_and_verifies_an_upload(console, browser):
    with sessions_of(console)() as session:
        captured = session.scalar(select(EvidenceCapture.suspect_id).where(EvidenceCapture.status == "ok")
                                  .order_by(EvidenceCapture.id.desc()))
    page = signed_in(browser, console, "law")
    page.goto(f"{console.url}/suspects?ids={captured}")
    page.check(f"#row-{captured} input[name=pick]")
    page.select_option("#bulk-action", "export")
    page.click("#bulk-submit")
    page.wait_for_selector(".flash-exported")
    package = next((console.out / "packages").glob(f"case-{captured}*.zip"))
    assert page.locator(f"#packages a:has-text('{package.name}')").count() >= 1
    page.set_input_files("#upload input[name=package]", str(package))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#verdict")
    assert "校验通过" in page.inner_text("#verdict")
    broken = package.with_name("broken.zip")
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    page.goto(console.url + "/evidence")
    page.set_input_files("#upload input[name=package]", str(broken))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#verdict")
    assert "校验未通过" in page.inner_text("#verdict")
    page.context.close()


def test_sampling_orders_results_and_the_report(console, browser):
    page = signed_in(browser, console, "ana")
    page.goto(console.url + "/sampling")
    page.fill("#create-orders input[name=limit]", "2")
    page.click("#create-orders button[type=submit]")
    page.wait_for_selector(".flash-ordered")
    assert page.locator("#orders tbody tr").count() >= 2
    page.fill("#orders form input[name=note] >> nth=0", "导体电阻不合格")
    page.click("#orders form button[value=fail] >> nth=0")
    page.wait_for_selector("#orders >> text=导体电阻不合格")
    page.goto(console.url + "/reports")
    with page.expect_navigation():
        page.click("#report button[type=submit]")
    assert page.locator("img[src^='data:image/png']").count() >= 1  # the report's charts
    page.context.close()


def test_an_account_whose_password_changes_or_is_disabled_is_signed_out(console, browser):
    page = signed_in(browser, console, "limited")
    changed = subprocess.run([*LIJIAN, "user", "passwd", "limited", "--password-stdin"], input="limited-pass-2\n",
                             capture_output=True, text=True, env=console.env)
    assert changed.returncode == 0, changed.stderr
    page.goto(console.url + "/suspects")
    assert "/login" in page.url
    PASSWORDS["limited"] = ("analyst", "limited-pass-2")
    page = signed_in(browser, console, "limited")
    assert run_lijian("user", "disable", "limited", env=console.env).returncode == 0
    page.goto(console.url + "/suspects")
    assert "/login" in page.url
    page.fill("input[name=username]", "limited")
    page.fill("input[name=password]", "limited-pass-2")
    page.click("form.login button[type=submit]")
    assert "/login" in page.url and page.locator(".flash-error").count() == 1
    page.context.close()


def test_login_attempts_are_limited(console, browser):
    page = browser.new_page()
    for _ in range(5):
        page.goto(console.url + "/login")
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", "wrong password")
        page.click("form.login button[type=submit]")
    page.goto(console.url + "/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORDS["boss"][1])
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.click("form.login button[type=submit]")
    assert answer.value.status == 429  # even the right password, for a while
    page.close()
    signed_in(browser, console, "ana").context.close()  # other accounts from this address still sign in


def test_an_idle_session_ends(console):
    """Idle longer than LIJIAN_SESSION_MINUTES: the next request goes to the sign-in page (the
    app itself, through Flask's test client, with the session's last request moved back)."""
    from datetime import datetime, timezone

    from crawler.config import load_config
    from crawler.console import create_app

    config = load_config(database_url=console.db_url, console_secret=console.env["LIJIAN_CONSOLE_SECRET"])
    app = create_app(config)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    answer = client.post("/login", data={"username": "boss", "password": PASSWORDS["boss"][1]})
    assert answer.status_code == 302 and client.get("/suspects").status_code == 200
    with client.session_transaction() as session:
        session["seen"] = datetime.now(timezone.utc).timestamp() - config.session_minutes * 60 - 1
    answer = client.get("/suspects")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_every_page_but_signing_in_names_the_permission_it_needs(console):
    """Roles are checked on the server for every action: each view is wrapped by require()."""
    from crawler.config import load_config
    from crawler.console import create_app

    app = create_app(load_config(database_url=console.db_url, console_secret=console.env["LIJIAN_CONSOLE_SECRET"]))
    open_views = {"auth.login", "auth.logout", "static", "suspects.home"}
    unguarded = [rule.endpoint for rule in app.url_map.iter_rules()
                 if rule.endpoint not in open_views and not hasattr(app.view_functions[rule.endpoint], "required")]
    assert unguarded == []
    writes = {rule.endpoint: app.view_functions[rule.endpoint].required for rule in app.url_map.iter_rules()
              if "POST" in rule.methods and rule.endpoint not in open_views}
    assert writes["suspects.decide"] == "decide" and writes["operations.campaign_action"] == "operate"
    assert writes["casework.evidence_export"] == "evidence" and writes["casework.sampling_orders"] == "sample"


def test_runs_count_the_suspects_a_plain_crawl_produced(console):
    """The demo's crawl is no campaign run; `lijian runs` still counts the suspects its pages gave."""
    with sessions_of(console)() as session:
        flagged = session.scalar(select(func.count(Suspect.id))
                                 .join(ListingSnapshot, ListingSnapshot.id == Suspect.snapshot_id)
                                 .where(ListingSnapshot.crawl_run_id == 1))
    assert flagged > 5
    shown = run_lijian("runs", "show", "1", env=console.env)
    assert shown.returncode == 0 and f"suspects flagged on this run's pages: {flagged}" in shown.stdout
