"""Deal files: a YAML capital structure and order of payments validated into a :class:`Deal`.

The pydantic models check each field (types, signs, ranges, unknown keys); :func:`deal_problems`
then checks the cross-references (classes named in the waterfall, pro-rata groups of adjacent
classes, swaps on floating notes, note balances within the pool, ...). Both report every defect
as a :class:`~portfolio.errors.Problem` with a dotted field path, raised as one
:class:`~portfolio.errors.InputError` naming the file. :mod:`simulation.waterfall` compiles a
valid deal into opcode arrays. The schema is documented in ``docs/waterfall.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from portfolio._yaml import read_yaml_file
from portfolio.errors import InputError, Problem
from portfolio.schema import MAX_MONTH, MONEY_MAX, InputModel, pydantic_problems
from portfolio.synthetic import MAX_SEED, MAX_SYNTHETIC_LOANS
from simulation.dates import BusinessDayCalendar, default_cutoff_date

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
SignedFraction = Annotated[float, Field(ge=-1.0, le=1.0)]
AnnualRate = Annotated[float, Field(ge=-0.05, le=1.0)]
Money = Annotated[float, Field(ge=0.0, le=MONEY_MAX)]
PositiveMoney = Annotated[float, Field(gt=0.0, le=MONEY_MAX)]
Period = Annotated[int, Field(ge=1, le=MAX_MONTH)]
Name = Annotated[str, Field(min_length=1, max_length=40)]

BARE_STEPS = ("swap", "reserve_deposit", "regular_principal", "residual")
"""Waterfall steps written as a bare word (the others are one-key mappings)."""
ACCELERATED_BARE_STEPS = ("swap", "residual")
"""Bare-word steps of an ``accelerated_waterfall`` (its mappings: fee, interest, principal)."""


_Strict = InputModel


class Note(_Strict):
    """One class of notes; the ``notes`` list is in order of seniority (most senior first).

    Exactly one of ``balance`` (fraction of the initial pool balance) and ``balance_usd``.
    ``type``: ``fixed`` (30/360, ``coupon``), ``money_market`` (act/360, ``coupon``; the A-1
    class) or ``floating`` (act/360, ``index`` + ``spread``, then ``floor`` and ``cap`` on the
    coupon).
    """

    name: Name
    balance: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    balance_usd: PositiveMoney | None = None
    type: Literal["fixed", "floating", "money_market"] = "fixed"
    coupon: AnnualRate | None = None
    index: Name | None = None
    spread: AnnualRate | None = None
    floor: AnnualRate | None = None
    cap: AnnualRate | None = None
    legal_final: dt.date | None = None


class ProRataGroup(_Strict):
    """Adjacent classes that share principal in proportion to their balances.

    With ``switch_to_sequential`` the group is paid sequentially while a ``sequential`` trigger
    is breached and after an event of default; without it (e.g. A-2a/A-2b, one class split in
    a fixed and a floating tranche) the group stays pro rata.
    """

    classes: list[Name]
    switch_to_sequential: bool = False


class Fee(_Strict):
    """A senior fee, paid in a ``{fee: NAME}`` step; unpaid amounts carry forward.

    Exactly one of ``rate`` (annual, on the beginning-of-period pool balance, paid monthly as
    rate / 12) and ``usd_per_month``.
    """

    name: Name
    rate: Annotated[float, Field(ge=0.0, le=0.2)] | None = None
    usd_per_month: Money | None = None


class Reserve(_Strict):
    """Reserve account (cash held by the trust, drawn on shortfalls).

    ``initial`` and ``floor`` are fractions of the initial pool balance; ``target`` (and
    ``step_up_target``, used while a ``reserve_step_up`` trigger is breached) fractions of the
    ``basis`` pool balance (initial or current).
    """

    initial: Fraction
    target: Fraction
    floor: Fraction = 0.0
    basis: Literal["initial", "current"] = "initial"
    step_up_target: Fraction | None = None


class Overcollateralization(_Strict):
    """Overcollateralisation target and turbo.

    OC target = max(``target_current`` x current pool + ``target_initial`` x initial pool,
    ``floor`` x initial pool), at most the current pool. With ``turbo`` all available funds
    after the senior items go to principal (full turbo) in every period. While an
    ``oc_step_up`` trigger is breached, ``step_up_target_current`` and
    ``step_up_target_initial`` (each defaulting to its normal value) replace the two
    percentages. ``target_initial`` may be negative: a target stated net of a fixed reserve
    (AmeriCredit's 14.75% of the current pool less the reserve's 2.00% of the initial pool);
    the floor (at least 0) still applies.
    """

    target_current: Fraction = 0.0
    target_initial: SignedFraction = 0.0
    floor: Fraction = 0.0
    turbo: bool = False
    step_up_target_current: Fraction | None = None
    step_up_target_initial: Fraction | None = None


class YieldSupplement(_Strict):
    """Yield-supplement overcollateralisation: the adjusted pool the notes are paid against.

    ``required_rate`` (annual decimal): receivables with an APR below it carry a YSOC amount,
    the excess of their balance over their remaining scheduled payments discounted at it
    (:mod:`simulation.yield_supplement`). The OC target, its floor, the principal
    distribution and priority principal amounts, the reserve and the OC trigger are computed
    on the adjusted pool balance (pool balance - YSOC amount).
    """

    required_rate: Annotated[float, Field(gt=0.0, le=0.5)]


class Trigger(_Strict):
    """A performance trigger, tested each period on the collection period's data.

    ``metric``: ``cnl`` (cumulative net loss / initial pool, breached above the threshold),
    ``delinquency_60`` ((60-89 + 90+ days delinquent) / pool balance, averaged over ``window``
    months, breached above), ``oc`` (pool balance minus notes, over the pool balance, after the
    previous payment date; breached below). Threshold: ``threshold``, or ``schedule`` as
    ``[[from_period, threshold], ...]`` with 1-based periods, the first from period 1.
    """

    name: Name
    metric: Literal["cnl", "delinquency_60", "oc"]
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    schedule: list[tuple[Period, Fraction]] | None = None
    window: Annotated[int, Field(ge=1, le=24)] = 1
    effect: Literal["sequential", "turbo", "reserve_step_up", "oc_step_up"]
    curable: bool = False


class Swap(_Strict):
    """Pay-fixed (30/360), receive-index (act/360) swap; notional = the floating class balance."""

    note: Name
    fixed_rate: AnnualRate


class EventsOfDefault(_Strict):
    """Grace periods of the payment events of default, in payment dates.

    An event of default occurs when the controlling class's interest shortfall is still unpaid
    ``interest_grace_periods`` payment dates after it arose, or a class still has a balance
    ``principal_grace_periods`` payment dates after its legal final date (0: at once).
    """

    interest_grace_periods: Annotated[int, Field(ge=0, le=12)] = 0
    principal_grace_periods: Annotated[int, Field(ge=0, le=12)] = 0


class PoolSpec(_Strict):
    """The deal's pool: a loan tape file (relative to the deal file) or a synthetic pool."""

    tape: Path | None = None
    synthetic: Literal["prime", "subprime"] | None = None
    loans: Annotated[int, Field(ge=1, le=MAX_SYNTHETIC_LOANS)] = 20_000
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 42


