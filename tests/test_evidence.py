"""Evidence packages: signing, the custody chain, and verification that names what was tampered with."""

from __future__ import annotations

import json
import socket
import subprocess
import zipfile

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.evidence.package import build_package, keygen, load_key, safe_name
from crawler.evidence.verify import package_bytes, read_package, verify_members, verify_package

FILES = {"page.html": "<html><body>美旳 电饭煲 <script>x</script></body></html>".encode(),
         "screenshot.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
         "listing.json": json.dumps({"title": "美旳 电饭煲", "price": "199.00"}, ensure_ascii=False).encode()}


@pytest.fixture
def signed(tmp_path):
    key_path = tmp_path / "keys" / "evidence.pem"
    fingerprint = keygen(key_path)
    package = tmp_path / "case-1.zip"
    build_package(package, FILES, {"suspect": 1, "title": "美旳 电饭煲"}, load_key(key_path), by="张三",
                  actions=[("capture", "captured from https://item.example/1"), ("export", "package written")])
    return package, key_path, fingerprint


def test_a_fresh_package_verifies_and_is_signed_by_the_key(signed):
    package, key_path, fingerprint = signed
    assert fingerprint.startswith("SHA256:") and (key_path.stat().st_mode & 0o777) == 0o600
    assert verify_package(package) == []
    assert verify_package(package, trusted=fingerprint) == []
    members = read_package(package)
    manifest = json.loads(members["manifest.json"])
    assert {f["path"] for f in manifest["files"]} == {f"files/{n}" for n in FILES}
    chain = [json.loads(line) for line in members["custody.jsonl"].decode().splitlines()]
    assert [e["action"] for e in chain] == ["capture", "export"] and chain[1]["prev"] == chain[0]["hash"]
    assert chain[0]["at_shanghai"].endswith("+08:00") and chain[0]["by"] == "张三"


@pytest.mark.parametrize("name", [*(f"files/{n}" for n in FILES), "manifest.json", "custody.jsonl"])
def test_changing_any_single_byte_of_any_file_is_named(signed, name):
    package, _, _ = signed
    members = read_package(package)
    data = bytearray(members[name])
    data[len(data) // 2] ^= 0x01
    members[name] = bytes(data)
    problems = verify_members(members)
    assert problems, f"a changed byte in {name} went unnoticed"
    if name.startswith("files/"):
        assert any(p.startswith(f"{name}: changed") for p in problems)
    elif name == "manifest.json":
        assert any("manifest.sig" in p or "manifest.json" in p for p in problems)
    else:
        assert any(p.startswith("custody.jsonl") for p in problems)


def test_added_removed_files_an_edited_log_and_another_signer_are_reported(signed, tmp_path):
    package, _, fingerprint = signed
    members = read_package(package)
    added = {**members, "files/extra.txt": b"planted"}
    assert "files/extra.txt: added (not in the manifest)" in verify_members(added)
    removed = {k: v for k, v in members.items() if k != "files/page.html"}
    assert "files/page.html: removed (listed in the manifest)" in verify_members(removed)
    lines = members["custody.jsonl"].decode().splitlines()
    first = json.loads(lines[0])
    first["by"] = "李四"  # someone rewrites who captured it
    edited = {**members, "custody.jsonl": ("\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]) + "\n").encode()}
    assert any("custody.jsonl line 1: edited" in p for p in verify_members(edited))
    dropped_first = {**members, "custody.jsonl": (lines[1] + "\n").encode()}
    assert any("chain broken" in p for p in verify_members(dropped_first))
    other = tmp_path / "other.pem"
    other_fingerprint = keygen(other)
    forged = tmp_path / "forged.zip"
    build_package(forged, FILES, {"suspect": 1}, load_key(other), by="x")
    assert verify_package(forged) == []  # self-consistent …
    assert verify_package(forged, trusted=fingerprint) == [
        f"signed by {other_fingerprint}, not by the trusted key {fingerprint}"]  # … but not ours


def test_hostile_archives_are_refused_not_unpacked(tmp_path):
    for bad in ("../../etc/passwd", "/abs/path", "files/../../x", "C:/windows/x", "files\\..\\x"):
        path = tmp_path / "hostile.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(bad, b"x")
        result = CliRunner().invoke(cli, ["evidence", "verify", str(path)])
        assert result.exit_code == 1 and "refused unsafe member name" in result.output, bad
        assert "Traceback" not in result.output
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"plain text")
    result = CliRunner().invoke(cli, ["evidence", "verify", str(not_zip)])
    assert result.exit_code == 1 and "not a readable zip package" in result.output


def test_names_are_sanitised_inside_packages():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\evil\\..\\截图 1.png") == "截图_1.png"
    assert safe_name("..") == "file"


def test_cli_keygen_verify_and_recorded_verification(tmp_path):
    key = tmp_path / "k.pem"
    made = CliRunner().invoke(cli, ["evidence", "keygen", "--key", str(key)])
    assert made.exit_code == 0 and "fingerprint SHA256:" in made.output
    again = CliRunner().invoke(cli, ["evidence", "keygen", "--key", str(key)])
    assert again.exit_code == 1 and "refusing to overwrite" in again.output
    package = tmp_path / "case.zip"
    build_package(package, FILES, {"suspect": 2}, load_key(key), by="王五")
    ok = CliRunner().invoke(cli, ["evidence", "verify", str(package), "--record", "--key", str(key), "--by", "审核员"])
    assert ok.exit_code == 0 and "verification recorded" in ok.output
    chain = read_package(package)["custody.jsonl"].decode().splitlines()
    assert json.loads(chain[-1])["action"] == "verify" and verify_package(package) == []
    members = read_package(package)
    members["files/page.html"] = members["files/page.html"] + b" "
    package.write_bytes(package_bytes(members))
    failed = CliRunner().invoke(cli, ["evidence", "verify", str(package)])
    assert failed.exit_code == 1 and "FAIL files/page.html: changed" in failed.output


# -- RFC 3161 time stamps, against OpenSSL's TSA on loopback (tests/tsa_server.py) -------------
@pytest.fixture
def tsa(tmp_path):
    from tests.tsa_server import start_tsa

    folder = tmp_path / "tsa"
    folder.mkdir()
    server = start_tsa(folder)
    yield server
    server.stop()


def test_a_time_stamped_package_verifies_here_and_with_openssl(tsa, tmp_path):
    key_path = tmp_path / "k.pem"
    keygen(key_path)
    package = tmp_path / "case-7.zip"
    build_package(package, FILES, {"suspect": 7}, load_key(key_path), by="张三", tsa_url=tsa.url)
    assert len(tsa.queries) == 1
    members = read_package(package)
    assert json.loads(members["manifest.json"])["timestamp"] == {"rfc3161": tsa.url, "file": "manifest.tsr"}
    notes: list[str] = []
    assert verify_members(members, tsa_trusted=tsa.ca_pem.read_bytes(), notes=notes) == []
    assert "RFC 3161 time stamp" in notes[0] and "CN=Test TSA" in notes[0] and "checked against the trusted" in notes[0]
    untrusted: list[str] = []
    assert verify_members(members, notes=untrusted) == [] and "NOT checked" in untrusted[0]
    # an independent implementation agrees: OpenSSL verifies the stored reply against the manifest
    (tmp_path / "manifest.json").write_bytes(members["manifest.json"])
    (tmp_path / "manifest.tsr").write_bytes(members["manifest.tsr"])
    openssl = subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / "manifest.json"), "-in",
                              str(tmp_path / "manifest.tsr"), "-CAfile", str(tsa.ca_pem)],
                             capture_output=True, text=True, check=False)
    assert openssl.returncode == 0 and "Verification: OK" in openssl.stdout, openssl.stderr
    result = CliRunner().invoke(cli, ["evidence", "verify", str(package), "--tsa-ca", str(tsa.ca_pem)])
    assert result.exit_code == 0, result.output
    assert "the time stamp" in result.output and "checked against the trusted TSA certificate" in result.output


