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

from course_lib.conventions import (
    IMAGE_SHAPE,
    NUM_CLASSES,
    as_codes,
    as_images,
    as_labels,
    as_number,
    as_positive_int,
    as_seed,
    check_not_unit_range,
)
from course_lib.models.base import CourseModel, copy_network, split_batch

# shared with the VAE (latent.py); notebooks also find them here
from course_lib.models.latent import interpolate as interpolate
from course_lib.models.latent import latent_noise
from course_lib.models.unet import build_unet

# --------------------------------------------------------------------------- data


def check_images(images, *, name: str = "images") -> np.ndarray:
    """Check a batch of real images for these GANs and return it as float32 (n, 28, 28, 1).

    The generators end in ``tanh``, so real images must be scaled to [-1, 1] too
    (``data.load_fashion_mnist(value_range=(-1, 1))``). Images in [0, 1] or [0, 255]
    are refused with a message saying so.
    """
    arr = as_images(images, name=name, value_range=(-1, 1))
    check_not_unit_range(arr, name)
    return arr


def make_dataset(images, batch_size: int, labels=None, *, seed: int = 0) -> tf.data.Dataset:
    """Shuffled batches of images (and labels) for ``fit``; incomplete last batches dropped.

    Dropping the last, smaller batch keeps every step the same size, which WGAN-GP's
    critic steps rely on.
    """
    images = check_images(images)
    batch_size = as_positive_int(batch_size, "batch_size")
    if batch_size > len(images):
        raise ValueError(f"batch_size {batch_size} is larger than the {len(images)} images")
    items = images if labels is None else (images, as_labels(labels, n=len(images)))
    ds = tf.data.Dataset.from_tensor_slices(items)
    ds = ds.shuffle(min(len(images), 20000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def make_unpaired_dataset(images_a, images_b, batch_size: int, *, seed: int = 0):
    """Batches ``(a, b)`` from two image sets shuffled separately: no pairs are implied."""
    a = check_images(images_a, name="images_a")
    b = check_images(images_b, name="images_b")
    batch_size = as_positive_int(batch_size, "batch_size")
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
        z_coarse, z_fine = (as_codes(z, self.latent_dim, name="noise") for z in (z_coarse, z_fine))
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


class AdversarialModel(CourseModel):
    """What the course's adversarial models share: two optimizers, one per side.

    ``compile(g_optimizer=..., d_optimizer=...)``; the numbers a step reports are named
    when the model is made (``logged``) and kept by :class:`CourseModel`.
    """

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Set the generators' and the discriminators' optimizers (Adam(2e-4, beta_1=0.5) each)."""
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)


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
    The same step trains :class:`ConditionalGAN`, whose networks also get the labels.

    ``ema_decay`` (e.g. 0.99) keeps a second copy of the generator whose weights are an
    exponential moving average of the trained ones, updated after every generator step;
    ``generate`` and ``sample`` then draw with that copy. The average smooths out the
    back-and-forth of the game, so its images are steadier and usually better.
    """

    conditional = False
    logged = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(
        self, generator, discriminator, latent_dim: int = 64, seed=None, ema_decay=None, **kwargs
    ):
        super().__init__(self.logged, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = as_positive_int(latent_dim, "latent_dim")
        self.seed_generator = keras.random.SeedGenerator(as_seed(seed))
        self.ema_decay, self.ema_generator = None, None
        if ema_decay is not None:
            self.ema_decay = as_number(ema_decay, "ema_decay", low=0.0, high=1.0, high_open=True)
            try:
                twin = copy_network(generator)
            except (TypeError, ValueError, NotImplementedError) as err:
                raise ValueError(
                    "ema_decay needs a functional generator (keras.Model(inputs, outputs)) it "
                    f"can copy; got {type(generator).__name__} ({err})"
                ) from None
            twin.trainable = False
            self.ema_generator = twin

    @property
    def sampler(self):
        """The generator that makes the images to look at: the EMA copy when there is one."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def update_ema(self):
        """Move the EMA generator's weights towards the trained ones (no-op without EMA).

        The decay warms up as (1 + k) / (10 + k) over the first generator steps k, so the
        average does not keep the random start for long, then stays at ``ema_decay``.
        """
        if self.ema_generator is None:
            return
        k = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + k) / (10.0 + k))
        for ema_w, w in zip(self.ema_generator.weights, self.generator.weights, strict=True):
            ema_w.assign(decay * ema_w + (1.0 - decay) * w)

    def _noise(self, batch):
        return keras.random.normal([batch, self.latent_dim], seed=self.seed_generator)

    def call(self, z, training=False):
        return (self.generator if training else self.sampler)(z, training=training)

    def make_fakes(self, z, labels=None, training=True):
        """The generator's images for noise ``z`` (and labels, for a conditional GAN)."""
        return self.generator(z if labels is None else [z, labels], training=training)

    def judge(self, images, labels=None, training=True):
        """The discriminator's logits for ``images`` (and labels, for a conditional GAN)."""
        return self.discriminator(images if labels is None else [images, labels], training=training)

    def train_step(self, data):
        real, labels = split_batch(data)
        labels = tf.cast(labels, tf.int32) if self.conditional else None
        batch = tf.shape(real)[0]
        fake = self.make_fakes(self._noise(batch), labels)
        with tf.GradientTape() as tape:
            real_logits = self.judge(real, labels)
            fake_logits = self.judge(fake, labels)
            d_loss = discriminator_loss(real_logits, fake_logits)
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply(grads, self.discriminator.trainable_variables)

        with tf.GradientTape() as tape:
            fake_logits = self.judge(self.make_fakes(self._noise(batch), labels), labels)
            g_loss = generator_loss(fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        self.update_ema()
        return self.record(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real=tf.reduce_mean(tf.sigmoid(real_logits)),
            d_fake=tf.reduce_mean(tf.sigmoid(fake_logits)),
        )

    # -- what the base class asks of a family --
    def check_data(self, x, y=None):
        """Real images in [-1, 1]; labels for a conditional GAN, none otherwise."""
        x = check_images(x, name="x")
        if not self.conditional:
            if y is not None:
                raise ValueError(f"{type(self).__name__} learns from images alone: pass no y")
            return x, None
        if y is None:
            raise ValueError("a conditional GAN needs the labels: fit(images, labels)")
        return x, as_labels(y, self.num_classes, n=len(x))

    def make_dataset(self, x, y, batch_size, seed):
        return make_dataset(x, batch_size, labels=y, seed=seed)

    def build_networks(self):
        if not self.generator.built:  # a subclassed generator (the style generator)
            self.generator(self._noise(2))
        self.built = True

    def optimizer_variables(self):
        return [
            (self.g_optimizer, self.generator.trainable_variables),
            (self.d_optimizer, self.discriminator.trainable_variables),
        ]

    # -- making images --
    def generate(self, z, noise_scale=None) -> np.ndarray:
        """Images (n, 28, 28, 1) in [-1, 1] for noise ``z`` (n, latent_dim), or an int n.

        An int draws n random noise vectors (seeded from the model's seed generator).
        """
        if isinstance(z, (int, np.integer)) and not isinstance(z, bool):
            z = self._noise(as_positive_int(z, "n")).numpy()
        z = as_codes(z, self.latent_dim, name="noise")
        if noise_scale is not None and isinstance(self.generator, StyleGenerator):
            ws = self.generator.broadcast(self.generator.mapping(z))
            return self.generator.synthesize(ws, noise_scale=noise_scale).numpy()
        return self.sampler.predict(z, batch_size=500, verbose=0)

    def sample(self, n: int, *, seed=None, labels=None) -> np.ndarray:
        """``n`` new images in [-1, 1]; ``seed`` fixes the noise (None: fresh noise)."""
        n = as_positive_int(n, "n")
        z = self._noise(n).numpy() if seed is None else latent_noise(n, self.latent_dim, seed)
        if self.conditional:
            labels = np.arange(n) % self.num_classes if labels is None else labels
            labels = np.broadcast_to(labels, (n,)) if np.ndim(labels) == 0 else labels
            return self.generate(labels, z)
        if labels is not None:
            raise ValueError(f"{type(self).__name__} is unconditional: it takes no labels")
        return self.generate(z)


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
    :meth:`GAN.train_step` trains it: the labels travel with every call to either network.
    """

    conditional = True

    def __init__(self, generator, discriminator, latent_dim=64, num_classes=NUM_CLASSES, **kw):
        super().__init__(generator, discriminator, latent_dim, **kw)
        self.num_classes = as_positive_int(num_classes, "num_classes")

    def call(self, inputs, training=False):
        return (self.generator if training else self.sampler)(inputs, training=training)

    def generate(self, labels, z=None) -> np.ndarray:
        """One image per label (ints in 0..num_classes-1); ``z`` fixes the noise."""
        labels = as_labels(labels, self.num_classes)
        if z is None:
            z = self._noise(len(labels)).numpy()
        z = as_codes(z, self.latent_dim, name="noise")
        if len(z) != len(labels):
            raise ValueError(f"got {len(z)} noise vectors for {len(labels)} labels")
        return self.sampler.predict([z, labels], batch_size=500, verbose=0)


class WGANGP(GAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al., 2017).

    The *critic* gives real images high scores and fakes low ones, with no sigmoid; the
    gap ``mean(critic(real)) - mean(critic(fake))`` estimates the Wasserstein distance
    between real and generated images (logged as ``w_estimate``: it should shrink as
    the generator improves). The penalty keeps the critic's slope near 1, which that
    estimate needs. Each ``fit`` step splits its batch into ``n_critic`` parts: one
    critic update per part, then one generator update.
    """

    logged = ("critic_loss", "g_loss", "gp", "w_estimate")  # the critic's numbers

    def __init__(self, generator, critic, latent_dim=64, n_critic=5, gp_weight=10.0, **kwargs):
        super().__init__(generator, critic, latent_dim, **kwargs)
        self.n_critic = as_positive_int(n_critic, "n_critic")
        self.gp_weight = as_number(gp_weight, "gp_weight", low=0.0)

    @property
    def default_batch_size(self):
        return 64 * self.n_critic

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
        real_all, _ = split_batch(data)
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
        self.update_ema()
        return self.record(
            critic_loss=critic_loss, g_loss=g_loss, gp=gp, w_estimate=real_score - fake_score
        )

    def make_dataset(self, x, y, batch_size, seed):
        """As :meth:`GAN.make_dataset`; ``batch_size`` (default 64 x n_critic) must split
        into ``n_critic`` critic batches."""
        if batch_size % self.n_critic:
            raise ValueError(
                f"batch_size {batch_size} must be a multiple of n_critic={self.n_critic}: each "
                "step splits its batch into one part per critic update"
            )
        return super().make_dataset(x, y, batch_size, seed)


# --------------------------------------------------------------------------- CycleGAN


def build_cycle_generator(width: int = 32, name: str = "translator", *, image_shape=IMAGE_SHAPE):
    """A small U-Net image translator (28x28 -> 28x28, tanh) for CycleGAN; ``image_shape``
    sets another size (its sides divisible by 4; chapter 07 translates 32x32 frames).

    The course's one U-Net (:func:`course_lib.models.unet.build_unet`), lean: no
    full-size stem (``full_size=False``), ``width`` filters at 14x14 and ``2 width`` at
    7x7, one residual block at 7x7 and none on the way up, a skip connection at 14x14 so
    edges survive, instance normalisation and ReLU as in CycleGAN, and no timestep: it
    translates in one pass.
    """
    return build_unet(
        (width, width, 2 * width),
        image_shape=tuple(image_shape),
        blocks=(0, 0, 1),
        up_blocks=(0, 0),
        full_size=False,
        timestep=False,
        norm="instance",
        activation="relu",
        out_activation="tanh",
        zero_output=False,
        name=name,
    )


def build_patch_discriminator(
    width: int = 32, name: str = "patch_discriminator", *, image_shape=IMAGE_SHAPE
):
    """A PatchGAN discriminator: one real/fake score for each patch region (7x7 scores
    for a 28x28 image). pix2pix (chapter 05) gives it an input and an output side by side
    as channels (``image_shape=(28, 28, 2)``)."""
    image = keras.Input(tuple(image_shape))
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
        return self.record(g_loss=g_loss, d_loss=d_loss, cycle_loss=cycle, identity_loss=identity)

    default_batch_size = 64

    def check_data(self, x, y=None):
        """``x``: domain A images, ``y``: domain B images, both in [-1, 1]; no pairs implied."""
        if y is None:
            raise ValueError("CycleGAN needs two image sets: fit(images_a, images_b)")
        return check_images(x, name="images_a"), check_images(y, name="images_b")

    def make_dataset(self, x, y, batch_size, seed):
        return make_unpaired_dataset(x, y, batch_size, seed=seed)

    def optimizer_variables(self):
        return [(self.g_optimizer, self._g_vars), (self.d_optimizer, self._d_vars)]

    def translate(self, images, direction: str = "a2b") -> np.ndarray:
        """Translate images in [-1, 1]: ``"a2b"`` (with g_ab) or ``"b2a"`` (with g_ba)."""
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"direction must be 'a2b' or 'b2a'; got {direction!r}")
        arr = check_images(images)
        model = self.g_ab if direction == "a2b" else self.g_ba
        return model.predict(arr, batch_size=500, verbose=0)


# --------------------------------------------------------------------------- presets


def course_dcgan(latent_dim: int = 64, width: int = 64, ema_decay: float | None = None) -> GAN:
    """Chapter 01's DCGAN, compiled, as the notebook and the benchmark both train it.

    4x4 kernels and ``width`` filters at 7x7 (lean: many times faster on a CPU than the
    TensorFlow tutorial's 5x5 kernels and 256 filters), Adam(2e-4, beta_1=0.5) for both
    networks. ``ema_decay`` (e.g. 0.99) draws images from an exponential moving average
    of the generator's weights instead; in the 4-minute benchmark it did not help (see
    benchmarks/dcgan_vs_tutorial.py). The model carries its run name (``run_name``) and
    batch size (``batch_size``), so every caller trains the same run.
    """
    model = GAN(
        build_dcgan_generator(latent_dim, width),
        build_dcgan_discriminator(width),
        latent_dim,
        ema_decay=ema_decay,
    )
    model.compile(
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    model.run_name = "ch01_dcgan" if ema_decay is None else "ch01_dcgan_ema"
    model.batch_size = 128
    return model


def tutorial_dcgan(latent_dim: int = 100) -> GAN:
    """The TensorFlow tutorial's DCGAN (which the guide copies), compiled as it does it.

    5x5 kernels, 256 filters at 7x7, dropout, Adam(1e-4) for both networks, batch 256:
    the slow baseline the chapter's benchmark compares :func:`course_dcgan` against.
    """
    model = GAN(build_tutorial_generator(latent_dim), build_tutorial_discriminator(), latent_dim)
    model.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.Adam(1e-4))
    model.run_name, model.batch_size = "ch01_tutorial_dcgan", 256
    return model
