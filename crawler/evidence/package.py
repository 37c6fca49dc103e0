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

`verify_package` recomputes every hash, checks that no file was added or removed, checks the
chain and every signature, and returns each problem as a sentence naming the file or entry.
It opens hostile archives safely: names with "..", absolute paths, backslashes or links are
refused, and sizes are bounded.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from crawler.clock import BEIJING
from crawler.evidence.errors import EvidenceError  # noqa: F401 - raised here and re-exported
from crawler.files import replacing

# Limits on what a package may hold (docs/CONFIGURATION.md lists every input limit): a file,
# the package's own small files, all files together, how many, and how far a member may
# inflate (a zip bomb inflates a thousandfold; captured pages and archives a few times).
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_SMALL_BYTES = 16 * 1024 * 1024
MAX_PACKAGE_BYTES = 2 * 1024 * 1024 * 1024
MAX_PACKAGE_FILES = 1000
MAX_RATIO = 200
RATIO_FROM = 1024 * 1024  # members smaller than this may inflate any amount (a page of spaces)
CHUNK = 1024 * 1024
RESERVED = ("manifest.json", "manifest.sig", "public_key.pem", "custody.jsonl")

STAMP = "manifest.tsr"
SMALL = frozenset({*RESERVED, STAMP})  # the package's own files, read whole
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
    path.with_suffix(path.suffix + ".pub").write_bytes(_public_pem(public))
    return fingerprint(public)


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise EvidenceError(f"{path}: not a readable Ed25519 private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{path}: not an Ed25519 key")
    return key


def _public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return "SHA256:" + ":".join(digest[i:i + 4] for i in range(0, 32, 4))


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


def _canonical(entry: dict) -> bytes:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def custody_entry(previous_hash: str, seq: int, action: str, by: str, detail: str, key: Ed25519PrivateKey,
                  at: datetime | None = None) -> dict:
    at = at or datetime.now(timezone.utc)
    entry = {"seq": seq, "at_utc": at.astimezone(timezone.utc).isoformat(timespec="seconds"),
             "at_shanghai": at.astimezone(BEIJING).isoformat(timespec="seconds"), "action": action, "by": by,
             "detail": detail, "prev": previous_hash}
    entry["hash"] = hashlib.sha256(_canonical(entry)).hexdigest()
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
        archive.writestr("public_key.pem", _public_pem(public))
        archive.writestr("custody.jsonl", "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in chain))
        if stamp is not None:
            archive.writestr(STAMP, stamp)
    return Built(out, len(names), hashlib.sha256(manifest_bytes).hexdigest())


def _compression(name: str) -> int:
    """Already-compressed files are stored as they are (a WACZ must be, to be range-read)."""
    return zipfile.ZIP_STORED if name.endswith((".gz", ".png", ".zip", ".wacz")) else zipfile.ZIP_DEFLATED


# -- verifying ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Digest:
    """A member read as a stream: its size and SHA-256, without its bytes."""

    size: int
    sha256: str


def _safe_member(name: str) -> bool:
    return not (name.startswith(("/", "\\")) or "\\" in name or ".." in name.split("/") or re.match(r"^[A-Za-z]:", name))


def _digest(data: bytes | Digest) -> Digest:
    return data if isinstance(data, Digest) else Digest(len(data), hashlib.sha256(data).hexdigest())


def _infos(archive: zipfile.ZipFile, path: Path) -> list[zipfile.ZipInfo]:
    """The members of a package after the checks that need no decompression: their number,
    names (unsafe, duplicated), links, encryption, compression method, declared sizes, total
    and compression ratio (a zip bomb is refused before a byte is inflated)."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_PACKAGE_FILES + len(RESERVED) + 1:
        raise EvidenceError(f"{path}: too many members ({len(infos)}; at most {MAX_PACKAGE_FILES} files)")
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if not _safe_member(name):
            raise EvidenceError(f"{path}: refused unsafe member name {name!r} (path traversal)")
        if name in seen:
            raise EvidenceError(f"{path}: two members named {name!r}: a package holds one of each, and unzip "
                                f"tools disagree on which one they extract (refused)")
        seen.add(name)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise EvidenceError(f"{path}: refused symbolic link {name!r}")
        if info.flag_bits & 0x1:
            raise EvidenceError(f"{path}: member {name!r} is encrypted (packages are never encrypted)")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise EvidenceError(f"{path}: member {name!r} uses compression method {info.compress_type}, "
                                f"which packages never use")
        limit = MAX_SMALL_BYTES if name in SMALL else MAX_FILE_BYTES
        if info.file_size > limit:
            raise EvidenceError(f"{path}: member {name!r} declares {info.file_size} bytes, more than {limit}")
        if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise EvidenceError(f"{path}: member {name!r} inflates {info.file_size // max(1, info.compress_size)} "
                                f"times (a zip bomb; at most {MAX_RATIO})")
        total += info.file_size
    if total > MAX_PACKAGE_BYTES:
        raise EvidenceError(f"{path}: members declare {total} bytes in all, more than {MAX_PACKAGE_BYTES}")
    return infos


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, keep: bool) -> bytes | Digest:
    """A member's bytes (`keep`) or its streamed digest; no more than it declared is inflated."""
    digest, size, chunks = hashlib.sha256(), 0, []
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise EvidenceError(f"{path}: member {info.filename!r} is larger than it declares")
                digest.update(chunk)
                if keep:
                    chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise EvidenceError(f"{path}: member {info.filename!r} cannot be read: damaged ({exc})") from None
    return b"".join(chunks) if keep else Digest(size, digest.hexdigest())


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError, NotImplementedError, EOFError) as exc:
        raise EvidenceError(f"{path}: not a readable zip package ({exc})") from None


