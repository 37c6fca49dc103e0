"""HTTP exchanges as WARC/1.1 request/response records (warcio), the way a capture keeps them."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from http import HTTPStatus
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# Headers describing the bytes on the wire; the WARC stores the decoded body, so they would lie.
_WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


class WarcRecorder:
    """Request/response pairs as WARC/1.1 records (warcio), gzip per record."""

    def __init__(self, info: dict[str, str]) -> None:
        self.buffer = io.BytesIO()
        self.writer = WARCWriter(self.buffer, gzip=True, warc_version="WARC/1.1")
        self.writer.write_record(self.writer.create_warcinfo_record("page.warc.gz", info))
        self.responses = 0
        self.urls: list[str] = []

    def add(self, url: str, method: str, request_headers: list[tuple[str, str]], request_body: bytes | None,
            status: int, reason: str, response_headers: list[tuple[str, str]], body: bytes, when: datetime) -> None:
        date = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        headers = [(k, v) for k, v in response_headers if k.lower() not in _WIRE_HEADERS]
        headers.append(("Content-Length", str(len(body))))
        reason = reason or (HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "")
        http = StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol="HTTP/1.1")
        response = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                  warc_headers_dict={"WARC-Date": date})
        self.writer.write_record(response)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = self.writer.create_warc_record(
            url, "request", payload=io.BytesIO(request_body or b""),
            http_headers=StatusAndHeaders(f"{method} {target} HTTP/1.1", request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": date,
                               "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")})
        self.writer.write_record(request)
        self.responses += 1
        self.urls.append(url)

    def getvalue(self) -> bytes:
        return self.buffer.getvalue()
