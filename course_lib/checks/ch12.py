"""Checks for chapter 12's exercises: the memory estimate on paper, a batch size read off
a throughput curve, the cost of a training run, and a training step that accumulates
gradients over micro-batches."""

from __future__ import annotations

import numpy as np

from course_lib import grading, hardware

exercise = grading.Exercises("12_hardware")


# -- exercise 1 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[hardware.training_memory_bytes],
    see="4.1 Memory on paper",
    hint="Count how many float32 copies of each parameter Adam training holds (the weight "
    "is only one of them), and remember that a float32 value takes 4 bytes. The answer is "
    "in bytes.",
)
def training_memory_bytes(fn):
    """``fn(n_params, activations)``: bytes for float32 Adam training, activations kept once."""
    cases = [(879_073, 26_160 * 64), (1_000, 0), (0, 1_000), (283_170, 76_050 * 128), (1, 1)]
    for n_params, activations in cases:
        what = f"training_memory_bytes({n_params}, {activations})"
        got = grading.expect_scalar(fn(n_params, activations), what=what)
        want = n_params * 4 * 4 + activations * 4
        if np.isclose(got, want, rtol=1e-9):
            continue
        if n_params and np.isclose(got, want / 2**20, rtol=1e-6):
            raise grading.Mismatch(f"{what} is {got:g}: that looks like MB. Return bytes.")
        if np.isclose(got, n_params * 4 + activations, rtol=1e-9):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}: you counted values; count 4 bytes a value."
            )
        for copies, words in ((1, "the weights alone"), (2, "weights and gradients only"),
                              (3, "three copies (one Adam moment missing)")):  # fmt: skip
            if n_params and np.isclose(got, n_params * 4 * copies + activations * 4):
                raise grading.Mismatch(
                    f"{what} is {got:g}; expected {want:g}: you counted {words}. Adam keeps "
                    "two running averages for every parameter, besides its gradient."
                )
        if activations and np.isclose(got, n_params * 4 * 4):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}: the activations are missing."
            )
        if activations and np.isclose(got, (n_params + activations) * 4 * 4):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}: activations have no gradient or "
                "Adam moments; they are kept once."
            )
        raise grading.Mismatch(f"{what} is {got:g}; expected {want:g}.")


# -- exercise 2 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[hardware.choose_batch_size],
    see="4.4 Reading the curve",
    hint="Compare every throughput with the BEST one (not the first or the last), keep the "
    "batch sizes that reach the share asked for, and of those return the smallest size, "
    "whatever order the lists come in.",
)
def choose_batch_size(fn):
    """``fn(batch_sizes, throughputs, share)``: the smallest batch size whose throughput
    reaches ``share`` x the best throughput."""
    cases = [
        ([16, 32, 64, 128, 256], [300.0, 500.0, 640.0, 660.0, 650.0], 0.9),
        ([16, 32, 64, 128, 256], [300.0, 500.0, 640.0, 660.0, 650.0], 1.0),
        ([256, 16, 64, 32, 128], [650.0, 300.0, 640.0, 500.0, 660.0], 0.9),
        ([8, 16, 32], [100.0, 99.0, 60.0], 0.95),
        ([8, 16, 32, 64], [100.0, 120.0, 200.0, 150.0], 0.7),
        ([64], [10.0], 0.5),
        ([32, 64, 128], [400.0, 800.0, 1000.0], 0.5),
    ]
    for sizes, speeds, share in cases:
        what = f"choose_batch_size({sizes}, {speeds}, {share})"
        got = fn(list(sizes), list(speeds), share)
        if got is None:
            raise grading.Mismatch(f"{what} is None: did you forget to `return` it?")
        want = hardware.choose_batch_size(sizes, speeds, share=share)
        if got == want:
            continue
        best_size = sizes[int(np.argmax(speeds))]
        if got == best_size:
            raise grading.Mismatch(
                f"{what} is {got}; expected {want}: you took the fastest batch. A smaller one "
                "within the share is nearly as fast and needs less memory."
            )
        ok = [b for b, t in zip(sizes, speeds) if t >= share * max(speeds)]
        if ok and got == max(ok):
            raise grading.Mismatch(
                f"{what} is {got}; expected {want}: of the batches fast enough, take the smallest."
            )
        raise grading.Mismatch(f"{what} is {got}; expected {want}.")


