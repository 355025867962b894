"""The lognormal CNL closed forms and the anchor of ``cnl_sd`` to a published Aaa loss level."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import integrate, stats

from portfolio.errors import InputError
from simulation.lognormal_cnl import (
    cnl_sd_for_aaa_level,
    lognormal_parameters,
    senior_class_expected_loss,
)
from simulation.model import model_from_dict
from simulation.ratings import el_target

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _lognormal(mean: float, sd: float) -> stats.rv_continuous:
    mu, sigma = lognormal_parameters(mean, sd)
    return stats.lognorm(s=sigma, scale=math.exp(mu))


def test_the_parameters_give_the_mean_and_sd() -> None:
    dist = _lognormal(0.024, 0.011)
    assert dist.mean() == pytest.approx(0.024, rel=1e-12)
    assert dist.std() == pytest.approx(0.011, rel=1e-12)


@pytest.mark.parametrize(("mean", "sd", "attachment"),
                         [(0.024, 0.011, 0.06), (0.011, 0.006, 0.065), (0.18, 0.06, 0.5)])
def test_the_senior_class_el_is_the_integral_of_the_excess_loss(
        mean: float, sd: float, attachment: float) -> None:
    dist = _lognormal(mean, sd)
    excess, _ = integrate.quad(lambda x: (x - attachment) * dist.pdf(x), attachment, np.inf,
                               epsabs=1e-16, epsrel=1e-10, limit=200)
    assert senior_class_expected_loss(mean, sd, attachment) == pytest.approx(
        excess / (1 - attachment), rel=1e-7)


def test_the_sd_reproduces_the_aaa_level_it_was_read_from() -> None:
    # Moody's, Toyota Auto Loan Extended Note Trust 2020-1: expected CNL 1.10%, loss at a Aaa
    # stress 6.50% (docs/rating_stress.md).
    sd = cnl_sd_for_aaa_level(0.011, 0.065, 2.0)
    assert senior_class_expected_loss(0.011, sd, 0.065) == pytest.approx(
        el_target("Aaa", 2.0), rel=1e-8)
    assert 0.5 < sd / 0.011 < 0.6  # coefficient of variation 0.55 (documented)
    # a larger Aaa level means a wider distribution; a longer WAL tolerates more EL
    assert cnl_sd_for_aaa_level(0.011, 0.08, 2.0) > sd
    assert cnl_sd_for_aaa_level(0.011, 0.065, 3.0) > sd


def test_an_aaa_level_below_the_expected_cnl_is_refused() -> None:
    with pytest.raises(InputError, match="cnl_aaa_level.*must lie between"):
        cnl_sd_for_aaa_level(0.024, 0.02, 2.0)


def _prime(factor: dict) -> dict:
    raw = yaml.safe_load((EXAMPLES / "prime_assumptions.yaml").read_text(encoding="utf-8"))
    return {**raw, "factor": factor}


def test_the_model_file_derives_cnl_sd_from_the_aaa_level() -> None:
    model = model_from_dict(_prime({"type": "lognormal_cnl", "cnl_aaa_level": 0.12}))
    assert model.factor.cnl_sd == pytest.approx(
        cnl_sd_for_aaa_level(model.default.expected_cnl or 0.0, 0.12, 2.0), rel=1e-12)
    # a dumped model (both fields, consistent) loads again unchanged
    assert model_from_dict(model.model_dump()) == model


@pytest.mark.parametrize(("factor", "message"), [
    ({"type": "lognormal_cnl", "cnl_aaa_level": 0.12, "cnl_sd": 0.01}, "disagrees"),
    ({"type": "lognormal_cnl", "cnl_aaa_level": 0.01}, "must lie between"),
    ({"type": "vasicek", "rho": 0.1, "cnl_aaa_level": 0.12}, "applies to a lognormal"),
])
def test_an_inconsistent_aaa_level_is_an_input_error_naming_the_file(
        factor: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        model_from_dict(_prime(factor), source="prime.yaml")
    assert str(info.value).startswith("prime.yaml")
