"""Which contacts count, and the point-in-time rule at the campaign day."""

import ibis
import pandas as pd

from churn.campaigns.outcomes import campaign_rows, outcome_frame, window_revenue
from churn.features.snapshots import build_snapshots

DATA_END = pd.Timestamp("2024-07-01")  # the scoring cutoff: data up to 2024-06-30


def contacts(rows: list[tuple]) -> pd.DataFrame:
    cid, ts, action, campaign, group = zip(*rows)
    return pd.DataFrame(
        {
            "customer_id": pd.array(cid, dtype="string"),
            "timestamp": pd.to_datetime(list(ts)),
            "channel": pd.array(["email"] * len(rows), dtype="string"),
            "action": pd.array(action, dtype="string"),
            "campaign": pd.array(campaign, dtype="string"),
            "group": pd.array(group, dtype="string"),
        }
    )


def test_duplicates_open_windows_and_missing_groups_are_counted_not_dropped_silently():
    log = contacts(
        [
            ("a", "2024-03-01 10:00", "offer", "spring", "treatment"),
            ("a", "2024-03-01 11:00", "offer", "spring", "treatment"),  # the same contact twice
            ("b", "2024-03-02 09:00", "offer", "spring", "control"),  # a campaign may take days
            ("c", "2024-06-01 10:00", "offer", "june", "treatment"),  # its window closes 2024-08-30
            ("d", "2024-06-01 10:00", "offer", "june", "control"),
            ("e", "2024-02-01 10:00", "offer", "no-control", "treatment"),
        ]
    )
    log = pd.concat([log, contacts([("f", "2024-05-01 10:00", "newsletter", None, None)])], ignore_index=True)
    camp = campaign_rows(log, DATA_END, horizon_days=90)
    assert camp.duplicates_dropped == 1 and camp.without_campaign == 1
    by_name = camp.campaigns.set_index("campaign")
    assert by_name.loc["spring", "status"] == "measured"
    assert by_name.loc["spring", "cutoff"] == pd.Timestamp("2024-03-01")  # midnight of its first day
    assert by_name.loc["june", "status"] == "window open until 2024-08-29"
    assert by_name.loc["no-control", "status"] == "no control group: effect not measurable"
    assert len(camp.rows) == 5  # every contact but the duplicate and the untagged row


def test_outcomes_use_the_snapshot_at_the_campaign_day_and_the_window_after_it():
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["a", "a", "a", "b", "b"], dtype="string"),
            "timestamp": pd.to_datetime(
                ["2023-12-01 00:00", "2024-02-29 23:59", "2024-03-01 00:00", "2024-01-15 00:00", "2024-05-29 23:59"]
            ),
            "amount": [10.0, 20.0, 30.0, 5.0, 7.0],
        }
    )
    log = contacts(
        [
            ("a", "2024-03-01 10:00", "offer", "spring", "treatment"),
            ("b", "2024-03-01 10:00", "offer", "spring", "control"),
        ]
    )
    camp = campaign_rows(log, DATA_END, horizon_days=90)
    cutoff = pd.Timestamp("2024-03-01")
    con = ibis.duckdb.connect()
    table = ibis.memtable(tx)
    snap = build_snapshots(
        con, table, [("campaign", cutoff)], active_days=365, horizon_days=90, labels_until=DATA_END, active_only=False
    )
    revenue = con.to_pyarrow(window_revenue(table, [cutoff], 90)).to_pandas()
    out = outcome_frame(camp.rows, snap, revenue).set_index("customer_id")
    # a: the purchase at midnight of the campaign day is outcome, not history; the one a minute
    # before is history (recency 1 minute), not outcome.
    assert out.loc["a", "frequency"] == 2 and out.loc["a", "recency_days"] < 0.001
    assert out.loc["a", "retained"] == 1 and out.loc["a", "revenue"] == 30.0
    # b: bought in the last minute of the 90-day window [2024-03-01, 2024-05-30): retained.
    assert out.loc["b", "retained"] == 1 and out.loc["b", "revenue"] == 7.0
    assert out.loc["b", "frequency"] == 1


def test_contacts_of_customers_without_history_by_the_campaign_day_are_counted_not_measured(params):
    from churn.campaigns.report import campaign_report

    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["a", "b", "late"], dtype="string"),
            "timestamp": pd.to_datetime(["2024-01-10 00:00", "2024-01-12 00:00", "2024-04-01 00:00"]),
            "amount": [10.0, 20.0, 30.0],
        }
    )
    log = contacts(
        [
            ("a", "2024-03-01 10:00", "offer", "spring", "treatment"),
            ("b", "2024-03-01 10:00", "offer", "spring", "control"),
            ("late", "2024-03-01 10:00", "offer", "spring", "treatment"),  # first purchase after the campaign
        ]
    )
    camp = campaign_rows(log, DATA_END, horizon_days=90)
    cutoff = pd.Timestamp("2024-03-01")
    con, table = ibis.duckdb.connect(), ibis.memtable(tx)
    snap = build_snapshots(
        con, table, [("campaign", cutoff)], active_days=365, horizon_days=90, labels_until=DATA_END, active_only=False
    )
    revenue = con.to_pyarrow(window_revenue(table, [cutoff], 90)).to_pandas()
    report = campaign_report(camp, snap, revenue, None, params)
    assert report.summary["handling"]["contacts_without_history"] == 1
    assert set(report.outcomes["customer_id"]) == {"a", "b"}
    pooled = report.summary["pooled"]["offer"]
    assert (pooled["n_treatment"], pooled["n_control"]) == (1, 1)
