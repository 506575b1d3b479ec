"""Checks for chapter 07's exercises: a 3D convolution's output shape, the rollout loop
that feeds a model its own predictions, and the Gaussian negative log-likelihood, each
compared with ``course_lib.models.video``."""

from __future__ import annotations

import math

import numpy as np

from course_lib import grading
from course_lib.models import video

exercise = grading.Exercises("07_video_generation")


# -- exercise 1 ------------------------------------------------------------------------------

_SHAPE_CASES = [
    ((16, 32, 32, 1), 32, 4, 2, "same"),
    ((15, 28, 28, 3), 8, (3, 5, 5), (1, 2, 2), "same"),
    ((16, 32, 32, 1), 16, (3, 4, 4), (1, 2, 2), "valid"),
    ((9, 20, 17, 4), 5, (2, 3, 4), (2, 3, 2), "valid"),
    ((7, 7, 7, 2), 1, 3, 3, "same"),
]


@exercise(
    points=1,
    forbid=[video.conv3d_output_shape],
    see="3D convolutions: time is one more axis",
    hint="Each of the three axes (frames, height, width) follows the 2D rule on its own, "
    "with its own kernel and stride: 'same' keeps size / stride rounded up, 'valid' "
    "counts the whole kernel positions that fit. The last entry is the number of filters.",
)
def conv3d_output_shape(fn):
    """``fn(shape, filters, kernel, strides, padding)`` must return the output's
    ``(frames, height, width, filters)``."""
    for shape, filters, kernel, strides, padding in _SHAPE_CASES:
        want = video.conv3d_output_shape(shape, filters, kernel, strides, padding)
        got = fn(shape, filters, kernel, strides, padding)
        try:
            got = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            raise grading.Mismatch(
                f"return a tuple of 4 ints (frames, height, width, filters); got {got!r}"
            ) from None
        if got == want:
            continue
        case = f"input {shape}, {filters} filters, kernel {kernel}, strides {strides}, {padding!r}"
        if len(got) != 4:
            why = "give 4 numbers: frames, height, width and the number of filters."
        elif got[3] != filters:
            why = "the last axis holds one channel per filter."
        elif got[0] == shape[0] and want[0] != shape[0]:
            why = "the time axis shrinks too: the stride and kernel apply to frames as well."
        else:
            why = "check the rounding for this padding."
        raise grading.Mismatch(f"for {case} you gave {got}, expected {want}: {why}")


# -- exercise 2: a running-code exercise, the rollout loop ----------------------------------


class _StandIn:
    """A stand-in predictor: a fixed mix of the window's frames, shifted one pixel right.

    It records every window it is given, so the check can see what the loop fed it.
    """

    def __init__(self, k: int, seed: int):
        rng = np.random.default_rng(seed)
        self.k = k
        self.weights = rng.dirichlet(np.ones(k)).astype(np.float32)
        self.windows = []

    def __call__(self, window):
        window = np.asarray(window, np.float32)
        if window.ndim != 5 or window.shape[1] != self.k:
            raise grading.Mismatch(
                f"the model was given a window of shape {window.shape}; it takes exactly "
                f"the last {self.k} frames, shape (n, {self.k}, h, w, 1)."
            )
        self.windows.append(window.copy())
        mix = np.tensordot(window, self.weights, axes=([1], [0]))
        return np.roll(mix, 1, axis=2) * 0.9 + 0.05


