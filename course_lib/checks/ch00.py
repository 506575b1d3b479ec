"""Checks for chapter 00's exercises: epochs and batches, a Gaussian's log-density,
sampling from a mixture."""

from __future__ import annotations

import math

import numpy as np

from course_lib import grading
from course_lib import train as _train
from course_lib.models import mixture, vae

exercise = grading.Exercises("00_what_is_generative_ai")


# -- exercise 1 ----------------------------------------------------------------------------


def _whole_number(value, what: str) -> int:
    if hasattr(value, "numpy"):
        value = value.numpy()
    if value is None:
        raise grading.Mismatch(f"{what} is None: did you forget to `return` it?")
    number = grading.expect_scalar(value, what=what)
    if not float(number).is_integer():
        raise grading.Mismatch(
            f"{what} is {number:g}; a number of batches is a whole number (a batch either "
            "runs or it does not)."
        )
    return int(number)


@exercise(
    points=1,
    forbid=[_train.batches_per_epoch],
    see="Epoch, batch and batch size, live",
    hint="An epoch shows every example exactly once. Ask what happens to the examples "
    "left over when they do not fill a whole batch: they still have to be shown.",
)
def batches_per_epoch(fn):
    """``fn(n_examples, batch_size)`` must return the number of batches in one epoch."""
    cases = [(100, 10), (100, 32), (60000, 256), (60000, 60000), (5, 8), (1, 1), (7, 7), (8, 7)]
    for n, size in cases:
        what = f"batches_per_epoch({n}, {size})"
        got = _whole_number(fn(n, size), what)
        expected = _train.batches_per_epoch(n, size)
        if got == expected:
            continue
        left = n % size
        if left and got == expected - 1:
            raise grading.Mismatch(
                f"{what} is {got}; expected {expected}. The {left} examples left over after "
                f"{got} full batches are never shown: the last, smaller batch is missing."
            )
        if not left and got == expected + 1:
            raise grading.Mismatch(
                f"{what} is {got}; expected {expected}. {n} examples fill exactly {expected} "
                "batches: there is no extra batch when nothing is left over."
            )
        if n < size:
            raise grading.Mismatch(
                f"{what} is {got}; expected {expected}: fewer examples than a batch still "
                "make one (small) batch."
            )
        raise grading.Mismatch(f"{what} is {got}; expected {expected}.")


# -- exercise 2 ----------------------------------------------------------------------------

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _log_probs(fn, x, mean, std, what):
    got = grading.expect_array(fn(x, mean, std), what=what)
    n, d = x.shape
    if got.shape != (n,):
        if got.shape == (n, d):
            raise grading.Mismatch(
                f"{what} has shape {got.shape}: one number per dimension. Add the "
                f"dimensions up, to get one number per point (shape ({n},))."
            )
        raise grading.Mismatch(
            f"{what} has shape {got.shape}; expected ({n},): one number per row of x, the "
            "sum over that row's dimensions (the last axis)."
        )
    if not np.all(np.isfinite(got)):
        raise grading.Mismatch(f"{what} contains nan or inf: {np.round(got, 4).tolist()}.")
    return got.astype(np.float64)


