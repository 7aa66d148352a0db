"""Explaining one unit's result: its steps in words, and what would have changed its list.
"""


from .counterfactual import counterfactual, counterfactual_lines
from .unit import LANGS, explain_unit, explain_unit_dict

__all__ = [
    "LANGS",
    "explain_unit_dict",
    "explain_unit",
    "counterfactual",
    "counterfactual_lines",
]
