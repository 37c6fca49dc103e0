"""RFC 3161 trusted timestamps for evidence manifests.

A time-stamp authority (TSA) signs "this SHA-256 existed at this time". When a TSA URL is
configured (LIJIAN_TSA_URL), export asks it to stamp SHA-256(manifest.json) and stores the
DER reply as manifest.tsr beside the manifest; the manifest itself records that a stamp was
asked for, so removing manifest.tsr is caught. `verify_token` checks the reply: status
granted, the stamped hash is the manifest's, the TSA's CMS signature over the signed
attributes, the message-digest attribute, the certificate's timeStamping purpose and
validity at the stamped time, and — with a trusted TSA/CA certificate (LIJIAN_TSA_CA) —
that the signer certificate is that certificate or is issued by it.

asn1crypto reads and writes the DER structures; cryptography checks the signature (RSA
PKCS#1 v1.5, RSA-PSS, ECDSA and Ed25519 signers). The same file also verifies with
`openssl ts -verify -data manifest.json -in manifest.tsr -CAfile ca.pem`.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from crawler.evidence.errors import EvidenceError

MAX_REPLY_BYTES = 1024 * 1024


class TimestampError(EvidenceError):
    """The configured time-stamp authority could not stamp a manifest (export stops: every
    further case would fail the same way)."""


_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512, "sha1": hashes.SHA1}


@dataclass(frozen=True)
class Stamp:
    gen_time: datetime
    tsa: str  # subject of the signing certificate
    serial: int
    policy: str
    trusted: bool  # checked against a configured TSA/CA certificate


def request_token(url: str, data: bytes, timeout: float = 30.0) -> bytes:
    """Ask the TSA at `url` to stamp SHA-256(data); return its DER reply after checking it."""
    if not url.startswith(("http://", "https://")):
        raise TimestampError(f"time-stamp authority URL must be http(s)://, got {url!r}")
    nonce = secrets.randbits(63)
    query = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()},
        "nonce": nonce,
        "cert_req": True,
    }).dump()
    request = urllib.request.Request(url, data=query, method="POST",
                                     headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 — configured URL
            reply = response.read(MAX_REPLY_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TimestampError(f"time-stamp authority {url} did not answer ({reason})") from None
    if len(reply) > MAX_REPLY_BYTES:
        raise TimestampError(f"time-stamp authority {url} sent more than {MAX_REPLY_BYTES} bytes")
    problems, _ = verify_token(reply, data, nonce=nonce)
    if problems:
        raise TimestampError(f"time-stamp authority {url}: unusable reply: {'; '.join(problems)}")
    return reply


def _signed_attrs_der(signer: cms.SignerInfo) -> bytes:
    # The signature covers the attributes as a SET (tag 0x31), not as the [0] IMPLICIT field.
    return b"\x31" + signer["signed_attrs"].dump()[1:]


def _attribute(signer: cms.SignerInfo, name: str):
    for attribute in signer["signed_attrs"]:
        if attribute["type"].native == name:
            return attribute["values"][0]
    return None


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate | None:
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            match = (cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native)
        else:
            match = cert.key_identifier == sid.chosen.native
        if match:
            return x509.load_der_x509_certificate(cert.dump())
    return None


def _check_signature(cert: x509.Certificate, signer: cms.SignerInfo, message: bytes) -> str | None:
    key = cert.public_key()
    signature = signer["signature"].native
    digest_name = signer["digest_algorithm"]["algorithm"].native
    algorithm = _HASHES.get(digest_name)
    if algorithm is None:
        return f"unsupported digest algorithm {digest_name}"
    scheme = signer["signature_algorithm"]["algorithm"].native
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if scheme == "rsassa_pss":
                key.verify(signature, message, padding.PSS(padding.MGF1(algorithm()), padding.PSS.AUTO), algorithm())
            else:
                key.verify(signature, message, padding.PKCS1v15(), algorithm())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(algorithm()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            return f"unsupported TSA key type {type(key).__name__}"
    except InvalidSignature:
        return "the TSA's signature does not match the token"
    return None


def verify_token(reply: bytes, data: bytes, nonce: int | None = None,
                 trusted_pem: bytes | None = None) -> tuple[list[str], Stamp | None]:
    """(problems, stamp): problems is [] when `reply` is a granted, well-signed stamp of SHA-256(data)."""
    try:
        response = tsp.TimeStampResp.load(reply)
        status = response["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = response["status"]["status_string"].native
            return [f"the TSA refused the request ({status}{': ' + '; '.join(text) if text else ''})"], None
        token = response["time_stamp_token"]
        if token["content_type"].native != "signed_data":
            return ["the token is not CMS signed data"], None
        signed = token["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            return ["the token does not hold a TSTInfo"], None
        info_der = encap["content"].contents
        info = tsp.TSTInfo.load(info_der)
        signers = signed["signer_infos"]
        if len(signers) != 1:
            return [f"the token has {len(signers)} signers, expected 1"], None
        signer = signers[0]
        imprint = info["message_imprint"]
        gen_time = info["gen_time"].native
        policy = info["policy"].dotted
        serial = info["serial_number"].native
        token_nonce = info["nonce"].native
    except (ValueError, TypeError, KeyError) as exc:
        return [f"manifest.tsr is not an RFC 3161 time-stamp reply ({exc})"], None
    problems: list[str] = []
    imprint_hash = imprint["hash_algorithm"]["algorithm"].native
    if imprint_hash not in _HASHES or imprint_hash == "sha1":
        problems.append(f"the stamp uses hash {imprint_hash}, expected sha256 or stronger")
    elif imprint["hashed_message"].native != hashlib.new(imprint_hash, data).digest():
        problems.append("the stamped hash is not the hash of manifest.json (the manifest changed after stamping)")
    if nonce is not None and token_nonce != nonce:
        problems.append("the reply's nonce is not the request's (replayed or mixed-up reply)")
    if signer["signed_attrs"].native is None or len(signer["signed_attrs"]) == 0:
        return problems + ["the token has no signed attributes"], None
    content_type = _attribute(signer, "content_type")
    digest = _attribute(signer, "message_digest")
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if content_type is None or content_type.native != "tst_info":
        problems.append("the signed content-type attribute is not TSTInfo")
    if digest is None or digest_name not in _HASHES or digest.native != hashlib.new(digest_name, info_der).digest():
        problems.append("the signed message-digest does not match the TSTInfo (the token was altered)")
    cert = _signer_certificate(signed, signer)
    if cert is None:
        return problems + ["the token does not include the TSA's certificate"], None
    failure = _check_signature(cert, signer, _signed_attrs_der(signer))
    if failure:
        problems.append(failure)
    try:
        purposes = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.TIME_STAMPING not in purposes:
            problems.append("the TSA certificate is not for time stamping (extended key usage)")
    except x509.ExtensionNotFound:
        problems.append("the TSA certificate has no time-stamping extended key usage")
    if not (cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc):
        problems.append(f"the stamped time {gen_time.isoformat()} is outside the TSA certificate's validity")
    trusted = False
    if trusted_pem:
        try:
            anchors = x509.load_pem_x509_certificates(trusted_pem)
        except ValueError as exc:
            return problems + [f"the trusted TSA certificate file cannot be read ({exc})"], None
        trusted = any(cert == anchor for anchor in anchors) or any(_issued_by(cert, a) for a in anchors)
        if not trusted:
            problems.append(f"the TSA certificate ({cert.subject.rfc4514_string()}) is neither the trusted "
                            f"certificate nor issued by it")
    stamp = Stamp(gen_time, cert.subject.rfc4514_string(), serial, policy, trusted)
    return problems, stamp


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def read_trusted(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise EvidenceError(f"cannot read the trusted TSA certificate {path} ({exc.strerror})") from None

