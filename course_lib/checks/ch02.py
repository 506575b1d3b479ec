"""Checks for chapter 02's exercises: the reparameterisation trick, the KL term, the
beta-weighted VAE loss and the ROC AUC of an anomaly detector, each compared with
:mod:`course_lib.models.vae`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from course_lib import grading
from course_lib.models import vae
from course_lib.models.base import copy_network

exercise = grading.Exercises("02_vaes")


def _close(a, b, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _times(got, expected) -> str:
    """'about 3 times too large' when got is a steady multiple of expected, else ''."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    keep = np.abs(expected) > 1e-6
    if not keep.any():
        return ""
    ratio = got[keep] / expected[keep]
    r = float(np.median(ratio))
    if not np.allclose(ratio, r, rtol=1e-3) or np.isclose(r, 1.0, rtol=1e-3) or r <= 0:
        return ""
    if r > 1:
        return (
            "twice too large" if np.isclose(r, 2, rtol=1e-3) else f"about {r:.3g} times too large"
        )
    return (
        "half what it should be"
        if np.isclose(r, 0.5, rtol=1e-3)
        else f"about {1 / r:.3g} times too small"
    )


# -- exercise 1 ----------------------------------------------------------------------------


def _codes(fn, mean, log_var, eps, what="z"):
    z = grading.expect_array(fn(mean.copy(), log_var.copy(), eps.copy()), what=what)
    if z.shape != mean.shape:
        raise grading.Mismatch(
            f"{what} has shape {z.shape}; expected {mean.shape}, the shape of mean, log_var "
            "and eps: one code number per number of eps."
        )
    return z.astype(np.float64)


@exercise(
    points=1,
    forbid=[vae.reparameterize],
    see="3 · How it works",
    hint="With eps = 0 the code is the mean itself; with eps = 1 it lies one standard "
    "deviation above the mean. log_var is the log of the variance, and the standard "
    "deviation is the square root of the variance. Use the eps you are given: the "
    "randomness comes from outside.",
)
def reparameterize(fn):
    """``fn(mean, log_var, eps)`` must return ``mean + exp(log_var / 2) * eps``."""
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(5, 3))
    log_var = rng.normal(scale=0.7, size=(5, 3))

    z = _codes(fn, mean, log_var, np.zeros_like(mean))
    if not _close(z, mean):
        again = _codes(fn, mean, log_var, np.zeros_like(mean))
        own = "" if _close(z, again) else " (two calls with the same eps gave different z)"
        raise grading.Mismatch(
            f"with eps = 0 (no noise at all) z should be exactly the mean; yours differs"
            f"{own}. Move and stretch the eps you are given; don't draw noise of your own."
        )

    variance = np.array([[0.25, 4.0, 1.0, 9.0]])
    centre = np.array([[1.0, -2.0, 0.5, 0.0]])
    z = _codes(fn, centre, np.log(variance), np.ones_like(centre))
    step, std = (z - centre)[0], np.sqrt(variance)[0]
    if not _close(step, std):
        if _close(step, -std):
            why = "z moves against eps: with eps = +1 it must lie above the mean."
        elif _close(step, variance[0]):
            why = "that is the variance; the spread is the standard deviation, its square root."
        elif _close(step, np.log(variance[0])):
            why = "that is log_var itself, a logarithm; turn it into a standard deviation."
        else:
            why = "the step from the mean is one standard deviation times eps."
        raise grading.Mismatch(
            f"for variances {variance[0].tolist()} and eps = 1, z should lie "
            f"{std.tolist()} above the mean (one standard deviation); yours lies "
            f"{np.round(step, 4).tolist()} above it: {why}"
        )

    eps = rng.standard_normal((5, 3))
    z = _codes(fn, mean, log_var, eps)
    expected = vae.reparameterize(mean, log_var, noise=eps).numpy()
    grading.expect_close(z, expected, rtol=1e-4, atol=1e-5, what="z for random mean, log_var, eps")

    # many draws of one Gaussian: the right spread
    eps = rng.standard_normal((50_000, 2))
    z = _codes(
        fn,
        np.tile([1.0, -2.0], (50_000, 1)),
        np.tile(np.log([0.25, 4.0]), (50_000, 1)),
        eps,
        what="z for 50,000 draws",
    )
    var = z.var(axis=0)
    if not np.allclose(var, [0.25, 4.0], rtol=0.05):
        raise grading.Mismatch(
            f"50,000 codes from variances [0.25, 4.0] have variance {np.round(var, 3).tolist()}."
        )


# -- exercise 2 ----------------------------------------------------------------------------


