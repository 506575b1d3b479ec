"""Checks for chapter 01's exercises: the two GAN losses, WGAN-GP's gradient penalty,
and adaptive instance normalisation (StyleGAN's way of giving every layer a style)."""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from course_lib import grading
from course_lib.models import gan
from course_lib.models.base import copy_network

exercise = grading.Exercises("01_gans")


def _number(value, what: str, finite: bool = True) -> float:
    arr = grading.expect_array(value, what=what)
    if arr.size != 1:
        raise grading.Mismatch(
            f"{what} has {arr.size} numbers (shape {arr.shape}); it should be one number: "
            "the mean over the batch."
        )
    number = float(arr.reshape(()))
    if finite and not np.isfinite(number):
        raise grading.Mismatch(f"{what} is {number}.")
    return number


_OVERFLOW = (
    "taking log(sigmoid(x)) directly breaks there, because sigmoid rounds to "
    "exactly 0 or 1; use the softplus form of the exercise."
)


def _close(a: float, b: float, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    return bool(np.isclose(a, b, rtol=rtol, atol=atol))


def _logits(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 2.0, size=(n, 1)).astype(np.float32)


def _softplus(x) -> np.ndarray:
    return np.logaddexp(0.0, np.asarray(x, np.float64))


# -- exercise 1 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[gan.discriminator_loss],
    see="3 · How it works",
    hint="A detective that is sure and right must have a loss near 0, and one that is sure "
    "and wrong a large loss. Real images carry the label 1, fakes the label 0. Each part is "
    "an average over its own batch, and the loss must stay finite even for very confident "
    "logits.",
)
def discriminator_loss(fn):
    """``fn(real_logits, fake_logits)`` must return the detective's cross-entropy loss."""
    # a detective that is sure and right, then one that is sure and wrong
    right = _number(fn(tf.constant([[20.0]]), tf.constant([[-20.0]])), "your loss")
    if not -1e-6 <= right < 1e-3:
        raise grading.Mismatch(
            f"for a detective that is sure and right (real logit +20, fake logit -20) the loss "
            f"should be about 0; yours is {right:.4g}. Real images carry the label 1 and "
            "fakes the label 0."
        )
    wrong = _number(fn(tf.constant([[-200.0]]), tf.constant([[200.0]])), "your loss", False)
    if not _close(wrong, 400.0, rtol=1e-3):
        if not np.isfinite(wrong):
            why = f"yours is {wrong}: {_OVERFLOW}"
        elif _close(wrong, -400.0, rtol=1e-3):
            why = "yours is -400: the sign is flipped, a cross-entropy is never negative."
        elif _close(wrong, 200.0, rtol=1e-3):
            why = (
                "yours is 200. The real part and the fake part are each 200 here: the "
                "loss adds the two."
            )
        else:
            why = f"yours is {wrong:.4g}: {_OVERFLOW}"
        raise grading.Mismatch(
            "for a detective that is sure and wrong (real logit -200, fake logit +200) the "
            f"loss should be about 400; {why}"
        )
    # ordinary batches, of two different sizes
    for seed, (n_real, n_fake) in ((0, (6, 6)), (1, (6, 4))):
        real, fake = _logits(seed, n_real), _logits(seed + 10, n_fake)
        got = _number(fn(tf.constant(real), tf.constant(fake)), "your loss")
        real_part, fake_part = _softplus(-real).mean(), _softplus(fake).mean()
        expected = float(gan.discriminator_loss(real, fake))
        if _close(got, expected):
            continue
        if _close(got, _softplus(-real).sum() + _softplus(fake).sum()):
            why = "you add up over the batch: take the mean of each part instead."
        elif _close(got, (real_part + fake_part) / 2):
            why = "half the expected value: add the two averages, don't average them."
        elif _close(got, np.concatenate([_softplus(-real), _softplus(fake)]).mean()):
            why = "one mean over both batches; each part is an average over its own batch."
        elif _close(got, real_part) or _close(got, fake_part):
            why = "only one of the two parts: the loss adds the real and the fake part."
        elif _close(got, -expected):
            why = "the sign is flipped: a cross-entropy is never negative."
        else:
            why = "check which label each group gets and how each part is averaged."
        raise grading.Mismatch(
            f"for {n_real} real and {n_fake} fake logits your loss is {got:.5g}; expected "
            f"{expected:.5g}: {why}"
        )


