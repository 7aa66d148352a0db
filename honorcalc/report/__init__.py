"""The leadership report: wording, HTML fragments, figures, and executing the notebooks.
"""


