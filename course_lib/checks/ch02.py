"""Checks for chapter 02's exercises: the reparameterisation trick, the KL term, the
beta-weighted VAE loss and the ROC AUC of an anomaly detector, each compared with
:mod:`course_lib.models.vae`."""

from __future__ import annotations

import numpy as np

from course_lib import grading
from course_lib.models import vae


def reparameterize(fn) -> grading.Verdict:
    """``fn(mean, log_var, eps)`` must return ``mean + exp(log_var / 2) * eps``."""

    def body():
        rng = np.random.default_rng(0)
        mean = rng.normal(size=(5, 3))
        log_var = rng.normal(scale=0.7, size=(5, 3))
        eps = rng.standard_normal((5, 3))
        expected = vae.reparameterize(mean, log_var, noise=eps).numpy()
        grading.expect_close(
            fn(mean, log_var, eps), expected, rtol=1e-4, atol=1e-5, what="reparameterize(...)"
        )
        # many draws of one Gaussian: the right centre and spread
        eps = rng.standard_normal((50_000, 2))
        z = grading.expect_array(
            fn(np.array([1.0, -2.0]), np.log([0.25, 4.0]), eps),
            shape=(50_000, 2),
            what="z for 50,000 draws",
        )
        if not np.allclose(z.var(axis=0), [0.25, 4.0], rtol=0.05):
            raise grading.Mismatch(
                f"z has variance {np.round(z.var(axis=0), 3).tolist()}; expected about "
                "[0.25, 4.0] = exp(log_var). Remember: the standard deviation is exp(log_var / 2)."
            )

    return grading.run_check(
        "reparameterize",
        body,
        hint="The standard deviation is exp(0.5 * log_var), not exp(log_var): "
        "z = mean + np.exp(0.5 * log_var) * eps.",
    )


def kl_divergence(fn) -> grading.Verdict:
    """``fn(mean, log_var)`` must return KL(N(mean, exp(log_var)) || N(0, I)) per row."""

    def body():
        rng = np.random.default_rng(1)
        mean = rng.normal(size=(6, 4))
        log_var = rng.normal(scale=0.8, size=(6, 4))
        expected = vae.kl_divergence(mean, log_var).numpy()
        grading.expect_close(
            fn(mean, log_var), expected, rtol=1e-4, atol=1e-5, what="kl_divergence(mean, log_var)"
        )
        grading.expect_close(
            fn(np.zeros((1, 3)), np.zeros((1, 3))),
            [0.0],
            atol=1e-6,
            what="the KL of N(0, 1) to itself",
        )

    return grading.run_check(
        "kl_divergence",
        body,
        hint="Per dimension: 0.5 * (exp(log_var) + mean**2 - 1 - log_var). Then add up over "
        "the last axis (axis=-1): one number per row.",
    )


def vae_loss(fn) -> grading.Verdict:
    """``fn(x, x_hat, mean, log_var, beta)`` must return the batch mean of rec + beta * KL."""

    def body():
        rng = np.random.default_rng(2)
        x = (rng.uniform(size=(8, 28, 28, 1)) > 0.6).astype(np.float32)
        x_hat = rng.uniform(0.02, 0.98, size=(8, 28, 28, 1))
        mean, log_var = rng.normal(size=(8, 5)), rng.normal(scale=0.5, size=(8, 5))
        for beta in (1.0, 4.0, 0.0):
            expected = float(vae.vae_loss(x, x_hat, mean, log_var, beta).total)
            got = grading.expect_array(
                fn(x, x_hat, mean, log_var, beta), shape=(), what=f"the loss for beta={beta}"
            )
            grading.expect_close(got, expected, rtol=1e-4, what=f"the loss for beta={beta}")

    return grading.run_check(
        "vae_loss",
        body,
        hint="Reconstruction: binary cross-entropy summed over all pixels of each image "
        "(axis=(1, 2, 3)). Total per image: reconstruction + beta * KL. Then the mean over "
        "the batch: one number.",
    )


def roc_auc(fn) -> grading.Verdict:
    """``fn(normal_scores, anomaly_scores)`` must return the area under the ROC curve."""

    def body():
        rng = np.random.default_rng(3)
        normal = rng.normal(size=200)
        anomaly = rng.normal(1.0, size=150)
        grading.expect_close(
            fn(normal, anomaly), vae.roc_auc(normal, anomaly), rtol=1e-6, what="your AUC"
        )
        grading.expect_close(fn([1.0, 2.0], [3.0]), 1.0, what="AUC when anomalies score highest")
        grading.expect_close(fn([1.0, 2.0], [2.0]), 0.75, what="AUC with a tie (counts 1/2)")

    return grading.run_check(
        "roc_auc",
        body,
        hint="Compare every anomaly with every normal example: count 1 when the anomaly's "
        "score is higher, 1/2 when equal. The AUC is the average over all pairs "
        "(broadcasting: anomaly[:, None] > normal[None, :]).",
    )
