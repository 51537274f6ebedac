"""The scoring snapshot built one range of customers at a time, with its full rows kept on
disk: scoring holds only the columns it reads itself in memory, and fetches the model's
inputs for the rows it predicts or explains, so its memory does not grow with the model's
width times the number of customers."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churn.features.snapshots import by_cutoff_and_customer, snapshot_frame

ROW_GROUP_ROWS = 50_000  # rows fetched are read a row group at a time


class SpilledSnapshot:
    """Snapshot rows (Arrow tables sorted by cutoff and customer, in that order overall)
    written to a temporary Parquet file; `narrow` holds their `keep` columns, typed as
    build_snapshots types them, with the RFM scores over all the rows. `rows(positions)`
    gives every column of the rows at those positions of `narrow`. `close()` deletes the file."""

    def __init__(self, ranges: Iterable[pa.Table], cutoffs: Sequence[tuple[str, pd.Timestamp]], keep: set[str]):
        self._cutoffs = cutoffs
        self._dir = tempfile.TemporaryDirectory(prefix="churn-snapshot-")
        path = Path(self._dir.name) / "snapshot.parquet"
        narrow, writer = [], None
        try:
            for table in ranges:
                table = by_cutoff_and_customer(table)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="lz4")
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                narrow.append(table.select([c for c in table.column_names if c in keep]))
                del table  # one range's full rows at a time
        finally:
            if writer is not None:
                writer.close()
        self.columns = pq.read_schema(path).names
        whole = pa.concat_tables(narrow)
        del narrow
        self.narrow = snapshot_frame(whole.to_pandas(self_destruct=True, split_blocks=True), cutoffs)
        self._file = pq.ParquetFile(path)
        sizes = [self._file.metadata.row_group(i).num_rows for i in range(self._file.num_row_groups)]
        self._starts = np.cumsum([0, *sizes])

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """Every column (typed, without RFM scores) of the rows at `positions`, in that order."""
        positions = np.asarray(positions, dtype=np.int64)
        order = np.argsort(positions, kind="stable")
        wanted = positions[order]
        group_of = np.searchsorted(self._starts, wanted, side="right") - 1
        parts = []
        for g in np.unique(group_of):
            at = wanted[group_of == g] - self._starts[g]
            parts.append(self._file.read_row_group(int(g)).take(pa.array(at)))
        table = pa.concat_tables(parts) if parts else self._file.schema_arrow.empty_table()
        frame = snapshot_frame(table.to_pandas(), self._cutoffs, with_rfm=False)
        return frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)

    def close(self) -> None:
        self._file.close()
        self._dir.cleanup()
