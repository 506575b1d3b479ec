"""Variational autoencoders (chapter 02): VAE, beta-VAE, beta-TCVAE and conditional VAE.

A VAE is a pair of networks. The **encoder** squeezes an image into a short list of
numbers, the *latent code*; more exactly it gives, for each image, a small Gaussian
cloud of codes (a ``mean`` and a ``log_var`` per latent dimension). The **decoder**
grows an image back from a code. Training minimises, per image,

    reconstruction loss (how badly the decoder redraws the image)
    + beta * KL( encoder's Gaussian || standard normal )

The first term makes codes informative; the second keeps every image's cloud close to a
standard normal, so that *any* code drawn from N(0, I) decodes to a plausible image.
``beta=1`` is the plain VAE; larger
``beta`` gives the beta-VAE, which trades sharpness for more independent latent factors.

With ``beta=1`` the loss is the negative evidence lower bound (ELBO) only for black-or-white
(binary) pixels: cross-entropy is then a true log-likelihood. Fashion-MNIST's grey pixels
scored with cross-entropy give a number that is not a log-likelihood (a perfect copy of a
grey image does not cost 0), so read it as a training loss, not as a bound.

:class:`BetaTCVAE` penalises only the part of the KL that measures dependence between
latent dimensions, the *total correlation*, with
a minibatch estimate from Chen et al. (2018), "Isolating Sources of Disentanglement in VAEs".

:class:`ConditionalVAE` gives both networks the class label as well, and trains with
``fit(images, labels)``.

Pieces that the exercises check against: :func:`reparameterize`, :func:`kl_divergence`,
:func:`reconstruction_loss`, :func:`vae_loss`; for anomaly detection :func:`roc_auc`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_lib import conventions as cv
from course_lib.models.base import CourseModel, split_batch

# shared with the GANs (latent.py); notebooks also find it here
from course_lib.models.latent import interpolate as interpolate

LOG_2PI = math.log(2.0 * math.pi)

# -- the loss, piece by piece ---------------------------------------------------------------


def _as_float_tensor(value, name: str):
    """``value`` as a float32 tensor; NumPy input is also checked for NaN and infinity."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of numbers; got {type(value).__name__}")
    if not (tf.is_tensor(value) or isinstance(value, (tf.Variable, keras.Variable))):
        arr = np.asarray(value)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)):
            raise TypeError(f"{name} must be an array of numbers; got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinity")
        value = arr
    return tf.cast(value, tf.float32)


def _check_mean_log_var(mean, log_var):
    mean, log_var = _as_float_tensor(mean, "mean"), _as_float_tensor(log_var, "log_var")
    if mean.shape.rank == 0:
        raise ValueError("mean must have at least one axis (latent dimensions last)")
    if not mean.shape.is_compatible_with(log_var.shape):
        raise ValueError(
            f"mean and log_var must have the same shape; got {tuple(mean.shape)} and "
            f"{tuple(log_var.shape)}"
        )
    return mean, log_var


def reparameterize(mean, log_var, *, noise=None, seed=None):
    """Draw ``z ~ N(mean, exp(log_var))`` as ``mean + exp(log_var / 2) * noise``.

    The *reparameterisation trick*: the randomness sits in ``noise ~ N(0, I)``, which does
    not depend on the network, so gradients flow through ``mean`` and ``log_var``.

    Args:
        mean, log_var: arrays of the same shape, e.g. (batch, latent_dim).
        noise: the standard-normal draw to use (same shape); drawn fresh when None.
        seed: an int or a ``keras.random.SeedGenerator`` for the fresh draw.
    """
    mean, log_var = _check_mean_log_var(mean, log_var)
    if noise is None:
        noise = keras.random.normal(tf.shape(mean), seed=seed)
    else:
        noise = _as_float_tensor(noise, "noise")
        if not noise.shape.is_compatible_with(mean.shape):
            raise ValueError(
                f"noise must have the shape of mean {tuple(mean.shape)}; got {tuple(noise.shape)}"
            )
    return mean + tf.exp(0.5 * log_var) * noise


