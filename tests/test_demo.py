"""`lijian demo` end to end, twice, as a new user runs it (a subprocess in an empty folder)."""

import sqlite3

import pytest

from crawler.sandbox.market_data import WORLD
from tests.conftest import run_lijian


@pytest.mark.browser
def test_demo_runs_twice_without_duplicates(tmp_path):
    db = tmp_path / "demo.db"
    args = ("demo", "--listings", "120", "--out", str(tmp_path / "out"), "--db", f"sqlite:///{db}")
    first = run_lijian(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        cells = set(conn.execute("select marketplace, category from listings"))
        count = conn.execute("select count(*) from listings").fetchone()[0]
        suspects = conn.execute("select count(*) from suspects").fetchone()[0]
    assert count == 120
    assert cells == {(f"sandbox-{f}", w.slug) for f in "abcd" for w in WORLD}
    assert suspects > 0
    assert "Listings in the database" in first.stdout and "Planted suspects" in first.stdout
    digests = list((tmp_path / "out").glob("digest-*.html"))
    assert len(digests) == 1 and "可疑商品日报" in digests[0].read_text(encoding="utf-8")
    assert list((tmp_path / "out").glob("digest-*.csv"))
    # The digest workbook against the sandbox's own truth: every planted suspect the matchers
    # flagged is listed, every kind of planted suspect is represented, no genuine listing is.
    from openpyxl import load_workbook

    from crawler.sandbox.catalog import build_catalog

    truth = {item.path: item.suspect_kinds for item in build_catalog(120, 2018).listings}
    sheet = load_workbook(next((tmp_path / "out").glob("digest-*.xlsx")))["新增"]
    header = [c.value for c in sheet[1]]
    listed = [row[header.index("链接")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    paths = ["/" + url.split("/", 3)[3] for url in listed]  # the sandbox's port differs per run
    assert len(paths) == suspects and all(truth[p] for p in paths)  # only planted suspects
    assert {kind for p in paths for kind in truth[p]} >= {"cert_missing", "cert_revoked", "counterfeit_keyword"}

    second = run_lijian(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from listings").fetchone()[0] == count
        assert conn.execute("select count(*) from listing_snapshots").fetchone()[0] == count
        assert conn.execute("select count(*) from suspects").fetchone()[0] == suspects
    assert "(0 new, 0 new snapshots)" in second.stdout


def test_demo_with_unreachable_database_fails_cleanly(tmp_path):
    result = run_lijian("demo", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x", cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert "cannot connect to database" in result.stderr and "Traceback" not in result.stderr
