"""Backtest: project a panel's pool from month K with the engine and compare with what happened.

The pool is month K's actual loans (positive balance, not yet known to have defaulted), turned
into a :class:`~portfolio.tape.LoanTape`. The engine's expected projection
(:func:`~simulation.collateral.expected_flows`; optionally also Monte Carlo paths with
:func:`~simulation.run.simulate_pool` for bands) runs it forward; period ``t`` is panel month
``K + t``. Projected and actual pool balances are defined the same way:

- the engine's ``ending_balance`` keeps a defaulted loan's balance (delinquent, paying nothing)
  until its charge-off ``chargeoff_months - 1`` months after the first missed payment;
- the actual balance of a loan is its panel balance (0 after a payoff), except that a loan that
  defaulted in month ``s`` (see :func:`portfolio.panel.panel_events`) counts its last balance
  before ``s`` through month ``s + chargeoff_months - 2`` and nothing from
  ``s + chargeoff_months - 1`` on, whether or not the panel zeroed it (panels often keep the
  balance of loans whose payments stopped).

The pool factor is a balance over the panel's cut-off pool balance (month 0), the factor an
investor report shows. ``docs/calibration.md`` explains the choices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.errors import InputError, Problem
from portfolio.panel import (
    DEFAULTED,
    EventRules,
    LoanPanel,
    panel_events,
    payments_behind,
    scheduled_principal,
)
from portfolio.tape import LoanTape, tape_from_columns
from simulation.calibration import SegmentScheme, delinquency_states
from simulation.collateral import FIELD_NAMES, expected_flows, prepare_collateral
from simulation.model import CollateralModel
from simulation.run import simulate_pool

__all__ = ["BacktestResult", "backtest", "panel_tape"]

DELINQUENCY_FIELDS = ("delinquent_30", "delinquent_60", "delinquent_90p")
"""PoolFlows delinquency fields compared month by month (30, 60, 90+ days past due)."""
CHECK_MONTHS = (12, 24, 36)
"""Months into the projection at which :meth:`BacktestResult.metrics` reports errors (and the
last month)."""


def _implied_term(balance: np.ndarray, rate: np.ndarray, payment: np.ndarray,
                  fallback: np.ndarray) -> np.ndarray:
    """Remaining number of level payments that amortise ``balance`` with ``payment``."""
    r = rate / 12.0
    with np.errstate(divide="ignore", invalid="ignore"):
        x = 1.0 - balance * r / payment
        n = np.where(r > 0, -np.log(x) / np.log1p(r), balance / payment)
    ok = np.isfinite(n) & (n > 0)
    return np.where(ok, np.maximum(np.round(n), 1), np.maximum(fallback, 1)).astype(np.int64)


def panel_tape(panel: LoanPanel, month: int, scheme: SegmentScheme,
               rules: EventRules | None = None, *,
               delinquency: bool = False) -> tuple[LoanTape, np.ndarray]:
    """Month ``month``'s active loans as a tape, and their panel row indices.

    Active: positive balance at the end of the month and not classified as defaulted from the
    data up to it (month 0: every loan with a cut-off balance, nothing is known yet). ``age``
    is the loan age at the end of the month, ``remaining_term`` the number of scheduled
    payments that amortise its balance (curtailments shorten it; the contractual term is the
    fallback), ``segment`` the scheme's label. With ``delinquency``, ``days_past_due`` is 30
    per payment behind at the month's end (:func:`~portfolio.panel.payments_behind`), so the
    loan starts in its roll-rate state; otherwise every loan starts current.
    """
    bal = panel.balance_at(month)
    active = np.isfinite(bal) & (bal > 0)
    if month > 0:
        active &= panel_events(panel.through(month), rules).kind != DEFAULTED
    idx = np.flatnonzero(active)
    if idx.size == 0:
        raise InputError(panel.source, Problem(None, "--from-month",
                                               f"no active loans at month {month}"))
    age = panel.age0[idx] + month
    contractual = panel.original_term[idx] - age
    rem = _implied_term(bal[idx], panel.rate[idx], panel.scheduled_payment[idx], contractual)
    labels = scheme.labels(panel.fico[idx], panel.vehicle_new[idx], panel.rate[idx])
    days_past_due = np.zeros(len(idx), dtype=np.int64)
    if delinquency and month > 0:
        days_past_due = 30 * payments_behind(panel.through(month), rules)[0][idx, month - 1]
    tape = tape_from_columns({
        "loan_id": panel.loan_id[idx], "balance": bal[idx], "rate": panel.rate[idx],
        "original_term": np.maximum(panel.original_term[idx], age + rem),
        "remaining_term": rem, "age": age,
        "original_balance": panel.original_balance[idx], "fico": panel.fico[idx],
        "pti": panel.pti[idx], "vehicle_value": panel.vehicle_value[idx],
        "vehicle_new": panel.vehicle_new[idx], "state": panel.state[idx], "segment": labels,
        "days_past_due": days_past_due,
    })
    return tape, idx


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Projected vs actual pool by panel month.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``month`` (K+1..); columns ``actual_balance``, ``projected_balance`` (USD),
        ``actual_factor``, ``projected_factor`` (over the cut-off pool balance),
        ``factor_error_pp`` (projected - actual, percentage points), cumulative
        ``*_prepaid`` and ``*_defaulted`` principal and the ``*_delinquent_30``/``_60``/``_90p``
        balances (contractual delinquency, :func:`~simulation.calibration.delinquency_states`)
        as % of the cut-off pool, and with Monte Carlo paths ``projected_factor_p5``/``_p95``.
    from_month : int
    cutoff_balance : float
        Pool balance at the panel's cut-off (month 0), USD.
    start_balance : float
        Balance of the projected loans at month K, USD.
    n_loans : int
        Loans projected.
    """

    table: pd.DataFrame
    from_month: int
    cutoff_balance: float
    start_balance: float
    n_loans: int

    def metrics(self) -> dict[str, float]:
        """Error metrics in percentage points (projected minus actual).

        Mean absolute, root-mean-square and maximum pool-factor error, final-month errors of
        factor and cumulative prepayments and defaults (all pp of the cut-off pool), the
        final cumulative defaults relative to actual (``defaulted_final_rel``, a fraction:
        +0.05 = 5% more than actual), and the mean absolute balance error relative to the
        month-K balance.
        """
        t = self.table
        err = t["factor_error_pp"].to_numpy()
        rel = (t["projected_balance"] - t["actual_balance"]).to_numpy() / self.start_balance
        return {
            "factor_mae_pp": float(np.mean(np.abs(err))),
            "factor_rmse_pp": float(np.sqrt(np.mean(err**2))),
            "factor_max_abs_pp": float(np.max(np.abs(err))),
            "factor_final_pp": float(err[-1]),
            "prepaid_final_pp": float(t["projected_prepaid"].iloc[-1]
                                      - t["actual_prepaid"].iloc[-1]),
            "defaulted_final_pp": float(t["projected_defaulted"].iloc[-1]
                                        - t["actual_defaulted"].iloc[-1]),
            "defaulted_final_rel": float(t["projected_defaulted"].iloc[-1]
                                         / max(t["actual_defaulted"].iloc[-1], 1e-300) - 1.0),
            "factor_mae_pp_of_start": float(np.mean(np.abs(rel)) * 100.0),
            **self.errors_at(),
        }

    def delinquent_30_plus(self, side: str) -> pd.Series:
        """30+ days delinquent balance by month (30 + 60 + 90+), % of the cut-off pool.

        ``side`` is ``"actual"`` or ``"projected"``.
        """
        t = self.table
        total = t[f"{side}_{DELINQUENCY_FIELDS[0]}"].copy()
        for name in DELINQUENCY_FIELDS[1:]:
            total += t[f"{side}_{name}"]
        return total

    def errors_at(self) -> dict[str, float]:
        """Projected minus actual at months 12, 24, 36 of the projection and at its end (pp).

        Keys ``{measure}_error_pp_{m}m`` for the pool factor, cumulative defaults and the 30+
        delinquent balance (30 + 60 + 90+), with ``m`` the months since K (``end`` for the
        last month); months past the projection are left out.
        """
        t = self.table
        measures = {
            "factor": t["factor_error_pp"],
            "defaulted": t["projected_defaulted"] - t["actual_defaulted"],
            "delinquent_30p": self.delinquent_30_plus("projected")
            - self.delinquent_30_plus("actual"),
        }
        out: dict[str, float] = {}
        points = [(f"{m}m", m - 1) for m in CHECK_MONTHS if m <= len(t)]
        for label, row in [*points, ("end", len(t) - 1)]:
            for name, series in measures.items():
                out[f"{name}_error_pp_{label}"] = float(series.iloc[row])
        return out


