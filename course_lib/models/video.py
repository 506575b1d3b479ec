"""Chapter 07's video models: next-frame prediction, a 3D-convolution video GAN, motion.

In teaching order:

1. **Next-frame prediction.** Two baselines that need no learning,
   :func:`copy_last_frame` and :func:`linear_extrapolation`; a lean convolutional
   predictor (:func:`build_frame_predictor`) that sees the last ``context`` frames as
   channels and draws the next one; :func:`rollout`, the loop that predicts many frames
   ahead by **feeding the model its own predictions** (never a true frame past the
   context); :class:`FramePredictor` trains on short rollouts of its own, so it learns to
   cope with its own small errors; :func:`scores_by_horizon` gives PSNR and SSIM for
   each step ahead.
2. **A video GAN with 3D convolutions.** :func:`conv3d_output_shape` is the size rule of
   a 3D convolution (time is one more axis to slide over);
   :func:`build_video_generator` grows noise into 16 frames of 32x32 with three stride-2
   3D transposed convolutions (2 -> 4 -> 8 -> 16 frames); :func:`build_video_discriminator`
   takes exactly that shape. :class:`VideoGAN` is chapter 01's GAN step on videos.
   Quality: :func:`frame_fid` (the course's FID on every frame) and
   :func:`motion_stats` (how far and how smoothly the bright blob moves).
3. **Motion synthesis.** :func:`gaussian_nll`, the loss of a model that says how sure it
   is; :class:`PoseModel` predicts the next pose's mean and log-variance from the last
   few poses; :func:`constant_velocity_nll` is its baseline; :meth:`PoseModel.sample`
   walks on by drawing from its own predictions; :func:`interpolate_poses` fills the
   frames between two poses.
4. **Video-to-video.** :func:`edge_clips` makes line-drawing sources of every frame;
   :class:`VideoPix2Pix` is chapter 05's pix2pix trained on pairs of neighbouring frames,
   with an optional temporal-consistency loss: :func:`sprite_warp` moves the first output
   along the clip's known motion and the loss is its difference from the second output
   (:func:`flicker_map`, pixel by pixel). :func:`warp_error` measures that flicker on whole clips (0 for the true clips); read
   it beside PSNR, since a blank video does not flicker either.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_lib import metrics
from course_lib.conventions import (
    NUM_KEYPOINTS,
    as_int,
    as_number,
    as_poses,
    as_positive_int,
    as_seed,
    as_videos,
)
from course_lib.data.video import SPRITE_SIZE, VIDEO_SIZE
from course_lib.models.base import CourseModel, split_batch
from course_lib.models.gan import GAN
from course_lib.models.restoration import (
    Pix2Pix,
    build_pix2pix_discriminator,
    build_pix2pix_generator,
    edge_maps,
)

UNIT = (0.0, 1.0)


# ============================================================== 1. next-frame prediction


def copy_last_frame(context, horizon: int) -> np.ndarray:
    """The "nothing moves" baseline: the last context frame, repeated ``horizon`` times.

    ``context`` is (n, k, h, w, 1); returns (n, horizon, h, w, 1).
    """
    context = as_videos(context, name="context")
    horizon = as_positive_int(horizon, "horizon")
    return np.repeat(context[:, -1:], horizon, axis=1)


def linear_extrapolation(context, horizon: int, value_range=UNIT) -> np.ndarray:
    """The "keep changing as before" baseline: each pixel goes on changing at the rate it
    changed between the last two context frames, clipped to ``value_range``.

    Frame ``k + s`` is ``x_k + s (x_k - x_{k-1})``. It works for slow fades, not for a
    moving object (which is not where its pixels were brightening).
    """
    context = as_videos(context, name="context", min_frames=2)
    horizon = as_positive_int(horizon, "horizon")
    low, high = value_range
    last, change = context[:, -1], context[:, -1] - context[:, -2]
    steps = np.arange(1, horizon + 1, dtype=np.float32)[None, :, None, None, None]
    return np.clip(last[:, None] + steps * change[:, None], low, high)


def build_frame_predictor(context: int = 4, size: int = 32, width: int = 32) -> keras.Model:
    """A lean convolutional predictor: ``context`` frames in, the next frame out.

    Input (n, context, size, size, 1) in [0, 1]; the frames are laid side by side as
    channels, so the first convolution compares them (that is how it sees motion). Two
    stride-2 levels widen the view to follow a sprite moving a few pixels a frame; a
    skip brings back the full-size detail. The network draws the *change* from the last
    frame (a ``tanh`` layer that starts at zero), so it starts as "copy the last frame"
    rather than as a black frame, which squared error on a mostly black picture would
    otherwise settle on. Output (n, size, size, 1), clipped to [0, 1].
    """
    context = as_positive_int(context, "context")
    size = as_int(size, "size", minimum=8)
    width = as_positive_int(width, "width")
    if size % 4:
        raise ValueError(f"size must be a multiple of 4 (two halvings); got {size}")
    frames = keras.Input((context, size, size, 1), name="context_frames")
    x = layers.Permute((2, 3, 1, 4))(frames)
    x = layers.Reshape((size, size, context))(x)
    top = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
    mid = layers.Conv2D(2 * width, 4, strides=2, padding="same", activation="relu")(top)
    low = layers.Conv2D(2 * width, 4, strides=2, padding="same", activation="relu")(mid)
    low = layers.Conv2D(2 * width, 3, padding="same", activation="relu")(low)
    up = layers.Conv2DTranspose(2 * width, 4, strides=2, padding="same", activation="relu")(low)
    up = layers.Concatenate()([up, mid])
    up = layers.Conv2DTranspose(width, 4, strides=2, padding="same", activation="relu")(up)
    up = layers.Concatenate()([up, top])
    up = layers.Conv2D(width, 3, padding="same", activation="relu")(up)
    change = layers.Conv2D(1, 1, activation="tanh", kernel_initializer="zeros")(up)
    last = layers.Lambda(lambda v: v[:, -1])(frames)
    out = layers.Lambda(lambda v: keras.ops.clip(v[0] + v[1], 0.0, 1.0))([last, change])
    return keras.Model(frames, out, name="frame_predictor")


def rollout(predict, context, horizon: int) -> np.ndarray:
    """Predict ``horizon`` frames after ``context``, feeding each prediction back in.

    ``predict`` maps a window (n, k, h, w, 1) of the last k frames to the next frame
    (n, h, w, 1). The window starts as the context; after each step it drops its oldest
    frame and appends the prediction, so from step k on the model sees only frames it
    drew itself. Only the context is passed in: no true frame after it can leak in.
    Returns (n, horizon, h, w, 1).
    """
    window = as_videos(context, name="context")
    horizon = as_positive_int(horizon, "horizon")
    predictions = []
    for _ in range(horizon):
        frame = np.asarray(predict(window), np.float32).reshape(window[:, -1].shape)
        predictions.append(frame)
        window = np.concatenate([window[:, 1:], frame[:, None]], axis=1)
    return np.stack(predictions, axis=1)


def scores_by_horizon(predicted, truth) -> dict:
    """PSNR (dB) and SSIM of each step ahead, averaged over the videos.

    Both are (n, horizon, h, w, 1) in [0, 1]. Returns ``{"psnr": (horizon,), "ssim":
    (horizon,)}``; index 0 is one step ahead.
    """
    predicted = as_videos(predicted, name="predicted", value_range=UNIT, range_slack=0.05)
    truth = as_videos(truth, name="truth", value_range=UNIT)
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted {predicted.shape} and truth {truth.shape} must match")
    n, horizon = truth.shape[:2]
    flat = predicted.reshape(-1, *truth.shape[2:]), truth.reshape(-1, *truth.shape[2:])
    psnr = np.minimum(metrics.psnr(*flat, UNIT), 60.0).reshape(n, horizon)  # cap identical
    ssim = metrics.ssim(*flat, UNIT).reshape(n, horizon)
    return {"psnr": psnr.mean(axis=0), "ssim": ssim.mean(axis=0)}


class FramePredictor(CourseModel):
    """A frame predictor trained on its own short rollouts.

    ``fit(videos)`` with videos (n, t, h, w, 1) in [0, 1] and t >= context + train_steps.
    Each step picks a random start in every clip, gives the network the ``context``
    frames there, then rolls ``train_steps`` frames ahead **on its own predictions**,
    and averages the squared error of all of them (gradients flow through the whole
    rollout). ``train_steps=1`` is plain one-step training. Logged: ``loss``.
    """

    def __init__(self, network, context: int = 4, train_steps: int = 3, seed=None, **kwargs):
        super().__init__(("loss",), **kwargs)
        self.network = network
        self.context = as_positive_int(context, "context")
        self.train_steps = as_positive_int(train_steps, "train_steps")
        self.seed_generator = keras.random.SeedGenerator(as_seed(seed))

    def call(self, window, training=False):
        return self.network(window, training=training)

    def train_step(self, data):
        videos, _ = split_batch(data)
        span = self.context + self.train_steps
        last_start = tf.shape(videos)[1] - span
        start = keras.random.randint((), 0, last_start + 1, seed=self.seed_generator)
        clip = videos[:, start : start + span]
        with tf.GradientTape() as tape:
            window, errors = clip[:, : self.context], []
            for s in range(self.train_steps):
                frame = self.network(window, training=True)
                errors.append(tf.reduce_mean(tf.square(frame - clip[:, self.context + s])))
                window = tf.concat([window[:, 1:], frame[:, None]], axis=1)
            loss = tf.add_n(errors) / self.train_steps
        grads = tape.gradient(loss, self.network.trainable_variables)
        self.optimizer.apply(grads, self.network.trainable_variables)
        return self.record(loss=loss)

    def check_data(self, x, y=None):
        x = as_videos(x, name="videos", min_frames=self.context + self.train_steps)
        x = as_videos(x, name="videos", value_range=UNIT)
        if y is not None:
            raise ValueError("a frame predictor learns from the videos alone: pass no y")
        return x, None

    def make_dataset(self, x, y, batch_size, seed):
        ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed)
        return ds.batch(min(batch_size, len(x)), drop_remainder=True).prefetch(2)

    def predict_next(self, window) -> np.ndarray:
        """The next frame (n, h, w, 1) for windows (n, context, h, w, 1)."""
        window = as_videos(window, name="window", frames=self.context)
        return keras.ops.convert_to_numpy(self._predict(tf.constant(window)))

    @tf.function(reduce_retracing=True)
    def _predict(self, window):
        return self.network(window, training=False)

    def rollout(self, context, horizon: int) -> np.ndarray:
        """``horizon`` frames after ``context`` (n, k >= context, h, w, 1), on its own.

        Only the last ``self.context`` frames of ``context`` are used; see :func:`rollout`.
        """
        context = as_videos(context, name="context", min_frames=self.context)
        return rollout(self.predict_next, context[:, -self.context :], horizon)

    def sample(self, n: int, *, seed=None, labels=None):
        raise NotImplementedError(
            "a frame predictor continues videos: call rollout(context, horizon) instead"
        )


def course_frame_predictor(context: int = 4, width: int = 32, train_steps: int = 3):
    """Chapter 07's frame predictor, compiled (Adam 1e-3), as the notebook and benchmark
    train it; ``run_name`` and ``batch_size`` set."""
    model = FramePredictor(
        build_frame_predictor(context, 32, width), context=context, train_steps=train_steps
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.run_name = "ch07_frame_predictor"
    model.batch_size = 32
    return model


def predict_clips(model, videos, context: int, horizon: int) -> dict:
    """Rollouts of ``model`` and both baselines for clips ``videos``, scored by horizon.

    The first ``context`` frames of each clip are the context; the next ``horizon`` the
    truth. Only the context reaches the predictors. Returns ``{name: {"frames", "psnr",
    "ssim"}}`` for ``"model"``, ``"copy last frame"`` and ``"linear extrapolation"``.
    """
    videos = as_videos(videos, name="videos", value_range=UNIT)
    context = as_positive_int(context, "context")
    horizon = as_positive_int(horizon, "horizon")
    if videos.shape[1] < context + horizon:
        raise ValueError(
            f"clips of {videos.shape[1]} frames are too short for {context} context frames "
            f"and {horizon} to predict"
        )
    seen, truth = videos[:, :context].copy(), videos[:, context : context + horizon]
    frames = {
        "model": model.rollout(seen, horizon),
        "copy last frame": copy_last_frame(seen, horizon),
        "linear extrapolation": linear_extrapolation(seen, horizon),
    }
    return {name: {"frames": f, **scores_by_horizon(f, truth)} for name, f in frames.items()}


# ================================================================ 2. the video GAN


def conv3d_output_shape(shape, filters: int, kernel, strides, padding: str = "same"):
    """The output shape ``(frames, height, width, filters)`` of a 3D convolution.

    ``shape`` is one input's ``(frames, height, width, channels)``; ``kernel`` and
    ``strides`` are three ints (time, height, width) or one int for all three. Each of
    the three axes follows the 2D rule: ``ceil(size / stride)`` with ``"same"``
    padding, ``floor((size - kernel) / stride) + 1`` with ``"valid"``.
    """
    if len(shape) != 4:
        raise ValueError(f"shape must be (frames, height, width, channels); got {shape!r}")
    filters = as_positive_int(filters, "filters")
    kernel = (kernel,) * 3 if isinstance(kernel, int) else tuple(kernel)
    strides = (strides,) * 3 if isinstance(strides, int) else tuple(strides)
    if padding not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid'; got {padding!r}")
    out = []
    for size, k, s in zip(shape[:3], kernel, strides, strict=True):
        size, k, s = (
            as_positive_int(size, "size"),
            as_positive_int(k, "kernel"),
            as_positive_int(s, "stride"),
        )
        out.append(math.ceil(size / s) if padding == "same" else (size - k) // s + 1)
    if min(out) < 1:
        raise ValueError(f"a kernel of {kernel} is larger than the input {shape[:3]}")
    return (*out, filters)


VIDEO_SHAPE = (16, 32, 32, 1)


def build_video_generator(latent_dim: int = 64, width: int = 32) -> keras.Model:
    """Noise (n, latent_dim) to videos (n, 16, 32, 32, 1) in [-1, 1].

    A dense layer makes a tiny clip of 2 frames of 4x4; three 3D transposed convolutions
    with stride 2 in time and space double every axis (2 -> 4 -> 8 -> 16 frames, 4 -> 8
    -> 16 -> 32 pixels). 4x4x4 kernels, batch norm, ReLU, ``tanh`` at the end.
    """
    latent_dim = as_positive_int(latent_dim, "latent_dim")
    width = as_positive_int(width, "width")
    z = keras.Input((latent_dim,), name="noise")
    x = layers.Dense(2 * 4 * 4 * 4 * width, use_bias=False)(z)
    x = layers.Reshape((2, 4, 4, 4 * width))(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for filters in (2 * width, width):
        x = layers.Conv3DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    out = layers.Conv3DTranspose(1, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(z, out, name="video_generator")


def build_video_discriminator(width: int = 32, shape=VIDEO_SHAPE) -> keras.Model:
    """Videos (n, 16, 32, 32, 1) in [-1, 1] to one logit each ("real" when high).

    Three 3D convolutions with stride 2 (16 -> 8 -> 4 -> 2 frames), leaky ReLU, then a
    dense layer. Its input shape is the generator's output shape (a test checks it).
    """
    width = as_positive_int(width, "width")
    videos = keras.Input(tuple(shape), name="videos")
    x = videos
    for filters in (width, 2 * width, 4 * width):
        x = layers.Conv3D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
    logit = layers.Dense(1)(layers.Flatten()(x))
    return keras.Model(videos, logit, name="video_discriminator")


class VideoGAN(GAN):
    """Chapter 01's GAN step (non-saturating loss, one D and one G update), on videos.

    ``fit(videos)`` with videos (n, 16, 32, 32, 1) in [-1, 1]; ``sample(n)`` returns
    videos of that shape.
    """

    def check_data(self, x, y=None):
        x = as_videos(x, name="videos", frames=VIDEO_SHAPE[0], size=VIDEO_SHAPE[1])
        x = as_videos(x, name="videos", value_range=(-1, 1))
        if float(x.min()) >= 0.0:
            raise ValueError("videos look like [0, 1]: a video GAN needs pixels in [-1, 1]")
        if y is not None:
            raise ValueError("the video GAN learns from videos alone: pass no y")
        return x, None

    def make_dataset(self, x, y, batch_size, seed):
        batch_size = min(as_positive_int(batch_size, "batch_size"), len(x))
        ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed)
        return ds.batch(batch_size, drop_remainder=True).prefetch(2)


def course_video_gan(latent_dim: int = 64, width: int = 32) -> VideoGAN:
    """Chapter 07's video GAN, compiled (Adam(2e-4, beta_1=0.5) on both sides), as the
    notebook trains it; ``run_name`` and ``batch_size`` set."""
    model = VideoGAN(
        build_video_generator(latent_dim, width), build_video_discriminator(width), latent_dim
    )
    model.compile(
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    model.run_name = "ch07_video_gan"
    model.batch_size = 32
    return model


def frame_fid(videos, reference, value_range=(-1, 1)) -> float:
    """FID between the frames of two sets of videos, on the course classifier's features.

    Every frame counts as one image; frames are resized to 28x28 (the classifier's
    size). Compare with the same score between two independent real sets (the floor).
    """
    a = as_videos(videos, name="videos", value_range=value_range, range_slack=0.05, min_count=1)
    b = as_videos(reference, name="reference", value_range=value_range, min_count=1)
    feats = []
    for arr in (a, b):
        frames = arr.reshape(-1, *arr.shape[2:])
        frames = tf.image.resize(frames, (28, 28), antialias=True).numpy()
        feats.append(metrics.classifier_features(np.clip(frames, *value_range), value_range))
    return metrics.frechet_distance(*feats)


def motion_stats(videos, value_range=(-1, 1)) -> dict:
    """How the bright blob in each video moves: mean speed and mean jerkiness.

    Tracks the brightness-weighted centre of each frame. ``speed`` is the mean distance
    (pixels) the centre moves per frame; ``jerk`` the mean size of its change in
    velocity (pixels per frame²), which is small for a straight flight with rare bounces
    and large for a blob that jumps about. Returns means over the videos.
    """
    arr = as_videos(videos, name="videos", min_frames=3, value_range=value_range, range_slack=0.05)
    low, high = value_range
    ink = np.clip((arr[..., 0] - low) / (high - low), 0, 1)
    ink = np.maximum(ink - 0.1, 0)  # ignore a faint haze
    total = ink.sum(axis=(2, 3)) + 1e-6
    ys, xs = np.mgrid[0 : arr.shape[2], 0 : arr.shape[3]]
    centre = np.stack([(ink * xs).sum(axis=(2, 3)), (ink * ys).sum(axis=(2, 3))], -1)
    centre = centre / total[..., None]
    velocity = np.diff(centre, axis=1)
    speed = np.linalg.norm(velocity, axis=-1).mean()
    jerk = np.linalg.norm(np.diff(velocity, axis=1), axis=-1).mean()
    return {"speed": float(speed), "jerk": float(jerk)}


# ================================================================== 3. motion synthesis


def gaussian_nll(x, mean, log_var):
    """Negative log-likelihood of ``x`` under N(mean, exp(log_var)), per value (nats).

    ``0.5 (log(2 pi) + log_var + (x - mean)² / exp(log_var))``, elementwise (NumPy or
    TensorFlow alike). Predicting the log of the variance keeps the variance positive
    without a constraint.
    """
    return 0.5 * (math.log(2 * math.pi) + log_var + (x - mean) ** 2 * keras.ops.exp(-log_var))


def pose_windows(poses, context: int):
    """Training pairs from pose sequences: ``(windows, next_poses)``.

    ``windows`` (m, context, 17, 2) are the (x, y) of ``context`` frames in a row;
    ``next_poses`` (m, 17, 2) the frame after each. Confidences are dropped.
    """
    arr = as_poses(poses, min_frames=as_positive_int(context, "context") + 1)[..., :2]
    n, t = arr.shape[:2]
    windows = np.stack([arr[:, i : i + context] for i in range(t - context)], axis=1)
    targets = arr[:, context:]
    return windows.reshape(-1, context, NUM_KEYPOINTS, 2), targets.reshape(-1, NUM_KEYPOINTS, 2)


def build_pose_predictor(context: int = 4, hidden: int = 256) -> keras.Model:
    """The last ``context`` poses (n, context, 17, 2) to the next pose's mean and log-variance.

    An MLP on the poses and their frame-to-frame changes. The mean is predicted as a
    change from the last pose (so "stand still" is the easy start); the log-variance, one
    per coordinate, is kept in [-12, 2] so a confident model cannot divide by zero.
    Outputs two arrays (n, 17, 2).
    """
    context = as_int(context, "context", minimum=2)
    hidden = as_positive_int(hidden, "hidden")
    poses = keras.Input((context, NUM_KEYPOINTS, 2), name="poses")
    flat = layers.Reshape((context, NUM_KEYPOINTS * 2))(poses)
    moves = layers.Lambda(lambda p: p[:, 1:] - p[:, :-1])(flat)
    x = layers.Concatenate()([layers.Flatten()(flat), 10.0 * layers.Flatten()(moves)])
    x = layers.Dense(hidden, activation="gelu")(x)
    x = layers.Dense(hidden, activation="gelu")(x)
    change = layers.Reshape((NUM_KEYPOINTS, 2))(layers.Dense(NUM_KEYPOINTS * 2)(x))
    last = layers.Lambda(lambda p: p[:, -1])(poses)
    mean = layers.Add(name="mean")([last, 0.1 * change])
    raw = layers.Reshape((NUM_KEYPOINTS, 2))(layers.Dense(NUM_KEYPOINTS * 2)(x))
    log_var = layers.Lambda(lambda v: -5.0 + 7.0 * keras.ops.tanh(v / 7.0), name="log_var")(raw)
    return keras.Model(poses, [mean, log_var], name="pose_predictor")


class PoseModel(CourseModel):
    """Next-pose model trained with the Gaussian likelihood.

    ``fit(windows, next_poses)`` (see :func:`pose_windows`). Logged: ``nll``, the mean
    negative log-likelihood per coordinate in nats (lower is better; it can go below 0
    since these are densities).
    """

    def __init__(self, network, context: int = 4, seed=None, **kwargs):
        super().__init__(("nll",), **kwargs)
        self.network = network
        self.context = as_int(context, "context", minimum=2)
        self.seed = as_seed(seed)

    def call(self, windows, training=False):
        return self.network(windows, training=training)

    def train_step(self, data):
        windows, target = data
        with tf.GradientTape() as tape:
            mean, log_var = self.network(windows, training=True)
            nll = tf.reduce_mean(gaussian_nll(target, mean, log_var))
        grads = tape.gradient(nll, self.network.trainable_variables)
        self.optimizer.apply(grads, self.network.trainable_variables)
        return self.record(nll=nll)

    def check_data(self, x, y=None):
        shape = (self.context, NUM_KEYPOINTS, 2)
        x = np.asarray(x, np.float32)
        if x.ndim != 4 or x.shape[1:] != shape:
            raise ValueError(
                f"windows must have shape (m, {', '.join(map(str, shape))}); got {x.shape}"
            )
        if y is None:
            raise ValueError("fit(windows, next_poses): the next poses are the targets")
        y = np.asarray(y, np.float32)
        if y.shape != (len(x), NUM_KEYPOINTS, 2):
            raise ValueError(
                f"next_poses must have shape ({len(x)}, {NUM_KEYPOINTS}, 2); got {y.shape}"
            )
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("windows and next_poses must be finite")
        return x, y

    def predict_gaussian(self, windows):
        """``(mean, log_var)`` of the next pose, each (m, 17, 2)."""
        windows = np.asarray(windows, np.float32)
        mean, log_var = self.network(windows, training=False)
        return keras.ops.convert_to_numpy(mean), keras.ops.convert_to_numpy(log_var)

    def nll(self, poses) -> float:
        """Mean negative log-likelihood per coordinate (nats) of held-out pose sequences."""
        windows, target = pose_windows(poses, self.context)
        mean, log_var = self.predict_gaussian(windows)
        return float(np.mean(keras.ops.convert_to_numpy(gaussian_nll(target, mean, log_var))))

    def sample(self, n: int = 1, *, seed=None, labels=None, start=None, steps: int = 32):
        """Continue the poses ``start`` (n, >= context, 17, 2 or 3) for ``steps`` frames,
        drawing each next pose from the predicted Gaussian (``seed`` fixes the draws).

        Returns (n, context + steps, 17, 3), confidence 1 for drawn frames.
        """
        if labels is not None:
            raise ValueError("the pose model takes no labels")
        if start is None:
            raise ValueError("sample needs start poses: sample(n, start=poses[:, :4])")
        start = as_poses(start, name="start", min_frames=self.context)[:, -self.context :]
        if len(start) != as_positive_int(n, "n"):
            raise ValueError(f"start holds {len(start)} sequences for n={n}")
        steps = as_positive_int(steps, "steps")
        rng = np.random.default_rng(seed)
        frames = list(start[..., :2].transpose(1, 0, 2, 3))
        for _ in range(steps):
            mean, log_var = self.predict_gaussian(np.stack(frames[-self.context :], axis=1))
            frames.append(mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape))
        xy = np.stack(frames, axis=1).astype(np.float32)
        return np.concatenate([xy, np.ones((*xy.shape[:3], 1), np.float32)], axis=-1)


def course_pose_model(context: int = 4, hidden: int = 256) -> PoseModel:
    """Chapter 07's pose model, compiled (Adam 1e-3); ``run_name`` and ``batch_size`` set."""
    model = PoseModel(build_pose_predictor(context, hidden), context=context)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.run_name = "ch07_pose_model"
    model.batch_size = 128
    return model


