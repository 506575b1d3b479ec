"""Test-wide settings: quick mode, quiet TensorFlow, no windows, throwaway checkpoints,
and solution notebooks whose checks must pass.

These are set before any test module (or nbval's notebook kernels, which inherit the
environment) imports TensorFlow.
"""

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("COURSE_QUICK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COURSE_RUNS_DIR", tempfile.mkdtemp(prefix="course-runs-"))


# -- solution notebooks run strict under nbval ----------------------------------------------
#
# nbval runs every notebook in solutions/ (./course test passes the folder). There the
# exercise checks run with COURSE_STRICT=1, so a check that does not pass raises in its
# cell and fails the run: nbval itself proves that every solution passes its checks, and
# tests/test_exercises.py only has to run the exercises as handed out.

SOLUTIONS_DIR = Path(__file__).resolve().parent / "solutions"
_STRICT = "COURSE_STRICT"


def _is_solution_cell(item) -> bool:
    path = Path(str(getattr(item, "path", "")))
    return path.suffix == ".ipynb" and path.resolve().parent == SOLUTIONS_DIR


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # before the notebook's kernel starts (in its first cell's setup), which inherits it
    if _is_solution_cell(item):
        item._course_strict_before = os.environ.get(_STRICT)
        os.environ[_STRICT] = "1"


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    if _is_solution_cell(item):
        before = getattr(item, "_course_strict_before", None)
        if before is None:
            os.environ.pop(_STRICT, None)
        else:
            os.environ[_STRICT] = before
