"""churn-pipeline: point-in-time churn prediction, customer value and retention actions."""

import os
import platform

# Set before any library reads them (mlflow reads these when imported):
# nothing phones home, and no download bars between a stage's lines.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# LightGBM's OpenMP threads wait passively for work: spinning while another process holds a
# core burned CPU for nothing and made training several times slower on a busy machine.
# Read when lightgbm loads; the trees are the same either way.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# numpy's AVX-512 exp, log, log1p, expm1 and power round differently from the libm that
# every other x86-64 machine uses, in the last bit, and that bit reached metrics.json (and
# could reach a tree split). Without them, every x86-64 machine computes the same numbers and
# a fresh clone reproduces the committed dvc.lock. Read when numpy loads; costs little here.
if platform.machine().lower() in ("x86_64", "amd64"):
    _off = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split()
    os.environ["NPY_DISABLE_CPU_FEATURES"] = " ".join(dict.fromkeys([*_off, "X86_V4", "AVX512_ICL", "AVX512_SPR"]))
