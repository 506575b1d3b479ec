"""Write the folder a teacher hands to learners: the course without its solutions.

    python tools/release.py OUT_DIR [--force]          (or: ./course release OUT_DIR)

What goes in: the launcher (``course``), the chapter notebooks (``notebooks/``), the
exercise notebooks (``exercises/``), the library (``course_lib/``), the install files
(``requirements.txt``, ``environment.yml``, ``pyproject.toml``, ``.gitignore``), the
README (without its sections for teachers and contributors), ``benchmarks/``, ``docs/``
(but for the teacher's guide) and the tools the launcher runs:
``tools/jupyterlab_overrides.json``, ``tools/fetch_shakespeare.py`` and
``tools/fetch_opencv_photos.py`` (setup),
``tools/site.py`` (``./course site``) and ``tools/grade.py`` (``./course grade``, to check
one's own notebooks). Plus
``RELEASE.txt``: what the folder is, when and from what it was made.

What stays out: ``solutions/``, ``tests/`` and ``conftest.py``, the teacher's guide
(``docs/teaching.md``, with the answers to the "Try it"s), ``CONTRIBUTING.md``, the other
tools, ``.git``, ``.ci``, ``runs/``, ``.venv``, ``site/`` and caches (``__pycache__``,
``.ipynb_checkpoints``, ``*.egg-info``). ``./course test`` in a release says that the
tests are not included; ``./course release`` that releases are made from the repository.

Before finishing, every file written is searched for nbgrader's solution markers; one
found is an error (exit status 1) and the release is removed. OUT_DIR must be outside
this repository, and empty or missing (``--force`` empties it first). A ``.git`` folder
in OUT_DIR is kept (and does not count as content), so a release can update a
repository of its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = [
    "course",
    "README.md",
    "requirements.txt",
    "requirements-torch.txt",
    "environment.yml",
    "pyproject.toml",
    ".gitignore",
    "tools/jupyterlab_overrides.json",
    "tools/fetch_shakespeare.py",
    "tools/fetch_opencv_photos.py",
    "tools/site.py",
    "tools/grade.py",
]
FOLDERS = ["notebooks", "exercises", "course_lib", "benchmarks", "docs"]
TEACHERS_ONLY = {"docs/teaching.md"}  # the teacher's guide: answers to the "Try it"s
REQUIRED = {"course", "README.md", "requirements.txt", "pyproject.toml", "notebooks",
            "exercises", "course_lib"}  # fmt: skip
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
README_DROPPED = ("For teachers", "For contributors")  # headings of sections left out


class ReleaseError(RuntimeError):
    pass


def _skipped(path: Path) -> bool:
    return path.name in SKIP_DIRS or path.name.endswith(SKIP_SUFFIXES) or path.name == ".DS_Store"


def _copy_tree(source: Path, target: Path, written: list[Path]) -> None:
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(_skipped(Path(part)) for part in rel.parts) or path.is_dir():
            continue
        if path.relative_to(ROOT).as_posix() in TEACHERS_ONLY:
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        written.append(dest)


def released_readme(text: str) -> str:
    """The README without the sections for teachers and contributors (which speak of the
    solutions, the tests and the solution markers), with a note on what this copy is."""
    out, dropping = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            dropping = line[3:].strip().startswith(README_DROPPED)
        if not dropping:
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    out += [
        "",
        "## This copy",
        "",
        "This is a release of the course for learners (see `RELEASE.txt`): the solutions,",
        "the tests and the contributors' tools are not included, so what the README says",
        "about `solutions/`, `tests/` and `./course test` does not apply here.",
    ]
    return "\n".join(out) + "\n"


def _source_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "a copy of the course (no git history found)"
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def release_note(when: dt.datetime) -> str:
    return f"""\
Generative AI, hands-on: the course for learners
================================================

Made on {when:%Y-%m-%d %H:%M %Z} from {_source_version()}
by tools/release.py.