def test_a_tampered_removed_swapped_or_untrusted_stamp_is_named(tsa, tmp_path):
    from tests.tsa_server import make_pki

    key = tmp_path / "k.pem"
    keygen(key)
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build_package(first, FILES, {"suspect": 1}, load_key(key), by="x", tsa_url=tsa.url)
    build_package(second, FILES, {"suspect": 2}, load_key(key), by="x", tsa_url=tsa.url)
    members, other = read_package(first), read_package(second)
    trusted = tsa.ca_pem.read_bytes()
    flipped = bytearray(members["manifest.tsr"])
    flipped[-10] ^= 0x01  # inside the TSA's signature
    problems = verify_members({**members, "manifest.tsr": bytes(flipped)}, tsa_trusted=trusted)
    assert problems and all(p.startswith("manifest.tsr: ") for p in problems)
    removed = {k: v for k, v in members.items() if k != "manifest.tsr"}
    assert verify_members(removed) == [f"manifest.tsr: removed (the manifest says it was time-stamped by {tsa.url})"]
    swapped = {**members, "manifest.tsr": other["manifest.tsr"]}  # a genuine stamp, of another manifest
    assert verify_members(swapped, tsa_trusted=trusted) == [
        "manifest.tsr: the stamped hash is not the hash of manifest.json (the manifest changed after stamping)"]
    plain = tmp_path / "plain.zip"
    build_package(plain, FILES, {"suspect": 3}, load_key(key), by="x")
    planted = {**read_package(plain), "manifest.tsr": members["manifest.tsr"]}
    assert verify_members(planted) == ["manifest.tsr: added (the manifest was not time-stamped)"]
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    make_pki(stranger)
    problems = verify_members(members, tsa_trusted=(stranger / "ca.pem").read_bytes())
    assert len(problems) == 1 and "is neither the trusted certificate nor issued by it" in problems[0]


def test_an_unreachable_tsa_stops_export_with_a_clear_error_and_no_package(tmp_path):
    from crawler.evidence.timestamp import TimestampError

    key = tmp_path / "k.pem"
    keygen(key)
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    package = tmp_path / "case.zip"
    with pytest.raises(TimestampError, match=rf"time-stamp authority http://127.0.0.1:{port}/tsa did not answer"):
        build_package(package, FILES, {"suspect": 1}, load_key(key), by="x", tsa_url=f"http://127.0.0.1:{port}/tsa")
    assert list(tmp_path.glob("case.zip*")) == []
    with pytest.raises(TimestampError, match="must be http"):
        build_package(package, FILES, {"suspect": 1}, load_key(key), by="x", tsa_url="file:///etc/passwd")
