"""dvc.yaml's code deps cannot drift from the code: every module a stage's command imports
(at the top or inside a function) is listed, so editing it reruns the stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from tests.dvc_deps import SRC, import_closure

ROOT = Path(__file__).resolve().parents[1]
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _code_deps(stage: dict) -> list[Path]:
    deps = [next(iter(d)) if isinstance(d, dict) else d for d in stage["deps"]]
    return [ROOT / d for d in deps if d.startswith("src/")]


def _has_code(file: Path) -> bool:
    """More than a docstring (package __init__ files here hold none)."""
    body = ast.parse(file.read_text(encoding="utf-8")).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


def _covered(file: Path, deps: list[Path]) -> bool:
    return any(file == d or file.is_relative_to(d) for d in deps)


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_module_a_stage_imports_is_a_dependency(name):
    stage = STAGES[name]
    assert stage["cmd"] == f"churn {name}"
    deps = _code_deps(stage)
    assert all(d.exists() for d in deps), [str(d) for d in deps if not d.exists()]
    needed = {f for f in import_closure(f"churn.stages.{name}") if f.name != "__init__.py" or _has_code(f)}
    missing = sorted(str(f.relative_to(ROOT)) for f in needed if not _covered(f, deps))
    assert not missing, f"dvc.yaml stage {name} misses code it imports: {missing}"


def test_the_closure_follows_imports_inside_functions():
    # inputs.model imports churn.tracking only when a model URI is given; it still counts.
    closure = import_closure("churn.inputs.model")
    assert SRC / "churn" / "tracking.py" in closure
    assert SRC / "churn" / "modeling" / "bgnbd.py" in closure  # through modeling.model


def test_editing_what_decides_the_model_features_reruns_train():
    # features/season.py decides which columns the model uses; train must list it.
    train = _code_deps(STAGES["train"])
    assert _covered(SRC / "churn" / "features" / "season.py", train)
    assert _covered(SRC / "churn" / "features" / "snapshots.py", train)


def _outs(stage: dict) -> list[tuple[str, dict]]:
    return [next(iter(o.items())) if isinstance(o, dict) else (o, {}) for o in stage.get("outs", [])] + [
        next(iter(m.items())) if isinstance(m, dict) else (m, {}) for m in stage.get("metrics", [])
    ]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_outputs_dvc_cannot_restore_are_never_deleted_before_a_run(name):
    """DVC deletes a stage's outputs before running it; one it does not cache would be lost
    for good if the run were killed, so each such output persists (the stage replaces it atomically)."""
    uncached = [path for path, opts in _outs(STAGES[name]) if opts.get("cache") is False]
    assert all(dict(_outs(STAGES[name]))[p].get("persist") for p in uncached), uncached


def test_every_data_param_ingest_reads_is_listed():
    from churn.config import DataSettings

    listed = set(STAGES["ingest"]["params"])
    read = {f"data.{k}" for k in DataSettings.model_fields}
    assert read - {"data.source"} <= listed | {"data.columns"}, sorted(read - listed)
