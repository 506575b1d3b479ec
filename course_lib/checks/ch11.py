"""Checks for chapter 11's exercises: reading a streamed chat reply, a softmax written
once for every Keras backend, and a gradient step written in JAX."""

from __future__ import annotations

import json

import keras
import numpy as np

from course_lib import frameworks, grading, serving

exercise = grading.Exercises("11_libraries_and_tools")


# -- exercise 1 ----------------------------------------------------------------------------


def _stream(*pieces, done=True, extra=(), comment=False, role=True, spaced=True):
    """The lines of a chat-completion stream that carries ``pieces``."""
    sep = "data: " if spaced else "data:"
    lines = []
    if role:
        lines += [
            sep + json.dumps({"choices": [{"delta": {"role": "assistant", "content": ""}}]}),
            "",
        ]
    if comment:
        lines += [": keep-alive", ""]
    for piece in pieces:
        delta = {"content": piece} if piece is not None else {}
        lines += [sep + json.dumps({"choices": [{"index": 0, "delta": delta}]}), ""]
    lines += [sep + json.dumps({"choices": [{"delta": {}, "finish_reason": "length"}]}), ""]
    if done:
        lines += [sep + "[DONE]", ""]
    for piece in extra:
        lines += [sep + json.dumps({"choices": [{"delta": {"content": piece}}]}), ""]
    return lines


@exercise(
    points=2,
    forbid=[serving.parse_sse_text],
    see="5.2 What a stream looks like",
    hint="Only lines that start with 'data:' carry chunks; the text of each is in its "
    "first choice's delta, which may have no content at all; and nothing after the "
    "end marker belongs to the reply.",
    kind="generation loop",
)
def sse_text(fn):
    """``fn(lines)`` must return the reply text a chat-completion stream carries."""
    cases = [
        ("a plain stream", _stream("To ", "be", ", or not")),
        ("a stream with a chunk that has no content", _stream("Hel", None, "lo")),
        ("a stream with a comment line", _stream("ab", "c", comment=True)),
        ("chunks after [DONE]", _stream("kept", done=True, extra=["dropped"])),
        ("'data:' without a space", _stream("x", "y", spaced=False)),
        ("an empty reply", _stream(role=True)),
    ]
    for what, lines in cases:
        want = serving.parse_sse_text(lines)
        try:
            got = fn(list(lines))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            raise grading.Mismatch(
                f"{what}: your function raised {type(err).__name__}: {err}. Skip the lines "
                "that are not data lines, and chunks whose delta has no content."
            ) from None
        if got is None:
            raise grading.Mismatch("your function returned None: did you forget to `return`?")
        if not isinstance(got, str):
            raise grading.Mismatch(f"{what}: expected a string; got {type(got).__name__}")
        if got == want:
            continue
        if want and got.startswith(want):
            raise grading.Mismatch(
                f"{what}: got {got!r}, expected {want!r}: the stream ends at data: [DONE]."
            )
        raise grading.Mismatch(f"{what}: got {got!r}, expected {want!r}.")
    # bytes, as an HTTP library hands them over
    lines = [line.encode() for line in _stream("by", "tes")]
    try:
        got = fn(lines)
    except Exception as err:  # noqa: BLE001 (any failure here is the same lesson)
        raise grading.Mismatch(
            f"lines given as bytes: your function raised {type(err).__name__}: {err}. "
            "An HTTP library hands over bytes: decode them first."
        ) from None
    if got != "bytes":
        raise grading.Mismatch(f"lines given as bytes: got {got!r}, expected 'bytes'.")


# -- exercise 2 ----------------------------------------------------------------------------


