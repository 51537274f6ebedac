"""Stage `generate`: write the built-in synthetic world (only when data.source = synthetic)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.config import Params
from churn.data.synthetic import generate_world


def run(root: Path, params: Params) -> dict:
    """Write transactions, events and customers CSVs to data/raw/synthetic/ and the ground
    truth (true stop dates; per campaign contact, the chance of a purchase with and without the
    action) to data/truth/, which the pipeline never reads."""
    g = params.generate
    manifest: dict = {"source": params.data.source, "files": {}}
    with io.atomic_dir(root / layout.RAW_SYNTHETIC) as out:
        if params.data.source == "synthetic":
            world = generate_world(g.n_customers, g.start_date, g.days, g.seed)
            tables = {
                "transactions.csv": world.transactions,
                "events.csv": world.events,
                "customers.csv": world.customers,
                "contacts.csv": world.contacts,
            }
            for name, frame in tables.items():
                io.write_table(frame, out / name)
                manifest["files"][name] = len(frame)
            manifest.update(seed=g.seed, n_customers=g.n_customers, start_date=str(g.start_date), days=g.days)
            io.write_table(world.truth, root / layout.TRUTH)
            io.write_table(world.campaign_truth, root / layout.CAMPAIGN_TRUTH)
            manifest["campaigns"] = int(world.campaign_truth["campaign"].nunique())
        else:
            # Your own data is in use: keep the stage's output, but generate nothing.
            io.write_table(_no_truth(), root / layout.TRUTH)
            io.write_table(pd.DataFrame({"campaign": pd.Series(dtype="string")}), root / layout.CAMPAIGN_TRUTH)
        io.write_json(manifest, out / "manifest.json")
    return manifest


def _no_truth() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(dtype="string"), "stop_date": pd.Series(dtype="datetime64[ns]")})
