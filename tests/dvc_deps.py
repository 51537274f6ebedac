"""The code each DVC stage runs, found from its imports (no code is executed)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(file: Path) -> set[str]:
    """Every churn module `file` imports, at the top or inside a function."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    package = ".".join(file.relative_to(SRC).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "churn"}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*parts, module] if module else parts)
            if module.split(".")[0] != "churn":
                continue
            out.add(module)
            out |= {f"{module}.{a.name}" for a in node.names if _module_file(f"{module}.{a.name}")}
    return out


def import_closure(module: str) -> set[Path]:
    """The files of `module` and of every churn module it reaches, parents' __init__ included."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            file = _module_file(".".join(parts[:i]))
            if file is None or file in seen:
                continue
            seen.add(file)
            todo.extend(_imported(file))
    return seen
