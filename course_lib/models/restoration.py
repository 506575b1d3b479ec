"""Image generation techniques (chapter 05): inpainting, super-resolution, pix2pix.

Every image here is float32 ``(n, height, width, channels)`` in [-1, 1] (photos as their
luminance, one channel; Fashion-MNIST as it is). The pieces, in the chapter's order:

**Inpainting** (fill in what is missing). One mask convention everywhere: 1 = missing,
0 = known (:func:`course_lib.conventions.as_masks`).

* :func:`rectangle_masks`, :func:`stroke_masks`, :func:`half_masks`: holes to fill;
  :func:`hide` blanks them out;
* :func:`masked_l1`: the loss counted on the hole only;
* :func:`inpaint_biharmonic`: the classic baseline, no learning (scikit-image), and
  :func:`inpaint_opencv`, OpenCV's two classic fills (Telea's fast marching, Navier-Stokes);
* :func:`build_inpainter` and :class:`Inpainter`: a U-Net that sees the blanked image and
  the mask as a second channel, trained on the hole; :func:`course_inpainter` is the preset;
* :func:`diffusion_inpaint`: chapter 03's diffusion model fills the hole without
  retraining, through its sampler's ``known``/``mask`` hook (the RePaint idea,
  :func:`course_lib.models.diffusion.paste_known`).

**Super-resolution** (make a small image bigger and sharp).

* :func:`downscale`, :func:`bicubic_upscale`: the low-resolution input and the baseline;
* :func:`depth_to_space`: the sub-pixel shuffle that turns ``s*s`` channels into an
  ``s`` times bigger picture (``keras.ops.depth_to_space``);
* :func:`build_espcn` (lean, three convolutions) and :func:`build_edsr` (residual
  blocks), both adding their output to the bicubic image; :class:`SuperResolution`
  trains either, :func:`course_super_resolution` is the preset;
* :func:`course_sr_diffusion` and :func:`diffusion_super_resolve`: super-resolution by
  diffusion (SR3): chapter 03's model told the bicubic image as a conditioning channel,
  on Fashion-MNIST.

**Paired image-to-image translation** (pix2pix).

* :func:`edge_maps`: the paired task built offline (edges of an item -> the item);
* :func:`build_pix2pix_generator` (chapter 01's U-Net translator), :func:`build_pix2pix_discriminator`
  (chapter 01's PatchGAN judging (input, output) pairs), :class:`Pix2Pix` (adversarial
  loss plus an L1 term), :func:`course_pix2pix`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_lib.conventions import (
    IMAGE_SHAPE,
    as_images,
    as_int,
    as_masks,
    as_number,
    as_positive_int,
    as_seed,
)
from course_lib.models.base import CourseModel, split_batch
from course_lib.models.diffusion import DiffusionModel
from course_lib.models.gan import (
    AdversarialModel,
    build_cycle_generator,
    build_patch_discriminator,
    discriminator_loss,
    generator_loss,
)
from course_lib.models.unet import build_unet

SCALES = (2, 3, 4)


def _images(images, name="images", shape=None):
    return as_images(images, name=name, shape=shape, value_range=(-1, 1))


# ======================================================================= inpainting: masks


def _size(size) -> tuple[int, int]:
    if isinstance(size, (tuple, list)):
        return tuple(as_int(v, "size", minimum=4) for v in size)
    side = as_int(size, "size", minimum=4)
    return side, side


def rectangle_masks(n: int, size=28, *, min_side: int = 10, max_side: int = 14, seed=0):
    """``n`` masks, each one rectangle of missing pixels (1) at a random place.

    Each side is drawn between ``min_side`` and ``max_side`` pixels. Returns float32
    ``(n, height, width, 1)``.
    """
    n, (h, w) = as_positive_int(n, "n"), _size(size)
    min_side = as_positive_int(min_side, "min_side")
    max_side = as_int(max_side, "max_side", minimum=min_side)
    if max_side > min(h, w):
        raise ValueError(f"max_side {max_side} does not fit in a {h}x{w} image")
    rng = np.random.default_rng(as_seed(seed))
    masks = np.zeros((n, h, w, 1), np.float32)
    for mask in masks:
        rh, rw = rng.integers(min_side, max_side + 1, size=2)
        top, left = rng.integers(0, h - rh + 1), rng.integers(0, w - rw + 1)
        mask[top : top + rh, left : left + rw] = 1.0
    return masks


def stroke_masks(n: int, size=28, *, strokes: int = 3, width: int = 3, seed=0):
    """``n`` free-form masks: a few thick random brush strokes of missing pixels.

    Each stroke is a short random walk of straight segments, painted ``width`` pixels
    thick, like a scribble over the picture.
    """
    n, (h, w) = as_positive_int(n, "n"), _size(size)
    strokes, width = as_positive_int(strokes, "strokes"), as_positive_int(width, "width")
    rng = np.random.default_rng(as_seed(seed))
    rows, cols = np.mgrid[0:h, 0:w]
    masks = np.zeros((n, h, w, 1), np.float32)
    for mask in masks:
        for _ in range(strokes):
            y, x = rng.uniform(0, h), rng.uniform(0, w)
            for _ in range(rng.integers(2, 5)):
                angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.4) * max(h, w)
                y2, x2 = y + length * np.sin(angle), x + length * np.cos(angle)
                for f in np.linspace(0, 1, 12):
                    cy, cx = y + f * (y2 - y), x + f * (x2 - x)
                    mask[(rows - cy) ** 2 + (cols - cx) ** 2 <= (width / 2) ** 2] = 1.0
                y, x = np.clip(y2, 0, h - 1), np.clip(x2, 0, w - 1)
    return masks


def half_masks(n: int, size=28, *, side: str = "right"):
    """``n`` masks that hide one half of the image (``"right"``, ``"left"``,
    ``"top"`` or ``"bottom"``)."""
    n, (h, w) = as_positive_int(n, "n"), _size(size)
    masks = np.zeros((n, h, w, 1), np.float32)
    halves = {
        "right": (slice(None), slice(w // 2, None)),
        "left": (slice(None), slice(None, w // 2)),
        "top": (slice(None, h // 2), slice(None)),
        "bottom": (slice(h // 2, None), slice(None)),
    }
    if side not in halves:
        raise ValueError(f"side must be one of {tuple(halves)}; got {side!r}")
    masks[(slice(None), *halves[side])] = 1.0
    return masks


def hide(images, masks, fill: float = 0.0) -> np.ndarray:
    """The images with their missing pixels (mask 1) set to ``fill`` (0: mid-grey)."""
    images = _images(images)
    masks = as_masks(masks, images)
    return images * (1.0 - masks) + fill * masks


def masked_l1(target, prediction, mask):
    """Mean absolute error over the missing pixels only (mask 1), for the whole batch.

    ``sum(mask * |target - prediction|) / sum(mask)``, per channel: pixels the network
    was shown count nothing, so it cannot lower the loss by copying its input, and a
    small hole weighs as much per pixel as a big one. Works on NumPy and on tensors.
    """
    mask = tf.cast(mask, tf.float32)
    error = tf.abs(tf.cast(target, tf.float32) - tf.cast(prediction, tf.float32))
    channels = tf.cast(tf.shape(error)[-1], tf.float32)
    return tf.reduce_sum(mask * error) / tf.maximum(tf.reduce_sum(mask) * channels, 1.0)


def inpaint_biharmonic(images, masks) -> np.ndarray:
    """Fill each hole with the smoothest surface that meets its edges (no learning).

    scikit-image's ``inpaint_biharmonic`` solves the biharmonic equation inside the hole
    with the known pixels as boundary values: good for smooth regions, blurry for
    texture and for big holes. Known pixels come back exactly.
    """
    from skimage.restoration import inpaint_biharmonic as biharmonic

    images = _images(images)
    masks = as_masks(masks, images)
    out = np.empty_like(images)
    for i, (image, mask) in enumerate(zip(images, masks)):
        filled = biharmonic(image, mask[..., 0].astype(bool), channel_axis=-1)
        out[i] = np.where(mask > 0, np.clip(filled, -1, 1), image)
    return out


OPENCV_METHODS = ("telea", "ns")


def inpaint_opencv(images, masks, *, method: str = "telea", radius: int = 3) -> np.ndarray:
    """Fill each hole with OpenCV's ``cv2.inpaint`` (no learning): a second baseline.

    ``method="telea"`` marches in from the hole's edge, each new pixel a weighted average
    of the known ones within ``radius`` (Telea, 2004); ``"ns"`` carries the image's lines
    into the hole along the flow of its brightness (Bertalmio et al., 2001). OpenCV works
    on 8-bit pixels, so the images are rounded to 256 levels on the way. Known pixels come
    back exactly. Needs ``opencv-python-headless`` (installed by ``./course setup``).
    """
    try:
        import cv2
    except ImportError as err:  # pragma: no cover - setup installs it
        raise ImportError(
            "inpaint_opencv needs OpenCV: pip install opencv-python-headless "
            "(./course setup installs it)"
        ) from err
    if method not in OPENCV_METHODS:
        raise ValueError(f"method must be one of {OPENCV_METHODS}, got {method!r}")
    radius = as_positive_int(radius, "radius")
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    images = _images(images)
    masks = as_masks(masks, images)
    out = np.empty_like(images)
    for i, (image, mask) in enumerate(zip(images, masks)):
        pixels = np.round((np.clip(image, -1, 1) + 1) * 127.5).astype(np.uint8)
        hole = (mask[..., 0] > 0).astype(np.uint8)
        filled = cv2.inpaint(pixels, hole, radius, flag)
        filled = filled.reshape(image.shape).astype(np.float32) / 127.5 - 1.0
        out[i] = np.where(mask > 0, filled, image)
    return out


# ======================================================================= inpainting: networks


def build_inpainter(image_shape=IMAGE_SHAPE, channels=(32, 64, 64), name="inpainter"):
    """The course's U-Net as an inpainter: inputs ``[blanked image, mask]``, output an image.

    The mask enters as a second input channel (``cond_channels=1``): without it the
    network cannot tell a blanked pixel from a truly grey one. No timestep; ``tanh`` out;
    one residual block per level below the top (lean: it trains on a CPU).
    """
    return build_unet(
        channels,
        image_shape=tuple(image_shape),
        blocks=(0, 1, 1),
        up_blocks=(0, 1),
        cond_channels=1,
        timestep=False,
        out_activation="tanh",
        zero_output=False,
        name=name,
    )


class Inpainter(CourseModel):
    """Trains :func:`build_inpainter`'s network to fill holes: ``fit(images, masks)``.

    ``masks`` is a bank of masks (1 = missing), paired with the images at random in
    every epoch, so one image meets many holes. The loss is :func:`masked_l1` on the
    hole only. :meth:`inpaint` keeps every known pixel exactly and takes the network's
    pixels in the hole.
    """

    default_batch_size = 64

    def __init__(self, network, **kwargs):
        super().__init__(("hole_l1",), **kwargs)
        self.network = network
        self.image_shape = tuple(network.inputs[0].shape[1:])

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def check_data(self, x, y=None):
        images = _images(x, shape=self.image_shape)
        if y is None:
            raise ValueError("an inpainter trains on images and masks: fit(images, masks)")
        masks = as_images(y, name="masks", shape=(*self.image_shape[:2], 1))
        if not np.all((masks == 0) | (masks == 1)):
            raise ValueError("masks must hold only 0 (known pixel) and 1 (missing pixel)")
        return images, masks

    def make_dataset(self, x, y, batch_size, seed):
        images = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed)
        masks = tf.data.Dataset.from_tensor_slices(y).repeat().shuffle(len(y), seed=seed + 1)
        ds = tf.data.Dataset.zip((images, masks)).batch(batch_size, drop_remainder=True)
        return ds.prefetch(tf.data.AUTOTUNE)

    def train_step(self, data):
        images, masks = split_batch(data)
        with tf.GradientTape() as tape:
            guess = self.network([images * (1.0 - masks), masks], training=True)
            loss = masked_l1(images, guess, masks)
        grads = tape.gradient(loss, self.network.trainable_variables)
        self.optimizer.apply(grads, self.network.trainable_variables)
        return self.record(hole_l1=loss)

    def inpaint(self, images, masks) -> np.ndarray:
        """Fill the holes: known pixels exactly as given, the network's in the hole."""
        images = _images(images, shape=self.image_shape)
        masks = as_masks(masks, images)
        guess = np.concatenate(
            [
                self.network([images[i : i + 256] * (1.0 - masks[i : i + 256]), masks[i : i + 256]])
                for i in range(0, len(images), 256)
            ]
        )
        return (masks * guess + (1.0 - masks) * images).astype(np.float32)