@exercise(
    points=1,
    forbid=[mixture.diag_gaussian_log_prob, vae.gaussian_log_density],
    see="And here is how it scores a point",
    hint="Check three properties: at the centre of a standard normal (mean 0, std 1) the "
    "log-density of one dimension is -0.5·log(2π) ≈ -0.919; a wider bell (a larger std) "
    "is lower at its centre; and the dimensions are independent, so their log-densities add.",
)
def gaussian_log_prob(fn):
    """``fn(x, mean, std)`` must return log N(x; mean, diag(std²)) summed over the last axis."""
    # 1. the centre of a standard normal, in 1 and 3 dimensions
    for d in (1, 3):
        x = np.zeros((2, d))
        got = _log_probs(
            fn, x, np.zeros(d), np.ones(d), f"the log-density at 0 of N(0, 1) in {d}-D"
        )
        want = -d * _HALF_LOG_2PI
        if not np.allclose(got, want, atol=1e-4):
            if np.allclose(got, -want, atol=1e-4):
                raise grading.Mismatch(
                    f"at the centre of a standard normal ({d}-D) your log-density is "
                    f"{got[0]:.4f}, expected {want:.4f}: the sign is flipped (a density is at "
                    "most about 0.4 here, so its log is negative)."
                )
            if d == 3 and np.allclose(got, want / 3, atol=1e-4):
                raise grading.Mismatch(
                    f"in 3-D at the centre your log-density is {got[0]:.4f}, expected "
                    f"{want:.4f} (3 × {-_HALF_LOG_2PI:.4f}): add the dimensions up, don't "
                    "average them."
                )
            raise grading.Mismatch(
                f"at the centre of a standard normal ({d}-D) the log-density should be "
                f"{d} × -0.5·log(2π) = {want:.4f}; yours is {got[0]:.4f}. Check the "
                "constant term."
            )
    # 2. a wider bell is lower at its centre
    std = np.array([2.0, 0.5, 3.0])
    got = _log_probs(
        fn,
        np.array([[1.0, -1.0, 0.5]]),
        np.array([1.0, -1.0, 0.5]),
        std,
        "the log-density at the mean with std [2, 0.5, 3]",
    )
    want = -3 * _HALF_LOG_2PI - np.log(std).sum()
    if not np.allclose(got, want, atol=1e-4):
        raise grading.Mismatch(
            f"at the mean of a Gaussian with std [2, 0.5, 3] the log-density should be "
            f"{want:.4f}; yours is {got[0]:.4f}. A wider bell spreads the same probability "
            "over more space, so its peak is lower by log(std) in each dimension."
        )
    # 3. away from the mean: the distance measured in stds
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3))
    mean, std = rng.normal(size=3), rng.uniform(0.4, 2.5, size=3)
    got = _log_probs(fn, x.copy(), mean.copy(), std.copy(), "gaussian_log_prob(x, mean, std)")
    want = mixture.diag_gaussian_log_prob(x, mean, std).numpy().astype(np.float64)
    if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
        raise grading.Mismatch(
            f"for points away from the mean your log-densities are {np.round(got[:3], 4).tolist()}"
            f"...; expected {np.round(want[:3], 4).tolist()}... At the mean they are right, "
            "so look at how far x is from the mean, measured in stds (not variances), "
            "and how that distance enters."
        )


# -- exercise 3 ----------------------------------------------------------------------------


def _samples(fn, weights, means, stds, n, seed, what="your samples"):
    got = grading.expect_array(
        fn(weights.copy(), means.copy(), stds.copy(), n, np.random.default_rng(seed)),
        what=what,
    )
    d = means.shape[1]
    if got.shape != (n, d):
        raise grading.Mismatch(
            f"{what} have shape {got.shape}; expected ({n}, {d}): one row of {d} numbers per point."
        )
    if not np.all(np.isfinite(got)):
        raise grading.Mismatch(f"{what} contain nan or inf.")
    return got.astype(np.float64)


@exercise(
    points=2,
    forbid=[mixture.GaussianMixture.sample, mixture.GaussianMixture._draw],
    see="4.1 A smallest generative model",
    hint="Every point needs its own pick of a component, made with the weights as "
    "probabilities, and then its own fresh noise in every dimension, stretched by that "
    "component's stds. All randomness must come from the `rng` you are given.",
)
def sample_from_mixture(fn):
    """``fn(weights, means, stds, n, rng)`` must draw n points from the mixture."""
    weights = np.array([0.1, 0.6, 0.3])
    means = np.array([[-25.0, 0.0], [0.0, 25.0], [25.0, 0.0]])
    stds = np.array([[1.5, 0.5], [0.5, 2.0], [2.0, 1.0]])

    # repeatable with the same rng, different with another one
    first = _samples(fn, weights, means, stds, 50, 7)
    again = _samples(fn, weights, means, stds, 50, 7)
    if not np.allclose(first, again):
        raise grading.Mismatch(
            "the samples do not depend on rng: two runs with the same seed differ. Draw "
            "every random number from the `rng` you are given, not from np.random."
        )
    other = _samples(fn, weights, means, stds, 50, 8)
    if np.allclose(first, other):
        raise grading.Mismatch(
            "two different rngs give exactly the same points: use the `rng` you are given "
            "(not a generator with a fixed seed of your own)."
        )
    _samples(fn, weights, means, stds, 1, 3, what="one sample (n=1)")

    n = 10_000
    points = _samples(fn, weights, means, stds, n, 1)
    nearest = np.argmin(((points[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    share = np.bincount(nearest, minlength=3) / n
    if not np.allclose(share, weights, atol=0.025):
        if np.allclose(share, 1 / 3, atol=0.025):
            detail = "each component gets about a third: the weights are ignored."
        elif share.max() > 0.99:
            detail = "all points come from one component: pick a component for every point."
        else:
            detail = "each component should be picked with its weight as the probability."
        raise grading.Mismatch(
            f"the share of points near each centre is {np.round(share, 3).tolist()}; "
            f"expected about {weights.tolist()} (the weights): {detail}"
        )
    for k in range(3):
        mine = points[nearest == k]
        spread = mine.std(axis=0)
        if np.all(spread < 1e-9):
            raise grading.Mismatch(
                f"all points of component {k} sit at the same place: every point needs "
                "its own fresh noise."
            )
        if not np.allclose(spread, stds[k], rtol=0.1):
            if np.allclose(spread, stds[k] ** 2, rtol=0.1):
                why = "that is the variance (std²), not the std."
            elif np.allclose(spread, np.sqrt(stds[k]), rtol=0.1):
                why = "that is the square root of the std; the stds are already spreads."
            else:
                why = "each point is stretched by its own component's stds, dimension by dimension."
            raise grading.Mismatch(
                f"the points of component {k} spread by {np.round(spread, 2).tolist()} "
                f"(their std per dimension); expected about {stds[k].tolist()}: {why}"
            )
        centre = mine.mean(axis=0)
        if not np.allclose(centre, means[k], atol=0.35):
            raise grading.Mismatch(
                f"the points of component {k} are centred at {np.round(centre, 2).tolist()}; "
                f"expected about {means[k].tolist()} (its mean)."
            )
        corr = np.corrcoef(mine.T)[0, 1]
        if abs(corr) > 0.2:
            raise grading.Mismatch(
                f"within component {k} the two coordinates move together (correlation "
                f"{corr:.2f}): the same noise is used in every dimension. Each dimension "
                "needs its own, independent noise."
            )


# -- a running-code exercise: one training step -----------------------------------------


def _smiley_model(points, seed: int):
    return mixture.GaussianMixture(n_components=4, rank=1).initialize(points, seed=seed)


def _moved(after, before) -> float:
    return float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after, before, strict=True))))


