"""Explaining one unit's result: its steps in words, and what would have changed its list.
"""

from . import counterfactual as _counterfactual
from . import unit as _unit
from . import year as _year
from .counterfactual import *  # noqa: F403
from .unit import *  # noqa: F403
from .year import *  # noqa: F403

__all__ = [*_unit.__all__, *_counterfactual.__all__, *_year.__all__]
