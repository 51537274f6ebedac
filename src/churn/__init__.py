"""churn-pipeline: point-in-time churn prediction, customer value and retention actions."""

import os

# Set before any library reads them (mlflow reads these when imported):
# nothing phones home, and no download bars between a stage's lines.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# LightGBM's OpenMP threads wait passively for work: spinning while another process holds a
# core burned CPU for nothing and made training several times slower on a busy machine.
# Read when lightgbm loads; the trees are the same either way.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