def read_package(path: Path) -> dict[str, bytes]:
    """Every member of a package, whole, after the checks of _infos (replay and re-signing use it;
    verifying streams the files instead: read_digests)."""
    with _open(path) as archive:
        return {info.filename: _read(archive, info, path, keep=True) for info in _infos(archive, path)}


def read_digests(path: Path) -> dict[str, bytes | Digest]:
    """The package's own small members whole, every captured file as a streamed digest: memory
    stays flat whatever the files' size."""
    with _open(path) as archive:
        infos = _infos(archive, path)
        if not any(i.filename == "manifest.json" for i in infos) and any(i.filename == "datapackage.json" for i in infos):
            raise EvidenceError(
                f"{path}: this is a WACZ web archive, not an evidence package. It is checked through the package "
                f"exported with it (the case-N.zip beside it), whose manifest lists this file's SHA-256: "
                f"run `lijian evidence verify` on that package")
        return {info.filename: _read(archive, info, path, keep=info.filename in SMALL) for info in infos}


def _manifest_problems(manifest: object) -> list[str]:
    """What is wrong with the manifest's shape (types written by hand to slip past the checks)."""
    if not isinstance(manifest, dict):
        return [f"manifest.json: not a JSON object but {type(manifest).__name__}"]
    problems = []
    if not isinstance(manifest.get("signer"), str):
        problems.append("manifest.json: 'signer' is not a fingerprint string")
    files = manifest.get("files")
    if not isinstance(files, list):
        return [*problems, "manifest.json: 'files' is not a list"]
    for number, entry in enumerate(files, start=1):
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
                and isinstance(entry.get("size"), int) and not isinstance(entry.get("size"), bool)):
            problems.append(f"manifest.json: file entry {number} is not a path, a SHA-256 and a size")
    if manifest.get("custody_root") is not None and not isinstance(manifest.get("custody_root"), str):
        problems.append("manifest.json: 'custody_root' is not a hash string")
    timestamp = manifest.get("timestamp")
    if timestamp is not None and not (isinstance(timestamp, dict) and isinstance(timestamp.get("rfc3161"), str)):
        problems.append("manifest.json: 'timestamp' does not name its time-stamp authority")
    return problems


