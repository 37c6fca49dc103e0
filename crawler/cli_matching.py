"""`lijian check` and `lijian eval …`: score listings without a crawl, and measure the matchers."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from crawler.cli import CONTEXT, UserError, cli, friendly_errors, load_lists, watchlists_option
from crawler.normalise import parse_price
from matchers import ListingView
from matchers.metrics import Counts
from watchlists import Brand, Watchlists


def _view(record: dict[str, Any]) -> ListingView:
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("needs a non-empty 'title'")
    specs = record.get("specs") or {}
    if not isinstance(specs, dict):
        raise ValueError("'specs' must be an object of name: value")
    price = record.get("price")
    amount, currency = (None, None)
    if isinstance(price, (int, float)) and not isinstance(price, bool):
        amount = Decimal(str(price))
    elif isinstance(price, str) and price.strip():
        try:
            amount = Decimal(price)
        except InvalidOperation:
            amount, currency = parse_price(price)
    return ListingView(title=title, category=record.get("category") or None, brand=record.get("brand") or None,
                       price=amount, currency=record.get("currency") or currency,
                       seller_name=record.get("seller") or None, specs={str(k): str(v) for k, v in specs.items()})


def _records(lines: Iterator[str]) -> Iterator[tuple[int, dict | None, str | None]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield number, None, f"not JSON ({exc.msg})"
            continue
        if not isinstance(record, dict):
            yield number, None, "not a JSON object"
            continue
        yield number, record, None


@cli.command("check", context_settings=CONTEXT)
@click.option("--jsonl", "jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Listings as JSON lines (default: standard input).")
@click.option("--title", help="Check one listing with this title instead.")
@click.option("--brand", help="With --title: the listing's brand field.")
@click.option("--category", help="With --title: category slug.")
@click.option("--price", help="With --title: price as shown.")
@watchlists_option
@friendly_errors
def check(jsonl: Path | None, title: str | None, brand: str | None, category: str | None, price: str | None,
          watchlists_dir: Path | None) -> None:
    """Score listings and print one JSON object per listing: score, flagged, brand, brands, fits,
    words (listed names read as ordinary words: 小米 in 小米粥), lookalike_of, decided_by, signals
    (each decisive or context), algorithm, watchlist_hash.

    A listing is flagged when its score reaches 0.5 and at least one signal is decisive; context
    signals (a missing certificate number, a shared phone, a weak risk term) never flag alone.
    Input fields: title (required), brand, price, currency, category, seller, specs, url.
    A line that is not a JSON object with a title is reported and skipped (exit 1 at the end).

    \b
    Example:
      lijian check --title "美旳 电饭煲 4L" --category appliance
      echo '{"title": "康帅傅 方便面", "category": "general"}' | lijian check
    """
    lists = load_lists(watchlists_dir)
    from matchers import build_matchers, score_listing

    matchers = build_matchers(lists)
    if title is not None:
        source: Iterator[str] = iter([json.dumps({"title": title, "brand": brand, "category": category, "price": price})])
    elif jsonl is not None:
        source = jsonl.open(encoding="utf-8", errors="replace")
    else:
        source = sys.stdin
    skipped = 0
    for number, record, problem in _records(source):
        try:
            view = _view(record) if record is not None else None
        except ValueError as exc:
            view, problem = None, str(exc)
        if view is None:
            skipped += 1
            click.echo(f"line {number}: skipped: {problem}", err=True)
            continue
        result = score_listing(view, matchers, lists.content_hash)
        click.echo(json.dumps({
            "url": record.get("url"), "score": result.score, "flagged": result.flagged, "brand": result.brand,
            "brands": list(result.brands), "fits": list(result.fits),
            "words": list(result.words), "lookalike_of": result.lookalike_of,
            "decided_by": list(result.decided_by),
            "signals": [{"name": s.name, "role": s.role, "weight": s.weight, "detail": s.detail,
                         "listing_value": s.listing_value, "watchlist_value": s.watchlist_value}
                        for s in result.signals],
            "algorithm": result.algorithm, "watchlist_hash": result.watchlist_hash,
        }, ensure_ascii=False))
    if skipped:
        raise UserError(f"{skipped} line(s) skipped")


@cli.group("eval", context_settings=CONTEXT)
def evaluate() -> None:
    """Measure the matchers on labelled data."""


def _with_genuine_names(lists: Watchlists, genuine: list[str]) -> list[Brand]:
    """The watchlist's brands plus every genuine name of the file that it does not know yet."""
    from matchers.lookalike import normalise

    brands = list(lists.brands)
    known = {normalise(n) for b in brands for n in b.all_names()}
    for name in genuine:
        if normalise(name) not in known:
            brands.append(Brand(name=name))
            known.add(normalise(name))
    return brands