def course_inpainter(image_shape=IMAGE_SHAPE, learning_rate: float = 1e-3) -> Inpainter:
    """The chapter's inpainter, compiled (Adam); ``run_name`` says which images it is for."""
    image_shape = tuple(image_shape)
    model = Inpainter(build_inpainter(image_shape))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    side = image_shape[0]
    model.run_name = "ch05_inpainter" if image_shape == IMAGE_SHAPE else f"ch05_inpainter_{side}"
    return model


def diffusion_inpaint(model, images, masks, *, steps: int = 50, resample: int = 1, seed: int = 0):
    """Fill holes with a trained diffusion model, no retraining (the RePaint idea).

    At every step of DDIM sampling the known pixels are replaced by the known image
    noised to that step, so the model only invents the hole, in harmony with what it is
    shown; ``resample`` > 1 goes back and forth that many times per step, which blends
    the seam better. Returns images with every known pixel exact.
    """
    images = _images(images, shape=model.image_shape)
    masks = as_masks(masks, images)
    eta = 1.0 if as_positive_int(resample, "resample") > 1 else 0.0
    return model.sample_ddim(
        len(images), steps, eta=eta, known=images, mask=masks, resample=resample, seed=seed
    )


# ======================================================================= super-resolution


def _scale(scale) -> int:
    scale = as_int(scale, "scale", minimum=1)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}; got {scale}")
    return scale