@exercise(
    points=2,
    forbid=[keras.ops.softmax, keras.activations.softmax],
    see="2.3 One function, every backend",
    hint="Use keras.ops so the result is the backend's tensor; exp of a large logit "
    "overflows unless something is taken away first; and each row must sum to 1 along "
    "the LAST axis.",
)
def stable_softmax(fn):
    """``fn(logits)`` must return softmax over the last axis, with keras.ops only."""
    cases = [
        ("small logits", np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32)),
        ("large logits", np.array([[1000.0, 1001.0, 1002.0], [-5.0, 800.0, 3.0]], np.float32)),
        ("very negative logits", np.array([[-1000.0, -1001.0, -999.0]], np.float32)),
        (
            "a batch of 2 x 4 x 5",
            np.random.default_rng(0).normal(0, 30, (2, 4, 5)).astype(np.float32),
        ),
    ]
    for what, x in cases:
        got = fn(keras.ops.convert_to_tensor(x))
        if got is None:
            raise grading.Mismatch("your function returned None: did you forget to `return`?")
        if not keras.ops.is_tensor(got):
            raise grading.Mismatch(
                f"{what}: the result is a {type(got).__name__}, not the backend's tensor. "
                "Write it with keras.ops so the same code runs under every backend."
            )
        got = keras.ops.convert_to_numpy(got)
        shifted = x - x.max(axis=-1, keepdims=True)
        want = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
        if got.shape != want.shape:
            raise grading.Mismatch(f"{what}: shape {got.shape}, expected {want.shape}.")
        if not np.all(np.isfinite(got)):
            raise grading.Mismatch(
                f"{what}: the result holds inf or NaN. exp(1000) overflows float32: subtract "
                "each row's largest logit first (softmax does not change)."
            )
        if not np.allclose(got.sum(axis=-1), 1.0, atol=1e-4):
            raise grading.Mismatch(f"{what}: the rows along the last axis do not sum to 1.")
        if not np.allclose(got, want, atol=1e-5):
            raise grading.Mismatch(
                f"{what}: values differ from softmax by up to {np.abs(got - want).max():.3g}."
            )


# -- exercise 3 ----------------------------------------------------------------------------


@exercise(
    points=3,
    forbid=[frameworks.jax_sgd_step, frameworks.tf_sgd_step, frameworks.torch_sgd_step],
    see="3.1 One gradient step, written three ways",
    hint="Write the loss as a pure function of the params dict (a MEAN of squared "
    "errors), let JAX differentiate it with respect to every leaf, step AGAINST the "
    "gradient, and return the loss from BEFORE the step.",
    kind="training step",
)
def jax_sgd_step(fn):
    """``fn(params, x, y, lr)`` must return (new params, loss before the step), as
    :func:`course_lib.frameworks.jax_sgd_step` does from the same state."""
    rng = np.random.default_rng(11)
    for seed, n, lr in [(0, 8, 0.1), (1, 16, 0.5), (2, 5, 0.05)]:
        params = frameworks.mlp_params(3, 6, 2, seed=seed)
        params["b1"] = rng.normal(0, 0.3, params["b1"].shape).astype(np.float32)
        x = rng.normal(size=(n, 3)).astype(np.float32)
        y = rng.normal(size=(n, 2)).astype(np.float32)
        before = {k: v.copy() for k, v in params.items()}
        out = fn({k: v.copy() for k, v in params.items()}, x, y, lr)
        if out is None:
            raise grading.Mismatch("your function returned None: return (new_params, loss).")
        if not isinstance(out, tuple) or len(out) != 2 or not isinstance(out[0], dict):
            raise grading.Mismatch("return a pair: (a dict of new params, the loss)")
        new, loss = out
        if set(new) != set(params):
            raise grading.Mismatch(f"the new params name {sorted(new)}; expected {sorted(params)}")
        want, want_loss = frameworks.jax_sgd_step(before, x, y, lr)
        got = {k: np.asarray(v) for k, v in new.items()}
        what = f"case {seed + 1} (batch {n}, lr {lr})"
        loss = grading.expect_scalar(loss, what=f"{what}: the loss")
        if not np.isclose(loss, want_loss, rtol=1e-4):
            after = frameworks.mlp_loss_numpy(want, x, y)
            if np.isclose(loss, after, rtol=1e-4):
                raise grading.Mismatch(
                    f"{what}: that is the loss AFTER the step; return the "
                    "one the gradient was taken at."
                )
            raise grading.Mismatch(
                f"{what}: loss {loss:.6g}, expected {want_loss:.6g} "
                "(the mean of the squared errors)."
            )
        for k in ("w1", "b1", "w2", "b2"):
            if got[k].shape != want[k].shape:
                raise grading.Mismatch(
                    f"{what}: {k} has shape {got[k].shape}, expected {want[k].shape}"
                )
        if frameworks.max_difference(got, want) < 1e-5:
            continue
        for k in ("w1", "b1", "w2", "b2"):
            if np.allclose(got[k], before[k]) and not np.allclose(want[k], before[k]):
                raise grading.Mismatch(f"{what}: {k} did not change: every parameter takes a step.")
            ascent = 2 * before[k] - want[k]
            if np.allclose(got[k], ascent, atol=1e-5):
                raise grading.Mismatch(f"{what}: {k} moved uphill: subtract lr times the gradient.")
            if not np.allclose(got[k], want[k], atol=1e-5):
                raise grading.Mismatch(
                    f"{what}: {k} differs from the reference step by up to "
                    f"{np.abs(got[k] - want[k]).max():.3g} (a sum instead of a mean makes the "
                    "gradient batch-size times too large)."
                )