# -- exercise 2 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[gan.generator_loss],
    see="Early on, the detective easily spots every fake",
    hint="The artist wants the detective to call its fakes real (label 1). Its loss must "
    "fall as the fakes' logits rise, be steep where the detective easily spots the fakes "
    "(very negative logits), average over the batch, and stay finite for very confident "
    "logits.",
)
def generator_loss(fn):
    """``fn(fake_logits)`` must return the non-saturating generator loss."""
    low = _number(fn(tf.constant([[-5.0]])), "your loss for logit -5")
    lower = _number(fn(tf.constant([[-6.0]])), "your loss for logit -6")
    high = _number(fn(tf.constant([[5.0]])), "your loss for logit +5")
    if not high < low:
        raise grading.Mismatch(
            f"your loss is {high:.4g} when the detective believes the fake (logit +5) and "
            f"{low:.4g} when it spots it (logit -5): it should fall as the detective is "
            "fooled more. The artist wants the label 1 (real) for its fakes."
        )
    if abs(lower - low) < 0.5:
        raise grading.Mismatch(
            f"your loss hardly changes where the detective easily spots the fakes (logit -5: "
            f"{low:.4g}, logit -6: {lower:.4g}). That is the saturating form, which gives the "
            "artist almost no signal at the start of training; use the non-saturating one."
        )
    if high < 0 or low < 0:
        raise grading.Mismatch(
            f"your loss is negative ({min(high, low):.4g}); a cross-entropy never is: check "
            "the sign."
        )
    sure = _number(fn(tf.constant([[-200.0]])), "your loss for logit -200", False)
    if not _close(sure, 200.0, rtol=1e-3):
        raise grading.Mismatch(
            f"for a fake the detective is sure about (logit -200) the loss should be about "
            f"200; yours is {sure:.4g}: {_OVERFLOW}"
        )
    for seed in (2, 3):
        fake = _logits(seed, 6)
        got = _number(fn(tf.constant(fake)), "your loss")
        expected = float(gan.generator_loss(fake))
        if _close(got, expected):
            continue
        if _close(got, _softplus(-fake).sum()):
            why = "you add up over the batch: take the mean."
        else:
            why = "the loss of each fake is -log of the detective's belief that it is real."
        raise grading.Mismatch(
            f"for 6 fake logits your loss is {got:.5g}; expected {expected:.5g}: {why}"
        )


# -- exercise 3 ----------------------------------------------------------------------------

_IMAGE = (6, 6, 2)


