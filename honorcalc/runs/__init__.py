"""Runs: the tables of a run, its folder and manifest, verify, diff, publish to the ledger, batches.
"""