class Deal(_Strict):
    """A validated deal: capital structure, credit enhancement, triggers and order of payments.

    ``waterfall`` items: ``{fee: NAME}``, ``swap``, ``{interest: [CLASS, ...]}`` (pro rata
    among the listed classes), ``{priority_principal: CLASS}``, ``reserve_deposit``,
    ``regular_principal``, ``residual`` (last; added when missing).

    ``accelerated_waterfall`` (optional) is the order of payments after an event of default:
    ``{fee: NAME}``, ``swap``, ``{interest: [CLASS, ...]}``, ``{principal: [CLASS, ...]}`` (all
    available funds to the listed classes, pro rata), ``residual``; without it, the fees and
    swap, then each interest step followed by sequential principal through its classes.

    ``legal_final_in_priority_principal``: from a class's legal final date on, the
    ``priority_principal`` steps covering it owe at least the notes through that class (the
    First Allocation of Principal proviso), so it is retired ahead of junior interest.

    ``servicer_advances``: the servicer advances the scheduled interest not collected on
    delinquent loans (the flows' ``delinquent_interest``) into available funds and is
    reimbursed its outstanding advances first, ahead of fees and notes.
    """

    name: Name
    closing_date: dt.date
    first_payment_date: dt.date
    # dates and conventions (simulation.dates, docs/metrics.md)
    cutoff_date: dt.date | None = None
    business_day_calendar: BusinessDayCalendar = "us_fed"
    initial_pool_balance: PositiveMoney | None = None
    pool: PoolSpec | None = None
    assumptions: Path | None = None
    index_rate: AnnualRate = 0.0
    notes: Annotated[list[Note], Field(min_length=1, max_length=64)]
    pro_rata_groups: list[ProRataGroup] = []
    fees: list[Fee] = []
    reserve: Reserve | None = None
    overcollateralization: Overcollateralization = Overcollateralization()
    yield_supplement: YieldSupplement | None = None
    triggers: list[Trigger] = []
    swaps: list[Swap] = []
    clean_up_call: Fraction | None = None
    waterfall: Annotated[list[str | dict[str, str | list[str]]], Field(min_length=1)]
    events_of_default: EventsOfDefault = EventsOfDefault()
    legal_final_in_priority_principal: bool = False
    servicer_advances: bool = False
    accelerated_waterfall: list[str | dict[str, str | list[str]]] | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        """Note class names in order of seniority."""
        return tuple(n.name for n in self.notes)

    @property
    def class_groups(self) -> tuple[str, ...]:
        """Class group of each note: the letters before the number (A-1, A-2a, A-3 -> A).

        Deals publish hard credit enhancement per group: all Class A notes share the same
        subordination, OC and reserve.
        """
        return tuple(_class_letter(n.name) for n in self.notes)

    @property
    def pool_cutoff_date(self) -> dt.date:
        """``cutoff_date``, or the end of the month before the first collection period."""
        if self.cutoff_date is not None:
            return self.cutoff_date
        return default_cutoff_date(self.first_payment_date)


