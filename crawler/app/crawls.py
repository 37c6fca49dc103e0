"""Plan and run one crawl: the use case behind `lijian crawl`, `crawl-shop`, campaign runs and
Redis workers.

`plan` turns what a face was given into a checked `CrawlSpec` (crawler/crawlspec.py); `run_job`
runs a `CrawlJob` (a spec and how to record it) in this process; `start_child` runs one in a
child process through `python -m crawler.app.child`, the spec passed as JSON on its stdin.
Twisted's reactor cannot be restarted, so one process runs at most one crawl.
"""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from pydantic import BaseModel, ConfigDict
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.config import Config
from crawler.crawlspec import CheckedSpec, CrawlSpec, check


@dataclass(frozen=True)
class CrawlResult:
    run_id: int | None
    stats: dict[str, Any]
    status: str | None = None  # as the run was recorded: finished, failed, interrupted
    reason: str | None = None  # the recorded error's first line, for a run that did not finish

    @property
    def finish_reason(self) -> str:
        return str(self.stats.get("finish_reason", "unknown"))


def one_line_errors() -> None:
    """From now on in this process, a Scrapy error (a download error, mostly) is logged as one
    line naming the request and the exception instead of a Twisted traceback: a dead site gave
    six screens of them. Done where log records are made, as Scrapy replaces its root handler
    when a crawl starts. Only at WARNING and above (the CLI's default): at INFO and DEBUG the
    tracebacks stay, someone is debugging."""
    make = logging.getLogRecordFactory()
    if getattr(make, "one_line", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if record.exc_info and record.levelno >= logging.ERROR and record.name.startswith("scrapy"):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}" if exc else record.getMessage()
            record.args = None
            record.exc_info = record.exc_text = None
        return record

    factory.one_line = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def crawl_settings(database_url: str, log_level: str = "WARNING", **extra: Any) -> Settings:
    settings = get_project_settings()
    if not settings.get("BOT_NAME") == "lijian":
        settings.setmodule("crawler.settings", priority="project")
    settings.set("LIJIAN_DATABASE_URL", database_url, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    for key, value in extra.items():
        settings.set(key, value, priority="cmdline")
    return settings


# The cyclic garbage collector's youngest generation is collected after this many new
# container objects (Python's default: 700). A crawl allocates a few hundred per page; at 700
# the collector ran about a thousand times in a 3,000-listing crawl and took 1.5 s of it (10%).
# The older generations keep Python's defaults, so garbage in cycles is still found within a
# few hundred pages: over 100,000 listings the crawl's memory was the same as with Python's
# defaults (docs/BENCHMARKS.md).
YOUNG_GENERATION = 10_000


def settle_heap() -> None:
    """Before the reactor runs: what start-up built (modules, profiles, settings) is moved out of
    the collector's sight for good (gc.freeze), and the youngest generation is collected less often."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, oldest)


def run_crawl(settings: Settings, spec: CrawlSpec, on_item: Callable[[Any], None] | None = None,
              on_response: Callable[[], None] | None = None, checked: CheckedSpec | None = None) -> CrawlResult:
    """Crawl `spec` in this process with `settings` (see crawl_settings) and return the run."""
    settings = settings.copy()
    for key, value in spec.limits().items():
        if not settings.getint(key):
            settings.set(key, value, priority="cmdline")
    from crawler.profiles import browser_settings, politeness_settings

    # Each profile's concurrency, delay and AutoThrottle, as Scrapy download slots; Playwright
    # only when a profile needs the browser (the shop spider never does).
    profiles = (checked or check(spec)).profiles if spec.spider == "marketplace" else []
    chosen = browser_settings(profiles)
    if spec.spider == "marketplace":
        chosen.update(politeness_settings(profiles))
    for key, value in chosen.items():
        settings.set(key, value, priority="spider")
    process = CrawlerProcess(settings)
    if logging.getLevelName(str(settings.get("LOG_LEVEL", "DEBUG")).upper()) >= logging.WARNING:
        one_line_errors()
    crawler = process.create_crawler(spec.spider)
    if on_item is not None:
        crawler.signals.connect(lambda item, **_: on_item(item), signal=signals.item_scraped, weak=False)
    if on_response is not None:
        crawler.signals.connect(lambda **_: on_response(), signal=signals.response_received, weak=False)
    process.crawl(crawler, spec=spec)
    settle_heap()
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    run_id = stats.get("lijian/crawl_run_id")
    status, reason = _recorded(settings.get("LIJIAN_DATABASE_URL"), run_id)
    return CrawlResult(run_id, stats, status, reason)


def _recorded(database_url: str | None, run_id: int | None) -> tuple[str | None, str | None]:
    """The run's status as recorded (the recorder fails a run that fetched nothing), and the
    first line of its error that says why."""
    if not database_url or run_id is None:
        return None, None
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from crawler.storage.db import open_database, session_factory  # noqa: PLC0415
    from crawler.storage.models import CrawlRun  # noqa: PLC0415

    try:
        with session_factory(open_database(database_url))() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                return None, None
            lines = [line for line in (run.error_text or "").splitlines() if not line.startswith("finish reason")]
            return run.status, (lines[0] if lines else None)
    except SQLAlchemyError:
        return None, None


def plan(config: Config, **fields: Any) -> CheckedSpec:
    """The spec of a crawl a user asked for, checked: the profile and watchlist folders of the
    configuration unless given, the database at its schema head (a clear error before Scrapy
    starts). SpecError (a UserError) names the field that is wrong."""
    from crawler.profiles import BUNDLED_PROFILES
    from crawler.storage.db import open_database

    spec = CrawlSpec.of(**fields)
    folders = {"profiles_dir": spec.profiles_dir or str(config.profiles_dir or BUNDLED_PROFILES),
               "watchlists_dir": spec.watchlists_dir or (str(config.watchlists_dir) if config.watchlists_dir else None)}
    if spec.spider == "shop":  # the shop spider reads profiles only from a folder it was given
        folders = {"profiles_dir": spec.profiles_dir or (str(config.profiles_dir) if config.profiles_dir else None)}
    checked = check(spec.model_copy(update=folders))
    open_database(config.database_url)
    return checked


class CrawlJob(BaseModel):
    """One crawl for a process to run: a spec and how to record it, or a worker's share of a
    run queued in Redis (whose spec the frontier holds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec: CrawlSpec | None = None
    run_id: int | None = None  # record into this CrawlRun, created beforehand (campaign runs)
    progress_file: str | None = None  # pages and listings so far, rewritten as the crawl goes
    frontier_run: int | None = None  # a worker's share of this run queued in Redis
    worker_id: str | None = None
    log_level: str = "WARNING"


@dataclass(frozen=True)
class Summary:
    """What a face says about a finished crawl: one line, an error line or none, and whether
    the run finished."""

    line: str
    error: str | None
    ok: bool


def summary(result: CrawlResult, spider: str = "marketplace") -> Summary:
    stats = result.stats
    if spider == "shop":
        counts = (f"pages {stats.get('response_received_count', 0)}, product pages "
                  f"{stats.get('lijian/shop/product_pages', 0)}, listings {stats.get('lijian/listings_seen', 0)} "
                  f"(new {stats.get('lijian/listings_new', 0)})")
    else:
        counts = (f"pages {stats.get('response_received_count', 0)}, listings {stats.get('lijian/listings_seen', 0)} "
                  f"(new {stats.get('lijian/listings_new', 0)}, changed or new snapshots "
                  f"{stats.get('lijian/snapshots_new', 0)})")
    line = (f"crawl run {result.run_id}: {result.status or result.finish_reason}; {counts}, "
            f"dropped {stats.get('item_dropped_count', 0)}, errors {stats.get('log_count/ERROR', 0)}")
    error = None
    if stats.get("lijian/db_error"):
        error = (f"error: database unreachable ({stats['lijian/db_error']}); the run is marked failed — "
                 f"run the crawl again when the database is back")
    elif result.status not in (None, "finished"):
        error = f"error: crawl run {result.run_id} is recorded {result.status}" + (
            f": {result.reason}" if result.reason else "")
    ok = result.finish_reason == "finished" and result.status in (None, "finished")
    return Summary(line, error, ok)


def run_here(config: Config, job: CrawlJob, checked: CheckedSpec | None = None) -> CrawlResult:
    """Run `job` (with a spec) in this process."""
    assert job.spec is not None
    recording = {"LIJIAN_CRAWL_RUN_ID": job.run_id, "LIJIAN_PROGRESS_FILE": job.progress_file}
    settings = crawl_settings(config.database_url, log_level=job.log_level.upper(),
                              **{k: v for k, v in recording.items() if v is not None})
    return run_crawl(settings, job.spec, checked=checked)


def run_job(config: Config, job: CrawlJob, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    """Run `job` in this process and say how it went; the exit status (0 finished, 1 not)."""
    if job.frontier_run is not None:
        return crawl_as_worker(config, job.frontier_run, job.worker_id, job.log_level.upper(), say=say, warn=warn)
    if job.spec is None:
        warn("error: a crawl job needs a spec or a frontier run")
        return 2
    told = summary(run_here(config, job), job.spec.spider)
    say(told.line)
    if told.error:
        warn(told.error)
    return 0 if told.ok else 1


def crawl_as_worker(config: Config, run_id: int, worker_id: str | None, log_level: str,
                    say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    """One worker's share of run `run_id` (in this process): 0 when it ended normally."""
    from crawler.scheduling.frontier import FrontierError, connect, frontier_settings, new_worker_id, run_spec

    if not config.redis_url:
        warn("error: a worker's crawl needs LIJIAN_REDIS_URL")
        return 2
    try:
        spec = run_spec(connect(config.redis_url), run_id)
    except FrontierError as exc:
        warn(f"error: {exc}")
        return 1
    worker_id = worker_id or new_worker_id()
    extra = frontier_settings(config.redis_url, run_id, worker_id)
    result = run_crawl(crawl_settings(config.database_url, log_level=log_level, **extra), spec)
    stats = result.stats
    say(f"worker {worker_id} on run {run_id}: {result.finish_reason}; pages "
        f"{stats.get('response_received_count', 0)}, listings {stats.get('lijian/listings_seen', 0)}, "
        f"re-queued from stopped workers {stats.get('lijian/frontier/requeued', 0)}")
    return 0 if result.finish_reason == "finished" else 1


def start_child(job: CrawlJob, env: dict[str, str], stdout: IO[bytes] | int | None = None,
                new_session: bool = False) -> subprocess.Popen:
    """Start `python -m crawler.app.child` on `job` (written to its stdin); the process."""
    process = subprocess.Popen([sys.executable, "-m", "crawler.app.child"], stdin=subprocess.PIPE, stdout=stdout,
                               stderr=subprocess.STDOUT if stdout is not None else None, env=env,
                               start_new_session=new_session)
    assert process.stdin is not None
    process.stdin.write(job.model_dump_json().encode())
    process.stdin.close()
    return process
