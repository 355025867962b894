"""Deterministic structuring tables: the prepayment (paydown) table and break-even CNL.

Both run the compiled waterfall on deterministic pool flows, as prospectuses and rating
reports do:

- :func:`prepayment_table`: WAL and principal window of each class at several ABS speeds with
  no losses, to the clean-up call and to maturity (the prospectus "percent of initial note
  principal at various ABS percentages" table).
- :func:`breakeven_cnl`: per class, the largest multiple of the base-case expected CNL at which
  the class loses nothing, on the expected-value projection (bracketing + bisection).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import simulation.metrics as metrics
from portfolio.tape import LoanTape
from simulation.collateral import FIELD_NAMES, CollateralInputs, cnl_of_flows, expected_flows
from simulation.deal import Deal
from simulation.deterministic import project_deterministic
from simulation.waterfall import compile_deal, payment_dates, run_waterfall

DEFAULT_ABS_SPEEDS = (0.005, 0.010, 0.013, 0.015, 0.018, 0.020)
"""ABS speeds of the prospectus prepayment table (monthly decimals)."""


def prepayment_table(
    deal: Deal,
    tape: LoanTape,
    abs_speeds: tuple[float, ...] = DEFAULT_ABS_SPEEDS,
    *,
    to_call: bool = True,
) -> pd.DataFrame:
    """WAL (years) and principal window of each class at each ABS speed, without losses.

    Parameters
    ----------
    deal, tape
        The deal and its pool.
    abs_speeds : tuple of float
        ABS prepayment speeds (0.013 = 1.3% ABS).
    to_call : bool
        Exercise the clean-up call when the pool falls to its level (``True``) or run every
        class to maturity (``False``).

    Returns
    -------
    pandas.DataFrame
        Rows (class, abs_speed) with ``wal_years``, ``first_principal_period``,
        ``last_principal_period``, ``first_principal_date``, ``last_principal_date`` and
        ``window_months`` (last - first + 1).
    """
    run_deal = deal if to_call else deal.model_copy(update={"clean_up_call": None})
    program = compile_deal(run_deal, tape.total_balance)
    rows = []
    for speed in abs_speeds:
        flows = project_deterministic(tape, abs_speed=speed)[list(FIELD_NAMES)].to_numpy()
        tf = run_waterfall(program, flows[None])
        principal = tf.principal_paid[0]
        dates = payment_dates(deal.first_payment_date, principal.shape[1])
        for c, name in enumerate(program.classes):
            paid = np.flatnonzero(principal[c] > 1e-6)
            first, last = (int(paid[0]), int(paid[-1])) if paid.size else (-1, -1)
            rows.append({
                "class": name,
                "abs_speed": speed,
                "wal_years": float(metrics.wal_years(principal[c])),
                "first_principal_period": first + 1,
                "last_principal_period": last + 1,
                "first_principal_date": str(dates[first]) if paid.size else "",
                "last_principal_date": str(dates[last]) if paid.size else "",
                "window_months": last - first + 1 if paid.size else 0,
            })
    return pd.DataFrame(rows)


_LOSS_TOLERANCE = 1e-4
"""Principal loss (share of the class) below which a class counts as whole."""


def breakeven_cnl(
    deal: Deal, inputs: CollateralInputs, *, tol: float = 5e-3
) -> pd.DataFrame:
    """Break-even CNL multiple of each class on the expected-value projection.

    The base case is the model's expected projection at a default multiplier of 1 (flat macro);
    a stress multiple ``x`` scales the default intensity to the level whose projected CNL is
    ``x`` times the base CNL. A class breaks even at the largest ``x`` at which its principal
    loss is zero (losses below one cent per $100 of the class are treated as zero).

    Returns
    -------
    pandas.DataFrame
        Per class: ``breakeven_multiple``, ``breakeven_cnl`` (decimal of the pool),
        ``base_cnl`` and ``bracketed`` (False when even the largest multiple tried, where
        every loan defaults, leaves the class whole).
    """
    program = compile_deal(deal, inputs.initial_balance)
    base_flows = expected_flows(inputs).flows
    base_cnl = float(cnl_of_flows(base_flows, inputs.initial_balance))
    # CNL as a function of the default-intensity multiplier k, inverted by interpolation.
    log_k_grid = np.linspace(np.log(1e-3), np.log(1e4), 61)
    cnl_grid = np.maximum.accumulate([
        float(cnl_of_flows(expected_flows(inputs, default_multiplier=float(np.exp(lk))).flows,
                           inputs.initial_balance))
        for lk in log_k_grid
    ])
    max_multiple = float(cnl_grid[-1] / base_cnl)
    cache: dict[float, np.ndarray] = {}

    def flows_at(multiple: float) -> np.ndarray:
        if multiple not in cache:
            log_k = np.interp(multiple * base_cnl, cnl_grid, log_k_grid)
            k = 0.0 if multiple <= 0.0 else float(np.exp(log_k))
            cache[multiple] = expected_flows(inputs, default_multiplier=k).flows
        return cache[multiple]

    rows = []
    for c, name in enumerate(program.classes):
        def loss(multiple: float, c: int = c) -> float:
            tf = run_waterfall(program, flows_at(min(multiple, max_multiple))[None])
            return float(tf.principal_loss[0, c] / program.original_balance[c])

        if loss(0.0) > _LOSS_TOLERANCE:  # loses with no defaults at all (fees exceed cash)
            multiple, bracketed = 0.0, True
        else:
            result = metrics.breakeven_multiple(loss, hi=2.0, tol=tol,
                                                loss_tolerance=_LOSS_TOLERANCE,
                                                max_multiple=max_multiple * (1 - 1e-9))
            multiple, bracketed = result.multiple, result.bracketed
        rows.append({
            "class": name,
            "breakeven_multiple": multiple,
            "breakeven_cnl": multiple * base_cnl,
            "base_cnl": base_cnl,
            "bracketed": bracketed,
        })
    return pd.DataFrame(rows)
