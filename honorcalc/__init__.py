"""honorcalc: compute and audit the red and black lists (红黑榜) of civilized-city campaigns.

The public API, one import away::

    import honorcalc as hc

    params = hc.load_params("params/demo.yaml")
    dataset = hc.load_dataset(params.dataset)
    result = hc.evaluate_round(dataset, params)
    result.ranking_table()
    hc.icc(ratings)                      # Shrout & Fleiss ICC, with confidence intervals
    hc.run_report("params/demo.yaml")    # the run folder: report.html, tables, manifest

Names are loaded on first use (PEP 562), so ``import honorcalc`` stays cheap for
the command line; each lives in the layer given in `API` (README, "Layout").
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Every public name of the package and the module that defines it.
API: dict[str, str] = {
    # errors and parameters
    "HonorcalcError": "errors", "InputError": "errors", "ParamError": "errors", "ValidationError": "errors",
    "Params": "params", "load_params": "params", "params_from_mapping": "params",
    # data
    "Dataset": "data.contract", "CONTRACT": "data.contract", "TABLES": "data.contract",
    "load_dataset": "data.read", "read_raw_tables": "data.read", "validate_tables": "data.validate",
    "write_dataset": "data.write",
    # rules
    "evaluate_round": "rules.evaluate", "evaluate_rounds": "rules.evaluate", "RoundResult": "rules.evaluate",
    "evaluate_year": "rules.annual", "YearResult": "rules.annual",
    "competition_ranks": "rules.ranking", "cut_list": "rules.ranking", "round_half_up": "rules.ranking",
    "apply_lists": "rules.lists", "apply_vetoes": "rules.vetoes",
    # statistics and fairness
    "icc": "stats.agreement", "krippendorff_alpha": "stats.agreement", "kendall_w": "stats.agreement",
    "fairness_tables": "fairness.tables", "variance_components": "fairness.variance",
    "rater_severity": "fairness.raters", "flag_laggards": "fairness.laggards",
    "list_stability": "fairness.stability", "rank_confidence_sets": "fairness.ranks",
    # explanations
    "explain_unit": "explain.unit", "explain_unit_dict": "explain.unit", "counterfactual": "explain.counterfactual",
    "explain_year": "explain.year",
    # runs
    "run_tables": "runs.pipeline", "run_report": "runs.folder", "verify_run": "runs.verify",
    "diff_runs": "runs.diff", "publish_run": "runs.publish", "run_batch": "runs.batch",
    # synthetic data
    "make_demo_city": "datasets.demo", "write_demo": "datasets.demo",
}

__all__ = ["__version__", *API]


def __getattr__(name: str):
    if name not in API:
        raise AttributeError(f"module 'honorcalc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{API[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *API})
