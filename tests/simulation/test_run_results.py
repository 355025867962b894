"""Hard credit enhancement of the prime example, per class and per class group."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation.deal import load_deal
from simulation.run.results import hard_credit_enhancement
from simulation.waterfall import compile_deal

PRIME = Path(__file__).resolve().parents[2] / "examples" / "prime_deal.yaml"


def test_every_class_a_note_of_the_prime_example_shows_12_75_percent_group_ce():
    deal = load_deal(PRIME)
    program = compile_deal(deal, 1_000_000_000.0)
    assert deal.class_groups == ("A", "A", "A", "A", "A", "B", "C", "D")
    group = hard_credit_enhancement(deal, program, by_group=True)
    # B + C + D = 4.5% + 3.8% + 2.7% = 11%; OC 1 - 98.5% = 1.5%; reserve 0.25% -> 12.75%
    np.testing.assert_allclose(group[:5], 0.1275, rtol=0, atol=1e-12)
    np.testing.assert_allclose(group[5:], [0.0825, 0.0445, 0.0175], rtol=0, atol=1e-12)
    per_class = hard_credit_enhancement(deal, program)
    # per class, A-1 is also enhanced by A-2a..A-4: 12.75% + 75.5% = 88.25% (the 88%)
    assert per_class[0] == pytest.approx(0.8825, abs=1e-12)
    assert per_class[1] == per_class[2]  # A-2a / A-2b pro rata
    np.testing.assert_allclose(per_class[4:], group[4:], atol=1e-12)
