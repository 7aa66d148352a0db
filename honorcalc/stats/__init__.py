"""Agreement statistics: ICC (Shrout & Fleiss / McGraw & Wong), Krippendorff's alpha, Kendall's W.
"""

from . import agreement as _agreement
from .agreement import *  # noqa: F403

__all__ = [*_agreement.__all__]
