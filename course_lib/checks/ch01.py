"""Checks for chapter 01's exercises: the two GAN losses, WGAN-GP's gradient penalty,
and adaptive instance normalisation (StyleGAN's way of giving every layer a style)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from course_lib import grading
from course_lib.models import gan


def _logits(seed: int, n: int = 6) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 2.0, size=(n, 1)).astype(np.float32)


def discriminator_loss(fn) -> grading.Verdict:
    """``fn(real_logits, fake_logits)`` must return the detective's cross-entropy loss."""

    def body():
        for seed in (0, 1):
            real, fake = _logits(seed), _logits(seed + 10)
            expected = float(gan.discriminator_loss(real, fake))
            got = grading.expect_array(fn(tf.constant(real), tf.constant(fake)), what="your loss")
            if got.size != 1:
                raise grading.Mismatch(
                    f"your loss has {got.size} numbers; it should be one number (the mean)."
                )
            grading.expect_close(got.reshape(()), expected, rtol=1e-4, what="your loss")
        # a perfect detective (very sure and right) has a loss near 0
        sure = float(np.asarray(fn(tf.constant([[20.0]]), tf.constant([[-20.0]]))).reshape(()))
        if not 0 <= sure < 1e-3:
            raise grading.Mismatch(
                f"for a detective that is sure and right the loss should be about 0; got {sure:.4g}."
            )

    return grading.run_check(
        "discriminator_loss",
        body,
        hint="Real images should get the label 1, fakes the label 0. With logits, "
        "-log(sigmoid(x)) = softplus(-x) and -log(1 - sigmoid(x)) = softplus(x). "
        "Average each part over the batch and add the two.",
    )


def generator_loss(fn) -> grading.Verdict:
    """``fn(fake_logits)`` must return the non-saturating generator loss."""

    def body():
        for seed in (2, 3):
            fake = _logits(seed)
            got = grading.expect_array(fn(tf.constant(fake)), what="your loss")
            if got.size != 1:
                raise grading.Mismatch(f"your loss has {got.size} numbers; it should be one.")
            grading.expect_close(
                got.reshape(()), float(gan.generator_loss(fake)), rtol=1e-4, what="your loss"
            )

    return grading.run_check(
        "generator_loss",
        body,
        hint="The artist wants the detective to say 'real' (label 1) for its fakes: "
        "the mean of softplus(-fake_logits), i.e. -log(sigmoid(fake_logits)).",
    )


def _small_critic(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    return gan.build_dcgan_discriminator(width=8)


def gradient_penalty(fn) -> grading.Verdict:
    """``fn(critic, real, fake, alpha)`` must return WGAN-GP's penalty for those mixes."""

    def body():
        rng = np.random.default_rng(4)
        real = np.tanh(rng.normal(size=(5, 28, 28, 1))).astype(np.float32)
        fake = np.tanh(rng.normal(size=(5, 28, 28, 1))).astype(np.float32)
        alpha = rng.uniform(size=(5, 1, 1, 1)).astype(np.float32)
        for seed in (0, 1):
            critic = _small_critic(seed)
            expected = float(gan.gradient_penalty(critic, real, fake, alpha))
            args = (tf.constant(real), tf.constant(fake), tf.constant(alpha))
            got = grading.expect_array(fn(critic, *args), what="your penalty")
            if got.size != 1:
                raise grading.Mismatch(
                    f"your penalty has {got.size} numbers; average over the batch to get one."
                )
            grading.expect_close(got.reshape(()), expected, rtol=1e-3, what="your penalty")

    return grading.run_check(
        "gradient_penalty",
        body,
        hint="Mix: x_hat = real + alpha * (fake - real). Inside a tf.GradientTape, watch "
        "x_hat and score it with the critic; take the gradient of the scores with respect "
        "to x_hat. Its norm per image is sqrt of the sum of squares over axes [1, 2, 3]; "
        "the penalty is the batch mean of (norm - 1)**2.",
    )


def adaptive_instance_norm(fn) -> grading.Verdict:
    """``fn(x, scale, bias)`` must normalise each feature map and apply the style."""

    def body():
        rng = np.random.default_rng(5)
        x = rng.normal(2.0, 3.0, size=(3, 7, 7, 4)).astype(np.float32)
        scale = rng.uniform(0.5, 2.0, size=(3, 4)).astype(np.float32)
        bias = rng.normal(size=(3, 4)).astype(np.float32)
        expected = gan.adaptive_instance_norm(x, scale, bias).numpy()
        got = fn(tf.constant(x), tf.constant(scale), tf.constant(bias))
        grading.expect_close(got, expected, rtol=1e-3, atol=1e-3, what="your AdaIN output")

    return grading.run_check(
        "adaptive_instance_norm",
        body,
        hint="Mean and variance per image and per channel: over axes [1, 2] only "
        "(tf.nn.moments(x, axes=[1, 2], keepdims=True)). Normalise with "
        "(x - mean) / sqrt(var + 1e-5), then multiply by scale[:, None, None, :] and "
        "add bias[:, None, None, :].",
    )