_CLASS_LETTER = re.compile(r"[A-Za-z]+")


def _class_letter(name: str) -> str:
    match = _CLASS_LETTER.match(name)
    return match.group(0) if match else name


def load_deal(path: str | Path) -> Deal:
    """Read and validate a deal YAML file; resolve ``pool.tape`` and ``assumptions``.

    Paths in the file are relative to the deal file; the returned deal holds absolute paths.

    Raises
    ------
    InputError
        Naming the file and every invalid field (dotted path) with the problem.
    """
    path = Path(path)
    deal = deal_from_dict(read_yaml_file(path), source=str(path))
    base = path.resolve().parent
    update: dict[str, Any] = {}
    if deal.assumptions is not None:
        update["assumptions"] = (base / deal.assumptions).resolve()
    if deal.pool is not None and deal.pool.tape is not None:
        update["pool"] = deal.pool.model_copy(update={"tape": (base / deal.pool.tape).resolve()})
    return deal.model_copy(update=update) if update else deal


def deal_from_dict(raw: object, source: str = "<deal>") -> Deal:
    """Validate a parsed deal mapping; errors name ``source`` and each dotted field."""
    if not isinstance(raw, dict):
        raise InputError(source, "expected a mapping with name, notes, waterfall, ...")
    try:
        deal = Deal.model_validate(raw)
    except ValidationError as exc:
        raise InputError(source, pydantic_problems(exc)) from None
    problems = deal_problems(deal)
    if problems:
        raise InputError(source, problems)
    return deal


def note_balances(deal: Deal, initial_pool_balance: float) -> list[float]:
    """Original balance of each class in USD (fractions times the initial pool balance)."""
    return [n.balance_usd if n.balance_usd is not None else float(n.balance or 0.0)
            * initial_pool_balance for n in deal.notes]


def deal_problems(deal: Deal, initial_pool_balance: float | None = None) -> list[Problem]:
    """Cross-field checks of a deal; each problem names its dotted field.

    ``initial_pool_balance`` (USD), when known, also checks USD note balances against the pool.
    """
    problems: list[Problem] = []
    problems += _date_problems(deal)
    problems += _note_problems(deal)
    problems += _balance_problems(deal, initial_pool_balance)
    problems += _group_problems(deal)
    problems += _waterfall_problems(deal)
    problems += _accelerated_waterfall_problems(deal)
    problems += _enhancement_problems(deal)
    if deal.pool is not None and (deal.pool.tape is None) == (deal.pool.synthetic is None):
        problems.append(Problem(None, "pool", "give exactly one of tape or synthetic"))
    return problems


