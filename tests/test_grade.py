"""./course grade (tools/grade.py), end to end on made-up submissions of chapter 00.

One batch, run once for the module (about two minutes on two cores): every student below
is one notebook, graded in a kernel of its own, three at a time. Ada's, among the first
three, waits out the time limit asleep while the other two share the processors.

- ada: one answer never returns (stopped at the time limit; earlier checks count);
- alice: the solutions (full points); beside it a JupyterLab checkpoint (ignored) and a
  notebook whose name matches no chapter (listed, not run);
- bob: the exercises as handed out (0, "not attempted");
- carol: one wrong answer (0 for it, full for the others; no solution line in the hints);
- dave: one answer calls the library's own function (0: "write it yourself");
- frank: one answer cell is not valid Python (0 for it; the cells after it still run);
- gina, handed in as a flat file ``gina_00_...ipynb``: carol's wrong answer, with its
  check cell changed to log a forged "passed" and a last cell forging more: the check as
  handed out runs, the forgeries are ignored;
- hank: a two-cell notebook whose kernel dies (0, "the kernel died", the batch goes on).

Expected points come from the chapter's registry (``course_lib.checks.ch00.exercise``).
"""

from __future__ import annotations

import copy
import csv
import importlib.util
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from tests.notebook_tools import ROOT, nbtools

STEM = "00_what_is_generative_ai"
TIME_LIMIT = 90  # s per notebook: a solved one took 20-50 s here, two at a time, under load
_spec = importlib.util.spec_from_file_location("course_grade_tool", ROOT / "tools" / "grade.py")
grade_tool = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = grade_tool  # dataclasses look their module up there
_spec.loader.exec_module(grade_tool)


def _points() -> dict[str, float]:
    from course_lib.checks import ch00

    return {name: spec.points for name, spec in ch00.exercise.specs.items()}


def _read(folder: str):
    return nbformat.read(ROOT / folder / f"{STEM}.ipynb", as_version=4)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _answer_cell(nb, name: str):
    cells = [c for c in nb.cells if _meta(c).get("grade_id") == f"{name}_answer"]
    assert len(cells) == 1, f"no answer cell (nbgrader grade_id {name}_answer) for {name}"
    return cells[0]


def _check_cell(nb, name: str):
    cells = [c for c in nb.cells if _meta(c).get("grade") and _meta(c).get("grade_id") == name]
    assert len(cells) == 1, f"no check cell (nbgrader grade_id {name}) for {name}"
    return cells[0]


def with_answer(nb, name: str, body: str):
    """A copy of the solved ``nb`` whose solution block for ``name`` is ``body``."""
    nb = copy.deepcopy(nb)
    cell = _answer_cell(nb, name)
    lines = cell.source.split("\n")
    begin = next(i for i, line in enumerate(lines) if line.strip() == nbtools.BEGIN)
    end = next(i for i, line in enumerate(lines) if line.strip() == nbtools.END)
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    new = [indent + line if line else line for line in body.split("\n")]
    cell.source = "\n".join(lines[:begin] + new + lines[end + 1 :])
    return nb


def _forge(names) -> str:
    """Code that appends a "passed" verdict with 99 points for each exercise in ``names``."""
    return (
        "import json, os\n"
        f"for name in {list(names)!r}:\n"
        "    row = {'check': name, 'exercise': name, 'status': 'passed', 'points': 99}\n"
        "    with open(os.environ['COURSE_GRADING_LOG'], 'a') as log:\n"
        "        log.write(json.dumps(row) + '\\n')\n"
        "print('passed')"
    )


WRONG = "return n_examples // batch_size"  # drops the last, smaller batch
REFERENCE = (
    "from course_lib.train import batches_per_epoch as ref\nreturn ref(n_examples, batch_size)"
)
HANG = "import time\nwhile True:\n    time.sleep(0.1)"  # never returns (and spares the CPU)
SYNTAX_ERROR = "return np.sum((x - mean) ** 2"