def constant_velocity_nll(train_poses, test_poses) -> float:
    """The baseline: next pose = last pose + last change, with a Gaussian whose variance
    (one per coordinate) is fitted on ``train_poses``' errors. Mean NLL per coordinate
    (nats) on ``test_poses``."""

    def guess(poses):
        xy = as_poses(poses, min_frames=3)[..., :2]
        return 2 * xy[:, 1:-1] - xy[:, :-2], xy[:, 2:]

    mean, target = guess(train_poses)
    var = ((target - mean) ** 2).mean(axis=(0, 1))
    mean, target = guess(test_poses)
    return float(np.mean(gaussian_nll(target, mean, np.log(var)[None, None])))


def interpolate_poses(a, b, steps: int, *, ease: bool = True) -> np.ndarray:
    """``steps`` poses going from pose ``a`` to pose ``b`` (both (17, 2) or (17, 3)),
    ends included. With ``ease`` the motion starts and stops gently (smoothstep
    ``3s² - 2s³``) instead of at constant speed. Returns (steps, 17, c)."""
    a, b = (as_poses(p[None], name=name)[0, 0] for p, name in ((a, "a"), (b, "b")))
    if a.shape != b.shape:
        raise ValueError(f"poses a {a.shape} and b {b.shape} must have the same shape")
    steps = as_int(steps, "steps", minimum=2)
    s = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    if ease:
        s = s * s * (3 - 2 * s)
    return (1 - s)[:, None, None] * a + s[:, None, None] * b


