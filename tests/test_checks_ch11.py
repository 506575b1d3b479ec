"""Chapter 11's exercise checks (course_lib/checks/ch11.py): the reference answers pass,
answers that call the library fail, and the wrong answers learners are likely to write
fail with a message that names what is wrong."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from course_lib import frameworks, serving
from course_lib.checks import ch11


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """Checks report rather than raise, and write no grading log."""
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


# -- exercise 1: sse_text -------------------------------------------------------------------


def sse_reference(lines):
    out = []
    for line in lines:
        line = line.decode() if isinstance(line, bytes) else line
        line = line.strip()
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        for choice in json.loads(payload)["choices"]:
            out.append(choice.get("delta", {}).get("content") or "")
    return "".join(out)


def sse_no_done(lines):  # reads past [DONE]
    out = []
    for line in lines:
        line = line.decode() if isinstance(line, bytes) else line
        if line.startswith("data:") and "[DONE]" not in line:
            out.append(json.loads(line[5:])["choices"][0]["delta"].get("content") or "")
    return "".join(out)


def sse_every_line(lines):  # parses comment lines too
    out = []
    for line in lines:
        if not line.strip():
            continue
        payload = line.split(":", 1)[1].strip()
        if payload == "[DONE]":
            break
        out.append(json.loads(payload)["choices"][0]["delta"].get("content") or "")
    return "".join(out)


def sse_none_content(lines):  # assumes every delta has content
    out = []
    for line in lines:
        line = line.decode() if isinstance(line, bytes) else line
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(json.loads(line[6:])["choices"][0]["delta"]["content"])
        elif line == "data: [DONE]":
            break
    return "".join(out)


def sse_needs_space(lines):  # only "data: " with a space
    out = []
    for line in lines:
        line = line.decode() if isinstance(line, bytes) else line
        if not line.startswith("data: "):
            continue
        if line == "data: [DONE]":
            break
        out.append(json.loads(line[6:])["choices"][0]["delta"].get("content") or "")
    return "".join(out)


def sse_str_only(lines):  # never decodes bytes
    return sse_reference([line if isinstance(line, str) else "" for line in lines])


def test_sse_reference_passes():
    assert ch11.sse_text(sse_reference)


def test_sse_calling_the_library_fails():
    v = ch11.sse_text(lambda lines: serving.parse_sse_text(lines))
    assert not v and "yourself" in str(v).lower()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (sse_no_done, "[DONE]"),
        (sse_every_line, "raised"),
        (sse_none_content, "raised"),
        (sse_needs_space, "without a space"),
        (sse_str_only, "bytes"),
        (lambda lines: None, "return"),
    ],
)
def test_sse_wrong_answers_fail(wrong, words):
    v = ch11.sse_text(wrong)
    assert not v
    assert words.lower() in str(v).lower()


# -- exercise 2: stable_softmax ----------------------------------------------------------------


def softmax_reference(x):
    e = keras.ops.exp(x - keras.ops.max(x, axis=-1, keepdims=True))
    return e / keras.ops.sum(e, axis=-1, keepdims=True)


def softmax_naive(x):
    e = keras.ops.exp(x)
    return e / keras.ops.sum(e, axis=-1, keepdims=True)


def softmax_numpy(x):
    x = keras.ops.convert_to_numpy(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_first_axis(x):
    e = keras.ops.exp(x - keras.ops.max(x, axis=0, keepdims=True))
    return e / keras.ops.sum(e, axis=0, keepdims=True)


def softmax_min(x):
    e = keras.ops.exp(x - keras.ops.min(x, axis=-1, keepdims=True))
    return e / keras.ops.sum(e, axis=-1, keepdims=True)


def test_softmax_reference_passes_and_library_fails():
    assert ch11.stable_softmax(softmax_reference)
    v = ch11.stable_softmax(lambda x: keras.ops.softmax(x))
    assert not v and "yourself" in str(v).lower()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (softmax_naive, "inf or nan"),
        (softmax_numpy, "keras.ops"),
        (softmax_first_axis, "sum to 1"),
        (softmax_min, "inf or nan"),
        (lambda x: None, "return"),
    ],
)
def test_softmax_wrong_answers_fail(wrong, words):
    v = ch11.stable_softmax(wrong)
    assert not v
    assert words.lower() in str(v).lower()


# -- exercise 3: jax_sgd_step -------------------------------------------------------------------


def make_step(sign=-1.0, reduce=jnp.mean, loss_after=False, skip=(), as_list=False):
    def step(params, x, y, lr):
        def loss_fn(p):
            pred = jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
            return reduce((pred - y) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        new = {k: v if k in skip else v + sign * lr * grads[k] for k, v in params.items()}
        if loss_after:
            loss = loss_fn(new)
        return [new, float(loss)] if as_list else (new, float(loss))

    return step


def test_jax_step_reference_passes_and_library_fails():
    assert ch11.jax_sgd_step(make_step())
    v = ch11.jax_sgd_step(lambda *a: frameworks.jax_sgd_step(*a))
    assert not v and "yourself" in str(v).lower()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (make_step(sign=+1.0), "uphill"),
        (make_step(reduce=jnp.sum), "loss"),
        (make_step(loss_after=True), "after"),
        (make_step(skip=("b1", "b2")), "did not change"),
        (make_step(as_list=True), "pair"),
        (lambda *a: None, "return"),
    ],
)
def test_jax_step_wrong_answers_fail(wrong, words):
    v = ch11.jax_sgd_step(wrong)
    assert not v
    assert words.lower() in str(v).lower()


def test_registry():
    assert set(ch11.exercise.specs) == {"sse_text", "stable_softmax", "jax_sgd_step"}
    assert ch11.exercise.specs["jax_sgd_step"].kind == "training step"