def _actual(panel: LoanPanel, idx: np.ndarray, month: int, to_month: int,
            chargeoff_months: int, rules: EventRules | None) -> pd.DataFrame:
    """Actual balance, prepaid and defaulted principal of the loans ``idx`` by month."""
    ev = panel_events(panel.through(to_month), rules)
    months = np.arange(month + 1, to_month + 1)
    bal = np.nan_to_num(panel.balance[idx][:, months - 1])
    prev = panel.prior_balance()[idx][:, months - 1]
    sched = scheduled_principal(np.nan_to_num(prev), panel.rate[idx],
                                panel.scheduled_payment[idx])
    paid = np.nan_to_num(panel.principal_paid[idx][:, months - 1])
    excess = np.zeros_like(paid)
    arrears = np.zeros(len(idx))
    for k in range(len(months)):
        excess[:, k] = np.maximum(paid[:, k] - sched[:, k] - arrears, 0.0)
        arrears = np.maximum(arrears + sched[:, k] - paid[:, k], 0.0)
    defaulted = ev.kind[idx] == DEFAULTED
    s = ev.exit[idx]
    removal = np.maximum(s + chargeoff_months - 1, month + 1)
    # Ending balances of months 0..N (column m = month m; month 0 the cut-off balance).
    full = np.nan_to_num(np.column_stack([panel.balance_at(0), panel.balance])[idx])
    defaulted_amount = np.zeros(len(idx))
    for j in np.flatnonzero(defaulted):
        # Last balance before the first missed payment (or at month K when the run began
        # earlier), held until the charge-off month.
        held = full[j, max(s[j], month + 1) - 1]
        hold = (months >= max(s[j], month + 1)) & (months < removal[j])
        bal[j] = np.where(months >= removal[j], 0.0, np.where(hold, held, bal[j]))
        excess[j, months >= s[j]] = 0.0
        defaulted_amount[j] = held
    co_month = np.where(defaulted, removal, 0)
    cum_default = np.array([defaulted_amount[(co_month > 0) & (co_month <= m)].sum()
                            for m in months])
    # Delinquent balances by contractual state (30, 60, 90+), on the balances above.
    state = delinquency_states(panel.through(to_month), ev, rules)[idx][:, months - 1]
    columns: dict[str, np.ndarray] = {
        "actual_balance": bal.sum(axis=0),
        "actual_prepaid_usd": np.cumsum(excess.sum(axis=0)),
        "actual_defaulted_usd": cum_default,
    }
    for behind, name in enumerate(DELINQUENCY_FIELDS, start=1):
        columns[f"actual_{name}_usd"] = np.where(state == behind, bal, 0.0).sum(axis=0)
    return pd.DataFrame(columns, index=pd.Index(months, name="month"))


