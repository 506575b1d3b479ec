"""Fixtures several test modules share."""

import pytest


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A fresh runs folder, in quick mode (``fit_resumable`` saves checkpoints there)."""
    folder = tmp_path / "runs"
    monkeypatch.setenv("COURSE_RUNS_DIR", str(folder))
    monkeypatch.setenv("COURSE_QUICK", "1")
    return folder
