"""The evidence store: captured files by SHA-256, written once, read back only if unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from crawler.evidence.errors import EvidenceError
from crawler.files import write_atomic

MEDIA_TYPES = {".png": "image/png", ".html": "text/html", ".json": "application/json",
               ".warc.gz": "application/warc", ".warc": "application/warc"}


class EvidenceStore:
    """Files by SHA-256 under `root/blobs/ab/<sha256><suffix>`; writes are atomic and idempotent."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, suffix: str = "") -> Path:
        return self.root / "blobs" / sha256[:2] / f"{sha256}{suffix}"

    def put(self, data: bytes, suffix: str = "") -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest, suffix)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
        return {"sha256": digest, "size": len(data), "suffix": suffix,
                "media_type": MEDIA_TYPES.get(suffix, "application/octet-stream")}

    def read(self, info: dict[str, Any]) -> bytes:
        path = self.path(info["sha256"], info.get("suffix", ""))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise EvidenceError(f"evidence file {path} is missing from the store ({exc})") from None
        if hashlib.sha256(data).hexdigest() != info["sha256"]:
            raise EvidenceError(f"evidence file {path} no longer matches its SHA-256 (changed on disk)")
        return data


def suffix_of(name: str) -> str:
    return ".warc.gz" if name.endswith(".warc.gz") else Path(name).suffix
