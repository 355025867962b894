"""Report charts: axes fitted to the data, the EL chart on a log scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.charts import EL_CHART_FLOOR, cnl_histogram, histogram_upper_edge, scenario_chart


def test_histogram_axis_ends_past_the_mass_not_at_an_outlier_path() -> None:
    cnl = np.concatenate([np.linspace(0.0, 0.08, 9_999), [0.40]])  # one path at 40%
    share = np.full(cnl.size, 1.0 / cnl.size)
    edge = histogram_upper_edge(cnl, share, markers=[0.07])
    assert 0.08 <= edge <= 0.08 * 1.06  # weighted 99.9% quantile (~0.0799) + 5%
    assert histogram_upper_edge(cnl, share, markers=[0.2]) == 0.2 * 1.05  # markers stay shown
    # a tiny-weight outlier (importance sampling) does not stretch the axis either
    weighted = share.copy()
    weighted[-1] = 1e-9
    assert histogram_upper_edge(cnl, weighted / weighted.sum(), markers=[]) < 0.09
    ax = cnl_histogram(cnl, share, {0.99: (0.079, 0.0795)}).axes[0]
    assert ax.get_xlim()[1] == histogram_upper_edge(cnl, share, [0.0795])
    assert any("beyond" in t.get_text() for t in ax.texts)  # the mass left out is stated


def test_el_chart_is_log_scale_and_shows_classes_with_zero_el() -> None:
    el = pd.DataFrame({"A": [0.0, 3e-8], "D": [0.004, 0.06]}, index=["baseline", "severe"])
    ax = scenario_chart(el).axes[0]
    assert ax.get_yscale() == "log"
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights[0] == EL_CHART_FLOOR and heights[-1] == 0.06  # zero EL drawn at the floor
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all("e" not in label for label in labels)
