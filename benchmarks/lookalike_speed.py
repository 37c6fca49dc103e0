"""Benchmark: brand and look-alike detection speed against watchlist size, and on real titles.

    python benchmarks/lookalike_speed.py [--names 1000 10000 100000] [--titles 300] [--warmup 1000]
    python benchmarks/lookalike_speed.py --real ../shared/corpus/taobao-titles/train.jsonl \
        ../shared/corpus/taobao-titles/dev.jsonl [--warmup 4000]

For each watchlist size, in the same process on the same titles:
  plain   rapidfuzz process.extractOne(title, names, scorer=partial_ratio, score_cutoff=75)
          over all names for each title (the obvious approach);
  ours    BrandMatcher.analyse (normalisation, Aho-Corasick mentions, indexed look-alikes).
Titles: a third name a watchlist brand exactly, a third carry an imitation of one (one
character replaced by a shape-alike character that shares a component, or one inserted),
a third name no brand. Recall = share of brand-bearing titles whose brand (exact or
imitated) the method names correctly. The plain approach runs on fewer titles at large
sizes (it is slow); its rate is per title all the same. Before timing, both methods see
--warmup other titles of the same kind: the monitor scores thousands of titles per run, so
its per-character similarity caches are warm in steady state (--warmup 0 times a cold start).

With --real, the titles are real listing titles with their brands marked (JSON lines of
{"title", "brands"}), the watchlist is every marked brand (one brand per name, as a bureau's
list of that size), and both methods run on the titles after the first --warmup of them:
the synthetic titles above carry an imitation in every third title, which no real stream
does, so this is the measure of a day's work.
"""

from __future__ import annotations

import argparse
import random
import time

from rapidfuzz import fuzz, process

from matchers import ListingView
from matchers.brands import BrandMatcher
from matchers.chars import components, is_han
from watchlists import Brand

FILLER = "正品包邮新款家用大容量官方旗舰店特价热卖国标智能静音节能"
NOUNS = ("电饭煲", "电水壶", "插座", "电吹风", "空调", "机油滤芯", "复合肥", "电线")


def gb2312_level1() -> list[str]:
    """The 3,755 most common Chinese characters (GB2312 level 1), as a realistic name alphabet."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                ch = bytes([high, low]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            if is_han(ch):
                chars.append(ch)
    return chars


def make_names(count: int, rng: random.Random, alphabet: list[str]) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.choice(alphabet) for _ in range(rng.choice((2, 3, 3, 4)))))
    return sorted(names)


def imitate(name: str, rng: random.Random, by_component: dict[str, list[str]]) -> str | None:
    """One character swapped for another sharing a component with it, or one character inserted."""
    index = rng.randrange(len(name))
    ch = name[index]
    if rng.random() < 0.7:
        alikes = [c for part in components(ch) for c in by_component.get(part, ()) if c != ch]
        if alikes:
            return name[:index] + rng.choice(alikes) + name[index + 1:]
    if len(name) >= 3:
        return name[:index] + rng.choice("土小大之") + name[index:]
    return None


def real_titles(paths: list[str], warmup: int) -> None:
    """Ours and the plain approach on real titles with the marked brands as the watchlist."""
    import json  # noqa: PLC0415

    from matchers.brandtext import normalise  # noqa: PLC0415

    titles, names = [], {}
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    titles.append(record["title"])
                    for brand in record.get("brands") or []:
                        names.setdefault(normalise(brand), brand)
    matcher = BrandMatcher([Brand(name=n) for n in names.values()])
    listed = list(names.values())
    warm, timed = titles[:warmup], titles[warmup:]
    for title in warm:
        matcher.analyse(ListingView(title=title))
    start = time.process_time()
    for title in timed:
        matcher.analyse(ListingView(title=title))
    ours = len(timed) / (time.process_time() - start)
    plain_titles = timed[:1000]
    start = time.process_time()
    for title in plain_titles:
        process.extractOne(title, listed, scorer=fuzz.partial_ratio, score_cutoff=75)
    plain = len(plain_titles) / (time.process_time() - start)
    print("| names | titles timed | titles/s plain | titles/s ours | speed-up |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(f"| {len(listed):,} | {len(timed):,} | {plain:,.1f} | {ours:,.1f} | {ours / plain:,.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--titles", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed titles first (0: cold start; default 1000, with --real 4000)")
    parser.add_argument("--real", nargs="+", metavar="FILE", help="real titles with marked brands (JSON lines)")
    args = parser.parse_args()
    if args.real:
        real_titles(args.real, 4000 if args.warmup is None else args.warmup)
        return
    args.warmup = 1000 if args.warmup is None else args.warmup
    rng = random.Random(5)
    alphabet = gb2312_level1()
    by_component: dict[str, list[str]] = {}
    for ch in alphabet:
        for part in components(ch):
            by_component.setdefault(part, []).append(ch)
    print("| names | titles/s plain | titles/s ours | speed-up | recall plain | recall ours "
          "| false flags plain | false flags ours | plain titles timed |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count in args.names:
        names = make_names(count, rng, alphabet)
        matcher = BrandMatcher([Brand(name=n, categories=["appliance"]) for n in names])
        cases: list[tuple[str, str | None]] = []
        while len(cases) < args.titles + args.warmup:
            name = rng.choice(names)
            kind = len(cases) % 3
            shown = name if kind == 0 else imitate(name, rng, by_component) if kind == 1 else None
            if kind == 1 and (shown is None or shown in matcher.by_text):
                continue
            filler = "".join(rng.sample(FILLER, 6))
            title = f"{shown or ''} {rng.choice(NOUNS)} {filler}".strip()
            cases.append((title, name if shown else None))

        warmup, cases = cases[:args.warmup], cases[args.warmup:]
        for title, _ in warmup:
            matcher.analyse(ListingView(title=title, category="appliance"))
        for title, _ in warmup[:20]:
            process.extractOne(title, names, scorer=fuzz.partial_ratio, score_cutoff=75)
        start = time.perf_counter()
        ours_hits = ours_false = 0
        for title, expected in cases:
            finding = matcher.analyse(ListingView(title=title, category="appliance"))
            named = finding.brand or (finding.lookalike.name.brand if finding.lookalike else None)
            ours_hits += expected is not None and named == expected
            ours_false += expected is None and named is not None
        ours_rate = len(cases) / (time.perf_counter() - start)

        plain_cases = cases[: max(30, min(len(cases), 3_000_000 // count))]
        start = time.perf_counter()
        plain_hits = plain_false = 0
        for title, expected in plain_cases:
            best = process.extractOne(title, names, scorer=fuzz.partial_ratio, score_cutoff=75)
            plain_hits += expected is not None and best is not None and best[0] == expected
            plain_false += expected is None and best is not None
        plain_rate = len(plain_cases) / (time.perf_counter() - start)
        positives = sum(1 for _, e in cases if e)
        plain_positives = sum(1 for _, e in plain_cases if e)
        negatives, plain_negatives = len(cases) - positives, len(plain_cases) - plain_positives
        print(f"| {count:,} | {plain_rate:,.1f} | {ours_rate:,.1f} | {ours_rate / plain_rate:,.1f}x "
              f"| {plain_hits / plain_positives:.3f} | {ours_hits / positives:.3f} "
              f"| {plain_false / plain_negatives:.3f} | {ours_false / negatives:.3f} | {len(plain_cases)} |")


if __name__ == "__main__":
    main()
