"""./course release (tools/release.py): the course for learners, without solutions or tests."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from tests.notebook_tools import ROOT, nbtools

_spec = importlib.util.spec_from_file_location("course_release_tool", ROOT / "tools" / "release.py")
release_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(release_tool)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "course"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "release.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exercises/" in done.stdout  # it says what it wrote
    return out


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_release_leaves_out_solutions_tests_and_clutter(released):
    top = {p.name for p in released.iterdir()}
    for name in ["solutions", "tests", "conftest.py", ".git", ".ci", "runs", ".venv", "site"]:
        assert name not in top
    assert not (released / "docs" / "teaching.md").exists()  # the teacher's guide
    assert not (released / "CONTRIBUTING.md").exists()
    for rel in _files(released):
        assert not {"__pycache__", ".ipynb_checkpoints"} & set(rel.parts), rel
        assert not rel.name.endswith((".pyc", ".egg-info")), rel


def test_no_solution_marker_anywhere(released):
    for rel in _files(released):
        text = (released / rel).read_bytes().decode("utf-8", errors="replace")
        assert nbtools.BEGIN not in text and nbtools.END not in text, rel


def test_exercises_notebooks_and_library_are_copied_as_they_are(released):
    for folder in ["exercises", "notebooks", "course_lib"]:
        ours = [
            p
            for p in _files(ROOT / folder)
            if not {"__pycache__", ".ipynb_checkpoints"} & set(p.parts) and p.suffix != ".pyc"
        ]
        assert ours and _files(released / folder) == ours, folder
        for rel in ours:
            assert (released / folder / rel).read_bytes() == (ROOT / folder / rel).read_bytes()
    assert os.access(released / "course", os.X_OK)
    note = (released / "RELEASE.txt").read_text(encoding="utf-8")
    assert re.search(r"Made on \d{4}-\d{2}-\d{2}", note)


def test_every_file_the_launcher_names_is_there(released):
    launcher = (released / "course").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(?:tools|notebooks)/[\w./-]+\.\w+", launcher))
    named |= set(re.findall(r"\b[\w-]+\.(?:txt|toml)\b", launcher))
    named -= {"tools/release.py", "RELEASE.txt"}  # release: refused in a release (below)
    assert "tools/jupyterlab_overrides.json" in named and "requirements.txt" in named
    missing = sorted(name for name in named if not (released / name).exists())
    assert missing == []


def test_launcher_in_a_release_says_what_is_not_there(released):
    def course(*args):
        return subprocess.run(
            ["bash", str(released / "course"), *args], capture_output=True, text=True, timeout=60
        )

    test = course("test")
    assert test.returncode == 1 and "tests are not included" in test.stdout + test.stderr
    again = course("release", str(released.parent / "other"))
    assert again.returncode == 1 and "make releases from" in again.stdout + again.stderr
    assert "./course lab" in course("help").stdout


def test_readme_keeps_the_course_and_drops_the_teachers_part(released):
    readme = (released / "README.md").read_text(encoding="utf-8")
    assert readme.startswith((ROOT / "README.md").read_text(encoding="utf-8").split("\n")[0])
    assert "## This copy" in readme
    assert "## For contributors" not in readme


def test_refuses_a_folder_that_is_not_empty_or_inside_the_repository(tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert release_tool.main([str(out)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]  # left alone
    assert release_tool.main([str(ROOT / "release-here")]) == 1
    assert "inside the course repository" in capsys.readouterr().err
    assert not (ROOT / "release-here").exists()


def test_force_empties_the_folder_but_keeps_its_git(tmp_path):
    out = tmp_path / "student-repo"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "stale.txt").write_text("old")
    assert release_tool.main([str(out)]) == 1
    assert release_tool.main([str(out), "--force"]) == 0
    assert not (out / "stale.txt").exists()
    assert (out / ".git" / "HEAD").exists() and (out / "exercises").is_dir()
