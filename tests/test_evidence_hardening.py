"""Evidence that cannot be forged past `verify`, damaged packages that fail with a line instead of
a traceback, and a package mutated a few hundred ways never verifying unless nothing that
matters changed."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.cli import cli
from crawler.evidence.errors import EvidenceError
from crawler.evidence.package import build_package, keygen, load_key
from crawler.evidence.verify import package_bytes, read_package, verify_members, verify_package

FILES = {"summary.html": "<html><body>美旳 电饭煲 ¥199</body></html>".encode(),
         "screenshot.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
         "listing.json": json.dumps({"title": "美旳 电饭煲", "price": "199.00"}, ensure_ascii=False).encode()}


def _package(folder: Path) -> tuple[Path, Path, str]:
    key_path = folder / "keys" / "evidence.pem"
    fingerprint = keygen(key_path)
    package = folder / "case-1.zip"
    build_package(package, FILES, {"suspect": 1, "url": "http://127.0.0.1/item/1"}, load_key(key_path), by="张三",
                  actions=[("capture", "captured"), ("export", "package written")])
    return package, key_path, fingerprint


@pytest.fixture
def signed(tmp_path):
    return _package(tmp_path)


def verify_cli(*args: str):
    return CliRunner().invoke(cli, ["evidence", "verify", *args])


def _assert_fails_cleanly(result, *words: str):
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "verified" not in result.output.replace("NOT checked", "")
    assert "FAIL" in result.output and all(w in result.output for w in words), result.output


def test_two_members_of_one_name_are_refused(signed, tmp_path):
    """A forged files/summary.html first, the genuine one last: unzip -n extracts the forgery,
    so such a package must not verify whatever the last copy holds."""
    package, _, _ = signed
    members = read_package(package)
    forged = tmp_path / "forged.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(forged, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, as it should
        archive.writestr("files/summary.html", b"<html>forged</html>")
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(EvidenceError, match="two members named 'files/summary.html'"):
        verify_package(forged)
    _assert_fails_cleanly(verify_cli(str(forged)), "two members named")


def test_recording_with_another_key_is_refused_and_the_package_still_verifies(signed, tmp_path):
    package, key_path, fingerprint = signed
    other = tmp_path / "other.pem"
    keygen(other)
    before = package.read_bytes()
    result = verify_cli(str(package), "--record", "--key", str(other))
    assert result.exit_code == 1 and "did not sign this package" in result.output
    assert package.read_bytes() == before and verify_package(package) == []
    missing = verify_cli(str(package), "--record", "--key", str(tmp_path / "nonexistent.pem"))
    assert missing.exit_code == 1 and "verified" not in missing.output and "nonexistent.pem" in missing.output
    assert isinstance(missing.exception, SystemExit)  # one line, no traceback
    good = verify_cli(str(package), "--record", "--key", str(key_path), "--trusted", fingerprint)
    assert good.exit_code == 0 and "verification recorded" in good.output and verify_package(package, fingerprint) == []


def test_verify_always_shows_the_signer_and_warns_without_a_trusted_key(signed, tmp_path):
    package, _, fingerprint = signed
    plain = verify_cli(str(package))
    assert plain.exit_code == 0 and fingerprint in plain.output and "NOT checked against a trusted key" in plain.output
    trusted = verify_cli(str(package), "--trusted", fingerprint)
    assert trusted.exit_code == 0 and fingerprint in trusted.output and "NOT checked" not in trusted.output
    # An altered package re-signed with another key verifies without --trusted: the fingerprint
    # printed is the forger's, which is what the reader must compare.
    forger_pem = tmp_path / "forger.pem"
    forger = keygen(forger_pem)
    resigned = tmp_path / "resigned.zip"
    build_package(resigned, {**FILES, "summary.html": b"<html>altered</html>"}, {"suspect": 1}, load_key(forger_pem),
                  by="x", actions=[("export", "x")])
    result = verify_cli(str(resigned))
    assert result.exit_code == 0 and forger in result.output and fingerprint not in result.output
    _assert_fails_cleanly(verify_cli(str(resigned), "--trusted", fingerprint), "not by the trusted key")


def test_a_zip_bomb_is_refused_before_it_is_inflated(signed, tmp_path):
    package, _, _ = signed
    members = read_package(package)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        with archive.open("files/page.html", "w") as handle:  # 100 MB of zeros, about 100 KB packed
            for _ in range(100):
                handle.write(bytes(1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(EvidenceError, match="zip bomb"):
            verify_package(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


def test_files_are_hashed_as_streams(signed, tmp_path):
    """A large genuine file verifies without being held in memory."""
    key_path = signed[1]
    big = tmp_path / "big.zip"
    payload = bytes(range(256)) * (64 * 1024 * 4)  # 64 MB that does not compress
    build_package(big, {**FILES, "archive.warc.gz": payload}, {"suspect": 2}, load_key(key_path), by="张三",
                  actions=[("export", "written")])
    del payload
    tracemalloc.start()
    try:
        assert verify_package(big) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 1024 * 1024


def _member_offsets(data: bytes, name: str) -> tuple[int, int]:
    """(offset of the member's local header, offset of its central directory record)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    central = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4:][:0])  # first record
    while True:
        size_name, size_extra, size_comment = struct.unpack("<HHH", data[central + 28:central + 34])
        if data[central + 46:central + 46 + size_name].decode() == name:
            return info.header_offset, central
        central += 46 + size_name + size_extra + size_comment


def _data_offset(data: bytes, header: int) -> int:
    size_name, size_extra = struct.unpack("<HH", data[header + 26:header + 30])
    return header + 30 + size_name + size_extra


@pytest.mark.parametrize("damage", ["stored byte", "deflated byte", "name mismatch", "encrypted", "method"])
def test_a_damaged_package_fails_with_a_line_not_a_traceback(signed, tmp_path, damage):
    package, _, _ = signed
    data = bytearray(package.read_bytes())
    name = "files/screenshot.png" if damage == "stored byte" else "files/summary.html"
    header, central = _member_offsets(bytes(data), name)
    if damage in ("stored byte", "deflated byte"):
        data[_data_offset(bytes(data), header) + 5] ^= 0xFF  # disk corruption: a bad CRC-32 or a bad stream
    elif damage == "name mismatch":
        data[header + 30] ^= 0x20  # the local header's name differs from the directory's
    elif damage == "encrypted":
        data[central + 8] |= 0x01
    else:
        data[central + 10:central + 12] = struct.pack("<H", 99)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bytes(data))
    with pytest.raises(EvidenceError):
        verify_package(broken)
    _assert_fails_cleanly(verify_cli(str(broken)))