def _date_problems(deal: Deal) -> list[Problem]:
    out: list[Problem] = []
    if deal.first_payment_date <= deal.closing_date:
        out.append(Problem(None, "first_payment_date",
                           f"must be after closing_date {deal.closing_date}, "
                           f"got {deal.first_payment_date}"))
    cutoff = deal.cutoff_date
    if cutoff is not None:
        if cutoff >= deal.closing_date:
            out.append(Problem(None, "cutoff_date",
                               f"must be before closing_date {deal.closing_date}, got {cutoff}"))
        first_period_end = deal.first_payment_date.replace(day=1) - dt.timedelta(days=1)
        if cutoff >= first_period_end:
            out.append(Problem(None, "cutoff_date",
                               f"{cutoff} leaves no first collection period: it must be before "
                               f"{first_period_end}, the last day of the month before the first "
                               f"payment date {deal.first_payment_date}"))
    return out


def _note_problems(deal: Deal) -> list[Problem]:
    out: list[Problem] = []
    seen: dict[str, int] = {}
    for k, n in enumerate(deal.notes):
        at = f"notes.{k}"
        if n.name in seen:
            out.append(Problem(None, f"{at}.name",
                               f"duplicate class name {n.name!r} (also notes.{seen[n.name]})"))
        seen.setdefault(n.name, k)
        if (n.balance is None) == (n.balance_usd is None):
            out.append(Problem(None, f"{at}.balance",
                               "give exactly one of balance (fraction of the initial pool) "
                               "or balance_usd"))
        if n.type == "floating":
            for field in ("index", "spread"):
                if getattr(n, field) is None:
                    out.append(Problem(None, f"{at}.{field}",
                                       f"floating class {n.name!r} needs {field}"))
            if n.coupon is not None:
                out.append(Problem(None, f"{at}.coupon",
                                   "a floating class takes index + spread, not a coupon"))
        else:
            if n.coupon is None:
                out.append(Problem(None, f"{at}.coupon", f"{n.type} class {n.name!r} needs coupon"))
            for field in ("index", "spread", "floor", "cap"):
                if getattr(n, field) is not None:
                    out.append(Problem(None, f"{at}.{field}",
                                       f"only floating classes take {field}; {n.name!r} is "
                                       f"{n.type}"))
        if n.floor is not None and n.cap is not None and n.floor > n.cap:
            out.append(Problem(None, f"{at}.cap", f"cap {n.cap} is below floor {n.floor}"))
        if n.legal_final is not None and n.legal_final < deal.first_payment_date:
            out.append(Problem(None, f"{at}.legal_final",
                               f"{n.legal_final} is before first_payment_date "
                               f"{deal.first_payment_date}"))
    return out


def _balance_problems(deal: Deal, initial_pool_balance: float | None) -> list[Problem]:
    pool = initial_pool_balance or deal.initial_pool_balance
    if pool is None:
        # Only the fractional balances can be checked before the pool is known.
        total = sum(n.balance or 0.0 for n in deal.notes)
        if total > 1.0 + 1e-12:
            return [Problem(None, "notes",
                            f"note balances add up to {total:.6g} of the initial pool; they "
                            "must not exceed the pool (1.0)")]
        return []
    total_usd = sum(note_balances(deal, pool))
    if total_usd > pool * (1.0 + 1e-12):
        return [Problem(None, "notes",
                        f"note balances add up to {total_usd:,.2f} USD, above the initial pool "
                        f"balance {pool:,.2f} USD")]
    return []


def _group_problems(deal: Deal) -> list[Problem]:
    out: list[Problem] = []
    index = {n.name: k for k, n in enumerate(deal.notes)}
    used: dict[str, int] = {}
    for g, group in enumerate(deal.pro_rata_groups):
        at = f"pro_rata_groups.{g}.classes"
        unknown = [c for c in group.classes if c not in index]
        if unknown:
            out.append(Problem(None, at, f"unknown class {unknown[0]!r}; the deal has "
                                         f"{list(index)}"))
            continue
        if len(group.classes) < 2:
            out.append(Problem(None, at, "a pro-rata group needs at least two classes"))
            continue
        pos = [index[c] for c in group.classes]
        if sorted(pos) != list(range(min(pos), min(pos) + len(pos))):
            out.append(Problem(None, at,
                               f"classes {group.classes} are not adjacent in the order of "
                               "seniority; a pro-rata group must be consecutive classes"))
        for c in group.classes:
            if c in used:
                out.append(Problem(None, at, f"class {c!r} is already in pro_rata_groups."
                                             f"{used[c]}"))
            used.setdefault(c, g)
    return out


