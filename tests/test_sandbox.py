"""The sandbox marketplace: deterministic catalog, four flavours, faults, clear start-up errors."""

import json
import socket
import urllib.error
import urllib.request
from collections import Counter

import pytest

from crawler.sandbox.catalog import FLAVOURS, SUSPECT_KINDS, build_catalog
from crawler.sandbox.market_data import WORLD
from crawler.sandbox.server import FaultPlan
from tests.conftest import run_lijian, start_sandbox, stop_sandbox


def fetch(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_catalog_is_deterministic_and_seed_dependent():
    assert [l.title for l in build_catalog(200, 7).listings] == [l.title for l in build_catalog(200, 7).listings]
    assert [l.title for l in build_catalog(200, 7).listings] != [l.title for l in build_catalog(200, 8).listings]


def test_catalog_covers_every_flavour_category_and_suspect_kind():
    catalog = build_catalog()
    cells = Counter((l.flavour, l.category) for l in catalog.listings)
    assert set(cells) == {(f, w.slug) for f in FLAVOURS for w in WORLD}
    kinds = Counter(k for l in catalog.listings for k in l.suspect_kinds)
    assert set(kinds) == set(SUSPECT_KINDS)
    assert 0.2 < len(catalog.suspects()) / len(catalog.listings) < 0.6
    assert {l.hostile for l in catalog.listings if l.hostile} >= {"script", "long", "bidi"}


def test_every_listing_is_found_by_a_taxonomy_keyword():
    from watchlists import load_watchlists

    keywords = [k for c in load_watchlists().categories.values() for k in c.keywords]
    catalog = build_catalog()
    assert all(any(k in l.title for k in keywords) for l in catalog.listings)


def test_utf8_flavour_serves_search_and_detail(sandbox):
    listing = next(l for l in build_catalog(sandbox.listings, sandbox.seed).listings if l.flavour == "a")
    status, headers, body = fetch(sandbox.url + listing.path)
    assert status == 200 and "charset=utf-8" in headers["Content-Type"]
    assert str(listing.price) in body.decode("utf-8")


def test_gbk_flavour_declares_charset_in_header_or_meta_only(sandbox):
    listing = next(l for l in build_catalog(sandbox.listings, sandbox.seed).listings if l.flavour == "b")
    status, headers, body = fetch(sandbox.url + "/b/search?q=%B5%E7%CF%DF")  # 电线 in GBK
    assert status == 200 and headers["Content-Type"].endswith("charset=gbk") and b"charset" not in body.lower()
    assert "电线".encode("gbk") in body
    status, headers, body = fetch(sandbox.url + listing.path)
    assert headers["Content-Type"] == "text/html" and b"charset=gbk" in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_javascript_flavour_is_an_empty_shell_with_a_json_api(sandbox):
    listing = next(l for l in build_catalog(sandbox.listings, sandbox.seed).listings if l.flavour == "c")
    _, _, shell = fetch(sandbox.url + listing.path)
    assert listing.title.encode() not in shell and b"app.js" in shell
    _, _, api = fetch(f"{sandbox.url}/c/api/item/{listing.id}")
    assert json.loads(api)["title"] == listing.title


def test_json_ld_flavour_embeds_a_product_that_cannot_break_out_of_its_script(sandbox):
    catalog = build_catalog(sandbox.listings, sandbox.seed)
    hostile = next((l for l in catalog.listings if l.flavour == "d" and l.hostile == "script"), None)
    listing = hostile or next(l for l in catalog.listings if l.flavour == "d")
    _, _, body = fetch(sandbox.url + listing.path)
    assert b'"@type": "Product"' in body
    assert body.count(b"</script>") == 2  # only the two JSON-LD blocks end a script


def test_listing_is_only_on_its_own_flavour_and_robots_txt_exists(sandbox):
    listing = next(l for l in build_catalog(sandbox.listings, sandbox.seed).listings if l.flavour == "a")
    assert fetch(f"{sandbox.url}/b/item/{listing.id}.html")[0] == 404
    status, _, robots = fetch(sandbox.url + "/robots.txt")
    assert status == 200 and b"Disallow: /__sandbox__/" in robots


def test_hostile_titles_are_served_escaped_as_a_real_shop_would(sandbox):
    catalog = build_catalog(sandbox.listings, sandbox.seed)
    listing = next(l for l in catalog.listings if l.flavour == "a" and l.hostile in ("script", "img"))
    _, _, body = fetch(sandbox.url + listing.path)
    assert b"<script>alert" not in body and b"<img src=x" not in body and b"&lt;" in body


def test_fault_plan_fails_a_page_once_then_serves_it():
    plan = FaultPlan(modes=("5xx",), rate=1.0, seed=1)
    assert plan.fault_for("/a/item/1.html") == "5xx"
    assert plan.fault_for("/a/item/1.html") is None
    with pytest.raises(ValueError, match="unknown fault mode 'teapot'"):
        FaultPlan(modes=("teapot",))


@pytest.mark.parametrize("mode, status", [("5xx", 503), ("429", 429), ("captcha", 200)])
def test_fault_modes_over_http(mode, status):
    server = start_sandbox("--faults", mode, "--fault-rate", "1")
    try:
        code, headers, body = fetch(server.url + "/a/search?q=x")
        assert code == status
        if mode == "429":
            assert headers["Retry-After"] == "1"
        if mode == "captcha":
            assert "验证码".encode() in body
        assert fetch(server.url + "/a/search?q=x")[0] == 200  # second request succeeds
    finally:
        stop_sandbox(server)


def test_truncated_fault_sends_less_than_content_length():
    server = start_sandbox("--faults", "truncate", "--fault-rate", "1")
    try:
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as conn:
            conn.sendall(b"GET /a/search?q=x HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
        assert 0 < len(body) < length
    finally:
        stop_sandbox(server)


def test_port_in_use_is_a_one_line_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_lijian("sandbox", "serve", "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_fault_mode_is_a_usage_error():
    result = run_lijian("sandbox", "serve", "--faults", "teapot", timeout=60)
    assert result.returncode == 2 and "unknown fault mode 'teapot'" in result.stderr


def test_the_stats_page_answers_and_the_sandbox_keeps_serving(sandbox):
    """Reading the counts once deadlocked the whole sandbox (its lock was taken twice)."""
    with urllib.request.urlopen(f"{sandbox.url}/__sandbox__/stats", timeout=10) as response:
        first = json.loads(response.read())
    with urllib.request.urlopen(f"{sandbox.url}/__sandbox__/stats", timeout=10) as response:
        second = json.loads(response.read())
    assert second["requests"] > first["requests"] >= 1
    with urllib.request.urlopen(f"{sandbox.url}/robots.txt", timeout=10) as response:
        assert response.status == 200


def test_a_client_hanging_up_is_counted_not_printed(capsys):
    """A crawler that stops mid-request reset the connection: the sandbox printed a traceback."""
    import struct
    import threading

    from crawler.sandbox.server import make_server

    server = make_server("127.0.0.1", 0, listings=20, seed=1)
    server.start_in_thread()
    try:
        host, port = server.server_address[:2]
        for _ in range(3):
            client = socket.create_connection((host, port), timeout=5)
            client.sendall(b"GET /a/search?q=x")  # an unfinished request line, then a reset
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
        done = threading.Event()
        for _ in range(100):  # the server thread records the disconnects as they happen
            with server.counts_lock:
                if server.counts["client_disconnects"] >= 1:
                    done.set()
                    break
            done.wait(0.05)
        assert done.is_set(), dict(server.counts)
    finally:
        server.stop()
    assert "Traceback" not in capsys.readouterr().err
