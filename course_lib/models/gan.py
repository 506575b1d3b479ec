"""Generative adversarial networks for Fashion-MNIST (28 x 28 x 1 images in [-1, 1]).

Five models, each a ``keras.Model`` with its own ``train_step`` so ``fit``,
:func:`course_lib.train.fit_resumable` (checkpoint and resume) and
:class:`course_lib.train.SampleGrid` work on them:

- :class:`GAN`: the classic generator-versus-discriminator game. With
  :func:`build_dcgan_generator` / :func:`build_dcgan_discriminator` it is a DCGAN;
  with :class:`StyleGenerator` it shows StyleGAN's ideas at small scale.
- :class:`ConditionalGAN`: pick the class, get that class.
- :class:`WGANGP`: a critic with a gradient penalty, several critic steps per
  generator step, and the critic's Wasserstein estimate tracked.
- :class:`CycleGAN`: unpaired translation between two image domains with
  cycle-consistency and identity losses.

The losses (:func:`discriminator_loss`, :func:`generator_loss`,
:func:`gradient_penalty`, :func:`cycle_consistency_loss`) are plain functions so the
notebook can show them and the exercises can check a learner's version against them.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


# --------------------------------------------------------------------------- checking


def check_images(images, *, name: str = "images") -> np.ndarray:
    """Check a batch of images for these GANs and return it as float32 (n, 28, 28, 1).

    The generators end in ``tanh``, so real images must be scaled to [-1, 1] too
    (``data.load_fashion_mnist(value_range=(-1, 1))``). Images in [0, 1] or [0, 255]
    are refused with a message saying so.
    """
    if isinstance(images, (tf.data.Dataset, str)) or images is None:
        raise TypeError(f"{name} must be an array of images, got {type(images).__name__}")
    if hasattr(images, "numpy"):
        images = images.numpy()
    arr = np.asarray(images)
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if arr.ndim == 3 and arr.shape[1:] == IMAGE_SHAPE[:2]:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{name} must have shape (n, 28, 28, 1) (or (n, 28, 28)); got {arr.shape}")
    if len(arr) == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or infinity")
    low, high = float(arr.min()), float(arr.max())
    if low < -1.01 or high > 1.01:
        raise ValueError(
            f"{name} range from {low:.3g} to {high:.3g}; these GANs need pixels in [-1, 1]: "
            "load them with data.load_fashion_mnist(value_range=(-1, 1))"
        )
    if len(arr) >= 16 and low >= 0.0:
        raise ValueError(
            f"{name} range from {low:.3g} to {high:.3g}, which looks like [0, 1]; these GANs "
            "need pixels in [-1, 1] (the generator ends in tanh): load them with "
            "data.load_fashion_mnist(value_range=(-1, 1))"
        )
    return arr


def check_labels(labels, num_classes: int = NUM_CLASSES, *, n: int | None = None) -> np.ndarray:
    """Check class labels (ints in 0 .. num_classes-1) and return them as int32 (n,)."""
    if hasattr(labels, "numpy"):
        labels = labels.numpy()
    arr = np.asarray(labels)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class numbers; got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"labels must be whole numbers (class indices); got dtype {arr.dtype}")
    bad = arr[(arr < 0) | (arr >= num_classes)]
    if bad.size:
        raise ValueError(
            f"unknown class label {int(bad[0])}: labels must be between 0 and {num_classes - 1}"
        )
    if n is not None and len(arr) != n:
        raise ValueError(f"got {len(arr)} labels for {n} images; need one label per image")
    return arr.astype(np.int32)


def _check_positive_int(value, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return int(value)


def _check_dataset_spec(dataset) -> None:
    spec = dataset.element_spec
    first = spec[0] if isinstance(spec, tuple) else spec
    shape = tuple(first.shape)[-3:]
    if shape != IMAGE_SHAPE:
        raise ValueError(f"the dataset's images must have shape (28, 28, 1); got {shape}")


def make_dataset(images, batch_size: int, labels=None, *, seed: int = 0) -> tf.data.Dataset:
    """Shuffled batches of images (and labels) for ``fit``; incomplete last batches dropped.

    Dropping the last, smaller batch keeps every step the same size, which WGAN-GP's
    critic steps rely on.
    """
    images = check_images(images)
    batch_size = _check_positive_int(batch_size, "batch_size")
    if batch_size > len(images):
        raise ValueError(f"batch_size {batch_size} is larger than the {len(images)} images")
    items = images if labels is None else (images, check_labels(labels, n=len(images)))
    ds = tf.data.Dataset.from_tensor_slices(items)
    ds = ds.shuffle(min(len(images), 20000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def make_unpaired_dataset(images_a, images_b, batch_size: int, *, seed: int = 0):
    """Batches ``(a, b)`` from two image sets shuffled separately: no pairs are implied."""
    a = check_images(images_a, name="images_a")
    b = check_images(images_b, name="images_b")
    batch_size = _check_positive_int(batch_size, "batch_size")
    if batch_size > min(len(a), len(b)):
        raise ValueError(f"batch_size {batch_size} is larger than the smaller domain")
    ds_a = tf.data.Dataset.from_tensor_slices(a).shuffle(len(a), seed=seed)
    ds_b = tf.data.Dataset.from_tensor_slices(b).shuffle(len(b), seed=seed + 1)
    ds = tf.data.Dataset.zip((ds_a, ds_b))
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- losses


def discriminator_loss(real_logits, fake_logits):
    """The detective's loss: say "real" (1) for real images and "fake" (0) for fakes.

    Binary cross-entropy on logits: ``-log sigmoid(real) - log(1 - sigmoid(fake))``,
    written with ``softplus`` so it never takes the log of 0. Averaged over the batch.
    """
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(
        tf.nn.softplus(fake_logits)
    )


def generator_loss(fake_logits):
    """The artist's loss (non-saturating): make the detective say "real" for the fakes.

    ``-log sigmoid(fake)``: steep when the detective is sure a fake is fake, so the
    generator still learns early on (``log(1 - sigmoid(fake))`` would be flat there).
    """
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def gradient_penalty(critic, real, fake, alpha=None):
    """WGAN-GP's penalty: ``mean((|grad critic(x_hat)| - 1)^2)`` at points between real and fake.

    ``x_hat = real + alpha (fake - real)`` with one ``alpha`` ~ U(0, 1) per image (pass
    ``alpha`` of shape (n, 1, 1, 1) to fix it). The batch size is read with
    ``tf.shape``, which also works inside a compiled graph where ``real.shape[0]`` is None.
    """
    real = tf.convert_to_tensor(real, tf.float32)
    fake = tf.convert_to_tensor(fake, tf.float32)
    if alpha is None:
        alpha = tf.random.uniform([tf.shape(real)[0], 1, 1, 1], 0.0, 1.0)
    between = real + tf.cast(alpha, tf.float32) * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(between)
        scores = critic(between, training=True)
    grads = tape.gradient(scores, between)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def cycle_consistency_loss(real, reconstructed):
    """Mean absolute difference between images and their round trip (A -> B -> A)."""
    return tf.reduce_mean(tf.abs(tf.convert_to_tensor(real) - reconstructed))


# --------------------------------------------------------------------------- architectures


def build_dcgan_generator(latent_dim: int = 64, width: int = 64, name: str = "generator"):
    """A lean DCGAN generator: noise (latent_dim,) -> image (28, 28, 1) in [-1, 1].

    Dense to 7x7xwidth, then two 4x4 transposed convolutions with stride 2 (7 -> 14 -> 28),
    batch norm and ReLU in between, tanh at the end.
    """
    z = keras.Input((latent_dim,), name="noise")
    x = layers.Dense(7 * 7 * width, use_bias=False)(z)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((7, 7, width))(x)
    x = layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(z, image, name=name)


class MinibatchStdDev(layers.Layer):
    """Add one feature map that says how different the images of the batch are.

    StyleGAN's discriminator ends this way: a generator that draws the same image for
    every z gives a batch with almost no spread, which this feature makes easy to catch.
    Real and fake images must then be judged in separate batches (as :class:`GAN` does).
    """

    def call(self, x):
        spread = tf.reduce_mean(tf.sqrt(tf.math.reduce_variance(x, axis=0) + 1e-8))
        return tf.concat([x, tf.ones_like(x[..., :1]) * spread], axis=-1)


def build_dcgan_discriminator(
    width: int = 64, name: str = "discriminator", channels: int = 1, minibatch_std: bool = False
):
    """A lean DCGAN discriminator (also WGAN-GP's critic): image -> one logit (score).

    Two 4x4 convolutions with stride 2 (28 -> 14 -> 7) and LeakyReLU, then one dense
    unit. No batch norm: it would mix the images of a batch, which the gradient
    penalty forbids and which the other GANs do not need. ``minibatch_std`` adds
    :class:`MinibatchStdDev` before the dense unit (the style generator needs it).
    """
    image = keras.Input((28, 28, channels), name="image")
    x = layers.Conv2D(width // 2, 4, strides=2, padding="same")(image)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(width, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(x)
    if minibatch_std:
        x = MinibatchStdDev()(x)
    x = layers.Flatten()(x)
    logit = layers.Dense(1)(x)
    return keras.Model(image, logit, name=name)


def build_tutorial_generator(latent_dim: int = 100):
    """The TensorFlow DCGAN tutorial's generator (the guide's), for the benchmark.

    Dense to 7x7x256, then 5x5 transposed convolutions with 128 (stride 1), 64 and 1
    filters (stride 2), batch norm and LeakyReLU, tanh output.
    """
    z = keras.Input((latent_dim,))
    x = layers.Dense(7 * 7 * 256, use_bias=False)(z)
    x = layers.LeakyReLU()(layers.BatchNormalization()(x))
    x = layers.Reshape((7, 7, 256))(x)
    for filters, stride in ((128, 1), (64, 2)):
        x = layers.Conv2DTranspose(filters, 5, strides=stride, padding="same", use_bias=False)(x)
        x = layers.LeakyReLU()(layers.BatchNormalization()(x))
    image = layers.Conv2DTranspose(
        1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
    )(x)
    return keras.Model(z, image, name="tutorial_generator")


def build_tutorial_discriminator():
    """The TensorFlow DCGAN tutorial's discriminator: 5x5 convs of 64 and 128, dropout."""
    image = keras.Input(IMAGE_SHAPE)
    x = image
    for filters in (64, 128):
        x = layers.Conv2D(filters, 5, strides=2, padding="same")(x)
        x = layers.Dropout(0.3)(layers.LeakyReLU()(x))
    logit = layers.Dense(1)(layers.Flatten()(x))
    return keras.Model(image, logit, name="tutorial_discriminator")


