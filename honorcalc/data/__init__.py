"""The data layer: the dataset contract, reading, validating and writing tables.
"""


from .archive import archive_inputs, extract_inputs
from .contract import (
    CONTRACT,
    KEYS,
    REQUIRED_COLUMNS,
    REQUIRED_TABLES,
    TABLES,
    Col,
    Dataset,
    dataset_frames,
    require_round,
)
from .read import (
    DEFAULT_MAX_FILE_MB,
    MAX_FILE_MB_VARIABLE,
    SUFFIXES,
    find_table_files,
    load_dataset,
    max_file_bytes,
    read_raw_tables,
    read_table,
)
from .validate import empty_table, validate_tables
from .write import (
    FLOAT_FORMAT,
    append_line,
    file_sha256,
    table_bytes,
    write_csv,
    write_dataset,
    write_tables,
)

__all__ = [
    "TABLES",
    "REQUIRED_TABLES",
    "Col",
    "CONTRACT",
    "REQUIRED_COLUMNS",
    "KEYS",
    "Dataset",
    "dataset_frames",
    "require_round",
    "SUFFIXES",
    "MAX_FILE_MB_VARIABLE",
    "DEFAULT_MAX_FILE_MB",
    "max_file_bytes",
    "find_table_files",
    "read_table",
    "read_raw_tables",
    "load_dataset",
    "empty_table",
    "validate_tables",
    "write_csv",
    "FLOAT_FORMAT",
    "table_bytes",
    "write_tables",
    "write_dataset",
    "append_line",
    "file_sha256",
    "archive_inputs",
    "extract_inputs",
]