@evaluate.command("lookalikes", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="Print every row's outcome.")
@watchlists_option
@friendly_errors
def eval_lookalikes(file: Path, verbose: bool, watchlists_dir: Path | None) -> None:
    """Precision, recall and F1 of look-alike detection on a TSV of genuine/variant/kind rows.

    Kinds: lookalike (must be flagged as lookalike_of the genuine brand), same (the genuine
    brand written another way: must resolve to it), other_brand (must not be flagged).
    Genuine names the watchlists lack are added for the run.

    \b
    Example:
      lijian eval lookalikes ../shared/corpus/knockoffs-dev.tsv -v
    """
    from matchers import build_matchers
    from matchers.lookalike import normalise

    rows = list(csv.DictReader(file.open(encoding="utf-8"), delimiter="\t"))
    if not rows or not {"genuine", "variant", "kind"} <= set(rows[0]):
        raise UserError(f"{file.name}: expected a TSV with columns genuine, variant, kind[, category]")
    lists = load_lists(watchlists_dir)
    matcher = build_matchers(Watchlists(**{**lists.__dict__, "brands": _with_genuine_names(
        lists, [r["genuine"] for r in rows])}))
    brand_matcher = matcher[0]
    resolve = {normalise(n): b.name for b in _with_genuine_names(lists, [r["genuine"] for r in rows])
               for n in b.all_names()}
    tally, same_ok, same_total, other_flagged, other_total = Counts(), 0, 0, 0, 0
    for row in rows:
        genuine = resolve.get(normalise(row["genuine"]), row["genuine"])
        finding = brand_matcher.analyse(ListingView(title=row["variant"], category=row.get("category") or None))
        imitated = finding.lookalike.name.brand if finding.lookalike else None
        kind = row["kind"]
        ok = {"lookalike": imitated == genuine, "same": finding.brand == genuine and imitated is None,
              "other_brand": imitated is None}.get(kind, True)
        if kind == "lookalike":
            tally.tp += imitated == genuine
            tally.fn += imitated != genuine
            tally.fp += imitated is not None and imitated != genuine
        else:
            tally.fp += imitated is not None
        if kind == "same":
            same_total += 1
            same_ok += finding.brand == genuine and imitated is None
        if kind == "other_brand":
            other_total += 1
            other_flagged += imitated is not None
        if verbose or not ok:
            why = "；".join(finding.lookalike.differences) if finding.lookalike else ""
            click.echo(f"{'ok ' if ok else 'BAD'} {kind:<11} {row['genuine']} / {row['variant']}: "
                       f"brand={finding.brand} lookalike_of={imitated} {why}")
    click.echo(f"lookalikes: precision {tally.precision:.3f}, recall {tally.recall:.3f}, F1 {tally.f1:.3f} "
               f"(tp {tally.tp}, fp {tally.fp}, fn {tally.fn}); same-brand spellings resolved {same_ok}/{same_total}; "
               f"other brands flagged {other_flagged}/{other_total}")


def _title_sets(file: Path, brands_from: tuple[Path, ...]):
    from matchers.title_eval import marked_brands, read_title_file

    sets = []
    for path in (file, *brands_from):
        titles, skipped = read_title_file(path)
        for problem in skipped[:10]:
            click.echo(f"{path.name}: {problem}", err=True)
        if len(skipped) > 10:
            click.echo(f"{path.name}: {len(skipped) - 10} more lines skipped", err=True)
        sets.append(titles)
    if not sets[0]:
        raise UserError(f"{file.name}: no labelled titles (JSON lines of {{\"title\": …, \"brands\": […]}})")
    return sets[0], marked_brands(*sets)


