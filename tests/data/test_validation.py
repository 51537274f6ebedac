import numpy as np
import pandas as pd
import pytest

from churn.data import validation
from churn.data.validation import validate_contacts, validate_customers, validate_events, validate_transactions
from churn.errors import InputError


def raw(rows, columns=("customer_id", "timestamp", "amount", "status")):
    return pd.DataFrame(rows, columns=list(columns)).astype("string")


def test_types_and_leading_zeros(params):
    out = validate_transactions(
        raw([("00017", "2024-01-02", "10.5", "Completed"), ("017", "2024-01-03T10:00:00", "-3", "Completed")]),
        params.data,
        "tx.csv",
    )
    t = out.table
    assert t["customer_id"].tolist() == ["00017", "017"]
    assert t["timestamp"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03 10:00")]
    assert t["amount"].tolist() == [10.5, -3.0]  # refunds stay negative
    assert out.counts["rows_kept"] == 2


def test_every_row_is_accounted_for(params):
    settings = params.data.model_copy(update={"on_bad_rows": "quarantine"})
    rows = [
        ("1", "2024-01-01", "5", "Completed"),
        ("1", "2024-01-01", "5", "Completed"),  # exact duplicate, kept: no order id tells it is one
        ("2", "2024-01-02", "7", "Cancelled"),  # filtered by the user's status rule
        ("3", "not a date", "7", "Completed"),  # rejected
        ("4", "2024-01-02", "abc", "Completed"),  # rejected
        ("", "2024-01-02", "1", "Completed"),  # rejected
    ]
    out = validate_transactions(raw(rows), settings, "tx.csv")
    assert out.counts == {
        "rows_read": 6,
        "rows_kept": 2,
        "rows_repeated_header": 0,
        "rows_filtered_status": 1,
        "rows_duplicate_dropped": 0,
        "rows_rejected": 3,
        "possible_repeats": 1,  # no order id: the repeat may be a real second purchase, so it is kept
    }
    assert out.rejected["row"].tolist() == [5, 6, 7]  # header is row 1
    assert out.rejected["reason"].str.split(":").str[0].tolist() == ["timestamp", "amount", "customer_id"]


def test_bad_row_fails_with_file_row_and_column(params):
    rows = [("1", "2024-01-01", "5", "Completed"), ("2", "31/12/2024", "5", "Completed")]
    with pytest.raises(InputError) as err:
        validate_transactions(raw(rows), params.data, "data/raw/tx.csv")
    msg = str(err.value)
    assert "data/raw/tx.csv, row 3, column 'timestamp'" in msg
    assert "'31/12/2024'" in msg


def test_custom_format_and_timezone(params):
    settings = params.data.model_copy(update={"timestamp_format": "%d/%m/%Y %H:%M", "timezone": "Europe/Berlin"})
    out = validate_transactions(raw([("1", "31/12/2024 10:00", "5", "Completed")]), settings, "tx.csv")
    assert out.table["timestamp"].iloc[0] == pd.Timestamp("2024-12-31 09:00")  # normalised to UTC


def test_column_mapping(params):
    cols = params.data.columns.model_copy(
        update={"customer_id": "Customer ID", "timestamp": "InvoiceDate", "amount": "Total"}
    )
    settings = params.data.model_copy(update={"columns": cols, "exclude_status": []})
    frame = raw([("12346", "2011-01-18", "77183.6")], columns=("Customer ID", "InvoiceDate", "Total"))
    out = validate_transactions(frame, settings, "retail.csv")
    assert list(out.table.columns) == ["customer_id", "timestamp", "amount"]


def test_missing_column_hints_at_delimiter(params):
    frame = pd.DataFrame({"customer_id;timestamp;amount": ["1;2024-01-01;5"]})
    with pytest.raises(InputError, match="delimited by something other than a comma"):
        validate_transactions(frame, params.data, "semi.csv")


def test_events_and_customers(params):
    ev = validate_events(
        pd.DataFrame({"customer_id": ["01"], "timestamp": ["2024-01-01"], "event_type": [" Login "]}).astype("string"),
        params.data,
        "events.csv",
    )
    assert ev.table["event_type"].tolist() == ["login"]
    settings = params.data.model_copy(update={"on_bad_rows": "quarantine"})
    cu = validate_customers(
        pd.DataFrame({"customer_id": ["01", "01", "02"], "loyalty_member": ["yes", "no", "0"]}).astype("string"),
        settings,
        "customers.csv",
    )
    assert cu.table["customer_id"].tolist() == ["01", "02"]
    assert cu.table["loyalty_member"].tolist() == [True, False]
    assert cu.counts["rows_rejected"] == 1


def test_campaign_contacts_name_their_group_and_an_unknown_group_is_a_bad_row(params):
    contacts = pd.DataFrame(
        {
            "customer_id": ["1", "2", "3", "4"],
            "timestamp": ["2024-03-01 10:00"] * 4,
            "channel": ["email", "", "email", "email"],
            "action": ["offer", "offer", "offer", "newsletter"],
            "campaign": ["spring", "spring", "spring", ""],
            "group": ["Treatment", "control", "holdout", ""],
        }
    ).astype("string")
    quarantine = params.data.model_copy(update={"on_bad_rows": "quarantine"})
    result = validate_contacts(contacts, quarantine, "contacts.csv")
    assert result.table["group"].tolist()[:2] == ["treatment", "control"]  # any case
    assert pd.isna(result.table["channel"].iloc[1])  # a control row needs no channel
    assert pd.isna(result.table["campaign"].iloc[-1])  # a plain contact (fatigue only) stays valid
    assert result.rejected["reason"].tolist() == ["group: expected treatment or control"]
    with pytest.raises(InputError, match="row 4, column 'group'"):
        validate_contacts(contacts, params.data, "contacts.csv")


@pytest.mark.parametrize("batch_rows", [7, validation.BATCH_ROWS])
@pytest.mark.parametrize("drop_duplicates", ["always", "auto", "never"])
def test_duplicates_and_order_match_a_plain_pandas_reference(params, drop_duplicates, batch_rows, monkeypatch):
    """Random rows with repeats and missing values: the kept table is every typed row without
    the dropped repeats (pandas' duplicated, first kept), sorted by every column, whatever the
    input order. The sorted rows are read in batches: in batches of 7 rows, repeats fall on
    both sides of a batch's edge."""
    monkeypatch.setattr(validation, "BATCH_ROWS", batch_rows)
    rng = np.random.default_rng(7)
    n = 600
    raw = pd.DataFrame(
        {
            "customer_id": rng.choice(["a", "b", "c"], n),
            "timestamp": rng.choice(["2024-01-01", "2024-01-02 10:00"], n),
            "amount": rng.choice([1.0, 2.5, -3.0], n),
            "order_id": rng.choice(["", "o1", "o2"], n),
            "category": pd.Series(rng.choice(["x", "y", None], n), dtype="object"),
            "status": "Completed",
        }
    )

    def validated(mode: str, rows: pd.DataFrame):
        settings = params.data.model_copy(update={"drop_duplicates": mode, "max_date": None})
        return validate_transactions(rows, settings, "t.csv")

    got = validated(drop_duplicates, raw)
    pd.testing.assert_frame_equal(got.table, validated(drop_duplicates, raw.sample(frac=1, random_state=1)).table)

    typed = validated("never", raw).table.sample(frac=1, random_state=2)  # every row, typed, in another order
    dup = typed.duplicated(keep="first")
    with_order_id = typed["order_id"].fillna("").ne("")
    drop = {"always": dup, "auto": dup & with_order_id, "never": dup & False}[drop_duplicates]
    expected = typed[~drop].sort_values(list(typed.columns), kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got.table, expected)
    assert got.counts["rows_duplicate_dropped"] == int(drop.sum()) > (0 if drop_duplicates != "never" else -1)
    assert got.counts["possible_repeats"] == int((dup & ~drop).sum())


def test_typed_timestamps_are_taken_as_they_are_not_reparsed_as_text(params):
    """A Parquet file's timestamps: naive ones are wall-clock times in data.timezone, zoned ones
    instants, exactly as the same values written as text; data.timestamp_format (for text)
    does not apply to them."""
    text = ["2024-03-01 10:00:00", "2024-10-27 02:30:00", "2100-01-01 00:00:00"]
    settings = params.data.model_copy(
        update={
            "exclude_status": [],
            "timezone": "Europe/Berlin",
            "on_bad_rows": "quarantine",
            "max_date": "2030-01-01",
        }
    )

    def table(timestamps, **update):
        frame = pd.DataFrame({"customer_id": ["1", "2", "3"], "timestamp": timestamps, "amount": [1.0, 2.0, 3.0]})
        return validate_transactions(frame, settings.model_copy(update=update), "t.parquet")

    as_text = table(pd.Series(text, dtype="string"))
    naive = table(pd.to_datetime(pd.Series(text)), timestamp_format="%d/%m/%Y")
    pd.testing.assert_frame_equal(naive.table, as_text.table)
    assert naive.rejected["reason"].str.startswith("timestamp: outside").tolist() == [True]
    zoned = table(pd.to_datetime(pd.Series(text)).dt.tz_localize("Europe/Berlin", ambiguous=[True, True, True]))
    pd.testing.assert_frame_equal(zoned.table, as_text.table)


def test_the_statuses_named_when_the_status_rule_matches_nothing_are_counted_over_every_batch(params, monkeypatch):
    """data.exclude_status matched no row: the warning names the five commonest statuses of
    the kept rows with their counts, the same however many batches the sorted rows came in."""
    statuses = ["Paid"] * 9 + ["Shipped"] * 7 + ["Open"] * 5 + ["Held"] * 3 + ["Lost"] * 2 + ["Odd"]
    raw = pd.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in range(len(statuses))],
            "timestamp": "2024-01-01",
            "amount": "5",
            "status": statuses,
        }
    )
    settings = params.data.model_copy(update={"exclude_status": ["Cancelled"], "max_date": None})
    warnings = []
    for batch_rows in (4, validation.BATCH_ROWS):
        monkeypatch.setattr(validation, "BATCH_ROWS", batch_rows)
        warnings.append(validate_transactions(raw, settings, "t.csv").warnings)
    assert warnings[0] == warnings[1]
    named = "holds 'Paid' (9 rows), 'Shipped' (7 rows), 'Open' (5 rows), 'Held' (3 rows), 'Lost' (2 rows):"
    assert named in warnings[0][0]