This folder is the course without its solutions: the chapters (notebooks/), the
exercise notebooks to fill in (exercises/), the course library (course_lib/) and the
launcher. Start with

    ./course lab

which sets everything up (a virtual environment in .venv) and opens the course in
JupyterLab. Each exercise notebook checks your answers as you go. To see the grade a
folder of your finished notebooks would get:

    ./course grade FOLDER          (see tools/grade.py)

Not included: the solutions, the test suite and the tools for changing the course.
"""


def _check_target(out: Path, force: bool) -> None:
    root = ROOT.resolve()
    if out == root or root in out.parents:
        raise ReleaseError(f"{out} is inside the course repository: write the release elsewhere")
    if out in root.parents:
        raise ReleaseError(f"{out} contains the course repository: write the release elsewhere")
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} exists and is not a folder")
    if _contents(out):
        if not force:
            raise ReleaseError(f"{out} is not empty (--force empties it first)")
        _empty(out)


def _contents(folder: Path) -> list[Path]:
    return [c for c in folder.iterdir() if c.name != ".git"] if folder.is_dir() else []


def _empty(folder: Path) -> None:
    """Remove everything in ``folder`` but a ``.git``."""
    for child in _contents(folder):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def find_markers(folder: Path) -> list[str]:
    """Files under ``folder`` that contain a solution marker."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(folder).parts:
            text = path.read_bytes().decode("utf-8", errors="replace")
            if any(marker in text for marker in MARKERS):
                found.append(str(path.relative_to(folder)))
    return found


def release(out: Path, *, force: bool = False, when: dt.datetime | None = None) -> list[Path]:
    """Write the release into ``out``; return the files written."""
    out = Path(out).expanduser().resolve()
    missing = sorted(name for name in REQUIRED if not (ROOT / name).exists())
    if missing:
        raise ReleaseError(f"not a full course repository: {', '.join(missing)} missing")
    _check_target(out, force)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for name in FILES:
            source = ROOT / name
            if not source.exists():
                continue
            dest = out / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if name == "README.md":
                dest.write_text(released_readme(source.read_text(encoding="utf-8")), "utf-8")
            else:
                shutil.copy2(source, dest)  # keeps the launcher executable
            written.append(dest)
        for name in FOLDERS:
            if (ROOT / name).is_dir():
                _copy_tree(ROOT / name, out / name, written)
        note = out / "RELEASE.txt"
        note.write_text(release_note(when or dt.datetime.now().astimezone()), "utf-8")
        written.append(note)
        leaks = find_markers(out)
        if leaks:
            raise ReleaseError("solution markers found in: " + ", ".join(leaks))
    except BaseException:
        _empty(out)  # no half-made release is left behind
        if created:
            out.rmdir()
        raise
    return written


def summary(out: Path, written: list[Path]) -> list[str]:
    """One line per top-level entry: 'notebooks/  6 files'."""
    counts: dict[str, int] = {}
    for path in written:
        top = path.relative_to(out).parts
        key = top[0] + ("/" if len(top) > 1 else "")
        counts[key] = counts.get(key, 0) + 1
    return [
        f"  {key:<28} {n} file{'s' * (n != 1)}" if key.endswith("/") else f"  {key}"
        for key, n in sorted(counts.items(), key=lambda kv: (not kv[0].endswith("/"), kv[0]))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./course release",
        description="Write the course for learners (no solutions, no tests) into OUT_DIR.",
    )
    parser.add_argument("out", type=Path, metavar="OUT_DIR", help="an empty or new folder")
    parser.add_argument("--force", action="store_true", help="empty OUT_DIR first")
    args = parser.parse_args(argv)
    try:
        written = release(args.out, force=args.force)
    except ReleaseError as err:
        print(f"[release] {err}", file=sys.stderr)
        return 1
    out = args.out.expanduser().resolve()
    print(f"[release] wrote {len(written)} files to {out}:")
    print("\n".join(summary(out, written)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
