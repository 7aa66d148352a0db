"""The data layer: the dataset contract, reading, validating and writing tables.
"""

from . import archive as _archive
from . import contract as _contract
from . import read as _read
from . import validate as _validate
from . import write as _write
from .archive import *  # noqa: F403
from .contract import *  # noqa: F403
from .read import *  # noqa: F403
from .validate import *  # noqa: F403
from .write import *  # noqa: F403

__all__ = [*_contract.__all__, *_read.__all__, *_validate.__all__, *_write.__all__, *_archive.__all__]