# --------------------------------------------------------------------------- StyleGAN ideas


class PixelNorm(layers.Layer):
    """Scale each latent vector to unit average square (StyleGAN's input normalisation)."""

    def call(self, x):
        return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + 1e-8)


def build_mapping_network(latent_dim: int = 64, w_dim: int = 64, depth: int = 4):
    """StyleGAN's mapping network: noise z -> style vector w, a small MLP.

    w does not have to follow a bell curve the way z does, so the generator can give
    its directions meanings (shape, brightness...) more freely.
    """
    z = keras.Input((latent_dim,))
    x = PixelNorm()(z)
    for _ in range(depth):
        x = layers.Dense(w_dim)(x)
        x = layers.LeakyReLU(0.2)(x)
    return keras.Model(z, x, name="mapping")


class ConstantInput(layers.Layer):
    """A learned 7x7 start image, the same for every sample (StyleGAN's constant input)."""

    def __init__(self, channels: int, size: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.size = channels, size

    def build(self, input_shape):
        self.const = self.add_weight(
            shape=(1, self.size, self.size, self.channels), initializer="random_normal"
        )

    def call(self, w):
        return tf.tile(self.const, [tf.shape(w)[0], 1, 1, 1])


class NoiseInjection(layers.Layer):
    """Add per-pixel random noise, scaled by a learned strength per channel.

    The noise decides small random details (the exact texture of a knit); ``scale``
    turns it down (0 = no noise) when generating.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(input_shape[-1],), initializer="zeros")

    def call(self, x, scale=1.0):
        shape = tf.concat([tf.shape(x)[:3], [1]], axis=0)
        noise = keras.random.normal(shape, seed=self.seed_generator)
        return x + scale * self.strength * noise


def adaptive_instance_norm(x, scale, bias, epsilon: float = 1e-5):
    """AdaIN's arithmetic: normalise each feature map of each image, then apply a style.

    ``x`` is (batch, height, width, channels); ``scale`` and ``bias`` are (batch,
    channels). Every channel of every image gets mean 0 and variance 1 over its pixels,
    is multiplied by its ``scale`` and shifted by its ``bias``.
    """
    mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    normalised = (x - mean) * tf.math.rsqrt(var + epsilon)
    return normalised * scale[:, None, None, :] + bias[:, None, None, :]


class AdaIN(layers.Layer):
    """Adaptive instance normalisation: the style ``w`` sets each channel's scale and shift.

    Each feature map is normalised to mean 0 and variance 1 per image, then multiplied
    by ``1 + scale(w)`` and shifted by ``bias(w)``, both learned linear maps of w. This
    is how the style reaches *every* layer of the generator. The maps start random, not
    zero: with zero maps every z would draw the same image at the start, and a GAN that
    starts collapsed onto one image tends to stay there.
    """

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        self.channels = x_shape[-1]
        self.affine = layers.Dense(2 * self.channels)
        self.affine.build(w_shape)

    def call(self, inputs):
        x, w = inputs
        scale, bias = tf.split(self.affine(w), 2, axis=-1)
        return adaptive_instance_norm(x, 1.0 + scale, bias)


class StyleGenerator(keras.Model):
    """StyleGAN's ideas in a 28x28 generator.

    - a **mapping network** turns noise z into a style w;
    - a **learned constant** 7x7 block is the start of every image;
    - **per-layer styles**: each of the ``num_styles`` layers gets its own w through
      :class:`AdaIN` (coarse layers at 7x7 set the shape, fine ones at 28x28 the detail);
    - **noise inputs** (:class:`NoiseInjection`) before every AdaIN;
    - **style mixing**: different w's for different layers, during training (with
      probability ``mixing_prob``) and in :meth:`mix`.
    """

    num_styles = 6

    def __init__(self, latent_dim=64, w_dim=64, width=64, mixing_prob=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.w_dim, self.mixing_prob = latent_dim, w_dim, mixing_prob
        self.mapping = build_mapping_network(latent_dim, w_dim)
        self.const = ConstantInput(width)
        channels = [width, width, width, width // 2, width // 2, width // 4]
        self.convs = [
            None if i == 0 else layers.Conv2D(c, 3, padding="same") for i, c in enumerate(channels)
        ]
        self.upsample_before = [False, False, True, False, True, False]
        self.noises = [NoiseInjection(seed) for _ in channels]
        self.styles = [AdaIN() for _ in channels]
        self.to_image = layers.Conv2D(1, 1, activation="tanh")
        self.upsample = layers.UpSampling2D(interpolation="bilinear")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def synthesize(self, ws, noise_scale=1.0, training=None):
        """Image from one style per layer: ``ws`` has shape (batch, num_styles, w_dim)."""
        x = self.const(ws[:, 0])
        for i in range(self.num_styles):
            if self.upsample_before[i]:
                x = self.upsample(x)
            if self.convs[i] is not None:
                x = self.convs[i](x)
            x = self.noises[i](x, scale=noise_scale)
            x = tf.nn.leaky_relu(x, 0.2)
            x = self.styles[i]([x, ws[:, i]])
        return self.to_image(x)

    def broadcast(self, w):
        """The same style w for every layer: (batch, w_dim) -> (batch, num_styles, w_dim)."""
        return tf.tile(w[:, None, :], [1, self.num_styles, 1])

    def call(self, z, training=None):
        w = self.mapping(z, training=training)
        ws = self.broadcast(w)
        if training and self.mixing_prob > 0:
            # style mixing regularisation: switch to a second style after a random layer
            batch = tf.shape(z)[0]
            w2 = self.mapping(
                keras.random.normal([batch, self.latent_dim], seed=self.seed_generator)
            )
            cut = tf.random.uniform([batch, 1], 1, self.num_styles, dtype=tf.int32)
            mix = tf.random.uniform([batch, 1]) < self.mixing_prob
            use_second = tf.logical_and(mix, tf.range(self.num_styles)[None, :] >= cut)
            ws = tf.where(use_second[..., None], self.broadcast(w2), ws)
        return self.synthesize(ws, training=training)

    def mix(self, z_coarse, z_fine, crossover: int = 2, noise_scale: float = 0.0):
        """Images with styles 0..crossover-1 from ``z_coarse`` and the rest from ``z_fine``."""
        if not isinstance(crossover, int) or not 0 <= crossover <= self.num_styles:
            raise ValueError(f"crossover must be an int in 0..{self.num_styles}; got {crossover!r}")
        z_coarse, z_fine = (_check_latents(z, self.latent_dim) for z in (z_coarse, z_fine))
        if z_coarse.shape != z_fine.shape:
            raise ValueError(
                f"z_coarse and z_fine must have the same shape; got "
                f"{z_coarse.shape} and {z_fine.shape}"
            )
        w_a, w_b = self.mapping(z_coarse), self.mapping(z_fine)
        ws = tf.concat(
            [self.broadcast(w_a)[:, :crossover], self.broadcast(w_b)[:, crossover:]], axis=1
        )
        return self.synthesize(ws, noise_scale=noise_scale).numpy()


# --------------------------------------------------------------------------- the GANs


def _check_latents(z, latent_dim: int) -> np.ndarray:
    arr = np.asarray(z.numpy() if hasattr(z, "numpy") else z, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != latent_dim:
        raise ValueError(f"noise must have shape (n, {latent_dim}); got {arr.shape}")
    return arr


def latent_noise(n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """``n`` fixed noise vectors (standard normal), the same for the same seed."""
    n = _check_positive_int(n, "n")
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def interpolate_latents(z_start, z_end, steps: int = 8, spherical: bool = True) -> np.ndarray:
    """Points on the way from one noise vector to another, ends included: (steps, dim).

    ``spherical`` walks along the great circle (slerp), which keeps the length a
    typical noise vector has; a straight line passes close to the origin, where the
    generator saw few inputs during training.
    """
    a = np.asarray(z_start, np.float64).ravel()
    b = np.asarray(z_end, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"z_start and z_end must have the same size; got {a.size} and {b.size}")
    steps = _check_positive_int(steps, "steps")
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if not spherical:
        return ((1 - t) * a + t * b).astype(np.float32)
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    return out.astype(np.float32)


class AdversarialModel(keras.Model):
    """What the course's adversarial models share: two optimizers and their logged numbers.

    ``logged`` names the running means that ``train_step`` updates (through
    :meth:`_update`) and ``fit`` prints, e.g. ``("d_loss", "g_loss")``.
    """

    def __init__(self, logged, **kwargs):
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in logged}

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Set the generators' and the discriminators' optimizers (Adam(2e-4, beta_1=0.5) each)."""
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _update(self, **values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class GAN(AdversarialModel):
    """A generator and a discriminator trained against each other (non-saturating loss).

    ``generator`` maps noise (n, latent_dim) to images (n, 28, 28, 1) in [-1, 1];
    ``discriminator`` maps images to one logit each. Compile with two optimizers::

        gan = GAN(build_dcgan_generator(), build_dcgan_discriminator(), latent_dim=64)
        gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                    d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
        fit_resumable(gan, images, name="dcgan", epochs=10, batch_size=128)

    Each training step: one discriminator update on a real and a fake batch, then one
    generator update on a fresh fake batch. Logged: ``d_loss``, ``g_loss`` and
    ``d_real`` / ``d_fake``, the detective's average belief that an image is real.
    """

    def __init__(self, generator, discriminator, latent_dim: int = 64, seed=None, **kwargs):
        super().__init__(("d_loss", "g_loss", "d_real", "d_fake"), **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = _check_positive_int(latent_dim, "latent_dim")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _noise(self, batch):
        return keras.random.normal([batch, self.latent_dim], seed=self.seed_generator)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, data):
        real = data[0] if isinstance(data, tuple) else data
        batch = tf.shape(real)[0]
        fake = self.generator(self._noise(batch), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits)
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply(grads, self.discriminator.trainable_variables)

        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(
                self.generator(self._noise(batch), training=True), training=True
            )
            g_loss = generator_loss(fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        return self._update(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real=tf.reduce_mean(tf.sigmoid(real_logits)),
            d_fake=tf.reduce_mean(tf.sigmoid(fake_logits)),
        )

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """``keras.Model.fit`` that first checks the images (shape, range [-1, 1]).

        Arrays are turned into shuffled batches by :func:`make_dataset` (default batch
        size 128); a ``tf.data.Dataset`` is used as it is.
        """
        self._ready()
        if isinstance(x, tf.data.Dataset):
            _check_dataset_spec(x)
            kwargs.pop("shuffle", None)
            return super().fit(x, shuffle=False, **kwargs)
        if y is not None:
            raise ValueError(f"{type(self).__name__} learns from images alone: pass no y")
        seed = int(kwargs.pop("shuffle_seed", 0))
        kwargs["shuffle"] = False  # the dataset shuffles itself
        return super().fit(make_dataset(x, batch_size or 128, seed=seed), **kwargs)

    def _ready(self):
        """Create the networks' variables and mark the model built (so it can be saved)."""
        if not self.generator.built:
            self.generator(self._noise(2))
        self.built = True

    def build_for_resume(self, sample=None):
        """Create every variable (both optimizers') so a checkpoint can be loaded."""
        self._ready()
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def generate(self, z, noise_scale=None) -> np.ndarray:
        """Images (n, 28, 28, 1) in [-1, 1] for noise ``z`` (n, latent_dim), or an int n.

        An int draws n random noise vectors (seeded from the model's seed generator).
        """
        if isinstance(z, (int, np.integer)) and not isinstance(z, bool):
            z = self._noise(_check_positive_int(z, "n")).numpy()
        z = _check_latents(z, self.latent_dim)
        if noise_scale is not None and isinstance(self.generator, StyleGenerator):
            ws = self.generator.broadcast(self.generator.mapping(z))
            return self.generator.synthesize(ws, noise_scale=noise_scale).numpy()
        return self.generator.predict(z, batch_size=500, verbose=0)


def build_conditional_generator(
    latent_dim: int = 64, num_classes: int = NUM_CLASSES, width: int = 64, embed_dim: int = 16
):
    """DCGAN generator that also takes a class label: an embedding of it joins the noise."""
    z = keras.Input((latent_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    code = layers.Embedding(num_classes, embed_dim)(label)
    x = layers.Concatenate()([z, code])
    x = layers.Dense(7 * 7 * width, use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Reshape((7, 7, width))(x)
    x = layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model([z, label], image, name="conditional_generator")


class LabelChannels(layers.Layer):
    """Append the one-hot label to the image as ``num_classes`` constant channels."""

    def __init__(self, num_classes: int = NUM_CLASSES, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def call(self, inputs):
        image, label = inputs
        onehot = tf.one_hot(tf.cast(label, tf.int32), self.num_classes)
        maps = tf.ones_like(image[..., :1]) * onehot[:, None, None, :]
        return tf.concat([image, maps], axis=-1)


def build_conditional_discriminator(num_classes: int = NUM_CLASSES, width: int = 64):
    """Discriminator that sees the image *and* the label: "is this a real shoe?"."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    label = keras.Input((), dtype="int32", name="label")
    both = LabelChannels(num_classes)([image, label])
    body = build_dcgan_discriminator(width, name="conditional_body", channels=1 + num_classes)
    return keras.Model([image, label], body(both), name="conditional_discriminator")


class ConditionalGAN(GAN):
    """A GAN whose generator and discriminator both get the class label.

    Train with ``fit(images, labels)``; generate with ``generate(labels, z)``. Because the
    discriminator judges (image, label) pairs, a sneaker with the label "bag" is a fake.
    """

    def __init__(self, generator, discriminator, latent_dim=64, num_classes=NUM_CLASSES, **kw):
        super().__init__(generator, discriminator, latent_dim, **kw)
        self.num_classes = num_classes

    def train_step(self, data):
        real, labels = data[0], tf.cast(data[1], tf.int32)
        batch = tf.shape(real)[0]
        fake = self.generator([self._noise(batch), labels], training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator([real, labels], training=True)
            fake_logits = self.discriminator([fake, labels], training=True)
            d_loss = discriminator_loss(real_logits, fake_logits)
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply(grads, self.discriminator.trainable_variables)

        with tf.GradientTape() as tape:
            fake = self.generator([self._noise(batch), labels], training=True)
            fake_logits = self.discriminator([fake, labels], training=True)
            g_loss = generator_loss(fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        return self._update(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real=tf.reduce_mean(tf.sigmoid(real_logits)),
            d_fake=tf.reduce_mean(tf.sigmoid(fake_logits)),
        )

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """Train on ``x`` images in [-1, 1] with ``y`` their class labels (0..num_classes-1)."""
        self._ready()
        if isinstance(x, tf.data.Dataset):
            _check_dataset_spec(x)
            kwargs.pop("shuffle", None)
            return super(GAN, self).fit(x, shuffle=False, **kwargs)
        if y is None:
            raise ValueError("a conditional GAN needs the labels: fit(images, labels)")
        check_labels(y, self.num_classes)
        seed = int(kwargs.pop("shuffle_seed", 0))
        kwargs["shuffle"] = False  # the dataset shuffles itself
        ds = make_dataset(x, batch_size or 128, labels=y, seed=seed)
        return super(GAN, self).fit(ds, **kwargs)

    def _ready(self):  # both networks are functional models, built when they are made
        self.built = True

    def generate(self, labels, z=None) -> np.ndarray:
        """One image per label (ints in 0..num_classes-1); ``z`` fixes the noise."""
        labels = check_labels(labels, self.num_classes)
        if z is None:
            z = self._noise(len(labels)).numpy()
        z = _check_latents(z, self.latent_dim)
        if len(z) != len(labels):
            raise ValueError(f"got {len(z)} noise vectors for {len(labels)} labels")
        return self.generator.predict([z, labels], batch_size=500, verbose=0)


class WGANGP(GAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al., 2017).

    The *critic* gives real images high scores and fakes low ones, with no sigmoid; the
    gap ``mean(critic(real)) - mean(critic(fake))`` estimates the Wasserstein distance
    between real and generated images (logged as ``w_estimate``: it should shrink as
    the generator improves). The penalty keeps the critic's slope near 1, which that
    estimate needs. Each ``fit`` step splits its batch into ``n_critic`` parts: one
    critic update per part, then one generator update.
    """

    def __init__(self, generator, critic, latent_dim=64, n_critic=5, gp_weight=10.0, **kwargs):
        super().__init__(generator, critic, latent_dim, **kwargs)
        self.n_critic = _check_positive_int(n_critic, "n_critic")
        self.gp_weight = float(gp_weight)
        self.trackers = {  # the critic's numbers replace the discriminator's
            name: keras.metrics.Mean(name=name)
            for name in ("critic_loss", "g_loss", "gp", "w_estimate")
        }

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Adam(1e-4, beta_1=0, beta_2=0.9) for both unless given (the paper's setting)."""
        super().compile(
            g_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
            d_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
            **kwargs,
        )

    @property
    def critic(self):
        return self.discriminator

    def train_step(self, data):
        real_all = data[0] if isinstance(data, tuple) else data
        part = tf.shape(real_all)[0] // self.n_critic
        for i in range(self.n_critic):
            real = real_all[i * part : (i + 1) * part]
            fake = self.generator(self._noise(part), training=True)
            with tf.GradientTape() as tape:
                real_score = tf.reduce_mean(self.critic(real, training=True))
                fake_score = tf.reduce_mean(self.critic(fake, training=True))
                gp = gradient_penalty(self.critic, real, fake)
                critic_loss = fake_score - real_score + self.gp_weight * gp
            grads = tape.gradient(critic_loss, self.critic.trainable_variables)
            self.d_optimizer.apply(grads, self.critic.trainable_variables)

        with tf.GradientTape() as tape:
            fake = self.generator(self._noise(part), training=True)
            g_loss = -tf.reduce_mean(self.critic(fake, training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        return self._update(
            critic_loss=critic_loss, g_loss=g_loss, gp=gp, w_estimate=real_score - fake_score
        )

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """As :meth:`GAN.fit`; ``batch_size`` (default 64 x n_critic) must split into
        ``n_critic`` critic batches."""
        if batch_size is None:
            batch_size = 64 * self.n_critic
        if not isinstance(x, tf.data.Dataset) and batch_size % self.n_critic:
            raise ValueError(
                f"batch_size {batch_size} must be a multiple of n_critic={self.n_critic}: each "
                "step splits its batch into one part per critic update"
            )
        return super().fit(x, y, batch_size=batch_size, **kwargs)


# --------------------------------------------------------------------------- CycleGAN


def build_cycle_generator(width: int = 32, name: str = "translator"):
    """A small U-Net image translator (28x28 -> 28x28) for CycleGAN.

    Two stride-2 convolutions down (28 -> 14 -> 7), a residual block at 7x7, two
    transposed convolutions up; the 14x14 features skip across so edges survive.
    Instance normalisation (group norm with one group per channel) as in CycleGAN.
    """

    def norm():
        return layers.GroupNormalization(groups=-1, epsilon=1e-5)

    image = keras.Input(IMAGE_SHAPE)
    d1 = layers.ReLU()(norm()(layers.Conv2D(width, 4, strides=2, padding="same")(image)))
    d2 = layers.ReLU()(norm()(layers.Conv2D(2 * width, 4, strides=2, padding="same")(d1)))
    r = layers.ReLU()(norm()(layers.Conv2D(2 * width, 3, padding="same")(d2)))
    r = layers.Add()([d2, norm()(layers.Conv2D(2 * width, 3, padding="same")(r))])
    u1 = layers.Conv2DTranspose(width, 4, strides=2, padding="same")(r)
    u1 = layers.Concatenate()([layers.ReLU()(norm()(u1)), d1])
    out = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(u1)
    return keras.Model(image, out, name=name)


def build_patch_discriminator(width: int = 32, name: str = "patch_discriminator"):
    """A PatchGAN discriminator: one real/fake score for each 7x7 patch region."""
    image = keras.Input(IMAGE_SHAPE)
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same")(image))
    x = layers.Conv2D(2 * width, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(layers.GroupNormalization(groups=-1)(x))
    scores = layers.Conv2D(1, 3, padding="same")(x)
    return keras.Model(image, scores, name=name)


class CycleGAN(AdversarialModel):
    """Unpaired translation between domain A and domain B (Zhu et al., 2017).

    ``g_ab`` turns A images into B images and ``g_ba`` goes back; ``d_a`` and ``d_b``
    judge each domain (least-squares GAN loss, as in the paper). Two extra losses make
    the translation keep the content:

    - cycle consistency: A -> B -> A must give the A image back (weight ``cycle_weight``);
    - identity: a B image fed to ``g_ab`` should come out unchanged (``identity_weight``).

    Train with ``fit(images_a, images_b)``: two unpaired image sets, shuffled separately.
    ``compile``'s ``g_optimizer`` updates both generators, ``d_optimizer`` both discriminators.
    """

    def __init__(self, g_ab, g_ba, d_a, d_b, cycle_weight=10.0, identity_weight=5.0, **kwargs):
        super().__init__(("g_loss", "d_loss", "cycle_loss", "identity_loss"), **kwargs)
        self.g_ab, self.g_ba, self.d_a, self.d_b = g_ab, g_ba, d_a, d_b
        self.cycle_weight, self.identity_weight = float(cycle_weight), float(identity_weight)

    @property
    def _g_vars(self):
        return self.g_ab.trainable_variables + self.g_ba.trainable_variables

    @property
    def _d_vars(self):
        return self.d_a.trainable_variables + self.d_b.trainable_variables

    def call(self, a, training=False):
        return self.g_ab(a, training=training)

    def cycle_losses(self, real_a, real_b, training=False):
        """(cycle loss, identity loss) of the current generators on two batches."""
        rec_a = self.g_ba(self.g_ab(real_a, training=training), training=training)
        rec_b = self.g_ab(self.g_ba(real_b, training=training), training=training)
        cycle = cycle_consistency_loss(real_a, rec_a) + cycle_consistency_loss(real_b, rec_b)
        identity = cycle_consistency_loss(
            real_b, self.g_ab(real_b, training=training)
        ) + cycle_consistency_loss(real_a, self.g_ba(real_a, training=training))
        return cycle, identity

    def train_step(self, data):
        real_a, real_b = data
        with tf.GradientTape() as tape:
            fake_b = self.g_ab(real_a, training=True)
            fake_a = self.g_ba(real_b, training=True)
            adv = tf.reduce_mean(tf.square(self.d_b(fake_b, training=True) - 1.0)) + (
                tf.reduce_mean(tf.square(self.d_a(fake_a, training=True) - 1.0))
            )
            cycle, identity = self.cycle_losses(real_a, real_b, training=True)
            g_loss = adv + self.cycle_weight * cycle + self.identity_weight * identity
        grads = tape.gradient(g_loss, self._g_vars)
        self.g_optimizer.apply(grads, self._g_vars)

        with tf.GradientTape() as tape:
            d_loss = 0.0
            for disc, real, fake in ((self.d_a, real_a, fake_a), (self.d_b, real_b, fake_b)):
                d_loss += 0.5 * (
                    tf.reduce_mean(tf.square(disc(real, training=True) - 1.0))
                    + tf.reduce_mean(tf.square(disc(fake, training=True)))
                )
        grads = tape.gradient(d_loss, self._d_vars)
        self.d_optimizer.apply(grads, self._d_vars)
        return self._update(g_loss=g_loss, d_loss=d_loss, cycle_loss=cycle, identity_loss=identity)

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """Train on ``x`` (domain A images) and ``y`` (domain B images), both in [-1, 1]."""
        self.built = True
        if isinstance(x, tf.data.Dataset):
            kwargs.pop("shuffle", None)
            return super().fit(x, shuffle=False, **kwargs)
        if y is None:
            raise ValueError("CycleGAN needs two image sets: fit(images_a, images_b)")
        seed = int(kwargs.pop("shuffle_seed", 0))
        kwargs["shuffle"] = False  # the dataset shuffles itself
        return super().fit(make_unpaired_dataset(x, y, batch_size or 64, seed=seed), **kwargs)

    def build_for_resume(self, sample=None):
        self.built = True
        self.g_optimizer.build(self._g_vars)
        self.d_optimizer.build(self._d_vars)

    def translate(self, images, direction: str = "a2b") -> np.ndarray:
        """Translate images in [-1, 1]: ``"a2b"`` (with g_ab) or ``"b2a"`` (with g_ba)."""
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"direction must be 'a2b' or 'b2a'; got {direction!r}")
        arr = check_images(images)
        model = self.g_ab if direction == "a2b" else self.g_ba
        return model.predict(arr, batch_size=500, verbose=0)
