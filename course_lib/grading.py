"""Checks that the graded exercise notebooks call, and what a grader reads back.

A chapter's checks live in ``course_lib/checks/chNN.py``. Each is declared with the
chapter's :class:`Exercises` registry, which gives it its points, the library functions
it must not lean on, its hint and the notebook cell that explains it::

    exercise = grading.Exercises("02_vaes")

    @exercise(points=2, forbid=[vae.kl_divergence], see="The KL term",
              hint="Check the sign of each term; it is 0 when the cloud is N(0, 1).")
    def kl_divergence(fn):
        ...  # call fn on several cases; raise Mismatch("what is wrong") when wrong

Calling the check with the learner's function runs the body and prints one verdict:

- ``passed``: every case behaves as it should;
- ``failed``: it ran but something is wrong (what, and a first hint: the property);
- ``not attempted``: the function still raises ``NotImplementedError``;
- ``error``: it raised some other exception (its type, message and line, and the hint).

Hints come in two levels: the first failure says which property failed; a second
failure of the same check (or ``more_help(name)``) adds where the chapter notebook
explains it. Neither ever shows the solution.

While the learner's function runs, the library functions in ``forbid`` are switched
off: an answer that calls them fails with "write it yourself". The check compares with
them afterwards.

A check never raises, so one unfinished exercise does not stop the notebook, except
under nbgrader (``NBGRADER_EXECUTION`` set) or with ``COURSE_STRICT=1``, where a check
that did not pass raises ``AssertionError`` after printing, so nbgrader scores it 0.

When ``COURSE_GRADING_LOG`` names a file, each verdict is appended to it as one JSON
line with the student (``COURSE_STUDENT``, else the notebook's file name), the notebook
(``COURSE_NOTEBOOK``, else the chapter's), the exercise, the points earned and possible,
and a UTC timestamp: ``./course grade`` reads these lines.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import sys
import traceback
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

PASSED, FAILED, NOT_ATTEMPTED, ERROR = "passed", "failed", "not attempted", "error"
_ICONS = {PASSED: "✅", FAILED: "❌", NOT_ATTEMPTED: "⏳", ERROR: "💥"}
_ROOT = Path(__file__).resolve().parents[1]


class Mismatch(AssertionError):
    """Raised inside a check when the learner's answer is wrong; the text says how."""


class ReferenceCalled(BaseException):
    """Raised when a learner's answer calls a library function the exercise asks them to
    write. A ``BaseException`` so that a learner's ``except Exception`` cannot hide it."""


@dataclass
class Verdict:
    """The outcome of one check: truthy only when it passed."""

    check: str
    status: str
    message: str
    hint: str = ""
    more: str = ""
    points: float = 0.0
    max_points: float = 0.0
    notebook: str = ""
    student: str = ""
    timestamp: str = ""
    level: int = 1  # 2: the pointer to the chapter (``more``) is shown too
    _shown: bool = field(default=False, repr=False, compare=False)

    @property
    def exercise(self) -> str:
        return self.check

    def __bool__(self) -> bool:
        return self.status == PASSED

    def _hints(self) -> list[str]:
        if self.status == PASSED:
            return []
        more = bool(self.more) and self.level >= 2
        return [f"Hint: {self.hint}"] * bool(self.hint) + [f"More help: {self.more}"] * more

    def __str__(self) -> str:
        score = f" [{_num(self.points)}/{_num(self.max_points)} points]" if self.max_points else ""
        text = f"{_ICONS[self.status]} {self.check}: {self.status}{score}. {self.message}"
        return "\n   ".join([text, *self._hints()])

    def _repr_html_(self) -> str:
        import html

        color = {PASSED: "#1a7f37", NOT_ATTEMPTED: "#9a6700"}.get(self.status, "#cf222e")
        score = f" [{_num(self.points)}/{_num(self.max_points)} points]" if self.max_points else ""
        hints = "".join(f"<br><i>{html.escape(line)}</i>" for line in self._hints())
        return (
            f'<div style="border-left:4px solid {color};padding:4px 8px">'
            f"{_ICONS[self.status]} <b>{html.escape(self.check)}</b>: {self.status}{score}. "
            f"{html.escape(self.message)}{hints}</div>"
        )

    def show(self) -> None:
        """Show the verdict once: as HTML in Jupyter, as text elsewhere."""
        if self._shown:
            return
        self._shown = True
        shell = _ipython()
        if shell is None:
            print(self)
            return
        from IPython.display import display

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)

    def _ipython_display_(self) -> None:
        # A check cell's value is its verdict: already shown by the check, so not twice.
        self.show()

    def record(self) -> dict:
        """The JSON line written to ``COURSE_GRADING_LOG``."""
        row = asdict(self)
        row.pop("_shown")
        row.pop("level")
        row["exercise"] = self.check
        return row


