"""Product matching: feature functions, learning, and the shared benchmark pairs."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from matchers.products import (
    ProductRecord,
    brand_agrees,
    fit,
    model_code_prefix,
    model_code_shared,
    model_codes,
    model_codes_conflict,
    price_closeness,
    read_pairs,
)
from tests.conftest import needs_corpus

MATCHING = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "matching"
A = ProductRecord.parse("COL name VAL sony red cyber-shot digital camera dscw150r COL price VAL 199.0")
B = ProductRecord.parse("COL name VAL sony cyber-shot dsc-w150 8.1mp camera COL price VAL 179.0")
C = ProductRecord.parse("COL name VAL canon fs100 digital camcorder 2699b001 COL price VAL 299.95")


def test_records_parse_the_benchmark_format():
    record = ProductRecord.parse("COL title VAL lenovo back pack COL brand VAL lenovo COL modelno VAL 41u5254 "
                                 "COL price VAL 31.51")
    assert (record.title, record.brand, record.model, record.price) == ("lenovo back pack", "lenovo", "41u5254", 31.51)
    assert ProductRecord.parse("COL name VAL x COL price VAL n/a").price is None


def test_feature_functions():
    assert model_codes(A) == {"dscw150r"} and model_codes(B) >= {"dscw150"}
    assert model_code_prefix(A, B) == 1.0 and model_code_shared(A, B) == 0.0
    assert model_codes_conflict(A, C) == 1.0 and brand_agrees(A, B) == 1.0 and brand_agrees(A, C) == 0.0
    assert price_closeness(A, B) == pytest.approx(179 / 199)


def test_learned_model_separates_and_explains():
    pairs = [(A, B, True), (A, C, False), (B, C, False), (C, C, True)] * 10
    model = fit(pairs)
    assert model.same(A, B) and not model.same(A, C)
    assert {name for name, _ in model.explain(A, C)} >= {"model_codes_conflict", "brand_agrees"}


def test_unreadable_lines_are_reported_not_dropped_silently():
    pairs, bad = read_pairs(["COL name VAL a\tCOL name VAL b\t1\n", "garbage\n", "x\ty\tmaybe\n", "\n"])
    assert len(pairs) == 1 and bad == [2, 3]


@needs_corpus(MATCHING)
@pytest.mark.parametrize("dataset, deep_model_baseline", [("abt-buy", 0.628), ("walmart-amazon", 0.669)])
def test_shared_benchmarks_beat_the_deep_model_baseline(dataset, deep_model_baseline):
    """Learned on train.txt, measured on valid.txt, as data: F1 above the deep model's."""
    from matchers.products import score

    folder = MATCHING / dataset
    train, _ = read_pairs((folder / "train.txt").open(encoding="utf-8", errors="replace"))
    test, _ = read_pairs((folder / "valid.txt").open(encoding="utf-8", errors="replace"))
    model = fit(train)
    result = score([model.same(a, b) for a, b, _ in test], [label for *_, label in test])
    assert len(test) > 100 and result.f1 > deep_model_baseline, result
    assert CliRunner().invoke(cli, ["eval", "pairs", str(folder / "valid.txt")]).exit_code == 0


def test_eval_pairs_needs_training_pairs(tmp_path):
    only = tmp_path / "valid.txt"
    only.write_text("COL name VAL a\tCOL name VAL a\t1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "pairs", str(only)])
    assert result.exit_code == 1 and "no training pairs" in result.output
