"""Transmission channels from scenario variables to collateral and note cash flows.

One table of every channel with the parameter that sets it, where it is set and its source, so
that runs and reports can state the effective elasticities. The arithmetic itself lives where
it acts: :mod:`simulation.collateral` (default, prepayment and recovery multipliers),
:mod:`scenarios.model` (rate shocks) and :mod:`scenarios.stochastic` (stochastic layer). The
sources and the reasoning are in ``docs/scenarios.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.model import Scenario
from simulation.model import CollateralModel


@dataclass(frozen=True)
class Channel:
    """One transmission channel.

    Attributes
    ----------
    driver, target : str
        Scenario variable and what it moves.
    formula : str
        How, with the parameter named.
    parameter : str
        Dotted field of the file that sets it (``assumptions:`` or ``scenario:`` prefix).
    value : float or None
        Effective value for the given model and scenario (``None`` for structural channels).
    """

    driver: str
    target: str
    formula: str
    parameter: str
    value: float | None


def transmission_channels(model: CollateralModel, scenario: Scenario) -> list[Channel]:
    """The effective transmission channels of a (model, scenario) pair."""
    tr = scenario.transmission
    return [
        Channel("unemployment", "default intensity",
                "x exp(e (u_t - u_0)), u as decimal",
                "assumptions: default.unemployment_elasticity",
                model.default.unemployment_elasticity),
        Channel("unemployment", "prepayment intensity",
                "x exp(e (u_t - u_0))",
                "assumptions: prepayment.unemployment_elasticity",
                model.prepayment.unemployment_elasticity),
        Channel("market auto-loan rate", "prepayment intensity",
                "x exp(k (max(APR - m_t, 0) - max(APR - m_0, 0)))",
                "assumptions: prepayment.rate_incentive",
                model.prepayment.rate_incentive),
        Channel("used-car index", "recoveries",
                "vehicle proceeds x index_t (index 1.0 at the cut-off)",
                "assumptions: recovery.method = vehicle", None),
        Channel("rate shock / short rate", "market auto-loan rate",
                "+ p x move of the tau-year zero rate",
                "scenario: transmission.market_rate_pass_through",
                tr.market_rate_pass_through),
        Channel("rate shock / short rate", "market auto-loan rate (tenor)",
                "tau in years",
                "scenario: transmission.market_rate_tenor_years",
                tr.market_rate_tenor_years),
        Channel("index rate", "floating coupons and swap",
                "coupon = index_t + spread (floor/cap per note)", "deal file", None),
        Channel("scenario curve / short rate", "discounting",
                "PV on ScenarioPaths.curve or the pathwise discount factors", "scenario: curve",
                None),
        Channel("stresses", "default / prepayment / recovery",
                "x cnl_multiple, x prepay_multiple, x (1 - recovery_haircut)",
                "scenario: stresses.cnl_multiple", scenario.stresses.cnl_multiple),
    ]
