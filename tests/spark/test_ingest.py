"""`churn ingest` on Spark: the same checks, counts, reasons and outputs as the single-node ingest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from churn import layout
from churn.config import parse_params
from churn.errors import InputError
from churn.stages import ingest

pytestmark = pytest.mark.spark
ROOT = Path(__file__).resolve().parents[2]

TRANSACTIONS = pd.DataFrame(
    [
        ("00017", "2024-01-05 10:00:00", "12.50", "Completed", " web "),
        ("00017", "2024-01-05 10:00:00", "12.50", "Completed", " web "),  # exact duplicate
        ("00017", "2024-01-06T11:30:00", "-3.00", "Completed", "store"),  # a refund
        ("", "2024-01-07", "5", "Completed", "web"),
        ("00018", "2024-13-45", "5", "Completed", "web"),
        ("00018", "2024-01-08", "abc", "Completed", "web"),
        ("00018", "2024-01-09", "1e12", "Completed", "web"),
        ("00018", "2024-01-10", "inf", "Completed", "web"),
        ("00019", "2024-01-11", "7", " cancelled ", "web"),  # filtered: any case, spaces ignored
        ("00019", "2024-01-12", "8", None, "web"),  # no status: kept
        ("00020", "2024-03-30 02:30", "9.99", "Completed", None),
        ("00020", "9999-12-31", "1", "Completed", "web"),  # outside the plausible range
        ("00020", "2024-10-27 02:30", "2", "Completed", "web"),  # a repeated hour in Berlin: the first one
        ("00020", "2024-03-31 02:30", "3", "Completed", "web"),  # a skipped hour in Berlin: 03:30 CEST
    ],
    columns=["Client", "When", "Revenue", "Status", "Channel"],
)
CUSTOMERS = pd.DataFrame(
    [
        ("00017", "2023-05-01", "yes", "gold"),
        ("00017", "2023-05-01", "yes", "gold"),  # exact duplicate
        ("00018", "2023-06-01", "no", "basic"),
        ("00018", "2023-06-02", "no", "basic"),  # the same id with other attributes
        ("00019", "not a date", "y", "basic"),
        ("00020", None, "maybe", None),
    ],
    columns=["customer_id", "signup_date", "loyalty_member", "tier"],
)


# Every shape of ISO 8601 the grammar accepts, some it refuses, and daylight-saving changes.
TIMESTAMPS = [
    "2024-01-05", "2024-01-05 10:00:00", "2024-01-05T10:00:00.250", " 2024-07-01T23:59:59 ", "05/01/2024", None,
    "2024-01-05T10:00:00+02:00", "2024-07-06 23:30:00.5Z", "20240105", "2024-01-05 10", "2024-1-5",
    "2024-01-05T10:00Z", "2024-01-05 10:00:00 +0200", "2024-01-05T10:00:00.123456789", "2024-02-30",
    "2024-03-10 02:30", "2024-11-03 01:30", "2024-03-31 02:30", "2024-10-27 02:30", "2024-01-05 10:00:00 UTC",
]  # fmt: skip


def project(root: Path, raw_params: dict, engine: str, **data) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    raw = root / "data/raw"
    raw.mkdir(parents=True, exist_ok=True)
    TRANSACTIONS.to_parquet(raw / "tx.parquet")
    CUSTOMERS.to_parquet(raw / "customers.parquet")
    events = pd.DataFrame(
        {
            "customer_id": ["00017", "00018", "00018"],
            "timestamp": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-03"]),
            "event_type": ["Login", " email_open", " email_open"],
        }
    )
    events.to_parquet(raw / "events.parquet")  # typed nanosecond timestamps, as pandas writes them
    params = dict(raw_params, engine=engine)
    params["data"] = {
        **raw_params["data"],
        "source": "file",
        "transactions": "data/raw/tx.parquet",
        "events": "data/raw/events.parquet",
        "customers": "data/raw/customers.parquet",
        "contacts": None,
        "columns": {
            "customer_id": "Client",
            "timestamp": "When",
            "amount": "Revenue",
            "status": "Status",
            "channel": "Channel",
        },
        "timezone": "Europe/Berlin",
        "on_bad_rows": "quarantine",
        **data,
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def outputs(root: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for path in (layout.INTERIM_TRANSACTIONS, layout.INTERIM_EVENTS, layout.INTERIM_CUSTOMERS):
        frame = pd.read_parquet(root / path)
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = frame[col].astype("datetime64[ns]")  # Spark keeps microseconds
        out[path.stem] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def test_spark_ingest_accounts_for_every_row_as_the_single_node_ingest(spark, raw_params, tmp_path):
    single = project(tmp_path / "duckdb", raw_params, "duckdb")
    ours = project(tmp_path / "spark", raw_params, "spark")
    expected = ingest.run(single, parse_params(yaml.safe_load((single / "params.yaml").read_text())))
    report = ingest.run(ours, parse_params(yaml.safe_load((ours / "params.yaml").read_text())))

    assert report["transactions"] == expected["transactions"]
    assert report == expected
    tx = report["transactions"]
    assert (
        tx["rows_read"],
        tx["rows_kept"],
        tx["rows_rejected"],
        tx["rows_filtered_status"],
        tx["rows_duplicate_dropped"],
        tx["possible_repeats"],
    ) == (14, 7, 6, 1, 0, 1)  # no order id: the repeated row may be a real purchase, so it is kept
    assert report["customers"]["rows_rejected"] == 3 and report["events"]["rows_duplicate_dropped"] == 1

    mine, theirs = outputs(ours), outputs(single)
    for name, frame in theirs.items():
        pd.testing.assert_frame_equal(mine[name], frame, check_dtype=False, obj=name)
    assert mine["transactions"]["timestamp"].tolist()[:3] == [
        pd.Timestamp("2024-01-05 09:00"),
        pd.Timestamp("2024-01-05 09:00"),  # the repeat, kept
        pd.Timestamp("2024-01-06 10:30"),
    ]

    quarantine = pd.read_csv(ours / layout.QUARANTINE, dtype=str)
    reference = pd.read_csv(single / layout.QUARANTINE, dtype=str)
    key = ["table", "reason"]
    assert sorted(map(tuple, quarantine[key].to_numpy())) == sorted(map(tuple, reference[key].to_numpy()))
    bad_amount = quarantine[quarantine["amount"] == "abc"]
    assert bad_amount["reason"].tolist() == ["amount: not a number"]
    assert quarantine["row"].isna().all()  # Parquet has no lines to number on Spark
    assert (
        quarantine[quarantine["timestamp"] == "9999-12-31"]["reason"]
        .str.startswith("timestamp: outside the plausible range 1970-01-01 to ")
        .all()
    )
    berlin = mine["transactions"].set_index("amount")["timestamp"]
    assert (berlin[2.0], berlin[3.0]) == (pd.Timestamp("2024-10-27 00:30"), pd.Timestamp("2024-03-31 01:30"))


@pytest.mark.parametrize("rule", ["always", "never"])
def test_spark_drops_duplicates_as_the_single_node_ingest(spark, raw_params, tmp_path, rule):
    single = project(tmp_path / "duckdb", raw_params, "duckdb", drop_duplicates=rule)
    ours = project(tmp_path / "spark", raw_params, "spark", drop_duplicates=rule)
    expected = ingest.run(single, parse_params(yaml.safe_load((single / "params.yaml").read_text())))
    report = ingest.run(ours, parse_params(yaml.safe_load((ours / "params.yaml").read_text())))
    assert report == expected
    dropped = {"always": 1, "never": 0}[rule]
    assert (report["transactions"]["rows_duplicate_dropped"], report["transactions"]["possible_repeats"]) == (
        dropped,
        1 - dropped,
    )


def test_spark_warns_as_the_single_node_ingest_when_the_status_rule_matches_nothing(spark, raw_params, tmp_path):
    single = project(tmp_path / "duckdb", raw_params, "duckdb", exclude_status=["Refunded"])
    ours = project(tmp_path / "spark", raw_params, "spark", exclude_status=["Refunded"])
    expected = ingest.run(single, parse_params(yaml.safe_load((single / "params.yaml").read_text())))
    report = ingest.run(ours, parse_params(yaml.safe_load((ours / "params.yaml").read_text())))
    assert (
        report["warnings"]
        == expected["warnings"]
        == [
            "data/raw/tx.parquet: data.exclude_status (Refunded) matched no row (case and surrounding spaces ignored); "
            "column 'Status' holds 'Completed' (6 rows), 'cancelled' (1 rows): check the spelling"
        ]
    )


def test_spark_refuses_a_status_rule_without_its_column(spark, raw_params, tmp_path):
    root = project(tmp_path, raw_params, "spark")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"]["columns"]["status"] = "OrderStatus"
    with pytest.raises(InputError) as err:
        ingest.run(root, parse_params(params))
    assert str(err.value) == (
        "data/raw/tx.parquet, row 1, column 'OrderStatus': data.exclude_status is set (Cancelled) but the status "
        "column 'OrderStatus' (data.columns.status) is not in the file; found: Client, When, Revenue, Status, Channel"
    )


def test_spark_ingest_fails_naming_the_file_and_column(spark, raw_params, tmp_path):
    root = project(tmp_path, raw_params, "spark", on_bad_rows="fail")
    with pytest.raises(
        InputError, match=r"data/raw/tx.parquet, column '(Client|When|Revenue)': .*6 bad row\(s\) in all"
    ):
        ingest.run(root, parse_params(yaml.safe_load((root / "params.yaml").read_text())))
    assert not (root / layout.INTERIM).exists()


def test_a_missing_source_is_named(spark, raw_params, tmp_path):
    root = project(tmp_path, raw_params, "spark", transactions="data/raw/nope.parquet")
    with pytest.raises(InputError, match=r"data/raw/nope.parquet: file not found"):
        ingest.run(root, parse_params(yaml.safe_load((root / "params.yaml").read_text())))


@pytest.mark.parametrize(
    "fmt, values",
    [
        (None, TIMESTAMPS),
        ("%d/%m/%Y %H:%M", ["05/01/2024 10:00", "31/12/2023 23:59", "2024-01-05 10:00", "32/01/2024 10:00"]),
        ("%Y%m%dT%H%M%S", ["20240105T100000", "20241231T235959", "2024-01-05"]),
        ("%Y-%m-%d %H:%M:%S%z", ["2024-01-05 10:00:00+0200", "2024-07-05 23:00:00-0500", "2024-01-05 10:00:00"]),
    ],
)
@pytest.mark.parametrize("timezone", ["UTC", "America/New_York", "Europe/Berlin"])
def test_spark_parses_timestamps_as_duckdb(spark, fmt, values, timezone):
    """The one grammar (data/parsing.py) gives the same instants on both engines, daylight
    saving changes included."""
    import ibis

    from churn import engine
    from churn.data import parsing

    def parsed(con, table):
        expr = parsing.timestamps(table, "value", fmt, timezone, parsing.dialect_of(con))
        return con.to_pyarrow(expr.select(ts=expr.value.cast("string"))).column("ts").to_pylist()

    frame = pd.DataFrame({"value": pd.Series(values, dtype="string")})
    duck = ibis.duckdb.connect()
    con = engine.spark_backend(spark)
    ours = parsed(con, engine.register(con, spark.createDataFrame([(v,) for v in values], "value string")))
    theirs = parsed(duck, ibis.memtable(frame))
    as_time = [None if v is None else pd.Timestamp(v) for v in ours]
    assert as_time == [None if v is None else pd.Timestamp(v) for v in theirs]
    assert sum(v is not None for v in ours) >= 2


def test_strftime_formats_become_spark_patterns():
    from churn.data.parsing import java_pattern
    from churn.errors import ChurnError

    assert java_pattern("%d/%m/%Y %H:%M") == "dd/MM/yyyy HH:mm"
    assert java_pattern("%Y-%m-%dT%H:%M:%S.%f") == "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"
    with pytest.raises(ChurnError, match=r"data.timestamp_format: %U is not supported"):
        java_pattern("%Y week %U")
