"""Synthetic datasets: the demo city and the province used by the benchmarks.
"""


