"""What an evidence package is made of: its reserved members, the limits on what it may hold,
the signer's fingerprint and the canonical form custody entries are hashed in. Shared by
building (package.py) and verifying (verify.py)."""

from __future__ import annotations

import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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

def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return "SHA256:" + ":".join(digest[i:i + 4] for i in range(0, 32, 4))


def canonical(entry: dict) -> bytes:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


