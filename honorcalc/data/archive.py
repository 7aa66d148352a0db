"""The run folder's copy of its inputs (``inputs.zip``): written with fixed member times, read back for `verify`.

An archive to read back may come from anywhere (a run folder sent by e-mail), so
`extract_inputs` trusts nothing in it: each member must be a table file of the
dataset contract, given once, a regular file, no larger than the size limit of
one table file (``HONORCALC_MAX_FILE_MB``) and compressed no more than a table
ever is; and the bytes are counted as they are written, whatever the header
declares.
"""

from __future__ import annotations

import stat
from pathlib import Path

from ..errors import InputError
from .contract import table_of_name
from .read import MAX_FILE_MB_VARIABLE, SUFFIXES, max_file_bytes

__all__ = ['MAX_COMPRESSION_RATIO', 'archive_inputs', 'extract_inputs']


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same inputs give the same archive bytes

#: The most a member may be compressed (its size over its compressed size). Deflate reaches
#: about 1000 to 1 on data made to compress (a "zip bomb"); CSV tables of scores compress
#: about 5 to 15 to 1, a column of one repeated value somewhat more; Parquet and XLSX are
#: compressed already. Apache POI refuses the same ratio in the workbooks it opens.
MAX_COMPRESSION_RATIO = 100

#: Members smaller than this are not held to the ratio: a few KB cannot exhaust anything.
_RATIO_FLOOR = 1 << 20

_CHUNK = 1 << 20


def archive_inputs(files: dict[str, str | Path], archive: str | Path) -> Path:
    """Store the exact input files (by their own names) in a deterministic zip archive."""
    import zipfile

    archive = Path(archive)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted({Path(f) for f in files.values()}):  # a workbook holds several tables: stored once
            info = zipfile.ZipInfo(path.name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    return archive


def extract_inputs(archive: str | Path, directory: str | Path) -> Path:
    """Unpack an inputs archive into ``directory``, checking every member before and while it is read.

    Raises
    ------
    InputError
        The archive is not a readable ZIP archive; a member is not a table file
        of the contract (``scores.csv``, ``units.xlsx`` …: no folder, no ``..``,
        no absolute path, no hidden file, no link), gives a table a second time,
        would overwrite a file already in ``directory``, is encrypted,
        declares or inflates to more than the size limit of one table file, is
        compressed more than `MAX_COMPRESSION_RATIO` to 1, or is damaged (its
        bytes do not match its checksum). Nothing of a refused member is left in
        ``directory``.
    """
    import zipfile

    directory = Path(directory)
    limit = max_file_bytes()
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            _check_members(members, limit, archive)
            directory.mkdir(parents=True, exist_ok=True)
            for member in members:
                _extract(zf, member, directory / member.filename, limit, archive)
    except zipfile.BadZipFile as exc:
        raise InputError(f"is not a readable ZIP archive ({exc})", file=archive) from None
    return directory


def _check_members(members, limit: int, archive) -> None:
    """Refuse, before anything is read, a member that is not what an inputs archive holds."""
    seen = set()
    for member in members:
        name = member.filename
        path = Path(name)
        plain = path.name == name and "\\" not in name and not name.startswith(".") and name.isprintable()
        table = table_of_name(path.stem)
        workbook = table is None and path.suffix.lower() == ".xlsx"  # a dataset given as one workbook
        table_file = plain and (workbook or (table is not None and path.suffix.lower() in SUFFIXES))
        if not table_file or member.is_dir():
            raise InputError(f"unexpected member {name!r} in the inputs archive: expected table files "
                             "such as scores.csv, or one workbook", file=archive)
        if workbook and len(members) > 1:
            raise InputError(f"the inputs archive holds the workbook {name!r} and other files: a dataset "
                             "given as a workbook is archived alone", file=archive)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise InputError(f"member {name!r} of the inputs archive is a link, not a file", file=archive)
        table = table or "workbook"
        if table in seen:
            raise InputError(f"table '{table}' is given twice in the inputs archive ({name!r})", file=archive)
        seen.add(table)
        if member.flag_bits & 0x1:
            raise InputError(f"member {name!r} of the inputs archive is encrypted", file=archive)
        _check_declared(name, member.file_size, member.compress_size, limit, archive)


def _check_declared(name: str, size: int, compressed: int, limit: int, archive) -> None:
    if size > limit:
        raise InputError(
            f"member {name!r} of the inputs archive unpacks to {size / (1 << 20):.1f} MB, above the limit "
            f"of {limit / (1 << 20):.4g} MB for one table file (environment variable {MAX_FILE_MB_VARIABLE})",
            file=archive,
        )
    if size > _RATIO_FLOOR and size > MAX_COMPRESSION_RATIO * max(compressed, 1):
        raise InputError(
            f"member {name!r} of the inputs archive is compressed {size / max(compressed, 1):,.0f} to 1 "
            f"({size / (1 << 20):.1f} MB in {compressed / (1 << 20):.2f} MB); no table compresses more than "
            f"{MAX_COMPRESSION_RATIO} to 1: refused as a zip bomb",
            file=archive,
        )


def _extract(zf, member, target: Path, limit: int, archive) -> None:
    """Stream one member to ``target`` (a new file), counting its bytes against its header and the limit."""
    import zipfile

    allowed = min(member.file_size, limit)
    written = 0
    try:
        with zf.open(member) as source, open(target, "xb") as sink:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > allowed:
                    raise InputError(
                        f"member {member.filename!r} of the inputs archive inflates beyond the "
                        f"{allowed:,} bytes its header declares: the archive is damaged or forged",
                        file=archive,
                    )
                sink.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
        if isinstance(exc, FileExistsError):
            raise InputError(f"cannot unpack member {member.filename!r} of the inputs archive: {target} "
                             "exists already", file=archive) from None
        target.unlink(missing_ok=True)
        reason = str(exc) or type(exc).__name__
        raise InputError(f"member {member.filename!r} of the inputs archive cannot be read ({reason})",
                         file=archive) from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
