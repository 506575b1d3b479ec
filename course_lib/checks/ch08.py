"""Checks for chapter 08's exercises: the Gram matrix, total variation, and one step of
Gatys' optimisation, each compared with ``course_lib.models.style``."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from course_lib import grading
from course_lib.models import style

exercise = grading.Exercises("08_style_transfer")


def _diagnosis(got, candidates, otherwise: str) -> str:
    """The explanation of the first known wrong answer ``got`` matches, else ``otherwise``."""
    for value, why in candidates:
        if np.shape(value) == np.shape(got) and np.allclose(got, value, rtol=1e-4, atol=1e-7):
            return why
    return otherwise


def _numpy_only(result, what: str):
    if type(result).__module__.startswith("tensorflow"):
        raise grading.Mismatch(f"{what} is a TensorFlow tensor: write it with NumPy.")


# -- exercise 1 ------------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[style.gram_matrix],
    see="Style as a Gram matrix",
    hint="One c x c matrix per image in the batch: entry (i, j) multiplies channel i by "
    "channel j at every position, adds them up, and divides by the number of positions "
    "(height times width), not by the channels.",
)
def gram_matrix(fn):
    """``fn(features)`` must turn ``(b, h, w, c)`` maps into ``(b, c, c)`` Gram matrices."""
    rng = np.random.default_rng(8)
    for shape in ((1, 2, 3, 2), (2, 4, 5, 3), (3, 6, 2, 5)):
        f = rng.normal(0, 1, shape).astype(np.float32)
        result = fn(f.copy())
        _numpy_only(result, "your Gram matrix")
        b, h, w, c = shape
        got = grading.expect_array(result, what=f"your Gram matrix for maps of shape {shape}")
        flat = f.reshape(b, h * w, c)
        want = np.einsum("bpi,bpj->bij", flat, flat) / (h * w)
        if got.shape != want.shape:
            hint = " (one per image: keep the batch axis)" if got.shape == (c, c) else ""
            raise grading.Mismatch(
                f"maps of shape {shape} should give Gram matrices of shape {want.shape}; "
                f"yours has shape {got.shape}{hint}."
            )
        if np.allclose(got, want, rtol=1e-4, atol=1e-6):
            continue
        candidates = [
            (want * h * w, "that is the sum over positions: divide by height times width."),
            (want / c, "you divided by the channels too: divide by height times width only."),
            (want * h * w / (h * w * c), "divide by height times width, not by h * w * c."),
            (np.einsum("bpi,bqi->bpq", flat, flat).mean(), "that compares positions; the "
             "Gram matrix compares channels."),
        ]  # fmt: skip
        why = _diagnosis(
            got,
            candidates,
            "entry (i, j) must be the mean over positions of channel i times channel j.",
        )
        raise grading.Mismatch(f"maps of shape {shape}: {why}")
    library = style.gram_matrix(f).numpy()
    grading.expect_close(got, library, rtol=1e-4, what="your Gram matrix against the library's")


# -- exercise 2 ------------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[style.total_variation, tf.image.total_variation],
    see="Total variation: keep it smooth",
    hint="Two terms: the mean of the squared difference between each pixel and the one "
    "below it, plus the mean of the squared difference between each pixel and the one "
    "to its right. A constant image scores exactly 0.",
)
def total_variation(fn):
    """``fn(images)`` must return the mean squared neighbour difference, down plus across."""
    rng = np.random.default_rng(3)
    flat = np.full((2, 5, 5, 3), 0.3, np.float32)
    got = grading.expect_scalar(fn(flat.copy()), what="your total variation of a flat image")
    if abs(got) > 1e-7:
        raise grading.Mismatch(f"a constant image must score 0; yours scores {got:.4g}.")
    for shape in ((1, 4, 6, 3), (2, 7, 3, 3), (3, 5, 5, 1)):
        x = rng.uniform(0, 1, shape).astype(np.float32)
        result = fn(x.copy())
        _numpy_only(result, "your total variation")
        got = grading.expect_scalar(result, what=f"your total variation for shape {shape}")
        down, across = np.diff(x, axis=1), np.diff(x, axis=2)
        want = (down**2).mean() + (across**2).mean()
        if np.isclose(got, want, rtol=1e-4):
            continue
        candidates = [
            (np.abs(down).mean() + np.abs(across).mean(), "that uses absolute differences; "
             "square them."),
            ((down**2).mean(), "only the differences down the image count there: add those "
             "across."),
            ((across**2).mean(), "only the differences across count there: add those down."),
            ((down**2).sum() + (across**2).sum(), "that is a sum; take each direction's mean."),
            (((down**2).mean() + (across**2).mean()) / 2, "add the two means; do not average them."),
            ((np.diff(x, axis=3) ** 2).mean() if shape[-1] > 1 else np.nan, "that compares "
             "channels; compare neighbouring pixels."),
        ]  # fmt: skip
        why = _diagnosis(got, candidates, "mean squared difference down plus across.")
        raise grading.Mismatch(
            f"images of shape {shape}: yours is {got:.5g}, expected {want:.5g}: {why}"
        )
    library = float(style.total_variation(x))
    grading.expect_close(got, library, rtol=1e-4, what="your total variation against the library's")


# -- exercise 3 ------------------------------------------------------------------------------


def _step_cases():
    rng = np.random.default_rng(11)
    for k in range(3):
        start = rng.uniform(0, 1, (1, 6, 6, 3)).astype(np.float32)
        target = rng.uniform(-0.5, 1.5, (1, 6, 6, 3)).astype(np.float32)  # some out of range
        weight = float(k + 1)

        def loss_fn(image, target=target, weight=weight):
            return weight * tf.reduce_mean(tf.square(image - target)) + 0.1 * style.total_variation(
                image
            )

        yield start, loss_fn


@exercise(
    points=3,
    kind="training step",
    forbid=[style.optimisation_step],
    see="Gatys' method: paint by gradient descent",
    hint="Record loss_fn(image) on a gradient tape, take the gradient with respect to the "
    "image, let the optimizer apply it, then put the pixels back into [0, 1] with the "
    "variable's own assign method: a new tensor bound to the name is not the variable.",
)
def optimisation_step(fn):
    """``fn(image, loss_fn, optimizer)`` must take one step on the tf.Variable ``image``,
    keep it in [0, 1] with ``assign`` and return the loss before the step."""
    for case, (start, loss_fn) in enumerate(_step_cases(), start=1):
        theirs, ours = tf.Variable(start), tf.Variable(start)
        opt_theirs, opt_ours = keras.optimizers.Adam(0.3), keras.optimizers.Adam(0.3)
        for step in range(3):
            loss = fn(theirs, loss_fn, opt_theirs)
            want_loss = float(style.optimisation_step(ours, loss_fn, opt_ours))
            if loss is None:
                raise grading.Mismatch("your step returns nothing: return the loss it computed.")
            got_loss = grading.expect_scalar(loss, what="the loss your step returns")
            image = theirs.numpy()
            if image.min() < 0 or image.max() > 1:
                raise grading.Mismatch(
                    f"case {case}, step {step + 1}: the variable holds pixels from "
                    f"{image.min():.3f} to {image.max():.3f}. Put them back into [0, 1] "
                    "with image.assign(...): image = tf.clip_by_value(...) only binds a "
                    "new tensor to the name inside your function."
                )
            if not np.isclose(got_loss, want_loss, rtol=1e-4):
                raise grading.Mismatch(
                    f"case {case}, step {step + 1}: your step returns {got_loss:.5g}; the loss "
                    f"before the step is {want_loss:.5g}."
                )
            if not np.allclose(image, ours.numpy(), atol=1e-5):
                moved = np.abs(image - start).max() if step == 0 else None
                if moved == 0:
                    why = "the image did not change: apply the gradient to the variable."
                elif float(loss_fn(theirs)) > float(loss_fn(ours)) + 1e-6:
                    why = (
                        "the loss went the wrong way: apply the gradient itself, not its negative."
                    )
                else:
                    why = (
                        "the image differs from one Adam step on the gradient followed by the clip."
                    )
                raise grading.Mismatch(f"case {case}, step {step + 1}: {why}")


# -- exercise 4 ------------------------------------------------------------------------------


def _adain_reference(c, s, eps=1e-5):
    c_mean, c_var = c.mean(axis=(1, 2), keepdims=True), c.var(axis=(1, 2), keepdims=True)
    s_mean, s_var = s.mean(axis=(1, 2), keepdims=True), s.var(axis=(1, 2), keepdims=True)
    return (c - c_mean) / np.sqrt(c_var + eps) * np.sqrt(s_var + eps) + s_mean


def _adain_cases():
    rng = np.random.default_rng(19)

    def maps(shape, scale, shift):
        return (rng.normal(0, 1, shape) * scale + shift).astype(np.float32)

    # channels with very different means and spreads, so per-channel slips show
    yield (
        maps((1, 4, 5, 3), [1.0, 3.0, 0.2], [0.0, 5.0, -2.0]),
        maps((1, 6, 3, 3), [2.0, 0.5, 4.0], [1.0, -3.0, 0.5]),
    )
    yield (
        maps((3, 5, 5, 4), 1.5, 0.5),
        maps((3, 7, 4, 4), [0.3, 2.0, 5.0, 1.0], [4.0, -1.0, 0.0, 2.0]),
    )
    c = maps((2, 6, 4, 2), [1.0, 2.0], [0.0, 1.0])
    c[1] = c[1] * 4.0 + 3.0  # the second image has its own statistics
    yield c, maps((2, 3, 3, 2), [[0.5, 3.0]], [[-2.0, 2.0]])


@exercise(
    points=2,
    forbid=[style.adain, style.feature_moments],
    see="Any style at run time: AdaIN",
    hint="For each image and each channel on its own, the output's mean over the "
    "positions must equal the style's mean, and its spread (standard deviation, the "
    "square root of the variance) the style's. The statistics come from the positions "
    "only: not from the other channels or the other images of the batch.",
)
def adain(fn):
    """``fn(content, style)`` must give each image's, each channel's content maps the
    style's mean and standard deviation over the positions."""
    for c, s in _adain_cases():
        result = fn(c.copy(), s.copy())
        _numpy_only(result, "your AdaIN output")
        got = grading.expect_array(result, what=f"your AdaIN output for content of shape {c.shape}")
        if got.shape != c.shape:
            raise grading.Mismatch(
                f"content of shape {c.shape} and style of shape {s.shape} should give shape "
                f"{c.shape} (the content's); yours has shape {got.shape}."
            )
        want = _adain_reference(c, s)
        if np.allclose(got, want, rtol=1e-3, atol=1e-3):
            continue
        g_mean, g_std = got.mean(axis=(1, 2)), got.std(axis=(1, 2))
        s_mean, s_std = s.mean(axis=(1, 2)), s.std(axis=(1, 2))
        if np.allclose(g_mean, c.mean(axis=(1, 2)), atol=1e-3) and np.allclose(
            g_std, c.std(axis=(1, 2)), rtol=1e-2
        ):
            why = "the output keeps the content's statistics: the mean and spread must come from the style."
        elif not np.allclose(g_mean, s_mean, atol=1e-2):
            why = "each channel's mean over the positions should be the style's mean, per image and per channel."
        elif np.allclose(g_std, s_std**2, rtol=1e-2) or np.allclose(
            g_std, s_std**2 / c.std(axis=(1, 2)), rtol=1e-2
        ):
            why = "the spread is too large or too small by a square: use the standard deviation, not the variance."
        elif not np.allclose(g_std, s_std, rtol=1e-2):
            why = "each channel's spread should be the style's standard deviation, per image and per channel."
        else:
            why = "the statistics are right but the pattern is not the content's: normalise the content by its own mean and standard deviation."
        raise grading.Mismatch(f"content {c.shape}, style {s.shape}: {why}")
    library = style.adain(c, s).numpy()
    grading.expect_close(
        got, library, rtol=1e-3, atol=1e-3, what="your AdaIN against the library's"
    )
