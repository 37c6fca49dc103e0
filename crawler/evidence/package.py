"""Evidence packages that stand up later: files, a manifest of their hashes, a hash-chained
custody log, and an Ed25519 signature — and a verifier that says exactly what differs.

Layout of a package (a zip file):

    files/<name>          the captured files (names sanitised: no directories, no "..")
    manifest.json         every file with its SHA-256 and size, the case facts, the signer's
                          public key fingerprint, the custody log's first entry hash
    manifest.sig          Ed25519 signature of manifest.json (raw 64 bytes, hex)
    public_key.pem        the signer's public key (its fingerprint is in the manifest)
    custody.jsonl         one JSON object per line: seq, time (UTC and Asia/Shanghai), action,
                          who, detail, the previous entry's hash and its own hash, and an
                          Ed25519 signature of that hash — editing any entry breaks the chain
    manifest.tsr          (when a time-stamp authority is configured) its RFC 3161 reply
                          stamping SHA-256(manifest.json); the manifest names the TSA, so a
                          removed stamp is caught (see timestamp.py)

Building packages, keys and the custody chain are here; reading and verifying them is
verify.py (every hash recomputed, files added or removed, the chain and every signature
checked, hostile archives refused, each problem a sentence naming the file or entry); what
both share (reserved members, limits, the fingerprint) is layout.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from crawler.clock import BEIJING
from crawler.evidence.errors import EvidenceError  # noqa: F401 - raised here and re-exported
from crawler.evidence.layout import MAX_FILE_BYTES, MAX_PACKAGE_FILES, STAMP, canonical, fingerprint, public_pem
from crawler.evidence.verify import read_package, signer_of
from crawler.files import replacing

_SAFE = re.compile(r"[^\w.\-一-鿿]+")


# -- keys --------------------------------------------------------------------------------------
def keygen(path: Path) -> str:
    """Write a new Ed25519 private key (PEM, mode 0600) and its .pub; return the fingerprint."""
    if path.exists():
        raise EvidenceError(f"{path} exists; refusing to overwrite a signing key")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.touch(mode=0o600)
    path.write_bytes(pem)
    public = key.public_key()
    path.with_suffix(path.suffix + ".pub").write_bytes(public_pem(public))
    return fingerprint(public)


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise EvidenceError(f"{path}: not a readable Ed25519 private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{path}: not an Ed25519 key")
    return key


# -- names and the custody chain ------------------------------------------------------------
def safe_name(name: str) -> str:
    """A file name fit for a package: no directories, no "..", nothing but word characters,
    dots and dashes (Chinese kept), at most 120 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE.sub("_", base).strip("._") or "file"
    return cleaned[:120]


def safe_path(name: str, depth: int = 3) -> str:
    """A member path fit for a package: each of at most `depth` parts made safe by safe_name."""
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".", "..")]
    return "/".join(safe_name(part) for part in parts[-depth:]) or "file"


def custody_entry(previous_hash: str, seq: int, action: str, by: str, detail: str, key: Ed25519PrivateKey,
                  at: datetime | None = None) -> dict:
    at = at or datetime.now(timezone.utc)
    entry = {"seq": seq, "at_utc": at.astimezone(timezone.utc).isoformat(timespec="seconds"),
             "at_shanghai": at.astimezone(BEIJING).isoformat(timespec="seconds"), "action": action, "by": by,
             "detail": detail, "prev": previous_hash}
    entry["hash"] = hashlib.sha256(canonical(entry)).hexdigest()
    entry["sig"] = key.sign(bytes.fromhex(entry["hash"])).hex()
    return entry


# -- building -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Built:
    path: Path
    files: int
    manifest_sha256: str


def build_package(out: Path, files: dict[str, bytes], case: dict, key: Ed25519PrivateKey, by: str,
                  actions: list[tuple] | None = None, tsa_url: str | None = None) -> Built:
    """Write a signed package with `files` (path → content, stored under files/), the case
    facts, and a custody log starting with `actions`: (action, detail) or (action, detail, when)
    — e.g. each capture at its own time, then the export now. With `tsa_url`, the manifest is
    time-stamped there (RFC 3161); a TSA that does not answer is an EvidenceError."""
    if len(files) > MAX_PACKAGE_FILES:
        raise EvidenceError(f"too many files ({len(files)} > {MAX_PACKAGE_FILES})")
    names: dict[str, bytes] = {}
    for name, content in files.items():
        base = clean = safe_path(name)
        number = 2
        while clean in names:  # two captures with one name: keep both
            head, _, tail = base.rpartition("/")
            clean = f"{head}/{number}-{tail}" if head else f"{number}-{base}"
            number += 1
        if len(content) > MAX_FILE_BYTES:
            raise EvidenceError(f"{name}: larger than {MAX_FILE_BYTES} bytes")
        names[clean] = content
    public = key.public_key()
    chain, previous = [], "0" * 64
    for seq, (action, detail, *when) in enumerate(actions or [("export", "package written")], start=1):
        entry = custody_entry(previous, seq, action, by, detail, key, at=when[0] if when else None)
        chain.append(entry)
        previous = entry["hash"]
    manifest = {
        "format": "lijian-evidence/1",
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "created_shanghai": datetime.now(BEIJING).isoformat(timespec="seconds"),
        "case": case,
        "files": [{"path": f"files/{n}", "sha256": hashlib.sha256(c).hexdigest(), "size": len(c)}
                  for n, c in sorted(names.items())],
        "signer": fingerprint(public),
        "custody_root": chain[0]["hash"],
    }
    if tsa_url:
        manifest["timestamp"] = {"rfc3161": tsa_url, "file": STAMP}
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    stamp = None
    if tsa_url:
        from crawler.evidence.timestamp import request_token

        stamp = request_token(tsa_url, manifest_bytes)
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as partial, zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(names.items()):
            archive.writestr(f"files/{name}", content, compress_type=_compression(name))
        archive.writestr("manifest.json", manifest_bytes)
        archive.writestr("manifest.sig", key.sign(manifest_bytes).hex())
        archive.writestr("public_key.pem", public_pem(public))
        archive.writestr("custody.jsonl", "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in chain))
        if stamp is not None:
            archive.writestr(STAMP, stamp)
    return Built(out, len(names), hashlib.sha256(manifest_bytes).hexdigest())


def _compression(name: str) -> int:
    """Already-compressed files are stored as they are (a WACZ must be, to be range-read)."""
    return zipfile.ZIP_STORED if name.endswith((".gz", ".png", ".zip", ".wacz")) else zipfile.ZIP_DEFLATED


def append_custody(path: Path, action: str, by: str, detail: str, key: Ed25519PrivateKey) -> None:
    """Add an entry (e.g. a verification) to a package's custody log, rewriting the zip atomically.
    Only the key that signed the package may add to its log: an entry signed by another key
    would break the chain for everyone after."""
    signer = signer_of(path)
    if fingerprint(key.public_key()) != signer:
        raise EvidenceError(f"{path}: the key {fingerprint(key.public_key())} did not sign this package "
                            f"({signer} did); custody entries must be signed by the package's key")
    members = read_package(path)
    lines = members["custody.jsonl"].decode("utf-8").splitlines()
    last = json.loads(lines[-1])
    entry = custody_entry(last["hash"], last["seq"] + 1, action, by, detail, key)
    members["custody.jsonl"] = members["custody.jsonl"] + (json.dumps(entry, ensure_ascii=False) + "\n").encode()
    with replacing(path) as partial, zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data, compress_type=_compression(name))


