import pandas as pd
import pytest

from churn import io
from churn.errors import InputError


def test_atomic_write_keeps_previous_output_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    io.write_table(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half-written")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_dir_swaps_whole_directory(tmp_path):
    target = tmp_path / "d"
    with io.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(RuntimeError):
        with io.atomic_dir(target) as tmp:
            (tmp / "b.txt").write_text("2")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]


def test_text_columns_keep_leading_zeros(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("customer_id,amount\n00017,1.5\n")
    df = io.read_table(path, text_columns=("customer_id",))
    assert df["customer_id"].tolist() == ["00017"]


def test_parquet_round_trip_is_byte_identical(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    io.write_table(frame, tmp_path / "one.parquet")
    io.write_table(frame, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="empty.csv: the file is empty"):
        io.read_table(path)
