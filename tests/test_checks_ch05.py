"""Tests of chapter 05's exercise checks (course_lib/checks/ch05.py), as tests/test_checks.py
does for chapters 00-04: the reference answers pass (the copies below and the functions in
solutions/05_image_generation_techniques.ipynb), answers that call the library fail with
"Write it yourself", the likely wrong answers fail, and no hint shows a solution line."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from course_lib import grading, metrics
from course_lib.checks import ch05
from course_lib.models import diffusion, restoration

ROOT = Path(__file__).resolve().parents[1]
STEM = "05_image_generation_techniques"
POINTS = {"masked_l1": 1, "depth_to_space": 2, "psnr": 1, "inpaint_loop": 3}


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


def run(name, fn) -> grading.Verdict:
    return getattr(ch05, name)(fn)


# -- the reference answers, copied from the solutions notebook -------------------------------


def masked_l1(target, prediction, mask):
    error = np.abs(target - prediction) * mask
    return error.sum() / (mask.sum() * target.shape[-1])


def depth_to_space(x, scale):
    n, h, w, c = x.shape
    out = x.reshape(n, h, w, scale, scale, c // (scale * scale))
    out = out.transpose(0, 1, 3, 2, 4, 5)
    return out.reshape(n, h * scale, w * scale, c // (scale * scale))


def psnr(images, reference, value_range):
    peak = value_range[1] - value_range[0]
    mse = ((images - reference) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(peak**2 / mse)


def inpaint_loop(step, x_T, known, mask, abar_after, noises):
    x = x_T
    for i, abar in enumerate(abar_after):
        x = step(x, i)
        noised = np.sqrt(abar) * known + np.sqrt(1 - abar) * noises[i]
        x = mask * x + (1 - mask) * noised
    return x


REFERENCE = {f.__name__: f for f in (masked_l1, depth_to_space, psnr, inpaint_loop)}

LIBRARY = {
    "masked_l1": lambda t, p, m: float(restoration.masked_l1(t, p, m)),
    "depth_to_space": lambda x, s: keras.ops.convert_to_numpy(restoration.depth_to_space(x, s)),
    "psnr": lambda a, b, r: metrics.psnr(a, b, r),
    "inpaint_loop": lambda step, x, k, m, ab, ns: _library_loop(step, x, k, m, ab, ns),
}


def _library_loop(step, x, known, mask, abar_after, noises):
    for i, abar in enumerate(abar_after):
        x = diffusion.paste_known(step(x, i), known, mask, abar, noises[i])
    return x


# -- wrong answers learners are likely to write ------------------------------------------------

WRONG = [
    ("masked_l1", "mean over every pixel", lambda t, p, m: np.abs(t - p).mean()),
    ("masked_l1", "mask inverted", lambda t, p, m: masked_l1(t, p, 1 - m)),
    ("masked_l1", "divided by all pixels", lambda t, p, m: (np.abs(t - p) * m).mean()),
    ("masked_l1", "squared error", lambda t, p, m: ((t - p) ** 2 * m).sum() / m.sum()),
    ("masked_l1", "sum, not mean", lambda t, p, m: (np.abs(t - p) * m).sum()),
    ("masked_l1", "channels not counted", lambda t, p, m: (np.abs(t - p) * m).sum() / m.sum()),
    (
        "depth_to_space",
        "no transpose",
        lambda x, s: x.reshape(x.shape[0], x.shape[1] * s, x.shape[2] * s, -1),
    ),
    (
        "depth_to_space",
        "rows and columns swapped in a block",
        lambda x, s: _d2s(x, s, (0, 1, 4, 2, 3, 5)),
    ),
    ("depth_to_space", "channels first inside a pixel", lambda x, s: _d2s_channels_first(x, s)),
    ("depth_to_space", "returns the input", lambda x, s: x),
    ("psnr", "peak 255", lambda a, b, r: 10 * np.log10(255**2 / ((a - b) ** 2).mean((1, 2, 3)))),
    ("psnr", "peak 1 always", lambda a, b, r: 10 * np.log10(1 / ((a - b) ** 2).mean((1, 2, 3)))),
    ("psnr", "peak not squared", lambda a, b, r: 10 * np.log10((r[1] - r[0]) / _mse(a, b))),
    ("psnr", "one number for the batch", lambda a, b, r: psnr(a, b, r).mean()),
    ("psnr", "natural log", lambda a, b, r: 10 * np.log((r[1] - r[0]) ** 2 / _mse(a, b))),
    ("inpaint_loop", "known pixels pasted clean", lambda *a: _loop(*a, noisy=False)),
    ("inpaint_loop", "paste before the step", lambda *a: _loop(*a, before=True)),
    ("inpaint_loop", "mask inverted", lambda *a: _loop(*a, invert=True)),
    ("inpaint_loop", "abar of the step before", lambda *a: _loop(*a, lag=True)),
    ("inpaint_loop", "abar without square roots", lambda *a: _loop(*a, roots=False)),
]


def _d2s(x, s, order):
    n, h, w, c = x.shape
    out = x.reshape(n, h, w, s, s, c // (s * s)).transpose(*order)
    return out.reshape(n, h * s, w * s, c // (s * s))


def _d2s_channels_first(x, s):
    n, h, w, c = x.shape
    out = x.reshape(n, h, w, c // (s * s), s, s).transpose(0, 1, 4, 2, 5, 3)
    return out.reshape(n, h * s, w * s, c // (s * s))


def _mse(a, b):
    return ((a - b) ** 2).mean(axis=(1, 2, 3))


def _loop(step, x, known, mask, abar_after, noises, noisy=True, before=False, invert=False,
          lag=False, roots=True):  # fmt: skip
    m = 1 - mask if invert else mask
    root = np.sqrt if roots else (lambda v: v)
    for i, abar in enumerate(abar_after):
        if lag:
            abar = abar_after[i - 1] if i else 0.1
        noised = root(abar) * known + root(1 - abar) * noises[i] if noisy else known
        if before:
            x = step(m * x + (1 - m) * noised, i)
        else:
            x = m * step(x, i) + (1 - m) * noised
    return x


# The tables above are tested by tests/test_check_tables.py (registered points, the
# reference passes, the library call fails, every wrong answer fails).


# -- this chapter's own tests ---------------------------------------------------------------------


def test_a_tensorflow_depth_to_space_is_refused():
    import tensorflow as tf

    verdict = run("depth_to_space", lambda x, s: tf.nn.depth_to_space(x, s))
    assert verdict.status == grading.FAILED and "NumPy" in verdict.message
