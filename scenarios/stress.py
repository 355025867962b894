"""Deterministic stress grid: class losses by CNL multiple x ABS speed.

The Monte Carlo stress run (every scenario with the same seed and prepared collateral, i.e.
common random numbers) is :func:`autoabs.stress` and ``autoabs stress``; this module holds the
deterministic sensitivity grid that accompanies it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from portfolio.tape import LoanTape
from simulation.collateral import CollateralInputs
from simulation.deal import Deal
from simulation.deterministic import project_deterministic, waterfall_inputs
from simulation.model import CollateralModel
from simulation.rating_stress import stress_base
from simulation.waterfall import compile_deal, run_waterfall

DEFAULT_CNL_MULTIPLES = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
DEFAULT_GRID_ABS = (0.005, 0.010, 0.013, 0.015, 0.018, 0.020)
MAX_SCALE = 1e4
"""Largest multiple of the base default-rate shape tried (rates are capped at 100% a month)."""


def sensitivity_grid(
    deal: Deal,
    tape: LoanTape,
    model: CollateralModel,
    *,
    cnl_multiples: Sequence[float] = DEFAULT_CNL_MULTIPLES,
    abs_speeds: Sequence[float] = DEFAULT_GRID_ABS,
    inputs: CollateralInputs | None = None,
) -> pd.DataFrame:
    """Deterministic class losses on a grid of CNL multiples x ABS speeds.

    The base case is the model's expected projection (flat macro):
    :func:`simulation.rating_stress.stress_base` (its CNL, default-rate shape and severity).
    Each cell runs :func:`~simulation.deterministic.project_deterministic` at the ABS speed with
    the default-rate shape scaled so that the pool CNL is the multiple of the base CNL, then the
    waterfall. Returns rows (cnl_multiple, abs_speed, class) with ``loss`` (share of the class
    balance), ``target_cnl`` (the multiple of the base CNL), ``pool_cnl`` (the CNL of the
    projection) and ``reached``. A multiple no default rate reaches at that speed (a subprime
    pool's 5x: more than the loss severity allows) is run at the highest default rate,
    ``MAX_SCALE`` times the base shape capped at 100% a month, and marked ``reached=False``
    with the CNL it does reach.

    ``inputs``: the tape's prepared and calibrated collateral (that of the Monte Carlo stress
    runs), so as not to prepare it again.
    """
    base = stress_base(tape, model, inputs)
    base_cnl, severity, shape = base.cnl, base.severity, base.default_shape
    co, lag = base.chargeoff_months, base.recovery_lag
    program = compile_deal(deal, tape)
    rows = []
    for speed in abs_speeds:
        def cnl_for(scale: float, speed: float = speed) -> float:
            flows = project_deterministic(tape, mdr=np.minimum(shape * scale, 1.0),
                                          abs_speed=speed, severity=severity,
                                          recovery_lag=lag, chargeoff_months=co)
            return float(flows["cnl"].iloc[-1])

        for multiple in cnl_multiples:
            target = multiple * base_cnl
            hi = 1.0
            while cnl_for(hi) < target and hi < MAX_SCALE:
                hi *= 2.0
            reached = cnl_for(hi) >= target
            scale = (optimize.brentq(lambda s, t=target: cnl_for(s) - t, 0.0, hi, xtol=1e-10)
                     if reached else hi)
            flows = project_deterministic(tape, mdr=np.minimum(shape * scale, 1.0),
                                          abs_speed=speed, severity=severity,
                                          recovery_lag=lag, chargeoff_months=co)
            pool, later_months = waterfall_inputs(flows)
            tf = run_waterfall(program, pool[None], later_months_balance=later_months)
            for c, name in enumerate(program.classes):
                rows.append({
                    "cnl_multiple": multiple,
                    "abs_speed": speed,
                    "class": name,
                    "loss": float(tf.principal_loss[0, c] / program.original_balance[c]),
                    "target_cnl": target,
                    "pool_cnl": float(flows["cnl"].iloc[-1]),
                    "reached": bool(reached),
                })
    return pd.DataFrame(rows)
