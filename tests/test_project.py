"""Project-level checks: pinned packages agree, lint passes, the launcher serves the course."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
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
    pins = dict(p.split("==") for p in _pins((ROOT / "requirements.txt").read_text().splitlines()))
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


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / "jupyter").exists(), reason="needs ./course setup"
)
def test_course_lab_serves_the_first_notebook():
    port, token = _free_port(), "course-test-token"
    env = {**os.environ, "COURSE_SKIP_APT": "1"}
    proc = subprocess.Popen(
        [
            str(ROOT / "course"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--ServerApp.port_retries=0",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = (
        f"http://127.0.0.1:{port}/api/contents/notebooks/00_what_is_generative_ai.ipynb"
        f"?token={token}&content=0"
    )
    try:
        deadline, reply = time.time() + 120, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    reply = json.load(response)
                break
            except OSError:
                time.sleep(1)
        assert reply is not None, (
            proc.stdout.read1().decode() if proc.poll() is not None else "no answer"
        )
        assert reply["type"] == "notebook"
        assert reply["path"] == "notebooks/00_what_is_generative_ai.ipynb"
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/lab?token={token}", timeout=10
        ) as page:
            assert page.status == 200
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


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