@functools.cache
def _critic(seed: int, scale: float):
    """A tiny Keras critic with fixed weights: its gradient differs from image to image."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(_IMAGE),
            layers.Conv2D(
                4,
                3,
                activation="tanh",
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=seed + 1),
            ),
            layers.Flatten(),
            layers.Dense(
                1, kernel_initializer=keras.initializers.RandomNormal(stddev=scale, seed=seed)
            ),
        ]
    )


def _grads(critic, points) -> np.ndarray:
    points = tf.constant(points)
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = critic(points, training=True)
    return tape.gradient(scores, points).numpy().astype(np.float64)


def _penalty_diagnosis(got, critic, real, fake, alpha) -> str:
    """What a wrong penalty most likely did, in words."""
    grads = _grads(critic, real + alpha * (fake - real))
    norms = np.sqrt((grads**2).sum(axis=(1, 2, 3)))
    candidates = [
        (
            np.mean(((grads**2).sum(axis=(1, 2, 3)) - 1) ** 2),
            "you penalise the squared length: the length of a gradient is the square root of "
            "the sum of its squares.",
        ),
        (
            (np.sqrt((grads**2).sum()) - 1) ** 2,
            "one length for the whole batch: compute one length per image, then average the "
            "penalties.",
        ),
        (
            np.mean((np.sqrt((grads**2).sum(axis=(1, 2))) - 1) ** 2),
            "the length must run over every pixel and every channel of an image (axes 1, 2 and 3).",
        ),
        (np.mean(norms - 1), "square each image's distance of the length from 1."),
        (np.mean(np.abs(norms - 1)), "square each image's distance of the length from 1."),
        (np.sum((norms - 1) ** 2), "average over the batch, don't add up."),
        (
            np.mean(
                (
                    np.sqrt((_grads(critic, fake + alpha * (real - fake)) ** 2).sum(axis=(1, 2, 3)))
                    - 1
                )
                ** 2
            ),
            "the mixed points lie on the wrong side: alpha = 0 must give the real image and "
            "alpha = 1 the fake.",
        ),
        (
            np.mean((np.sqrt((_grads(critic, real) ** 2).sum(axis=(1, 2, 3))) - 1) ** 2),
            "the gradient must be taken at the mixed points, not at the real images.",
        ),
    ]
    for value, why in candidates:
        if _close(got, float(value), rtol=2e-3, atol=1e-4):
            return why
    return "mix, take the gradient of the critic's scores there, one length per image."


@exercise(
    points=2,
    forbid=[gan.gradient_penalty],
    see="5.3 WGAN-GP: a critic instead of a detective",
    hint="The penalty looks at the critic's slope at points between each real image and its "
    "fake: one gradient length per image (over all its pixels and channels), and how far "
    "that length is from 1, squared and averaged over the batch. It must also work inside "
    "a compiled training step, where the batch size is not known in advance.",
)
def gradient_penalty(fn):
    """``fn(critic, real, fake, alpha)`` must return WGAN-GP's penalty for those mixes."""
    rng = np.random.default_rng(4)
    n = 5
    real = np.tanh(rng.normal(size=(n, *_IMAGE))).astype(np.float32)
    fake = np.tanh(rng.normal(size=(n, *_IMAGE))).astype(np.float32)
    alpha = rng.uniform(size=(n, 1, 1, 1)).astype(np.float32)
    alpha[0], alpha[1] = 0.0, 1.0
    args = (tf.constant(real), tf.constant(fake), tf.constant(alpha))
    for seed, scale, size in ((0, 0.5, "larger"), (1, 0.04, "smaller")):
        critic = _critic(seed, scale)
        got = _number(fn(critic, *args), "your penalty")
        expected = float(gan.gradient_penalty(critic, real, fake, alpha))
        if not _close(got, expected, rtol=1e-3, atol=1e-5):
            why = _penalty_diagnosis(got, critic, real, fake, alpha)
            raise grading.Mismatch(
                f"with a critic whose gradients are {size} than 1 your penalty is {got:.5g}; "
                f"expected {expected:.5g}: {why}"
            )

    # inside a compiled step, as WGANGP.train_step runs it: the batch size is None there
    critic = _critic(0, 0.5)
    spec = [
        tf.TensorSpec([None, *_IMAGE]),
        tf.TensorSpec([None, *_IMAGE]),
        tf.TensorSpec([None, 1, 1, 1]),
    ]

    def step(r, f, a):
        return fn(critic, r, f, a)

    compiled = tf.function(step, input_signature=spec, autograph=False)
    try:
        got = compiled(*args)
    except (grading.ReferenceCalled, NotImplementedError):
        raise
    except Exception as err:
        text = str(err).strip().splitlines()
        raise grading.Mismatch(
            "your penalty works on ordinary tensors but fails inside a compiled training "
            "step (tf.function), where the batch size is None: "
            f"{type(err).__name__}: {text[-1] if text else ''}. Use TensorFlow operations, "
            "and read the batch size with tf.shape if you need it."
        ) from None
    expected = float(gan.gradient_penalty(critic, real, fake, alpha))
    got = _number(got, "your penalty inside tf.function")
    if not _close(got, expected, rtol=1e-3, atol=1e-5):
        raise grading.Mismatch(
            f"inside a compiled step (tf.function) your penalty is {got:.5g}; expected "
            f"{expected:.5g}, as it is outside."
        )


# -- exercise 4 ----------------------------------------------------------------------------


