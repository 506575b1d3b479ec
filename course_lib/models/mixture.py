"""The smallest generative models (chapter 00): a Gaussian mixture, trained with ``fit``.

:class:`GaussianMixture` learns ``n_components`` Gaussians and how often to pick each.
Each Gaussian has a mean, a per-dimension noise scale and ``rank`` learned directions
along which it may stretch (covariance ``W Wᵀ + diag(ψ)``: a *mixture of factor
analysers*). With ``rank=1`` on 2-D points this is as flexible as full covariances; on
784 Fashion-MNIST pixels a small rank keeps it cheap while still capturing how pixels
vary together. It trains by minimising the negative log-likelihood of the data with
mini-batch gradient descent, so epochs and batches work as for every later model.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from course_lib.conventions import as_int, as_number, as_positive_int, as_seed
from course_lib.models.base import CourseModel, split_batch

LOG_2PI = math.log(2.0 * math.pi)


def diag_gaussian_log_prob(x, mean, std):
    """log N(x; mean, diag(std²)), summed over the last axis. Works on NumPy or tensors."""
    x, mean, std = (tf.convert_to_tensor(v, tf.float32) for v in (x, mean, std))
    z = (x - mean) / std
    return -0.5 * tf.reduce_sum(z * z + 2.0 * tf.math.log(std) + LOG_2PI, axis=-1)


class GaussianMixture(CourseModel):
    """A mixture of Gaussians with low-rank-plus-diagonal covariances, trained by ``fit``.

    Call :meth:`initialize` with some data first (means start at random data points),
    ``compile`` with an optimizer, then ``fit(x)``: the loss is the mean negative
    log-likelihood per example, in nats.

    Args:
        n_components: how many Gaussians.
        rank: learned stretch directions per Gaussian (0 gives diagonal covariances).
        min_std: floor on each dimension's noise scale, which keeps the likelihood finite
            where the data never varies (the always-black corners of an image).
    """

    def __init__(self, n_components: int = 10, rank: int = 1, min_std: float = 0.01, **kwargs):
        super().__init__(("loss",), **kwargs)
        self.n_components = as_positive_int(n_components, "n_components")
        self.rank = as_int(rank, "rank", minimum=0)
        self.min_std = as_number(min_std, "min_std", low=0.0, low_open=True)
        self.dim = None

    # -- parameters -------------------------------------------------------------------
    def build(self, input_shape):
        dim = int(np.prod(input_shape[1:]))
        self.dim = dim
        k, q = self.n_components, self.rank
        self.logits = self.add_weight(shape=(k,), initializer="zeros", name="logits")
        self.means = self.add_weight(shape=(k, dim), initializer="zeros", name="means")
        self.raw_std = self.add_weight(shape=(k, dim), initializer="ones", name="raw_std")
        self.factors = self.add_weight(
            shape=(k, dim, q),
            initializer=keras.initializers.RandomNormal(stddev=0.01),
            trainable=q > 0,
            name="factors",
        )
        self.built = True

    def initialize(self, x, seed: int = 0, kmeans_steps: int = 10):
        """Set starting values from data ``x``: a few k-means steps place the means.

        Starting the Gaussians at k-means centres (instead of at random examples) keeps
        rare kinds of example from being left without a Gaussian of their own.
        """
        x = self._flat(x)
        if len(x) < self.n_components:
            raise ValueError(
                f"initialize needs at least n_components={self.n_components} examples; got {len(x)}"
            )
        if not self.built:
            self.build((None, x.shape[1]))
        rng = np.random.default_rng(seed)
        centres = x[rng.choice(len(x), size=self.n_components, replace=False)]
        sample = x[rng.choice(len(x), size=min(len(x), 10000), replace=False)]
        counts = np.ones(self.n_components)
        for _ in range(kmeans_steps):
            dist = (sample**2).sum(1)[:, None] - 2 * sample @ centres.T + (centres**2).sum(1)
            nearest = dist.argmin(1)
            counts = np.bincount(nearest, minlength=self.n_components).astype(float)
            for k in np.flatnonzero(counts):
                centres[k] = sample[nearest == k].mean(0)
        std = np.maximum(x.std(axis=0), 2 * self.min_std)
        self.means.assign(centres)
        self.logits.assign(np.log(np.maximum(counts, 1.0) / max(counts.sum(), 1.0)))
        self.raw_std.assign(np.tile(np.log(np.expm1(std - self.min_std)), (self.n_components, 1)))
        scale = 0.5 * float(std.mean()) / math.sqrt(max(self.rank, 1))
        self.factors.assign(rng.normal(0, scale, size=(self.n_components, self.dim, self.rank)))
        return self

    def _flat(self, x) -> np.ndarray:
        if isinstance(x, (str, bytes)) or x is None:
            raise TypeError(f"x must be an array of examples (n, features...); got {x!r}")
        arr = np.asarray(x.numpy() if hasattr(x, "numpy") else x)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"x must be numbers, shape (n, features...); got dtype {arr.dtype}")
        if arr.ndim < 2 or len(arr) == 0:
            raise ValueError(f"x must have shape (n, features...) with n >= 1; got {arr.shape}")
        arr = arr.astype(np.float32).reshape(len(arr), -1)
        if not np.all(np.isfinite(arr)):
            raise ValueError("x contains NaN or infinity")
        if self.dim is not None and arr.shape[1] != self.dim:
            raise ValueError(
                f"x has {arr.shape[1]} values per example; this model was built for {self.dim}"
            )
        return arr

    @property
    def stds(self):
        """Per-dimension noise scale of each component, shape (k, d)."""
        return self.min_std + tf.nn.softplus(self.raw_std)

    @property
    def weights_(self):
        """How often each component is picked (sums to 1)."""
        return tf.nn.softmax(self.logits)

    # -- likelihood ---------------------------------------------------------------------
    def component_log_prob(self, x):
        """log p(x | component k) for every k: shape (batch, k)."""
        x = tf.reshape(tf.cast(x, tf.float32), (-1, 1, self.dim))
        diff = x - self.means  # (b, k, d)
        var = tf.square(self.stds)  # (k, d)
        quad = tf.reduce_sum(diff * diff / var, axis=-1)
        logdet = tf.reduce_sum(tf.math.log(var), axis=-1)
        if self.rank:
            # Woodbury identity: only a (rank x rank) matrix per component is inverted.
            w_scaled = self.factors / var[..., None]  # Ψ⁻¹W, (k, d, q)
            inner = tf.eye(self.rank) + tf.einsum("kdq,kdr->kqr", self.factors, w_scaled)
            chol = tf.linalg.cholesky(inner)
            u = tf.einsum("bkd,kdq->kbq", diff, w_scaled)
            solved = tf.linalg.triangular_solve(chol, tf.transpose(u, (0, 2, 1)), lower=True)
            quad -= tf.transpose(tf.reduce_sum(solved * solved, axis=1))
            logdet += 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)), axis=-1)
        return -0.5 * (quad + logdet + self.dim * LOG_2PI)

    def log_prob(self, x):
        """log p(x) = log Σ_k weight_k · p(x | k): one number per example, in nats.

        Each Gaussian scores ``x`` (:meth:`component_log_prob`); the mixture adds the
        scores up, each times its weight. In logs, "times the weight" becomes "plus the
        log of the weight", and the sum becomes ``reduce_logsumexp``: log(e^a + e^b + ...)
        computed without forming e^a itself, which in many dimensions is often too small
        or too large for a computer to store.
        """
        log_weights = tf.nn.log_softmax(self.logits)  # log of how often each one is picked
        log_each = self.component_log_prob(x) + log_weights  # log(weight_k · p(x | k))
        return tf.reduce_logsumexp(log_each, axis=-1)  # log of the sum over the Gaussians

    def call(self, x):
        return self.log_prob(x)

    def train_step(self, data):
        x, _ = split_batch(data)
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(self.log_prob(x))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
        return self.record(loss=loss)

    def test_step(self, data):
        x, _ = split_batch(data)
        return self.record(loss=-tf.reduce_mean(self.log_prob(x)))

    # -- what the model base asks of a family ------------------------------------------------
    def check_data(self, x, y=None):
        """Examples as numbers (n, features...); no labels (the mixture is unconditional)."""
        if y is not None:
            raise ValueError("GaussianMixture learns from examples alone: pass no y")
        arr = self._flat(x)
        return arr.reshape(np.shape(x)) if hasattr(x, "shape") else arr, None

    def build_networks(self):
        """The parameters' sizes come from the data: ``initialize`` (or Keras) makes them."""

    def build_for_resume(self, sample=None):
        if not self.built:
            self.build((None, self._flat(sample).shape[1]))
        super().build_for_resume(sample)

    # -- sampling -----------------------------------------------------------------------
    def sample(
        self, n: int, *, seed: int | None = None, labels=None, noise: bool = True, components=None
    ) -> np.ndarray:
        """Draw ``n`` new examples, shape (n, d).

        Checks its inputs, then follows the recipe of :meth:`_draw`: pick a component,
        move along its learned directions by a random amount, then (if ``noise``) add its
        per-dimension noise. ``components`` forces which component each sample comes from.
        """
        if not self.built:
            raise RuntimeError("the model has no parameters yet: call initialize(x) first")
        if labels is not None:
            raise ValueError("the mixture is unconditional: it takes no labels")
        n = as_positive_int(n, "n")
        rng = np.random.default_rng(as_seed(seed))
        if components is not None:
            components = np.asarray(components)
            if (
                components.shape != (n,)
                or not np.issubdtype(components.dtype, np.integer)
                or components.min() < 0
                or components.max() >= self.n_components
            ):
                raise ValueError(f"components must be {n} ints in 0..{self.n_components - 1}")
        return self._draw(n, rng, noise=noise, components=components)

    def _draw(self, n, rng, noise=True, components=None):
        """The sampling recipe itself, with no input checks (:meth:`sample` checks them)."""
        if components is None:  # 1. pick a Gaussian for every new point, by its weight
            components = rng.choice(self.n_components, size=n, p=self.weights_.numpy())
        centres = self.means.numpy()[components]  # (n, d)
        directions = self.factors.numpy()[components]  # (n, d, rank)
        # 2. move away from the centre along each learned direction, by a random amount
        amounts = rng.standard_normal((n, self.rank))  # (n, rank)
        points = centres + np.sum(directions * amounts[:, None, :], axis=-1)
        if noise:  # 3. give every dimension its own small random jitter
            points += self.stds.numpy()[components] * rng.standard_normal(points.shape)
        return points.astype(np.float32)
