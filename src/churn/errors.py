"""The one exception type users see: the CLI prints its message, without a traceback."""

from __future__ import annotations

import errno
import re
from pathlib import Path


class ChurnError(Exception):
    """A problem with the user's input or settings, described in plain words."""


class InputError(ChurnError):
    """Bad input data; the message names the file, the row and the column."""

    def __init__(self, path: str, message: str, row: int | None = None, column: str | None = None):
        where = str(path)
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}")
        self.path, self.row, self.column = path, row, column


# Where an output could not be written (or an input read) because of the machine, not the data.
_STORAGE_PROBLEMS = {
    errno.ENOSPC: "no space left on the device; free some space and rerun",
    errno.EDQUOT: "the disk quota is exceeded; free some space and rerun",
    errno.EROFS: "the file system is read-only; run where the project can be written",
    errno.EACCES: "permission denied; check the owner and permissions of the path",
    errno.EPERM: "permission denied; check the owner and permissions of the path",
}
# A temporary sibling of io.atomic_path / io.atomic_dir: ".<name>.<pid>.<random>.tmp".
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.\d+\.[^.]+\.tmp$")


def storage_error(exc: OSError, root: Path | None = None) -> ChurnError | None:
    """A disk-full, read-only or permission error as a ChurnError naming the path (the
    output as the pipeline names it, not its temporary sibling); None for other OSErrors.

    Writers such as pyarrow raise without a file name; then the path is the one churn.io
    was reading or writing (the innermost `path` of a churn.io frame in the traceback)."""
    problem = _STORAGE_PROBLEMS.get(exc.errno)
    if problem is None:
        return None
    path, verb = None, "cannot write"
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__name__") == "churn.io" and isinstance(frame.f_locals.get("path"), str | Path):
            path = frame.f_locals["path"]
            verb = "cannot read" if frame.f_code.co_name.startswith("read") else "cannot write"
        tb = tb.tb_next
    if path is None and exc.filename:
        path = exc.filename
    shown = _display(Path(path), root) if path is not None else "an output file"
    return ChurnError(f"{shown}: {verb}: {problem} (previous outputs are left as they were)")


def _display(path: Path, root: Path | None) -> str:
    """The path without temporary names, relative to the project root when inside it."""
    parts = [m.group("name") if (m := _TEMPORARY.match(part)) else part for part in path.parts]
    clean = Path(*parts) if parts else path
    base = (root or Path.cwd()).resolve()
    try:
        return str(clean.resolve().relative_to(base))
    except ValueError:
        return str(clean)