def _kl(fn, mean, log_var, what):
    got = grading.expect_array(fn(mean.copy(), log_var.copy()), what=what)
    n, d = mean.shape
    if got.shape != (n,):
        raise grading.Mismatch(
            f"{what} has shape {got.shape}; expected ({n},): one number per row (per "
            f"image), the sum over its {d} latent dimensions (the last axis) only."
        )
    if not np.all(np.isfinite(got)):
        raise grading.Mismatch(f"{what} contains nan or inf: {np.round(got, 4).tolist()}.")
    return got.astype(np.float64)


@exercise(
    points=1,
    forbid=[vae.kl_divergence],
    see="3 · How it works",
    hint="The KL of N(0, 1) to itself is 0, and a KL is never negative. Per latent dimension "
    "it is half of (variance + mean² - 1 - log of the variance), and log_var already is "
    "the log of the variance. One number per row: add up over the latent dimensions only.",
)
def kl_divergence(fn):
    """``fn(mean, log_var)`` must return KL(N(mean, exp(log_var)) || N(0, I)) per row."""
    got = _kl(fn, np.zeros((2, 3)), np.zeros((2, 3)), "the KL of N(0, 1) to itself")
    if not _close(got, np.zeros(2), atol=1e-6):
        raise grading.Mismatch(
            f"the KL of N(0, 1) to itself should be 0 (nothing to move); yours is {got[0]:.4g}."
        )
    rng = np.random.default_rng(1)
    for rows, dims in ((6, 4), (3, 1)):
        mean = rng.normal(size=(rows, dims))
        log_var = rng.normal(scale=1.2, size=(rows, dims))
        got = _kl(fn, mean, log_var, "kl_divergence(mean, log_var)")
        if (got < -1e-9).any():
            i = int(np.argmin(got))
            raise grading.Mismatch(
                f"your KL of row {i} is {got[i]:.4g}; a KL is never negative: check the sign "
                "of each term."
            )
        expected = vae.kl_divergence(mean, log_var).numpy().astype(np.float64)
        if _close(got, expected):
            continue
        times = _times(got, expected)
        if dims > 1 and _close(got, expected / dims):
            why = "you average over the latent dimensions; add them up."
        elif times:
            why = f"your KL is {times}."
        else:
            why = (
                "each dimension adds half of (variance + mean² - 1 - log of the variance); "
                "the variance is exp(log_var)."
            )
        raise grading.Mismatch(
            f"for {dims}-dimensional codes your KL is {np.round(got[:3], 4).tolist()}...; "
            f"expected {np.round(expected[:3], 4).tolist()}...: {why}"
        )


# -- exercise 3 ----------------------------------------------------------------------------


def _loss(fn, x, x_hat, mean, log_var, beta, what) -> float:
    value = grading.expect_array(
        fn(x.copy(), x_hat.copy(), mean.copy(), log_var.copy(), beta), what=what
    )
    if value.size != 1:
        raise grading.Mismatch(
            f"{what} has {value.size} numbers (shape {value.shape}); it should be one: the "
            "mean over the images of the batch."
        )
    value = float(value.reshape(()))
    if not np.isfinite(value):
        raise grading.Mismatch(f"{what} is {value}.")
    return value