def kl_divergence(mean, log_var):
    """KL( N(mean, exp(log_var)) || N(0, I) ), summed over the last (latent) axis.

    The closed form for diagonal Gaussians: ``0.5 * sum(exp(log_var) + mean² - 1 - log_var)``.
    Returns one number per row: shape ``mean.shape[:-1]``.
    """
    mean, log_var = _check_mean_log_var(mean, log_var)
    return 0.5 * tf.reduce_sum(tf.exp(log_var) + tf.square(mean) - 1.0 - log_var, axis=-1)


def reconstruction_loss(x, decoded, *, from_logits: bool = False):
    """Binary cross-entropy between images ``x`` (in [0, 1]) and the decoder's output.

    A negative log-likelihood (and so part of the ELBO) only when ``x`` is binary; for
    grey pixels even a perfect reconstruction has a loss above 0.

    Summed over the pixels of each image: one number per image (nats). ``decoded`` holds
    pixel probabilities, or logits when ``from_logits=True`` (more exact; the models use
    that).
    """
    x, decoded = _as_float_tensor(x, "x"), _as_float_tensor(decoded, "decoded")
    if x.shape.rank is not None and x.shape.rank < 2:
        raise ValueError(f"x must be a batch of images (n, ...); got shape {tuple(x.shape)}")
    if not x.shape.is_compatible_with(decoded.shape):
        raise ValueError(
            f"x and decoded must have the same shape; got {tuple(x.shape)} and "
            f"{tuple(decoded.shape)}"
        )
    if from_logits:
        per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=decoded)
    else:
        p = tf.clip_by_value(decoded, 1e-7, 1.0 - 1e-7)
        per_pixel = -(x * tf.math.log(p) + (1.0 - x) * tf.math.log(1.0 - p))
    return tf.reduce_sum(tf.reshape(per_pixel, (tf.shape(x)[0], -1)), axis=1)


class VAELoss(NamedTuple):
    """The three numbers a VAE tracks, each a batch mean: ``total = rec + beta * kl``."""

    total: tf.Tensor
    reconstruction: tf.Tensor
    kl: tf.Tensor


def vae_loss(x, decoded, mean, log_var, beta: float = 1.0, *, from_logits: bool = False):
    """The (beta-)VAE loss of a batch: mean over images of ``reconstruction + beta * KL``.

    ``beta=1`` is the plain VAE (the negative evidence lower bound); ``beta > 1`` the
    beta-VAE. Returns a :class:`VAELoss` (total, reconstruction, kl), each a batch mean.
    """
    beta = cv.as_number(beta, "beta", low=0.0)
    rec = tf.reduce_mean(reconstruction_loss(x, decoded, from_logits=from_logits))
    kl = tf.reduce_mean(kl_divergence(mean, log_var))
    return VAELoss(rec + beta * kl, rec, kl)


def gaussian_log_density(z, mean, log_var):
    """log N(z; mean, exp(log_var)) per dimension (no sum): same shape as the broadcast."""
    return -0.5 * (LOG_2PI + log_var + tf.square(z - mean) * tf.exp(-log_var))


