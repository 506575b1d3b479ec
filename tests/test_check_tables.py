"""The tests every chapter's exercise checks share, run over each chapter's tables.

Each ``tests/test_checks_chNN.py`` of chapters 05-09 lists its exercises' ``POINTS``,
``REFERENCE`` answers (copies of the solution notebook's), ``LIBRARY`` answers (that call
the library's own function), ``WRONG`` answers (each with why it is wrong) and ``run``
(a check applied to an answer), and keeps only the tests of its own chapter. Here, for
every chapter: each exercise is registered with its points, the reference passes with
full points, calling the library fails with "Write it yourself", and every known wrong
answer fails with 0 points (``WRONG_MAY_ERROR``: an error verdict counts as failing too).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from course_lib import grading

ROOT = Path(__file__).resolve().parents[1]
TABLES = {
    n: importlib.import_module(f"tests.test_checks_ch{n}")
    for n in ("05", "06", "07", "08", "09", "10")
}


def cases(table: str) -> list:
    return [
        pytest.param(n, *row, id=f"ch{n}-{row[0]}" if len(row) == 1 else f"ch{n}-{row[0]}-{row[1]}")
        for n, t in TABLES.items()
        for row in (sorted((name,) for name in t.POINTS) if table == "names" else t.WRONG)
    ]


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("chapter", sorted(TABLES))
def test_every_exercise_is_registered_with_its_points_and_wrong_answers(chapter):
    t = TABLES[chapter]
    module = importlib.import_module(f"course_lib.checks.ch{chapter}")
    assert {name: spec.points for name, spec in module.exercise.specs.items()} == t.POINTS
    assert module.exercise.notebook == t.STEM
    assert (ROOT / "notebooks" / f"{t.STEM}.ipynb").exists()
    assert {name for name, _, _ in t.WRONG} == set(t.POINTS)


@pytest.mark.parametrize("chapter, name", cases("names"))
def test_reference_solution_passes(chapter, name):
    t = TABLES[chapter]
    verdict = t.run(name, t.REFERENCE[name])
    assert verdict.status == grading.PASSED, verdict.message
    assert verdict.points == t.POINTS[name]


@pytest.mark.parametrize("chapter, name", cases("names"))
def test_calling_the_library_fails(chapter, name):
    verdict = TABLES[chapter].run(name, TABLES[chapter].LIBRARY[name])
    assert verdict.status == grading.FAILED, (verdict.status, verdict.message)
    assert "Write it yourself" in verdict.message and verdict.points == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("chapter, name, why, answer", cases("wrong"))
def test_wrong_answer_does_not_pass(chapter, name, why, answer):
    t = TABLES[chapter]
    verdict = t.run(name, answer)
    failing = (
        (grading.FAILED, grading.ERROR)
        if getattr(t, "WRONG_MAY_ERROR", False)
        else (grading.FAILED,)
    )
    assert verdict.status in failing, f"{name}: '{why}' passed"
    assert verdict.points == 0
