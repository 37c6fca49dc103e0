"""`lijian eval …`: the matchers and extractors measured on labelled data."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.common import CONTEXT, UserError, friendly_errors, load_lists, loaded_profiles, watchlists_option


@click.group("eval", context_settings=CONTEXT)
def evaluate() -> None:
    """Measure the matchers on labelled data."""


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
    from matchers.knockoff_eval import evaluate_knockoffs, read_rows

    try:
        rows = read_rows(file)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    report = evaluate_knockoffs(rows, load_lists(watchlists_dir))
    for o in report.outcomes:
        if verbose or not o.ok:
            click.echo(f"{'ok ' if o.ok else 'BAD'} {o.kind:<11} {o.genuine} / {o.variant}: "
                       f"brand={o.brand} lookalike_of={o.imitated} {o.why}")
    tally = report.tally
    click.echo(f"lookalikes: precision {tally.precision:.3f}, recall {tally.recall:.3f}, F1 {tally.f1:.3f} "
               f"(tp {tally.tp}, fp {tally.fp}, fn {tally.fn}); same-brand spellings resolved "
               f"{report.same_ok}/{report.same_total}; other brands flagged {report.other_flagged}/{report.other_total}")


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
    from matchers.brandtext import normalise
    from matchers.lookalike_model import load_model
    from matchers.title_eval import IMITATIONS, matcher_for
    from matchers.title_eval import evaluate as evaluate_titles

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


def _fitting(shipped: str, target: str, version: str):
    """The options every model-fitting command takes: the labelled titles, where the model goes,
    the out-of-fold target of its operating point, its version."""
    def decorate(func):
        for option in reversed((
            click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option("--brands-from", "brands_from", multiple=True,
                         type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help="More labelled titles whose marked brands join the watchlist (repeatable)."),
            click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help=f"Where to write the model (default: the shipped matchers/weights/{shipped})."),
            click.option("--target", type=click.FloatRange(0.0, 0.5), default=None, help=target),
            click.option("--version", "version", default=version, show_default=True,
                         help="Model version, stored with every result."),
        )):
            func = option(func)
        return func
    return decorate


@evaluate.command("fit-lookalikes", context_settings=CONTEXT)
@_fitting("lookalike.json", "Largest out-of-fold share of genuine titles flagged (default 0.009).", "3")
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
    from matchers.additive import write_model
    from matchers.brandtext import normalise
    from matchers.lookalike_model import WEIGHTS
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
@_fitting("mentions.json", "Largest out-of-fold share of marked brands' mentions dropped (default 0.005).", "1")
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


@evaluate.command("products", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="Print every wrong value.")
def eval_products(folder: Path, verbose: bool) -> None:
    """Per-field F1 of the product extractor on a corpus folder (ground-truth.json + html/KEY.html.gz).

    \b
    Example:
      lijian eval products ../shared/corpus/products
    """
    from crawler.extract.evaluation import evaluate_products
    from crawler.extract.pages import PageError

    try:
        report = evaluate_products(folder)
    except PageError as exc:
        raise UserError(str(exc)) from None
    if verbose:
        for line in report.wrong:
            click.echo(line)
    click.echo(f"{report.pages} pages: " + "; ".join(
        f"{name} F1 {s.f1:.3f} (tp {s.tp}, fp {s.fp}, fn {s.fn})" for name, s in report.scores.items()))


@evaluate.command("serps", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="Print every missing, extra or mistitled result.")
def eval_serps(folder: Path, verbose: bool) -> None:
    """Search-result extraction against archived pages: <name>.warc.gz + <name>.expected.json.

    A result counts when its URL and title (text, not markup) are expected; anything else
    found is extra. Per marketplace and in total.

    \b
    Example:
      lijian eval serps ../shared/corpus/serps
    """
    from crawler.extract.evaluation import evaluate_serps, serp_files
    from crawler.extract.pages import PageError

    if not any(True for _ in serp_files(folder)):
        raise UserError(f"{folder}: no *.expected.json files")
    try:
        report = evaluate_serps(folder, loaded_profiles(None))
    except PageError as exc:
        raise UserError(str(exc)) from None
    for page in report.pages:
        click.echo(f"{page.name:<55} expected {page.expected:>3} found {page.found:>3} right {page.right:>3}")
        if verbose:
            for line in page.problems:
                click.echo("    " + line)
    for market, score in sorted(report.markets.items()):
        click.echo(f"{market:<12} recall {score.recall:.3f} precision {score.precision:.3f} "
                   f"(expected {score.expected}, found {score.found}, right {score.both_hits}, "
                   f"url only {score.url_hits - score.both_hits}, extra {score.extra}"
                   + (f", title as subtitle {score.by_subtitle}" if score.by_subtitle else "") + ")")
    total = report.total
    click.echo(f"{'all':<12} recall {total.recall:.3f} precision {total.precision:.3f} "
               f"(expected {total.expected}, found {total.found}, right {total.both_hits}; "
               f"{total.pages_in_order} of {total.pages} pages in the expected order)")


@evaluate.command("cn", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="Print every wrong field and every page with cards missed.")
def eval_cn(folder: Path, verbose: bool) -> None:
    """Chinese marketplace pages against hand-written truth: per marketplace, product-page
    fields right (title, the buyer's price, seller, item id, brand) and search-result recall
    and precision by item id, with title and price right on the cards found.

    FOLDER holds truth_detail.json, truth_search.json and the pages they name (as
    ../shared/corpus/cn-marketplaces does). Each page is read through its marketplace's profile.

    \b
    Example:
      lijian eval cn ../shared/corpus/cn-marketplaces -v
    """
    from crawler.extract.evaluation import CN_DETAIL_FIELDS, evaluate_cn
    from crawler.extract.pages import PageError

    try:
        report = evaluate_cn(folder, loaded_profiles(None))
    except PageError as exc:
        raise UserError(str(exc)) from None
    if not report.pages:
        raise UserError(f"{folder}: no pages of a known marketplace in truth_detail.json / truth_search.json")
    if verbose:
        for line in report.wrong:
            click.echo("  " + line)
    click.echo(f"{'':<10} {'product pages: ' + ', '.join(CN_DETAIL_FIELDS):<58} search results")
    for name, market in sorted(report.markets.items()):
        detail = ", ".join(f"{key} {score.right}/{score.total}" for key, score in market.detail.items() if score.total)
        search = (f"recall {market.recall:.2f} precision {market.precision:.2f} ({market.matched} of "
                  f"{market.expected}, found {market.found}); title {market.search['title'].right}/"
                  f"{market.search['title'].total}, price {market.search['price'].right}/{market.search['price'].total}"
                  if market.expected or market.found else "-")
        click.echo(f"{name:<10} {detail or '-':<58} {search}")
    click.echo(f"{report.pages} pages")
