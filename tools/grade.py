"""Grade a folder of submitted exercise notebooks: a gradebook and one feedback file each.

    python tools/grade.py SUBMISSIONS [--out DIR] [--time-limit SECONDS] [--release DIR]
                                      [--jobs N] [--allow-network]     (or: ./course grade ...)

Where submissions are looked for, in ``SUBMISSIONS``:

- ``SUBMISSIONS/<student>/**/*.ipynb``: the student is the first folder's name (so
  nbgrader's ``submitted/<student>/<assignment>/`` works too);
- ``SUBMISSIONS/*.ipynb``: the student is the file name without ``.ipynb`` and without a
  trailing ``-<chapter>`` or ``_<chapter>`` (``alice_00_what_is_generative_ai.ipynb`` is
  alice's).

Hidden folders (``.ipynb_checkpoints``) are skipped. A notebook belongs to the chapter
whose exercise notebook's name (``00_what_is_generative_ai``) its file name contains;
other files get a line in the student's feedback and are not run. When a student hands
in several notebooks of one chapter, the one nearest the student's folder (then the first
by name) is graded and the others are listed as not graded.

How a notebook is graded:

1. Its check cells (the cells nbgrader's metadata marks ``grade: true``, found by their
   ``grade_id``, or unmarked cells whose text is a check cell's) are replaced by the
   release's own, from ``exercises/<chapter>.ipynb``: an edited check runs as it was
   handed out. A deleted check cell is not put back: that exercise scores 0.
2. It runs in a fresh kernel of its own, in a new empty folder (the student's other files
   are not copied; nothing is written next to the submission), in quick mode
   (``COURSE_QUICK=1``), with ``COURSE_STUDENT``, ``COURSE_NOTEBOOK`` and
   ``COURSE_GRADING_LOG`` set, a throwaway ``COURSE_RUNS_DIR``, and offline: web requests
   go to a proxy that refuses them (``--allow-network`` lifts that). Errors do not stop
   it: every cell runs. The whole notebook has ``--time-limit`` seconds (default 300),
   kernel start included; then its kernel is killed and the verdicts so far count.
   ``--jobs N`` runs N notebooks at once (default 1): they share the processors, so each
   runs slower; give them a longer time limit.
3. An exercise scores the points of the last verdict its own check cell logged (the
   course's checks log one JSON line per verdict); verdicts logged by any other cell are
   ignored, so a student cannot write "passed" lines of their own. No verdict: 0 points,
   "not run", with the reason (the check cell is missing, raised an error, or was never
   reached). An answer cell with a syntax error defines nothing, so its check cell raises
   ``NameError``: that exercise scores 0 and the cells after it still run.

The points of each exercise are those of the chapter's check module
(``course_lib.checks.chNN.exercise``), else the check cells' nbgrader ``points``.

Written to ``--out`` (default: a folder next to SUBMISSIONS named ``<SUBMISSIONS>-grades``):

- ``gradebook.csv``: a row per student (sorted), a column ``<chapter>:<exercise>`` per
  exercise of every chapter anyone handed in, then ``total`` and ``max_total``. A chapter
  a student did not hand in scores 0;
- ``feedback/<student>.md``: the total, then per notebook each exercise's status, points,
  message, hint and where the chapter explains it, and what went wrong while running it
  (which cell raised which error, the time limit, a kernel that died);
- ``results.jsonl``: one JSON line per student and exercise graded: the check's verdict
  (status, points, message, hint, more) or "not run".

One line per student is printed at the end. One notebook that crashes, hangs or cannot be
read never stops the others. Students' code runs with the rights of whoever grades: grade
in a container or a separate account. What this does not stop: code that changes the
course library inside the student's own kernel (as with nbgrader, the kernel is theirs).
"""

from __future__ import annotations

import argparse
import copy
import csv
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TIME_LIMIT = 300.0  # seconds per notebook
NOT_RUN = "not run"
ICONS = {"passed": "✅", "failed": "❌", "not attempted": "⏳", "error": "💥", NOT_RUN: "⛔"}
REFUSING_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, requests fail fast
MAX_ERROR_LINES = 15  # cell errors listed per notebook in the feedback


