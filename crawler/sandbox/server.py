"""The sandbox marketplace's HTTP server: four site flavours over one generated catalog.

  /a/  server-rendered UTF-8 search, detail and shop pages with numbered pagination
  /b/  the same shop in GBK: search pages declare it only in the HTTP header, detail pages
       only in a <meta> tag (both techniques real Chinese sites use)
  /c/  a JavaScript shop: every page is an empty shell until app.js fetches JSON
  /d/  schema.org JSON-LD product pages, pagination by <link rel="next">

Fault modes (`FaultPlan`) make a chosen share of pages fail on their first request only, so a
crawler that retries correctly still collects every listing. Ground truth is never served.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from crawler.sandbox.catalog import PAGE_SIZE, Catalog, SandboxListing, SandboxSeller

FAULT_MODES = ("5xx", "429", "slow", "truncate", "captcha")

ROBOTS_TXT = "User-agent: *\nDisallow: /__sandbox__/\nDisallow: /cart/\n"


@dataclass
class FaultPlan:
    """Which pages misbehave: a deterministic share `rate` of paths, each on its first hit only."""

    modes: tuple[str, ...] = ()
    rate: float = 0.15
    seed: int = 0
    slow_seconds: float = 2.0
    _hits: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        unknown = [m for m in self.modes if m not in FAULT_MODES]
        if unknown:
            raise ValueError(f"unknown fault mode {unknown[0]!r}; choose from {', '.join(FAULT_MODES)}")
        if not 0 <= self.rate <= 1:
            raise ValueError("fault rate must be between 0 and 1")

    def fault_for(self, path: str) -> str | None:
        if not self.modes:
            return None
        digest = hashlib.sha256(f"{self.seed}:{path}".encode()).digest()
        if int.from_bytes(digest[:4], "big") / 2**32 >= self.rate:
            return None
        with self._lock:
            self._hits[path] += 1
            if self._hits[path] > 1:
                return None
        return self.modes[digest[4] % len(self.modes)]


def _gbk_quote(value: str) -> str:
    return quote(value.encode("gbk", errors="ignore"))


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("crawler.sandbox", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["urlencode_gbk"] = _gbk_quote
    return env


def _script_json(data: object) -> Markup:
    # "<" escaped so that text such as "</script>" in a title cannot end the script element.
    return Markup(json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"))


def product_json_ld(item: SandboxListing) -> dict:
    seller = item.seller
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": item.title,
        "sku": str(item.id),
        "mpn": item.model,
        "brand": {"@type": "Brand", "name": item.brand_shown},
        "manufacturer": {"@type": "Organization", "name": item.manufacturer},
        "category": item.category_zh,
        "additionalProperty": [{"@type": "PropertyValue", "name": k, "value": v} for k, v in item.specs],
        "offers": {
            "@type": "Offer",
            "price": str(item.price),
            "priceCurrency": item.currency,
            "availability": "https://schema.org/InStock",
            "url": item.path,
            "seller": {
                "@type": "Organization",
                "name": seller.name,
                "url": f"/d/shop/{seller.id}",
                "identifier": seller.id,
                "address": {"@type": "PostalAddress", "addressRegion": seller.province,
                            "addressLocality": seller.city},
            },
        },
    }


def _api_item(item: SandboxListing) -> dict:
    seller = item.seller
    return {
        "id": item.id, "title": item.title, "price": str(item.price), "unit": item.unit,
        "category": item.category, "category_zh": item.category_zh, "url": item.path,
        "shop": {"id": seller.id, "name": seller.name, "url": f"/c/shop/{seller.id}",
                 "province": seller.province, "city": seller.city},
        "specs": [list(kv) for kv in item.specs],
    }


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], catalog: Catalog, faults: FaultPlan | None = None,
                 verbose: bool = False) -> None:
        self.catalog = catalog
        self.faults = faults or FaultPlan()
        self.verbose = verbose
        self.templates = _environment()
        self.app_js = files("crawler.sandbox").joinpath("static/app.js").read_bytes()
        self.stopping = threading.Event()
        self.counts: Counter = Counter()
        self.counts_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up mid-response (a crawler stopping, a test timing out) is normal
        here: counted, not printed as a traceback. Anything else is one line on stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)):
            self.count("client_disconnects")
            return
        sys.stderr.write(f"sandbox: error serving {client_address[0]}: {type(error).__name__}: {error}\n")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, key: str) -> None:
        with self.counts_lock:
            self.counts[key] += 1

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sandbox", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class SandboxHandler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    server_version = "LijianSandbox/1.0"
    # Headers and body go out in two writes; with Nagle's algorithm on a keep-alive
    # connection the second waits for a delayed ACK (~40 ms per response on loopback).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None,
              truncate: bool = False) -> None:
        self.server.count(f"status_{status}")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[: len(body) // 2] if truncate else body)

    def _html(self, template: str, charset: str = "utf-8", header_charset: bool = True, **context) -> None:
        text = self.server.templates.get_template(template).render(charset=charset, **context)
        body = text.encode(charset, errors="xmlcharrefreplace")
        content_type = f"text/html; charset={charset}" if header_charset else "text/html"
        self._send(200, body, content_type, truncate=self._truncate)

    def _json(self, data: object) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(200, body, "application/json; charset=utf-8", truncate=self._truncate)

    def _not_found(self) -> None:
        self._send(404, "<h1>404 商品不存在</h1>".encode(), "text/html; charset=utf-8")

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        self._truncate = False
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = parts.path
        self.server.count("requests")
        if not self._fault(self.path, path):
            return
        try:
            self._route(path, query, parts.query)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _fault(self, full_path: str, path: str) -> bool:
        """Apply a planned fault; False when the response was already sent."""
        if path in ("/robots.txt", "/c/static/app.js") or path.startswith("/__sandbox__"):
            return True
        mode = self.server.faults.fault_for(full_path)
        if mode is None:
            return True
        self.server.count(f"fault_{mode}")
        if mode == "5xx":
            self._send(503, b"<h1>503 Service Unavailable</h1>", "text/html")
        elif mode == "429":
            self._send(429, b"<h1>429 Too Many Requests</h1>", "text/html", {"Retry-After": "1"})
        elif mode == "captcha":
            body = self.server.templates.get_template("captcha.html").render().encode()
            self._send(200, body, "text/html; charset=utf-8")
        elif mode == "slow":
            self.server.stopping.wait(self.server.faults.slow_seconds)
            return True
        elif mode == "truncate":
            self._truncate = True
            return True
        return False

    # -- routes ---------------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, list[str]], raw_query: str) -> None:
        segments = [s for s in path.split("/") if s]
        if path == "/robots.txt":
            return self._send(200, ROBOTS_TXT.encode(), "text/plain; charset=utf-8")
        if path == "/__sandbox__/stats":
            with self.server.counts_lock:  # a copy under the lock; sending counts the response (the lock again)
                counts = dict(self.server.counts)
            return self._json(counts)
        if path == "/":
            return self._send(200, _INDEX.encode(), "text/html; charset=utf-8")
        if not segments or segments[0] not in ("a", "b", "c", "d"):
            return self._not_found()
        flavour, rest = segments[0], segments[1:]
        if flavour == "c" and rest == ["static", "app.js"]:
            return self._send(200, self.server.app_js, "application/javascript; charset=utf-8")
        if rest == ["search"]:
            return self._search(flavour, query, raw_query)
        if len(rest) == 2 and rest[0] == "shop":
            return self._shop(flavour, rest[1])
        if len(rest) == 2 and rest[0] in ("item", "product"):
            return self._detail(flavour, rest[1].removesuffix(".html"))
        if flavour == "c" and len(rest) == 3 and rest[0] == "api":
            return self._api(rest[1], rest[2], query)
        if flavour == "c" and rest == ["api", "search"]:
            return self._api("search", "", query)
        return self._not_found()

    def _keyword(self, flavour: str, raw_query: str, query: dict[str, list[str]]) -> str:
        if flavour != "b":
            return query.get("q", [""])[0]
        # The GBK shop, like real ones, takes GBK-encoded queries; UTF-8 is accepted too.
        for pair in raw_query.split("&"):
            if pair.startswith("q="):
                raw = unquote_to_bytes(pair[2:].replace("+", " "))
                try:
                    return raw.decode("utf-8")
                except UnicodeDecodeError:
                    return raw.decode("gbk", errors="replace")
        return ""

    def _page(self, query: dict[str, list[str]]) -> int:
        try:
            return max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            return 1

    def _search(self, flavour: str, query: dict[str, list[str]], raw_query: str) -> None:
        if flavour == "c":
            return self._html("c_shell.html", view="search", arg="")
        keyword = self._keyword(flavour, raw_query, query)
        found = self.server.catalog.search(flavour, keyword)
        page = self._page(query)
        pages = max(1, math.ceil(len(found) / PAGE_SIZE))
        items = found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        context = dict(q=keyword, items=items, page=page, pages=pages, total=len(found))
        if flavour == "b":
            return self._html("b_search.html", charset="gbk", header_charset=True, **context)
        return self._html(f"{flavour}_search.html", **context)

    def _listing(self, flavour: str, raw_id: str) -> SandboxListing | None:
        try:
            item = self.server.catalog.by_id(int(raw_id))
        except ValueError:
            return None
        return item if item is not None and item.flavour == flavour else None

    def _detail(self, flavour: str, raw_id: str) -> None:
        item = self._listing(flavour, raw_id)
        if item is None:
            return self._not_found()
        if flavour == "a":
            return self._html("a_item.html", l=item)
        if flavour == "b":
            return self._html("b_item.html", charset="gbk", header_charset=False, l=item)
        if flavour == "c":
            return self._html("c_shell.html", view="item", arg=str(item.id))
        crumbs = {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "首页", "item": "/d/"},
            {"@type": "ListItem", "position": 2, "name": item.category_zh, "item": f"/d/category/{item.category}"},
        ]}
        return self._html("d_product.html", l=item, product_ld=_script_json(product_json_ld(item)),
                          crumbs_ld=_script_json(crumbs))

    def _shop(self, flavour: str, seller_id: str) -> None:
        seller: SandboxSeller | None = self.server.catalog.seller(seller_id)
        if seller is None:
            return self._not_found()
        items = self.server.catalog.listings_of(flavour, seller_id)[:50]
        charset = "gbk" if flavour == "b" else "utf-8"
        return self._html("shop.html", charset=charset, s=seller, items=items)

    def _api(self, kind: str, arg: str, query: dict[str, list[str]]) -> None:
        if kind == "item":
            item = self._listing("c", arg)
            return self._json(_api_item(item)) if item else self._not_found()
        keyword = query.get("q", [""])[0]
        found = self.server.catalog.search("c", keyword)
        page = self._page(query)
        pages = max(1, math.ceil(len(found) / PAGE_SIZE))
        items = [_api_item(l) for l in found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
        nxt = f"/c/search?q={quote(keyword)}&page={page + 1}" if page < pages else None
        return self._json({"items": items, "page": page, "pages": pages, "next": nxt})


_INDEX = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>利剑沙盒商城</title></head>
<body><h1>利剑沙盒商城 (Lijian sandbox marketplace)</h1><ul>
<li><a href="/a/search?q=电线">a: server-rendered UTF-8</a></li>
<li><a href="/b/search?q=%B5%E7%CF%DF">b: GBK</a></li>
<li><a href="/c/search?q=电线">c: JavaScript-rendered</a></li>
<li><a href="/d/search?q=电线">d: schema.org JSON-LD</a></li></ul></body></html>"""


def make_server(host: str = "127.0.0.1", port: int = 0, listings: int = 400, seed: int = 2018,
                faults: FaultPlan | None = None, verbose: bool = False,
                flavours: tuple[str, ...] | None = None) -> SandboxServer:
    """Bind the sandbox (port 0 = a free port). Raises OSError if the port is taken."""
    from crawler.sandbox.catalog import FLAVOURS, build_catalog

    return SandboxServer((host, port), build_catalog(listings, seed, tuple(flavours or FLAVOURS)), faults, verbose)