def verify_members(members: dict[str, bytes | Digest], trusted: str | None = None, tsa_trusted: bytes | None = None,
                   notes: list[str] | None = None) -> list[str]:
    """Every problem with a package's contents, as sentences; [] when it verifies. `notes`
    receives what was checked beyond the hashes (the signer's key, the time stamp and whom they
    were checked against). Files may be given whole or as streamed digests."""
    missing = [name for name in RESERVED if name not in members]
    if missing:
        return [f"{name} is missing" for name in missing]
    if any(isinstance(members[name], Digest) for name in (*RESERVED, STAMP) if name in members):
        return ["the package's own files were not read whole"]
    manifest_bytes = members["manifest.json"]
    try:
        manifest = json.loads(manifest_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        return [f"manifest.json cannot be read ({exc})"]
    try:
        public = serialization.load_pem_public_key(members["public_key.pem"])
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return [f"public_key.pem cannot be read ({exc})"]
    if not isinstance(public, Ed25519PublicKey):
        return ["public_key.pem is not an Ed25519 key"]
    shape = _manifest_problems(manifest)
    if shape:
        return shape
    problems: list[str] = []
    signer = fingerprint(public)
    if manifest.get("signer") != signer:
        problems.append("public_key.pem is not the key the manifest names as signer")
    if trusted and signer != trusted:
        problems.append(f"signed by {signer}, not by the trusted key {trusted}")
    try:
        public.verify(bytes.fromhex(members["manifest.sig"].decode("ascii").strip()), manifest_bytes)
    except (InvalidSignature, ValueError, UnicodeDecodeError):
        problems.append("manifest.sig: the signature does not match manifest.json")
    listed: dict[str, dict] = {}
    for entry in manifest["files"]:
        if entry["path"] in listed:
            problems.append(f"manifest.json: {entry['path']} is listed twice")
        listed[entry["path"]] = entry
    present = {name for name in members if name not in RESERVED and name != STAMP}
    for name in sorted(present - set(listed)):
        problems.append(f"{name}: added (not in the manifest)")
    for name in sorted(set(listed) - present):
        problems.append(f"{name}: removed (listed in the manifest)")
    for name in sorted(present & set(listed)):
        found, want = _digest(members[name]), listed[name]
        if found.size != want["size"] or found.sha256 != want["sha256"]:
            problems.append(f"{name}: changed (SHA-256 {found.sha256[:16]}…, "
                            f"manifest {want['sha256'][:16]}…; size {found.size} vs {want['size']})")
    problems.extend(verify_chain(members["custody.jsonl"], public, manifest.get("custody_root")))
    problems.extend(_verify_stamp(members, manifest, manifest_bytes, tsa_trusted, notes))
    if notes is not None:
        notes.append(f"signed by {signer} (the key inside the package)" + (
            ", the trusted key" if trusted and signer == trusted else
            "; NOT checked against a trusted key: anyone can re-sign an altered package with a key of "
            "their own, so compare this fingerprint with the bureau's (give --trusted FINGERPRINT)"
            if not trusted else ""))
    return problems


def _verify_stamp(members: dict[str, bytes | Digest], manifest: dict, manifest_bytes: bytes,
                  tsa_trusted: bytes | None, notes: list[str] | None) -> list[str]:
    from crawler.evidence.timestamp import verify_token

    expected = manifest.get("timestamp")
    if STAMP not in members:
        return [f"{STAMP}: removed (the manifest says it was time-stamped by {expected['rfc3161']})"] if expected else []
    if not expected:
        return [f"{STAMP}: added (the manifest was not time-stamped)"]
    problems, stamp = verify_token(members[STAMP], manifest_bytes, trusted_pem=tsa_trusted)
    if stamp and notes is not None:
        trust = ("checked against the trusted TSA certificate" if stamp.trusted else
                 "TSA certificate NOT checked against a trusted one (give --tsa-ca or LIJIAN_TSA_CA)")
        notes.append(f"RFC 3161 time stamp: {stamp.gen_time.astimezone(BEIJING).isoformat()} "
                     f"({stamp.gen_time.isoformat()}) by {stamp.tsa}, serial {stamp.serial}; {trust}")
    return [f"{STAMP}: {problem}" for problem in problems]


def verify_chain(log: bytes, public: Ed25519PublicKey, root: str | None) -> list[str]:
    problems = []
    previous = "0" * 64
    lines = log.decode("utf-8", errors="replace").splitlines()
    if not lines:
        return ["custody.jsonl: empty"]
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("hash", "sig", "prev")):
            problems.append(f"custody.jsonl line {number}: not a custody entry (a JSON object with string "
                            f"prev, hash and sig)")
            break
        body = {k: v for k, v in entry.items() if k not in ("hash", "sig")}
        if body.get("prev") != previous:
            problems.append(f"custody.jsonl line {number}: does not follow the entry before it (chain broken)")
        if hashlib.sha256(_canonical(body)).hexdigest() != entry["hash"]:
            problems.append(f"custody.jsonl line {number}: edited (its hash does not match its content)")
        try:
            public.verify(bytes.fromhex(entry["sig"]), bytes.fromhex(entry["hash"]))
        except (InvalidSignature, ValueError):
            problems.append(f"custody.jsonl line {number}: signature does not match")
        if number == 1 and root and entry["hash"] != root:
            problems.append("custody.jsonl line 1: is not the entry the manifest was signed with")
        previous = entry["hash"]
    return problems


def signer_of(path: Path) -> str:
    """The fingerprint the package's manifest names as its signer."""
    members = read_digests(path)
    try:
        signer = json.loads(members["manifest.json"])["signer"]
    except (KeyError, ValueError, TypeError) as exc:
        raise EvidenceError(f"{path}: the manifest names no signer ({exc})") from None
    if not isinstance(signer, str):
        raise EvidenceError(f"{path}: the manifest names no signer")
    return signer


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


def verify_package(path: Path, trusted: str | None = None, tsa_trusted: bytes | None = None,
                   notes: list[str] | None = None) -> list[str]:
    """Every problem with the package at `path` ([] when it verifies); a package that cannot be
    read at all (damaged, hostile, not a package) raises EvidenceError saying why."""
    return verify_members(read_digests(path), trusted, tsa_trusted, notes)


def package_bytes(members: dict[str, bytes]) -> bytes:
    """A zip of `members` as given (tests use it to build tampered copies)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
