"""Helpers for tests that look at the course in a real browser.

    from tests.browser import chromium, console_errors, jupyter_lab

    with chromium() as browser, jupyter_lab() as lab:   # skips where no Chromium can start
        page = browser.new_page()
        errors = console_errors(page)                    # fills while the page runs
        page.goto(lab.url("lab/tree/notebooks/00_what_is_generative_ai.ipynb"))

* :func:`jupyter_lab` starts the course's JupyterLab the way a learner does
  (``./course lab``), on 127.0.0.1, a free port and a token, with its settings,
  workspaces and runtime files in a temporary folder, and stops it (and its kernels)
  afterwards. It yields a :class:`Lab` (``lab.base_url``, ``lab.url(path)``).
* :func:`chromium` launches Debian's Chromium (``/usr/bin/chromium``, installed by
  ``./course test``) through Playwright; Playwright's own browser download is not used.
* :func:`console_errors` collects a page's console errors and uncaught exceptions;
  :func:`screenshot` saves a picture of one element.
* :func:`open_notebook`, :func:`run_all_cells` and :func:`notebook_report` drive a
  notebook in JupyterLab through ``window.jupyterapp`` and say what every code cell shows;
  :func:`widget_problems` and :func:`error_outputs` read that report.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium's own services (updates, sync,
# QUIC probes) keep trying the closed network and page loads can fail.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Variables the test run sets that a learner's `./course lab` does not have: the lab's
# kernels must not inherit them (MPLBACKEND=Agg would hide every figure, and
# PYTEST_CURRENT_TEST turns the course's widgets into static figures).
TEST_RUN_VARIABLES = ("PYTEST_CURRENT_TEST", "MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL")
# JupyterLab user settings for a test: no autosave (running a notebook must never write
# its outputs into the repository), no news or update check (no network, no toast).
# Only test hygiene here: the news pop-up and the Markdown viewer come from the course's
# own settings (tools/jupyterlab_overrides.json, installed by ./course), which the tests check.
QUIET_LAB_SETTINGS = {"@jupyterlab/docmanager-extension:plugin": {"autosave": False}}


def artifacts_dir() -> Path:
    """Where tests save screenshots: ``$COURSE_TEST_ARTIFACTS`` or ``tests/artifacts``."""
    folder = Path(os.environ.get("COURSE_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- JupyterLab ---------------------------------------------------------------------------
@dataclass
class Lab:
    """A running JupyterLab: ``base_url`` ends with a slash; ``url(path)`` adds the token."""

    base_url: str
    token: str
    log: Path

    def url(self, path: str = "lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET"):
        """Call the server's REST API; returns the decoded JSON (None for no content)."""
        request = urllib.request.Request(self.url(f"api/{path}"), method=method)
        with urllib.request.urlopen(request, timeout=10) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def _write_settings(settings_dir: Path, settings: dict) -> None:
    for plugin, values in settings.items():
        package, _, name = plugin.partition(":")
        path = settings_dir / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def _marked_processes(marker: str) -> list[int]:
    """Ids of the processes whose environment carries ``marker`` (the lab and its kernels)."""
    needle = f"COURSE_BROWSER_TEST_LAB={marker}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return [pid for pid in found if pid != os.getpid()]


