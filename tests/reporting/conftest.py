"""One `dvc repro` of a small synthetic world, shared by the page and notebook tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.projects import new_project


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory) -> Path:
    """A fresh copy of the project with a 2,000-customer world, after one `dvc repro`."""
    return new_project(tmp_path_factory.mktemp("report_project"), notebooks=True)
