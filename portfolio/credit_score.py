"""Credit scores as issuers report them: the one parser of the EX-102 importer and the panels.

EX-102 ``obligorCreditScore`` is a string in the SEC schema, and real files carry "None",
"0", "800.5" and worse (``/work/shared/data/README.md``; Santander and CarMax filings).
A plausible number is the score; a known "no score" token or an implausible number is
*unknown* (NaN); any other text is *unparseable* (NaN, counted separately so that a file of
garbage is visible in the counts).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np

__all__ = [
    "CREDIT_SCORE_RANGE",
    "SCORE_UNKNOWN",
    "SCORE_UNPARSEABLE",
    "UNKNOWN_SCORE_TOKENS",
    "parse_credit_score",
    "parse_credit_scores",
]

UNKNOWN_SCORE_TOKENS = frozenset({"", "0", "none", "null", "na", "n/a", "nan", "unk", "unknown"})
"""Credit-score strings (case-insensitive) that mean "no score": mapped to NaN."""
CREDIT_SCORE_RANGE = (250.0, 900.0)
"""Plausible numeric credit scores (FICO and VantageScore span 300-850); others become NaN."""
SCORE_UNKNOWN = "fico_unknown"
"""Count key: a "no score" token or an implausible number."""
SCORE_UNPARSEABLE = "fico_unparseable"
"""Count key: text that is neither a number nor a "no score" token."""


def parse_credit_score(text: str | None) -> tuple[float, str | None]:
    """One credit score and why it was set to NaN (``None`` when it is a score or absent).

    Examples
    --------
    >>> parse_credit_score("800.5")
    (800.5, None)
    >>> parse_credit_score("None")
    (nan, 'fico_unknown')
    """
    if text is None:
        return math.nan, None
    try:
        score = float(text)
    except ValueError:
        known_token = text.strip().lower() in UNKNOWN_SCORE_TOKENS
        return math.nan, SCORE_UNKNOWN if known_token else SCORE_UNPARSEABLE
    lo, hi = CREDIT_SCORE_RANGE
    if lo <= score <= hi:
        return score, None
    return math.nan, SCORE_UNKNOWN


def parse_credit_scores(texts: Iterable[str | None]) -> tuple[np.ndarray, Counter[str]]:
    """Vector form of :func:`parse_credit_score`: float64 scores and the counts by reason.

    A missing cell (``None``, or a float NaN from a CSV reader) is an absent score: NaN and not
    counted, as in the EX-102 importer where the element is simply left out.
    """
    counts: Counter[str] = Counter()
    scores = []
    for text in texts:
        if not isinstance(text, str):
            scores.append(math.nan)
            continue
        score, reason = parse_credit_score(text)
        scores.append(score)
        if reason is not None:
            counts[reason] += 1
    return np.asarray(scores, dtype=float), counts