def total_correlation(z, mean, log_var, dataset_size: int):
    """Minibatch estimate of the total correlation (TC) of the aggregate posterior q(z).

    TC = E[log q(z) - sum_d log q(z_d)], where q(z) is the average over all N training
    images of q(z | x). It is zero when the latent dimensions are independent under q(z).
    Following Chen et al. (2018), "Isolating Sources of Disentanglement in VAEs", each
    code ``z[i]`` is scored under every image's Gaussian in the batch of M, with weights
    that sum to one: the image that produced ``z[i]`` counts 1/N, the other M - 1 images
    stand in for the rest of the data set and share (N - 1)/N. The same weights give the
    one-dimensional marginals q(z_d).

    Args:
        z: codes drawn from the encoder, (M, D); mean, log_var: the encoder's output, (M, D).
        dataset_size: N, the number of training images.
    """
    if isinstance(dataset_size, bool) or not isinstance(dataset_size, int) or dataset_size < 1:
        raise ValueError(f"dataset_size must be a positive int; got {dataset_size!r}")
    mean, log_var = _check_mean_log_var(mean, log_var)
    z = _as_float_tensor(z, "z")
    if mean.shape.rank != 2 or not z.shape.is_compatible_with(mean.shape):
        raise ValueError(
            f"z, mean and log_var must all have shape (batch, latent_dim); got "
            f"{tuple(z.shape)}, {tuple(mean.shape)}"
        )
    # log q(z_i | x_j) for every pair (i, j) and dimension d: shape (M, M, D).
    log_q = gaussian_log_density(z[:, None, :], mean[None, :, :], log_var[None, :, :])
    m = tf.cast(tf.shape(z)[0], tf.float32)
    n = float(dataset_size)
    others = tf.math.log((n - 1.0) / n) - tf.math.log(tf.maximum(m - 1.0, 1.0))
    log_w = tf.linalg.set_diag(
        tf.fill(tf.shape(log_q)[:2], others), tf.fill(tf.shape(z)[:1], -math.log(n))
    )
    log_q_z = tf.reduce_logsumexp(log_w + tf.reduce_sum(log_q, axis=2), axis=1)
    log_marginals = tf.reduce_logsumexp(log_w[:, :, None] + log_q, axis=1)
    return tf.reduce_mean(log_q_z - tf.reduce_sum(log_marginals, axis=1))


# -- the networks ---------------------------------------------------------------------------