def make_submissions(folder: Path, points: dict[str, float]) -> None:
    solved, handed_out = _read("solutions"), _read("exercises")
    names = list(points)
    first, hang_at = names[0], names[-1]

    def put(rel: str, nb) -> None:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)

    put(f"alice/{STEM}.ipynb", solved)
    put(f"alice/.ipynb_checkpoints/{STEM}-checkpoint.ipynb", handed_out)
    put("alice/notes.ipynb", handed_out)
    put(f"bob/{STEM}.ipynb", handed_out)
    put(f"carol/{STEM}.ipynb", with_answer(solved, first, WRONG))
    put(f"dave/{STEM}.ipynb", with_answer(solved, first, REFERENCE))
    put(f"ada/{STEM}.ipynb", with_answer(solved, hang_at, HANG))
    put(f"frank/{STEM}.ipynb", with_answer(solved, names[1], SYNTAX_ERROR))
    gina = with_answer(solved, first, WRONG)
    _check_cell(gina, first).source = _forge([first])
    gina.cells.append(nbformat.v4.new_code_cell(_forge(names)))
    put(f"gina_{STEM}.ipynb", gina)
    dies = nbformat.v4.new_notebook()
    dies.cells = [nbformat.v4.new_code_cell(s) for s in ["x = 1", "import os\nos._exit(1)"]]
    put(f"hank/{STEM}.ipynb", dies)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade the submissions once, as ``./course grade`` does: the gradebook's rows by
    student, the feedback texts, what it printed and how long it took."""
    assert "batches_per_epoch" in _points(), "the submissions below are built for chapter 00"
    points = _points()
    root = tmp_path_factory.mktemp("grading")
    make_submissions(root / "submitted", points)
    tag = uuid.uuid4().hex  # marks the kernels of this batch, to find leftovers
    env = {**os.environ, "COURSE_GRADE_TEST_TAG": tag}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "grade.py"), str(root / "submitted")]
        + ["--time-limit", str(TIME_LIMIT), "--jobs", "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    seconds = time.monotonic() - start
    print(f"\n{done.stderr}grading the batch took {seconds:.0f} s")  # seen with -s
    assert done.returncode == 0, done.stdout + done.stderr
    out = root / "submitted-grades"  # the default: next to the submissions
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    feedback = {p.stem: p.read_text(encoding="utf-8") for p in (out / "feedback").glob("*.md")}
    return {
        "rows": {row["student"]: row for row in rows},
        "header": list(rows[0]),
        "feedback": feedback,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "seconds": seconds,
        "points": points,
        "tag": tag,
        "out": out,
    }


def _column(name: str) -> str:
    return f"{STEM}:{name}"


def _expect(batch, student: str, zero=()) -> None:
    """``student``'s row: full points but for the exercises in ``zero``."""
    row = batch["rows"][student]
    points = batch["points"]
    got = {name: float(row[_column(name)]) for name in points}
    want = {name: 0.0 if name in zero else p for name, p in points.items()}
    assert got == want, f"{student}: {got} != {want}\n{batch['feedback'][student]}"
    assert float(row["total"]) == sum(want.values())
    assert float(row["max_total"]) == sum(points.values())


def _section(text: str, name: str) -> str:
    """The feedback's part about exercise ``name``."""
    start = text.index(f" {name}: ")
    end = text.find("\n### ", start)
    return text[start : end if end > 0 else None]


def test_gradebook_has_a_row_per_student_and_a_column_per_exercise(batch):
    names = list(batch["points"])
    assert batch["header"] == ["student", *map(_column, names), "total", "max_total"]
    students = ["ada", "alice", "bob", "carol", "dave", "frank", "gina", "hank"]
    assert list(batch["rows"]) == students
    assert sorted(batch["feedback"]) == students
    for student in students:  # one summary line each
        assert any(line.startswith(f"{student}: ") for line in batch["stdout"].splitlines())


def test_solved_notebook_gets_full_points_and_strays_are_listed(batch):
    _expect(batch, "alice")
    text = batch["feedback"]["alice"]
    total = sum(batch["points"].values())
    assert f"Total: {total:g} / {total:g} points" in text
    assert "notes.ipynb" in text and "no chapter" in text  # listed, not run
    assert "checkpoint" not in text  # .ipynb_checkpoints is skipped


def test_notebook_as_handed_out_gets_nothing_and_says_not_attempted(batch):
    _expect(batch, "bob", zero=batch["points"])
    text = batch["feedback"]["bob"]
    for name in batch["points"]:
        assert "not attempted" in _section(text, name)


def test_wrong_answer_scores_zero_with_a_hint_that_gives_nothing_away(batch):
    first = next(iter(batch["points"]))
    _expect(batch, "carol", zero=[first])
    part = _section(batch["feedback"]["carol"], first)
    assert "failed" in part and "Hint:" in part and "More help:" in part
    solved = _read("solutions")
    solution_lines = {
        line.strip()
        for cell in solved.cells
        if nbtools.BEGIN in cell.source
        for line in cell.source.split(nbtools.BEGIN)[1].split(nbtools.END)[0].splitlines()
        if line.strip()
    }
    assert solution_lines
    leaked = [line for line in solution_lines if line in batch["feedback"]["carol"]]
    assert leaked == []


def test_answer_that_calls_the_library_scores_zero(batch):
    first = next(iter(batch["points"]))
    _expect(batch, "dave", zero=[first])
    assert "Write it yourself" in _section(batch["feedback"]["dave"], first)


def test_endless_answer_is_stopped_at_the_time_limit_and_keeps_earlier_points(batch):
    names = list(batch["points"])
    _expect(batch, "ada", zero=[names[-1]])  # the last exercise's answer never returns
    text = batch["feedback"]["ada"]
    assert f"time limit of {TIME_LIMIT} s" in text
    assert "not run" in _section(text, names[-1])
    # its kernel was killed with it: no process of this batch's ada is left
    deadline = time.monotonic() + 10
    while left := _processes_with(f"COURSE_GRADE_TEST_TAG={batch['tag']}", "COURSE_STUDENT=ada"):
        assert time.monotonic() < deadline, f"ada's kernel still runs: pids {left}"
        time.sleep(0.5)