@exercise(
    points=3,
    kind="generation loop",
    forbid=[video.rollout, video.FramePredictor.rollout],
    see="4.2 Rollouts: the model feeds on its own predictions",
    hint="Keep a window of the last k frames. Each step, the model predicts one frame from "
    "the window; that frame is kept as output and becomes the newest frame of the window, "
    "while the oldest frame leaves it. The window always holds exactly k frames in time "
    "order (oldest first).",
)
def rollout(fn):
    """``fn(predict, context, horizon)`` must roll ``horizon`` frames ahead on its own
    predictions and return them as (n, horizon, h, w, 1)."""
    rng = np.random.default_rng(3)
    for case, (k, horizon) in enumerate(((3, 5), (2, 1), (4, 7))):
        context = rng.uniform(0, 1, (2, k, 6, 6, 1)).astype(np.float32)
        reference = _StandIn(k, seed=case)
        want = video.rollout(reference, context, horizon)
        model = _StandIn(k, seed=case)
        got = grading.expect_array(
            fn(model, context.copy(), horizon),
            shape=want.shape,
            what=f"your rollout of {horizon} frames",
        )
        if len(model.windows) != horizon:
            raise grading.Mismatch(
                f"your loop called the model {len(model.windows)} times for {horizon} frames: "
                "call it once per predicted frame."
            )
        for step, (seen, expected) in enumerate(zip(model.windows, reference.windows)):
            if np.allclose(seen, expected, atol=1e-6):
                continue
            if step and np.allclose(seen, context, atol=1e-6):
                why = "it was still the original context: add each prediction to the window."
            elif step and np.allclose(seen[:, -1], want[:, step - 1], atol=1e-6):
                why = "its newest frame is right, but the older ones are not the last k frames."
            else:
                why = "the frames are not the last k in time order (oldest first)."
            raise grading.Mismatch(
                f"case {case + 1}: at step {step + 1} the model's window was wrong: {why}"
            )
        grading.expect_close(
            got, want, rtol=1e-4, atol=1e-5, what=f"your predicted frames in case {case + 1}"
        )


# -- exercise 3 ------------------------------------------------------------------------------


@exercise(
    points=2,
    forbid=[video.gaussian_nll],
    see="Mean and log-variance: a model that says how sure it is",
    hint="Return one value per entry (no average). It is half of three terms: the log of "
    "2 pi, the log-variance, and the squared error divided by the variance, where the "
    "variance is exp of the log-variance.",
)
def gaussian_nll(fn):
    """``fn(x, mean, log_var)`` must return the elementwise negative log-likelihood."""
    rng = np.random.default_rng(7)
    for case in range(3):
        shape = (4, 17, 2) if case < 2 else (5,)
        x = rng.normal(size=shape).astype(np.float32)
        mean = rng.normal(size=shape).astype(np.float32)
        log_var = rng.uniform(-3, 2, shape).astype(np.float32)
        want = np.asarray(video.gaussian_nll(x, mean, log_var), np.float64)
        got = grading.expect_array(fn(x.copy(), mean.copy(), log_var.copy()), what="your NLL")
        if got.shape != want.shape:
            raise grading.Mismatch(
                f"for inputs of shape {shape} your NLL has shape {got.shape}: return one "
                "value per entry, without averaging."
            )
        if np.allclose(got, want, rtol=1e-4, atol=1e-5):
            continue
        err2, var = (x - mean).astype(np.float64) ** 2, np.exp(log_var.astype(np.float64))
        log2pi = math.log(2 * math.pi)
        candidates = [
            (0.5 * (log2pi + log_var + err2 / log_var), "exp the log-variance before dividing."),
            (0.5 * (log2pi + log_var + err2 * var), "the squared error is divided by the "
             "variance, not multiplied."),
            (0.5 * (log2pi + log_var + err2 / np.sqrt(var)), "divide by the variance, not the "
             "standard deviation."),
            (0.5 * (log_var + err2 / var), "the constant log(2 pi) is missing."),
            (log2pi + log_var + err2 / var, "every term is halved."),
            (-0.5 * (log2pi + log_var + err2 / var), "that is the log-likelihood: the loss "
             "is its negative."),
            (0.5 * (log2pi + 2 * log_var + err2 / var), "log_var already is the log of the "
             "variance: do not double it."),
        ]  # fmt: skip
        why = "NLL = 0.5 (log 2 pi + log_var + (x - mean)^2 / var)."
        for value, reason in candidates:
            if np.allclose(got, value, rtol=1e-4, atol=1e-5):
                why = reason
                break
        raise grading.Mismatch(f"case {case + 1}: your NLL differs from the expected one: {why}")