def _feature_maps(seed: int, shape=(3, 5, 5, 4)):
    rng = np.random.default_rng(seed)
    b, _, _, c = shape
    centre = rng.normal(0.0, 3.0, size=(b, 1, 1, c))
    spread = rng.uniform(0.5, 3.0, size=(b, 1, 1, c))
    x = centre + spread * rng.standard_normal(shape)
    scale = rng.uniform(0.5, 2.0, size=(b, c)) * rng.choice([-1.0, 1.0], size=(b, c))
    bias = rng.normal(size=(b, c))
    return x.astype(np.float32), scale.astype(np.float32), bias.astype(np.float32)


def _adain(fn, x, scale, bias, what):
    got = grading.expect_array(fn(tf.constant(x), tf.constant(scale), tf.constant(bias)), what=what)
    if got.shape != x.shape:
        raise grading.Mismatch(
            f"{what} has shape {got.shape}; expected {x.shape}, the shape of x: scale and "
            "bias have one number per image and channel, and must spread over height and "
            "width."
        )
    return got.astype(np.float64)


@exercise(
    points=1,
    forbid=[gan.adaptive_instance_norm],
    see="5.1 StyleGAN's ideas, at small scale",
    hint="After AdaIN, every channel of every image has, over its pixels, a mean equal to "
    "its bias and a standard deviation equal to its scale. Each image and each channel is "
    "normalised with its own statistics, and a feature map whose pixels are all equal must "
    "not give nan.",
)
def adaptive_instance_norm(fn):
    """``fn(x, scale, bias)`` must normalise each feature map and apply the style."""
    x, scale, bias = _feature_maps(5)
    got = _adain(fn, x, scale, bias, "your AdaIN output")
    expected = gan.adaptive_instance_norm(x, scale, bias).numpy()
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-3):
        mean, std = got.mean(axis=(1, 2)), got.std(axis=(1, 2))
        want_std = np.abs(scale) * np.sqrt(x.var(axis=(1, 2)) / (x.var(axis=(1, 2)) + 1e-5))
        bad = ~(np.isclose(mean, bias, atol=2e-3) & np.isclose(std, want_std, rtol=2e-3))
        if bad.any():
            i, c = (int(v) for v in np.argwhere(bad)[0])
            raise grading.Mismatch(
                f"over the pixels of image {i}, channel {c}, your output has mean "
                f"{mean[i, c]:.4f} and standard deviation {std[i, c]:.4f}; expected mean "
                f"{bias[i, c]:.4f} (its bias) and standard deviation {want_std[i, c]:.4f} "
                "(the size of its scale). Each image and each channel is normalised with its "
                "own mean and variance, over its pixels only."
            )
        grading.expect_close(got, expected, rtol=1e-3, atol=1e-3, what="your AdaIN output")

    # feature maps that are flat or nearly flat
    x, scale, bias = _feature_maps(6, shape=(2, 4, 4, 3))
    x[0, :, :, 1] = 1.5  # every pixel equal: variance 0
    x[1, :, :, 2] = 2.0 + 0.01 * np.random.default_rng(7).standard_normal((4, 4))
    got = _adain(fn, x, scale, bias, "your AdaIN output")
    expected = gan.adaptive_instance_norm(x, scale, bias).numpy()
    if not np.all(np.isfinite(got[0, :, :, 1])):
        raise grading.Mismatch(
            "a feature map whose pixels are all equal (variance 0) gives nan or inf: the "
            "1e-5 added to the variance under the square root keeps that division safe."
        )
    if not np.allclose(got[0, :, :, 1], bias[0, 1], atol=1e-3):
        raise grading.Mismatch(
            f"a feature map whose pixels are all equal should come out as its bias "
            f"({bias[0, 1]:.4f}) everywhere; yours gives {got[0, 0, 0, 1]:.4f}."
        )
    if not np.allclose(got[1, :, :, 2], expected[1, :, :, 2], rtol=1e-3, atol=1e-3):
        raise grading.Mismatch(
            "a feature map with a tiny spread (std 0.01) comes out wrong: the 1e-5 belongs "
            "under the square root, added to the variance, as in the exercise."
        )
    grading.expect_close(got, expected, rtol=1e-3, atol=1e-3, what="your AdaIN output")