def _divisible(images, scale, what):
    if images.shape[1] % scale or images.shape[2] % scale:
        raise ValueError(
            f"{what} of size {images.shape[1]}x{images.shape[2]} must divide by the scale {scale}"
        )


def downscale(images, scale: int) -> np.ndarray:
    """The low-resolution input: each side ``scale`` times smaller (bicubic, antialiased)."""
    scale, images = _scale(scale), _images(images)
    _divisible(images, scale, "images")
    h, w = images.shape[1] // scale, images.shape[2] // scale
    small = tf.image.resize(images, (h, w), method="bicubic", antialias=True)
    return np.clip(small.numpy(), -1.0, 1.0)


def bicubic_upscale(images, scale: int) -> np.ndarray:
    """The baseline: each side ``scale`` times bigger by bicubic interpolation."""
    scale, images = _scale(scale), _images(images)
    h, w = images.shape[1] * scale, images.shape[2] * scale
    return np.clip(tf.image.resize(images, (h, w), method="bicubic").numpy(), -1.0, 1.0)


def depth_to_space(x, scale: int):
    """Sub-pixel shuffle: ``(n, h, w, s*s*c)`` -> ``(n, s*h, s*w, c)``.

    Each group of ``s*s`` channels at one pixel becomes an ``s x s`` block of pixels, so a
    network can work at the small size and still draw every pixel of the big one.
    ``keras.ops.depth_to_space`` (Keras 3), which works inside a model as it is built.
    """
    scale = as_positive_int(scale, "scale")
    channels = x.shape[-1]
    if channels is not None and channels % (scale * scale):
        raise ValueError(
            f"depth_to_space needs channels divisible by {scale * scale}; got {channels}"
        )
    return keras.ops.depth_to_space(x, scale)


