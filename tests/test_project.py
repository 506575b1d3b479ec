"""Project-level checks: pinned packages agree, lint passes, the launcher serves the course."""

import ast
import json
import os
import re
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


def test_the_torch_extra_is_pinned_and_apart_from_the_default_packages():
    extra = dict(
        line.split("==")
        for line in _pins((ROOT / "requirements-torch.txt").read_text().splitlines())
    )
    assert set(extra) == {"torch", "transformers", "diffusers", "tokenizers"}
    assert all(re.fullmatch(r"\d+(\.\d+)+", version) for version in extra.values()), extra
    default = {
        line.split("==")[0] for line in _pins((ROOT / "requirements.txt").read_text().splitlines())
    }
    assert not default & set(extra), "the extra's packages belong in requirements-torch.txt only"


@pytest.mark.skipif(
    os.environ.get("COURSE_TEST_TORCH") != "1",
    reason="./course test sets COURSE_TEST_TORCH=1 after installing the PyTorch extra",
)
def test_course_test_installed_the_pinned_torch_extra_so_every_chapter_11_cell_runs():
    from importlib.metadata import version

    for line in _pins((ROOT / "requirements-torch.txt").read_text().splitlines()):
        name, pinned = line.split("==")
        got = version(name).split("+")[0]  # 2.13.0+cpu from PyTorch's CPU index
        assert got == pinned, f"{name} {got} installed, {pinned} pinned"
    import diffusers  # noqa: F401  (they import, not only their metadata)
    import torch
    import transformers  # noqa: F401

    assert torch.zeros(2).add(1).sum().item() == 2.0


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


# -- cells whose displayed value would be lost ---------------------------------------------

# Calls whose *value* is what the learner should see (Jupyter shows it only when the call
# is a cell's last statement): the course's source viewer and players, IPython's display
# objects. Calls that draw or print by themselves (print, plt.show, display, image_grid
# with plt.show after it, an explorer's .show()) are not in this list.
DISPLAY_VALUE_CALLS = frozenset(
    {
        "show_source",
        "audio_player",
        "animation_player",
        "Markdown",
        "HTML",
        "Audio",
        "Image",
        "Video",
        "Code",
        "Latex",
        "JSON",
        "SVG",
    }
)


def _called_name(node) -> str | None:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _without_magics(source: str) -> str | None:
    """The cell as Python: line magics and shell lines become ``pass``; None for cell magics."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        return None
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def lost_displays(source: str) -> list[str]:
    """Display-value calls in a code cell whose value Jupyter would not show.

    Jupyter displays the value of a cell's last statement only. A call from
    ``DISPLAY_VALUE_CALLS`` anywhere else (an earlier line, inside a loop or an ``if``)
    has its value thrown away: two ``viz.show_source(...)`` lines show only the second.
    Returns ``"line N: name(...)"`` for each such call.
    """
    code = _without_magics(source)
    if code is None:
        return []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    shown = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    lost = []
    for node in ast.walk(tree):
        if node is shown or not isinstance(node, ast.Expr):
            continue
        if isinstance(node.value, ast.Call) and _called_name(node.value) in DISPLAY_VALUE_CALLS:
            lost.append(f"line {node.lineno}: {_called_name(node.value)}(...)")
    return lost


def test_no_cell_loses_a_displayed_value():
    """Every show_source (and the like) is the last statement of its cell (issue 15)."""
    offenders = []
    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            for index, cell in enumerate(cells):
                if cell["cell_type"] == "code":
                    for where in lost_displays("".join(cell["source"])):
                        offenders.append(f"{path.relative_to(ROOT)} cell {index}, {where}")
    assert not offenders, (
        "Jupyter shows only a cell's last value: give show_source several objects in one "
        "call, split the cell, or wrap the earlier call in display(...):\n" + "\n".join(offenders)
    )


def test_the_display_check_catches_two_show_source_lines():
    # the original bug (chapter 03, cell 17 at 8e5ed00): only the second would show
    bug = (
        "viz.show_source(diffusion.DiffusionModel.train_step)\n"
        "viz.show_source(diffusion.DiffusionModel.loss_weight)"
    )
    assert lost_displays(bug) == ["line 1: show_source(...)"]
    assert lost_displays("viz.show_source(a)\nx = 1") == ["line 1: show_source(...)"]
    assert lost_displays("for f in fs:\n    viz.show_source(f)") == ["line 2: show_source(...)"]
    assert lost_displays("media.audio_player(w, 8000)\nmedia.audio_player(v, 8000)") == [
        "line 1: audio_player(...)"
    ]
    assert lost_displays("%matplotlib inline\nHTML('<b>a</b>')\nHTML('<b>b</b>')") == [
        "line 2: HTML(...)"
    ]
    # what is fine: one call last, several objects in one call, display(), printing, drawing
    for fine in (
        "viz.show_source(a)",
        "viz.show_source(a, b)",
        "display(viz.show_source(a))\nviz.show_source(b)",
        "print(a)\nprint(b)",
        "viz.image_grid(x)\nplt.show()\nviz.show_source(f)",
        "x = viz.show_source(a)\nx",
        "%%bash\necho hi",
        "def broken(:",
    ):
        assert lost_displays(fine) == [], fine


# -- the glossary: links from the chapters land on a heading ------------------------------

GLOSSARY = ROOT / "notebooks" / "glossary.md"
_GLOSSARY_LINK = re.compile(r"glossary\.md#([^\s)\"'>\]]+)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def heading_anchor(text: str) -> str:
    """The anchor of a Markdown heading: lowercase, punctuation dropped, spaces -> hyphens."""
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def glossary_anchors() -> set[str]:
    """The anchors of the glossary's level-2 and level-3 headings."""
    anchors, fenced = set(), False
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        match = not fenced and _MD_HEADING.match(line)
        if match and len(match.group(1)) in (2, 3):
            anchors.add(heading_anchor(match.group(2)))
    return anchors