@pytest.mark.parametrize("change, words", [
    (lambda m: [m], "not a JSON object"),
    (lambda m: {**m, "signer": None}, "'signer'"),
    (lambda m: {**m, "files": [{**m["files"][0], "sha256": 5}, *m["files"][1:]]}, "file entry 1"),
    (lambda m: {**m, "files": [{k: v for k, v in f.items() if k != "path"} for f in m["files"]]}, "file entry"),
    (lambda m: {**m, "files": "all of them"}, "'files' is not a list"),
    (lambda m: {**m, "timestamp": 7}, "'timestamp'"),
])
def test_a_manifest_of_the_wrong_shape_fails_with_a_line(signed, tmp_path, change, words):
    package, _, _ = signed
    members = read_package(package)
    members["manifest.json"] = json.dumps(change(json.loads(members["manifest.json"]))).encode()
    problems = verify_members(members)
    assert problems and any(words in p for p in problems), problems
    broken = tmp_path / "shape.zip"
    broken.write_bytes(package_bytes(members))
    _assert_fails_cleanly(verify_cli(str(broken)), words)


@pytest.mark.parametrize("line", ['{"hash": 5, "sig": null, "prev": "0"}', "[1, 2]", "null", '"text"'])
def test_a_custody_entry_of_the_wrong_shape_fails_with_a_line(signed, line):
    package, _, _ = signed
    members = read_package(package)
    members["custody.jsonl"] = (line + "\n").encode() + members["custody.jsonl"]
    assert any("not a custody entry" in p for p in verify_members(members))