@keras.saving.register_keras_serializable("course")
class BicubicUpsample(layers.Layer):
    """Bicubic upscaling as a layer, for any input size (the networks add to it)."""

    def __init__(self, scale: int, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        size = tf.shape(x)[1:3] * self.scale
        return tf.image.resize(x, size, method="bicubic")

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def _sub_pixel(h, scale, channels, name):
    # starts at zero: an untrained network gives exactly the bicubic image
    h = layers.Conv2D(
        channels * scale * scale, 3, padding="same", kernel_initializer="zeros", name=f"{name}_conv"
    )(h)
    return layers.Lambda(lambda t: depth_to_space(t, scale), name=f"{name}_shuffle")(h)


def build_espcn(scale: int, channels: int = 1, widths=(64, 32), name: str = "espcn"):
    """ESPCN (Shi et al., 2016): a 5x5 and a 3x3 convolution at the small size, then a
    sub-pixel layer; added to the bicubic image so it learns only the missing detail.

    Takes images of any size: ``(n, h, w, channels)`` -> ``(n, s*h, s*w, channels)``.
    """
    scale = _scale(scale)
    small = keras.Input((None, None, channels), name="low_res")
    h = layers.Conv2D(widths[0], 5, padding="same", activation="tanh", name="conv1")(small)
    for i, width in enumerate(widths[1:], start=2):
        h = layers.Conv2D(width, 3, padding="same", activation="tanh", name=f"conv{i}")(h)
    detail = _sub_pixel(h, scale, channels, "up")
    out = layers.Add(name="plus_bicubic")([BicubicUpsample(scale, name="bicubic")(small), detail])
    return keras.Model(small, out, name=name)


def build_edsr(scale: int, channels: int = 1, width: int = 32, blocks: int = 4, name: str = "edsr"):
    """An EDSR-style network (Lim et al., 2017), small: a head convolution, ``blocks``
    residual blocks (conv, ReLU, conv, scaled by 0.1, no batch norm), a long skip over
    them, a sub-pixel layer; added to the bicubic image like :func:`build_espcn`."""
    scale = _scale(scale)
    small = keras.Input((None, None, channels), name="low_res")
    head = layers.Conv2D(width, 3, padding="same", name="head")(small)
    h = head
    for b in range(as_positive_int(blocks, "blocks")):
        r = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"res{b}_conv1")(h)
        r = layers.Conv2D(width, 3, padding="same", name=f"res{b}_conv2")(r)
        h = layers.Add(name=f"res{b}_add")([h, layers.Rescaling(0.1, name=f"res{b}_scale")(r)])
    h = layers.Conv2D(width, 3, padding="same", name="body_out")(h)
    h = layers.Add(name="long_skip")([head, h])
    detail = _sub_pixel(h, scale, channels, "up")
    out = layers.Add(name="plus_bicubic")([BicubicUpsample(scale, name="bicubic")(small), detail])
    return keras.Model(small, out, name=name)