def _stop(proc: subprocess.Popen, lab: Lab, marker: str) -> None:
    with contextlib.suppress(Exception):  # kernels first, politely, while the server runs
        for kernel in lab.api("kernels"):
            lab.api(f"kernels/{kernel['id']}", method="DELETE")
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)
    # Kernels run in sessions of their own: end whatever the server left behind.
    for pid in _marked_processes(marker):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def jupyter_lab(*, env: dict | None = None, args=(), settings=None, timeout: float = 300):
    """Run the course's JupyterLab (``./course lab``) for the length of a ``with`` block.

    It listens on 127.0.0.1 on a free port with a random token, serves the repository,
    and keeps its configuration, user settings (``settings``, default
    :data:`QUIET_LAB_SETTINGS`), workspaces and runtime files in a temporary folder, so
    no user state leaks in or out. The environment is the test run's without
    :data:`TEST_RUN_VARIABLES`, with ``COURSE_SKIP_APT=1`` and ``env`` on top. Extra
    ``args`` go to JupyterLab (``--LabApp.expose_app_in_browser=True`` is always given, so
    a page can drive it through ``window.jupyterapp``). Yields a :class:`Lab`; the server
    and its kernels are stopped afterwards, whatever happened.
    """
    port, token, marker = free_port(), uuid.uuid4().hex, uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="course-lab-") as tmp:
        home = Path(tmp)
        folders = {
            "JUPYTER_CONFIG_DIR": home / "config",
            "JUPYTER_DATA_DIR": home / "data",
            "JUPYTER_RUNTIME_DIR": home / "runtime",
            "JUPYTERLAB_SETTINGS_DIR": home / "settings",
            "JUPYTERLAB_WORKSPACES_DIR": home / "workspaces",
            "IPYTHONDIR": home / "ipython",
        }
        for folder in folders.values():
            folder.mkdir()
        _write_settings(
            folders["JUPYTERLAB_SETTINGS_DIR"], QUIET_LAB_SETTINGS if settings is None else settings
        )
        full_env = {k: v for k, v in os.environ.items() if k not in TEST_RUN_VARIABLES}
        full_env.update({k: str(v) for k, v in folders.items()})
        full_env.update(COURSE_SKIP_APT="1", COURSE_BROWSER_TEST_LAB=marker, **(env or {}))
        log = home / "lab.log"
        lab = Lab(f"http://127.0.0.1:{port}/", token, log)
        command = [
            str(ROOT / "course"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--ServerApp.port_retries=0",
            "--LabApp.expose_app_in_browser=True",
            *args,
        ]
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"JupyterLab exited with {proc.returncode}:\n{lab.log_tail()}"
                    )
                try:
                    lab.api("status")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"JupyterLab did not answer within {timeout:.0f} s:\n{lab.log_tail()}"
                        ) from None
                    time.sleep(0.5)
            yield lab
        finally:
            _stop(proc, lab, marker)


# -- Chromium -----------------------------------------------------------------------------
@contextlib.contextmanager
def chromium(*, executable: str = CHROMIUM, launch_timeout_ms: float = 60_000):
    """Debian's Chromium, headless, through Playwright; skips the test where it cannot be had.

    Skips (with the reason) when Playwright is not installed, when ``executable`` is
    missing (``./course test`` installs Debian's ``chromium`` where it may), or when no
    display-less Chromium can start.
    """
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (it is in requirements.txt: ./course setup)")
    if not Path(executable).exists():
        pytest.skip(
            f"{executable} is missing: ./course test installs Debian's chromium as root "
            "(or run: sudo apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                args=CHROMIUM_ARGS,
                timeout=launch_timeout_ms,
            )
        except Error as err:
            pytest.skip(f"no display-less Chromium could start: {str(err).splitlines()[0]}")
        try:
            yield browser
        finally:
            browser.close()


def screenshot(locator, path) -> Path:
    """Save a picture of one element, scrolled into view and laid out first.

    (JupyterLab skips laying out cells far off screen: a picture taken at once can miss
    their outputs.)
    """
    locator.scroll_into_view_if_needed()
    locator.page.wait_for_timeout(500)
    locator.screenshot(path=path)
    return Path(path)


def console_errors(page) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions."""
    errors: list[str] = []

    def on_console(message):
        if message.type == "error":
            errors.append(f"console error: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return errors


# -- Driving a notebook in JupyterLab -----------------------------------------------------
_NOTEBOOK_JS = """
() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {path: panel.context.path, kernel: kernel ? kernel.status : null,
          cells: panel.content.widgets.length};
}
"""

_START_RUN_ALL_JS = """
() => {
  window.__courseRunAll = {done: false, result: null};
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    r => { window.__courseRunAll = {done: true, result: String(r)}; },
    e => { window.__courseRunAll = {done: true, result: 'error: ' + e}; });
}
"""

_PROGRESS_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const code = panel.content.widgets.filter(c => c.model.type === 'code');
  return {done: window.__courseRunAll.done, result: window.__courseRunAll.result,
          kernel: kernel ? kernel.status : null, code: code.length,
          counted: code.filter(c => c.model.executionCount !== null).length};
}
"""