# -- a running-code exercise: the GAN's training step ------------------------------------


class _ReplayGAN(gan.GAN):
    """The library's GAN, fed given noise batches in order instead of fresh noise."""

    def __init__(self, generator, discriminator, noises):
        super().__init__(generator, discriminator, latent_dim=int(noises[0].shape[1]))
        self.noises = list(noises)

    def _noise(self, batch):
        return tf.constant(self.noises.pop(0))


def _tiny_gan_networks(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    generator = gan.build_dcgan_generator(latent_dim=8, width=8)
    discriminator = gan.build_dcgan_discriminator(width=8)
    return generator, discriminator


def _weights_equal(a, b) -> bool:
    return all(np.allclose(x, y, rtol=1e-3, atol=1e-5) for x, y in zip(a, b, strict=True))


@exercise(
    points=3,
    kind="training step",
    forbid=[gan.GAN.train_step],
    see="Implementation: a DCGAN on Fashion-MNIST",
    hint="Two updates, in order. The detective first: make fakes from z_d, score real and "
    "fake images while a tape records, and move only the discriminator's variables. Then "
    "the artist: make new fakes from z_g while a tape records, score them with the "
    "detective, and move only the generator's variables. Both networks run in training "
    "mode.",
)
def gan_train_step(fn):
    """``fn(generator, discriminator, g_optimizer, d_optimizer, real, z_d, z_g)`` must make
    one discriminator update (fakes from ``z_d``) then one generator update (fakes from
    ``z_g``), with the learner's own losses, and return ``(d_loss, g_loss)``."""
    import keras

    rng = np.random.default_rng(7)
    real = np.tanh(rng.normal(size=(6, 28, 28, 1))).astype(np.float32)
    for seed in (0, 1):
        generator, discriminator = _tiny_gan_networks(seed)
        g_ref, d_ref = copy_network(generator), copy_network(discriminator)
        noises = [rng.normal(size=(6, 8)).astype(np.float32) for _ in range(6)]
        reference = _ReplayGAN(g_ref, d_ref, noises)
        reference.compile(
            g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
            d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        )
        g_opt = keras.optimizers.Adam(1e-3, beta_1=0.5)
        d_opt = keras.optimizers.Adam(1e-3, beta_1=0.5)
        g_start, d_start = generator.get_weights(), discriminator.get_weights()
        for step in range(3):
            z_d, z_g = noises[2 * step], noises[2 * step + 1]
            result = fn(
                generator,
                discriminator,
                g_opt,
                d_opt,
                tf.constant(real),
                tf.constant(z_d),
                tf.constant(z_g),
            )
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise grading.Mismatch("return two things: (d_loss, g_loss).")
            d_loss = grading.expect_scalar(result[0], what=f"d_loss of step {step + 1}")
            g_loss = grading.expect_scalar(result[1], what=f"g_loss of step {step + 1}")
            for tracker in reference.metrics:  # the step's own numbers, not running means
                tracker.reset_state()
            logs = reference.train_step(tf.constant(real))
            for name, got in (("d_loss", d_loss), ("g_loss", g_loss)):
                want = float(logs[name])
                if not np.isclose(got, want, rtol=1e-3, atol=1e-4):
                    raise grading.Mismatch(
                        f"step {step + 1} returned {name} = {got:.4f}; the same step from the same "
                        f"state gives {want:.4f}. Are your losses from exercises 1 and 2 right, "
                        "and is each computed on the right fakes, in training mode?"
                    )
        if _weights_equal(discriminator.get_weights(), d_start):
            raise grading.Mismatch("your step never changed the discriminator's weights.")
        if _weights_equal(generator.get_weights(), g_start):
            raise grading.Mismatch("your step never changed the generator's weights.")
        for who, mine, want in (
            ("discriminator", discriminator, d_ref),
            ("generator", generator, g_ref),
        ):
            if not _weights_equal(mine.get_weights(), want.get_weights()):
                raise grading.Mismatch(
                    f"after three steps the {who}'s weights differ from three library steps from "
                    "the same start with the same noise. Does each update move only its own "
                    "network, and does the generator's update use fresh fakes from z_g?"
                )
