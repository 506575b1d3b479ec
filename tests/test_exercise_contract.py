"""What every chapter's graded exercises promise, checked for all chapters at once.

For each exercise of each ``course_lib.checks.chNN`` registry:

* the answer written in ``solutions/<stem>.ipynb`` (its import cell, then its solution
  cells, run as the notebook runs them) passes its check;
* an untouched exercise (the ``NotImplementedError`` stub the exercise notebook ships)
  is "not attempted", with no points, not "failed";
* no hint holds a line of the solution;
* the ``see`` heading (the second-level hint) is a heading of the chapter's notebook.

The chapter test files keep what is each chapter's own: the reference answers, the
known wrong answers that must fail, answers that call the library.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from functools import cache
from pathlib import Path

import pytest

from course_lib import checks, grading

ROOT = Path(__file__).resolve().parents[1]

MODULES = {
    info.name: importlib.import_module(f"course_lib.checks.{info.name}")
    for info in sorted(pkgutil.iter_modules(checks.__path__), key=lambda m: m.name)
    if re.fullmatch(r"ch\d\d", info.name)
}
CASES = [
    (module_name, name) for module_name, module in MODULES.items() for name in module.exercise.specs
]


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """No strict grading mode and no grading log from the environment."""
    for variable in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(variable, raising=False)


def _ids(case):
    return f"{case[0]}-{case[1]}"


@cache
def _code_cells(stem: str) -> tuple[str, ...]:
    nb = json.loads((ROOT / "solutions" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return tuple("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def _solution_blocks(stem: str, name: str | None = None) -> list[str]:
    """The answers between the markers; with ``name``, only in the cell defining it."""
    return [
        block
        for source in _code_cells(stem)
        if name is None or f"def {name}(" in source
        for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", source, re.S)
    ]


def solution_namespace(stem: str) -> dict:
    """The names the solution notebook defines: its checks import, then its answers."""
    cells = _code_cells(stem)
    imports = [c for c in cells if "from course_lib.checks import" in c][:1]
    namespace: dict = {}
    for source in imports + [c for c in cells if "### BEGIN SOLUTION" in c]:
        exec(compile(source, f"<solutions/{stem}.ipynb>", "exec"), namespace)
    return namespace


def solution_lines(stem: str, name: str | None = None) -> set[str]:
    """The lines of the solution notebook's answers (of exercise ``name``, or all),
    stripped, 12 characters or more."""
    return {
        line.strip()
        for block in _solution_blocks(stem, name)
        for line in block.splitlines()
        if len(line.strip()) >= 12
    }


def test_every_chapter_with_exercises_is_here():
    assert len(MODULES) >= 8 and {"ch00", "ch05", "ch12", "ch13"} <= set(MODULES)
    for module in MODULES.values():
        assert (ROOT / "solutions" / f"{module.exercise.notebook}.ipynb").exists()
        assert _solution_blocks(module.exercise.notebook), module.exercise.notebook


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_the_solution_notebooks_answer_passes(case):
    module_name, name = case
    module = MODULES[module_name]
    answer = solution_namespace(module.exercise.notebook)[name]
    verdict = getattr(module, name)(answer)
    assert verdict.status == grading.PASSED, verdict.message
    assert verdict.points == verdict.max_points > 0


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_an_untouched_exercise_is_not_attempted(case):
    module_name, name = case

    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise: replace this line with your code")

    verdict = getattr(MODULES[module_name], name)(stub)
    assert verdict.status == grading.NOT_ATTEMPTED, verdict.message
    assert verdict.points == 0


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_no_hint_shows_a_line_of_the_solution(case):
    module_name, name = case
    registry = MODULES[module_name].exercise
    hint = registry.specs[name].hint
    assert hint and solution_lines(registry.notebook, name), name
    leaked = [line for line in solution_lines(registry.notebook) if line in hint]
    assert not leaked, leaked
    assert "np." not in hint and "tf." not in hint, f"{name}'s hint shows code: {hint}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_the_second_hint_points_at_a_cell_of_the_chapter(case):
    module_name, name = case
    registry = MODULES[module_name].exercise
    see = registry.specs[name].see
    cell = grading.find_cell(registry.notebook, see)
    assert cell is not None, f"{name}: {see!r} is not in notebooks/{registry.notebook}"
    assert f"cell {cell}" in registry.pointer(see)
