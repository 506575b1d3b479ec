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

LOG_2PI = math.log(2.0 * math.pi)


def diag_gaussian_log_prob(x, mean, std):
    """log N(x; mean, diag(std²)), summed over the last axis. Works on NumPy or tensors."""
    x, mean, std = (tf.convert_to_tensor(v, tf.float32) for v in (x, mean, std))
    z = (x - mean) / std
    return -0.5 * tf.reduce_sum(z * z + 2.0 * tf.math.log(std) + LOG_2PI, axis=-1)


def sample_mixture(weights, means, stds, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` points from a mixture of diagonal Gaussians (NumPy, for teaching).

    First pick a component for each point with probabilities ``weights``, then draw
    from that component's Gaussian. ``means`` and ``stds`` have shape (k, d).
    """
    weights = np.asarray(weights, dtype=float)
    means, stds = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)
    if weights.ndim != 1 or np.any(weights < 0) or not np.isclose(weights.sum(), 1.0):
        raise ValueError("weights must be a 1-D array of non-negative numbers summing to 1")
    if means.shape != stds.shape or means.ndim != 2 or len(means) != len(weights):
        raise ValueError(
            f"means and stds must both have shape (k, d) with k={len(weights)}; got "
            f"{means.shape} and {stds.shape}"
        )
    picks = rng.choice(len(weights), size=n, p=weights)
    return means[picks] + stds[picks] * rng.standard_normal((n, means.shape[1]))


class GaussianMixture(keras.Model):
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
        super().__init__(**kwargs)
        if not isinstance(n_components, int) or isinstance(n_components, bool) or n_components < 1:
            raise ValueError(f"n_components must be a positive int; got {n_components!r}")
        if not isinstance(rank, int) or isinstance(rank, bool) or rank < 0:
            raise ValueError(f"rank must be a non-negative int; got {rank!r}")
        if not min_std > 0:
            raise ValueError(f"min_std must be positive; got {min_std!r}")
        self.n_components, self.rank, self.min_std = n_components, rank, float(min_std)
        self.dim = None
        self.loss_tracker = keras.metrics.Mean(name="loss")

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
        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim < 2:
            raise ValueError(f"x must have shape (n, features...); got {arr.shape}")
        arr = arr.reshape(len(arr), -1)
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
        """log p(x) under the whole mixture, one number per example (nats)."""
        log_w = tf.nn.log_softmax(self.logits)
        return tf.reduce_logsumexp(self.component_log_prob(x) + log_w, axis=-1)

    def call(self, x):
        return self.log_prob(x)

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(self.log_prob(x))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        self.loss_tracker.update_state(-tf.reduce_mean(self.log_prob(x)))
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]

    # -- sampling -----------------------------------------------------------------------
    def sample(
        self, n: int, *, noise: bool = True, seed: int | None = None, components=None
    ) -> np.ndarray:
        """Draw ``n`` new examples, shape (n, d).

        Pick a component, move along its learned directions by a random amount, then (if
        ``noise``) add its per-dimension noise. ``components`` forces which component
        each sample comes from.
        """
        if not self.built:
            raise RuntimeError("the model has no parameters yet: call initialize(x) first")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int; got {n!r}")
        rng = np.random.default_rng(seed)
        if components is None:
            components = rng.choice(self.n_components, size=n, p=self.weights_.numpy())
        components = np.asarray(components)
        if (
            components.shape != (n,)
            or not np.issubdtype(components.dtype, np.integer)
            or components.min() < 0
            or components.max() >= self.n_components
        ):
            raise ValueError(f"components must be {n} ints in 0..{self.n_components - 1}")
        means = self.means.numpy()[components]
        out = means + np.einsum(
            "ndq,nq->nd", self.factors.numpy()[components], rng.standard_normal((n, self.rank))
        )
        if noise:
            out += self.stds.numpy()[components] * rng.standard_normal(out.shape)
        return out.astype(np.float32)
