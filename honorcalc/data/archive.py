"""The run folder's copy of its inputs (``inputs.zip``): written with fixed member times, read back for `verify`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ['archive_inputs', 'extract_inputs']


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same inputs give the same archive bytes


def archive_inputs(files: dict[str, str | Path], archive: str | Path) -> Path:
    """Store the exact input files (by their own names) in a deterministic zip archive."""
    import zipfile

    archive = Path(archive)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(Path(f) for f in files.values()):
            info = zipfile.ZipInfo(path.name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    return archive


def extract_inputs(archive: str | Path, directory: str | Path) -> Path:
    """Unpack an inputs archive into ``directory`` (member names are plain file names)."""
    import zipfile

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if Path(name).name != name or name.startswith("."):
                raise InputError(f"unexpected member {name!r} in the inputs archive", file=archive)
            (directory / name).write_bytes(zf.read(name))
    return directory
