"""Signed-in sessions: a marketplace that shows results only to a signed-in buyer (a loopback
shop here), crawled without a session (the login wall), with an imported one (results), and
with one the site no longer accepts ("session expired" in the run's health)."""

from __future__ import annotations

import json
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from crawler.storage.db import open_database, session_factory
from crawler.storage.models import CrawlRun, Listing
from tests.conftest import HTML, loopback_site, run_lijian

TOKEN = "s3ss10n-V4LUE-never-printed"
PROFILE = """
name: loginshop
title: A shop that shows results only to signed-in buyers
domains: [127.0.0.1]
search:
  url: "{base}/search?q={keyword}&page={page}"
  max_pages: 1
  cards: ["css:ul.r li.c"]
  fields:
    title: ["css:a.t"]
    url: ["css:a.t::attr(href)"]
    price: ["css:span.p"]
    item_id: ["xpath:./@data-id"]
detail:
  generic_fallback: false
  fields:
    listing_key: ["url:/item/(\\\\d+)\\\\.html$"]
    title: ["css:h1"]
    price: ["css:span.p"]
    currency: ["const:CNY"]
blocked:
  - kind: login
    text: 请登录后查看
"""


def login_shop(path, headers, base):
    signed_in = f"_tb_token={TOKEN}" in (headers.get("Cookie") or "")
    if path.startswith("/search"):
        body = ("<ul class='r'>" + "".join(
            f"<li class='c' data-id='{n}'><a class='t' href='/item/{n}.html'>国标电线 BV2.5 {n}</a>"
            f"<span class='p'>¥{10 + n}.00</span></li>" for n in range(1, 4)) + "</ul>") if signed_in else (
            "<html><head><title>登录</title></head><body><div>请登录后查看搜索结果</div></body></html>")
    elif path.startswith("/item/"):
        n = path.split("/")[-1].split(".")[0]
        body = f"<html><body><h1>国标电线 BV2.5 {n}</h1><span class='p'>¥{10 + int(n)}.00</span></body></html>"
    elif path == "/robots.txt":
        body = "User-agent: *\nAllow: /\n"
    else:
        return 404, b"", []
    return 200, body, HTML


@pytest.fixture
def shop():
    with loopback_site(login_shop) as base:
        yield base


def storage_state(path, value: str, domain: str = "127.0.0.1") -> None:
    path.write_text(json.dumps({"cookies": [
        {"name": "_tb_token", "value": value, "domain": domain, "path": "/", "expires": 4102444800,
         "httpOnly": True, "secure": False, "sameSite": "Lax"},
        {"name": "other", "value": "x", "domain": ".example.com", "path": "/", "expires": -1}], "origins": []}),
        encoding="utf-8")


def test_a_session_opens_the_results_and_an_expired_one_says_so(shop, tmp_path, db_url):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "loginshop.yaml").write_text(PROFILE, encoding="utf-8")
    env = {"LIJIAN_SESSIONS": str(tmp_path / "sessions"), "LIJIAN_PROFILES": str(profiles)}
    crawl = ["crawl", "--site", "loginshop", "--keyword", "电线", "--base-url", shop, "--db", db_url]
    sessions = session_factory(open_database(db_url))

    def listings() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(Listing))

    def last_run() -> CrawlRun:
        with sessions() as session:
            return session.scalar(select(CrawlRun).order_by(CrawlRun.id.desc()))

    run_lijian(*crawl, env=env)  # the login wall: nothing
    assert listings() == 0 and not last_run().health["loginshop"]["session_expired"]

    export = tmp_path / "storage-state.json"
    storage_state(export, TOKEN)
    imported = run_lijian("session", "import", "loginshop", str(export), env=env)
    assert imported.returncode == 0 and "1 cookies kept, 1 of other sites left out" in imported.stdout
    stored = tmp_path / "sessions" / "loginshop.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600 and stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    status = run_lijian("session", "status", env=env)
    assert "loginshop" in status.stdout and TOKEN not in status.stdout + imported.stdout

    done = run_lijian(*crawl, "--log-level", "DEBUG", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert listings() == 3 and TOKEN not in done.stdout + done.stderr  # never logged

    storage_state(export, "a-value-the-site-no-longer-takes")
    assert run_lijian("session", "import", "loginshop", str(export), env=env).returncode == 0
    run_lijian(*crawl, env=env)
    run = last_run()
    assert run.health["loginshop"]["session_expired"] > 0 and "session expired" in (run.degraded_reason or "")

    cleared = run_lijian("session", "clear", "loginshop", env=env)
    assert cleared.returncode == 0 and not stored.exists()


@pytest.mark.parametrize("content, words", [
    ("not a session", "neither JSON nor a Netscape cookies.txt"),
    ('{"cookies": "x"}', "without a list of cookies"),
    ('[{"name": "a", "value": "b", "domain": "other.example"}]', "none of its 1 cookies is for 127.0.0.1"),
    ("127.0.0.1\tFALSE\t/\tFALSE\t0\t_tb_token\tok", None),  # a Netscape cookies.txt
])
def test_session_exports_are_read_or_refused_in_one_line(tmp_path, content, words):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "loginshop.yaml").write_text(PROFILE, encoding="utf-8")
    export = tmp_path / "export.txt"
    export.write_text(content, encoding="utf-8")
    env = {"LIJIAN_SESSIONS": str(tmp_path / "sessions"), "LIJIAN_PROFILES": str(profiles)}
    done = run_lijian("session", "import", "loginshop", str(export), env=env)
    if words is None:
        assert done.returncode == 0 and "1 cookies kept" in done.stdout
    else:
        assert done.returncode == 1 and words in done.stderr and "Traceback" not in done.stderr
    assert not os.environ.get("LIJIAN_SESSIONS")  # the test's own environment is untouched


def test_a_campaign_run_whose_session_expired_is_notified_as_such(tmp_path):
    """notify() on a run whose crawl stage was degraded by an expired session: the webhook gets
    'session expired', not a plain block (a real loopback receiver)."""
    from types import SimpleNamespace

    from crawler.campaigns.notify import notify
    from crawler.campaigns.outcome import RunOutcome
    from crawler.config import load_config

    bodies: list[dict] = []
    done = threading.Event()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            done.set()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = load_config(notify_webhook=f"http://127.0.0.1:{server.server_address[1]}/hook")
        outcome = RunOutcome(7, "finished", stages={"crawl": {"status": "finished", "degraded": (
            "taobao: session expired (its login wall came back 3 times): import a fresh one with "
            "lijian session import taobao FILE")}})
        notify(config, SimpleNamespace(name="taobao-daily", notify_threshold=None), outcome, lambda *a, **k: None)
        assert done.wait(10)
    finally:
        server.shutdown()
    assert bodies[0]["campaign"] == "taobao-daily" and bodies[0]["why"].startswith("session expired: taobao")
