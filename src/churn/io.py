"""Reading tables and writing outputs atomically.

Every output goes to a temporary file in the same directory and is renamed into place,
so an interrupted run leaves the previous good output untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from churn.errors import InputError

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    old = path.parent / f".{path.name}.old"
    try:
        yield tmp
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_table(df: pd.DataFrame, path: Path | str) -> None:
    """Write a frame as CSV or Parquet (by extension), atomically and byte-reproducibly."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False, compression="zstd")
        elif path.suffix == ".csv":
            df.to_csv(tmp, index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S")
        else:
            raise ValueError(f"{path}: unsupported table format (use .csv or .parquet)")


def write_json(obj: Any, path: Path | str) -> None:
    """Write JSON with sorted keys, so reruns give identical bytes."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def write_text(text: str, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_table(path: Path | str, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read CSV or Parquet; `text_columns` are read as text so "00017" stays "00017"."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "file not found")
    if path.suffix == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise InputError(str(path), f"not a readable Parquet file ({exc})") from None
        for col in text_columns:
            if col in df.columns:
                df[col] = df[col].astype("string")
        return df
    if path.suffix in {".csv", ".txt"}:
        if path.stat().st_size == 0:
            raise InputError(str(path), "the file is empty (expected a header row and data)")
        try:
            return pd.read_csv(
                path,
                dtype={c: "string" for c in text_columns},
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
            )
        except UnicodeDecodeError as exc:
            raise InputError(str(path), f"not UTF-8 text (byte offset {exc.start})") from None
        except pd.errors.ParserError as exc:
            raise InputError(str(path), f"not a well-formed CSV file ({exc})") from None
    raise InputError(str(path), "unsupported file type (expected .csv or .parquet)")


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
