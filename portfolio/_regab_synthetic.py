"""Synthetic SEC Reg AB II EX-102 (auto loan asset data) files for tests and benchmarks.

The records follow the element order and formatting of a real filing (Santander Drive Auto
Receivables Trust, pretty-printed, amounts with 8 decimals; about 3.7 KB per record), with the
irregularities real files show: zero-balance loans, ``"None"`` and fractional credit scores,
payment-to-income in percent instead of a fraction, omitted optional elements. Values are drawn
from a seeded ``numpy.random.Generator``; nothing here touches a global random state.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NAMESPACE = "http://www.sec.gov/edgar/document/absee/autoloan/assetdata"
_HEADER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    f'<assetData xmlns="{NAMESPACE}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
)
_FOOTER = "</assetData>\n"

_MAKES: tuple[tuple[str, str, int], ...] = (
    # (manufacturer, model, EX-102 vehicleTypeCode)
    ("NISSAN", "Altima", 1),
    ("TOYOTA", "Camry", 1),
    ("HONDA", "Civic", 1),
    ("FORD", "F-150", 2),
    ("DODGE", "Ram 1500", 2),
    ("CHEVROLET", "Equinox", 3),
    ("JEEP", "Grand Cherokee", 3),
    ("KIA", "Sorento", 3),
    ("HARLEY-DAVIDSON", "Street Glide", 4),
    ("MERCEDES-BENZ COMM", "Sprinter", 98),
)
_STATES: tuple[str, ...] = ("TX", "CA", "FL", "GA", "NY", "OH", "PA", "IL", "NC", "MA")


@dataclass(frozen=True)
class SyntheticSummary:
    """What a generated file contains, for checking an import against it.

    Parameters
    ----------
    path : Path
        The written file.
    n_records : int
        Number of ``<assets>`` records.
    n_active : int
        Records without a ``zeroBalanceCode``.
    zero_balance_counts : dict of str to int
        Records per ``zeroBalanceCode``.
    active_balance : float
        Sum of ``reportingPeriodActualEndBalanceAmount`` over active records, USD (rounded to
        cents as written).
    """

    path: Path
    n_records: int
    n_active: int
    zero_balance_counts: dict[str, int]
    active_balance: float


def write_synthetic_ex102(
    path: str | Path,
    n_records: int,
    *,
    seed: int = 0,
    zero_balance_share: float = 0.05,
    chunk: int = 2_000,
) -> SyntheticSummary:
    """Write a synthetic EX-102 auto-loan asset-data file.

    Parameters
    ----------
    path : str or Path
        Output file.
    n_records : int
        Number of ``<assets>`` records.
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed writes the same file.
    zero_balance_share : float
        Share of records reported as paid off (code 1) or charged off (code 4), in [0, 1].
    chunk : int
        Records generated and written per batch (memory stays flat in ``n_records``).

    Returns
    -------
    SyntheticSummary
        Counts and the active balance of the written file.
    """
    rng = np.random.default_rng(seed)
    out = Path(path)
    zb_counts: Counter[str] = Counter()
    active_balance = 0.0
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(_HEADER)
        for start in range(0, n_records, chunk):
            n = min(chunk, n_records - start)
            parts, zb, bal = _records(rng, start, n, zero_balance_share)
            fh.write("".join(parts))
            zb_counts.update(zb)
            active_balance += bal
        fh.write(_FOOTER)
    n_zero = sum(zb_counts.values())
    return SyntheticSummary(out, n_records, n_records - n_zero, dict(zb_counts), active_balance)


def _records(
    rng: np.random.Generator, start: int, n: int, zero_balance_share: float
) -> tuple[list[str], list[str], float]:
    """Return ``n`` record strings, their zero-balance codes and the active balance."""
    term = rng.choice(np.array([36, 48, 60, 66, 72, 75]), n)
    age = (rng.uniform(0.0, 0.9, n) * term).astype(np.int64) + 1
    orig_amount = np.round(rng.lognormal(np.log(25_000.0), 0.4, n), 2)
    rate = np.round(rng.uniform(0.02, 0.24, n), 4)
    r = rate / 12.0
    growth_n, growth_k = (1.0 + r) ** term, (1.0 + r) ** age
    balance = np.round(orig_amount * (growth_n - growth_k) / (growth_n - 1.0), 2)
    payment = np.round(orig_amount * r * growth_n / (growth_n - 1.0), 2)
    fico = rng.integers(520, 851, n)
    pti = np.round(rng.uniform(0.02, 0.20, n), 6)
    ltv = rng.uniform(0.7, 1.3, n)
    value = np.round(orig_amount / ltv, 0)
    make_idx = rng.integers(0, len(_MAKES), n)
    state_idx = rng.integers(0, len(_STATES), n)
    new_used = rng.integers(1, 3, n)
    dpd = np.where(rng.random(n) < 0.08, rng.integers(1, 120, n), 0)
    u = rng.random(n)
    special = rng.random(n)
    # Reporting period June 2026; origination age months earlier.
    months = 2026 * 12 + 5 - age
    orig_year, orig_month = months // 12, months % 12 + 1

    parts: list[str] = []
    codes: list[str] = []
    active_balance = 0.0
    for i in range(n):
        make, model, vtype = _MAKES[make_idx[i]]
        zero_code = ""
        if u[i] < zero_balance_share:
            zero_code = "1" if u[i] < 0.8 * zero_balance_share else "4"
            codes.append(zero_code)
        end_balance = 0.0 if zero_code else float(balance[i])
        if not zero_code:
            active_balance += end_balance
        score = str(int(fico[i]))
        pti_text = f"{pti[i]:.8f}"
        if special[i] < 0.01:
            score = "None"
        elif special[i] < 0.02:
            score = f"{fico[i]}.5"
        elif special[i] < 0.03:
            pti_text = f"{pti[i] * 100.0:.8f}"  # an issuer reporting PTI in percent
        parts.append(
            _RECORD.format(
                asset_number=f"{30_000_000 + start + i}",
                orig_month=int(orig_month[i]),
                orig_year=int(orig_year[i]),
                orig_amount=orig_amount[i],
                term=int(term[i]),
                rate=rate[i],
                make=make,
                model=model,
                new_used=int(new_used[i]),
                model_year=int(orig_year[i]) - int(new_used[i]) + 1,
                vtype=vtype,
                value=value[i],
                score=score,
                pti=pti_text,
                state=_STATES[state_idx[i]],
                remaining=int(term[i] - age[i]),
                begin_balance=balance[i] + payment[i] * 0.8,
                payment=payment[i],
                end_balance=end_balance,
                zero_balance=(
                    "    <zeroBalanceEffectiveDate>06/2026</zeroBalanceEffectiveDate>\n"
                    f"    <zeroBalanceCode>{zero_code}</zeroBalanceCode>\n"
                    if zero_code
                    else ""
                ),
                dpd=int(dpd[i]),
            )
        )
    return parts, codes, active_balance


_RECORD = """\
  <assets>
    <assetTypeNumber>SYNTH0202600001</assetTypeNumber>
    <assetNumber>{asset_number}</assetNumber>
    <reportingPeriodBeginningDate>06-01-2026</reportingPeriodBeginningDate>
    <reportingPeriodEndingDate>06-30-2026</reportingPeriodEndingDate>
    <originatorName>SYNTH</originatorName>
    <originationDate>{orig_month:02d}/{orig_year}</originationDate>
    <originalLoanAmount>{orig_amount:.8f}</originalLoanAmount>
    <originalLoanTerm>{term}</originalLoanTerm>
    <loanMaturityDate>06/2030</loanMaturityDate>
    <originalInterestRatePercentage>{rate:.8f}</originalInterestRatePercentage>
    <interestCalculationTypeCode>1</interestCalculationTypeCode>
    <originalInterestRateTypeCode>1</originalInterestRateTypeCode>
    <originalFirstPaymentDate>03/2020</originalFirstPaymentDate>
    <underwritingIndicator>true</underwritingIndicator>
    <gracePeriodNumber>2</gracePeriodNumber>
    <paymentTypeCode>2</paymentTypeCode>
    <subvented>0</subvented>
    <vehicleManufacturerName>{make}</vehicleManufacturerName>
    <vehicleModelName>{model}</vehicleModelName>
    <vehicleNewUsedCode>{new_used}</vehicleNewUsedCode>
    <vehicleModelYear>{model_year}</vehicleModelYear>
    <vehicleTypeCode>{vtype}</vehicleTypeCode>
    <vehicleValueAmount>{value:.8f}</vehicleValueAmount>
    <vehicleValueSourceCode>1</vehicleValueSourceCode>
    <obligorCreditScoreType>Bureau</obligorCreditScoreType>
    <obligorCreditScore>{score}</obligorCreditScore>
    <obligorIncomeVerificationLevelCode>2</obligorIncomeVerificationLevelCode>
    <obligorEmploymentVerificationCode>2</obligorEmploymentVerificationCode>
    <coObligorIndicator>false</coObligorIndicator>
    <paymentToIncomePercentage>{pti}</paymentToIncomePercentage>
    <obligorGeographicLocation>{state}</obligorGeographicLocation>
    <remainingTermToMaturityNumber>{remaining}</remainingTermToMaturityNumber>
    <reportingPeriodModificationIndicator>false</reportingPeriodModificationIndicator>
    <servicingAdvanceMethodCode>1</servicingAdvanceMethodCode>
    <reportingPeriodBeginningLoanBalanceAmount>{begin_balance:.8f}</reportingPeriodBeginningLoanBalanceAmount>
    <nextReportingPeriodPaymentAmountDue>{payment:.8f}</nextReportingPeriodPaymentAmountDue>
    <reportingPeriodInterestRatePercentage>{rate:.8f}</reportingPeriodInterestRatePercentage>
    <nextInterestRatePercentage>{rate:.8f}</nextInterestRatePercentage>
    <servicingFeePercentage>0.03000000</servicingFeePercentage>
    <otherAssessedUncollectedServicerFeeAmount>0.00000000</otherAssessedUncollectedServicerFeeAmount>
    <scheduledInterestAmount>0.00000000</scheduledInterestAmount>
    <scheduledPrincipalAmount>0.00000000</scheduledPrincipalAmount>
    <otherPrincipalAdjustmentAmount>0.00000000</otherPrincipalAdjustmentAmount>
    <reportingPeriodActualEndBalanceAmount>{end_balance:.8f}</reportingPeriodActualEndBalanceAmount>
    <reportingPeriodScheduledPaymentAmount>{payment:.8f}</reportingPeriodScheduledPaymentAmount>
    <totalActualAmountPaid>{payment:.8f}</totalActualAmountPaid>
    <actualInterestCollectedAmount>0.00000000</actualInterestCollectedAmount>
    <actualPrincipalCollectedAmount>0.00000000</actualPrincipalCollectedAmount>
    <actualOtherCollectedAmount>0.00000000</actualOtherCollectedAmount>
    <interestPaidThroughDate>06-17-2026</interestPaidThroughDate>
{zero_balance}\
    <currentDelinquencyStatus>{dpd}</currentDelinquencyStatus>
    <primaryLoanServicerName>SYNTH SERVICING</primaryLoanServicerName>
    <assetSubjectDemandIndicator>false</assetSubjectDemandIndicator>
    <chargedoffPrincipalAmount>0.00000000</chargedoffPrincipalAmount>
    <paymentExtendedNumber>0</paymentExtendedNumber>
    <repossessedIndicator>false</repossessedIndicator>
  </assets>
"""
