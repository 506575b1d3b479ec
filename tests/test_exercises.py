"""The exercise pipeline: generated exercises are in sync, every exercise has a check, and
every stub fails its check by raising NotImplementedError (and nothing else). That the
solutions pass every check is nbval's part: it runs solutions/ strict (the root conftest.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.notebook_tools import ROOT, nbtools

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_there_is_a_solution_and_an_exercise_per_chapter_notebook():
    chapters = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert chapters, "no chapter notebooks found"
    assert {p.name for p in SOLUTIONS} == chapters
    assert {p.name for p in (ROOT / "exercises").glob("*.ipynb")} == chapters


def test_notebooks_are_clean_and_exercises_up_to_date():
    assert nbtools.problems() == []


def _grade(path: Path, tmp_path: Path) -> list[dict]:
    """Run one notebook in quick mode and return the verdicts its checks logged."""
    log = tmp_path / f"{path.parent.name}-{path.stem}.jsonl"
    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("COURSE_GRADING_LOG")
    os.environ["COURSE_GRADING_LOG"] = str(log)
    try:
        NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        if env_before is None:
            os.environ.pop("COURSE_GRADING_LOG")
        else:
            os.environ["COURSE_GRADING_LOG"] = env_before
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _check_cells(nb) -> list[str]:
    """The exercises whose check cells the notebook has, in order (nbgrader's grade_id)."""
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_stubs_fail_with_not_implemented_and_every_exercise_has_its_check(solution, tmp_path):
    # That each solution *passes* its checks is proven by nbval, which runs solutions/
    # with COURSE_STRICT=1 (the root conftest.py): a check that does not pass raises there.
    nb = nbformat.read(solution, as_version=4)
    blocks = nbtools.count_solution_blocks(nb)
    assert blocks >= 2, "each chapter needs at least two graded exercises"
    checks = _check_cells(nb)
    assert len(checks) >= blocks, f"only {len(checks)} check cells for {blocks} exercises"
    registered = list(nbtools.chapter_points(solution.stem))
    assert sorted(checks) == sorted(registered), "check cells and the chapter's registry differ"

    unsolved = _grade(ROOT / "exercises" / solution.name, tmp_path)
    assert [v["check"] for v in unsolved] == checks
    assert [v["status"] for v in unsolved] == ["not attempted"] * len(unsolved), unsolved


def _nb(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_generator_replaces_blocks_by_indented_stubs():
    source = (
        "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    )
    cell = nbtools.make_exercise(_nb(source)).cells[0]
    assert "return x + y" not in cell.source
    assert "    y = 1" in cell.source
    assert f"    {nbtools.STUB}" in cell.source
    namespace = {}
    exec(cell.source, namespace)
    with pytest.raises(NotImplementedError):
        namespace["f"](1)


def test_generator_strips_outputs():
    nb = _nb("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n")
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="secret answer 1\n")]
    nb.cells[0].execution_count = 3
    cell = nbtools.make_exercise(nb).cells[0]
    assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "inside a function"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", "without BEGIN"),
    ],
)
def test_generator_rejects_bad_markers(source, message):
    with pytest.raises(nbtools.SolutionMarkerError, match=message):
        nbtools.make_exercise(_nb(source))


def test_strip_removes_every_output_and_count():
    nb = _nb("print(1)", "print(2)")
    for cell in nb.cells:
        cell.outputs = [nbformat.v4.new_output("stream", text="x\n")]
        cell.execution_count = 7
    stripped = nbtools.strip(nb)
    assert [(c.outputs, c.execution_count) for c in stripped.cells] == [([], None), ([], None)]
    assert nb.cells[0].outputs  # the original is left alone


def test_committed_notebooks_pass_nbstripout():
    notebooks = [str(p) for p in nbtools.all_notebooks()]
    verify = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--keep-id", "--verify", *notebooks],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, "nbstripout would change:\n" + verify.stdout + verify.stderr


# -- points, nbgrader metadata, running code -----------------------------------------------


def _registry(notebook_path: Path):
    import importlib

    return importlib.import_module(f"course_lib.checks.ch{notebook_path.stem[:2]}").exercise


@pytest.mark.parametrize(
    "path",
    SOLUTIONS + sorted((ROOT / "exercises").glob("*.ipynb")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_every_check_cell_carries_nbgrader_metadata_with_the_registrys_points(path):
    registry = _registry(path)
    nb = nbformat.read(path, as_version=4)
    graded, answers = {}, []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader")
        called = nbtools.CHECK_CALL.findall(cell.source)
        if called:
            assert meta is not None, f"check cell without nbgrader metadata: {cell.source!r}"
            assert meta["grade"] is True and meta["solution"] is False and meta["locked"] is True
            assert meta["grade_id"] == called[0]
            assert meta["schema_version"] == 3
            graded[meta["grade_id"]] = meta["points"]
        elif nbtools.BEGIN in cell.source or nbtools.STUB in cell.source:
            assert meta is not None and meta["solution"] is True and meta["grade"] is False
            answers.append(meta["grade_id"])
        else:
            assert meta is None, f"an ordinary cell with nbgrader metadata: {cell.source[:60]!r}"
    assert graded == {name: spec.points for name, spec in registry.specs.items()}
    assert len(answers) == len(set(answers)) >= len(graded)
    assert registry.notebook == path.stem


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_each_chapter_has_an_exercise_that_writes_running_code(solution):
    kinds = {spec.kind for spec in _registry(solution).specs.values()}
    assert kinds - {"formula"}, f"{solution.stem}: only formulas ({kinds})"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_demo_cells_survive_a_wrong_answer(solution):
    """Cells that use the learner's functions (besides the checks) run them inside
    grading.learner_code, so a wrong or unfinished answer prints one line."""
    nb = nbformat.read(solution, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    answers = [s for s in code if nbtools.BEGIN in s]
    names = [n for s in answers for n in nbtools.ANSWER_DEF.findall(s)]
    for source in code[1:]:
        if source in answers or nbtools.CHECK_CALL.search(source):
            continue
        if any(f"{name}(" in source for name in names):
            assert "grading.learner_code(" in source, source[:200]
