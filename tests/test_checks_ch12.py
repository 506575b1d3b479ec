"""Chapter 12's exercise checks (course_lib/checks/ch12.py): the reference answers and
the solution notebook's pass, answers that call the library fail with "Write it
yourself", and the wrong answers learners are likely to write fail with a message that
names what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib import grading, hardware
from course_lib.checks import ch12


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """Checks report rather than raise, and write no grading log."""
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


def training_memory_bytes(n_params, activations):
    return n_params * 4 * 4 + activations * 4


def choose_batch_size(batch_sizes, throughputs, share):
    best = max(throughputs)
    return min(b for b, t in zip(batch_sizes, throughputs) if t >= share * best)


def training_cost(seconds, usd_per_hour, minimum_seconds):
    return max(seconds, minimum_seconds) / 3600 * usd_per_hour


def _accumulate(apply_each=False, average=True, last_only=False, sum_losses=False):
    def step(model, loss_fn, optimizer, x, y, micro_batches):
        variables = model.trainable_variables
        total = [tf.zeros_like(v) for v in variables]
        losses = []
        for xs, ys in zip(np.split(x, micro_batches), np.split(y, micro_batches)):
            with tf.GradientTape() as tape:
                loss = loss_fn(ys, model(xs, training=True))
            grads = tape.gradient(loss, variables)
            losses.append(float(loss))
            if apply_each:
                optimizer.apply_gradients(zip(grads, variables))
            elif last_only:
                total = grads
            else:
                total = [t + g for t, g in zip(total, grads)]
        if not apply_each:
            scale = micro_batches if average and not last_only else 1
            optimizer.apply_gradients(zip([t / scale for t in total], variables))
        return float(np.sum(losses) if sum_losses else np.mean(losses))

    return step


REFERENCE = {f.__name__: f for f in (training_memory_bytes, choose_batch_size, training_cost)}
REFERENCE["accumulated_step"] = _accumulate()  # the defaults make the right answer


def run(name, fn) -> grading.Verdict:
    return getattr(ch12, name)(fn)


def test_registry():
    specs = ch12.exercise.specs
    assert ch12.exercise.notebook == "12_hardware"
    assert {n: s.points for n, s in specs.items()} == {
        "training_memory_bytes": 1,
        "choose_batch_size": 1,
        "training_cost": 1,
        "accumulated_step": 2,
    }
    assert specs["accumulated_step"].kind == "training step"


@pytest.mark.parametrize("name", REFERENCE)
def test_reference_solution_passes(name):
    verdict = run(name, REFERENCE[name])
    assert verdict.status == grading.PASSED, verdict.message
    assert verdict.points == verdict.max_points > 0


LIBRARY_CALLS = {
    "training_memory_bytes": lambda n, a: hardware.training_memory_bytes(n, a),
    "choose_batch_size": lambda b, t, s: hardware.choose_batch_size(b, t, share=s),
    "training_cost": lambda s, p, m: hardware.training_cost(s, p, minimum_seconds=m),
    "accumulated_step": lambda *args: hardware.accumulated_step(*args),
}


@pytest.mark.parametrize("name", LIBRARY_CALLS)
def test_an_answer_that_calls_the_library_fails(name):
    verdict = run(name, LIBRARY_CALLS[name])
    assert verdict.status == grading.FAILED
    assert "Write it yourself" in verdict.message


# likely wrong answers: (exercise, answer, words the failure message must contain)


WRONG = [
    ("training_memory_bytes", lambda n, a: n * 4 + a * 4, "weights alone"),
    ("training_memory_bytes", lambda n, a: n * 4 * 2 + a * 4, "weights and gradients"),
    ("training_memory_bytes", lambda n, a: n * 4 * 3 + a * 4, "one Adam moment missing"),
    ("training_memory_bytes", lambda n, a: n * 16, "activations are missing"),
    ("training_memory_bytes", lambda n, a: (n + a) * 16, "kept once"),
    ("training_memory_bytes", lambda n, a: (n * 16 + a * 4) / 2**20, "looks like MB"),
    ("training_memory_bytes", lambda n, a: n * 4 + a, "4 bytes a value"),
    (
        "choose_batch_size",
        lambda b, t, s: b[int(np.argmax(t))],
        "you took the fastest batch",
    ),
    (
        "choose_batch_size",
        lambda b, t, s: max(x for x, v in zip(b, t) if v >= s * max(t)),
        "take the smallest",
    ),
    (
        "choose_batch_size",  # the first in list order, not the smallest size
        lambda b, t, s: next(x for x, v in zip(b, t) if v >= s * max(t)),
        "expected 64",
    ),
    (
        "choose_batch_size",  # compares with the last measurement, not the best
        lambda b, t, s: min(x for x, v in zip(b, t) if v >= s * t[-1]),
        "expected",
    ),
    ("training_cost", lambda s, p, m: max(s, m) * p, "per hour"),
    ("training_cost", lambda s, p, m: max(s, m) / 60 * p, "3,600 seconds"),
    ("training_cost", lambda s, p, m: s / 3600 * p, "billed as the minimum"),
    ("training_cost", lambda s, p, m: min(s, m) / 3600 * p, "LEAST you pay"),
    ("accumulated_step", _accumulate(apply_each=True), "applied gradients 2 times"),
    ("accumulated_step", _accumulate(average=False), "not averaged"),
    ("accumulated_step", _accumulate(last_only=True), "did not move as one step"),
    ("accumulated_step", _accumulate(sum_losses=True), "mean over the micro-batches"),
]


@pytest.mark.parametrize(
    "name, answer, words", WRONG, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)]
)
def test_likely_wrong_answers_fail(name, answer, words):
    verdict = run(name, answer)
    assert verdict.status == grading.FAILED, (name, verdict.message)
    assert words in verdict.message
    assert verdict.points == 0
