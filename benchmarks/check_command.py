"""Benchmark: the whole `lijian check` command with a large brand list, against plain rapidfuzz.

    python benchmarks/check_command.py [--names 10000] [--titles 1000 3000]

A watchlist folder of N synthetic Chinese brand names (lookalike_speed.py's generator: 2-4
characters of the 3,755 commonest) beside the bundled other lists; titles a third naming a
brand, a third an imitation, a third no brand.

  plain  in this process: rapidfuzz process.extractOne(title, names, scorer=partial_ratio,
         score_cutoff=75) over all names, per title, names already in memory (no start-up);
  ours   `lijian check --jsonl FILE --watchlists DIR` as a user runs it: a new Python
         process, imports, the watchlist (from its cache after the first run), the brand
         index (from its cache after the first run), every title scored and printed.
         Wall time, best of three after one untimed run that fills the caches; and the
         first run alone (cold: no cache). Warm twice: with --workers 1 (one process, like
         plain) and with the default (one process per CPU, at most 4).
Printed: seconds, titles/s, ratio plain time / ours time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from lookalike_speed import FILLER, NOUNS, gb2312_level1, imitate, make_names  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from matchers.chars import components  # noqa: E402
from watchlists import BUNDLED  # noqa: E402


def write_folder(folder: Path, names: list[str]) -> None:
    for name in ("categories.yaml", "lexicon.yaml", "formats.yaml", "certificates.csv"):
        shutil.copy(BUNDLED / name, folder / name)
    lines = ["brands:"] + [f"  - {{name: {name}, categories: [appliance]}}" for name in names]
    (folder / "brands.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_titles(names: list[str], count: int, rng: random.Random, alphabet: list[str]) -> list[str]:
    by_component: dict[str, list[str]] = {}
    for ch in alphabet:
        for part in components(ch):
            by_component.setdefault(part, []).append(ch)
    known, titles = set(names), []
    while len(titles) < count:
        name = rng.choice(names)
        kind = len(titles) % 3
        shown = name if kind == 0 else imitate(name, rng, by_component) if kind == 1 else None
        if kind == 1 and (shown is None or shown in known):
            continue
        titles.append(f"{shown or ''} {rng.choice(NOUNS)} {''.join(rng.sample(FILLER, 6))}".strip())
    return titles


def run_check(jsonl: Path, folder: Path, env: dict[str, str], *options: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "check", "--jsonl", str(jsonl), "--watchlists",
                           str(folder), *options], capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"lijian check failed: {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--titles", type=int, nargs="+", default=[1_000, 3_000])
    args = parser.parse_args()
    rng = random.Random(7)
    alphabet = gb2312_level1()
    names = make_names(args.names, rng, alphabet)
    work = Path(tempfile.mkdtemp(prefix="lijian-check-bench-"))
    try:
        folder = work / "lists"
        folder.mkdir()
        write_folder(folder, names)
        env = {**os.environ, "LIJIAN_CACHE": str(work / "cache")}
        print(f"| names | titles | plain s | ours cold s | ours warm s, 1 process | ours warm s, {os.cpu_count()} CPUs "
              "| plain / ours warm, 1 process | plain / ours warm | plain / ours cold |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for count in args.titles:
            titles = make_titles(names, count, rng, alphabet)
            jsonl = work / f"titles-{count}.jsonl"
            jsonl.write_text("".join(json.dumps({"title": t, "category": "appliance"}, ensure_ascii=False) + "\n"
                                     for t in titles), encoding="utf-8")
            shutil.rmtree(work / "cache", ignore_errors=True)
            cold = run_check(jsonl, folder, env)
            warm = min(run_check(jsonl, folder, env) for _ in range(3))
            single = min(run_check(jsonl, folder, env, "--workers", "1") for _ in range(3))
            for title in titles[:20]:  # rapidfuzz's own warm-up
                process.extractOne(title, names, scorer=fuzz.partial_ratio, score_cutoff=75)
            start = time.perf_counter()
            for title in titles:
                process.extractOne(title, names, scorer=fuzz.partial_ratio, score_cutoff=75)
            plain = time.perf_counter() - start
            print(f"| {len(names):,} | {count:,} | {plain:.2f} | {cold:.2f} | {single:.2f} | {warm:.2f} "
                  f"| {plain / single:.1f}x | **{plain / warm:.1f}x** | {plain / cold:.1f}x |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
