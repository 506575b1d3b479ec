"""Diffusion models (chapter 03): noise schedules, DDPM training, DDPM and DDIM samplers,
class-conditional training with classifier-free guidance.

Conventions used everywhere in this module:

* images live in [-1, 1] with shape (n, 28, 28, 1);
* timesteps are integers ``t = 0 .. T-1``; ``t = 0`` is the *first* noising step, so
  ``x_0`` is the clean image and ``q(x_t | x_0)`` at ``t = 0`` adds only a whisper of
  noise (``abar_0 = 1 - beta_0``);
* ``abar_{-1} = 1`` (no noise before the first step), which makes the posterior
  variance at ``t = 0`` exactly zero: the last sampling step adds no noise.

The pieces, in the order the chapter teaches them:

* :class:`NoiseSchedule` (:func:`make_schedule`: ``"linear"`` or ``"cosine"``);
* :func:`q_sample`, the forward process ``x_t = sqrt(abar_t) x_0 + sqrt(1-abar_t) eps``;
* :func:`posterior_mean_variance`, the true reverse step ``q(x_{t-1} | x_t, x_0)``;
* :func:`build_unet`, a small U-Net (28 -> 14 -> 7) told the timestep (and the class);
* :class:`DiffusionModel`, a ``keras.Model`` whose ``train_step`` teaches the U-Net to
  predict the noise (DDPM) or the velocity v (with optional Min-SNR loss weights), and
  whose samplers (:meth:`DiffusionModel.sample_ddpm`,
  :meth:`DiffusionModel.sample_ddim`) run one compiled ``tf.function`` per step;
* :func:`ddim_step` and :func:`guided_noise`, the one-line updates of DDIM and of
  classifier-free guidance, as plain functions the exercises check against;
  :func:`paste_known`, inpainting's step (chapter 05);
* :func:`ddim_timesteps` (which steps DDIM visits) and :func:`multistep_weights` (the
  second-order DDIM update, DPM-Solver++(2M), reuses the previous clean-image guess).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from course_lib.conventions import (
    IMAGE_SHAPE,
    as_images,
    as_int,
    as_labels,
    as_number,
    as_positive_int,
    check_not_unit_range,
)
from course_lib.models.base import CourseModel, split_batch

# the U-Net is shared (unet.py); notebooks also find its pieces here
from course_lib.models.unet import TimestepEmbedding as TimestepEmbedding
from course_lib.models.unet import build_unet
from course_lib.models.unet import res_block as res_block

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("eps", "v")
LOSS_WEIGHTINGS = ("none", "min_snr")


# -- noise schedules -----------------------------------------------------------------------


@dataclass(frozen=True)
class NoiseSchedule:
    """Every per-timestep constant of a diffusion process, as float64 NumPy arrays.

    ``betas[t]`` is the noise variance added at step t; ``alphas = 1 - betas``;
    ``alpha_bars[t]`` (abar_t) is the product of alphas up to and including t, the share
    of the clean image's *variance* left at step t; ``alpha_bars_prev[t]`` is
    ``abar_{t-1}`` (1 at t = 0); ``posterior_variance[t]`` is
    ``beta_t (1 - abar_{t-1}) / (1 - abar_t)``.
    """

    kind: str
    betas: np.ndarray

    @property
    def timesteps(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> np.ndarray:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> np.ndarray:
        return np.cumprod(self.alphas)

    @property
    def alpha_bars_prev(self) -> np.ndarray:
        return np.concatenate([[1.0], self.alpha_bars[:-1]])

    @property
    def posterior_variance(self) -> np.ndarray:
        abar, abar_prev = self.alpha_bars, self.alpha_bars_prev
        return self.betas * (1.0 - abar_prev) / (1.0 - abar)


def linear_betas(
    timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02, max_beta: float = 0.999
) -> np.ndarray:
    """DDPM's schedule: betas rising in a straight line (scaled for ``timesteps`` steps).

    The original 1e-4 .. 0.02 is for 1,000 steps; with fewer steps each one must add more
    noise, so both ends are multiplied by ``1000 / timesteps`` (as in improved DDPM),
    and the last is capped at ``max_beta`` so every beta stays below 1.
    """
    _check_timesteps(timesteps)
    scale = 1000.0 / timesteps
    end = min(beta_end * scale, max_beta)
    return np.linspace(min(beta_start * scale, end / 2), end, timesteps, dtype=np.float64)


def cosine_betas(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Improved DDPM's schedule: abar_t follows a squared cosine from 1 down to 0.

    Noise arrives more gently at the start than with the linear schedule, so fewer steps
    are wasted on images that are already pure noise. Betas are capped at ``max_beta``
    so the last step does not divide by zero.
    """
    _check_timesteps(timesteps)
    steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    f = np.cos((steps + s) / (1.0 + s) * math.pi / 2.0) ** 2
    abar = f / f[0]
    return np.clip(1.0 - abar[1:] / abar[:-1], 0.0, max_beta)


def make_schedule(kind: str = "cosine", timesteps: int = 1000) -> NoiseSchedule:
    """A :class:`NoiseSchedule` of ``kind`` ``"linear"`` or ``"cosine"`` with T steps."""
    if kind not in SCHEDULES:
        raise ValueError(f"schedule kind must be one of {SCHEDULES}; got {kind!r}")
    betas = linear_betas(timesteps) if kind == "linear" else cosine_betas(timesteps)
    return NoiseSchedule(kind, betas)


