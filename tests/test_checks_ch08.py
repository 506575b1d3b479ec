"""Tests of chapter 08's exercise checks (course_lib/checks/ch08.py): the reference answers
pass (copies of solutions/08_style_transfer.ipynb's), answers that call the library fail
with "Write it yourself", and the likely wrong answers fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from course_lib import grading
from course_lib.checks import ch08
from course_lib.models import style

ROOT = Path(__file__).resolve().parents[1]
STEM = "08_style_transfer"
POINTS = {"gram_matrix": 1, "total_variation": 1, "optimisation_step": 3, "adain": 2}


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


def run(name, fn) -> grading.Verdict:
    return getattr(ch08, name)(fn)


# -- the reference answers, copied from the solutions notebook -------------------------------


def gram_matrix(features):
    b, h, w, c = features.shape
    flat = features.reshape(b, h * w, c)
    return np.einsum("bpi,bpj->bij", flat, flat) / (h * w)


def total_variation(images):
    down = images[:, 1:] - images[:, :-1]
    across = images[:, :, 1:] - images[:, :, :-1]
    return (down**2).mean() + (across**2).mean()


def optimisation_step(image, loss_fn, optimizer):
    with tf.GradientTape() as tape:
        loss = loss_fn(image)
    gradient = tape.gradient(loss, image)
    optimizer.apply_gradients([(gradient, image)])
    image.assign(tf.clip_by_value(image, 0.0, 1.0))
    return loss


def adain(content, style, eps=1e-5):
    c_mean = content.mean(axis=(1, 2), keepdims=True)
    c_std = np.sqrt(content.var(axis=(1, 2), keepdims=True) + eps)
    s_mean = style.mean(axis=(1, 2), keepdims=True)
    s_std = np.sqrt(style.var(axis=(1, 2), keepdims=True) + eps)
    return (content - c_mean) / c_std * s_std + s_mean


REFERENCE = {f.__name__: f for f in (gram_matrix, total_variation, optimisation_step, adain)}

LIBRARY = {
    "gram_matrix": lambda f: style.gram_matrix(f).numpy(),
    "total_variation": lambda x: float(style.total_variation(x)),
    "optimisation_step": lambda im, fn, opt: style.optimisation_step(im, fn, opt),
    "adain": lambda c, s: style.adain(c, s).numpy(),
}


# -- wrong answers learners are likely to write ------------------------------------------------


def _gram(f, divide):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bpi,bpj->bij", flat, flat) / divide(h, w, c)


def _step(image, loss_fn, optimizer, *, clip="assign", sign=1.0, ret=True):
    with tf.GradientTape() as tape:
        loss = loss_fn(image)
    gradient = tape.gradient(loss, image)
    optimizer.apply_gradients([(sign * gradient, image)])
    if clip == "assign":
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
    elif clip == "rebind":
        image = tf.clip_by_value(image, 0.0, 1.0)  # the guide's mistake: the variable is untouched
    return loss if ret else None


def _step_after(image, loss_fn, optimizer):
    """Returns the loss after the step, not before."""
    _step(image, loss_fn, optimizer)
    return loss_fn(image)


WRONG = [
    ("gram_matrix", "sum, not mean", lambda f: _gram(f, lambda h, w, c: 1)),
    ("gram_matrix", "divided by h*w*c", lambda f: _gram(f, lambda h, w, c: h * w * c)),
    ("gram_matrix", "batch summed away", lambda f: _gram(f, lambda h, w, c: h * w).sum(0)),
    ("gram_matrix", "positions, not channels", lambda f: _positions_gram(f)),
    ("gram_matrix", "a TensorFlow tensor", lambda f: tf.constant(gram_matrix(f))),
    ("total_variation", "absolute differences", lambda x: _tv(x, np.abs)),
    ("total_variation", "only down", lambda x: (np.diff(x, axis=1) ** 2).mean()),
    ("total_variation", "only across", lambda x: (np.diff(x, axis=2) ** 2).mean()),
    (
        "total_variation",
        "sums",
        lambda x: (np.diff(x, axis=1) ** 2).sum() + (np.diff(x, axis=2) ** 2).sum(),
    ),
    ("total_variation", "averaged directions", lambda x: total_variation(x) / 2),
    ("total_variation", "a constant image scores 1", lambda x: total_variation(x) + 1.0),
    (
        "optimisation_step",
        "clip rebinds the name",
        lambda im, fn, o: _step(im, fn, o, clip="rebind"),
    ),
    ("optimisation_step", "no clip", lambda im, fn, o: _step(im, fn, o, clip=None)),
    ("optimisation_step", "gradient ascent", lambda im, fn, o: _step(im, fn, o, sign=-1.0)),
    ("optimisation_step", "returns nothing", lambda im, fn, o: _step(im, fn, o, ret=False)),
    ("optimisation_step", "loss after the step", _step_after),
    ("optimisation_step", "never steps", lambda im, fn, o: fn(im)),
    ("adain", "variance, not std", lambda c, s: _adain(c, s, spread=np.var)),
    ("adain", "global, not per channel", lambda c, s: _adain(c, s, axes=(1, 2, 3))),
    ("adain", "stats over the batch", lambda c, s: _adain(c, s, axes=(0, 1, 2))),
    ("adain", "inputs swapped", lambda c, s: adain(s, c)),
    ("adain", "stats from the content", lambda c, s: adain(c, c)),
    (
        "adain",
        "style mean only",
        lambda c, s: c - c.mean((1, 2), keepdims=True) + s.mean((1, 2), keepdims=True),
    ),
    (
        "adain",
        "content not normalised",
        lambda c, s: c * s.std((1, 2), keepdims=True) + s.mean((1, 2), keepdims=True),
    ),
    ("adain", "a TensorFlow tensor", lambda c, s: tf.constant(adain(c, s))),
]


def _adain(c, s, *, axes=(1, 2), spread=np.std):
    def stats(x):
        return x.mean(axis=axes, keepdims=True), spread(x, axis=axes, keepdims=True) + 1e-5

    (cm, cs), (sm, ss) = stats(c), stats(s)
    return (c - cm) / cs * ss + sm


def _positions_gram(f):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bpi,bqi->bpq", flat, flat) / c


def _tv(x, fn):
    return fn(np.diff(x, axis=1)).mean() + fn(np.diff(x, axis=2)).mean()


# The tables above are tested by tests/test_check_tables.py (registered points, the
# reference passes, the library call fails, every wrong answer fails).


# -- this chapter's own tests ---------------------------------------------------------------------


def test_the_guide_s_clip_gets_the_assign_hint():
    verdict = run("optimisation_step", lambda im, fn, o: _step(im, fn, o, clip="rebind"))
    assert "assign" in verdict.message


def test_adain_hints_name_the_property():
    assert "variance" in run("adain", lambda c, s: _adain(c, s, spread=np.var)).message
    assert "from the style" in run("adain", lambda c, s: adain(c, c)).message