# =================================================================== 4. video-to-video


def sprite_warp(frames, corners, next_corners, sprite: int = SPRITE_SIZE, margin: int = 1):
    """Move each frame's sprite to where it is one frame later (the known motion).

    ``frames`` (n, h, w, c) at time t; ``corners`` and ``next_corners`` (n, 2) the
    sprite's top-left corner (x, y) at t and t+1, as in a moving-sprites clip's
    ``labels["path"]``. The sprite's box, grown by ``margin`` pixels (an edge map's lines
    reach one pixel past the sprite), moves with it: inside that box at t+1 each pixel
    is fetched from where it was at t; elsewhere from the same place (the background
    stands still). Returns ``(warped, valid)``, tensors: the warped frames and a mask
    (n, h, w, 1) that is 0 where frame t cannot show what frame t+1 does (background the
    sprite has just uncovered, or a pixel fetched from outside the canvas) and 1
    elsewhere. Real video-to-video systems estimate this motion with an optical-flow
    network (vid2vid uses FlowNet 2); our clips carry it exactly. Written in TensorFlow
    so a training step can use it.
    """
    frames = tf.convert_to_tensor(frames, tf.float32)
    n = tf.shape(frames)[0]
    h, w, c = frames.shape[1:]
    now = tf.cast(corners, tf.int32) - margin
    after = tf.cast(next_corners, tf.int32) - margin
    side = sprite + 2 * margin
    ys, xs = tf.meshgrid(tf.range(h), tf.range(w), indexing="ij")
    xs, ys = xs[None], ys[None]

    def inside(corner):
        cx, cy = corner[:, 0, None, None], corner[:, 1, None, None]
        return (xs >= cx) & (xs < cx + side) & (ys >= cy) & (ys < cy + side)

    in_after, in_now = inside(after), inside(now)
    shift = after - now
    from_x = tf.where(in_after, xs - shift[:, 0, None, None], xs)
    from_y = tf.where(in_after, ys - shift[:, 1, None, None], ys)
    on_canvas = (from_x >= 0) & (from_x < w) & (from_y >= 0) & (from_y < h)
    index = tf.reshape(
        tf.clip_by_value(from_y, 0, h - 1) * w + tf.clip_by_value(from_x, 0, w - 1), (n, h * w)
    )
    warped = tf.gather(tf.reshape(frames, (n, h * w, c)), index, batch_dims=1)
    valid = tf.cast((in_after | ~in_now) & on_canvas, tf.float32)[..., None]
    return tf.reshape(warped, (n, h, w, c)), valid