def _num(x: float) -> str:
    return f"{x:g}"


def _ipython():
    shell = sys.modules.get("IPython")
    if shell is None:
        return None
    try:
        return shell.get_ipython()
    except AttributeError:
        return None


def _session_path() -> str:
    """The notebook file the kernel runs, where Jupyter says (``__session__``)."""
    main = sys.modules.get("__main__")
    return str(getattr(main, "__session__", "") or "")


def student_id() -> str:
    """Who the verdicts belong to: ``COURSE_STUDENT``, else the notebook's file name."""
    explicit = os.environ.get("COURSE_STUDENT", "").strip()
    if explicit:
        return explicit
    session = _session_path()
    return Path(session).stem if session else "unknown"


def _record(verdict: Verdict) -> None:
    log = os.environ.get("COURSE_GRADING_LOG")
    if log:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(verdict.record()) + "\n")
        except OSError as err:  # a check must never stop the notebook
            print(f"(could not write the verdict to COURSE_GRADING_LOG={log}: {err})")


def _strict() -> bool:
    return bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get("COURSE_STRICT") == "1"


def run_check(
    name: str,
    body,
    *,
    hint: str = "",
    success: str = "Well done.",
    points: float = 0.0,
    more: str = "",
    notebook: str = "",
) -> Verdict:
    """Run ``body()`` (which raises :class:`Mismatch` on a wrong answer) and judge it.

    ``more`` is the second-level hint, shown from the second failure of ``name`` on.
    Every check is built on this; a teacher can build new ones the same way.
    """
    try:
        body()
    except NotImplementedError:
        status = NOT_ATTEMPTED
        message = (
            "Replace the `raise NotImplementedError` with your code, then run this cell again."
        )
    except ReferenceCalled as called:
        status, message = FAILED, str(called)
    except Mismatch as wrong:
        status, message = FAILED, str(wrong)
    except Exception as err:  # a learner's bug: report it briefly, not as a traceback
        status, message = ERROR, _describe_error(err)
    else:
        status, message = PASSED, success
    failures = _FAILURES.get(name, 0) + (status in (FAILED, ERROR))
    _FAILURES[name] = failures
    verdict = Verdict(
        name,
        status,
        message,
        hint,
        more,
        points if status == PASSED else 0.0,
        points,
        os.environ.get("COURSE_NOTEBOOK", "").strip() or notebook,
        student_id(),
        _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        level=2 if failures >= 2 or _strict() else 1,
    )
    _HELP[name] = more
    verdict.show()
    _record(verdict)
    if _strict() and status != PASSED:
        raise AssertionError(f"{name}: {status}")
    return verdict


def _describe_error(err: Exception) -> str:
    """One line about an exception: where in the learner's code, if it came from there."""
    frames = traceback.extract_tb(err.__traceback__)
    library = (os.sep + "site-packages" + os.sep, str(Path(__file__).parent))
    own = [
        f for f in frames if not f.filename.startswith(library[1]) and library[0] not in f.filename
    ]
    where = (own or frames)[-1]
    if getattr(err, "_course_from_learner", False):
        return (
            f"Your code raised {type(err).__name__}: {err} "
            f"(line {where.lineno}: {(where.line or '').strip()})"
        )
    return (
        f"The check stopped with {type(err).__name__}: {err}, while looking at what your "
        "function returned. Does it return the kind of value the exercise asks for?"
    )


_FAILURES: dict[str, int] = {}  # check name -> failed runs in this kernel
_HELP: dict[str, str] = {}  # check name -> its second-level hint


def more_help(name: str) -> str:
    """The second-level hint of check ``name`` (where the chapter explains it)."""
    if name not in _HELP:
        raise KeyError(f"no check called {name!r} has run yet; run its check cell first")
    text = _HELP[name] or "This check has no pointer to the chapter."
    print(text)
    return text