@exercise(
    points=2,
    forbid=[vae.vae_loss, vae.reconstruction_loss, vae.kl_divergence],
    see="3 · How it works",
    hint="Per image: the binary cross-entropy added up over all its pixels (hundreds of "
    "nats, not a per-pixel average), plus beta times its KL (from your kl_divergence). "
    "Then one number: the average over the images. With beta = 0 only the reconstruction "
    "is left.",
)
def vae_loss(fn):
    """``fn(x, x_hat, mean, log_var, beta)`` must return the batch mean of rec + beta * KL."""
    rng = np.random.default_rng(2)
    n = 4
    x = (rng.uniform(size=(n, 28, 28, 1)) > 0.6).astype(np.float32)
    x_hat = rng.uniform(0.02, 0.98, size=(n, 28, 28, 1))
    mean, log_var = rng.normal(size=(n, 5)), rng.normal(scale=0.5, size=(n, 5))

    rec_each = vae.reconstruction_loss(x, x_hat).numpy().astype(np.float64)
    kl_each = vae.kl_divergence(mean, log_var).numpy().astype(np.float64)
    rec, kl = rec_each.mean(), kl_each.mean()

    got = _loss(fn, x, x_hat, mean, log_var, 0.0, "the loss for beta=0")
    # expected values come from the library, computed outside the learner's call
    if not np.isclose(got, rec, rtol=1e-4):
        if np.isclose(got, rec / 784, rtol=1e-3):
            why = (
                "784 times too small: add up the cross-entropy over the pixels of an image "
                "instead of averaging it."
            )
        elif np.isclose(got, rec_each.sum(), rtol=1e-4):
            why = f"{n} times too large: average over the {n} images, don't add them up."
        elif np.isclose(got, kl, rtol=1e-4) or np.isclose(got, rec + kl, rtol=1e-4):
            why = "beta weights the KL, so with beta = 0 only the reconstruction is left."
        elif np.isclose(got, -rec, rtol=1e-4):
            why = "the sign is flipped: a cross-entropy is never negative."
        else:
            why = (
                "the binary cross-entropy between x and x_hat, added up over all the "
                "pixels of an image, then averaged over the images."
            )
        raise grading.Mismatch(
            f"with beta = 0 the loss is the reconstruction alone: expected {rec:.5g}, got "
            f"{got:.5g}: {why}"
        )
    for beta in (1.0, 4.0):
        got_beta = _loss(fn, x, x_hat, mean, log_var, beta, f"the loss for beta={beta:g}")
        kl_part = (got_beta - got) / beta
        if np.isclose(kl_part, kl, rtol=1e-4, atol=1e-6):
            continue
        if np.isclose(kl_part, 0.0, atol=1e-9):
            why = "beta changes nothing: add beta times the KL."
        elif np.isclose(kl_part, kl_each.sum(), rtol=1e-4):
            why = f"{n} times too large: average over the images, don't add them up."
        elif np.isclose(got_beta - got, kl, rtol=1e-4):
            why = "the KL is not multiplied by beta."
        else:
            times = _times(kl_part, kl)
            why = f"the KL part is {times}." if times else "beta times the mean KL of the images."
        raise grading.Mismatch(
            f"going from beta = 0 to beta = {beta:g} should add {beta:g} × {kl:.5g} (beta "
            f"times the mean KL); your loss grew by {got_beta - got:.5g}: {why}"
        )

    # grey pixels (not only 0 and 1), as in Fashion-MNIST
    grey = rng.uniform(size=(n, 28, 28, 1)).astype(np.float32)
    got = _loss(fn, grey, x_hat, mean, log_var, 1.0, "the loss for grey images")
    expected = float(vae.vae_loss(grey, x_hat, mean, log_var, 1.0).total)
    if not np.isclose(got, expected, rtol=1e-4):
        raise grading.Mismatch(
            f"for images with grey pixels (between 0 and 1) your loss is {got:.5g}; expected "
            f"{expected:.5g}. The cross-entropy has two terms per pixel, one weighted by x and "
            "one by 1 - x, and both count for grey pixels."
        )


# -- exercise 4 ----------------------------------------------------------------------------


def _auc(fn, normal, anomaly, what) -> float:
    value = grading.expect_scalar(fn(normal, anomaly), what=what)
    if not np.isfinite(value):
        raise grading.Mismatch(f"{what} is {value}.")
    return value


@exercise(
    points=2,
    forbid=[vae.roc_auc],
    see="5.4 Anomaly detection",
    hint="Think of every (normal, anomaly) pair: it counts 1 when the anomaly scores higher, "
    "one half for a tie and 0 otherwise; the AUC is the average over all pairs. Anomalies "
    "that always score higher give 1.0, and the two groups may have different sizes.",
)
def roc_auc(fn):
    """``fn(normal_scores, anomaly_scores)`` must return the area under the ROC curve."""
    got = _auc(fn, [1.0, 2.0], [3.0], "the AUC for normal scores [1, 2] and anomaly [3]")
    if not np.isclose(got, 1.0):
        why = " (normal and anomaly are swapped)" if np.isclose(got, 0.0) else ""
        raise grading.Mismatch(
            f"when every anomaly scores higher than every normal example the AUC is 1.0; "
            f"yours is {got:.4g}{why}. The AUC is the chance that the anomaly has the higher score."
        )
    got = _auc(fn, [3.0, 4.0], [1.0], "the AUC for normal scores [3, 4] and anomaly [1]")
    if not np.isclose(got, 0.0):
        raise grading.Mismatch(
            f"when every anomaly scores lower than every normal example the AUC is 0.0; yours "
            f"is {got:.4g}."
        )
    for normal, anomaly, want in (([1.0, 2.0], [2.0], 0.75), ([5.0, 5.0, 5.0], [5.0, 5.0], 0.5)):
        got = _auc(fn, normal, anomaly, f"the AUC for normal scores {normal} and anomaly {anomaly}")
        if not np.isclose(got, want):
            counts = {0.75: {0.5: "0", 1.0: "1"}, 0.5: {0.0: "0", 1.0: "1"}}[want]
            counted = [c for value, c in counts.items() if np.isclose(got, value)]
            how = f" (as if a tie counted {counted[0]})" if counted else ""
            raise grading.Mismatch(
                f"for normal scores {normal} and anomaly scores {anomaly} the AUC is {want}; "
                f"yours is {got:.4g}{how}. A tie counts one half."
            )
    rng = np.random.default_rng(3)
    cases = [
        (rng.normal(size=200), rng.normal(1.0, size=150), "continuous scores"),
        (
            rng.integers(0, 8, size=120).astype(float),
            rng.integers(2, 10, size=70).astype(float),
            "whole-number scores with many ties",
        ),
    ]
    for normal, anomaly, label in cases:
        got = _auc(fn, normal.copy(), anomaly.copy(), f"your AUC for {label}")
        expected = vae.roc_auc(normal, anomaly)
        if not np.isclose(got, expected, rtol=1e-9, atol=1e-12):
            why = ""
            if np.isclose(got, 1 - expected):
                why = " Normal and anomaly are swapped."
            raise grading.Mismatch(
                f"for {label} ({normal.size} normal, {anomaly.size} anomalies) your AUC is "
                f"{got:.6f}; expected {expected:.6f}.{why} Compare every anomaly with every "
                "normal example, and average over all those pairs."
            )