def _texts_linking_the_glossary():
    """(where, text) for every Markdown file and notebook cell under notebooks/."""
    for path in sorted((ROOT / "notebooks").glob("*.md")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            yield f"{path.relative_to(ROOT).as_posix()} cell {index}", "".join(cell["source"])


def test_heading_anchor():
    assert heading_anchor("FID") == "fid"
    assert heading_anchor("KL divergence") == "kl-divergence"
    assert heading_anchor("Top-k") == "top-k"
    assert heading_anchor("Classifier-free guidance") == "classifier-free-guidance"


def test_glossary_has_the_course_terms():
    anchors = glossary_anchors()
    terms = (
        "FID, KL divergence, logit, nats, bits, ELBO, latent space, epoch, batch, loss, "
        "likelihood, GAN, VAE, discriminator, generator, reparameterisation trick, mode "
        "collapse, Wasserstein distance, gradient penalty, U-Net, diffusion, noise schedule, "
        "DDPM, DDIM, classifier-free guidance, token, transformer, attention, causal mask, "
        "temperature, top-k, top-p, perplexity, bits per character, EMA"
    )
    missing = [t for t in terms.split(", ") if heading_anchor(t) not in anchors]
    assert not missing, f"notebooks/glossary.md has no heading for: {missing}"


def test_every_glossary_link_lands_on_a_heading():
    anchors = glossary_anchors()
    broken = [
        f"{where}: glossary.md#{anchor}"
        for where, text in _texts_linking_the_glossary()
        for anchor in _GLOSSARY_LINK.findall(text)
        if anchor not in anchors
    ]
    # the glossary's own table of contents links (#anchor) too
    broken += [
        f"notebooks/glossary.md: #{anchor}"
        for anchor in re.findall(r"\]\(#([^)\s]+)\)", GLOSSARY.read_text(encoding="utf-8"))
        if anchor not in anchors
    ]
    assert not broken, "links to glossary headings that do not exist:\n" + "\n".join(broken)


def test_the_course_map_links_the_glossary():
    assert "(glossary.md)" in (ROOT / "notebooks" / "README.md").read_text(encoding="utf-8")


# -- every chapter opens with objectives, prerequisites and time --------------------------

CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# what the opening must say, and the wordings that say it
_OPENING_WORDS = {
    "learning objectives": re.compile(
        r"\bobjectives?\b|\blearning goals?\b|\byou will learn\b", re.IGNORECASE
    ),
    "prerequisites": re.compile(
        r"\bprerequisites?\b|\bwhat you need\b|\bbefore you start\b", re.IGNORECASE
    ),
    "time": re.compile(r"\btime\b|\bhow long\b|\bminutes\b", re.IGNORECASE),
    "quick mode": re.compile(r"\bquick\b", re.IGNORECASE),
    "full mode": re.compile(r"\bfull\b", re.IGNORECASE),
}


def opening_text(path: Path) -> str:
    """The Markdown cells before the chapter's first numbered section (``## 1 · ...``)."""
    parts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.search(r"^##\s+1\b", source, re.MULTILINE):
            break
        if cell["cell_type"] == "markdown":
            parts.append(source)
    return "\n".join(parts)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_opens_with_objectives_prerequisites_and_time(notebook):
    """Every chapter there is, before its section 1: objectives, prerequisites, and the
    time it takes in quick and full mode (issue 15)."""
    text = opening_text(notebook)
    missing = [name for name, pattern in _OPENING_WORDS.items() if not pattern.search(text)]
    assert not missing, f"{notebook.name}: its opening cells do not say {missing}"
