"""honorcalc: compute and audit the red and black lists (红黑榜) of civilized-city campaigns."""

__version__ = "0.1.0"