def test_a_wacz_is_named_as_what_it_is(tmp_path):
    wacz = tmp_path / "case-1.wacz"
    with zipfile.ZipFile(wacz, "w") as archive:
        archive.writestr("datapackage.json", json.dumps({"profile": "data-package", "resources": []}))
        archive.writestr("archive/data.warc.gz", b"")
    result = verify_cli(str(wacz))
    _assert_fails_cleanly(result, "WACZ web archive, not an evidence package", "case-N.zip")


def test_replay_refuses_a_package_that_does_not_verify(signed, tmp_path):
    package, _, _ = signed
    members = read_package(package)
    members["files/summary.html"] = b"<html>altered</html>"
    altered = tmp_path / "altered.zip"
    altered.write_bytes(package_bytes(members))
    result = CliRunner().invoke(cli, ["evidence", "replay", str(altered), "--url", "http://127.0.0.1/item/1"])
    assert result.exit_code == 1 and "does not verify" in result.output and "--unverified" in result.output
    assert isinstance(result.exception, SystemExit)


# -- mutations: whatever is done to a genuine package, verify says so or nothing that matters changed --

MUTATIONS = ("flip", "truncate", "duplicate", "rename", "add", "remove", "json")


@st.composite
def mutations(draw):
    kind = draw(st.sampled_from(MUTATIONS))
    return kind, draw(st.integers(min_value=0, max_value=10**9)), draw(st.integers(min_value=0, max_value=255)), \
        draw(st.sampled_from([None, 0, -1, 1.5, "x", [], {}, True, "0" * 64]))


def _mutate(original: bytes, members: dict[str, bytes], kind: str, where: int, byte: int, value) -> bytes:
    names = sorted(members)
    name = names[where % len(names)]
    if kind == "flip":
        data = bytearray(original)
        data[where % len(data)] ^= (byte or 1)
        return bytes(data)
    if kind == "truncate":
        return original[: where % len(original)]
    if kind == "duplicate":
        buffer = io.BytesIO()
        with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
            warnings.simplefilter("ignore")
            archive.writestr(name, members[name] + bytes([byte]))
            for other, data in members.items():
                archive.writestr(other, data)
        return buffer.getvalue()
    if kind == "rename":
        return package_bytes({(f"files/renamed-{byte}" if n == name else n): d for n, d in members.items()})
    if kind == "add":
        return package_bytes({**members, f"files/planted-{byte}.html": bytes([byte]) * 10})
    if kind == "remove":
        return package_bytes({n: d for n, d in members.items() if n != name})
    manifest = json.loads(members["manifest.json"])
    fields = ["signer", "files", "custody_root", "case", "format"]
    target = fields[where % len(fields)]
    if target == "files" and byte % 2:
        manifest["files"][where % len(manifest["files"])][["path", "sha256", "size"][byte % 3]] = value
    else:
        manifest[target] = value
    return package_bytes({**members, "manifest.json": json.dumps(manifest).encode()})


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=mutations())
def test_a_mutated_package_never_verifies_unless_nothing_that_matters_changed(signed, tmp_path, mutation):
    package, _, _ = signed
    original = package.read_bytes()
    members = read_package(package)
    mutated = tmp_path / "mutated.zip"
    mutated.write_bytes(_mutate(original, members, *mutation))
    try:
        problems = verify_package(mutated)
    except EvidenceError:
        return  # refused with a sentence: the CLI prints it as a FAIL line
    if not problems:  # a flip in a timestamp or a comment changes no content: then it may verify
        assert read_package(mutated) == members, f"{mutation} changed the package and it still verified"