def _paths(paths, videos: np.ndarray) -> np.ndarray:
    arr = np.asarray(paths)
    n, frames, size = videos.shape[0], videos.shape[1], videos.shape[2]
    if arr.shape != (n, frames, 2) or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(
            f"paths must be the clips' sprite corners, shape (n, frames, 2) = ({n}, {frames}, "
            f"2) (labels['path'] of data.moving_sprites); got {arr.shape}"
        )
    if arr.min() < 0 or arr.max() > size - SPRITE_SIZE:
        raise ValueError(f"paths must lie in [0, {size - SPRITE_SIZE}] (a sprite's corner)")
    return arr.astype(np.int32)


def flicker_map(before, after, corners, next_corners):
    """Where two neighbouring frames disagree: ``|after - before moved along the motion|``
    per pixel (:func:`sprite_warp`), 0 where ``before`` cannot show that pixel. Frames
    (n, h, w, c), corners (n, 2). Returns ``(gap, valid)``, tensors; the flicker is
    ``sum(gap) / (sum(valid) * c)``."""
    warped, valid = sprite_warp(before, corners, next_corners)
    return valid * tf.abs(tf.convert_to_tensor(after, tf.float32) - warped), valid


def warp_error(videos, paths, value_range=(-1, 1)) -> float:
    """Flicker: the mean absolute difference between each frame and the frame before it
    moved by the clip's known motion (:func:`sprite_warp`), over the pixels both show.

    ``videos`` (n, frames, h, w, 1) and ``paths`` (n, frames, 2), the sprite's corner in
    each frame. The true clips score 0 (a rigid sprite on a still background); a model
    that draws every frame on its own scores above 0 wherever its frames disagree. A
    blank video scores 0 too: read it beside a fidelity score such as PSNR.
    """
    arr = as_videos(videos, name="videos", min_frames=2, value_range=value_range, range_slack=0.05)
    corners = _paths(paths, arr)
    frame = arr.shape[2:]
    gap, valid = flicker_map(
        arr[:, :-1].reshape(-1, *frame), arr[:, 1:].reshape(-1, *frame),
        corners[:, :-1].reshape(-1, 2), corners[:, 1:].reshape(-1, 2),
    )  # fmt: skip
    return float(tf.reduce_sum(gap) / (tf.reduce_sum(valid) * frame[-1]))


