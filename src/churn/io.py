"""Reading tables and writing outputs atomically.

Every output goes to a temporary file in the same directory and is renamed into place,
so an interrupted run leaves the previous good output untouched.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import functools
import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from churn.errors import InputError

_UMASK = os.umask(0)
os.umask(_UMASK)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _remove_leftovers(path: Path) -> None:
    """Temporary siblings left by a run that was killed (no `finally` runs after SIGKILL).

    Temporary names carry the writing process's id (`.<name>.<pid>.<random>.tmp`), so a run
    removes only the leftovers of processes that are gone, never a live run's file."""
    old = path.parent / f".{path.name}.old.tmp"
    if old.exists() and not path.exists():  # killed between the two renames of atomic_dir
        os.replace(old, path)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        owner = stale.name[len(path.name) + 2 :].split(".", 1)[0]
        if stale == old or (owner.isdigit() and _alive(int(owner))):
            continue
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide outputs from colleagues
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield a fresh temporary directory; swap it in for `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    old = path.parent / f".{path.name}.old.tmp"
    try:
        yield tmp
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def staged_files(root: Path, name: str) -> Iterator[Callable[[Path], Path]]:
    """Write a stage's output files under one staging directory and move them into place
    only when the whole block succeeds: a stage that fails after writing (e.g. the MLflow
    store is locked after the model is built) leaves every previous output as it was.

    Yields `stage(target) -> path to write instead`. The staging directory is
    `<root>/.<name>.<pid>.<random>.tmp`, cleared like atomic_path's leftovers."""
    root = Path(root)
    _remove_leftovers(root / name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=root))
    moves: dict[Path, Path] = {}

    def stage(target: Path) -> Path:
        target = Path(target)
        staged = tmp / target.relative_to(root)
        staged.parent.mkdir(parents=True, exist_ok=True)
        moves[staged] = target
        return staged

    try:
        yield stage
        for staged, target in moves.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(staged, 0o666 & ~_UMASK)
            os.replace(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (=, +, -, @, tab, CR first) get a
    leading apostrophe, which spreadsheets show as text; numbers are left as they are."""
    out = df
    for col in df.columns:
        values = df[col]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_START).fillna(False)
        if risky.any():
            out = out.copy() if out is df else out
            out[col] = text.where(~risky, "'" + text)
    return out


def write_table(df: pd.DataFrame, path: Path | str) -> None:
    """Write a frame as CSV or Parquet (by extension), atomically and byte-reproducibly.
    CSV text cells are made spreadsheet-safe (spreadsheet_safe); Parquet keeps raw values."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False, compression="zstd")
        elif path.suffix == ".csv":
            _write_csv(spreadsheet_safe(df), tmp)
        else:
            raise ValueError(f"{path}: unsupported table format (use .csv or .parquet)")


def write_arrow_parquet(table: pa.Table, path: Path | str) -> None:
    """Write an Arrow table as Parquet, atomically, in the bytes write_table writes for its
    frame (arrow_to_pandas): the same types and pandas metadata, without making the frame."""
    import pyarrow.parquet as pq

    with atomic_path(Path(path)) as tmp:
        pq.write_table(table.cast(_pandas_schema(table.schema)), tmp, compression="zstd")


def _pandas_schema(schema: pa.Schema) -> pa.Schema:
    """The Arrow schema pandas writes for a frame of `schema` (arrow_to_pandas's types)."""
    return pa.Table.from_pandas(arrow_to_pandas(schema.empty_table()), preserve_index=False).schema


ROW_GROUP_ROWS = 1 << 20  # write_table's row groups (pyarrow's default), so streamed bytes match


class ParquetStream:
    """Arrow tables of one schema written to one Parquet file as they come, atomically, in
    the bytes write_arrow_parquet writes for their concatenation. A second thread encodes
    and compresses the row groups, so the writing overlaps whatever makes the tables (on
    ten million transactions, ingest's 1.9 s write disappeared behind its sorted read).

        with ParquetStream(path, schema) as out:
            out.write(table)  # any number of times; the file is in place after the block
    """

    def __init__(self, path: Path | str, schema: pa.Schema, compression: str = "zstd"):
        self.path, self.schema, self.compression = Path(path), _pandas_schema(schema), compression
        self.rows = None  # what the validation hands on as the kept rows: they are on disk
        self._pending: list[pa.Table] = []
        self._n_pending = 0
        self._written = False  # a row group was sent to the writer

    def __enter__(self) -> ParquetStream:
        import pyarrow.parquet as pq

        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._writer = pq.ParquetWriter(tmp, self.schema, compression=self.compression)
        self._queue: queue.Queue = queue.Queue(maxsize=2)  # at most two row groups wait
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write_row_groups, name="parquet-writer", daemon=True)
        self._thread.start()
        return self

    def write(self, table: pa.Table) -> None:
        if self._error is not None:
            raise self._error
        self._pending.append(table)
        self._n_pending += len(table)
        while self._n_pending >= ROW_GROUP_ROWS:
            whole = pa.concat_tables(self._pending)
            self._queue.put(whole.slice(0, ROW_GROUP_ROWS))
            self._written = True
            self._pending, self._n_pending = [whole.slice(ROW_GROUP_ROWS)], self._n_pending - ROW_GROUP_ROWS

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and (self._n_pending or not self._written):  # no rows: one empty group, as write_table
                self._queue.put(pa.concat_tables(self._pending) if self._pending else self.schema.empty_table())
        finally:
            self._pending = []
            self._queue.put(None)
            self._thread.join()
            self._writer.close()
        error = exc if exc is not None else self._error
        # The file goes in place, or away; the error keeps its traceback (errors.storage_error reads it).
        self._atomic.__exit__(type(error) if error else None, error, error.__traceback__ if error else None)
        if exc is None and self._error is not None:
            raise self._error

    def _write_row_groups(self) -> None:
        path = self.path  # noqa: F841 - errors.storage_error names the file from a churn.io frame's `path`
        while (group := self._queue.get()) is not None:
            if self._error is None:  # after a failure, only empty the queue: the writer must not block
                try:
                    # One chunk per column, as write_table is given: pages then split alike.
                    self._writer.write_table(group.cast(self.schema).combine_chunks())
                except BaseException as error:  # noqa: BLE001 - raised again by write() or on leaving the block
                    self._error = error


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a frame: text Arrow-backed, timestamps in nanoseconds (the ingest's
    range rule keeps them within pandas' bounds), flags as nullable booleans."""
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get)  # not self_destruct: the table may be a slice
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].astype("datetime64[ns]")
    return frame


_PANDAS_TYPES = {
    pa.string(): pd.StringDtype("pyarrow"),
    pa.large_string(): pd.StringDtype("pyarrow"),
    pa.string_view(): pd.StringDtype("pyarrow"),
    pa.bool_(): pd.BooleanDtype(),
}


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV written by DuckDB (several times faster than pandas for a million rows), in the
    bytes pandas' to_csv would write: booleans as True/False, an empty text as an empty
    field (DuckDB would quote it to tell it from a missing one), timestamps as ISO 8601."""
    import duckdb
    import pyarrow as pa

    if len(df.columns) == 0:  # nothing DuckDB can register
        df.to_csv(path, index=False, lineterminator="\n")
        return
    df = df.copy(deep=False)
    for col in df.columns:
        values = df[col]
        if pd.api.types.is_bool_dtype(values):
            df[col] = values.map({True: "True", False: "False"}).astype("string")
        elif pd.api.types.is_datetime64_any_dtype(values):
            # DuckDB applies TIMESTAMPFORMAT to microsecond timestamps only; pandas prints the wall time.
            if values.dtype != "datetime64[us]":
                wall = values.dt.tz_localize(None) if values.dt.tz is not None else values
                df[col] = wall.astype("datetime64[us]")
        elif pd.api.types.is_string_dtype(values):
            empty = (values == "").fillna(False)
            if empty.any():  # copy only the columns that need it: a million rows each
                df[col] = values.mask(empty)
    # COPY streams the rows; a small limit keeps DuckDB from buffering a second copy of them.
    # One thread: with two, DuckDB held finished chunks back to keep the rows in order (on a
    # million scores: 3.0 s and 208 MB more at the peak, against 2.0 s and 5 MB with one).
    con = duckdb.connect(
        config={"memory_limit": CSV_WRITE_MEMORY, "threads": 1, "temp_directory": str(spill_directory())}
    )
    try:
        con.register("frame", pa.Table.from_pandas(df, preserve_index=False))
        target = str(path).replace("'", "''")
        con.execute(
            f"COPY frame TO '{target}' (FORMAT csv, HEADER, DELIMITER ',', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S')"
        )
    finally:
        con.close()


CSV_WRITE_MEMORY = "128MB"


@functools.cache
def spill_directory() -> Path:
    """Where every DuckDB connection of the process spills what does not fit in memory: a
    private temporary directory, removed when the process ends, not DuckDB's default `.tmp`
    in the working directory (the project, under `dvc repro`), which a killed run would
    leave behind."""
    spill = Path(tempfile.mkdtemp(prefix="churn-duckdb-"))
    atexit.register(shutil.rmtree, spill, ignore_errors=True)
    return spill


def write_json(obj: Any, path: Path | str) -> None:
    """Write JSON with sorted keys, so reruns give identical bytes."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def write_text(text: str, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_with_summary(df: pd.DataFrame, targets: list[Path], summary: dict) -> None:
    """Write `df` to each target, then the summary beside the first with each file's SHA-256
    (keyed as summary["outputs"] names them): written last, so a run killed between its
    renames is detected on read. The files are written side by side: DuckDB (CSV) and
    Arrow (Parquet) write without holding the interpreter, so each gets a core."""
    with ThreadPoolExecutor(max(len(targets), 1)) as pool:
        list(pool.map(functools.partial(write_table, df), targets))  # list(): a failure is raised here
    summary["sha256"] = {str(rel): file_sha256(t) for rel, t in zip(summary["outputs"], targets)}
    write_json(summary, targets[0].with_suffix(".summary.json"))


def read_table(
    path: Path | str,
    text_columns: tuple[str, ...] = (),
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    source: str | None = None,
    all_text: bool = False,
) -> pd.DataFrame:
    """Read CSV or Parquet; `text_columns` are read as text so "00017" stays "00017".

    `source` is the name used in error messages (the path as the user wrote it).
    `all_text`: every CSV column as text, exactly as written (empty fields missing), for
    tables that are typed by their validation.
    """
    path = Path(path)
    name = source or str(path)
    if not path.is_file():
        raise InputError(name, "file not found")
    if path.suffix == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise InputError(name, f"not a readable Parquet file ({exc})") from None
        for col in text_columns:
            if col in df.columns:
                df[col] = _as_text(df[col])
        return df
    if path.suffix in {".csv", ".txt", ".tsv"}:
        if path.stat().st_size == 0:
            raise InputError(name, "the file is empty (expected a header row and data)")
        if all_text and (fast := _read_csv_as_text(path, delimiter, encoding)) is not None:
            return fast
        try:
            with warnings.catch_warnings():
                # With index_col=False pandas only warns of a row longer than the header, and drops its extra fields.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(
                    path,
                    sep=delimiter,
                    dtype="string" if all_text else {c: "string" for c in text_columns},
                    keep_default_na=False,
                    na_values=[""],
                    encoding=encoding,
                    skip_blank_lines=True,
                    index_col=False,  # a delimiter at the end of a line is not a first column of row names
                )
        except pd.errors.ParserWarning:
            raise _long_row_error(name, path, encoding, delimiter) from None
        except UnicodeDecodeError:
            row, column = _find_undecodable(path, encoding, delimiter)
            raise InputError(
                name,
                f"bytes that are not valid {encoding} text; set data.encoding (e.g. latin-1 or cp1252) "
                "to the file's encoding",
                row=row,
                column=column,
            ) from None
        except pd.errors.EmptyDataError:
            raise InputError(name, "the file is empty (expected a header row and data)") from None
        except pd.errors.ParserError as exc:
            if (long_row := _long_row_error(name, path, encoding, delimiter)).row is not None:
                raise long_row from None
            raise InputError(name, f"not a well-formed CSV file ({exc})") from None
    raise InputError(name, "unsupported file type (expected .csv or .parquet)")


def plain_csv_header(path: Path, delimiter: str, encoding: str) -> list[str] | None:
    """A CSV file's column names (a byte order mark dropped), or None when one is empty or
    repeated, or the header does not read: the readers that take such a file as it is are
    the ones that word its error."""
    try:
        with path.open(encoding=encoding, newline="") as fh:
            names = next(csv.reader(fh, delimiter=delimiter), [])
    except (UnicodeError, LookupError, csv.Error):
        return None
    names = [names[0].removeprefix("\ufeff"), *names[1:]] if names else []
    if not names or "" in names or len(set(names)) < len(names):
        return None
    return names


def _read_csv_as_text(path: Path, delimiter: str, encoding: str) -> pd.DataFrame | None:
    """Every column as text, read by Arrow's multithreaded parser (two to three times faster
    than pandas' on large files, in less memory), or None where Arrow would not read the file
    as pandas does (ragged rows, an unnamed or repeated column, bytes that do not decode):
    pandas then reads it, and words any error."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = plain_csv_header(path, delimiter, encoding)
    if names is None:
        return None
    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(encoding=encoding),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, ValueError, UnicodeError, LookupError, csv.Error):
        return None
    if table.column_names != names:
        return None
    text = pd.StringDtype("pyarrow")
    return table.to_pandas(types_mapper=lambda t: text if pa.types.is_large_string(t) else None, self_destruct=True)


def _as_text(col: pd.Series) -> pd.Series:
    """Ids stored as numbers become text; whole floats lose their ".0" (17.0 -> "17")."""
    if pd.api.types.is_float_dtype(col) and (col.dropna() % 1 == 0).all():
        col = col.astype("Int64")
    return col.astype("string")


def _find_undecodable(path: Path, encoding: str, delimiter: str) -> tuple[int | None, str | None]:
    """Row number (header = 1) and column name of the first line that does not decode."""
    header: list[str] = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError:
                fields = line.split(delimiter.encode())
                for i, field in enumerate(fields):
                    try:
                        field.decode(encoding)
                    except UnicodeDecodeError:
                        return number, (header[i] if i < len(header) else None)
                return number, None
            if number == 1:
                header = [h.strip() for h in text.rstrip("\r\n").split(delimiter)]
    return None, None


def _long_row_error(name: str, path: Path, encoding: str, delimiter: str) -> InputError:
    """The error naming the first row with more fields than the header (row None: none)."""
    row, fields, columns = _find_long_row(path, encoding, delimiter)
    return InputError(name, f"{fields} fields in a row, more than the header's {columns} columns", row=row)


def _find_long_row(path: Path, encoding: str, delimiter: str) -> tuple[int | None, int, int]:
    """Row number (header = 1, blank lines counted), field count and header width of the
    first row with more fields than the header (an empty last field aside: a delimiter
    at the end of a line)."""
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, [])
        start = 2
        for record in reader:
            fields = record[:-1] if len(record) == len(header) + 1 and record[-1] == "" else record
            if len(fields) > len(header):
                return start, len(record), len(header)
            start = reader.line_num + 1
    return None, 0, len(header)


def read_json(path: Path | str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"not valid JSON ({exc})") from None


def project_relative(paths: list[Path], root: Path) -> list[str]:
    """Paths inside the project relative to it, so files naming them are the same wherever it lives."""
    return [str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in paths]


def _add_bytes(digest, file: Path) -> None:
    """Feed a file to `digest` in chunks, so a large file never sits in memory."""
    with open(file, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    _add_bytes(digest, Path(path))
    return digest.hexdigest()


def path_sha256(path: Path | str) -> str:
    """SHA-256 of a file (file_sha256), or of a directory's files (relative names and bytes,
    in sorted order, as a Parquet dataset arrives)."""
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        _add_bytes(digest, file)
    return digest.hexdigest()