def _check_timesteps(timesteps) -> None:
    if not isinstance(timesteps, (int, np.integer)) or isinstance(timesteps, bool):
        raise TypeError(f"timesteps must be an int; got {timesteps!r}")
    if not 2 <= timesteps <= 100_000:
        raise ValueError(f"timesteps must be between 2 and 100,000; got {timesteps}")


def _check_schedule(schedule) -> NoiseSchedule:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(
            f"schedule must be a NoiseSchedule (from make_schedule); got {type(schedule)}"
        )
    return schedule


def _check_t(t, schedule: NoiseSchedule, n: int | None = None) -> np.ndarray:
    """Timesteps as an int array (scalar or one per image) inside 0 .. T-1."""
    t = np.asarray(t.numpy() if hasattr(t, "numpy") else t)
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"t must be integer timesteps; got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= schedule.timesteps):
        raise ValueError(
            f"t must lie in 0 .. {schedule.timesteps - 1} (the schedule's T is "
            f"{schedule.timesteps}); got values from {t.min()} to {t.max()}"
        )
    if t.ndim > 1 or (n is not None and t.ndim == 1 and len(t) != n):
        raise ValueError(f"t must be one int or one per image ({n}); got shape {t.shape}")
    return t


def _per_image(values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Look up a schedule constant at t and shape it to broadcast over (n, h, w, c)."""
    picked = values[t]
    return picked.reshape(-1, 1, 1, 1) if picked.ndim else picked


# -- the forward process and the true reverse step ------------------------------------------


def q_sample(x0, t, noise, schedule: NoiseSchedule) -> np.ndarray:
    """Noise clean images to step t in one jump: ``sqrt(abar_t) x0 + sqrt(1-abar_t) noise``.

    ``t`` is one int or one per image; ``noise`` has the shape of ``x0``. Returns float32.
    """
    schedule = _check_schedule(schedule)
    x0 = as_images(x0, name="x0", shape=None, value_range=(-1, 1))
    noise = as_images(noise, name="noise", shape=None)
    if x0.shape != noise.shape:
        raise ValueError(f"noise must have the shape of x0 {x0.shape}; got {noise.shape}")
    t = _check_t(t, schedule, len(x0))
    abar = _per_image(schedule.alpha_bars, t)
    return (np.sqrt(abar) * x0 + np.sqrt(1.0 - abar) * noise).astype(np.float32)


def posterior_mean_variance(x0, xt, t, schedule: NoiseSchedule):
    """Mean and variance of ``q(x_{t-1} | x_t, x_0)``, the exact one-step reverse.

    mean = ``beta_t sqrt(abar_{t-1}) / (1-abar_t) * x0 + (1-abar_{t-1}) sqrt(alpha_t) /
    (1-abar_t) * xt``; variance = ``beta_t (1-abar_{t-1}) / (1-abar_t)`` (0 at t = 0).
    Returns ``(mean, variance)``: mean float32 like ``xt``, variance broadcastable to it.
    """
    schedule = _check_schedule(schedule)
    x0, xt = as_images(x0, name="x0", shape=None), as_images(xt, name="xt", shape=None)
    if x0.shape != xt.shape:
        raise ValueError(f"x0 and xt must have one shape; got {x0.shape} and {xt.shape}")
    t = _check_t(t, schedule, len(x0))
    beta = _per_image(schedule.betas, t)
    alpha = _per_image(schedule.alphas, t)
    abar = _per_image(schedule.alpha_bars, t)
    abar_prev = _per_image(schedule.alpha_bars_prev, t)
    coef_x0 = beta * np.sqrt(abar_prev) / (1.0 - abar)
    coef_xt = (1.0 - abar_prev) * np.sqrt(alpha) / (1.0 - abar)
    mean = coef_x0 * x0 + coef_xt * xt
    variance = beta * (1.0 - abar_prev) / (1.0 - abar)
    return mean.astype(np.float32), np.asarray(variance, np.float32)


def predict_x0(xt, eps, abar):
    """The clean image implied by a noise prediction: ``(x_t - sqrt(1-abar) eps) / sqrt(abar)``."""
    return (xt - np.sqrt(1.0 - abar) * eps) / np.sqrt(abar)


def ddim_step(xt, eps, abar_t, abar_prev, eta: float = 0.0, noise=None):
    """One DDIM update from x_t to the earlier step whose abar is ``abar_prev``.

    ``x0 = (x_t - sqrt(1-abar_t) eps) / sqrt(abar_t)``;
    ``sigma = eta * sqrt((1-abar_prev)/(1-abar_t)) * sqrt(1 - abar_t/abar_prev)``;
    ``x_prev = sqrt(abar_prev) x0 + sqrt(1-abar_prev-sigma²) eps + sigma * noise``.
    With ``eta = 0`` it is deterministic (``noise`` is ignored); ``eta = 1`` matches
    DDPM's posterior variance when stepping one step at a time. NumPy or scalars in.
    """
    if not 0.0 <= float(eta) <= 1.0:
        raise ValueError(f"eta must be between 0 (deterministic) and 1; got {eta!r}")
    for name, value in (("abar_t", abar_t), ("abar_prev", abar_prev)):
        value = np.asarray(value)
        if np.any(value <= 0) or np.any(value > 1):
            raise ValueError(f"{name} must lie in (0, 1]; got {value}")
    xt, eps = np.asarray(xt, np.float64), np.asarray(eps, np.float64)
    if xt.shape != eps.shape:
        raise ValueError(f"eps must have the shape of xt {xt.shape}; got {eps.shape}")
    x0 = predict_x0(xt, eps, abar_t)
    sigma = eta * np.sqrt((1.0 - abar_prev) / (1.0 - abar_t)) * np.sqrt(1.0 - abar_t / abar_prev)
    out = np.sqrt(abar_prev) * x0 + np.sqrt(np.maximum(1.0 - abar_prev - sigma**2, 0.0)) * eps
    if float(eta) > 0:
        if noise is None:
            raise ValueError("eta > 0 adds fresh noise: pass noise with the shape of xt")
        out = out + sigma * np.asarray(noise, np.float64)
    return out.astype(np.float32)


def paste_known(x, known, mask, abar, noise):
    """Inpainting's step (the RePaint idea): keep the model's pixels where ``mask`` is 1
    (missing) and put the known image, noised to the same step, everywhere else.

    ``x`` is the sample at a step whose noise level is ``abar`` (``abar = 1``: clean, the
    known pixels go in exactly); ``noise`` is fresh Gaussian noise of ``x``'s shape.
    NumPy arrays or tensors alike.
    """
    noised = abar**0.5 * known + (1.0 - abar) ** 0.5 * noise
    return mask * x + (1.0 - mask) * noised


def guided_noise(eps_cond, eps_uncond, scale: float):
    """Classifier-free guidance: ``eps_uncond + scale * (eps_cond - eps_uncond)``.

    ``scale = 0`` is the unconditional prediction, 1 the plain conditional one, and
    larger values push further in the direction the label points.
    """
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"guidance scale must be a finite number >= 0; got {scale!r}")
    return eps_uncond + scale * (eps_cond - eps_uncond)


def ddim_timesteps(timesteps: int, steps: int, spacing: float = 1.0) -> np.ndarray:
    """The timesteps DDIM visits, from the noisiest (T-1) down to 0.

    With ``spacing = 1`` they are spread evenly over 0 .. T-1. Otherwise step ``i`` of
    ``steps`` lands at ``(T-1) * (i / (steps-1)) ** spacing``: below 1 the steps crowd
    together at the noisy end, where the picture's content is decided, and the quiet
    end gets fewer. Rounding may merge neighbours, so there can be fewer than ``steps``.
    """
    _check_timesteps(timesteps)
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}")
    if steps > timesteps:
        raise ValueError(f"steps ({steps}) cannot exceed the model's T ({timesteps})")
    if not (isinstance(spacing, (int, float)) and math.isfinite(spacing) and spacing > 0):
        raise ValueError(f"spacing must be a number > 0 (1 = even steps); got {spacing!r}")
    grid = np.linspace(0, timesteps - 1, steps)
    if spacing != 1:
        grid = (timesteps - 1) * (grid / (timesteps - 1)) ** spacing
    return np.unique(np.round(grid).astype(np.int64))[::-1]


def multistep_weights(alpha_bars: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Weights ``c_i`` of the second-order DDIM update (DPM-Solver++(2M)).

    At step ``i`` the sampler moves like DDIM, but with the clean-image guess
    ``x0_i + c_i (x0_i - x0_{i-1})`` instead of ``x0_i``: it follows the trend of the
    last two guesses. With ``h_i`` the step in half log-SNR, ``log(sqrt(abar) /
    sqrt(1-abar))``, ``c_i = h_i / (2 h_{i-1})``. The first step has no previous guess
    and the last one (from ``ts[-1]`` to the clean image) no finite ``h``: both get 0,
    which is plain DDIM.
    """
    abar = np.asarray(alpha_bars, np.float64)[np.asarray(ts)]
    if abar.ndim != 1 or np.any(np.diff(abar) <= 0):
        raise ValueError("ts must be timesteps from the noisiest down (abar rising)")
    half_log_snr = 0.5 * np.log(abar / (1.0 - abar))
    h = np.diff(half_log_snr)
    weights = np.zeros(len(abar))
    weights[1:-1] = h[1:] / (2.0 * h[:-1])
    return weights


# -- the network ------------------------------------------------------------------------------


# -- the model: training and sampling -------------------------------------------------------


class DiffusionModel(CourseModel):
    """A denoising diffusion model (DDPM) that learns to undo the added noise.

    ``fit(images)`` trains it (images in [-1, 1], shape (n, 28, 28, 1)); with
    ``num_classes`` set, ``fit(images, labels)`` trains a class-conditional model that
    forgets the label with probability ``label_dropout``, so the same network also
    learns the unconditional prediction classifier-free guidance needs. With
    ``cond_channels`` set, every image comes with a conditioning image the network sees
    beside it (a low-resolution version, for super-resolution): ``fit(images, conds)``,
    or ``fit(images, (labels, conds))`` for both.

    Sampling uses an exponential moving average (EMA) of the weights, which gives
    cleaner images than the last, noisy training step. Both samplers run through
    :meth:`sampling_loop`, whose hooks inpaint (known pixels and a mask), condition on
    an image, and report every step.

    Args:
        timesteps: T, the number of noising steps.
        schedule: ``"cosine"`` or ``"linear"``.
        num_classes: None for an unconditional model, else the number of labels.
        channels: the U-Net's widths, one per level (28, 14 and 7 pixels by default).
        label_dropout: chance of training a conditional example without its label.
        ema_decay: how slowly the EMA weights follow the trained ones.
        prediction: what the network outputs. ``"eps"`` is DDPM's choice, the noise.
            ``"v"`` is the velocity ``sqrt(abar) eps - sqrt(1-abar) x0`` (progressive
            distillation): near pure noise it still says something useful about the clean
            image, where a noise guess divided by ``sqrt(abar) ~ 0`` says nothing. Either
            way the samplers turn the output into a noise and a clean-image guess.
        loss_weighting: ``"none"`` averages the squared error of the output as it is;
            ``"min_snr"`` weights each example so its clean-image error counts
            ``min(SNR_t, min_snr_gamma)`` times (Min-SNR weighting): timesteps with
            little noise, easy and already over-weighted, stop dominating the loss.
        min_snr_gamma: the cap on the signal-to-noise ratio used by ``"min_snr"``.
        image_shape: the shape of one image.
        cond_channels: channels of the conditioning image (0: none).
    """

    def __init__(
        self,
        timesteps: int = 1000,
        schedule: str = "cosine",
        num_classes: int | None = None,
        channels=(16, 32, 64),
        label_dropout: float = 0.1,
        ema_decay: float = 0.999,
        prediction: str = "eps",
        loss_weighting: str = "none",
        min_snr_gamma: float = 5.0,
        image_shape=IMAGE_SHAPE,
        cond_channels: int = 0,
        **kwargs,
    ):
        super().__init__(("loss",), **kwargs)
        if num_classes is not None:
            num_classes = as_positive_int(num_classes, "num_classes")
        label_dropout = as_number(label_dropout, "label_dropout", low=0.0, high=1.0, high_open=True)
        ema_decay = as_number(ema_decay, "ema_decay", low=0.0, high=1.0, high_open=True)
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}; got {prediction!r}")
        if loss_weighting not in LOSS_WEIGHTINGS:
            raise ValueError(
                f"loss_weighting must be one of {LOSS_WEIGHTINGS}; got {loss_weighting!r}"
            )
        self.min_snr_gamma = as_number(min_snr_gamma, "min_snr_gamma", low=0.0, low_open=True)
        self.prediction, self.loss_weighting = prediction, loss_weighting
        self.schedule = make_schedule(schedule, timesteps)
        self.schedule_kind = schedule  # a setting of the run (fit_resumable's fingerprint)
        self.timesteps, self.num_classes = timesteps, num_classes
        self.label_dropout, self.ema_decay = label_dropout, ema_decay
        self.image_shape = tuple(image_shape)
        self.cond_channels = as_int(cond_channels, "cond_channels", minimum=0)
        unet_args = dict(
            image_shape=self.image_shape, num_classes=num_classes, cond_channels=self.cond_channels
        )
        self.network = build_unet(channels, **unet_args)
        self.ema_network = build_unet(channels, **unet_args)
        self.ema_network.trainable = False
        self.ema_network.set_weights(self.network.get_weights())
        s = self.schedule
        as_const = lambda v: tf.constant(v, tf.float32)  # noqa: E731
        self._abar = as_const(s.alpha_bars)
        self._abar_prev = as_const(s.alpha_bars_prev)
        self._beta = as_const(s.betas)
        self._alpha = as_const(s.alphas)
        self._post_var = as_const(s.posterior_variance)
        self._ddpm_fn = self._ddim_fn = None
        self.built = True  # both networks are functional models, built already

    # ---- data ----

    def check_data(self, x, y=None):
        """Images in [-1, 1]; labels for a conditional model; conditioning images if any."""
        x = as_images(x, name="images", shape=self.image_shape, value_range=(-1, 1))
        check_not_unit_range(x, "images")
        if y is None and (self.num_classes is not None or self.cond_channels):
            kind = "class-conditional" if self.num_classes is not None else "image-conditioned"
            raise ValueError(f"this model is {kind}: {self.fit_signature}")
        if y is not None and self.num_classes is None and not self.cond_channels:
            raise ValueError("this model is unconditional: fit(images) takes no labels")
        labels, conds = self.labels_and_conds(y)
        if self.num_classes is not None:
            labels = as_labels(labels, self.num_classes, n=len(x))
        if self.cond_channels:
            conds = self.check_cond(conds, len(x))
        parts = [p for p in (labels, conds) if p is not None]
        return x, (None if not parts else parts[0] if len(parts) == 1 else tuple(parts))

    def check_cond(self, cond, n: int) -> np.ndarray:
        """Conditioning images: ``n`` of shape (height, width, cond_channels) in [-1, 1]."""
        if cond is None:
            raise ValueError(
                f"this model needs a conditioning image per image ({self.cond_channels} channels)"
            )
        shape = (*self.image_shape[:2], self.cond_channels)
        cond = as_images(cond, name="cond", shape=shape, value_range=(-1, 1))
        if len(cond) != n:
            raise ValueError(f"got {len(cond)} conditioning images for {n} images")
        return cond

    def build_networks(self):
        args = self._network_inputs(
            tf.zeros((1, *self.image_shape)),
            tf.zeros((1,), tf.int32),
            tf.zeros((1,), tf.int32),
            tf.zeros((1, *self.image_shape[:2], self.cond_channels)),
        )
        self.network(args)
        self.ema_network(args)
        self.built = True

    def optimizer_variables(self):
        return [(self.optimizer, self.network.trainable_variables)]

    def _network_inputs(self, x, t, labels, cond):
        inputs = [x, t]
        if self.num_classes is not None:
            inputs.append(labels)
        if self.cond_channels:
            inputs.append(cond)
        return inputs

    @property
    def fit_signature(self) -> str:
        """How to call ``fit`` for this kind of model."""
        if self.num_classes is not None and self.cond_channels:
            return "fit(images, (labels, conds))"
        if self.num_classes is not None:
            return "fit(images, labels)"
        return "fit(images, conds)" if self.cond_channels else "fit(images)"

    def labels_and_conds(self, extra):
        """``(labels, conds)`` from what comes beside the images (either may be None)."""
        if self.num_classes is not None and self.cond_channels:
            if not isinstance(extra, (tuple, list)) or len(extra) != 2:
                raise ValueError(
                    f"this model needs labels and conditioning images: {self.fit_signature}"
                )
            return extra[0], extra[1]
        if self.num_classes is not None:
            return extra, None
        return None, (extra if self.cond_channels else None)

    def _split_extra(self, extra, n):
        """Labels and conditioning images from what ``fit`` passes beside the images."""
        labels, conds = self.labels_and_conds(extra)
        if labels is not None:
            labels = tf.cast(tf.reshape(labels, (-1,)), tf.int32)
        else:
            labels = tf.zeros((n,), tf.int32)
        if conds is None:
            conds = tf.zeros((n, *self.image_shape[:2], self.cond_channels))
        return labels, tf.cast(conds, tf.float32)

    # ---- training ----

    def call(self, inputs, training=False):
        """The (trained, not EMA) network's output for ``[x_t, t(, label)(, cond)]``."""
        return self.network(inputs, training=training)

    def loss_weight(self, abar):
        """Per-image loss weights, shape (n,): all ones, or Min-SNR's."""
        abar = tf.reshape(abar, (-1,))
        if self.loss_weighting == "none":
            return tf.ones_like(abar)
        snr = abar / (1.0 - abar)
        capped = tf.minimum(snr, self.min_snr_gamma)
        # The output's squared error is SNR (eps) or SNR + 1 (v) times the clean-image
        # error, so divide that out and multiply the capped SNR in.
        return capped / snr if self.prediction == "eps" else capped / (snr + 1.0)

    def train_step(self, data):
        x0, extra = split_batch(data)
        x0 = tf.cast(x0, tf.float32)
        n = tf.shape(x0)[0]
        labels, cond = self._split_extra(extra, n)
        t = tf.random.uniform((n,), 0, self.timesteps, dtype=tf.int32)
        noise = tf.random.normal(tf.shape(x0))
        abar = tf.reshape(tf.gather(self._abar, t), (-1, 1, 1, 1))
        xt = tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * noise
        if self.num_classes is not None:  # forget the label now and then, for guidance
            drop = tf.random.uniform((n,)) < self.label_dropout
            labels = tf.where(drop, tf.fill((n,), self.num_classes), labels)
        inputs = self._network_inputs(xt, t, labels, cond)
        target = (
            noise if self.prediction == "eps" else tf.sqrt(abar) * noise - tf.sqrt(1.0 - abar) * x0
        )
        weight = self.loss_weight(abar)
        with tf.GradientTape() as tape:
            predicted = self.network(inputs, training=True)
            per_image = tf.reduce_mean(tf.square(target - predicted), axis=[1, 2, 3])
            loss = tf.reduce_mean(weight * per_image)
        grads = tape.gradient(loss, self.network.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.network.trainable_variables))
        # EMA: warm up quickly at first (decay (1+k)/(10+k)), then settle at ema_decay.
        k = tf.cast(self.optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + k) / (10.0 + k))
        for ema_w, w in zip(self.ema_network.weights, self.network.weights):
            ema_w.assign(decay * ema_w + (1.0 - decay) * w)
        return self.record(loss=loss)

    # ---- sampling: one compiled step, called from a Python loop over timesteps ----

    def network_output(self, x, t, labels, guidance, cond):
        """The EMA network's raw output, with classifier-free guidance for a conditional model.

        An unconditional model ignores ``labels`` and ``guidance``; ``cond`` (the
        conditioning image) goes to both halves of the guided pair.
        """
        n = tf.shape(x)[0]
        tt = tf.fill((n,), t)
        if self.num_classes is None:
            return self.ema_network(self._network_inputs(x, tt, labels, cond), training=False)
        null = tf.fill((n,), self.num_classes)
        both = self.ema_network(
            self._network_inputs(
                tf.concat([x, x], 0),
                tf.concat([tt, tt], 0),
                tf.concat([labels, null], 0),
                tf.concat([cond, cond], 0),
            ),
            training=False,
        )
        out_cond, out_uncond = both[:n], both[n:]
        return out_uncond + guidance * (out_cond - out_uncond)

    def predicted_noise(self, x, t, labels, guidance, cond):
        """The predicted noise (guided for a conditional model), whatever the network outputs."""
        out = self.network_output(x, t, labels, guidance, cond)
        if self.prediction == "eps":
            return out
        abar = self._abar[t]
        return tf.sqrt(abar) * out + tf.sqrt(1.0 - abar) * x

    def predicted_x0(self, x, t, labels, guidance, cond, clip):
        """The predicted clean image, clipped to [-1, 1] when ``clip``."""
        out = self.network_output(x, t, labels, guidance, cond)
        abar = self._abar[t]
        if self.prediction == "eps":
            x0 = (x - tf.sqrt(1.0 - abar) * out) / tf.sqrt(abar)
        else:
            x0 = tf.sqrt(abar) * x - tf.sqrt(1.0 - abar) * out
        return tf.clip_by_value(x0, -1.0, 1.0) if clip else x0

    def ddpm_update(self, x, t, labels, guidance, noise, clip, cond):
        """x_{t-1} ~ q(x_{t-1} | x_t, x0_pred): the posterior mean plus its variance."""
        abar, abar_prev = self._abar[t], self._abar_prev[t]
        beta, alpha = self._beta[t], self._alpha[t]
        x0 = self.predicted_x0(x, t, labels, guidance, cond, clip)
        mean = (beta * tf.sqrt(abar_prev) * x0 + (1.0 - abar_prev) * tf.sqrt(alpha) * x) / (
            1.0 - abar
        )
        return mean + tf.sqrt(self._post_var[t]) * noise, x0

    def ddim_update(self, x, t, t_prev, labels, guidance, eta, noise, clip, x0_prev, weight, cond):
        """One DDIM step from t to t_prev (-1: the clean image).

        ``weight`` > 0 makes it second order: the step uses the guess
        ``x0 + weight * (x0 - x0_prev)`` (see :func:`multistep_weights`); 0 is plain DDIM.
        Returns the new x and this step's own clean-image guess.
        """
        abar = self._abar[t]
        abar_prev = tf.where(t_prev >= 0, tf.gather(self._abar, tf.maximum(t_prev, 0)), 1.0)
        x0 = self.predicted_x0(x, t, labels, guidance, cond, clip)
        guess = x0 + weight * (x0 - x0_prev)
        eps = (x - tf.sqrt(abar) * guess) / tf.sqrt(1.0 - abar)  # the noise the guess implies
        sigma = eta * tf.sqrt((1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev))
        direction = tf.sqrt(tf.maximum(1.0 - abar_prev - sigma**2, 0.0)) * eps
        return tf.sqrt(abar_prev) * guess + direction + sigma * noise, x0

    def _compiled(self):
        """The DDPM and DDIM steps as ``tf.function``s, traced once per model.

        Both take a label per image, a guidance scale and a conditioning image; a model
        without labels or conditioning ignores them, so one signature serves every kind.
        """
        if self._ddpm_fn is None:
            img = tf.TensorSpec((None, *self.image_shape), tf.float32)
            cond = tf.TensorSpec((None, *self.image_shape[:2], self.cond_channels), tf.float32)
            scalar_i = tf.TensorSpec((), tf.int32)
            scalar_f = tf.TensorSpec((), tf.float32)
            labels = tf.TensorSpec((None,), tf.int32)
            clip = tf.TensorSpec((), tf.bool)
            self._ddpm_fn = tf.function(
                self.ddpm_update,
                input_signature=[img, scalar_i, labels, scalar_f, img, clip, cond],
            )
            self._ddim_fn = tf.function(
                self.ddim_update,
                input_signature=[
                    *(img, scalar_i, scalar_i, labels, scalar_f, scalar_f, img, clip),
                    *(img, scalar_f, cond),
                ],
            )
        return self._ddpm_fn, self._ddim_fn

    def _prepare_sampling(self, n, labels, guidance, seed, x_T, cond):
        n = as_positive_int(n, "n")
        seed = as_int(seed, "seed", minimum=0)
        guidance = as_number(guidance, "guidance", low=0.0)
        if self.num_classes is None:
            if labels is not None:
                raise ValueError("this model is unconditional: it takes no labels")
            labels = np.zeros(n, np.int32)  # a placeholder the network never sees
        elif labels is not None:
            if np.ndim(labels) == 0:
                labels = np.full(n, labels)
            # the label num_classes means "no label" (unconditional samples)
            nc = self.num_classes
            labels = as_labels(labels, nc + 1, n=n, name=f"labels (0 .. {nc - 1}, {nc}: no label)")
        else:
            labels = np.full(n, self.num_classes, np.int32)  # unconditional samples
        if x_T is None:
            x = tf.random.stateless_normal((n, *self.image_shape), seed=[seed, 0])
        else:
            x = tf.convert_to_tensor(as_images(x_T, name="x_T", shape=self.image_shape))
            if x.shape[0] != n:
                raise ValueError(f"x_T must have shape {(n, *self.image_shape)}; got {x.shape}")
        if self.cond_channels:
            cond = self.check_cond(cond, n)
        elif cond is not None:
            raise ValueError("this model takes no conditioning image (cond_channels=0)")
        else:
            cond = np.zeros((n, *self.image_shape[:2], 0), np.float32)
        return x, labels, guidance, cond, seed

    def _check_inpainting(self, known, mask, n):
        if (known is None) != (mask is None):
            raise ValueError("inpainting needs both known (the image) and mask (1 = missing)")
        if known is None:
            return None, None
        known = as_images(known, name="known", shape=self.image_shape, value_range=(-1, 1))
        mask = as_images(mask, name="mask", shape=None)
        if len(known) != n:
            raise ValueError(f"known must hold n={n} images; got {len(known)}")
        if mask.shape[1:3] != known.shape[1:3] or mask.shape[-1] not in (1, known.shape[-1]):
            raise ValueError(
                f"mask must have shape (n, {known.shape[1]}, {known.shape[2]}, 1); got {mask.shape}"
            )
        if len(mask) not in (1, n) or not np.all((mask == 0) | (mask == 1)):
            raise ValueError("mask must hold 0 (known pixel) and 1 (missing pixel), one or n masks")
        return known, np.broadcast_to(mask, known.shape).astype(np.float32)

    def sampling_loop(
        self,
        update,
        steps,
        n,
        *,
        labels=None,
        guidance=1.0,
        seed=0,
        x_T=None,
        cond=None,
        known=None,
        mask=None,
        resample: int = 1,
        callback=None,
        batch_size=500,
        record=0,
        noisy=True,
    ):
        """The loop every sampler runs: over chunks of images, then over ``steps``.

        ``steps`` is a list of ``(t, t_prev, ...)`` tuples; ``update(x, step, labels,
        guidance, noise, cond)`` moves the images from ``t`` to ``t_prev`` (-1: clean) and
        returns ``(x, x0_guess)``. ``noisy=False`` (DDIM with eta = 0) skips drawing
        fresh noise that would only be multiplied by zero. The hooks:

        * ``known`` and ``mask`` (1 = missing pixel, 0 = known): inpainting, RePaint
          style. After every step the known pixels are replaced by the known image
          noised to the new step, so the model only invents the missing ones, in
          harmony with what it is shown; the result keeps every known pixel exactly.
          ``resample`` > 1 goes back and forth that many times per step (RePaint's
          resampling), which blends the seam better.
        * ``cond``: the conditioning image of a model with ``cond_channels``.
        * ``callback(i, t, x, x0_guess)``: called after every step with NumPy arrays of
          the current chunk (a filmstrip, a progress bar).

        Returns images (n, ...) in [-1, 1]; with ``record`` also ``record`` snapshots
        ``(t, x_t, x0_guess)`` evenly spaced along the way.
        """
        x_all, labels, guidance, cond, seed = self._prepare_sampling(
            n, labels, guidance, seed, x_T, cond
        )
        known, mask = self._check_inpainting(known, mask, n)
        batch_size = as_positive_int(batch_size, "batch_size")
        record = as_int(record, "record", minimum=0)
        resample = as_positive_int(resample, "resample")
        if resample > 1 and known is None:
            raise ValueError("resample > 1 is for inpainting: give known and mask too")
        if callback is not None and not callable(callback):
            raise TypeError("callback must be a function (i, t, x, x0_guess) -> None")
        keep = (
            set(np.round(np.linspace(0, len(steps) - 1, record)).astype(int)) if record else set()
        )
        outputs, frames = [], []
        for start in range(0, n, batch_size):
            x = x_all[start : start + batch_size]
            size = int(x.shape[0])
            lab = tf.constant(labels[start : start + size])
            con = tf.constant(cond[start : start + size], tf.float32)
            chunk_frames = []
            for i, step in enumerate(steps):
                t, t_prev = int(step[0]), int(step[1])
                for r in range(resample):  # r > 0: RePaint's extra rounds on the same step
                    step_seed = [seed + 7919 * r, 1 + start * 100_003 + i]
                    noise = (
                        tf.random.stateless_normal(tf.shape(x), seed=step_seed)
                        if noisy
                        else tf.zeros_like(x)
                    )
                    x, x0 = update(x, step, lab, guidance, noise, con)
                    if known is not None:
                        x = self._paste_known(
                            x,
                            known[start : start + size],
                            mask[start : start + size],
                            t_prev,
                            [step_seed[0] + 1, step_seed[1]],
                        )
                    if r + 1 < resample and t_prev >= 0:
                        x = self._renoise(x, t, t_prev, [step_seed[0] + 2, step_seed[1]])
                if callback is not None:
                    callback(i, t, x.numpy(), x0.numpy())
                if i in keep:
                    chunk_frames.append((t, x.numpy(), x0.numpy()))
            out = tf.clip_by_value(x, -1.0, 1.0).numpy()
            if known is not None:  # exactly the known pixels, whatever rounding did
                m = mask[start : start + size]
                out = m * out + (1.0 - m) * known[start : start + size]
            outputs.append(out)
            frames.append(chunk_frames)
        images = np.concatenate(outputs)
        if not record:
            return images
        merged = [
            (
                parts[0][0],
                np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]),
            )
            for parts in zip(*frames)
        ]
        return images, merged

    def _paste_known(self, x, known, mask, t_prev, seed):
        """Known pixels noised to ``t_prev`` (exact at -1), the model's own elsewhere."""
        if t_prev < 0:
            return mask * x + (1.0 - mask) * tf.constant(known)
        eps = tf.random.stateless_normal(tf.shape(x), seed=seed)
        return paste_known(x, known, mask, self._abar[t_prev], eps)

    def _renoise(self, x_prev, t, t_prev, seed):
        """Go back from ``t_prev`` to ``t``: ``q(x_t | x_t_prev)`` (RePaint's jump back)."""
        ratio = self._abar[t] / self._abar[t_prev]
        eps = tf.random.stateless_normal(tf.shape(x_prev), seed=seed)
        return tf.sqrt(ratio) * x_prev + tf.sqrt(1.0 - ratio) * eps

    def sample_ddpm(self, n: int, *, clip: bool = True, **hooks):
        """DDPM ancestral sampling: all T steps, each drawing from the true posterior.

        Each step asks the network for its output (noise or v), turns it into a guess of
        the clean image (clipped to [-1, 1] when ``clip``), and samples ``x_{t-1}`` from
        ``q(x_{t-1} | x_t, x0_guess)`` with variance ``beta_t (1 - abar_{t-1}) / (1 - abar_t)``.

        Keyword arguments, all optional (see :meth:`sampling_loop` for the hooks):

        * ``labels``: for a conditional model, one label per image (or one for all);
          None draws unconditional samples;
        * ``guidance``: classifier-free guidance scale (0 = unconditional, 1 = plain
          conditional, more = stronger); used only with labels;
        * ``seed``: fixes the starting noise and every step's noise;
        * ``x_T``: the starting noise itself, shape (n, 28, 28, 1) (overrides the seed's);
        * ``record``: keep this many snapshots along the way for a filmstrip;
        * ``known``/``mask``, ``resample``, ``cond``, ``callback``, ``batch_size``.

        Returns images (n, 28, 28, 1) in [-1, 1]; with ``record`` also a list of
        ``(t, x_t, x0_guess)`` snapshots.
        """
        ddpm_fn, _ = self._compiled()
        steps = [(t, t - 1) for t in range(self.timesteps - 1, -1, -1)]
        clip_t = tf.constant(bool(clip))

        def update(x, step, lab, g, noise, cond):
            return ddpm_fn(x, tf.constant(step[0], tf.int32), lab, g, noise, clip_t, cond)

        return self.sampling_loop(update, steps, n, noisy=True, **hooks)

    def sample_ddim(
        self,
        n: int,
        steps: int = 50,
        *,
        eta: float = 0.0,
        order: int = 1,
        spacing: float = 1.0,
        clip: bool = True,
        **hooks,
    ):
        """DDIM sampling in ``steps`` steps (any number from 1 to T) with the same network.

        ``eta = 0`` is deterministic: the same starting noise always gives the same
        image. ``eta = 1`` adds DDPM-like fresh noise.

        ``order = 2`` (deterministic only) is the second-order multistep form of DDIM,
        DPM-Solver++(2M): each step also uses the previous step's clean-image guess (see
        :func:`multistep_weights`), for the same number of network calls.
        ``spacing`` below 1 puts more of the steps where the noise is high
        (:func:`ddim_timesteps`). Other arguments as :meth:`sample_ddpm`.
        """
        eta = as_number(eta, "eta", low=0.0, high=1.0)
        if order not in (1, 2) or isinstance(order, bool):
            raise ValueError(f"order must be 1 (DDIM) or 2 (DPM-Solver++(2M)); got {order!r}")
        if order == 2 and eta > 0:
            raise ValueError("order=2 is deterministic: it needs eta=0")
        if order == 2 and hooks.get("resample", 1) != 1:
            raise ValueError("order=2 carries its last guess from step to step: use resample=1")
        _, ddim_fn = self._compiled()
        ts = ddim_timesteps(self.timesteps, steps, spacing)
        weights = (
            multistep_weights(self.schedule.alpha_bars, ts) if order == 2 else np.zeros(len(ts))
        )
        pairs = list(zip(ts, [*ts[1:], -1], weights))
        clip_t, eta_t = tf.constant(bool(clip)), tf.constant(eta, tf.float32)
        last = {}  # the previous step's clean-image guess, for order 2

        def update(x, step, lab, g, noise, cond):
            t, tp = (tf.constant(int(v), tf.int32) for v in step[:2])
            weight = float(step[2])
            x0_prev = last["x0"] if weight else tf.zeros_like(x)  # the first step has none
            x, last["x0"] = ddim_fn(x, t, tp, lab, g, eta_t, noise, clip_t, x0_prev, weight, cond)
            return x, last["x0"]

        return self.sampling_loop(update, pairs, n, noisy=eta > 0, **hooks)

    def sample(self, n: int, *, seed=None, labels=None, steps: int | None = None, **options):
        """``n`` new images in [-1, 1] with DDIM in ``steps`` steps (default 50, or T if fewer).

        ``seed`` None draws a fresh one; ``labels`` for a conditional model; other
        options go to :meth:`sample_ddim` (``guidance``, ``spacing``, ``order``...).
        """
        seed = int(np.random.default_rng().integers(2**31)) if seed is None else seed
        steps = min(50, self.timesteps) if steps is None else steps
        return self.sample_ddim(n, steps, seed=seed, labels=labels, **options)

    def warm_up(self) -> None:
        """Compile both sampling steps once (on one image), so timings leave tracing out."""
        one = tf.zeros((1, *self.image_shape))
        cond = tf.zeros((1, *self.image_shape[:2], self.cond_channels))
        ddpm_fn, ddim_fn = self._compiled()
        t, tp, no = tf.constant(1), tf.constant(0), tf.constant(False)
        lab, g = tf.zeros((1,), tf.int32), tf.constant(1.0)
        ddpm_fn(one, t, lab, g, one, no, cond)
        ddim_fn(one, t, tp, lab, g, tf.constant(0.0), one, no, one, tf.constant(0.0), cond)

    def predict_noise(self, x_t, t, labels=None, guidance: float = 1.0, cond=None) -> np.ndarray:
        """The EMA network's noise prediction at timestep ``t`` (guided when labels given)."""
        x_t = as_images(x_t, name="x_t", shape=self.image_shape)
        t = _check_t(np.asarray(t), self.schedule)
        if t.ndim:
            raise ValueError("predict_noise takes one timestep t for the whole batch")
        _, labels, guidance, cond, _ = self._prepare_sampling(
            len(x_t), labels, guidance, 0, x_t, cond
        )
        t = tf.constant(int(t), tf.int32)
        return self.predicted_noise(
            tf.constant(x_t), t, tf.constant(labels), guidance, tf.constant(cond, tf.float32)
        ).numpy()


def course_model(
    num_classes: int | None = None,
    timesteps: int = 1000,
    learning_rate: float = 1e-3,
    prediction: str = "v",
    loss_weighting: str = "min_snr",
) -> DiffusionModel:
    """The chapter's model with the settings the notebook and the benchmark share, compiled.

    Cosine noise schedule, the default small U-Net predicting v with Min-SNR loss weights
    (on the benchmark's first seed these two took DDPM's FID from 20.8 to 10.9), Adam with
    gradient-norm clipping at a constant learning rate. The model carries its run name
    (``run_name``: ``"ch03_ddpm_v"``, or ``"ch03_cfg_v"`` when conditional), so the notebook
    and the benchmark train and load the same run.
    """
    model = DiffusionModel(
        timesteps=timesteps,
        schedule="cosine",
        num_classes=num_classes,
        prediction=prediction,
        loss_weighting=loss_weighting,
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0))
    model.run_name = "ch03_ddpm_v" if num_classes is None else "ch03_cfg_v"
    return model
