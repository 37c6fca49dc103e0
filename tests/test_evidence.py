"""Evidence packages: signing, the custody chain, and verification that names what was tampered with."""

from __future__ import annotations

import json
import zipfile

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.evidence.package import (
    build_package,
    keygen,
    load_key,
    package_bytes,
    read_package,
    safe_name,
    verify_members,
    verify_package,
)

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
