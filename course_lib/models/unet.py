"""The course's one U-Net: diffusion's denoiser, CycleGAN's translator, pix2pix's generator.

A U-Net squeezes an image down through a few levels (each half the size of the one
above), then grows it back up; at each level on the way up it is handed the features
the way down had at that size (the "skip connections"), so fine detail survives the
squeeze. :func:`build_unet` builds one from a list of widths, one per level, in a loop:

* a diffusion model tells it the timestep ``t`` (and a class label), which enter every
  residual block as a scale and shift (:func:`res_block`);
* a conditioning image (a blurry low-resolution photo for super-resolution, say) is
  laid beside the input as extra channels;
* an image-to-image translator (CycleGAN, pix2pix) takes neither and ends in ``tanh``.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from course_lib.conventions import IMAGE_SHAPE, as_int, as_positive_int

NORMS = ("group", "instance")


class TimestepEmbedding(layers.Layer):
    """Sinusoidal features of an integer timestep, as in the Transformer's positions.

    Low frequencies change slowly with t, high ones quickly, so nearby timesteps get
    similar (but not equal) vectors.
    """

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        if dim % 2:
            raise ValueError(f"embedding dim must be even; got {dim}")
        self.dim = dim

    def call(self, t):
        half = self.dim // 2
        freqs = tf.exp(-math.log(10000.0) * tf.range(half, dtype=tf.float32) / (half - 1))
        angles = tf.cast(tf.reshape(t, (-1, 1)), tf.float32) * freqs[None, :]
        return tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


def _norm(kind: str, name: str):
    if kind == "group":
        return layers.GroupNormalization(8, name=name)
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)  # instance norm


def res_block(x, channels: int, *, emb=None, norm="group", activation="silu", name="res"):
    """Norm -> activation -> conv, then norm (scaled and shifted by ``emb``) -> activation
    -> conv, plus a skip connection.

    The embedding (timestep and label) enters *after* a normalisation, as a per-channel
    scale and shift (as improved DDPM does): added before it, an offset would be partly
    normalised away. Without ``emb`` it is a plain residual block.
    """
    skip = x if x.shape[-1] == channels else layers.Conv2D(channels, 1, name=f"{name}_skip")(x)
    h = layers.Activation(activation)(_norm(norm, f"{name}_norm1")(x))
    h = layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv1")(h)
    h = _norm(norm, f"{name}_norm2")(h)
    if emb is not None:
        film = layers.Reshape((1, 1, 2 * channels))(
            layers.Dense(2 * channels, name=f"{name}_emb")(emb)
        )
        h = h * (1.0 + film[..., :channels]) + film[..., channels:]
    h = layers.Activation(activation)(h)
    h = layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv2")(h)
    return layers.Add()([skip, h])


def _counts(values, default, name, length):
    values = default if values is None else tuple(as_int(v, name, minimum=0) for v in values)
    if len(values) != length:
        raise ValueError(f"{name} needs one count per level ({length}); got {values!r}")
    return values


def _check_unet_args(channels, blocks, up_blocks, image_shape, norm, cond_channels):
    if isinstance(channels, (str, bytes)) or not hasattr(channels, "__len__"):
        raise ValueError(f"channels must be a list of widths, one per level; got {channels!r}")
    channels = tuple(channels)
    if len(channels) < 2:
        raise ValueError(f"channels needs at least 2 levels (widths); got {channels!r}")
    multiple = 8 if norm == "group" else 1  # group norm splits channels into 8 groups
    if any(
        isinstance(c, bool) or not isinstance(c, int) or c < 1 or c % multiple for c in channels
    ):
        what = "multiples of 8 (group norm uses 8 groups)" if multiple == 8 else "positive ints"
        raise ValueError(f"channels must be {what}, one per level; got {channels!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; got {norm!r}")
    inner = (1,) * (len(channels) - 2)
    blocks = _counts(blocks, (0, *inner, 2), "blocks", len(channels))
    up_blocks = _counts(up_blocks, (0, *inner), "up_blocks", len(channels) - 1)
    h, w, c = (as_positive_int(v, "image_shape") for v in image_shape)
    factor = 2 ** (len(channels) - 1)
    if h % factor or w % factor:
        raise ValueError(
            f"image_shape {image_shape} must divide by {factor} to go down {len(channels) - 1} "
            "levels; use fewer channels entries"
        )
    cond_channels = as_int(cond_channels, "cond_channels", minimum=0)
    return channels, blocks, up_blocks, (h, w, c), cond_channels


def build_unet(
    channels=(16, 32, 64),
    *,
    image_shape=IMAGE_SHAPE,
    out_channels: int | None = None,
    blocks=None,
    up_blocks=None,
    timestep: bool = True,
    num_classes: int | None = None,
    cond_channels: int = 0,
    norm: str = "group",
    activation: str = "silu",
    out_activation: str | None = None,
    zero_output: bool = True,
    full_size: bool = True,
    name: str = "unet",
) -> keras.Model:
    """A U-Net with one level per entry of ``channels`` (its width there).

    Level 0 works at full size with a thin stem; each next level halves the size with a
    4x4 stride-2 convolution and runs ``blocks[i]`` residual blocks (default: 0 at the
    top, 1 in between, 2 at the bottom, where pixels are fewest and work is cheapest).
    The way up mirrors it with transposed convolutions, each joined to the skip of its
    size and followed by ``up_blocks[i]`` residual blocks (default: 1 at every level but
    the top). Inputs, in order:

    * ``x`` (``image_shape``; named ``x_t`` when ``timestep``);
    * ``t`` (int) when ``timestep``: sinusoidal features, then two dense layers;
    * ``label`` (int) when ``num_classes`` is set; ``num_classes`` itself means "no
      label", the slot classifier-free guidance needs;
    * ``cond``, an image of ``cond_channels`` channels the size of ``x``, when
      ``cond_channels`` > 0: laid beside ``x`` as extra input channels.

    ``full_size=False`` leaves out the full-size stem and its skip: level 0's width then
    only sizes the timestep embedding, the network works from half size down and a last transposed convolution
    draws the output (about half the work of a 28x28 image translator; CycleGAN uses
    it). The timestep and label reach every residual block (:func:`res_block`). The output
    has ``out_channels`` channels (default: those of ``x``); with ``zero_output`` its
    last layer starts at zero (a denoiser starts by predicting "no noise").
    """
    channels, blocks, up_blocks, image_shape, cond_channels = _check_unet_args(
        channels, blocks, up_blocks, image_shape, norm, cond_channels
    )
    if num_classes is not None:
        num_classes = as_positive_int(num_classes, "num_classes")
    out_channels = (
        image_shape[-1] if out_channels is None else as_positive_int(out_channels, "out_channels")
    )
    c1, emb_dim = channels[0], 4 * channels[0]

    x_in = keras.Input(image_shape, name="x_t" if timestep else "image")
    inputs, emb = [x_in], None
    if timestep:
        t_in = keras.Input((), dtype="int32", name="t")
        emb = TimestepEmbedding(2 * c1, name="t_sin")(t_in)
        emb = layers.Dense(emb_dim, activation="silu", name="t_dense1")(emb)
        emb = layers.Dense(emb_dim, name="t_dense2")(emb)
        inputs.append(t_in)
    if num_classes is not None:
        y_in = keras.Input((), dtype="int32", name="label")
        label_emb = layers.Embedding(num_classes + 1, emb_dim, name="label_emb")(y_in)
        emb = label_emb if emb is None else emb + label_emb
        inputs.append(y_in)
    if emb is not None:
        emb = layers.Activation("silu")(emb)
    h = x_in
    if cond_channels:
        cond_in = keras.Input((*image_shape[:2], cond_channels), name="cond")
        h = layers.Concatenate(name="with_cond")([x_in, cond_in])
        inputs.append(cond_in)

    def blocks_at(h, level, count, tag):
        for b in range(count):
            h = res_block(
                h,
                channels[level],
                emb=emb,
                norm=norm,
                activation=activation,
                name=f"{tag}{level}_{b}",
            )
        return h

    skips = [None]  # with no full-size stem, nothing is kept at full size
    if full_size:
        h = layers.Conv2D(c1, 3, padding="same", name="stem")(h)
        skips = [blocks_at(h, 0, blocks[0], "res")]
        h = skips[0]
    for level in range(1, len(channels)):  # down: halve the size, then think
        h = layers.Conv2D(channels[level], 4, strides=2, padding="same", name=f"down{level}")(h)
        h = blocks_at(h, level, blocks[level], "res")
        skips.append(h)
    for level in range(len(channels) - 2, -1 if full_size else 0, -1):  # up: double, join
        h = layers.Conv2DTranspose(
            channels[level], 4, strides=2, padding="same", name=f"up{level}"
        )(h)
        h = layers.Concatenate(name=f"join{level}")([h, skips[level]])
        h = blocks_at(h, level, up_blocks[level], "upres")
    h = layers.Activation(activation)(_norm(norm, "out_norm")(h))
    last = dict(
        activation=out_activation,
        kernel_initializer="zeros" if zero_output else "glorot_uniform",
        name="out",
    )
    if full_size:
        out = layers.Conv2D(out_channels, 3, padding="same", **last)(h)
    else:  # straight from half size to the output
        out = layers.Conv2DTranspose(out_channels, 4, strides=2, padding="same", **last)(h)
    return keras.Model(inputs, out, name=name)
