"""Checks that the graded exercise notebooks call.

Every check takes the learner's function, runs it on a few inputs, compares the result
with the library's own implementation and prints a short verdict:

- ``passed``: the answer matches;
- ``failed``: it ran but the answer is wrong (what was expected, and a hint);
- ``not attempted``: the function still raises ``NotImplementedError``;
- ``error``: it raised some other exception (its type and message, and a hint).

A check never raises, so one unfinished exercise does not stop the notebook. When the
environment variable ``COURSE_GRADING_LOG`` names a file, each verdict is also appended
to it as one JSON line (the tests and a teacher's grading script read it).
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import asdict, dataclass

import numpy as np

PASSED, FAILED, NOT_ATTEMPTED, ERROR = "passed", "failed", "not attempted", "error"
_ICONS = {PASSED: "✅", FAILED: "❌", NOT_ATTEMPTED: "⏳", ERROR: "💥"}


class Mismatch(AssertionError):
    """Raised inside a check when the learner's answer is wrong; the text says how."""


@dataclass
class Verdict:
    """The outcome of one check: truthy only when it passed."""

    check: str
    status: str
    message: str
    hint: str = ""

    def __bool__(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        text = f"{_ICONS[self.status]} {self.check}: {self.status}. {self.message}"
        if self.hint and self.status != PASSED:
            text += f"\n   Hint: {self.hint}"
        return text

    def _repr_html_(self) -> str:  # shown by Jupyter when a verdict is a cell's value
        color = {PASSED: "#1a7f37", NOT_ATTEMPTED: "#9a6700"}.get(self.status, "#cf222e")
        hint = f"<br><i>Hint: {self.hint}</i>" if self.hint and self.status != PASSED else ""
        return (
            f'<div style="border-left:4px solid {color};padding:4px 8px">'
            f"{_ICONS[self.status]} <b>{self.check}</b>: {self.status}. {self.message}{hint}</div>"
        )


def _record(verdict: Verdict) -> None:
    log = os.environ.get("COURSE_GRADING_LOG")
    if log:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(verdict)) + "\n")
        except OSError as err:  # a check must never stop the notebook
            print(f"(could not write the verdict to COURSE_GRADING_LOG={log}: {err})")


def run_check(name: str, body, *, hint: str = "", success: str = "Well done.") -> Verdict:
    """Run ``body()`` (which raises :class:`Mismatch` on a wrong answer) and judge it.

    This is how every check below is built; a teacher can build new ones the same way.
    """
    try:
        body()
    except NotImplementedError:
        verdict = Verdict(
            name,
            NOT_ATTEMPTED,
            "Replace the `raise NotImplementedError` with your code, then run this cell again.",
            hint,
        )
    except Mismatch as wrong:
        verdict = Verdict(name, FAILED, str(wrong), hint)
    except Exception as err:  # a learner's bug: report it briefly, not as a traceback
        where = traceback.extract_tb(err.__traceback__)[-1]
        verdict = Verdict(
            name,
            ERROR,
            f"Your code raised {type(err).__name__}: {err} "
            f"(line {where.lineno}: {(where.line or '').strip()})",
            hint,
        )
    else:
        verdict = Verdict(name, PASSED, success, hint)
    print(verdict)
    _record(verdict)
    return verdict


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
            f"{got[index]!r}, expected {expected[index]!r} ({len(bad)} entries differ)."
        )


def expect_equal(value, expected, *, what: str = "your result") -> None:
    """Check a plain value (int, str, tuple...) equals ``expected``."""
    if value != expected:
        raise Mismatch(f"{what} is {value!r}; expected {expected!r}.")
