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

from . import annual_figures as _annual_figures
from . import export as _export
from . import round_figures as _round_figures
from .annual_figures import *  # noqa: F403
from .export import *  # noqa: F403
from .round_figures import *  # noqa: F403
from .style import DPI, FONT_NAME, FONT_PATH

__all__ = [*_round_figures.__all__, *_annual_figures.__all__, *_export.__all__, "FONT_PATH", "FONT_NAME", "DPI"]