def backtest(panel: LoanPanel, model: CollateralModel, from_month: int, *,
             to_month: int | None = None, rules: EventRules | None = None,
             scheme: SegmentScheme | None = None, n_paths: int = 0,
             seed: int = 1) -> BacktestResult:
    """Project month ``from_month``'s pool with the engine and compare with the panel.

    Parameters
    ----------
    panel : LoanPanel
        The performance panel.
    model : CollateralModel
        Assumptions (e.g. from :func:`~simulation.calibration.estimate_hazards`).
    from_month : int
        K: the projection starts from the loans active at the end of panel month K
        (0: from the cut-off balances).
    to_month : int, optional
        Last month compared (default: the panel's last month).
    rules : EventRules, optional
        Event definitions (the same as the calibration's).
    scheme : SegmentScheme, optional
        Segmentation; by default recovered from the model's hazard-curve keys.
    n_paths : int
        Monte Carlo paths for 5%/95% pool-factor bands (0 = expected projection only).
    seed : int
        Run seed of the Monte Carlo.
    """
    t_end = panel.n_months if to_month is None else to_month
    if not 0 <= from_month < t_end <= panel.n_months:
        raise InputError(panel.source, Problem(
            None, "--from-month",
            f"need 0 <= from-month < to-month <= {panel.n_months}, got {from_month} and {t_end}"))
    if scheme is None:
        keys = list(model.default.hazard_curves or ["all"])
        scheme = SegmentScheme.from_labels(keys)
    tape, idx = panel_tape(panel, from_month, scheme, rules,
                           delinquency=model.credit_model == "roll_rate")
    inputs = prepare_collateral(tape, model, source=panel.source)
    horizon = t_end - from_month
    flows = expected_flows(inputs).flows
    f = {name: k for k, name in enumerate(FIELD_NAMES)}
    cutoff = float(panel.cutoff_balance.sum())
    proj = flows[:horizon]
    co = model.delinquency.chargeoff_months
    actual = _actual(panel, idx, from_month, t_end, co, rules)
    table = actual.copy()
    table["projected_balance"] = proj[:, f["ending_balance"]]
    table["actual_factor"] = table["actual_balance"] / cutoff
    table["projected_factor"] = table["projected_balance"] / cutoff
    table["factor_error_pp"] = (table["projected_factor"] - table["actual_factor"]) * 100.0
    table["actual_prepaid"] = table.pop("actual_prepaid_usd") / cutoff * 100.0
    table["projected_prepaid"] = np.cumsum(proj[:, f["prepaid_principal"]]) / cutoff * 100.0
    table["actual_defaulted"] = table.pop("actual_defaulted_usd") / cutoff * 100.0
    table["projected_defaulted"] = np.cumsum(proj[:, f["defaulted_principal"]]) / cutoff * 100.0
    for name in DELINQUENCY_FIELDS:
        table[f"actual_{name}"] = table.pop(f"actual_{name}_usd") / cutoff * 100.0
        table[f"projected_{name}"] = proj[:, f[name]] / cutoff * 100.0
    if n_paths > 0:
        result = simulate_pool(inputs, n_paths=n_paths, seed=seed)
        scale = inputs.initial_balance / cutoff
        q = result.pool_factor_quantiles.iloc[:horizon]
        table["projected_factor_p5"] = q["p5"].to_numpy() * scale
        table["projected_factor_p95"] = q["p95"].to_numpy() * scale
        table["projected_factor_mc_mean"] = (
            result.mean_flows["ending_balance"].to_numpy()[:horizon] / cutoff)
    return BacktestResult(table=table, from_month=from_month, cutoff_balance=cutoff,
                          start_balance=tape.total_balance, n_loans=len(tape))