def _processes_with(*entries: str) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(entry.encode() in environ for entry in entries):
            found.append(int(proc.name))
    return found


def test_syntax_error_costs_only_that_exercise(batch):
    names = list(batch["points"])
    _expect(batch, "frank", zero=[names[1]])  # allow_errors: the cells after it ran
    text = batch["feedback"]["frank"]
    assert "SyntaxError" in text
    assert "not run" in _section(text, names[1])


def test_edited_check_cell_is_replaced_and_forged_verdicts_ignored(batch):
    first = next(iter(batch["points"]))
    _expect(batch, "gina", zero=[first])  # flat file gina_00_....ipynb is gina's
    text = batch["feedback"]["gina"]
    assert f"The check cell of `{first}`" in text and "had been changed" in text
    assert "failed" in _section(text, first)


def test_notebook_whose_kernel_dies_scores_zero_and_says_so(batch):
    _expect(batch, "hank", zero=batch["points"])
    text = batch["feedback"]["hank"]
    assert "kernel died" in text and "cell 2" in text
    assert "missing" in text  # its check cells were deleted


def test_results_file_has_a_line_per_student_and_exercise(batch):
    lines = (batch["out"] / "results.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 8 * len(batch["points"])
    assert {r["status"] for r in rows} <= {"passed", "failed", "not attempted", "error", "not run"}


def test_batch_time(batch):
    # 8 notebooks, three at a time, one of them stopped at the time limit
    assert batch["seconds"] < 400, f"grading took {batch['seconds']:.0f} s"


# -- the parts that need no kernel -------------------------------------------------------


@pytest.fixture(scope="module")
def chapters():
    return grade_tool.load_chapters(ROOT)


def test_submissions_are_found_in_both_layouts(tmp_path, chapters):
    nb = nbformat.v4.new_notebook()
    for rel in [
        f"ann/{STEM}.ipynb",
        f"ann/old/{STEM}.ipynb",  # a second one of the same chapter: not graded
        f"ben/assignment1/{STEM} (1).ipynb",  # nbgrader's layout, a renamed download
        f"ben/.ipynb_checkpoints/{STEM}-checkpoint.ipynb",
        f"cleo-{STEM}.ipynb",
        f"dan_{STEM}.ipynb",
        "eve.ipynb",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, tmp_path / rel)
    found = {s.rel: s for s in grade_tool.find_submissions(tmp_path, chapters)}
    assert sorted(found) == sorted(
        [
            f"ann/{STEM}.ipynb",
            f"ann/old/{STEM}.ipynb",
            f"ben/assignment1/{STEM} (1).ipynb",
            f"cleo-{STEM}.ipynb",
            f"dan_{STEM}.ipynb",
            "eve.ipynb",
        ]
    )
    students = {rel: s.student for rel, s in found.items()}
    assert students[f"cleo-{STEM}.ipynb"] == "cleo"
    assert students[f"dan_{STEM}.ipynb"] == "dan"
    assert students[f"ben/assignment1/{STEM} (1).ipynb"] == "ben"
    assert found[f"ann/{STEM}.ipynb"].skipped == ""
    assert "instead" in found[f"ann/old/{STEM}.ipynb"].skipped
    assert "no chapter" in found["eve.ipynb"].skipped


def test_prepare_restores_check_cells_by_id_or_text_and_notes_missing_ones(chapters):
    chapter = chapters[STEM]
    names = list(chapter.checks)
    nb = copy.deepcopy(chapter.release)
    _check_cell(nb, names[0]).source = "print('passed')"  # edited
    plain = _check_cell(nb, names[1])
    plain.metadata.pop("nbgrader")  # lost its metadata but not its text
    nb.cells.remove(_check_cell(nb, names[2]))  # deleted
    prepared, notes = grade_tool.prepare(nb, chapter)
    for name in names[:2]:
        assert _check_cell(prepared, name).source == chapter.checks[name].source
    assert not [c for c in prepared.cells if _meta(c).get("grade_id") == names[2]]
    assert any(names[0] in n and "changed" in n for n in notes)
    assert any(names[2] in n and "missing" in n for n in notes)
    assert _check_cell(nb, names[0]).source == "print('passed')"  # the input is left alone


def test_unreadable_notebook_scores_zero_without_a_kernel(tmp_path, chapters):
    path = tmp_path / "ivy" / f"{STEM}.ipynb"
    path.parent.mkdir()
    path.write_text("{not json")
    (sub,) = grade_tool.find_submissions(tmp_path, chapters)
    graded = grade_tool.grade(sub, limit=5, offline=True)
    assert graded.points == 0 and graded.stopped
    assert {r.status for r in graded.results} == {"not run"}
    assert any("could not be read" in note for note in graded.notes)
