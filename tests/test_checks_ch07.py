"""Tests of chapter 07's exercise checks (course_lib/checks/ch07.py): the reference answers
pass, answers that call the library fail with "Write it yourself", and the likely wrong
answers fail."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from course_lib import grading
from course_lib.checks import ch07
from course_lib.models import video

ROOT = Path(__file__).resolve().parents[1]
STEM = "07_video_generation"
POINTS = {"conv3d_output_shape": 1, "rollout": 3, "gaussian_nll": 2}
WRONG_MAY_ERROR = True  # a wrong rollout may crash the check: an error, 0 points


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


def run(name, fn) -> grading.Verdict:
    return getattr(ch07, name)(fn)


# -- the reference answers, copied from the solutions notebook -------------------------------


def conv3d_output_shape(shape, filters, kernel, strides, padding):
    kernel = (kernel,) * 3 if isinstance(kernel, int) else kernel
    strides = (strides,) * 3 if isinstance(strides, int) else strides
    out = []
    for size, k, s in zip(shape[:3], kernel, strides):
        out.append(math.ceil(size / s) if padding == "same" else (size - k) // s + 1)
    return (*out, filters)


def rollout(predict, context, horizon):
    window = context
    frames = []
    for _ in range(horizon):
        frame = predict(window)
        frames.append(frame)
        window = np.concatenate([window[:, 1:], frame[:, None]], axis=1)
    return np.stack(frames, axis=1)


def gaussian_nll(x, mean, log_var):
    return 0.5 * (np.log(2 * np.pi) + log_var + (x - mean) ** 2 / np.exp(log_var))


REFERENCE = {f.__name__: f for f in (conv3d_output_shape, rollout, gaussian_nll)}

LIBRARY = {
    "conv3d_output_shape": video.conv3d_output_shape,
    "rollout": video.rollout,
    "gaussian_nll": video.gaussian_nll,
}


# -- wrong answers learners are likely to write ------------------------------------------------


def _shape(shape, filters, kernel, strides, padding, *, time=True, rounding=math.ceil, keep=False):
    kernel = (kernel,) * 3 if isinstance(kernel, int) else kernel
    strides = (strides,) * 3 if isinstance(strides, int) else strides
    out = []
    for axis, (size, k, s) in enumerate(zip(shape[:3], kernel, strides)):
        if axis == 0 and not time:
            out.append(size)
        elif padding == "same":
            out.append(rounding(size / s))
        else:
            out.append((size - k) // s + 1)
    return (*out, shape[3] if keep else filters)


def _rollout(predict, context, horizon, *, mode):
    window, frames = context, []
    for _ in range(horizon):
        frame = predict(window)
        frames.append(frame)
        if mode == "frozen":
            continue
        if mode == "front":
            window = np.concatenate([frame[:, None], window[:, :-1]], axis=1)
        elif mode == "drop newest":
            window = np.concatenate([window[:, :-1], frame[:, None]], axis=1)
        elif mode == "repeat last":
            window = np.repeat(frame[:, None], window.shape[1], axis=1)
    return np.stack(frames, axis=1)


def _nll(x, m, lv, *, form):
    e2, v = (x - m) ** 2, np.exp(lv)
    return {
        "var is log_var": 0.5 * (np.log(2 * np.pi) + lv + e2 / lv),
        "std not var": 0.5 * (np.log(2 * np.pi) + lv + e2 / np.sqrt(v)),
        "no constant": 0.5 * (lv + e2 / v),
        "not halved": np.log(2 * np.pi) + lv + e2 / v,
        "log-likelihood": -0.5 * (np.log(2 * np.pi) + lv + e2 / v),
        "averaged": np.mean(0.5 * (np.log(2 * np.pi) + lv + e2 / v)),
        "no log-variance term": 0.5 * (np.log(2 * np.pi) + e2 / v),
    }[form]


WRONG = [
    ("conv3d_output_shape", "time axis untouched", lambda *a: _shape(*a, time=False)),
    ("conv3d_output_shape", "floor for same", lambda *a: _shape(*a, rounding=math.floor)),
    ("conv3d_output_shape", "input channels kept", lambda *a: _shape(*a, keep=True)),
    ("conv3d_output_shape", "always same", lambda s, f, k, st, p: _shape(s, f, k, st, "same")),
    ("conv3d_output_shape", "three numbers", lambda *a: _shape(*a)[:3]),
    ("rollout", "window never updated", lambda p, c, h: _rollout(p, c, h, mode="frozen")),
    ("rollout", "prediction put first", lambda p, c, h: _rollout(p, c, h, mode="front")),
    ("rollout", "newest frame dropped", lambda p, c, h: _rollout(p, c, h, mode="drop newest")),
    ("rollout", "window of copies", lambda p, c, h: _rollout(p, c, h, mode="repeat last")),
    ("rollout", "context returned too", lambda p, c, h: np.concatenate([c, rollout(p, c, h)], 1)),
    ("rollout", "growing window", lambda p, c, h: _growing(p, c, h)),
]
WRONG += [
    ("gaussian_nll", form, lambda x, m, lv, form=form: _nll(x, m, lv, form=form))
    for form in (
        "var is log_var",
        "std not var",
        "no constant",
        "not halved",
        "log-likelihood",
        "averaged",
        "no log-variance term",
    )
]


def _growing(predict, context, horizon):
    window, frames = context, []
    for _ in range(horizon):
        frame = predict(window)
        frames.append(frame)
        window = np.concatenate([window, frame[:, None]], axis=1)
    return np.stack(frames, axis=1)


# The tables above are tested by tests/test_check_tables.py (registered points, the
# reference passes, the library call fails, every wrong answer fails).


# -- this chapter's own tests ---------------------------------------------------------------------


def test_a_wrong_rollout_is_told_what_its_window_was():
    verdict = run("rollout", lambda p, c, h: _rollout(p, c, h, mode="frozen"))
    assert "still the original context" in verdict.message
