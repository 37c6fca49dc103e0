"""Benchmark: listings per second with 1, 2 and 4 `lijian worker` processes sharing a Redis
frontier into PostgreSQL, against a bare Scrapy download of the same pages in the same session.

    python benchmarks/workers_scale.py [--listings 6000] [--workers 1,2,4]
        [--redis redis://127.0.0.1:6379/14] [--pg postgresql://postgres@127.0.0.1:5432/test]

For each worker count: a fresh PostgreSQL database and Redis database, the sandbox (flavours
a, b, d; --listings listings), `lijian crawl --no-wait` queues the run, N workers crawl it;
the time is from the first worker starting to the run being finished. While they run, the
resident memory (RSS) of every crawl process is sampled each second: its peak, and its mean
in each quarter of the process's life (flat = no growth with listings crawled; the first
quarter holds the start-up, so growth is read from the second quarter to the fourth).

Baseline, same session: a bare Scrapy spider (no parsing, no pipelines, no Redis, one
process) downloads the detail page of every listing the crawl stored (the search and shop
pages the real crawl also fetches are not in it, so the baseline is a lower bound of the
work). Printed: seconds, listings/s, ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIJIAN = [sys.executable, "-m", "crawler.cli"]
BARE = '''
import sys, json, scrapy
from scrapy.crawler import CrawlerProcess
urls = json.load(open(sys.argv[1]))
class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        for url in urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)
    def parse(self, response):
        pass
process = CrawlerProcess({"LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
                          "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False})
process.crawl(Bare)
process.start()
'''


def sandbox(listings: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([*LIJIAN, "sandbox", "serve", "--port", "0", "--listings", str(listings),
                                "--flavours", "a,b,d"], stdout=subprocess.PIPE, text=True)
    url = re.search(r"(http://127\.0\.0\.1:\d+)", process.stdout.readline()).group(1)
    return process, url


def rss_of_crawls() -> dict[int, int]:
    """RSS in KiB of every crawl child process (`python -m crawler.app.child`) now."""
    sizes = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"crawler.app.child" not in cmd:
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[int(pid)] = int(line.split()[1])
        except OSError:
            continue
    return sizes


def run_workers(n: int, listings: int, url: str, pg_admin: str, redis_url: str) -> dict:
    import psycopg
    import redis

    from crawler.storage.db import open_database, session_factory
    from crawler.storage.models import CrawlRun, Listing

    redis.Redis.from_url(redis_url).flushdb()
    name = f"lijian_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name
    env = {**os.environ, "LIJIAN_DATABASE_URL": db, "LIJIAN_REDIS_URL": redis_url}
    try:
        subprocess.run([*LIJIAN, "db", "upgrade"], env=env, check=True, capture_output=True)
        queued = subprocess.run([*LIJIAN, "crawl", "--sandbox", url, "--site", "a", "--site", "b", "--site", "d",
                                 "--max-pages", "1000", "--no-wait"], env=env, check=True, capture_output=True,
                                text=True)
        run_id = int(queued.stdout.split("crawl run ")[1].split(":")[0])
        samples: list[tuple[float, dict[int, int]]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(1.0):
                samples.append((time.monotonic(), rss_of_crawls()))

        sampler = threading.Thread(target=sample, daemon=True)
        began = time.monotonic()
        workers = [subprocess.Popen([*LIJIAN, "worker", "--exit-when-idle", "1"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
        sampler.start()
        sessions = session_factory(open_database(db))
        while True:
            with sessions() as session:
                status = session.get(CrawlRun, run_id).status
            if status in ("finished", "failed"):
                break
            done.wait(0.2)
        seconds = time.monotonic() - began
        done.set()
        for worker in workers:
            worker.wait(timeout=120)
        with sessions() as session:
            from sqlalchemy import func, select

            stored = session.scalar(select(func.count()).select_from(Listing))
            urls = list(session.scalars(select(Listing.url)))
        sessions.kw["bind"].dispose()
        per_process = {}
        for _, sizes in samples:
            for pid, kib in sizes.items():
                per_process.setdefault(pid, []).append(kib)
        peak = max((max(v) for v in per_process.values()), default=0) / 1024
        # Flat memory: each crawl process's mean RSS per quarter of its life; the first quarter
        # holds the start-up (imports, caches filling), so growth is read from quarter 2 to 4.
        quarters, drift = [], []
        for values in per_process.values():
            if len(values) >= 8:
                size = len(values) // 4
                means = [sum(values[i * size:(i + 1) * size]) / size / 1024 for i in range(4)]
                quarters.append(means)
                drift.append(means[3] / means[1])
        return {"workers": n, "status": status, "seconds": seconds, "stored": stored, "urls": urls,
                "peak_mib": peak, "quarters": quarters, "rss_q4_over_q2": max(drift) if drift else None}
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bare_download(urls: list[str]) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(urls, handle)
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", BARE, handle.name], check=True)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=6000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the bare Scrapy download (for a memory run; ratios need it)")
    args = parser.parse_args()
    server, url = sandbox(args.listings)
    try:
        results = [run_workers(int(n), args.listings, url, args.pg, args.redis) for n in args.workers.split(",")]
        pages = results[0]["urls"]  # every stored listing's detail page
        bare = None if args.no_baseline else bare_download(pages)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
    bare_rate = results[0]["stored"] / bare if bare else float("nan")
    if bare:
        print(f"bare Scrapy download of the same {len(pages)} pages: {bare:.1f} s ({bare_rate:.0f} listings/s equivalent)")
    print("| workers | run | listings stored | seconds | listings/s | vs 1 worker | vs bare Scrapy "
          "| peak RSS per crawl process MiB | RSS quarter 4 / quarter 2 |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    one = results[0]["stored"] / results[0]["seconds"]
    for r in results:
        rate = r["stored"] / r["seconds"]
        drift = f"{r['rss_q4_over_q2']:.2f}" if r["rss_q4_over_q2"] else "-"
        print(f"| {r['workers']} | {r['status']} | {r['stored']:,} | {r['seconds']:.1f} | {rate:.0f} | {rate / one:.2f} | "
              f"{rate / bare_rate:.2f} | {r['peak_mib']:.0f} | {drift} |")
    for r in results:
        for number, means in enumerate(r["quarters"], 1):
            print(f"{r['workers']} workers, crawl process {number}: mean RSS per quarter of its life "
                  + " → ".join(f"{m:.0f}" for m in means) + " MiB")


if __name__ == "__main__":
    main()
