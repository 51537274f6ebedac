"""Where each stage writes, relative to the project root: one name for each output."""

from pathlib import Path

RAW_SYNTHETIC = Path("data/raw/synthetic")
TRUTH = Path("data/truth/ground_truth.csv")
CAMPAIGN_TRUTH = Path("data/truth/campaigns.csv")
INTERIM = Path("data/interim")
INTERIM_TRANSACTIONS = INTERIM / "transactions.parquet"
INTERIM_EVENTS = INTERIM / "events.parquet"
INTERIM_CUSTOMERS = INTERIM / "customers.parquet"
INTERIM_CONTACTS = INTERIM / "contacts.parquet"
QUARANTINE = INTERIM / "quarantine.csv"
INGEST_REPORT = Path("reports/ingest.json")
SNAPSHOTS = Path("data/processed/snapshots.parquet")
CUTOFFS = Path("data/processed/cutoffs.json")
MODEL = Path("models/model.txt")
MODEL_META = Path("models/model.json")
METRICS = Path("reports/metrics.json")
PLOTS = Path("reports/plots")
FIGURES = Path("reports/figures")
CAMPAIGNS = Path("reports/campaigns.json")
CAMPAIGN_EFFECTS = Path("reports/campaign_effects.csv")
CAMPAIGN_OUTCOMES = Path("data/processed/campaign_outcomes.parquet")
UPLIFT_MODEL = Path("models/uplift.json")
UPLIFT = Path("reports/uplift.json")
UPLIFT_CURVES = Path("reports/uplift")
UPLIFT_QINI = UPLIFT_CURVES / "qini"  # one CSV per targeting rule (DVC plots)
UPLIFT_QINI_FIGURE = UPLIFT_CURVES / "qini.png"
SCORES_CSV = Path("data/scores/churn_scores.csv")
SCORES_PARQUET = Path("data/scores/churn_scores.parquet")
KPIS = Path("reports/kpis.json")
REPORT_DIR = Path("reports/report")
REPORT_PAGE = Path("reports/index.html")