def edge_clips(videos, threshold: float = 0.5) -> np.ndarray:
    """Every frame of each clip as a line drawing (chapter 05's :func:`edge_maps`), in
    [-1, 1]: the sources that video-to-video translation turns back into clips."""
    arr = as_videos(videos, name="videos")
    return edge_maps(arr.reshape(-1, *arr.shape[2:]), threshold).reshape(arr.shape)


class VideoPix2Pix(Pix2Pix):
    """Chapter 05's pix2pix on clips, with an optional temporal-consistency loss.

    ``fit((sources, paths), targets)``: source and target clips (n, frames, h, w, 1) in
    [-1, 1], and each clip's sprite corners (n, frames, 2). Each step takes one random
    pair of consecutive frames (t, t+1) from every clip in the batch and trains pix2pix
    on both frames (adversarial loss plus ``l1_weight`` times L1). With
    ``temporal_weight`` > 0 it adds that times the flicker between the two outputs:
    the mean absolute difference between output t+1 and output t moved by the known
    motion (:func:`sprite_warp`), over the pixels both frames show. With 0 it is
    per-frame pix2pix on exactly the same pairs, so the two runs differ only in the loss.
    Logged: ``g_loss``, ``d_loss``, ``l1`` and ``flicker`` (logged in both cases).
    """

    default_batch_size = 32

    def __init__(
        self, generator, discriminator, l1_weight=100.0, temporal_weight=0.0, seed=None, **kw
    ):
        super().__init__(generator, discriminator, l1_weight, **kw)
        self.temporal_weight = as_number(temporal_weight, "temporal_weight", low=0.0)
        self.trackers["flicker"] = keras.metrics.Mean(name="flicker")
        self.seed_generator = keras.random.SeedGenerator(as_seed(seed))

    def check_data(self, x, y=None):
        if not isinstance(x, (tuple, list)) or len(x) != 2 or y is None:
            raise ValueError(
                "video pix2pix trains on clips: fit((sources, paths), targets), with paths "
                "the sprite corners of each frame (labels['path'])"
            )
        h, w, _ = self.image_shape
        sources = as_videos(x[0], name="sources", min_frames=2, size=h, value_range=(-1, 1))
        targets = as_videos(y, name="targets", min_frames=2, size=h, value_range=(-1, 1))
        if sources.shape != targets.shape:
            raise ValueError(f"sources {sources.shape} and targets {targets.shape} differ")
        return (sources, _paths(x[1], sources)), targets

    def make_dataset(self, x, y, batch_size, seed):
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y), seed=seed)
        return ds.batch(min(batch_size, len(y)), drop_remainder=True).prefetch(2)

    def train_step(self, data):
        (sources, paths), targets = data
        batch, frames = tf.shape(sources)[0], tf.shape(sources)[1]
        t = keras.random.randint((batch,), 0, frames - 1, seed=self.seed_generator)

        def at(clips, k):
            return tf.gather(clips, k, batch_dims=1)

        source = tf.concat([at(sources, t), at(sources, t + 1)], 0)  # frames t, then t+1
        target = tf.concat([at(targets, t), at(targets, t + 1)], 0)

        def temporal(fake):  # output t moved along the motion, against output t+1
            gap, valid = flicker_map(fake[:batch], fake[batch:], at(paths, t), at(paths, t + 1))
            flicker = tf.reduce_sum(gap) / (tf.reduce_sum(valid) * self.image_shape[-1])
            return self.temporal_weight * flicker, {"flicker": flicker}

        return self.record(**self.update(source, target, temporal))

    def translate_clips(self, sources) -> np.ndarray:
        """Every frame of every source clip translated on its own: (n, frames, h, w, 1)."""
        h, w, c = self.image_shape
        arr = as_videos(sources, name="sources", size=h, value_range=(-1, 1))
        return self.translate(arr.reshape(-1, h, w, c)).reshape(arr.shape)


V2V_TEMPORAL_WEIGHT = 200.0  # chapter 07's temporal weight (bench_video.py compares others)


def course_video_pix2pix(temporal_weight: float = 0.0, width: int = 32) -> VideoPix2Pix:
    """Chapter 07's video-to-video model (edges -> 32x32 sprite clips), compiled as chapter
    05's pix2pix (Adam(2e-4, beta_1=0.5) for both networks). ``run_name``
    ``"ch07_vid2vid_per_frame"`` without the temporal loss, ``"ch07_vid2vid_temporal"``
    with it; ``batch_size`` 32 clips (64 frames a step)."""
    shape = (VIDEO_SIZE, VIDEO_SIZE, 1)
    model = VideoPix2Pix(
        build_pix2pix_generator(width, image_shape=shape),
        build_pix2pix_discriminator(shape, width),
        temporal_weight=temporal_weight,
    )
    model.compile()
    model.run_name = "ch07_vid2vid_" + ("temporal" if model.temporal_weight else "per_frame")
    model.batch_size = VideoPix2Pix.default_batch_size
    return model