# -- switching the library's reference off while the learner's code runs -----------------


_CALLED: list[str] = []  # names of switched-off functions called since the last check


def _switched_off():
    # Records the call before raising, so a learner's bare `except:` cannot hide it.
    name = sys._getframe(1).f_code.co_name
    _CALLED.append(name)
    raise ReferenceCalled(name)


_HOOK = "__course_switched_off__"


def _raiser(*args, **kwargs):
    # The code a switched-off function runs. It executes with that function's module
    # globals, so it reaches the hook through a name put there while switched off.
    return __course_switched_off__()  # noqa: F821


def _target(ref):
    """The plain Python function behind ``ref`` (a function, method or tf.function)."""
    for attr in ("python_function", "__func__", "__wrapped__"):
        while hasattr(ref, attr):
            ref = getattr(ref, attr)
    if not isinstance(ref, types.FunctionType):
        raise TypeError(f"can only switch off plain Python functions; got {ref!r}")
    return ref


class _Switched:
    """Context manager: every function in ``refs`` raises :class:`ReferenceCalled`.

    Done by swapping the functions' code objects, so a learner's ``from ... import name``
    taken earlier is switched off too, not only the module attribute.
    """

    def __init__(self, refs):
        self.funcs = [_target(r) for r in refs]
        for func in self.funcs:
            if func.__code__.co_freevars:
                raise TypeError(f"cannot switch off {func.__qualname__}: it is a closure")

    depth = 0  # re-entrant: a recursive answer enters again

    def __enter__(self):
        self.depth += 1
        if self.depth > 1:
            return self
        self.saved = [f.__code__ for f in self.funcs]
        for func in self.funcs:
            name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__qualname__}"
            func.__globals__[_HOOK] = _switched_off
            func.__code__ = _raiser.__code__.replace(co_name=name, co_qualname=name)
        return self

    def __exit__(self, *exc):
        self.depth -= 1
        if self.depth:
            return False
        for func, code in zip(self.funcs, self.saved, strict=True):
            func.__code__ = code
        return False


def guarded(fn, forbid=()):
    """``fn`` wrapped so that the library functions ``forbid`` are off while it runs.

    A call of one of them fails the check, even when the learner catches the error; any
    other exception is marked as the learner's (the verdict then shows their line).
    """
    switch = _Switched(forbid)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _CALLED.clear()
        try:
            with switch:
                return fn(*args, **kwargs)
        except Exception as err:
            if not isinstance(err, Mismatch):
                err._course_from_learner = True
            raise
        finally:
            if _CALLED:
                name = _CALLED[0]
                _CALLED.clear()
                raise ReferenceCalled(
                    f"Your answer calls the course library's `{name}`, the very thing this "
                    "exercise asks you to write. Write it yourself, then run this check again."
                )

    return wrapper


# -- a chapter's registry of exercises ----------------------------------------------------


@dataclass
class ExerciseSpec:
    name: str
    points: float
    forbid: tuple
    hint: str
    see: str
    success: str
    kind: str = "formula"


class Exercises:
    """The graded exercises of one chapter: ``exercise = Exercises("02_vaes")``.

    Decorating a check body with ``@exercise(points=..., forbid=[...], hint=..., see=...)``
    makes the check a learner calls: ``kl_divergence(my_function)`` -> :class:`Verdict`.
    ``see`` is the heading of the chapter notebook's cell that explains the idea; ``kind``
    says whether the learner writes a formula or running code (a training step, a
    sampling loop, a generation loop).
    """

    def __init__(self, notebook: str):
        self.notebook = notebook
        self.specs: dict[str, ExerciseSpec] = {}

    KINDS = ("formula", "training step", "sampling loop", "generation loop")

    def __call__(
        self, *, points: float, hint: str, see: str, forbid=(), success="Well done.", kind="formula"
    ):
        if not points > 0:
            raise ValueError(f"points must be > 0; got {points!r}")
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}; got {kind!r}")

        def decorate(body):
            spec = ExerciseSpec(
                body.__name__, float(points), tuple(forbid), hint, see, success, kind
            )
            _Switched(spec.forbid)  # refuses, now, what cannot be switched off
            self.specs[spec.name] = spec

            @functools.wraps(body)
            def check(fn, *args, **kwargs) -> Verdict:
                def run():
                    if not callable(fn):
                        raise Mismatch(
                            f"pass your function itself, e.g. check.{spec.name}({spec.name}); "
                            f"got {type(fn).__name__}"
                        )
                    body(guarded(fn, spec.forbid), *args, **kwargs)

                return run_check(
                    spec.name,
                    run,
                    hint=spec.hint,
                    success=spec.success,
                    points=spec.points,
                    more=self.pointer(spec.see),
                    notebook=self.notebook,
                )

            check.spec = spec
            return check

        return decorate

    @property
    def total_points(self) -> float:
        return sum(s.points for s in self.specs.values())

    def pointer(self, heading: str) -> str:
        """'Read notebooks/NN.ipynb, cell K ("heading")': where the chapter explains it."""
        cell = find_cell(self.notebook, heading)
        where = f", cell {cell}" if cell is not None else ""
        return f'Read notebooks/{self.notebook}.ipynb{where} ("{heading}"), then try again.'


