import pandas as pd

from churn.actions import control
from churn.actions.control import control_group, recently_contacted


def test_control_group_is_stable_and_about_the_right_size():
    ids = pd.Series([f"{i:06d}" for i in range(20000)])
    groups = control_group(ids, "spring", 0.1)
    assert 0.09 < (groups == "control").mean() < 0.11
    # Same customer, same group, whatever else is in the list or its order.
    subset = ids.iloc[::-7].reset_index(drop=True)
    assert (control_group(subset, "spring", 0.1).to_numpy() == groups.iloc[::-7].to_numpy()).all()
    other = control_group(ids, "autumn", 0.1)
    assert (other != groups).any()
    assert (control_group(ids, "spring", 0.0) == "treatment").all()


def test_recently_contacted_window_is_half_open():
    contacts = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "timestamp": pd.to_datetime(
                ["2024-06-01", "2024-06-02", "2024-07-01", "2024-05-31 23:59"], format="ISO8601"
            ),
        }
    )
    cutoff = pd.Timestamp("2024-07-01")
    # 30 days: [2024-06-01, 2024-07-01): a and b are too recent; c is after the cutoff, d before the window.
    assert sorted(recently_contacted(contacts, cutoff, 30)) == ["a", "b"]


def test_groups_hashed_in_batches_are_those_of_each_id_alone(monkeypatch):
    ids = pd.Series([f"c{i}" for i in range(10)], dtype="string")
    one_batch = control_group(ids, "spring", 0.5)
    monkeypatch.setattr(control, "_HASH_ROWS", 3)
    assert control_group(ids, "spring", 0.5).tolist() == one_batch.tolist()
    alone = [control_group(ids.iloc[[i]], "spring", 0.5).iloc[0] for i in range(len(ids))]
    assert one_batch.tolist() == alone
    assert set(alone) == {"control", "treatment"}
