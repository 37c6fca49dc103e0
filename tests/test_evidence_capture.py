"""Evidence capture from the sandbox in real Chromium, export as signed packages (zip and
WACZ), offline replay, tampering, and the capture policy — against a real crawl and match."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence.package import safe_path
from crawler.evidence.verify import package_bytes, read_package, verify_package
from crawler.evidence.replay import package_warcs, replay, warc_responses
from crawler.extract.archive import InputPage
from crawler.extract.page import extract_page
from crawler.items import ListingItem
from crawler.app.matching import match_new_snapshots
from crawler.profiles import BUNDLED_PROFILES, load_profiles
from crawler.storage.db import open_database, session_factory
from crawler.storage.listings import ListingStore
from crawler.storage.models import EvidenceCapture, Listing, Suspect
from tests.conftest import fresh_database, run_lijian
from watchlists import load_watchlists

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> 美旳 电饭煲'


@pytest.fixture(scope="module")
def crawled(sandbox, tmp_path_factory):
    """Flavours a (server-rendered) and c (JavaScript) crawled and matched, a signing key made."""
    folder = tmp_path_factory.mktemp("evidence")
    with fresh_database(folder) as db_url:
        yield from _crawl_and_match(sandbox, folder, db_url)


def _crawl_and_match(sandbox, folder, db_url):
    result = run_lijian("crawl", "--sandbox", sandbox.url, "--db", db_url, "--site", "a", "--site", "c",
                        "--category", "fertilizer", "--category", "children")
    assert result.returncode == 0, result.stderr[-2000:]
    sessions = session_factory(open_database(db_url))
    assert match_new_snapshots(sessions, load_watchlists(None)).flagged > 0
    env = {"LIJIAN_OUT": str(folder / "out"), "LIJIAN_EVIDENCE_KEY": str(folder / "key.pem")}
    assert run_lijian("evidence", "keygen", env=env).returncode == 0
    yield {"db": db_url, "sessions": sessions, "env": env, "folder": folder, "sandbox": sandbox}


def suspect_on(sessions, flavour: str) -> tuple[int, int, str]:
    with sessions() as session:
        suspect, listing = session.execute(
            select(Suspect, Listing).join(Listing, Listing.id == Suspect.listing_id)
            .where(Listing.marketplace == f"sandbox-{flavour}").order_by(Suspect.score.desc())).first()
        return suspect.id, listing.id, listing.url


def non_blank(png: bytes) -> bool:
    image = Image.open(io.BytesIO(png)).convert("L")
    low, high = image.getextrema()
    return image.size[0] >= 800 and high - low > 100 and len(image.getcolors(256) or ()) > 10


@pytest.fixture(scope="module")
def captured(crawled):
    ids = {flavour: suspect_on(crawled["sessions"], flavour) for flavour in ("a", "c")}
    refs = [str(ids["a"][1]), f"suspect:{ids['c'][0]}"]
    result = run_lijian("evidence", "capture", *refs, "--db", crawled["db"], env=crawled["env"])
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "2 captured, 0 failed" in result.stdout
    return {**crawled, "ids": ids}


def capture_of(sessions, listing_id: int) -> EvidenceCapture:
    with sessions() as session:
        return session.scalars(select(EvidenceCapture).where(EvidenceCapture.listing_id == listing_id)
                               .order_by(EvidenceCapture.id.desc())).first()


def blob(crawled, info: dict) -> bytes:
    from crawler.evidence.capture import EvidenceStore

    return EvidenceStore(crawled["folder"] / "out" / "evidence").read(info)


@pytest.mark.parametrize("flavour", ["a", "c"])
def test_a_capture_holds_a_replayable_warc_a_screenshot_dom_and_the_facts(captured, flavour):
    suspect_id, listing_id, url = captured["ids"][flavour]
    capture = capture_of(captured["sessions"], listing_id)
    assert capture.status == "ok" and capture.suspect_id == suspect_id and capture.record_sha256
    assert {"page.warc.gz", "screenshot.png", "dom.html", "listing.json", "signals.json", "capture.json",
            "seller.html", "seller.png"} <= set(capture.files)
    listing = json.loads(blob(captured, capture.files["listing.json"]))
    title = listing["snapshot"]["title"]
    # The WARC's response record for the listing URL is the page as served.
    warc = blob(captured, capture.files["page.warc.gz"])
    responses = warc_responses(warc)
    assert responses[url].status == 200
    kinds = [r.rec_type for r in ArchiveIterator(io.BytesIO(warc))]
    assert kinds[0] == "warcinfo" and kinds.count("request") == kinds.count("response") >= 2
    if flavour == "a":
        html = responses[url].body.decode("utf-8")
        (record,) = extract_page(InputPage("warc", url, None, "utf-8", html), load_profiles(BUNDLED_PROFILES))
        assert record["page_type"] == "product" and record["title"] == title
    else:  # the JavaScript shop: the page is a shell, the listing comes from its API, also recorded
        assert title not in responses[url].body.decode("utf-8")
        assert any("/api/" in u and title in r.body.decode("utf-8") for u, r in responses.items())
    # The rendered DOM shows what the browser showed, JavaScript included.
    assert title in blob(captured, capture.files["dom.html"]).decode("utf-8")
    assert non_blank(blob(captured, capture.files["screenshot.png"]))
    facts = json.loads(blob(captured, capture.files["capture.json"]))
    assert facts["captured_utc"].endswith("+00:00") and facts["captured_shanghai"].endswith("+08:00")
    assert facts["http_status"] == 200 and facts["profile"] == f"sandbox-{flavour}"
    assert facts["browser"].startswith("Chromium") and facts["tool"].startswith("lijian-monitor")
    assert facts["matcher_algorithm"] and facts["watchlist_hash"]
    signals = json.loads(blob(captured, capture.files["signals.json"]))
    assert signals["suspect_id"] == suspect_id and signals["signals"] and "weight" in signals["signals"][0]


def test_the_javascript_capture_replays_offline_in_chromium(captured):
    from crawler.config import find_chromium

    _, listing_id, url = captured["ids"]["c"]
    capture = capture_of(captured["sessions"], listing_id)
    title = json.loads(blob(captured, capture.files["listing.json"]))["snapshot"]["title"]
    replayed = replay([blob(captured, capture.files["page.warc.gz"])], url, find_chromium(),
                      wait_for="#app[data-ready], #app[data-error]")
    assert title in replayed.dom and "data-ready" in replayed.dom and replayed.missing == []
    assert any("/api/" in u for u in replayed.served) and non_blank(replayed.screenshot)


def test_files_are_stored_once_by_content(captured):
    from crawler.evidence.capture import EvidenceStore

    _, listing_id, _ = captured["ids"]["a"]
    store = EvidenceStore(captured["folder"] / "out" / "evidence")
    before = {p.name for p in (store.root / "blobs").rglob("*") if p.is_file()}
    again = run_lijian("evidence", "capture", str(listing_id), "--db", captured["db"], env=captured["env"])
    assert again.returncode == 0, again.stderr[-2000:]
    first, second = (c for c in _captures(captured["sessions"], listing_id)[-2:])
    same = [n for n in first.files if first.files[n]["sha256"] == second.files.get(n, {}).get("sha256")]
    assert "listing.json" in same and "signals.json" in same  # same content: one file in the store
    after = {p.name for p in (store.root / "blobs").rglob("*") if p.is_file()}
    assert len(after - before) == len(second.files) - len(same)
    assert not list((store.root / "blobs").rglob("*.part"))


def _captures(sessions, listing_id: int) -> list[EvidenceCapture]:
    with sessions() as session:
        return list(session.scalars(select(EvidenceCapture).where(EvidenceCapture.listing_id == listing_id)
                                    .order_by(EvidenceCapture.id)))


@pytest.fixture(scope="module")
def exported(captured):
    suspect_id = captured["ids"]["c"][0]
    out = captured["folder"] / "packages"
    result = run_lijian("evidence", "export", "--suspect", str(suspect_id), "--format", "wacz", "--out", str(out),
                        "--by", "执法员甲", "--db", captured["db"], env=captured["env"])
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    return {**captured, "package": out / f"case-{suspect_id}.zip", "wacz": out / f"case-{suspect_id}.wacz"}


def test_an_exported_package_verifies_and_its_wacz_is_a_valid_web_archive(exported):
    from wacz.main import main as wacz_main

    package = exported["package"]
    assert verify_package(package) == []
    members = read_package(package)
    manifest = json.loads(members["manifest.json"])
    names = {f["path"] for f in manifest["files"]}
    assert "files/summary.html" in names and any(n.endswith("/page.warc.gz") for n in names)
    assert f"files/{exported['wacz'].name}" in names and manifest["case"]["captures"]
    actions = [json.loads(line)["action"] for line in members["custody.jsonl"].decode().splitlines()]
    assert actions[0] == "capture" and actions[-1] == "export"
    assert wacz_main(["validate", "-f", str(exported["wacz"])]) == 0
    with zipfile.ZipFile(exported["wacz"]) as wacz:
        pages = wacz.read("pages/pages.jsonl").decode().splitlines()
        assert exported["ids"]["c"][2] in pages[1]
        assert wacz.getinfo(next(n for n in wacz.namelist() if n.startswith("archive/"))).compress_type == 0
    # The WACZ replays the JavaScript listing with no network (the package's own WARC too).
    summary = members["files/summary.html"].decode("utf-8")
    assert "证据摘要" in summary and "执法员甲" in summary and "capture-" in summary
    cli = run_lijian("evidence", "replay", str(package), env=exported["env"])
    assert cli.returncode == 0 and "0 requests not in it" in cli.stdout, cli.stdout + cli.stderr[-1500:]
    assert len(package_warcs(exported["wacz"])) == 1


def test_any_single_changed_byte_added_or_removed_file_is_named(exported, tmp_path):
    members = read_package(exported["package"])
    for name in [n for n in members if n != "manifest.sig"]:
        tampered = dict(members)
        data = bytearray(tampered[name])
        data[len(data) // 2] ^= 0x01
        tampered[name] = bytes(data)
        copy = tmp_path / "t.zip"
        copy.write_bytes(package_bytes(tampered))
        problems = verify_package(copy)
        assert problems, name
        if name.startswith("files/"):
            assert any(p.startswith(f"{name}: changed") for p in problems), (name, problems)
        elif name == "custody.jsonl":
            assert any(p.startswith("custody.jsonl line") for p in problems)
    removed = {n: d for n, d in members.items() if not n.endswith("screenshot.png")}
    copy = tmp_path / "r.zip"
    copy.write_bytes(package_bytes(removed))
    result = run_lijian("evidence", "verify", str(copy))
    assert result.returncode == 1 and "screenshot.png: removed" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_time_stamps_with_the_configured_tsa_and_verify_checks_it(captured, tmp_path):
    from tests.tsa_server import start_tsa

    suspect_id = captured["ids"]["a"][0]
    folder = tmp_path / "tsa"
    folder.mkdir()
    tsa = start_tsa(folder)
    try:
        env = {**captured["env"], "LIJIAN_TSA_URL": tsa.url, "LIJIAN_TSA_CA": str(tsa.ca_pem)}
        out = tmp_path / "stamped"
        result = run_lijian("evidence", "export", "--suspect", str(suspect_id), "--out", str(out),
                            "--db", captured["db"], env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert len(tsa.queries) == 1 and "manifest.tsr" in read_package(out / f"case-{suspect_id}.zip")
        checked = run_lijian("evidence", "verify", str(out / f"case-{suspect_id}.zip"), env=env)
        assert checked.returncode == 0 and "checked against the trusted TSA certificate" in checked.stdout
    finally:
        tsa.stop()
    down = run_lijian("evidence", "export", "--suspect", str(suspect_id), "--out", str(tmp_path / "down"),
                      "--db", captured["db"], env=env)  # the TSA is gone now
    assert down.returncode == 1 and f"time-stamp authority {tsa.url} did not answer" in down.stderr
    assert "Traceback" not in down.stderr and not list((tmp_path / "down").glob("*.zip"))


def test_hostile_listing_text_is_escaped_in_the_summary(crawled, tmp_path, db_url):
    sandbox = crawled["sandbox"]
    sessions = session_factory(open_database(db_url))
    # A listing whose stored title is hostile, at a real sandbox page (so there is something to capture).
    ListingStore(sessions).save(ListingItem(
        marketplace="sandbox-a", listing_key="h1", url=f"{sandbox.url}/a/item/10001.html", title=HOSTILE,
        price=Decimal("19.00"), currency="CNY", category="appliance", brand="美旳", seller_key="Sh",
        seller_name="<b>店</b>", specs={"品牌": "美旳"}), None)
    match_new_snapshots(sessions, load_watchlists(None))
    env = crawled["env"]
    assert run_lijian("evidence", "capture", "suspect:1", "--db", db_url, env=env).returncode == 0
    out = tmp_path / "p"
    result = run_lijian("evidence", "export", "--suspect", "1", "--out", str(out), "--db", db_url, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = read_package(out / "case-1.zip")["files/summary.html"].decode("utf-8")
    assert "<script>alert" not in summary and "<img src=x" not in summary
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in summary or "&lt;script&gt;alert(&quot;x&quot;)" in summary


def test_bad_requests_get_clear_errors_and_failed_captures_are_recorded(crawled, tmp_path, db_url):
    env, db = crawled["env"], crawled["db"]
    cases = [
        (["evidence", "capture"], "give LISTINGS or --policy"),
        (["evidence", "capture", "999999"], "no listing 999999"),
        (["evidence", "capture", "--policy", "sometimes"], "policy 'sometimes'"),
        (["evidence", "export"], "exactly one of --suspect, --digest or --campaign"),
        (["evidence", "export", "--digest", "yesterday"], "a date like"),
        (["evidence", "export", "--campaign", "nope"], "no campaign 'nope'"),
    ]
    for args, message in cases:
        result = run_lijian(*args, "--db", db, env=env)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    nokey = run_lijian("evidence", "export", "--suspect", "1", "--db", db,
                       env={**env, "LIJIAN_EVIDENCE_KEY": str(tmp_path / "none.pem")})
    assert nokey.returncode == 1 and "lijian evidence keygen" in nokey.stderr
    # A listing that is gone (nothing listens on its port any more) is a failed capture, with its reason.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sessions = session_factory(open_database(db_url))
    ListingStore(sessions).save(ListingItem(
        marketplace="sandbox-a", listing_key="g1", url=f"http://127.0.0.1:{closed_port}/a/item/1.html", title="美旳 电饭煲",
        price=Decimal("19.00"), currency="CNY", category="appliance", brand="美旳", seller_key="Sg",
        seller_name="店", specs={}), None)
    match_new_snapshots(sessions, load_watchlists(None))
    gone = run_lijian("evidence", "capture", "1", "--db", db_url, env=env)
    assert gone.returncode == 1 and "FAILED" in gone.stderr and "Traceback" not in gone.stderr
    (row,) = _captures(sessions, 1)
    assert row.status == "failed" and "ERR_CONNECTION_REFUSED" in row.error
    skipped = run_lijian("evidence", "export", "--suspect", "1", "--db", db_url, "--out", str(tmp_path / "o"), env=env)
    assert skipped.returncode == 1 and "no capture of listing 1" in skipped.stderr


def test_the_policy_captures_each_current_snapshot_once(crawled, tmp_path):
    from crawler.evidence.capture import listings_to_capture

    with crawled["sessions"]() as session:
        high = listings_to_capture(session, "score>=0.9")
        everything = listings_to_capture(session, "suspects")
        assert listings_to_capture(session, "on_demand") == [] and set(high) <= set(everything)
    first = run_lijian("evidence", "capture", "--policy", "score>=0.9", "--limit", "2", "--db", crawled["db"],
                       env=crawled["env"])
    assert first.returncode == 0, first.stderr[-2000:]
    with crawled["sessions"]() as session:
        remaining = listings_to_capture(session, "score>=0.9")
    assert len(remaining) == max(0, len(high) - 2) or set(remaining) < set(high)
    assert not set(high[:2]) & set(remaining)


def test_member_paths_inside_packages_are_sanitised():
    assert safe_path("capture-3/screenshot.png") == "capture-3/screenshot.png"
    assert safe_path("../../etc/passwd") == "etc/passwd"
    assert safe_path("a/b/c/d/e.txt") == "c/d/e.txt" and safe_path("..") == "file"