# One entry per code cell: its execution count, and per output what the model holds and
# what the page shows. The cell's node is tagged data-course-cell=<position among code
# cells> so a test can find it again (page.locator('[data-course-cell="0"]')).
_REPORT_JS = """
(widgetMime) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const code = panel.content.widgets.filter(c => c.model.type === 'code');
  return code.map((cell, index) => {
    cell.node.setAttribute('data-course-cell', String(index));
    const area = cell.outputArea ? cell.outputArea.node : cell.node;
    const children = [...area.querySelectorAll(':scope > .jp-OutputArea-child')];
    const outputs = cell.model.outputs.toJSON().map((out, i) => {
      const data = out.data || {};
      const text = out.text !== undefined ? [].concat(out.text).join('')
        : out.output_type === 'error' ? [out.ename + ': ' + out.evalue, ...(out.traceback || [])].join('\\n')
        : [].concat(data['text/plain'] || '').join('');
      const node = children[i] && (children[i].querySelector(':scope > .jp-OutputArea-output')
                                   || children[i].querySelector('.jp-OutputArea-output'));
      let widget = null;
      if (widgetMime in data) {
        const shown = node ? node.textContent.trim() : '';
        // ipywidgets 8 draws a widget whose model or view class cannot be loaded as an
        // error widget ("Click to show javascript error."); a click shows the reason.
        const broken = node && node.querySelector('.jupyter-widgets-error-widget');
        if (broken && broken.classList.contains('icon-error') && broken.parentElement.onclick) {
          broken.parentElement.onclick();
        }
        widget = !node ? 'not in the page'
          : shown.startsWith('Error displaying widget') ? shown
          : broken ? 'Error widget: ' + broken.textContent.replace(/\\s+/g, ' ')
              .replace(/^\\s*\\[Open Browser Console[^\\]]*\\]/, '').trim().slice(0, 300)
          : shown.startsWith('Loading widget') ? 'still loading'
          : node.querySelector('.jupyter-widgets') ? 'live' : 'empty';
      }
      return {type: out.output_type, name: out.name || null, text: text.slice(0, 4000),
              mimes: Object.keys(data), widget,
              shown: node ? (node.innerText || node.textContent).slice(0, 4000) : null};
    });
    return {index, position: panel.content.widgets.indexOf(cell),
            count: cell.model.executionCount,
            source: cell.model.sharedModel.getSource().slice(0, 200),
            outputs};
  });
}
"""


def open_notebook(page, lab: Lab, path: str, *, timeout_s: float = 180) -> None:
    """Open ``path`` (relative to the repository) in JupyterLab and wait for an idle kernel.

    Each call uses a workspace of its own, so notebooks opened earlier are not restored.
    """
    workspace = f"course-test-{uuid.uuid4().hex[:8]}"
    page.goto(lab.url(f"lab/workspaces/{workspace}/tree/{path}"), timeout=timeout_s * 1000)
    page.wait_for_function(
        f"() => {{ const s = ({_NOTEBOOK_JS})(); "
        f"return s && s.path === {json.dumps(path)} && s.kernel === 'idle' && s.cells > 0; }}",
        timeout=timeout_s * 1000,
        polling=500,
    )


def run_all_cells(page, *, timeout_s: float = 600, progress=print) -> dict:
    """Run every cell of the current notebook; wait for the run to end and the kernel idle.

    Returns the last progress entry (``code``: code cells, ``counted``: how many have an
    execution count). A run stops at the first cell that raises, so check ``counted``.
    """
    page.evaluate(_START_RUN_ALL_JS)
    start = last_said = time.monotonic()
    while True:
        state = page.evaluate(_PROGRESS_JS)
        if state["done"] and state["kernel"] == "idle":
            return state
        now = time.monotonic()
        if now - start > timeout_s:
            raise TimeoutError(f"running all cells took over {timeout_s:.0f} s: {state}")
        if progress and now - last_said > 15:
            progress(f"  ... {state['counted']}/{state['code']} cells run, {now - start:.0f} s")
            last_said = now
        page.wait_for_timeout(500)


def notebook_report(page, *, widget_timeout_s: float = 60) -> list[dict]:
    """What each code cell of the current notebook shows (see ``_REPORT_JS``).

    Waits up to ``widget_timeout_s`` for widgets that are still loading.
    """
    deadline = time.monotonic() + widget_timeout_s
    while True:
        report = page.evaluate(_REPORT_JS, WIDGET_MIME)
        loading = [o for c in report for o in c["outputs"] if o["widget"] == "still loading"]
        if not loading or time.monotonic() > deadline:
            return report
        page.wait_for_timeout(500)


def widget_problems(report: list[dict]) -> list[str]:
    """One line per widget output that is not shown as a live widget.

    What a learner would see instead: ``Error displaying widget...`` (JupyterLab's widget
    renderer gave up, e.g. ``: model not found``), ``Error widget: ...`` (ipywidgets 8's
    stand-in for a widget whose model or view class could not be loaded, with the reason),
    ``still loading``, ``empty`` or ``not in the page``.
    """
    return [
        f"code cell {cell['index']}: {out['widget']}"
        for cell in report
        for out in cell["outputs"]
        if out["widget"] not in (None, "live")
    ]


def error_outputs(report: list[dict]) -> list[str]:
    """One line per output that is an error or carries a Python traceback."""
    found = []
    for cell in report:
        for out in cell["outputs"]:
            shown = f"{out['text']}\n{out['shown'] or ''}"
            if out["type"] == "error" or "Traceback (most recent call last)" in shown:
                found.append(f"code cell {cell['index']}: {out['text'][:1500]}")
    return found
