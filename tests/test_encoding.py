"""A page's encoding is checked against its bytes before its declaration is trusted: saved
pages (lijian extract) and crawled ones (the downloader middleware) alike. And a crawl, cookies
and all, contacts no host but the ones it was given (crawler/middlewares.py)."""

from __future__ import annotations

import codecs
import json

import pytest
from sqlalchemy import select

from crawler.extract.encoding import decode_html, sniff
from crawler.storage.models import ListingSnapshot
from tests.conftest import HTML, SHARED_CORPUS, loopback_site, needs_corpus, run_lijian

TITLE = "美的 电饭煲 MB-FB40 家用智能"


def page(title: str, charset: str | None = None) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    product = json.dumps({"@context": "https://schema.org", "@type": "Product", "name": title,
                          "offers": {"@type": "Offer", "price": "299.00", "priceCurrency": "CNY"}}, ensure_ascii=False)
    return (f"<html><head>{meta}<title>{title}</title><script type='application/ld+json'>{product}</script></head>"
            f"<body><h1>{title}</h1><p>价格 ￥299.00 店铺 美的官方旗舰店 现货</p></body></html>")


@pytest.mark.parametrize("body, content_type, expected", [
    (page(TITLE).encode("gbk"), "text/html", "gb18030"),  # GBK, nothing declared
    (page(TITLE, "gbk").encode("utf-8"), "text/html", "utf-8"),  # UTF-8 still declaring gbk
    (page(TITLE).encode("utf-8"), "text/html; charset=gb2312", "utf-8"),  # …in the header
    (page(TITLE, "gbk").encode("gbk"), None, "gb18030"),  # GBK, declared: gbk read as its superset
    (codecs.BOM_UTF16_LE + page(TITLE).encode("utf-16-le"), None, "utf-16-le"),
    ('<html><head><meta charset="iso-8859-1"><title>Café crème</title></head><body>Café</body></html>'
     .encode("latin-1"), None, "cp1252"),  # declared and clean: kept (as the browsers' windows-1252)
    (b'<html><head><meta charset="gbk"><title>plain</title></head><body>ascii</body></html>', None,
     "gb18030"),  # nothing contradicts it
])
def test_the_bytes_decide_when_the_declaration_is_wrong(body, content_type, expected):
    encoding, why = sniff(body, content_type)
    assert codecs.lookup(encoding).name == codecs.lookup(expected).name, why
    encoding, text = decode_html(body, content_type)
    assert "\ufffd" not in text and not text.startswith("\ufeff")


@needs_corpus(SHARED_CORPUS / "cn-marketplaces")
def test_every_dev_page_of_the_chinese_marketplaces_is_read_in_its_own_encoding():
    """The hand-written truth names each page's encoding; the detection must agree on every
    page (w3lib's alone read 2 of 26 wrong: a GBK page with no charset, a UTF-8 one saying gbk)."""
    root = SHARED_CORPUS / "cn-marketplaces"
    truth = {**json.loads((root / "truth_detail.json").read_text(encoding="utf-8")),
             **json.loads((root / "truth_search.json").read_text(encoding="utf-8"))}
    family = {"gbk": "gb18030", "gb2312": "gb18030", "utf-8-sig": "utf-8", "utf-16-le": "utf-16", "utf-16le": "utf-16"}
    wrong = []
    for name, entry in truth.items():
        if name.startswith("_") or not entry.get("encoding"):
            continue
        want = entry["encoding"].split(" ")[0].lower()
        encoding, text = decode_html((root / name).read_bytes())
        got = codecs.lookup(encoding).name.replace("_", "-")
        if family.get(got, got) != family.get(want, want) or "\ufffd" in text[:50000]:
            wrong.append((name, encoding, want))
    assert wrong == [] and len([n for n in truth if not n.startswith("_")]) >= 26


def test_a_crawl_reads_a_mislabelled_page_in_the_encoding_of_its_bytes(tmp_path, db_url):
    pages = {"/p/1.html": (page(TITLE).encode("gbk"), "text/html"),
             "/p/2.html": (page(TITLE + " 2", "gbk").encode("utf-8"), "text/html; charset=gbk")}

    def respond(path, headers, base):
        body, content_type = pages.get(path, (b"not found", "text/plain"))
        return (200 if path in pages else 404), body, [("Content-Type", content_type)]

    with loopback_site(respond) as base:
        done = run_lijian("crawl-shop", f"{base}/p/1.html", f"{base}/p/2.html", "--depth", "0", "--generic",
                          "--db", db_url)
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    from crawler.storage.db import open_database, session_factory

    with session_factory(open_database(db_url))() as session:
        titles = set(session.scalars(select(ListingSnapshot.title)))
    assert titles == {TITLE, TITLE + " 2"}


AUDIT = '''
import os, sys
_log = open(os.environ["LIJIAN_TEST_CONNECTIONS"], "a", buffering=1)
def _hook(event, args):
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple):
            _log.write(f"connect {address[0]}\\n")
    elif event == "socket.getaddrinfo":
        _log.write(f"lookup {args[0]}\\n")
sys.addaudithook(_hook)
'''


def test_a_crawl_contacts_no_host_but_the_one_it_was_given(tmp_path, db_url):
    """Every connection and name lookup of the crawling process, recorded by an audit hook
    (sitecustomize): a shop that sets cookies makes Scrapy ask for the public-suffix list,
    which tldextract would download from publicsuffix.org; nothing but loopback is reached."""
    import os

    def respond(path, headers, base):
        body = page(TITLE) if path == "/p/1.html" else "not found"
        return (200 if path == "/p/1.html" else 404), body, [
            *HTML, ("Set-Cookie", "session=abc; Domain=shop.example.com; Path=/"), ("Set-Cookie", "cart=1; Path=/")]

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(AUDIT, encoding="utf-8")
    log = tmp_path / "connections.log"
    with loopback_site(respond) as base:
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")])),
               "LIJIAN_TEST_CONNECTIONS": str(log), "XDG_CACHE_HOME": str(tmp_path / "cache"),
               "TLDEXTRACT_CACHE": str(tmp_path / "tld-cache"), "HOME": str(tmp_path)}
        done = run_lijian("crawl-shop", f"{base}/p/1.html", "--depth", "0", "--generic", "--db", db_url, env=env)
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    seen = set(log.read_text(encoding="utf-8").split("\n")) - {""}
    assert any(line.startswith("connect 127.0.0.1") for line in seen)  # the hook saw the crawl
    database_host = {f"connect {h}" for h in ("127.0.0.1", "::1", "localhost")} | {
        f"lookup {h}" for h in ("127.0.0.1", "localhost", "::1")}
    assert seen <= database_host, seen - database_host
