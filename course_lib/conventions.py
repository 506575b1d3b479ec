"""The course's conventions, and the one place that checks what a public function is given.

Conventions every chapter shares:

* Fashion-MNIST images are ``(n, 28, 28, 1)`` float32 (:data:`IMAGE_SHAPE`), with
  :data:`NUM_CLASSES` classes labelled ``0 .. 9``;
* pixels are in ``(0, 1)`` for models that end in a sigmoid (VAEs, the metric's
  classifier) and in ``(-1, 1)`` for models that end in ``tanh`` or add Gaussian noise
  (GANs, diffusion); every function that takes pixels says which, as ``value_range``;
* counts (``n``, ``batch_size``, ``latent_dim`` ...) are positive Python or NumPy ints;
* an inpainting mask is ``(n, height, width, 1)`` and holds 1 where a pixel is
  **missing** and 0 where it is known (:func:`as_masks`).

The ``as_*`` functions turn what a learner passes into what the library needs, or stop
with a message that says what was expected (shape, range, dtype) and what came instead:
a learner's mistake must never surface as a 50-line TensorFlow trace. Every module uses
them, so one kind of mistake always gets the same message.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

# How far outside its declared range a pixel may stray (rounding, a tanh at 1.0000001).
_RANGE_SLACK = 0.01


def _to_numpy(value):
    """A NumPy view of arrays, tensors and lists (tensors through ``.numpy()``)."""
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    return np.asarray(value)


# -- numbers -----------------------------------------------------------------------------


def as_int(value, name: str, *, minimum: int = 1) -> int:
    """``value`` as a Python int that is at least ``minimum`` (default: a positive int).

    Floats, strings and bools are refused, even ``3.0`` or ``"3"``: a count is a whole
    number, and a string that happens to parse is usually a bug elsewhere.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {what}; got {value!r}")
    return int(value)


def as_positive_int(value, name: str) -> int:
    """``value`` as a positive Python int (1, 2, 3, ...); clear error otherwise."""
    return as_int(value, name, minimum=1)


