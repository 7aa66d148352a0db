"""Agreement statistics: ICC (Shrout & Fleiss / McGraw & Wong), Krippendorff's alpha, Kendall's W.
"""


from .agreement import (
    ICC_TYPES,
    ConfidenceInterval,
    IccResult,
    KendallWResult,
    KrippendorffAlphaResult,
    icc,
    kendall_w,
    krippendorff_alpha,
)

__all__ = [
    "ICC_TYPES",
    "ConfidenceInterval",
    "IccResult",
    "KendallWResult",
    "KrippendorffAlphaResult",
    "icc",
    "kendall_w",
    "krippendorff_alpha",
]
