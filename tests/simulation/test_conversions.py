import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulation.conversions import (
    abs_to_smm,
    cdr_to_mdr,
    cpr_to_smm,
    mdr_to_cdr,
    rate_to_intensity,
    smm_to_cpr,
)


def test_abs_1_5_percent_at_age_5_is_smm_1_5957_percent():
    # SMM = 0.015 / (1 - 0.015 * 4) = 0.015 / 0.94
    assert abs_to_smm(0.015, 5) == pytest.approx(0.015957446808510637, abs=1e-15)
    assert round(float(abs_to_smm(0.015, 5)) * 100, 4) == 1.5957


def test_abs_at_age_1_equals_abs_and_caps_at_one():
    assert abs_to_smm(0.013, 1) == pytest.approx(0.013)
    assert abs_to_smm(0.02, 60) == 1.0  # the schedule has prepaid every loan


def test_cpr_smm_known_values():
    # 1 - (1 - 0.01)^12 = 0.113615...
    assert smm_to_cpr(0.01) == pytest.approx(0.11361512828387077, rel=1e-12)
    assert cpr_to_smm(0.06) == pytest.approx(1 - 0.94 ** (1 / 12), rel=1e-12)


def test_cdr_mdr_known_values():
    assert cdr_to_mdr(0.02) == pytest.approx(0.001682142552739574, rel=1e-9)
    assert mdr_to_cdr(0.001682142552739574) == pytest.approx(0.02, rel=1e-9)


@given(st.floats(0.0, 0.5))
def test_round_trips(x):
    assert cpr_to_smm(smm_to_cpr(x)) == pytest.approx(x, abs=1e-12)
    assert mdr_to_cdr(cdr_to_mdr(x)) == pytest.approx(x, abs=1e-12)


def test_intensity_of_probability():
    q = np.array([0.0, 0.02, 0.5])
    assert np.allclose(1 - np.exp(-rate_to_intensity(q)), q)