@exercise(
    points=3,
    kind="training step",
    forbid=[mixture.GaussianMixture.train_step],
    see="Epoch, batch and batch size, live",
    hint="A training step has three parts: measure the loss while a GradientTape records, "
    "ask the tape for the loss's gradient with respect to every trainable variable, and "
    "let the optimizer move each variable against its gradient. The loss is the average "
    "negative log-likelihood of the batch: repeated steps on one batch should lower it.",
)
def mixture_train_step(fn):
    """``fn(model, batch, optimizer)`` must make one gradient step on the batch's mean
    negative log-likelihood and return that loss (measured before the step)."""
    import keras

    from course_lib.data import smiley_points

    for seed in (0, 1):
        points = smiley_points(256, seed=seed).astype(np.float32)
        batch = points[:64]
        mine, reference = _smiley_model(points, seed), _smiley_model(points, seed)
        reference.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05))
        optimizer = keras.optimizers.SGD(learning_rate=0.05)
        before = [v.numpy() for v in mine.trainable_variables]
        start = float(-np.mean(mine.log_prob(batch)))
        losses = []
        for step in range(4):
            loss = fn(mine, batch, optimizer)
            losses.append(grading.expect_scalar(loss, what=f"the loss of step {step + 1}"))
            reference.train_step(batch)
        if not np.isclose(losses[0], start, rtol=1e-4, atol=1e-4):
            raise grading.Mismatch(
                f"the first step returned the loss {losses[0]:.4f}, but the batch's mean negative "
                f"log-likelihood before the step is {start:.4f}: return the loss of the batch, "
                "averaged over its examples, with the sign that makes a better model score lower."
            )
        end = float(-np.mean(mine.log_prob(batch)))
        if not end < start:
            raise grading.Mismatch(
                f"after four of your steps the loss went from {start:.4f} to {end:.4f}: it should "
                "go down. Does the optimizer move the variables against the gradient of the loss?"
            )
        mine_moved = _moved([v.numpy() for v in mine.trainable_variables], before)
        ref_moved = _moved([v.numpy() for v in reference.trainable_variables], before)
        if not np.isclose(mine_moved, ref_moved, rtol=0.02):
            raise grading.Mismatch(
                f"your four steps moved the variables {mine_moved / ref_moved:.3g} times as far "
                "as plain gradient steps on the batch's mean loss do. Is the loss an average "
                "over the batch (not a sum), and is each step applied once?"
            )
        for got, want in zip(mine.trainable_variables, reference.trainable_variables, strict=True):
            grading.expect_close(
                got.numpy(),
                want.numpy(),
                rtol=1e-3,
                atol=1e-4,
                what=f"after four steps, the mixture's `{want.name}`",
            )
