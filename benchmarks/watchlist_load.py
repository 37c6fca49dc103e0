"""Benchmark: loading a large brand watchlist.

    python benchmarks/watchlist_load.py [--brands 100000]

Measures, in one process on the same generated folder:
  baseline  parsing brands.yaml alone with PyYAML's libyaml loader (no validation);
  cold      load_watchlists without a cache: parse + validate + cross-checks + indexes;
  warm      load_watchlists from the content-hash cache (what every command does after the
            first load of an unchanged list).
Times: cold and baseline once each (they take tens of seconds at 100,000), warm best of 3.
Peak memory: separate runs under tracemalloc (Python allocations only).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

from watchlists import BUNDLED, load_watchlists

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CATEGORIES = ("children", "appliance", "fertilizer", "farm_machinery", "steel", "cable", "auto_parts", "fuel")


def write_folder(folder: Path, brands: int) -> Path:
    for name in ("categories.yaml", "lexicon.yaml", "formats.yaml", "certificates.csv"):
        shutil.copy(BUNDLED / name, folder / name)
    lines = ["brands:"]
    for i in range(brands):
        lines.append(f"  - {{name: 品牌{i:06d}, latin: [Brand{i:06d}], aliases: [品牌{i:06d}集团], "
                     f"categories: [{CATEGORIES[i % len(CATEGORIES)]}], "
                     f"products: [{{model: M{i:06d}, name: 产品{i}, reference_price: {10 + i % 500}, price_note: synthetic}}]}}")
    path = folder / "brands.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def best_of(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_mib(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brands", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print("| brands | file MiB | baseline parse s | cold load s | cold / baseline | warm load s | warm / baseline "
          "| baseline peak MiB | cold peak MiB | warm peak MiB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count in args.brands:
        with tempfile.TemporaryDirectory() as tmp:
            folder, cache = Path(tmp) / "lists", Path(tmp) / "cache"
            folder.mkdir()
            text = write_folder(folder, count).read_bytes()
            parse = lambda: yaml.load(text, Loader=LOADER)  # noqa: E731
            cold = lambda: load_watchlists(folder)  # noqa: E731
            warm = lambda: load_watchlists(folder, cache_dir=cache)  # noqa: E731
            t_base, t_cold = best_of(parse, 1), best_of(cold, 1)
            assert len(warm().brands) == count  # fills the cache
            t_warm = best_of(warm)
            m_base, m_cold, m_warm = peak_mib(parse), peak_mib(cold), peak_mib(warm)
            print(f"| {count:,} | {len(text) / 2**20:.1f} | {t_base:.2f} | {t_cold:.2f} | {t_cold / t_base:.2f} "
                  f"| {t_warm:.2f} | {t_warm / t_base:.3f} | {m_base:.0f} | {m_cold:.0f} | {m_warm:.0f} |")


if __name__ == "__main__":
    main()
