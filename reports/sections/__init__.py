"""The nine sections of the committee report, each built from a read run (``RunRecord``)."""

from reports.sections.cashflows import cashflow_section
from reports.sections.losses import class_section, loss_section
from reports.sections.methodology import methodology_section
from reports.sections.pool import diversification_section, pool_section
from reports.sections.scenarios import scenario_section
from reports.sections.summary import executive_summary
from reports.sections.triggers import trigger_section

__all__ = [
    "cashflow_section",
    "class_section",
    "diversification_section",
    "executive_summary",
    "loss_section",
    "methodology_section",
    "pool_section",
    "scenario_section",
    "trigger_section",
]
