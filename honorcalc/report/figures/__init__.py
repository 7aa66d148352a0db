"""The report's figures: pure functions from frames to matplotlib figures, drawn under one style.

==============  ===================================================================
module          holds
==============  ===================================================================
round_figures   the round report's figures (`plot_score_distribution`, …)
annual_figures  the annual report's figure (`plot_points_over_year`)
style           the bundled font, the rcParams (`style`), sizes, colours, layout helpers
export          `png_bytes` and `to_html_img`
==============  ===================================================================

Importing this package changes no rcParams and registers no font: every figure is
built and saved under ``matplotlib.rc_context(style.style())`` (`honorcalc.report.figures.style`).
"""

from .annual_figures import plot_points_over_year
from .export import png_bytes, to_html_img
from .round_figures import (
    plot_category_heatmap,
    plot_funnel,
    plot_list_history,
    plot_rater_severity,
    plot_score_distribution,
    plot_score_intervals,
    plot_visit_gap,
    score_intervals,
)
from .style import DPI, FONT_NAME, FONT_PATH

__all__ = [
    "score_intervals",
    "plot_score_distribution",
    "plot_score_intervals",
    "plot_category_heatmap",
    "plot_list_history",
    "plot_rater_severity",
    "plot_visit_gap",
    "plot_funnel",
    "plot_points_over_year",
    "png_bytes",
    "to_html_img",
    "FONT_PATH",
    "FONT_NAME",
    "DPI",
]
