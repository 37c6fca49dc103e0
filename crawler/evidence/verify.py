"""Reading and verifying evidence packages: every member checked from the zip directory before
anything is inflated, files hashed as streams, and every problem said as a sentence naming the
file or entry (docs/EVIDENCE.md says what a package that verifies proves)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crawler.clock import BEIJING
from crawler.evidence.errors import EvidenceError  # noqa: F401 - raised here and re-exported
from crawler.evidence.layout import (
    CHUNK,
    MAX_FILE_BYTES,
    MAX_PACKAGE_BYTES,
    MAX_PACKAGE_FILES,
    MAX_RATIO,
    MAX_SMALL_BYTES,
    RATIO_FROM,
    RESERVED,
    SMALL,
    STAMP,
    canonical,
    fingerprint,
)


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
        if hashlib.sha256(canonical(body)).hexdigest() != entry["hash"]:
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
