"""Scrapy settings for the monitor (scrapy.cfg points here). Runtime values come from crawler.config."""

from scrapy.settings.default_settings import RETRY_EXCEPTIONS as _SCRAPY_RETRY_EXCEPTIONS

from crawler.browser import launch_options
from crawler.config import load_config

_config = load_config()

BOT_NAME = "lijian"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = _config.user_agent
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
# Items and requests of one response handled at once. Scrapy's default (100) starts 100 tasks
# per response however few it yields — a third of the reactor's time on a sandbox crawl; 16
# still lets a page's listings wait for their store batch side by side.
CONCURRENT_ITEMS = 16
DOWNLOAD_TIMEOUT = 30
# A page larger than the extractor reads (crawler.extract.pages.MAX_PAGE_BYTES, 20 MB) is not
# downloaded at all: Scrapy cancels it, logs it and counts it (a shop's 50 MB page took
# 2 GB and two minutes to parse). Warn from 5 MB.
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Scrapy's own network errors, plus a browser page that never became ready.
RETRY_EXCEPTIONS = [*_SCRAPY_RETRY_EXCEPTIONS, "playwright._impl._errors.TimeoutError"]
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 starts, by default, an HTTP server in every crawl that runs Python code sent to it
# (its token in a file in the home folder). Never in a bureau's crawler; not even imported.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

# Playwright only for requests that ask for it (meta playwright=True); all others take
# Scrapy's own HTTP download path through the same handler.
# The declared charset checked against the bytes (after decompression, which runs at 590); a
# profile's signed-in session added before Scrapy's cookie middleware (700) reads the request.
DOWNLOADER_MIDDLEWARES = {"crawler.middlewares.EncodingMiddleware": 580, "crawler.middlewares.SessionMiddleware": 650}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = launch_options(_config.chromium_path)
PLAYWRIGHT_MAX_CONTEXTS = 2
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 20_000
# Images, fonts and media are skipped, except on pages that will be screenshotted.
PLAYWRIGHT_ABORT_REQUEST = "crawler.browser.abort_heavy"

ITEM_PIPELINES = {
    "crawler.pipelines.validate.ValidatePipeline": 100,
    "crawler.pipelines.normalise.NormalisePipeline": 200,
    "crawler.pipelines.store.StorePipeline": 300,
}
EXTENSIONS = {
    "crawler.extensions.runs.CrawlRunRecorder": 500,
    "scrapy.extensions.remote_control.RemoteControl": None,
}

LIJIAN_DATABASE_URL = _config.database_url
LIJIAN_DB_RETRY_SECONDS = _config.db_retry_seconds  # read by the run recorder (extensions/runs.py)
LIJIAN_CRAWL_RUN_ID = None
