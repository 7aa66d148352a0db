"""The report's figures: pure functions from frames to matplotlib figures, drawn under one style.
"""


