"""Loans and pools: the canonical tape, loaders, Reg AB II import, schedules, strats."""

from portfolio.amortization import schedule
from portfolio.errors import InputError, Problem
from portfolio.loaders import TapeLoad, load_tape, validate_frame
from portfolio.regab import RegabImport, import_regab
from portfolio.strats import Concentration, concentration, gini, hhi, strat_table
from portfolio.synthetic import synthetic_pool
from portfolio.tape import COLUMNS, PAYMENT_TYPES, LoanTape, tape_from_columns

__all__ = [
    "COLUMNS",
    "PAYMENT_TYPES",
    "Concentration",
    "InputError",
    "LoanTape",
    "Problem",
    "RegabImport",
    "TapeLoad",
    "concentration",
    "gini",
    "hhi",
    "import_regab",
    "load_tape",
    "schedule",
    "strat_table",
    "synthetic_pool",
    "tape_from_columns",
    "validate_frame",
]
