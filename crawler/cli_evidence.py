"""`lijian evidence keygen|verify`: the signing key and package verification."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli import CONTEXT, UserError, cli, friendly_errors
from crawler.config import load_config


@cli.group("evidence", context_settings=CONTEXT)
def evidence() -> None:
    """Evidence packages: signed, hash-chained, verifiable later."""


@evidence.command("keygen", context_settings=CONTEXT)
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (default: LIJIAN_EVIDENCE_KEY).")
@friendly_errors
def evidence_keygen(key_path: Path | None) -> None:
    """Create the Ed25519 key that signs evidence packages; prints its fingerprint.

    \b
    Example:
      lijian evidence keygen --key /etc/lijian/evidence.pem
    """
    from crawler.evidence.package import EvidenceError, keygen

    path = key_path or load_config().evidence_key
    try:
        print_fingerprint = keygen(path)
    except EvidenceError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"key {path} (public {path}.pub)\nfingerprint {print_fingerprint}")


@evidence.command("verify", context_settings=CONTEXT)
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trusted", metavar="FINGERPRINT", help="Fail unless the package was signed by this key.")
@click.option("--record", is_flag=True, help="Add a signed 'verify' entry to the package's custody log.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Key that signs the --record entry (default: LIJIAN_EVIDENCE_KEY).")
@click.option("--by", "who", default=None, help="Who verifies (for --record).")
@friendly_errors
def evidence_verify(package: Path, trusted: str | None, record: bool, key_path: Path | None, who: str | None) -> None:
    """Recompute every hash, check the custody chain and the signature; say exactly what differs
    (exit 1). A hostile archive (names with "..", links, oversized members) is refused.

    \b
    Example:
      lijian evidence verify case-12.zip --trusted SHA256:1a2b:…
    """
    from crawler.evidence.package import EvidenceError, append_custody, load_key, verify_package
    from crawler.triage import default_analyst

    try:
        problems = verify_package(package, trusted)
    except EvidenceError as exc:
        raise UserError(str(exc)) from None
    for problem in problems:
        click.echo(f"FAIL {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{package}: verified (every file's SHA-256, the custody chain, the signature)")
    if record:
        key = load_key(key_path or load_config().evidence_key)
        append_custody(package, "verify", who or default_analyst(), "verified: hashes, chain, signature", key)
        click.echo("custody log: verification recorded")