# -- exercise 3 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[hardware.training_cost],
    see="4.5 Time is money: the cost calculator",
    hint="The price is per HOUR and the time is in seconds; a run shorter than the minimum "
    "is billed as the minimum, a longer one as it is.",
)
def training_cost(fn):
    """``fn(seconds, usd_per_hour, minimum_seconds)``: the bill in dollars."""
    cases = [(3600, 2.0, 60), (318, 3.06, 60), (30, 0.526, 60), (30, 1.28, 0), (0, 5.0, 0),
             (7200, 32.77, 60), (59.5, 3.6, 60)]  # fmt: skip
    for seconds, price, minimum in cases:
        what = f"training_cost({seconds}, {price}, {minimum})"
        got = grading.expect_scalar(fn(seconds, price, minimum), what=what)
        want = hardware.training_cost(seconds, price, minimum_seconds=minimum)
        if np.isclose(got, want, rtol=1e-9, atol=1e-12):
            continue
        if np.isclose(got, seconds * price) or np.isclose(got, max(seconds, minimum) * price):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}: the price is per hour, the time in seconds."
            )
        if np.isclose(got, max(seconds, minimum) / 60 * price):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}: an hour has 3,600 seconds, not 60."
            )
        if np.isclose(got, seconds / 3600 * price):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}: a run shorter than the minimum is "
                "billed as the minimum."
            )
        if np.isclose(got, min(seconds, minimum) / 3600 * price):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}: the minimum is the LEAST you pay."
            )
        raise grading.Mismatch(f"{what} is {got:g}; expected {want:g}.")


# -- exercise 4 ----------------------------------------------------------------------------


def _tiny_setup(seed: int):
    """A small regression network, SGD and a batch of 8: the state a step starts from."""
    import keras

    from course_lib.models.base import copy_network

    keras.utils.set_random_seed(seed)
    net = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(2)]
    )
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 5)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")

    def fresh():
        twin = copy_network(net)
        return twin, keras.optimizers.SGD(0.1)

    return fresh, x, y


def _mse(y_true, y_pred):
    import tensorflow as tf

    return tf.reduce_mean(tf.square(tf.cast(y_true, y_pred.dtype) - y_pred))


@exercise(
    points=2,
    kind="training step",
    forbid=[hardware.accumulated_step],
    see="5.2 Gradient accumulation",
    hint="Add up the gradients of every micro-batch, average them, and let the optimizer "
    "apply them once at the end: the weights must move exactly as one step on the whole "
    "batch would move them.",
)
def accumulated_step(fn):
    """``fn(model, loss_fn, optimizer, x, y, micro_batches)`` must update ``model`` as
    :func:`course_lib.hardware.accumulated_step` does from the same state, and return the
    mean loss."""
    for seed, micro in ((0, 1), (1, 2), (2, 4), (3, 8)):
        fresh, x, y = _tiny_setup(seed)
        mine, mine_opt = fresh()
        got_loss = fn(mine, _mse, mine_opt, x.copy(), y.copy(), micro)
        ref, ref_opt = fresh()
        want_loss = hardware.accumulated_step(ref, _mse, ref_opt, x, y, micro)
        start, _ = fresh()
        iterations = int(mine_opt.iterations.numpy())
        what = f"with micro_batches={micro}"
        if iterations != 1:
            raise grading.Mismatch(
                f"{what}, the optimizer applied gradients {iterations} times; one step "
                "applies them once, after every micro-batch has been added."
            )
        moved = [w.numpy() - s for w, s in zip(mine.weights, start.get_weights())]
        wanted = [w.numpy() - s for w, s in zip(ref.weights, start.get_weights())]
        ratio = sum(np.sum(m * w) for m, w in zip(moved, wanted)) / max(
            sum(np.sum(w * w) for w in wanted), 1e-30
        )
        if not all(np.allclose(m, w, rtol=1e-3, atol=1e-6) for m, w in zip(moved, wanted)):
            if np.isclose(ratio, micro, rtol=0.02) and micro > 1:
                raise grading.Mismatch(
                    f"{what}, the weights moved {micro} times too far: the gradients were "
                    "added up but not averaged."
                )
            raise grading.Mismatch(
                f"{what}, the weights did not move as one step on the whole batch moves them "
                f"(the step is {ratio:.2f} x the expected one along its direction)."
            )
        loss = grading.expect_scalar(got_loss, what=f"the loss returned {what}")
        if not np.isclose(loss, want_loss, rtol=1e-4, atol=1e-6):
            raise grading.Mismatch(
                f"the loss returned {what} is {loss:.6g}; expected the mean over the "
                f"micro-batches, {want_loss:.6g}."
            )
