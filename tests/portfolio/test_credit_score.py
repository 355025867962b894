"""The one credit-score parser of the EX-102 importer and the panel readers."""

import math

import numpy as np
import pytest

from portfolio.credit_score import (
    SCORE_UNKNOWN,
    SCORE_UNPARSEABLE,
    parse_credit_score,
    parse_credit_scores,
)


@pytest.mark.parametrize(("text", "score", "reason"), [
    ("712", 712.0, None),
    ("800.5", 800.5, None),  # CarMax 2026-2 files a decimal score
    (" 650 ", 650.0, None),
    ("None", math.nan, SCORE_UNKNOWN),
    ("0", math.nan, SCORE_UNKNOWN),
    ("UNKNOWN", math.nan, SCORE_UNKNOWN),
    ("9999", math.nan, SCORE_UNKNOWN),  # implausible number
    ("-1", math.nan, SCORE_UNKNOWN),
    ("seven hundred", math.nan, SCORE_UNPARSEABLE),
    (None, math.nan, None),  # element left out: absent, not counted
])
def test_parse_credit_score(text, score, reason) -> None:
    got, why = parse_credit_score(text)
    assert (math.isnan(got) and math.isnan(score)) or got == score
    assert why == reason


def test_parse_credit_scores_counts_reasons_and_skips_missing_cells() -> None:
    scores, counts = parse_credit_scores(["700", "None", "0", "x", float("nan"), None])
    np.testing.assert_array_equal(scores, [700.0, np.nan, np.nan, np.nan, np.nan, np.nan])
    assert counts == {SCORE_UNKNOWN: 2, SCORE_UNPARSEABLE: 1}
