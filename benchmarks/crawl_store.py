"""Benchmark: one crawl process against a bare Scrapy download of the same pages, same session.

    python benchmarks/crawl_store.py [--listings 3000] [--backends sqlite,postgresql] [--runs 3]
        [--pg postgresql://postgres@127.0.0.1:5432/test]

The sandbox (flavours a, b, d; --listings listings) on 127.0.0.1. For each backend, a fresh
database and one `lijian crawl --local` process (no Redis): search pages, detail pages, shop
pages, every listing parsed, validated, normalised and stored. Timed from the process start
to its end (start-up included). **Baseline**, same session: a bare Scrapy spider (one process,
no parsing, no pipelines, the same concurrency settings as ours allow per host) downloads
every page a crawl fetched — the same URLs, read from the log of one untimed crawl at DEBUG
level (the timed crawls log at WARNING, as in production). Crawls (each into a fresh
database) and bare downloads alternate, --runs times each; the best of each is compared (this
2-core machine's timings vary by ±15% from run to run). The resident memory of the crawl
process and its store process (crawler/storage/writer.py) together is read once a second:
its peak, and the peak of the last quarter of the crawl over that of the second (1.00: flat).
Printed: pages, seconds, pages/s, and ours / bare.
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
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "benchmarks"))

from workers_scale import BARE, LIJIAN, sandbox  # noqa: E402 - the same bare spider and sandbox


def database(backend: str, pg_admin: str, work: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{work / f'bench-{uuid.uuid4().hex[:6]}.db'}", lambda: None
    import psycopg

    name = f"lijian_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name, drop


def crawl(url: str, db: str, work: Path, log_pages: bool = False) -> dict:
    """One crawl into `db`; with log_pages, at DEBUG to read the pages it fetched (not timed:
    Scrapy's DEBUG log prints every item)."""
    log = work / f"pages-{uuid.uuid4().hex[:6]}.log"
    env = {**os.environ, "LIJIAN_DATABASE_URL": db}
    env.pop("LIJIAN_REDIS_URL", None)
    subprocess.run([*LIJIAN, "db", "upgrade"], env=env, check=True, capture_output=True)
    began = time.monotonic()
    with log.open("w") as errors:
        process = subprocess.Popen([*LIJIAN, "crawl", "--sandbox", url, "--site", "a", "--site", "b", "--site", "d",
                                    "--max-pages", "1000", "--local",
                                    "--log-level", "DEBUG" if log_pages else "WARNING"],
                                   env=env, text=True, stdout=subprocess.PIPE, stderr=errors)
        rss = []  # the crawl and its store process: resident memory (KiB), once a second
        while True:
            try:
                process.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                rss.append(tree_rss(process.pid))
        out = process.stdout.read()
    seconds = time.monotonic() - began
    done = subprocess.CompletedProcess(process.args, process.returncode, out)
    if done.returncode != 0:
        raise SystemExit(f"crawl failed: {done.stdout}")
    pages = [m.group(1) for m in re.finditer(r"Crawled \(200\) <GET (\S+)>", log.read_text(errors="replace"))]
    stored = int(re.search(r"listings (\d+)", done.stdout).group(1))
    fetched = int(re.search(r"pages (\d+)", done.stdout).group(1))
    return {"seconds": seconds, "pages": pages, "stored": stored, "fetched": fetched, "rss": rss}


def tree_rss(pid: int) -> int:
    """Resident memory (KiB) of a process and its descendants (the crawl and its store process)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(tree_rss(int(child)) for child in children)


def bare_download(urls: list[str], work: Path) -> float:
    path = work / "urls.json"
    path.write_text(json.dumps(urls))
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", BARE, str(path)], check=True)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=3000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=3, help="crawls and bare downloads, alternating; the best of each")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lijian-crawl-bench-"))
    server, url = sandbox(args.listings)
    rows = []
    try:
        db, drop = database("sqlite", args.pg, work)
        pages = crawl(url, db, work, log_pages=True)["pages"]  # the pages a crawl fetches
        for backend in args.backends.split(","):
            best_ours, best_bare = None, None
            for _ in range(args.runs):  # alternating, so both see the same machine
                db, drop = database(backend, args.pg, work)
                try:
                    ours = crawl(url, db, work)
                finally:
                    drop()
                bare = bare_download(pages, work)
                if best_ours is None or ours["seconds"] < best_ours["seconds"]:
                    best_ours = ours
                best_bare = bare if best_bare is None else min(best_bare, bare)
            rows.append((backend, {**best_ours, "pages": pages}, best_bare))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
    print("| backend | listings stored | pages | ours s | ours pages/s | bare s | bare pages/s | ours / bare "
          "| peak RSS MiB | RSS quarter 4 / quarter 2 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend, ours, bare in rows:
        pages, rss = ours["fetched"], ours["rss"]
        quarter = max(1, len(rss) // 4)
        growth = (max(rss[3 * quarter:]) / max(rss[quarter:2 * quarter])) if len(rss) >= 8 else float("nan")
        print(f"| {backend} | {ours['stored']:,} | {pages:,} | {ours['seconds']:.1f} | {pages / ours['seconds']:.0f} | "
              f"{bare:.1f} | {len(ours['pages']) / bare:.0f} | **{(pages / ours['seconds']) / (len(ours['pages']) / bare):.2f}** "
              f"| {max(rss, default=0) / 1024:.0f} | {growth:.2f} |")


if __name__ == "__main__":
    main()