class SuperResolution(CourseModel):
    """Trains a super-resolution network: ``fit(low_res, high_res)``, L1 loss.

    ``high_res`` must be exactly ``scale`` times the size of ``low_res``; both in [-1, 1].
    :meth:`upscale` runs the network on images of any size.
    """

    default_batch_size = 32

    def __init__(self, network, scale: int, **kwargs):
        super().__init__(("l1",), **kwargs)
        self.network, self.scale = network, _scale(scale)
        self.channels = network.inputs[0].shape[-1]

    def call(self, x, training=False):
        return self.network(x, training=training)

    def check_data(self, x, y=None):
        small = _images(x, name="low_res")
        if y is None:
            raise ValueError("super-resolution trains on pairs: fit(low_res, high_res)")
        big = _images(y, name="high_res")
        want = (len(small), small.shape[1] * self.scale, small.shape[2] * self.scale)
        if big.shape[:3] != want or small.shape[-1] != self.channels != big.shape[-1]:
            raise ValueError(
                f"high_res must be {self.scale}x the size of low_res ({want[1]}x{want[2]}, "
                f"{self.channels} channel(s), one per low_res image); got {big.shape}"
            )
        return small, big

    def train_step(self, data):
        small, big = split_batch(data)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(self.network(small, training=True) - big))
        grads = tape.gradient(loss, self.network.trainable_variables)
        self.optimizer.apply(grads, self.network.trainable_variables)
        return self.record(l1=loss)

    def upscale(self, images) -> np.ndarray:
        """Each side ``scale`` times bigger, clipped to [-1, 1]."""
        images = _images(images)
        if images.shape[-1] != self.channels:
            raise ValueError(f"this network takes {self.channels} channel(s); got {images.shape}")
        out = [self.network(images[i : i + 64], training=False) for i in range(0, len(images), 64)]
        return np.clip(np.concatenate(out), -1.0, 1.0)