def find_cell(notebook: str, heading: str) -> int | None:
    """The 1-based index of the first markdown cell of ``notebooks/<notebook>.ipynb``
    whose text contains ``heading``; None when the notebook or heading is not found."""
    path = _ROOT / "notebooks" / f"{notebook}.ipynb"
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return None
    for index, cell in enumerate(cells, 1):
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown" and heading in source:
            return index
    return None


# -- showing a learner's result without breaking the lesson -------------------------------


class learner_code:
    """``with grading.learner_code("exercise 3"):`` around a cell that uses the learner's
    functions: an unfinished or broken answer prints one line instead of a traceback."""

    def __init__(self, needs: str):
        self.needs = needs

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if kind is None:
            return False
        if issubclass(kind, NotImplementedError):
            print(f"Finish {self.needs} first.")
            return True
        if issubclass(kind, Exception):
            print(
                f"Your code for {self.needs} raised {kind.__name__}: {err}. "
                "Run its check cell for a hint."
            )
            return True
        return False


# -- comparing values ----------------------------------------------------------------------


def expect_array(value, *, shape=None, what: str = "your result") -> np.ndarray:
    """Turn ``value`` into a NumPy array, checking it is numeric and has ``shape``."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if value is None:
        raise Mismatch(f"{what} is None: did you forget to `return` it?")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise Mismatch(f"{what} cannot be turned into an array of numbers ({err}).") from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise Mismatch(f"{what} should be numbers, but it has dtype {arr.dtype}.")
    if shape is not None and arr.shape != tuple(shape):
        raise Mismatch(f"{what} has shape {arr.shape}; expected {tuple(shape)}.")
    return arr


def expect_scalar(value, *, what: str = "your result") -> float:
    """One number (a plain float, a 0-d or 1-element array or tensor)."""
    arr = expect_array(value, what=what)
    if arr.size != 1:
        raise Mismatch(f"{what} has {arr.size} numbers (shape {arr.shape}); it should be one.")
    return float(arr.reshape(()))


def expect_close(
    value, expected, *, rtol: float = 1e-4, atol: float = 1e-5, what: str = "your result"
) -> None:
    """Check ``value`` equals ``expected`` up to rounding; say where it differs if not."""
    expected = np.asarray(expected)
    got = expect_array(value, shape=expected.shape, what=what)
    if not np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=False):
        bad = np.argwhere(~np.isclose(got, expected, rtol=rtol, atol=atol))
        index = tuple(int(i) for i in bad[0]) if bad.size else ()
        raise Mismatch(
            f"{what} differs from the expected value at index {index}: got "
            f"{_show(got[index])}, expected {_show(expected[index])} ({len(bad)} entries differ)."
        )


def _show(x) -> str:
    x = np.asarray(x)
    if x.dtype == bool:
        return str(bool(x))
    return f"{float(x):.6g}" if np.issubdtype(x.dtype, np.number) else repr(x)


def expect_equal(value, expected, *, what: str = "your result") -> None:
    """Check a plain value (int, str, tuple...) equals ``expected``."""
    if value != expected:
        raise Mismatch(f"{what} is {value!r}; expected {expected!r}.")