def _step_kind(step: str | dict[str, str | list[str]]) -> tuple[str, str | list[str] | None]:
    if isinstance(step, str):
        return step, None
    if len(step) != 1:
        return "<invalid>", None
    ((kind, arg),) = step.items()
    return kind, arg


def _waterfall_problems(deal: Deal) -> list[Problem]:
    out: list[Problem] = []
    index = {n.name: k for k, n in enumerate(deal.notes)}
    fees = {f.name for f in deal.fees}
    interest_paid: dict[str, int] = {}
    last_interest = -1
    has_principal = False
    steps = deal.waterfall
    for s, step in enumerate(steps):
        at = f"waterfall.{s}"
        kind, arg = _step_kind(step)
        if kind in BARE_STEPS and arg is None:
            if kind == "residual" and s != len(steps) - 1:
                out.append(Problem(None, at, "residual must be the last step"))
            if kind == "swap" and not deal.swaps:
                out.append(Problem(None, at, "swap step but the deal has no swaps"))
            if kind == "reserve_deposit" and deal.reserve is None:
                out.append(Problem(None, at, "reserve_deposit step but the deal has no reserve"))
            has_principal |= kind == "regular_principal"
        elif kind == "fee" and isinstance(arg, str):
            if arg not in fees:
                out.append(Problem(None, f"{at}.fee",
                                   f"unknown fee {arg!r}; the deal's fees are {sorted(fees)}"))
        elif kind == "interest":
            classes = [arg] if isinstance(arg, str) else list(arg or [])
            unknown = [c for c in classes if c not in index]
            if not classes or unknown:
                out.append(Problem(None, f"{at}.interest",
                                   f"unknown class {unknown[0] if unknown else None!r}; the deal "
                                   f"has {list(index)}"))
                continue
            pos = sorted(index[c] for c in classes)
            if pos != list(range(pos[0], pos[0] + len(pos))) or pos[0] <= last_interest:
                out.append(Problem(None, f"{at}.interest",
                                   f"{classes}: interest steps must name adjacent classes in "
                                   "order of seniority, each class once"))
            last_interest = max(last_interest, pos[-1])
            for c in classes:
                if c in interest_paid:
                    out.append(Problem(None, f"{at}.interest",
                                       f"class {c!r} already gets interest in waterfall."
                                       f"{interest_paid[c]}"))
                interest_paid.setdefault(c, s)
        elif kind == "priority_principal" and isinstance(arg, str):
            if arg not in index:
                out.append(Problem(None, f"{at}.priority_principal",
                                   f"unknown class {arg!r}; the deal has {list(index)}"))
            has_principal = True
        else:
            out.append(Problem(None, at,
                               f"unknown step {step!r}; expected one of {list(BARE_STEPS)} or "
                               "a mapping fee/interest/priority_principal"))
    missing = [c for c in index if c not in interest_paid]
    if missing:
        out.append(Problem(None, "waterfall", f"no interest step pays class(es) {missing}"))
    if not has_principal:
        out.append(Problem(None, "waterfall",
                           "no principal step (regular_principal or priority_principal)"))
    if deal.swaps and not any(_step_kind(s)[0] == "swap" for s in steps):
        out.append(Problem(None, "waterfall", "the deal has swaps but no swap step"))
    return out