def as_number(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float inside ``[low, high]`` (an end is open when asked).

    Strings are refused, even ``"1.5"``.
    """
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{name} must be in {span}; got {value!r}")
    return value


def as_seed(seed, name: str = "seed") -> int | None:
    """A seed: None (fresh randomness) or an int >= 0."""
    return None if seed is None else as_int(seed, name, minimum=0)


# -- pixels ------------------------------------------------------------------------------


def value_range_pair(value_range) -> tuple[float, float]:
    """Check a pixel range such as ``(0, 1)`` or ``(-1, 1)`` and return it as two floats."""
    if isinstance(value_range, (str, bytes)):
        raise ValueError(
            f"value_range must be a pair (low, high) such as (0, 1); got {value_range!r}"
        )
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"value_range must be a pair (low, high) such as (0, 1) or (-1, 1); got {value_range!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"value_range must have finite low < high; got {value_range!r}")
    return low, high


def _range_hint(low: float, high: float) -> str:
    return f"load them with data.load_fashion_mnist(value_range=({low:g}, {high:g}))"


def check_pixel_range(
    arr: np.ndarray, value_range, name: str = "images", *, slack: float = _RANGE_SLACK
) -> None:
    """Stop when pixels lie outside ``value_range``, saying which range they look like.

    A model trained on 0-255 pixels that expects -1..1 does not fail: it trains on
    garbage (a VAE's loss reaches 1e17). This check is what stops that. ``slack`` is
    how far outside (a fraction of the range's width) still counts as inside: 1 % for
    data a model trains on; more for a model's own samples, which may overshoot a little
    (a plot clips them), while pixels in another range entirely are still refused.
    """
    low, high = value_range_pair(value_range)
    lo, hi = float(np.min(arr)), float(np.max(arr))
    slack = slack * (high - low)
    if lo < low - slack or hi > high + slack:
        looks = " (that looks like 0-255 pixels)" if hi > 2.0 else ""
        raise ValueError(
            f"{name} range from {lo:.3g} to {hi:.3g}{looks}, but pixels must be in "
            f"[{low:g}, {high:g}] here: {_range_hint(low, high)}"
        )


def check_not_unit_range(arr: np.ndarray, name: str = "images") -> None:
    """For training data in (-1, 1): stop when a whole batch sits in [0, 1].

    Fashion-MNIST's background is the lowest pixel value, so a real batch scaled to
    (-1, 1) always reaches -1; a batch that never goes below 0 was scaled to (0, 1).
    """
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if lo >= 0.0:
        raise ValueError(
            f"{name} range from {lo:.3g} to {hi:.3g}, which looks like [0, 1]; this model "
            f"needs pixels in [-1, 1]: {_range_hint(-1, 1)}"
        )


def as_images(
    images,
    *,
    name: str = "images",
    shape=IMAGE_SHAPE,
    value_range=None,
    min_count: int = 1,
    range_slack: float = _RANGE_SLACK,
) -> np.ndarray:
    """A batch of images as float32 ``(n, *shape)``, checked; clear error otherwise.

    ``shape`` is the shape of one image: ``(28, 28, 1)`` by default (``(n, 28, 28)`` is
    accepted and given its channel), or None for any ``(h, w, c)``. ``value_range``,
    when given, is the range every pixel must lie in. ``min_count`` is the fewest images
    that make sense (2 to compare two distributions). ``range_slack``: see
    :func:`check_pixel_range`.
    """
    if images is None or isinstance(images, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array of images; got {type(images).__name__}")
    if hasattr(images, "element_spec"):
        raise TypeError(f"{name} must be an array of images here, not a tf.data.Dataset")
    try:
        arr = _to_numpy(images)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of images: {err}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric (an array of numbers); got dtype {arr.dtype}")
    if shape is not None:
        shape = tuple(shape)
        if arr.ndim == len(shape) and shape[-1] == 1 and arr.shape[1:] == shape[:-1]:
            arr = arr[..., None]
        if arr.ndim != len(shape) + 1 or arr.shape[1:] != shape:
            dims = ", ".join(str(d) for d in shape)
            extra = f" (or (n, {', '.join(str(d) for d in shape[:-1])}))" if shape[-1] == 1 else ""
            raise ValueError(f"{name} must have shape (n, {dims}){extra}; got {arr.shape}")
    elif arr.ndim != 4:
        raise ValueError(
            f"{name} must be a batch of images with shape (n, height, width, channels); got {arr.shape}"
        )
    if len(arr) < min_count:
        what = "is empty" if len(arr) == 0 else f"has {len(arr)} image(s)"
        raise ValueError(f"{name} {what}; need at least {min_count}")
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or infinity (has training diverged?)")
    if value_range is not None:
        check_pixel_range(arr, value_range, name, slack=range_slack)
    return arr


def as_masks(masks, images, *, name: str = "mask") -> np.ndarray:
    """Inpainting masks for ``images``, float32 ``(n, height, width, 1)``: 1 = missing.

    ``images`` is the checked batch the masks go with; one mask for all of them, or one
    each, is accepted (``(n, h, w)`` too). Values must be exactly 0 (known) or 1
    (missing): a mask in 0-255, or a "keep" mask in booleans, is a different convention
    and is refused rather than guessed.
    """
    arr = as_images(
        masks, name=name, shape=None if np.ndim(masks) == 4 else (*images.shape[1:3], 1)
    )
    if arr.shape[1:] != (*images.shape[1:3], 1):
        raise ValueError(
            f"{name} must have shape (n, {images.shape[1]}, {images.shape[2]}, 1) to go with "
            f"images of shape {images.shape}; got {arr.shape}"
        )
    if len(arr) not in (1, len(images)):
        raise ValueError(f"{name} holds {len(arr)} masks for {len(images)} images: give 1 or n")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must hold only 0 (known pixel) and 1 (missing pixel)")
    return np.broadcast_to(arr, (len(images), *arr.shape[1:])).astype(np.float32)


def as_videos(
    videos,
    *,
    name: str = "videos",
    frames: int | None = None,
    min_frames: int = 1,
    size: int | None = None,
    value_range=None,
    min_count: int = 1,
    range_slack: float = _RANGE_SLACK,
) -> np.ndarray:
    """A batch of grey videos as float32 ``(n, frames, height, width, 1)``, checked.

    ``(n, frames, height, width)`` is accepted and given its channel. ``frames`` (exactly)
    or ``min_frames`` (at least) say how many frames each video needs; ``size``, when
    given, is the height and width every frame must have; ``value_range`` the range every
    pixel must lie in.
    """
    if videos is None or isinstance(videos, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array of videos; got {type(videos).__name__}")
    if hasattr(videos, "element_spec"):
        raise TypeError(f"{name} must be an array of videos here, not a tf.data.Dataset")
    arr = _to_numpy(videos)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric (an array of numbers); got dtype {arr.dtype}")
    if arr.ndim == 4:
        arr = arr[..., None]
    if arr.ndim != 5 or arr.shape[-1] != 1:
        raise ValueError(
            f"{name} must have shape (n, frames, height, width, 1) (or (n, frames, height, "
            f"width)) for grey videos; got {np.shape(videos)}"
        )
    if len(arr) < min_count:
        what = "is empty" if len(arr) == 0 else f"has {len(arr)} video(s)"
        raise ValueError(f"{name} {what}; need at least {min_count}")
    if frames is not None and arr.shape[1] != frames:
        raise ValueError(f"{name} must have {frames} frames each; got {arr.shape[1]}")
    if arr.shape[1] < min_frames:
        raise ValueError(f"{name} must have at least {min_frames} frames each; got {arr.shape[1]}")
    if size is not None and arr.shape[2:4] != (size, size):
        raise ValueError(
            f"{name} must have frames of {size}x{size} pixels; got {arr.shape[2]}x{arr.shape[3]}"
        )
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or infinity (has training diverged?)")
    if value_range is not None:
        low, high = value_range_pair(value_range)
        lo, hi = float(np.min(arr)), float(np.max(arr))
        slack = range_slack * (high - low)
        if lo < low - slack or hi > high + slack:
            looks = " (that looks like 0-255 pixels)" if hi > 2.0 else ""
            raise ValueError(
                f"{name} range from {lo:.3g} to {hi:.3g}{looks}, but pixels must be in "
                f"[{low:g}, {high:g}] here: make them with "
                f"data.moving_sprites(..., value_range=({low:g}, {high:g}))"
            )
    return arr


NUM_KEYPOINTS = 17  # COCO's body keypoints: nose, eyes, ears, shoulders ... ankles


def as_poses(poses, *, name: str = "poses", min_frames: int = 1, channels=(2, 3)) -> np.ndarray:
    """Keypoint sequences as float32 ``(n, frames, 17, c)``, checked.

    ``c`` is 3 for (x, y, confidence) or 2 for (x, y); ``channels`` lists which are
    accepted. One sequence ``(frames, 17, c)`` becomes a batch of one.
    """
    if poses is None or isinstance(poses, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array of keypoints; got {type(poses).__name__}")
    arr = _to_numpy(poses)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numbers; got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[None]
    want = " or ".join(str(c) for c in channels)
    if arr.ndim != 4 or arr.shape[2] != NUM_KEYPOINTS or arr.shape[3] not in channels:
        raise ValueError(
            f"{name} must have shape (n, frames, {NUM_KEYPOINTS}, {want}) (keypoints x "
            f"(x, y[, confidence])); got {np.shape(poses)}"
        )
    if len(arr) == 0 or arr.shape[1] < min_frames:
        raise ValueError(
            f"{name} must hold at least one sequence of at least {min_frames} frames; "
            f"got {arr.shape}"
        )
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or infinity")
    return arr


# -- labels, codes, scores ------------------------------------------------------------------


def as_labels(labels, num_classes: int = NUM_CLASSES, *, n: int | None = None, name="labels"):
    """Class labels as int32 ``(n,)``, each in ``0 .. num_classes-1``.

    One int is one label; ``(n, 1)`` columns and whole-valued floats are accepted. With
    ``n`` given, there must be exactly one label per image.
    """
    if labels is None or isinstance(labels, (str, bytes)):
        raise TypeError(f"{name} must be class numbers (ints); got {labels!r}")
    arr = _to_numpy(labels)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class numbers; got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be whole numbers (class indices); got dtype {arr.dtype}")
    bad = arr[(arr < 0) | (arr >= num_classes)]
    if bad.size:
        raise ValueError(
            f"unknown class label {int(bad[0])}: {name} must be between 0 and {num_classes - 1}"
        )
    if n is not None and len(arr) != n:
        raise ValueError(f"got {len(arr)} {name} for {n} images; need one label per image")
    return arr.astype(np.int32)


def as_codes(z, dim: int, *, name: str = "codes") -> np.ndarray:
    """Latent codes as float32 ``(n, dim)``; one code ``(dim,)`` becomes ``(1, dim)``."""
    if z is None or isinstance(z, (str, bytes)):
        raise TypeError(f"{name} must be an array of shape (n, {dim}); got {z!r}")
    arr = _to_numpy(z)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numbers, shape (n, {dim}); got dtype {arr.dtype}")
    arr = arr.astype(np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != dim or len(arr) == 0:
        raise ValueError(f"{name} must have shape (n, {dim}); got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or infinity")
    return arr


def as_scores(values, name: str = "scores") -> np.ndarray:
    """Finite real numbers as a flat float64 array with at least one entry."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be numbers; got {values!r}")
    arr = _to_numpy(values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} is empty; need at least one score")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or infinity")
    return arr


# -- datasets ------------------------------------------------------------------------------


def first_batch(dataset):
    """The first element of a ``tf.data.Dataset`` (or another iterable of batches).

    Models check this batch as they would check an array, so a dataset of 0-255 images
    is stopped as early as an array of them.
    """
    try:
        return next(iter(dataset))
    except StopIteration:
        raise ValueError("the dataset is empty: it gave no batch to train on") from None
