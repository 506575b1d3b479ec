"""The learner's first look, in a real browser: chapter 02 in JupyterLab, in Chromium.

The course's own JupyterLab (``./course lab``) serves the repository; headless Chromium
opens ``notebooks/02_vaes.ipynb``, runs every cell (quick mode) and looks at what a
learner would see: no errors or tracebacks, a quiet first cell, every widget live, and a
latent explorer whose picture changes when its slider moves. A second test proves the
widget check can fail. Screenshots go to ``$COURSE_TEST_ARTIFACTS`` (default
``tests/artifacts/``). Deselect these tests with ``-m "not browser"``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from tests.browser import (
    ROOT,
    artifacts_dir,
    chromium,
    console_errors,
    error_outputs,
    jupyter_lab,
    notebook_report,
    open_notebook,
    run_all_cells,
    screenshot,
    widget_problems,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "notebooks/02_vaes.ipynb"
VIEWPORT = {"width": 1400, "height": 1000}
# A PNG's bytes, hashed in the page (the <img> shows a blob: URL of them).
IMAGE_HASH_JS = """img => fetch(img.src).then(r => r.arrayBuffer()).then(b =>
  new Uint8Array(b).reduce((h, x) => (Math.imul(h, 31) + x) >>> 0, 7) + ':' + b.byteLength)"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def lab(browser):  # after the browser: no server is started where the tests are skipped
    with jupyter_lab(env={"COURSE_QUICK": "1", "COURSE_WIDGETS": "live"}) as server:
        yield server


def _describe(outputs) -> str:
    if not outputs:
        return "    (no output)"
    return "\n".join(
        f"    [{out['type']}{'/' + out['name'] if out['name'] else ''}] {out['text'].strip()[:600]}"
        for out in outputs
    )


def _move_slider(page, slider, presses: int = 15) -> None:
    """Move a FloatSlider to the right as a learner would: arrow keys, else a drag."""
    readout = slider.locator(".widget-readout")
    before = readout.inner_text()
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(presses):
        handle.press("ArrowRight")
        page.wait_for_timeout(150)
    deadline = time.monotonic() + 5
    while readout.inner_text() == before and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    if readout.inner_text() == before:
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 40, y, steps=8)
        page.mouse.up()


def test_chapter_02_as_a_learner_sees_it(browser, lab):
    original = (ROOT / NOTEBOOK).read_bytes()
    shots = artifacts_dir()
    page = browser.new_page(viewport=VIEWPORT)
    errors = console_errors(page)
    failures: list[str] = []
    start = time.monotonic()
    try:
        open_notebook(page, lab, NOTEBOOK)
        print(f"\n{NOTEBOOK} open, kernel idle after {time.monotonic() - start:.0f} s")
        state = run_all_cells(page, timeout_s=900)
        report = notebook_report(page)
        print(f"all cells run after {time.monotonic() - start:.0f} s: {state}")

        first_shot = shots / "02_vaes_first_cell.png"
        screenshot(page.locator('[data-course-cell="0"]'), first_shot)
        print(f"screenshot: {first_shot}")
        print(f"the first code cell shows:\n{_describe(report[0]['outputs'])}")

        unrun = [c["index"] for c in report if c["count"] is None]
        if unrun:
            failures.append(f"code cells without an execution count: {unrun}")
        failures += [f"error output: {e}" for e in error_outputs(report)]
        stderr = [o["text"] for o in report[0]["outputs"] if o["name"] == "stderr"]
        if stderr:
            failures.append("the first code cell shows stderr output:\n" + "\n".join(stderr))
        widget_outputs = [o for c in report for o in c["outputs"] if o["widget"] is not None]
        if not widget_outputs:
            failures.append("no widget output at all: is the explorer shown live?")
        failures += [f"widget not live: {p}" for p in widget_problems(report)]
        page_text = page.locator(".jp-NotebookPanel:visible").text_content()
        if "Error displaying widget" in page_text:
            failures.append("the page shows 'Error displaying widget'")
        if page.locator(".jp-NotebookPanel:visible .jupyter-widgets-error-widget").count():
            failures.append("the page shows an ipywidgets error widget")

        explorer = page.locator(".jp-OutputArea-output:has(.widget-slider)")
        if explorer.count() != 1:
            failures.append(f"expected one latent explorer, found {explorer.count()}")
        else:
            sliders = explorer.locator(".widget-slider")
            image = explorer.locator("img")
            print(f"explorer: {sliders.count()} sliders, {image.count()} image")
            assert sliders.count() == 6, (
                "the explorer of notebook 02 has a slider per dims=range(6)"
            )
            assert image.count() == 1
            before_shot = shots / "02_vaes_explorer_before.png"
            screenshot(explorer, before_shot)
            src_before = image.get_attribute("src")
            png_before = image.evaluate(IMAGE_HASH_JS)
            readout = sliders.first.locator(".widget-readout")
            value_before = readout.inner_text()
            _move_slider(page, sliders.first)
            deadline = time.monotonic() + 60
            while image.get_attribute("src") == src_before and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            page.wait_for_timeout(500)  # let the last redraw arrive
            after_shot = shots / "02_vaes_explorer_after.png"
            screenshot(explorer, after_shot)
            print(f"screenshots: {before_shot}\n             {after_shot}")
            value_after = readout.inner_text()
            print(f"first slider z[0]: {value_before} -> {value_after}")
            if value_after == value_before:
                failures.append(f"the first slider did not move (still {value_before})")
            if image.get_attribute("src") == src_before:
                failures.append("moving the first slider did not change the explorer's image")
            elif image.evaluate(IMAGE_HASH_JS) == png_before:
                failures.append("the explorer's image was redrawn with the same picture")
        print(f"console errors ({len(errors)}):" + "".join(f"\n    {e[:300]}" for e in errors))
        failures += [f"browser {e[:500]}" for e in errors]
        print(f"browser test of {NOTEBOOK}: {time.monotonic() - start:.0f} s")
    finally:
        page.close()
        if (ROOT / NOTEBOOK).read_bytes() != original:  # autosave is off; never leave outputs
            (ROOT / NOTEBOOK).write_bytes(original)
            failures.append(f"{NOTEBOOK} was changed on disk by the browser session (restored)")
    assert not failures, "\n".join(failures)


