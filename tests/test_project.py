"""Project-level checks: pinned packages agree, lint passes, the launcher serves the course."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    return sorted(
        line.strip() for line in lines if line.strip() and not line.strip().startswith(("#", "-"))
    )


def test_environment_yml_matches_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda
    assert _pins(pip_section) == _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert "-e ." in pip_section


def test_design_card_packages_are_pinned():
    lines = _pins((ROOT / "requirements.txt").read_text().splitlines())
    pins = dict(line.split(";")[0].strip().split("==") for line in lines)
    # TensorFlow's CPU-only build stands for it on Linux x86-64, the regular build elsewhere
    assert pins["tensorflow-cpu"] == pins["tensorflow"]
    for name in (
        "jupyterlab",
        "tensorflow",
        "numpy",
        "matplotlib",
        "seaborn",
        "nbval",
        "ipywidgets",
    ):
        assert name in pins, f"{name} (design card) is not pinned in requirements.txt"
    assert pins["tensorflow"].startswith("2.21.")
    assert pins["keras"].startswith("3.")


def test_ruff_lint_and_format_pass():
    ruff = [sys.executable, "-m", "ruff"]
    lint = subprocess.run([*ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [*ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / "jupyter").exists(), reason="needs ./course setup"
)
def test_course_lab_serves_the_first_notebook_and_the_course_settings():
    from tests.browser import jupyter_lab

    with jupyter_lab(timeout=120) as lab:
        reply = lab.api("contents/notebooks/00_what_is_generative_ai.ipynb?content=0")
        assert reply["type"] == "notebook"
        assert reply["path"] == "notebooks/00_what_is_generative_ai.ipynb"
        with urllib.request.urlopen(lab.url("lab"), timeout=10) as page:
            assert page.status == 200

        def setting(plugin, key):  # what the front end reads: the user's value, else the
            # default, which the course's overrides.json replaces
            with urllib.request.urlopen(lab.url(f"lab/api/settings/{plugin}"), timeout=10) as r:
                reply = json.load(r)
            return reply["settings"].get(key, reply["schema"]["properties"][key].get("default"))

        assert setting("@jupyterlab/apputils-extension:notification", "fetchNews") == "false"
        viewers = setting("@jupyterlab/docmanager-extension:plugin", "defaultViewers")
        assert viewers["markdown"] == "Markdown Preview"  # the course map opens rendered


def test_quick_mode_changes_sizes_not_code_paths():
    """Notebooks may only ask budget() for sizes: no branching on the mode itself."""
    import nbformat

    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            code = "\n".join(
                c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
            )
            for banned in ("is_quick", "COURSE_QUICK"):
                assert banned not in code, f"{path.name} reads {banned}: use budget() instead"
    users = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "course_lib").rglob("*.py")
        if "is_quick(" in p.read_text() and p.name != "config.py"
    )
    # Only the checkpoint folder depends on the mode (quick runs never reuse full ones).
    assert users == ["course_lib/train.py"]


TRAINING_CALLS = {"fit", "fit_resumable", "train", "train_for"}


def _last_expression_call(source: str) -> str | None:
    """The name of the function a code cell's last line calls as a bare expression."""
    import ast

    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    if not body or not isinstance(body[-1], ast.Expr) or not isinstance(body[-1].value, ast.Call):
        return None
    func = body[-1].value.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def test_no_cell_ends_by_printing_a_training_history():
    """Jupyter shows a cell's last value: a bare training call shows the raw history dict."""
    offenders = []
    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            cells = json.loads(path.read_text())["cells"]
            for index, cell in enumerate(cells):
                name = cell["cell_type"] == "code" and _last_expression_call(
                    "".join(cell["source"])
                )
                if name in TRAINING_CALLS:
                    offenders.append(f"{path.relative_to(ROOT)} cell {index}: {name}(...)")
    assert not offenders, "assign the history (history = ...) instead:\n" + "\n".join(offenders)


def test_the_history_check_catches_a_bare_training_call():
    assert (
        _last_expression_call("model = make()\nfit_resumable(model, x, name='a')")
        == "fit_resumable"
    )
    assert _last_expression_call("history = fit_resumable(model, x, name='a')") is None
    assert _last_expression_call("model.fit(x)") == "fit"
