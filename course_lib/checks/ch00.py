"""Checks for chapter 00's exercises: epochs and batches, a Gaussian's log-density,
sampling from a mixture."""

from __future__ import annotations

import numpy as np

from course_lib import grading
from course_lib.models.mixture import diag_gaussian_log_prob
from course_lib.train import batches_per_epoch as reference_batches_per_epoch


def batches_per_epoch(fn) -> grading.Verdict:
    """``fn(n_examples, batch_size)`` must return the number of batches in one epoch."""

    def body():
        for n, size in [(100, 10), (100, 32), (60000, 256), (5, 8), (1, 1)]:
            grading.expect_equal(
                fn(n, size),
                reference_batches_per_epoch(n, size),
                what=f"batches_per_epoch({n}, {size})",
            )

    return grading.run_check(
        "batches_per_epoch",
        body,
        hint="An epoch is every example once. If the examples don't split evenly, the "
        "last, smaller batch still counts: round up (math.ceil).",
    )


def gaussian_log_prob(fn) -> grading.Verdict:
    """``fn(x, mean, std)`` must return log N(x; mean, diag(std²)) summed over the last axis."""

    def body():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(6, 3))
        mean, std = rng.normal(size=3), rng.uniform(0.5, 2.0, size=3)
        expected = diag_gaussian_log_prob(x, mean, std).numpy()
        grading.expect_close(
            fn(x, mean, std), expected, rtol=1e-4, atol=1e-4, what="gaussian_log_prob(x, mean, std)"
        )

    return grading.run_check(
        "gaussian_log_prob",
        body,
        hint="Per dimension: -0.5 * ((x - mean) / std)**2 - log(std) - 0.5 * log(2π). "
        "Then add up over the last axis (axis=-1), one number per row of x.",
    )


def sample_from_mixture(fn) -> grading.Verdict:
    """``fn(weights, means, stds, n, rng)`` must draw n points from the mixture."""

    def body():
        weights = np.array([0.2, 0.5, 0.3])
        means = np.array([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
        stds = np.array([[1.0, 0.5], [0.5, 1.0], [2.0, 1.0]])
        n = 6000
        points = grading.expect_array(
            fn(weights, means, stds, n, np.random.default_rng(1)), shape=(n, 2), what="your samples"
        )
        nearest = np.argmin(((points[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
        share = np.bincount(nearest, minlength=3) / n
        if not np.allclose(share, weights, atol=0.03):
            raise grading.Mismatch(
                f"the share of points near each mean is {np.round(share, 3).tolist()}; "
                f"expected about {weights.tolist()} (the mixture weights)."
            )
        for k in range(3):
            spread = points[nearest == k].std(axis=0)
            if not np.allclose(spread, stds[k], rtol=0.15):
                raise grading.Mismatch(
                    f"points of component {k} spread by {np.round(spread, 2).tolist()}; "
                    f"expected about {stds[k].tolist()} (its stds)."
                )

    return grading.run_check(
        "sample_from_mixture",
        body,
        hint="Two steps: pick a component for every point with rng.choice(len(weights), "
        "size=n, p=weights), then draw means[k] + stds[k] * rng.standard_normal(...).",
    )