BROKEN_VIEW = """\
import ipywidgets as w
from traitlets import Unicode


class Broken(w.DOMWidget):
    # A view the front end cannot load: no such JavaScript module exists.
    _view_name = Unicode("NoSuchView").tag(sync=True)
    _view_module = Unicode("course-test-no-such-module").tag(sync=True)
    _view_module_version = Unicode("0.0.1").tag(sync=True)


Broken()
"""
# What a notebook saved with widget outputs shows once its kernel (and the widgets) are gone.
MISSING_MODEL = """\
from IPython.display import display

view = {"model_id": "course-test-no-such-model", "version_major": 2, "version_minor": 0}
display({"application/vnd.jupyter.widget-view+json": view, "text/plain": "a widget"}, raw=True)
"""


def test_the_widget_check_catches_broken_widgets(browser, lab):
    scratch_root = ROOT / "tests" / "artifacts"  # served by the lab; ignored by git
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=scratch_root))
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(BROKEN_VIEW),
            nbformat.v4.new_code_cell(MISSING_MODEL),
            nbformat.v4.new_code_cell('w.IntSlider(description="fine")'),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(notebook, scratch / "broken_widgets.ipynb")
    page = browser.new_page(viewport=VIEWPORT)
    errors = console_errors(page)
    start = time.monotonic()
    try:
        open_notebook(page, lab, (scratch / "broken_widgets.ipynb").relative_to(ROOT).as_posix())
        state = run_all_cells(page, timeout_s=120)
        report = notebook_report(page)
        shot = screenshot(
            page.locator(".jp-NotebookPanel:visible .jp-Notebook"),
            artifacts_dir() / "broken_widgets.png",
        )
        print(f"\nscreenshot: {shot} ({time.monotonic() - start:.0f} s)")
    finally:
        page.close()
        shutil.rmtree(scratch, ignore_errors=True)
    problems = widget_problems(report)
    print("widget problems found:" + "".join(f"\n    {p}" for p in problems))
    print(f"console errors ({len(errors)}):" + "".join(f"\n    {e[:200]}" for e in errors))
    assert state["counted"] == state["code"] == 3
    assert error_outputs(report) == []
    assert len(problems) == 2, problems
    assert problems[0].startswith("code cell 0: Error widget: ")
    assert "course-test-no-such-module" in problems[0]
    assert problems[1] == "code cell 1: Error displaying widget: model not found"
    assert [o["widget"] for o in report[2]["outputs"]] == ["live"]