def course_super_resolution(kind: str, scale: int, learning_rate: float = 1e-3):
    """The chapter's super-resolution model (``"espcn"`` or ``"edsr"``) at ``scale``,
    compiled (Adam), with its ``run_name`` (``ch05_espcn_x3`` ...)."""
    builders = {"espcn": build_espcn, "edsr": build_edsr}
    if kind not in builders:
        raise ValueError(f"kind must be one of {tuple(builders)}; got {kind!r}")
    scale = _scale(scale)
    model = SuperResolution(builders[kind](scale), scale)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model.run_name = f"ch05_{kind}_x{scale}"
    return model


def super_resolution_pairs(images, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """``(low_res, high_res)`` training pairs from high-resolution patches."""
    images = _images(images)
    return downscale(images, scale), images


def sr_diffusion_condition(low, scale: int) -> np.ndarray:
    """What SR3 is told: the low-resolution image blown up by bicubic interpolation.

    At full size it lines up pixel for pixel with the image being drawn, so the U-Net
    takes it as an extra input channel."""
    return bicubic_upscale(low, scale)


def course_sr_diffusion(
    scale: int = 4, timesteps: int = 1000, learning_rate: float = 1e-3
) -> DiffusionModel:
    """Super-resolution by diffusion (SR3, Saharia et al., 2021) at ``scale`` on
    Fashion-MNIST, compiled, with its ``run_name`` (``ch05_sr3_x4`` ...).

    Chapter 03's model (cosine schedule, v prediction, Min-SNR weights, EMA) with one
    conditioning channel: train it with ``fit(images, sr_diffusion_condition(low, scale))``.
    """
    scale = _scale(scale)
    if IMAGE_SHAPE[0] % scale:
        raise ValueError(
            f"scale must divide the {IMAGE_SHAPE[0]}-pixel Fashion-MNIST side; got {scale}"
        )
    model = DiffusionModel(
        timesteps=as_positive_int(timesteps, "timesteps"),
        schedule="cosine",
        prediction="v",
        loss_weighting="min_snr",
        cond_channels=1,
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0))
    model.run_name, model.scale = f"ch05_sr3_x{scale}", scale
    return model


def diffusion_super_resolve(model, low, *, steps: int = 50, seed: int = 0) -> np.ndarray:
    """Enlarge each low-resolution image by ``model.scale`` with a trained SR3 model.

    Starts from pure noise, as chapter 03's sampler does, but every step sees the bicubic
    image: the drawing must agree with it. Different seeds give different, equally
    plausible detail (bicubic has only one answer)."""
    scale = getattr(model, "scale", None)
    if not isinstance(model, DiffusionModel) or not model.cond_channels or scale is None:
        raise TypeError("model must be an SR3 model from course_sr_diffusion(scale)")
    low = _images(low, name="low")
    want = (model.image_shape[0] // scale, model.image_shape[1] // scale)
    if low.shape[1:3] != want:
        raise ValueError(
            f"low must be {want[0]}x{want[1]} images for this x{scale} model; "
            f"got {low.shape[1]}x{low.shape[2]}"
        )
    cond = sr_diffusion_condition(low, scale)
    return model.sample(
        len(low), seed=as_seed(seed), steps=as_positive_int(steps, "steps"), cond=cond
    )


# ======================================================================= pix2pix


def edge_maps(images, threshold: float = 0.5) -> np.ndarray:
    """Edges of each image as a line drawing in [-1, 1] (1 = an edge): the Sobel gradient's
    size, thresholded. Built offline from any images, so every item comes with its pair."""
    images = _images(images)
    threshold = as_number(threshold, "threshold", low=0.0, low_open=True)
    grads = tf.image.sobel_edges(tf.constant(images))
    size = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=-1)).numpy()
    return np.where(size > threshold, 1.0, -1.0).astype(np.float32)