def _enhancement_problems(deal: Deal) -> list[Problem]:
    out: list[Problem] = []
    notes = {n.name: n for n in deal.notes}
    seen: set[str] = set()
    for k, fee in enumerate(deal.fees):
        if (fee.rate is None) == (fee.usd_per_month is None):
            out.append(Problem(None, f"fees.{k}", "give exactly one of rate or usd_per_month"))
        if fee.name in seen:
            out.append(Problem(None, f"fees.{k}.name", f"duplicate fee name {fee.name!r}"))
        seen.add(fee.name)
    r = deal.reserve
    for k, trig in enumerate(deal.triggers):
        at = f"triggers.{k}"
        if (trig.threshold is None) == (trig.schedule is None):
            out.append(Problem(None, f"{at}.threshold", "give exactly one of threshold or "
                                                         "schedule"))
        if trig.schedule is not None:
            periods = [p for p, _ in trig.schedule]
            if not periods or periods[0] != 1 or any(b <= a for a, b in zip(periods, periods[1:],
                                                                            strict=False)):
                out.append(Problem(None, f"{at}.schedule",
                                   "periods must start at 1 and increase strictly"))
        if trig.window > 1 and trig.metric != "delinquency_60":
            out.append(Problem(None, f"{at}.window", "a rolling window applies to "
                                                      "delinquency_60 only"))
        if trig.effect == "reserve_step_up" and (r is None or r.step_up_target is None):
            out.append(Problem(None, f"{at}.effect",
                               "reserve_step_up needs reserve.step_up_target"))
        oc = deal.overcollateralization
        if trig.effect == "oc_step_up" and (oc.step_up_target_current is None
                                            and oc.step_up_target_initial is None):
            out.append(Problem(None, f"{at}.effect",
                               "oc_step_up needs overcollateralization.step_up_target_current "
                               "or step_up_target_initial"))
    for k, swap in enumerate(deal.swaps):
        note = notes.get(swap.note)
        if note is None:
            out.append(Problem(None, f"swaps.{k}.note",
                               f"unknown class {swap.note!r}; the deal has {list(notes)}"))
        elif note.type != "floating":
            out.append(Problem(None, f"swaps.{k}.note",
                               f"class {swap.note!r} is {note.type}; swaps hedge floating "
                               "classes"))
    return out


def _accelerated_waterfall_problems(deal: Deal) -> list[Problem]:
    """Checks of ``accelerated_waterfall``.

    Known fees and classes; interest and principal steps of adjacent classes in order of
    seniority, each class once in each kind.
    """
    if deal.accelerated_waterfall is None:
        return []
    out: list[Problem] = []
    index = {n.name: k for k, n in enumerate(deal.notes)}
    fees = {f.name for f in deal.fees}
    steps = deal.accelerated_waterfall
    last_pos = {"interest": -1, "principal": -1}
    for s, step in enumerate(steps):
        at = f"accelerated_waterfall.{s}"
        kind, arg = _step_kind(step)
        if kind in ACCELERATED_BARE_STEPS and arg is None:
            if kind == "residual" and s != len(steps) - 1:
                out.append(Problem(None, at, "residual must be the last step"))
            if kind == "swap" and not deal.swaps:
                out.append(Problem(None, at, "swap step but the deal has no swaps"))
        elif kind == "fee" and isinstance(arg, str):
            if arg not in fees:
                out.append(Problem(None, f"{at}.fee",
                                   f"unknown fee {arg!r}; the deal's fees are {sorted(fees)}"))
        elif kind in last_pos and arg is not None:
            classes = [arg] if isinstance(arg, str) else list(arg)
            unknown = [c for c in classes if c not in index]
            if not classes or unknown:
                out.append(Problem(None, f"{at}.{kind}",
                                   f"unknown class {unknown[0] if unknown else None!r}; the deal "
                                   f"has {list(index)}"))
                continue
            pos = sorted(index[c] for c in classes)
            if pos != list(range(pos[0], pos[0] + len(pos))) or pos[0] != last_pos[kind] + 1:
                out.append(Problem(None, f"{at}.{kind}",
                                   f"{classes}: {kind} steps must name adjacent classes in "
                                   "order of seniority, each class once and none skipped"))
            last_pos[kind] = max(last_pos[kind], pos[-1])
        else:
            out.append(Problem(None, at,
                               f"unknown step {step!r}; expected {list(ACCELERATED_BARE_STEPS)} "
                               "or a mapping fee/interest/principal"))
    for kind, last in last_pos.items():
        if last != len(index) - 1:
            out.append(Problem(None, "accelerated_waterfall",
                               f"the {kind} steps must pay every class; the last one paid is "
                               f"{list(index)[last] if last >= 0 else None!r}"))
    return out
