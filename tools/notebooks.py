"""Keep the course's notebooks tidy: strip outputs, generate exercises, check both.

    python tools/notebooks.py strip [NOTEBOOK...]   clear outputs (all notebooks by default)
    python tools/notebooks.py exercises             write exercises/ from solutions/
    python tools/notebooks.py check                 exit 1 if anything above is out of date

Notebooks are committed without outputs or execution counts (what ``nbstripout
--keep-id`` leaves). What a cell must compute is tested in ``tests/``, not by comparing
stored outputs.

Every check cell (``check.NAME(...)``) carries nbgrader's metadata (``grade``,
``grade_id`` = NAME, ``points`` from the chapter's registry ``course_lib.checks.chNN.
exercise``), and every answer cell nbgrader's ``solution`` metadata, so nbgrader can take
the notebooks as they are. ``strip`` and ``exercises`` write it; ``check`` compares.

Exercises are made from ``solutions/``: each block between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` becomes a stub that raises ``NotImplementedError``, at the block's
indentation. Blocks must sit inside a function body, so an unfinished exercise notebook
still runs to the end and every check can report "not attempted".
"""

from __future__ import annotations

import copy
import importlib
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("notebooks", "solutions", "exercises")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: replace this line with your code")'


CHECK_CALL = re.compile(r"^check\.(\w+)\(", re.MULTILINE)
ANSWER_DEF = re.compile(r"^def (\w+)\(", re.MULTILINE)


class SolutionMarkerError(ValueError):
    """A solution notebook's markers are unbalanced or a block is not inside a function."""


def all_notebooks() -> list[Path]:
    return sorted(p for d in NOTEBOOK_DIRS for p in (ROOT / d).glob("*.ipynb"))


def strip(nb):
    """Return a copy of ``nb`` without outputs, execution counts or run metadata."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    return nb


def chapter_points(stem: str) -> dict[str, float]:
    """Each exercise of chapter ``stem`` and its points, from its check module's registry."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = importlib.import_module(f"course_lib.checks.ch{stem[:2]}")
    registry = getattr(module, "exercise", None)
    if registry is None:
        raise SolutionMarkerError(f"course_lib.checks.ch{stem[:2]} has no `exercise` registry")
    return {name: spec.points for name, spec in registry.specs.items()}


def tag_for_nbgrader(nb, points: dict[str, float], name: str = "notebook"):
    """Put nbgrader's metadata on the check cells and the answer cells of ``nb`` (in place).

    Every check cell must name a registered exercise, and every registered exercise must
    have exactly one check cell.
    """
    seen = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("nbgrader", None)
        called = CHECK_CALL.findall(cell.source)
        if called:
            if len(called) > 1:
                raise SolutionMarkerError(f"{name} cell {index}: one check per cell, got {called}")
            exercise = called[0]
            if exercise not in points:
                raise SolutionMarkerError(
                    f"{name} cell {index}: check.{exercise} is not a registered exercise "
                    f"(known: {sorted(points)})"
                )
            seen.append(exercise)
            cell.metadata["nbgrader"] = {
                "grade": True,
                "grade_id": exercise,
                "locked": True,
                "points": points[exercise],
                "schema_version": 3,
                "solution": False,
                "task": False,
            }
        elif BEGIN in cell.source or STUB in cell.source:
            defined = ANSWER_DEF.findall(cell.source)
            cell.metadata["nbgrader"] = {
                "grade": False,
                "grade_id": f"{defined[0] if defined else f'cell{index}'}_answer",
                "locked": False,
                "schema_version": 3,
                "solution": True,
                "task": False,
            }
    missing = sorted(set(points) - set(seen))
    doubled = sorted({e for e in seen if seen.count(e) > 1})
    if missing or doubled:
        raise SolutionMarkerError(
            f"{name}: exercises without a check cell {missing}; checked twice {doubled}"
        )
    return nb


def stub_source(source: str, where: str) -> str:
    """Replace each solution block of one cell's source by an indented stub."""
    out, inside, indent = [], False, ""
    for lineno, line in enumerate(source.split("\n"), 1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise SolutionMarkerError(f"{where}, line {lineno}: BEGIN SOLUTION inside a block")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise SolutionMarkerError(
                    f"{where}, line {lineno}: a solution block must be inside a function body "
                    "(indented), so the exercise notebook still runs when it is a stub"
                )
            inside = True
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}{STUB}")
        elif marker == END:
            if not inside:
                raise SolutionMarkerError(f"{where}, line {lineno}: END SOLUTION without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: BEGIN SOLUTION is never closed")
    return "\n".join(out)


def make_exercise(solution_nb, name: str = "notebook"):
    """The exercise version of a solution notebook (stripped, solutions stubbed)."""
    nb = strip(solution_nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (BEGIN in cell.source or END in cell.source):
            cell.source = stub_source(cell.source, f"{name} cell {index}")
    return nb


def count_solution_blocks(nb) -> int:
    return sum(c.source.count(BEGIN) for c in nb.cells if c.cell_type == "code")


def _dump(nb) -> str:
    return nbformat.writes(nb) + "\n"


def _expected_files() -> dict[Path, str]:
    """Every notebook path and the text it should have on disk."""
    files = {}
    for path in all_notebooks():
        if path.parent.name == "notebooks":
            files[path] = _dump(strip(nbformat.read(path, as_version=4)))
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        points = chapter_points(path.stem)
        solution = tag_for_nbgrader(strip(nbformat.read(path, as_version=4)), points, path.name)
        files[path] = _dump(solution)
        files[ROOT / "exercises" / path.name] = _dump(make_exercise(solution, path.name))
    return files


def problems() -> list[str]:
    """What `check` complains about: stale exercises, stray ones, notebooks with outputs."""
    found = []
    expected = _expected_files()
    for path, text in expected.items():
        rel = path.relative_to(ROOT)
        if not path.exists():
            found.append(f"{rel} is missing (run: python tools/notebooks.py exercises)")
        elif path.read_text(encoding="utf-8") != text:
            fix = "strip" if path.parent.name == "notebooks" else "exercises"
            found.append(
                f"{rel} is not clean or out of date (run: python tools/notebooks.py {fix})"
            )
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        if path not in expected:
            found.append(f"{path.relative_to(ROOT)} has no solution notebook it was made from")
    return found


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"strip", "exercises", "check"}:
        print(__doc__)
        return 2
    command, paths = argv[0], [Path(p).resolve() for p in argv[1:]]
    if command == "strip":
        for path in paths or [p for p in all_notebooks() if p.parent.name != "exercises"]:
            path.write_text(_dump(strip(nbformat.read(path, as_version=4))), encoding="utf-8")
        command = "exercises"  # exercises (and the solutions' nbgrader tags) follow
    if command == "exercises":
        (ROOT / "exercises").mkdir(exist_ok=True)
        for path, text in _expected_files().items():
            if path.parent.name != "notebooks":
                path.write_text(text, encoding="utf-8")
        return 0
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