def build_pix2pix_generator(width: int = 32, name="pix2pix_generator", *, image_shape=IMAGE_SHAPE):
    """pix2pix's translator: chapter 01's lean U-Net image translator (the course's one
    U-Net builder; no timestep, instance norm, ReLU, tanh), 28x28 -> 28x28 by default."""
    return build_cycle_generator(width, name=name, image_shape=image_shape)


def build_pix2pix_discriminator(image_shape=IMAGE_SHAPE, width: int = 32):
    """Chapter 01's PatchGAN, shown (input, output) side by side as two channels: it
    judges whether each patch of the output is a real match *for this input*."""
    h, w, c = image_shape
    return build_patch_discriminator(width, image_shape=(h, w, 2 * c))


class Pix2Pix(AdversarialModel):
    """Paired translation (Isola et al., 2017): ``fit(sources, targets)``, pairs in order.

    The generator's loss is the PatchGAN's "say real" loss plus ``l1_weight`` times the
    L1 distance to the true target (which only a paired data set can give); the
    discriminator sees (source, target) pairs as real and (source, output) as fake.
    """

    default_batch_size = 64

    def __init__(self, generator, discriminator, l1_weight: float = 100.0, **kwargs):
        super().__init__(("g_loss", "d_loss", "l1"), **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.l1_weight = as_number(l1_weight, "l1_weight", low=0.0)
        self.image_shape = tuple(generator.inputs[0].shape[1:])

    def call(self, x, training=False):
        return self.generator(x, training=training)

    def check_data(self, x, y=None):
        if y is None:
            raise ValueError("pix2pix trains on pairs: fit(sources, targets)")
        sources = _images(x, name="sources", shape=self.image_shape)
        targets = _images(y, name="targets", shape=self.image_shape)
        if len(sources) != len(targets):
            raise ValueError(f"got {len(sources)} sources for {len(targets)} targets")
        return sources, targets

    def make_dataset(self, x, y, batch_size, seed):
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed)
        return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    def train_step(self, data):
        source, target = data
        return self.record(**self.update(source, target))

    def update(self, source, target, extra_loss=None) -> dict:
        """One update of both networks on a batch of (source, target) pairs; returns the
        step's numbers. ``extra_loss(fake)``, if given, returns ``(term, numbers)``: the
        term is added to the generator's loss and the numbers to those returned (chapter
        07's temporal loss comes in this way)."""
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(source, training=True)
            real_logits = self.discriminator(tf.concat([source, target], -1), training=True)
            fake_logits = self.discriminator(tf.concat([source, fake], -1), training=True)
            l1 = tf.reduce_mean(tf.abs(target - fake))
            term, numbers = extra_loss(fake) if extra_loss is not None else (0.0, {})
            g_loss = generator_loss(fake_logits) + self.l1_weight * l1 + term
            d_loss = discriminator_loss(real_logits, fake_logits)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.g_optimizer.apply(g_tape.gradient(g_loss, g_vars), g_vars)
        self.d_optimizer.apply(d_tape.gradient(d_loss, d_vars), d_vars)
        return {"g_loss": g_loss, "d_loss": d_loss, "l1": l1, **numbers}

    def optimizer_variables(self):
        return [
            (self.g_optimizer, self.generator.trainable_variables),
            (self.d_optimizer, self.discriminator.trainable_variables),
        ]

    def translate(self, sources) -> np.ndarray:
        """The generator's output for each source image."""
        sources = _images(sources, name="sources", shape=self.image_shape)
        return np.concatenate(
            [self.generator([sources[i : i + 256]]) for i in range(0, len(sources), 256)]
        )


def course_pix2pix(l1_weight: float = 100.0) -> Pix2Pix:
    """The chapter's pix2pix (edges -> Fashion-MNIST items), compiled: Adam(2e-4, beta_1=0.5)
    for both networks, as the paper; ``run_name`` ``"ch05_pix2pix"``."""
    model = Pix2Pix(build_pix2pix_generator(), build_pix2pix_discriminator(), l1_weight)
    model.compile()
    model.run_name = "ch05_pix2pix"
    return model