# -- a running-code exercise: the VAE's training step ------------------------------------


class _FixedNoiseVAE(vae.VAE):
    """The library's VAE, with a given standard-normal draw instead of a fresh one."""

    eps = None

    def loss_terms(self, x, cond=None, training: bool = False, noise=None):
        return super().loss_terms(x, cond, training, noise=self.eps)


@exercise(
    points=3,
    kind="training step",
    forbid=[vae.VAE.train_step, vae.VAE.loss_terms],
    see="Train the VAE",
    hint="While a tape records: encode the batch into a mean and a log-variance, draw the "
    "codes with the reparameterisation trick using the given eps, decode them into pixel "
    "logits, and score reconstruction plus beta times KL, averaged over the batch. Then "
    "one optimizer step on the variables of both networks. The decoder gives logits, not "
    "probabilities: TensorFlow has a cross-entropy that takes logits directly.",
)
def vae_train_step(fn):
    """``fn(encoder, decoder, optimizer, x, eps, beta)`` must make one gradient step on
    the batch's beta-VAE loss (codes drawn with ``eps``) and return that loss."""
    import keras

    rng = np.random.default_rng(11)
    x = (rng.uniform(size=(8, 28, 28, 1)) > 0.55).astype(np.float32)
    for seed, beta in ((0, 1.0), (1, 4.0)):
        keras.utils.set_random_seed(seed)
        reference = _FixedNoiseVAE(latent_dim=3, filters=4, beta=beta)
        reference.compile(optimizer=keras.optimizers.Adam(1e-3))
        encoder, decoder = copy_network(reference.encoder), copy_network(reference.decoder)
        optimizer = keras.optimizers.Adam(1e-3)
        start = [w.copy() for w in encoder.get_weights() + decoder.get_weights()]
        for step in range(3):
            eps = rng.standard_normal((8, 3)).astype(np.float32)
            reference.eps = tf.constant(eps)
            for tracker in reference.metrics:  # the step's own numbers, not running means
                tracker.reset_state()
            want = float(reference.train_step(tf.constant(x))["loss"])
            got = grading.expect_scalar(
                fn(encoder, decoder, optimizer, tf.constant(x), tf.constant(eps), beta),
                what=f"the loss of step {step + 1}",
            )
            if not np.isclose(got, want, rtol=1e-3, atol=1e-2):
                raise grading.Mismatch(
                    f"with beta = {beta:g}, step {step + 1} returned the loss {got:.3f}; the same "
                    f"step from the same weights with the same eps gives {want:.3f} (nats per "
                    "image). Is the reconstruction summed over each image's pixels, the KL "
                    "weighted by beta, and the result averaged over the batch?"
                )
        after = encoder.get_weights() + decoder.get_weights()
        if all(np.array_equal(a, b) for a, b in zip(after, start, strict=True)):
            raise grading.Mismatch("your step never changed the networks' weights.")
        want = reference.encoder.get_weights() + reference.decoder.get_weights()
        if not all(
            np.allclose(a, b, rtol=1e-3, atol=1e-5) for a, b in zip(after, want, strict=True)
        ):
            raise grading.Mismatch(
                "after three steps your networks' weights differ from three library steps from "
                "the same start with the same eps. Does one optimizer step update the variables "
                "of both the encoder and the decoder, using the gradient of the loss you return?"
            )