def build_encoder(latent_dim: int, filters: int = 32, num_classes: int = 0, hidden: int = 128):
    """Image (28, 28, 1) -> (mean, log_var), each (latent_dim,). Lean: two 4x4 stride-2 convs.

    With ``num_classes > 0`` the encoder also takes a one-hot label, joined to the image's
    features before the dense layer.
    """
    image = keras.Input(cv.IMAGE_SHAPE, name="image")
    x = layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu")(image)
    x = layers.Conv2D(2 * filters, 4, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    inputs = [image]
    if num_classes:
        label = keras.Input((num_classes,), name="label_one_hot")
        inputs.append(label)
        x = layers.Concatenate()([x, label])
    x = layers.Dense(hidden, activation="relu")(x)
    mean = layers.Dense(latent_dim, name="mean")(x)
    log_var = layers.Dense(latent_dim, name="log_var")(x)
    return keras.Model(inputs if num_classes else image, [mean, log_var], name="encoder")


def build_decoder(latent_dim: int, filters: int = 32, num_classes: int = 0, hidden: int = 128):
    """Code (latent_dim,) -> pixel *logits* (28, 28, 1); mirror image of the encoder.

    With ``num_classes > 0`` the decoder also takes a one-hot label, joined to the code.
    """
    code = keras.Input((latent_dim,), name="code")
    x, inputs = code, [code]
    if num_classes:
        label = keras.Input((num_classes,), name="label_one_hot")
        inputs.append(label)
        x = layers.Concatenate()([x, label])
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dense(7 * 7 * 2 * filters, activation="relu")(x)
    x = layers.Reshape((7, 7, 2 * filters))(x)
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu")(x)
    logits = layers.Conv2DTranspose(1, 4, strides=2, padding="same", name="logits")(x)
    return keras.Model(inputs if num_classes else code, logits, name="decoder")


# -- input checks for the public methods ------------------------------------------------------


def check_images(images, name: str = "images") -> np.ndarray:
    """Fashion-MNIST-shaped images in [0, 1] as float32 (n, 28, 28, 1); clear error if not."""
    return cv.as_images(images, name=name, value_range=(0, 1))


# -- the models ----------------------------------------------------------------------------


class VAE(CourseModel):
    """A convolutional VAE for 28x28 grey images in [0, 1]; ``beta`` > 1 makes a beta-VAE.

    Train with ``compile(optimizer=...)`` and ``fit(images)``. ``fit`` reports three
    numbers: ``loss`` (the total), ``reconstruction_loss`` and ``kl_loss`` (batch means,
    in nats per image; ``loss = reconstruction_loss + beta * kl_loss``).

    Args:
        latent_dim: length of the code.
        beta: weight of the KL term (1: plain VAE).
        filters: width of the first conv layer (the second has twice as many).
        seed: seed of the noise in the reparameterisation trick.
    """

    num_classes = 0

    def __init__(
        self, latent_dim: int = 16, *, beta: float = 1.0, filters: int = 32, seed=None, **kwargs
    ):
        super().__init__(("loss", "reconstruction_loss", "kl_loss"), **kwargs)
        self.latent_dim = cv.as_positive_int(latent_dim, "latent_dim")
        self.beta = cv.as_number(beta, "beta", low=0.0)
        self.filters = cv.as_positive_int(filters, "filters")
        self.encoder = build_encoder(self.latent_dim, self.filters, self.num_classes)
        self.decoder = build_decoder(self.latent_dim, self.filters, self.num_classes)
        self.seed_generator = keras.random.SeedGenerator(cv.as_seed(seed))
        self.built = True  # the two networks are complete functional models already

    # -- what training computes --------------------------------------------------------
    def images_and_condition(self, data):
        """Images (and one-hot labels for the conditional model) from what fit passes."""
        x, _ = split_batch(data)
        return tf.cast(x, tf.float32), None

    def _encode(self, x, cond):
        return self.encoder(x if cond is None else [x, cond])

    def _decode(self, z, cond):
        return self.decoder(z if cond is None else [z, cond])

    def loss_terms(self, x, cond=None, training: bool = False, noise=None) -> dict:
        """Encode, draw a code with the reparameterisation trick, decode, and score.

        ``noise`` fixes the standard-normal draw (for tests); by default it is fresh.
        """
        mean, log_var = self._encode(x, cond)
        z = reparameterize(mean, log_var, noise=noise, seed=self.seed_generator)
        logits = self._decode(z, cond)
        total, rec, kl = vae_loss(x, logits, mean, log_var, self.beta, from_logits=True)
        return {"loss": total, "reconstruction_loss": rec, "kl_loss": kl}

    def train_step(self, data):
        x, cond = self.images_and_condition(data)
        with tf.GradientTape() as tape:
            terms = self.loss_terms(x, cond, training=True)
        grads = tape.gradient(terms["loss"], self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
        return self.record(**terms)

    def test_step(self, data):
        x, cond = self.images_and_condition(data)
        return self.record(**self.loss_terms(x, cond))

    def call(self, x, training=False):
        """Reconstruct ``x`` (pixel probabilities), decoding a code drawn from the encoder."""
        mean, log_var = self.encoder(x)
        return tf.sigmoid(self.decoder(reparameterize(mean, log_var, seed=self.seed_generator)))

    def check_data(self, x, y=None):
        """Images in [0, 1]; no labels (the conditional VAE takes them)."""
        if y is not None:
            raise ValueError(f"{type(self).__name__} learns from images alone: pass no y")
        return check_images(x, "x"), None

    # -- what a notebook calls -----------------------------------------------------------
    def encode(self, images, batch_size: int = 1000):
        """The encoder's ``(mean, log_var)`` for each image, as NumPy arrays (n, latent_dim)."""
        x = check_images(images)
        outputs = [self.encoder(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return tuple(np.concatenate([np.asarray(o[k]) for o in outputs]) for k in (0, 1))

    def decode(self, z, batch_size: int = 1000) -> np.ndarray:
        """Images (n, 28, 28, 1) with pixels in [0, 1] for codes ``z`` (n, latent_dim)."""
        z = cv.as_codes(z, self.latent_dim)
        parts = [self.decoder(z[i : i + batch_size]) for i in range(0, len(z), batch_size)]
        return np.asarray(tf.sigmoid(tf.concat(parts, 0)))

    def reconstruct(self, images) -> np.ndarray:
        """Encode and decode each image, using the mean code (no sampling noise)."""
        return self.decode(self.encode(images)[0])

    def sample(self, n: int, *, seed=None, labels=None) -> np.ndarray:
        """``n`` new images: codes drawn from the prior N(0, I), then decoded."""
        if labels is not None:
            raise ValueError("this VAE is unconditional: it takes no labels")
        return self.decode(self._prior_codes(n, seed))

    def _prior_codes(self, n, seed) -> np.ndarray:
        n = cv.as_positive_int(n, "n")
        return np.random.default_rng(cv.as_seed(seed)).standard_normal((n, self.latent_dim))

    def reconstruction_error(self, images) -> np.ndarray:
        """Per-image reconstruction loss (nats) from the mean code: the anomaly score."""
        x = check_images(images)
        mean, _ = self.encode(x)
        logits = tf.concat([self.decoder(mean[i : i + 1000]) for i in range(0, len(mean), 1000)], 0)
        return np.asarray(reconstruction_loss(x, logits, from_logits=True))


class BetaVAE(VAE):
    """The beta-VAE: a :class:`VAE` whose KL term weighs ``beta`` (default 4) times more."""

    def __init__(self, latent_dim: int = 10, *, beta: float = 4.0, **kwargs):
        super().__init__(latent_dim, beta=beta, **kwargs)


class BetaTCVAE(VAE):
    """beta-TCVAE: the plain VAE loss plus ``(beta - 1) *`` the total correlation.

    The KL term of a VAE, averaged over the data, splits into three parts: how much the code
    says about the image (index-code mutual information), how dependent the latent
    dimensions are (the total correlation, TC) and how far each dimension is from N(0, 1).
    A beta-VAE presses on all three; beta-TCVAE presses harder only on the TC, the part
    that makes factors tangled, and leaves the code informative. With ``beta=1`` it is the
    plain VAE. ``fit`` also reports ``tc`` (the minibatch estimate, in nats).

    Args:
        dataset_size: how many training images (enters the estimate's constant).
    """

    def __init__(
        self, latent_dim: int = 10, *, beta: float = 6.0, dataset_size: int = 60000, **kwargs
    ):
        super().__init__(latent_dim, beta=beta, **kwargs)
        self.dataset_size = cv.as_positive_int(dataset_size, "dataset_size")
        self.trackers["tc"] = keras.metrics.Mean(name="tc")

    def loss_terms(self, x, cond=None, training: bool = False, noise=None) -> dict:
        mean, log_var = self._encode(x, cond)
        z = reparameterize(mean, log_var, noise=noise, seed=self.seed_generator)
        logits = self._decode(z, cond)
        _, rec, kl = vae_loss(x, logits, mean, log_var, 1.0, from_logits=True)
        tc = total_correlation(z, mean, log_var, self.dataset_size)
        total = rec + kl + (self.beta - 1.0) * tc
        return {"loss": total, "reconstruction_loss": rec, "kl_loss": kl, "tc": tc}


class ConditionalVAE(VAE):
    """A VAE whose encoder and decoder also see the class label (one-hot).

    Train with ``fit(images, labels)``: ``fit`` passes the pair to ``train_step``. The
    code no longer needs to store the class, so it keeps style (thickness, shape, shade);
    ``decode(z, labels)`` then draws that style as any class you ask for.
    """

    def __init__(self, latent_dim: int = 16, *, num_classes: int = cv.NUM_CLASSES, **kwargs):
        self.num_classes = cv.as_positive_int(num_classes, "num_classes")
        super().__init__(latent_dim, **kwargs)

    def images_and_condition(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("ConditionalVAE trains on (image, label) pairs: fit(images, labels)")
        x, labels = data[0], data[1]
        labels = tf.reshape(tf.cast(labels, tf.int32), (-1,))
        return tf.cast(x, tf.float32), tf.one_hot(labels, self.num_classes)

    def call(self, inputs, training=False):
        """Reconstruct ``(images, labels)``: pixel probabilities (n, 28, 28, 1)."""
        x, cond = self.images_and_condition(inputs)
        mean, log_var = self._encode(x, cond)
        z = reparameterize(mean, log_var, seed=self.seed_generator)
        return tf.sigmoid(self._decode(z, cond))

    def check_data(self, x, y=None):
        """Images in [0, 1] and one label per image."""
        if y is None:
            raise ValueError(
                "ConditionalVAE trains on (image, label) pairs: call fit(images, labels)"
            )
        x = check_images(x, "x")
        return x, cv.as_labels(y, self.num_classes, n=len(x))

    def _one_hot(self, labels, n):
        return np.eye(self.num_classes, dtype=np.float32)[
            cv.as_labels(labels, self.num_classes, n=n)
        ]

    def encode(self, images, labels):
        """The encoder's ``(mean, log_var)`` for images of the given classes (NumPy)."""
        x = check_images(images)
        mean, log_var = self.encoder([x, self._one_hot(labels, len(x))])
        return np.asarray(mean), np.asarray(log_var)

    def decode(self, z, labels) -> np.ndarray:
        """Images in [0, 1] for codes ``z`` (n, latent_dim), drawn as classes ``labels`` (n,)."""
        z = cv.as_codes(z, self.latent_dim)
        labels = np.broadcast_to(np.asarray(labels), (len(z),)) if np.ndim(labels) == 0 else labels
        return np.asarray(tf.sigmoid(self.decoder([z, self._one_hot(labels, len(z))])))

    def reconstruct(self, images, labels) -> np.ndarray:
        return self.decode(self.encode(images, labels)[0], labels)

    def sample(self, n: int, *, seed=None, labels=None) -> np.ndarray:
        """``n`` new images of classes ``labels`` (default: classes 0, 1, 2, ... in turn)."""
        z = self._prior_codes(n, seed)
        return self.decode(z, np.arange(len(z)) % self.num_classes if labels is None else labels)

    def reconstruction_error(self, images, labels=None) -> np.ndarray:
        raise NotImplementedError("anomaly scores are for the unconditional VAE")


# -- things to do with a trained model ------------------------------------------------------


def traversal_codes(base, dims, values) -> np.ndarray:
    """Codes for a latent traversal: one row per dimension in ``dims``, one column per value.

    Row ``r`` is ``base`` with dimension ``dims[r]`` set to each of ``values`` in turn:
    decode them to see what that one dimension controls. Shape (len(dims) * len(values), D).
    """
    base = np.asarray(base, np.float32)
    if base.ndim != 1:
        raise ValueError(f"base must be one code (latent_dim,); got shape {base.shape}")
    dims, values = list(dims), np.asarray(values, np.float32)
    if any(not 0 <= d < len(base) for d in dims):
        raise ValueError(f"dims must be in 0..{len(base) - 1}; got {dims}")
    codes = np.tile(base, (len(dims), len(values), 1))
    for row, d in enumerate(dims):
        codes[row, :, d] = values
    return codes.reshape(-1, len(base))


def latent_grid(n: int = 15, span: float = 2.5) -> np.ndarray:
    """An n x n grid of 2-D codes from -span to span, row by row, top row = highest z[1]."""
    n = cv.as_positive_int(n, "n")
    axis = np.linspace(-span, span, n, dtype=np.float32)
    z1, z0 = np.meshgrid(axis[::-1], axis, indexing="ij")
    return np.stack([z0.ravel(), z1.ravel()], axis=1)


def roc_auc(normal_scores, anomaly_scores) -> float:
    """Area under the ROC curve: the chance that a random anomaly scores above a random normal.

    1.0 separates perfectly, 0.5 is guessing. Ties count one half. NumPy only (it is the
    Mann-Whitney U statistic, computed from ranks).
    """
    normal = cv.as_scores(normal_scores, "normal_scores")
    anomaly = cv.as_scores(anomaly_scores, "anomaly_scores")
    scores = np.concatenate([normal, anomaly])
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # rank of each distinct value (1-based), averaged over ties
    mid_ranks = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = mid_ranks[inverse]
    n_a, n_n = anomaly.size, normal.size
    return float((ranks[n_n:].sum() - n_a * (n_a + 1) / 2.0) / (n_a * n_n))
