"""One crawl spec, checked once, and the internal entry point that runs a crawl from it."""

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from crawler.app.crawls import CrawlJob
from crawler.crawlspec import CrawlSpec, SpecError, check
from crawler.storage.db import open_database, session_factory
from crawler.storage.models import CrawlRun, Listing
from tests.conftest import run_lijian


def test_fields_arrive_as_scrapy_arguments_or_lists_alike():
    given = CrawlSpec.of(sites="a, c", categories="cable,", keywords=None, max_pages="2")
    assert given == CrawlSpec.of(sites=["a", "c"], categories=("cable",), max_pages=2)
    assert CrawlSpec.of(sites="").sites == ("a", "b", "c", "d")
    assert CrawlSpec.of(given.model_dump_json()) == given  # JSON between processes, unchanged


@pytest.mark.parametrize("fields, field, words", [
    ({"sites": "a", "base_url": None}, "base_url", "need the sandbox's URL"),
    ({"sites": "a", "base_url": "ftp://x"}, "base_url", "must start with http:// or https://"),
    ({"sites": "nosuch"}, "sites", "unknown site 'nosuch'"),
    ({"sites": "a", "base_url": "http://127.0.0.1:1", "categories": "toys"}, "categories", "unknown category 'toys'"),
    ({"spider": "shop", "urls": "shop.example"}, "urls", "must start with http:// or https://"),
    ({"spider": "shop"}, "urls", "give at least one URL"),
])
def test_check_names_the_field_that_is_wrong(fields, field, words):
    with pytest.raises(SpecError) as caught:
        check(CrawlSpec.of(**fields))
    assert caught.value.field == field and words in str(caught.value)


def test_a_bad_field_value_is_a_spec_error_not_a_traceback():
    with pytest.raises(SpecError) as caught:
        CrawlSpec.of(max_pages=0)
    assert caught.value.field == "max_pages"
    with pytest.raises(SpecError):
        CrawlSpec.of(nonsense=1)


def test_the_spider_refuses_what_the_cli_refuses():
    from spiders.marketplace import MarketplaceSpider

    with pytest.raises(SpecError, match="unknown category 'toys'"):
        MarketplaceSpider(sites="a", base_url="http://127.0.0.1:1", categories="toys")
    spider = MarketplaceSpider(spec=CrawlSpec.of(sites="a", base_url="http://127.0.0.1:1", keywords="电缆"))
    assert list(spider.profiles) == ["sandbox-a"] and spider.searches == [("电缆", None)]


def _child(job: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler.app.child"], input=job, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)


def test_the_child_entry_point_runs_a_job_given_as_json(sandbox, db_url, sessions):
    job = CrawlJob(spec=CrawlSpec.of(sites="a", categories="cable", base_url=sandbox.url, max_pages=1))
    done = _child(job.model_dump_json(), {"LIJIAN_DATABASE_URL": db_url})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("crawl run 1: finished; pages ")
    with sessions() as session:
        assert session.get(CrawlRun, 1).status == "finished"
        assert session.scalar(select(func.count()).select_from(Listing)) > 0


@pytest.mark.parametrize("raw, words", [
    ("not json", "not a crawl job"),
    (json.dumps({"spec": {"sites": "a", "max_pages": -1}}), "not a crawl job"),
    (json.dumps({"spec": {"sites": "a"}}), "need the sandbox's URL"),
    (json.dumps({}), "needs a spec or a frontier run"),
])
def test_the_child_refuses_a_malformed_job_in_one_line(raw, words, db_url):
    done = _child(raw, {"LIJIAN_DATABASE_URL": db_url})
    assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr


def test_any_profile_may_search_from_an_address_given_at_crawl_time(sandbox, db_url, tmp_path):
    """{base} is not only for the sandbox: a profile of a shop on any host (here the sandbox's
    flavour a, renamed and no longer marked sandbox) takes its address from --base-url."""
    from crawler.profiles import BUNDLED_PROFILES

    folder = tmp_path / "profiles"
    folder.mkdir()
    text = (BUNDLED_PROFILES / "sandbox-a.yaml").read_text(encoding="utf-8")
    (folder / "myshop.yaml").write_text(text.replace("name: sandbox-a", "name: myshop").replace("sandbox: true\n", ""),
                                        encoding="utf-8")
    missing = run_lijian("crawl", "--profiles", str(folder), "--site", "myshop", "--keyword", "电线", "--db", db_url)
    assert missing.returncode == 2 and "give it with --base-url URL" in missing.stderr
    done = run_lijian("crawl", "--profiles", str(folder), "--site", "myshop", "--keyword", "电线", "--max-pages", "1",
                      "--base-url", sandbox.url, "--db", db_url)
    assert done.returncode == 0, done.stderr[-2000:]
    with session_factory(open_database(db_url))() as session:
        markets = set(session.scalars(select(Listing.marketplace)))
    assert markets == {"myshop"}