def say(text: str) -> None:
    print(f"[grade] {text}", file=sys.stderr, flush=True)


def num(x: float) -> str:
    return f"{x:g}"


# -- the release: chapters, their exercises and check cells ------------------------------


@dataclass
class Chapter:
    stem: str  # "00_what_is_generative_ai"
    release: object  # the release's exercise notebook (nbformat)
    points: dict[str, float]  # exercise -> points, in the chapter's order
    checks: dict[str, object] = field(default_factory=dict)  # grade_id -> release check cell
    help: dict[str, tuple[str, str]] = field(default_factory=dict)  # exercise -> (hint, more)

    @property
    def max_points(self) -> float:
        return sum(self.points.values())


def grade_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_check(cell) -> bool:
    meta = grade_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and "grade_id" in meta


def read_notebook(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing cell ids and the like: normalised here
        return nbformat.read(path, as_version=4)


def exercises_folder(release: Path) -> Path:
    """``release`` is a release (or this repository), or its exercises folder itself."""
    release = Path(release)
    return release / "exercises" if (release / "exercises").is_dir() else release


def registry(stem: str):
    """``course_lib.checks.chNN.exercise`` (the chapter's exercises); None if it has none."""
    try:
        found = importlib.import_module(f"course_lib.checks.ch{stem[:2]}").exercise
        found.specs.items()
    except Exception as err:  # noqa: BLE001 (no registry, or it does not import)
        say(
            f"no exercise registry for {stem} ({type(err).__name__}: {err}): "
            "points from the check cells' nbgrader metadata"
        )
        return None
    return found


def load_chapters(release: Path) -> dict[str, Chapter]:
    folder = exercises_folder(release)
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise SystemExit(f"no exercise notebooks in {folder}: pass --release DIR")
    chapters = {}
    for path in paths:
        nb = read_notebook(path)
        checks = {grade_meta(c)["grade_id"]: c for c in nb.cells if is_check(c)}
        found = registry(path.stem)
        if found is None:
            points = {gid: float(grade_meta(c).get("points", 0)) for gid, c in checks.items()}
            hints = {}
        else:
            points = {name: float(spec.points) for name, spec in found.specs.items()}
            hints = {name: (s.hint, found.pointer(s.see)) for name, s in found.specs.items()}
        for name in points:
            if name not in checks:
                say(f"warning: {path.name} has no check cell for {name}: it scores 0 for all")
        chapters[path.stem] = Chapter(path.stem, nb, points, checks, hints)
    return chapters


# -- finding the submissions ------------------------------------------------------------


@dataclass
class Submission:
    student: str
    path: Path  # the submitted notebook
    rel: str  # its path relative to the submissions folder, for the feedback
    chapter: Chapter | None = None
    skipped: str = ""  # why it is not run (unmatched chapter, a duplicate)


def match_chapter(name: str, chapters: dict[str, Chapter]) -> Chapter | None:
    found = [stem for stem in chapters if stem in name]
    return chapters[max(found, key=len)] if found else None


def flat_student(stem: str, chapters: dict[str, Chapter]) -> str:
    for chapter in sorted(chapters, key=len, reverse=True):
        for sep in "-_":
            if stem.endswith(sep + chapter) and len(stem) > len(chapter) + 1:
                return stem[: -len(chapter) - 1]
    return stem


def find_submissions(folder: Path, chapters: dict[str, Chapter]) -> list[Submission]:
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue  # .ipynb_checkpoints, hidden files
        student = flat_student(path.stem, chapters) if len(rel.parts) == 1 else rel.parts[0]
        chapter = match_chapter(path.stem, chapters)
        sub = Submission(student, path, rel.as_posix(), chapter)
        if chapter is None:
            names = ", ".join(chapters)
            sub.skipped = f"not graded: its name contains no chapter's name ({names})"
        found.append(sub)
    # one notebook per student and chapter: the one nearest the student's folder
    chosen: dict[tuple[str, str], Submission] = {}
    for sub in sorted(found, key=lambda s: (len(Path(s.rel).parts), s.rel)):
        if sub.chapter is None:
            continue
        key = (sub.student, sub.chapter.stem)
        if key in chosen:
            sub.skipped = f"not graded: `{chosen[key].rel}` was graded for this chapter instead"
        else:
            chosen[key] = sub
    return found


# -- preparing a notebook: the release's check cells -------------------------------------


def prepare(nb, chapter: Chapter) -> tuple[object, list[str]]:
    """A copy of ``nb`` whose check cells are the release's; notes for the feedback."""
    nb = copy.deepcopy(nb)
    notes = []
    by_source = {c.source.strip(): gid for gid, c in chapter.checks.items()}
    seen = set()
    for index, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        meta = grade_meta(cell)
        gid = meta.get("grade_id") if meta.get("grade") else None
        if gid not in chapter.checks:
            if meta.get("grade"):  # a grade cell the release does not know: plain code
                cell.metadata["nbgrader"] = {**meta, "grade": False}
            gid = by_source.get(cell.source.strip())
            if gid is None:
                continue
        release = chapter.checks[gid]
        if cell.source.strip() != release.source.strip():
            notes.append(
                f"The check cell of `{gid}` (cell {index}) had been changed: "
                "the check as handed out ran instead."
            )
        cell.source = release.source
        cell.metadata = copy.deepcopy(release.metadata)
        cell.outputs, cell.execution_count = [], None
        seen.add(gid)
    for gid in chapter.checks:
        if gid not in seen:
            notes.append(f"The check cell of `{gid}` is missing from the notebook: 0 points.")
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb, notes


def describe(cell, index: int) -> str:
    """'cell 4 (your answer to batches_per_epoch)': how the feedback names a cell."""
    meta = grade_meta(cell)
    gid = str(meta.get("grade_id", ""))
    if meta.get("grade") and gid:
        return f"cell {index} (the check of `{gid}`)"
    if meta.get("solution") and gid:
        return f"cell {index} (your answer to `{gid.removesuffix('_answer')}`)"
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    if len(first) > 50:
        first = first[:47] + "..."
    return f"cell {index} (`{first}`)" if first else f"cell {index}"


# -- running one notebook in a child process ---------------------------------------------


def kernel_env(student: str, chapter: str, log: Path, runs: Path, offline: bool) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"NBGRADER_EXECUTION", "COURSE_REQUIRE_RUNS", "COURSE_GRADING_LOG"}
        and not k.startswith("JPY_")
    }
    python_path = [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update(
        COURSE_QUICK="1",
        COURSE_STRICT="0",
        COURSE_WIDGETS="static",
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="3",
        COURSE_STUDENT=student,
        COURSE_NOTEBOOK=chapter,
        COURSE_GRADING_LOG=str(log),
        COURSE_RUNS_DIR=str(runs),
        PYTHONPATH=os.pathsep.join(python_path),
        PYTHONDONTWRITEBYTECODE="1",
    )
    if offline:
        for name in ("http_proxy", "https_proxy", "all_proxy"):
            env[name] = env[name.upper()] = REFUSING_PROXY
        env["no_proxy"] = env["NO_PROXY"] = ""
    return env


def run_one(notebook: Path, events: Path, log: Path, workdir: Path) -> int:
    """The child: run ``notebook`` with every cell's start and end written to ``events``
    (with the size of the verdict log then), so the parent can tell which cell logged
    which verdict, and where it stopped, even after killing this process."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    out = open(events, "a", encoding="utf-8")  # noqa: SIM115 (open until the end)

    def emit(**event):
        event["t"] = round(time.monotonic(), 3)
        out.write(json.dumps(event) + "\n")
        out.flush()

    def size() -> int:
        try:
            return log.stat().st_size
        except OSError:
            return 0

    nb = read_notebook(notebook)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=None,  # the parent enforces the notebook's time limit
        startup_timeout=120,
        allow_errors=True,
        skip_cells_with_tag="\0",  # a student's tag cannot skip a cell
        resources={"metadata": {"path": str(workdir)}},
    )

    def started(**_):
        provisioner = getattr(client.km, "provisioner", None)
        emit(event="kernel", pgid=getattr(provisioner, "pgid", None))

    def execute(cell, cell_index, **_):
        emit(event="start", cell=cell_index, offset=size())

    def executed(cell, cell_index, execute_reply, **_):
        content = (execute_reply or {}).get("content", {})
        error = None
        if content.get("status") == "error":
            error = {
                "ename": content.get("ename", ""),
                "evalue": content.get("evalue", ""),
                "traceback": content.get("traceback", [])[-3:],
            }
        emit(event="end", cell=cell_index, offset=size(), error=error)

    client.on_notebook_start = started
    client.on_cell_execute = execute
    client.on_cell_executed = executed
    try:
        client.execute()
    except DeadKernelError:
        emit(event="dead")
        return 0
    except Exception as err:  # noqa: BLE001 (whatever it is, the parent reports it)
        emit(event="crash", error=f"{type(err).__name__}: {err}")
        return 1
    emit(event="done")
    return 0


@dataclass
class Run:
    """What happened when one notebook ran."""

    verdicts: dict[str, dict] = field(default_factory=dict)  # exercise -> last verdict
    cell_errors: dict[int, dict] = field(default_factory=dict)  # 0-based cell -> error
    ran: set = field(default_factory=set)  # 0-based cells that were started
    stopped: str = ""  # why it stopped early ("" when it ran to the end)
    stopped_at: int | None = None  # 0-based cell running when it stopped
    seconds: float = 0.0


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _kill_group(pgid) -> None:
    if not pgid:
        return
    try:
        os.killpg(int(pgid), signal.SIGKILL)
    except (ProcessLookupError, PermissionError, ValueError):
        pass


def run_notebook(nb, chapter: Chapter, student: str, limit: float, offline: bool) -> Run:
    """Run the prepared notebook ``nb`` in a child process and a fresh kernel."""
    tmp = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        work, log, events = tmp / "work", tmp / "verdicts.jsonl", tmp / "events.jsonl"
        work.mkdir()
        notebook = tmp / f"{chapter.stem}.ipynb"
        nbformat.write(nb, notebook)
        env = kernel_env(student, chapter.stem, log, tmp / "runs", offline)
        command = [sys.executable, str(Path(__file__).resolve()), "--run-one", str(notebook)]
        command += ["--events", str(events), "--log", str(log), "--workdir", str(work)]
        start = time.monotonic()
        with open(tmp / "runner.txt", "wb") as runner_out:
            child = subprocess.Popen(
                command,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=runner_out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed as a whole
            )
            timed_out = False
            try:
                child.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                timed_out = True
                # the kernel runs in a session of its own (jupyter_client starts it so)
                kernel = [e for e in read_jsonl(events) if e.get("event") == "kernel"]
                _kill_group(child.pid)
                for event in kernel:
                    _kill_group(event.get("pgid"))
                child.wait()
        run = Run(seconds=time.monotonic() - start)
        return _read_run(run, nb, chapter, read_jsonl(events), log, tmp, timed_out, limit, child)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_run(run, nb, chapter, events, log, tmp, timed_out, limit, child) -> Run:
    try:
        data = log.read_bytes()
    except OSError:
        data = b""
    open_cell = None  # (cell, offset) started and not ended
    for event in events:
        kind = event.get("event")
        if kind == "start":
            open_cell = (event["cell"], event["offset"])
            run.ran.add(event["cell"])
        elif kind == "end" and open_cell is not None:
            cell, offset = open_cell
            _take(run, nb, chapter, cell, data[offset : event["offset"]])
            if event.get("error"):
                run.cell_errors[cell] = event["error"]
            open_cell = None
        elif kind == "dead":
            run.stopped = "the kernel died (it crashed, ran out of memory or was stopped)"
        elif kind == "crash":
            run.stopped = f"the grader could not run it: {event.get('error')}"
    if open_cell is not None:  # stopped inside a cell: its verdicts so far still count
        cell, offset = open_cell
        _take(run, nb, chapter, cell, data[offset:])
        run.stopped_at = cell
    if timed_out:
        run.stopped = f"the notebook was stopped at the time limit of {num(limit)} s"
    elif not run.stopped and not any(e.get("event") == "done" for e in events):
        tail = (tmp / "runner.txt").read_text(errors="replace").strip().splitlines()[-3:]
        run.stopped = f"the grader's runner exited with status {child.returncode}: " + (
            " / ".join(tail) or "no message"
        )
    return run


def _take(run: Run, nb, chapter: Chapter, cell: int, chunk: bytes) -> None:
    """Keep the verdicts a check cell logged about its own exercise."""
    if not (0 <= cell < len(nb.cells)) or not is_check(nb.cells[cell]):
        return
    gid = grade_meta(nb.cells[cell])["grade_id"]
    for line in chunk.decode("utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("exercise", row.get("check")) == gid:
            if gid in chapter.points:
                run.verdicts[gid] = row


# -- results ------------------------------------------------------------------------------


@dataclass
class Result:
    exercise: str
    status: str
    points: float
    max_points: float
    message: str = ""
    hint: str = ""
    more: str = ""


@dataclass
class Graded:
    sub: Submission
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what happened, for the feedback
    stopped: str = ""  # why the notebook did not run to its end
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)


def _error_text(error: dict) -> str:
    evalue = re.sub(r"\(\S+\.py, (line \d+)\)", r"(\1)", str(error.get("evalue", "")))
    text = f"{error.get('ename', 'Error')}: {evalue}".strip().rstrip(":")
    plain = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.get("traceback", [])))
    lines = re.findall(r"(?:Cell In\s*\[\d*\]|<cell line: \d+>|File .*?), line (\d+)", plain)
    if lines and f"line {lines[-1]}" not in text:
        text += f" (line {lines[-1]})"
    return text


def grade(sub: Submission, limit: float, offline: bool) -> Graded:
    chapter = sub.chapter
    graded = Graded(sub)
    try:
        nb = read_notebook(sub.path)
    except Exception as err:  # noqa: BLE001 (not JSON, not a notebook...)
        graded.notes.append(f"The notebook could not be read ({type(err).__name__}: {err}).")
        graded.stopped = "the notebook could not be read"
        nb, run = None, Run()
    else:
        nb, notes = prepare(nb, chapter)
        graded.notes += notes
        run = run_notebook(nb, chapter, sub.student, limit, offline)
        graded.seconds, graded.stopped = run.seconds, run.stopped
        errors = sorted(run.cell_errors.items())
        for cell, error in errors[:MAX_ERROR_LINES]:
            graded.notes.append(
                f"{describe(nb.cells[cell], cell + 1).capitalize()} raised {_error_text(error)}."
            )
        if len(errors) > MAX_ERROR_LINES:
            graded.notes.append(
                f"... and {len(errors) - MAX_ERROR_LINES} more cells raised errors."
            )
        if run.stopped:
            where = ""
            if run.stopped_at is not None:
                where = f" while running {describe(nb.cells[run.stopped_at], run.stopped_at + 1)}"
            why = ""
            if "time limit" in run.stopped:
                why = " Does some code never end, or is it far too slow?"
            graded.notes.append(
                f"{run.stopped[0].upper()}{run.stopped[1:]}{where}; the cells after it did not "
                f"run.{why}"
            )
    check_cells = {}
    if nb is not None:
        check_cells = {grade_meta(c)["grade_id"]: i for i, c in enumerate(nb.cells) if is_check(c)}
    for name, max_points in chapter.points.items():
        verdict = run.verdicts.get(name)
        if verdict is not None:
            status = str(verdict.get("status", "error"))
            earned = float(verdict.get("points") or 0) if status == "passed" else 0.0
            graded.results.append(
                Result(
                    name,
                    status,
                    min(max(earned, 0.0), max_points),
                    max_points,
                    str(verdict.get("message", "")),
                    str(verdict.get("hint", "")),
                    str(verdict.get("more", "")),
                )
            )
            continue
        if nb is None:
            why = "the notebook could not be read"
        elif name not in check_cells:
            why = "its check cell is missing"
        elif check_cells[name] in run.cell_errors:
            error = _error_text(run.cell_errors[check_cells[name]])
            why = f"its check cell raised {error} before the check could judge your answer"
            if error.startswith("NameError"):
                why += " (did the cell that defines it run without errors?)"
        elif check_cells[name] not in run.ran:
            why = "the notebook stopped before its check ran"
        elif run.stopped_at == check_cells[name]:
            why = "the notebook was stopped while its check ran"
        else:
            why = "its check cell logged no verdict"
        hint, more = chapter.help.get(name, ("", ""))
        graded.results.append(
            Result(name, NOT_RUN, 0.0, max_points, f"Not graded: {why}.", hint, more)
        )
    return graded


# -- writing the gradebook and the feedback ---------------------------------------------------


def write_gradebook(path: Path, students: list[str], columns, scores) -> None:
    """``columns``: (chapter, exercise, max points); ``scores[student][(chapter, ex)]``."""
    max_total = sum(points for _, _, points in columns)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *[f"{c}:{e}" for c, e, _ in columns], "total", "max_total"])
        for student in students:
            row = [scores[student].get((c, e), 0.0) for c, e, _ in columns]
            writer.writerow([student, *map(num, row), num(sum(row)), num(max_total)])


def feedback_text(student: str, items: list[Graded], skipped, missing, chapters) -> str:
    total = sum(g.points for g in items)
    max_total = sum(chapters[c].max_points for c in {g.sub.chapter.stem for g in items} | missing)
    lines = [f"# Feedback for {student}", "", f"**Total: {num(total)} / {num(max_total)} points**"]
    for graded in items:
        chapter = graded.sub.chapter
        lines += [
            "",
            f"## {chapter.stem}: {num(graded.points)} / {num(chapter.max_points)} points",
            "",
            f"Notebook: `{graded.sub.rel}`",
        ]
        for r in graded.results:
            lines += [
                "",
                f"### {ICONS.get(r.status, '?')} {r.exercise}: {r.status}, "
                f"{num(r.points)} / {num(r.max_points)} points",
                "",
            ]
            lines.append(r.message or "(no message)")
            if r.status != "passed":
                if r.hint:
                    lines += ["", f"- Hint: {r.hint}"]
                if r.more:
                    lines += ([] if r.hint else [""]) + [f"- More help: {r.more}"]
        if graded.notes:
            lines += ["", "### While grading this notebook", ""]
            lines += [f"- {note}" for note in graded.notes]
    for stem in sorted(missing):
        lines += [
            "",
            f"## {stem}: 0 / {num(chapters[stem].max_points)} points",
            "",
            "No notebook of this chapter was handed in.",
        ]
    if skipped:
        lines += ["", "## Other files", ""] + [f"- `{s.rel}`: {s.skipped}" for s in skipped]
    return "\n".join(lines) + "\n"


def default_out(submissions: Path) -> Path:
    return submissions.resolve().parent / f"{submissions.resolve().name}-grades"


def grade_folder(
    submissions: Path,
    out: Path | None = None,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    release: Path = ROOT,
    jobs: int = 1,
    offline: bool = True,
) -> dict[str, float]:
    """Grade every submission under ``submissions``; write the gradebook and feedback to
    ``out``. Returns each student's total."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise SystemExit(f"{submissions} is not a folder")
    out = Path(out) if out else default_out(submissions)
    chapters = load_chapters(release)
    found = find_submissions(submissions, chapters)
    if not found:
        raise SystemExit(f"no notebooks found in {submissions}")
    to_run = [s for s in found if not s.skipped]
    say(
        f"{len(to_run)} notebooks of {len({s.student for s in found})} students to run, "
        f"{num(time_limit)} s each at most, {jobs} at a time"
    )

    def work(sub: Submission) -> Graded:
        try:
            graded = grade(sub, time_limit, offline)
        except Exception as err:  # noqa: BLE001 (a bug here must not stop the batch)
            why = f"the grader failed on it ({type(err).__name__}: {err})"
            graded = Graded(sub, notes=[why[0].upper() + why[1:] + "."], stopped=why)
            graded.results = [
                Result(name, NOT_RUN, 0.0, points, "Not graded: the grader failed on it.")
                for name, points in sub.chapter.points.items()
            ]
        say(
            f"{sub.student} {sub.chapter.stem}: {num(graded.points)} / "
            f"{num(sub.chapter.max_points)} points ({graded.seconds:.0f} s)"
        )
        return graded

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(work, to_run))

    present = sorted({g.sub.chapter.stem for g in results})
    columns = [(c, e, p) for c in present for e, p in chapters[c].points.items()]
    students = sorted({s.student for s in found})
    scores = {s: {} for s in students}
    for g in results:
        for r in g.results:
            scores[g.sub.student][(g.sub.chapter.stem, r.exercise)] = r.points

    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    write_gradebook(out / "gradebook.csv", students, columns, scores)
    totals = {}
    max_total = sum(p for _, _, p in columns)
    with open(out / "results.jsonl", "w", encoding="utf-8") as verdicts:
        for student in students:
            mine = [g for g in results if g.sub.student == student]
            skipped = [s for s in found if s.student == student and s.skipped]
            missing = set(present) - {g.sub.chapter.stem for g in mine}
            text = feedback_text(student, mine, skipped, missing, chapters)
            (out / "feedback" / f"{student}.md").write_text(text, encoding="utf-8")
            totals[student] = sum(scores[student].values())
            stopped = [f"{g.sub.chapter.stem}: {g.stopped}" for g in mine if g.stopped]
            extra = f" ({'; '.join(stopped)})" if stopped else ""
            print(f"{student}: {num(totals[student])} / {num(max_total)} points{extra}")
            for g in mine:
                for r in g.results:
                    row = {
                        "student": student,
                        "notebook": g.sub.chapter.stem,
                        "file": g.sub.rel,
                        **r.__dict__,
                    }
                    verdicts.write(json.dumps(row) + "\n")
    say(f"wrote {out / 'gradebook.csv'} and {len(students)} feedback files in {out / 'feedback'}")
    return totals


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--run-one"]:
        child = argparse.ArgumentParser()
        child.add_argument("--run-one", type=Path, required=True)
        for name in ("--events", "--log", "--workdir"):
            child.add_argument(name, type=Path, required=True)
        args = child.parse_args(argv)
        return run_one(args.run_one, args.events, args.log, args.workdir)
    parser = argparse.ArgumentParser(
        prog="./course grade",
        description="Grade a folder of submitted exercise notebooks (see tools/grade.py).",
    )
    parser.add_argument("submissions", type=Path, help="the folder of submissions")
    parser.add_argument(
        "--out", type=Path, help="where to write (default: SUBMISSIONS-grades next to it)"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT,
        help=f"seconds per notebook (default {num(DEFAULT_TIME_LIMIT)})",
    )
    parser.add_argument(
        "--release",
        type=Path,
        default=ROOT,
        help="the release (or its exercises/ folder) whose check cells run (default: this course)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once (default 1)")
    parser.add_argument(
        "--allow-network", action="store_true", help="let the notebooks reach the network"
    )
    args = parser.parse_args(argv)
    if args.time_limit <= 0:
        parser.error("--time-limit must be > 0")
    grade_folder(
        args.submissions,
        args.out,
        time_limit=args.time_limit,
        release=args.release,
        jobs=args.jobs,
        offline=not args.allow_network,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