@evaluate.command("titles", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--brands-from", "brands_from", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="More labelled titles whose marked brands join the watchlist (repeatable).")
@click.option("--operating-point", type=click.FloatRange(0.0, 1.0), default=None,
              help="Count a look-alike from this model probability (default: the model's own).")
@click.option("--examples", default=5, show_default=True, type=click.IntRange(0), help="Examples of each kind of error.")
@click.option("--seed", default=2018, show_default=True, type=int, help="Seed of the constructed imitations.")
@friendly_errors
def eval_titles(file: Path, brands_from: tuple[Path, ...], operating_point: float | None, examples: int,
                seed: int) -> None:
    """False look-alike rate, brand recall and imitation recall on real titles with marked brands.

    FILE is JSON lines {"title": …, "brands": […]}. The watchlist is every marked brand of FILE
    and of --brands-from, one brand each. Every title is genuine: a look-alike flag on one is
    false. Each title naming a listed brand is also rewritten by each imitation kind (homophone,
    a character alike as drawn, a radical swap, a digit for a letter), which must be flagged.

    \b
    Example:
      lijian eval titles ../shared/corpus/taobao-titles/dev.jsonl \\
          --brands-from ../shared/corpus/taobao-titles/train.jsonl
    """
    from matchers.lookalike import normalise
    from matchers.lookalike_model import load_model
    from matchers.title_eval import IMITATIONS, evaluate as evaluate_titles, matcher_for

    titles, names = _title_sets(file, brands_from)
    model = load_model()
    point = model.threshold if operating_point is None else operating_point
    report = evaluate_titles(matcher_for(names, model), titles, {normalise(n) for n in names}, point, seed, examples)
    click.echo(f"{file.name}: {report.titles} genuine titles; watchlist of {len(names)} marked brands; "
               f"model {model.slug} at operating point {point:.3f}")
    click.echo(f"false look-alike flags: {report.flagged}/{report.titles} = {report.false_rate:.2%} of genuine titles")
    click.echo(f"brand recall: {report.recognised}/{report.marked} = {report.brand_recall:.3f} "
               f"(as the listing's own brand, not what it fits: {report.own / max(1, report.marked):.3f})")
    click.echo(f"own brands the marks leave out: {report.unmarked}/{report.named} = {report.unmarked_rate:.2%}; "
               f"names read as ordinary words: {report.words} ({report.word_marked} of them marked)")
    kinds = [k for k in IMITATIONS if report.imitations[k]]
    for kind in kinds:
        click.echo(f"imitations caught, {kind}: {report.caught[kind]}/{report.imitations[kind]} = {report.recall(kind):.3f}")
    click.echo(f"imitations caught, all: {sum(report.caught.values())}/{sum(report.imitations.values())} "
               f"= {report.recall():.3f}")
    click.echo("by threshold: threshold, false flags, recall " + ", ".join(kinds) + ", all")
    for threshold, false_rate, recalls in report.by_threshold([0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]):
        click.echo(f"  {threshold:.2f}  {false_rate:6.2%}  " + "  ".join(f"{recalls.get(k, 0):.3f}" for k in kinds)
                   + f"  {recalls['all']:.3f}")
    for line in report.false_examples:
        click.echo(f"false flag: {line}")
    for kind in kinds:
        for line in report.missed_examples[kind]:
            click.echo(f"missed {kind}: {line}")


@evaluate.command("fit-lookalikes", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--brands-from", "brands_from", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="More labelled titles whose marked brands join the watchlist (repeatable).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the shipped matchers/weights/lookalike.json).")
@click.option("--target", type=click.FloatRange(0.0, 0.5), default=None,
              help="Largest out-of-fold share of genuine titles flagged (default 0.009).")
@click.option("--version", "version", default="3", show_default=True, help="Model version stored with every flag.")
@friendly_errors
def fit_lookalikes(file: Path, brands_from: tuple[Path, ...], out: Path | None, target: float | None,
                   version: str) -> None:
    """Learn the look-alike model from labelled titles (all genuine) and imitations made of them.

    The curves are learned on FILE only; the operating point is the lowest threshold whose
    out-of-fold false look-alike rate is at most --target. Measure the result on titles it did
    not learn from with `lijian eval titles`.

    \b
    Example:
      lijian eval fit-lookalikes ../shared/corpus/taobao-titles/train.jsonl \\
          --brands-from ../shared/corpus/taobao-titles/dev.jsonl
    """
    from matchers.lookalike import normalise
    from matchers.lookalike_model import WEIGHTS
    from matchers.additive import write_model
    from matchers.lookalike_training import TARGET_FALSE_RATE, train
    from matchers.title_eval import matcher_for

    titles, names = _title_sets(file, brands_from)
    try:
        model, info = train(matcher_for(names), titles, {normalise(n) for n in names}, version,
                            f"{file.name}: {len(titles)} titles, {len(names)} brands",
                            TARGET_FALSE_RATE if target is None else target)
    except ValueError as exc:
        raise UserError(f"{file.name}: {exc}") from None
    path = out or WEIGHTS
    write_model(model, path)
    click.echo(f"{model.slug}: {info['rows']} candidates ({info['positives']} imitations) from "
               f"{info['genuine_titles']} genuine and {info['imitation_titles']} imitation titles; operating point "
               f"{info['threshold']:.4f} (out of fold: false flags {info['false_rate']:.2%}, "
               f"imitations caught {info['recall']:.3f}); written to {path}")


@evaluate.command("fit-mentions", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--brands-from", "brands_from", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="More labelled titles whose marked brands join the watchlist (repeatable).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the shipped matchers/weights/mentions.json).")
@click.option("--target", type=click.FloatRange(0.0, 0.5), default=None,
              help="Largest out-of-fold share of marked brands' mentions dropped (default 0.005).")
@click.option("--version", "version", default="1", show_default=True, help="Model version.")
@friendly_errors
def fit_mentions(file: Path, brands_from: tuple[Path, ...], out: Path | None, target: float | None,
                 version: str) -> None:
    """Learn the brand-mention model: which exact mentions of a listed name are the brand and
    which an ordinary word (小米 in 小米粥), from titles with their brands marked.

    A mention of a brand the title's marks include is a brand mention; of a listed name they
    leave out, a word. The operating point is the highest threshold whose out-of-fold share
    of marked mentions dropped is at most --target. Measure on other titles with `lijian eval titles`.

    \b
    Example:
      lijian eval fit-mentions ../shared/corpus/taobao-titles/train.jsonl \\
          --brands-from ../shared/corpus/taobao-titles/dev.jsonl
    """
    from matchers.additive import write_model
    from matchers.mention_model import WEIGHTS
    from matchers.mention_training import TARGET_LOSS, train
    from matchers.title_eval import matcher_for

    titles, names = _title_sets(file, brands_from)
    try:
        model, info = train(matcher_for(names), titles, version, f"{file.name}: {len(titles)} titles, {len(names)} brands",
                            TARGET_LOSS if target is None else target)
    except ValueError as exc:
        raise UserError(f"{file.name}: {exc}") from None
    path = out or WEIGHTS
    write_model(model, path)
    click.echo(f"{model.slug}: {info['rows']} mentions ({info['marked']} of marked brands) in {info['titles']} "
               f"titles; operating point {info['threshold']:.4f} (out of fold: marked mentions dropped "
               f"{info['lost']:.2%}, other mentions read as words {info['words_dropped']:.2%}); written to {path}")


@evaluate.command("pairs", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--train", "train_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled pairs to learn the weights from (default: train.txt beside FILE).")
@click.option("--explain", "explain_count", default=0, type=click.IntRange(0), metavar="N",
              help="Also print the first N wrong decisions with their feature contributions.")
def eval_pairs(file: Path, train_file: Path | None, explain_count: int) -> None:
    """Precision, recall and F1 of product matching on LEFT<TAB>RIGHT<TAB>LABEL pairs.

    Each side is `COL attr VAL value …` (name/title, brand, modelno, price, description).
    The feature weights are learned on the training pairs only; FILE measures them.

    \b
    Example:
      lijian eval pairs ../shared/corpus/matching/abt-buy/valid.txt
    """
    from matchers.products import FEATURES, fit, read_pairs, score

    train_file = train_file or file.with_name("train.txt")
    if not train_file.exists() or train_file.resolve() == file.resolve():
        raise UserError(f"no training pairs: give --train (looked for {train_file})")
    train, bad_train = read_pairs(train_file.open(encoding="utf-8", errors="replace"))
    test, bad_test = read_pairs(file.open(encoding="utf-8", errors="replace"))
    for name, bad in ((train_file.name, bad_train), (file.name, bad_test)):
        if bad:
            click.echo(f"{name}: skipped {len(bad)} unreadable line(s): {', '.join(map(str, bad[:10]))}", err=True)
    if not test:
        raise UserError(f"{file.name}: no labelled pairs")
    try:
        model = fit(train)
    except ValueError as exc:
        raise UserError(f"{train_file.name}: {exc}") from None
    decisions = [model.same(a, b) for a, b, _ in test]
    result = score(decisions, [label for *_, label in test])
    weights = ", ".join(f"{f.__name__} {w:+.2f}" for f, w in zip(FEATURES, model.weights))
    click.echo(f"weights (learned on {len(train)} pairs of {train_file.name}): {weights}; "
               f"intercept {model.intercept:+.2f}; threshold {model.threshold:.2f}")
    shown = 0
    for (a, b, label), decided in zip(test, decisions):
        if decided != label and shown < explain_count:
            shown += 1
            top = ", ".join(f"{name} {c:+.2f}" for name, c in model.explain(a, b)[:3])
            click.echo(f"{'missed' if label else 'false match'}: {a.title[:60]!r} / {b.title[:60]!r}: {top}")
    click.echo(f"{file.name}: {len(test)} pairs; precision {result.precision:.3f}, recall {result.recall:.3f}, "
               f"F1 {result.f1:.3f} (tp {result.tp}, fp {result.fp}, fn {result.fn})")
