"""Style and content pictures for chapter 08, offline, square and RGB in [0, 1].

Style images (:data:`STYLE_NAMES`), each used when it is there:

* ``starry_night``: Van Gogh's *The Starry Night* (public domain), from Debian's
  ``opencv-doc`` sample data, which setup extracts with the chapter 05 photos
  (:func:`course_lib.data.photos.fetch_opencv_photos`);
* ``brick``, ``grass``, ``gravel``: scikit-image's textures (grey, given three channels);
* ``stripes``, ``waves``, ``mosaic``: coloured patterns the course draws itself, so a
  style image is always there.

Content images are the photos of :mod:`course_lib.data.photos` (scikit-image,
scikit-learn, matplotlib, opencv-doc), cut to a centred square and resized.
:func:`load_style_image` says in one line where a style came from.
"""

from __future__ import annotations

import matplotlib.image
import numpy as np

from course_lib.conventions import as_int
from course_lib.data import photos
from course_lib.data.errors import DataNotFoundError

PAINTINGS = ("starry_night",)
TEXTURES = ("brick", "grass", "gravel")
PATTERNS = ("stripes", "waves", "mosaic")
STYLE_NAMES = PAINTINGS + TEXTURES + PATTERNS


def square(image, size: int) -> np.ndarray:
    """The centred square of an RGB image, resized to ``size`` x ``size`` (float32, [0, 1])."""
    from skimage.transform import resize

    size = as_int(size, "size", minimum=8)
    arr = np.asarray(image, np.float32)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"square needs one RGB image (height, width, 3); got shape {arr.shape}")
    h, w = arr.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = arr[top : top + side, left : left + side]
    out = resize(crop, (size, size), anti_aliasing=side > size, preserve_range=True)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _pattern(name: str, side: int = 256) -> np.ndarray:
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    if name == "stripes":
        t = np.floor((x + y) * 8) % 3
        palette = np.array([[0.9, 0.3, 0.1], [0.1, 0.3, 0.7], [0.95, 0.85, 0.2]], np.float32)
        return palette[t.astype(int)]
    if name == "waves":
        a = np.sin(2 * np.pi * (6 * x + 2 * np.sin(2 * np.pi * 2 * y)))
        b = np.sin(2 * np.pi * (5 * y + 1.5 * np.sin(2 * np.pi * 3 * x)))
        return np.stack([0.5 + 0.4 * a, 0.5 + 0.2 * a * b, 0.5 + 0.4 * b], -1).astype(np.float32)
    # mosaic: coloured cells around random centres, with dark borders
    rng = np.random.default_rng(8)
    centres = rng.random((40, 2)).astype(np.float32)
    colours = rng.random((40, 3)).astype(np.float32) * 0.8 + 0.2
    dist = (y[..., None] - centres[:, 0]) ** 2 + (x[..., None] - centres[:, 1]) ** 2
    order = np.sort(dist, axis=-1)
    image = colours[np.argmin(dist, axis=-1)]
    edge = (np.sqrt(order[..., 1]) - np.sqrt(order[..., 0])) < 0.012
    image[edge] = 0.1
    return image


def _painting(name: str) -> tuple[np.ndarray, str] | None:
    for folder in photos._opencv_dirs():
        path = folder / f"{name}.jpg"
        if path.is_file():
            return np.asarray(
                matplotlib.image.imread(path), np.float32
            ) / 255.0, f"opencv-doc ({path})"
    return None


def style_names() -> list[str]:
    """The style images found here: the painting when setup extracted it, then the rest."""
    return [n for n in STYLE_NAMES if n not in PAINTINGS or _painting(n) is not None]


def load_style_image(name: str = "starry_night", size: int = 256, *, verbose: bool = True):
    """One style image, ``(size, size, 3)`` float32 in [0, 1], printing where it came from.

    ``name`` is one of :data:`STYLE_NAMES`. The painting needs opencv-doc's sample data
    (``./course setup`` extracts it); without it a clear :class:`DataNotFoundError` says
    so and names the styles that are there.
    """
    if name not in STYLE_NAMES:
        raise ValueError(f"style must be one of {', '.join(STYLE_NAMES)}; got {name!r}")
    if name in PAINTINGS:
        found = _painting(name)
        if found is None:
            raise DataNotFoundError(
                f"{name}.jpg is not here (setup extracts it: python tools/fetch_opencv_photos.py); "
                f"styles available: {', '.join(style_names())}"
            )
        image, source = found
    elif name in TEXTURES:
        import skimage.data

        image = getattr(skimage.data, name)().astype(np.float32) / 255.0
        image, source = np.repeat(image[..., None], 3, axis=-1), "scikit-image texture"
    else:
        image, source = _pattern(name), "drawn by the course"
    out = square(image[..., :3], size)
    if verbose:
        print(f"style image {name!r} ({size}x{size}): {source}")
    return out


def load_content_image(name: str = "chelsea", size: int = 256) -> np.ndarray:
    """One content photo (see :func:`course_lib.data.photos.photo_names`), squared and
    resized: ``(size, size, 3)`` float32 in [0, 1]."""
    return square(photos.load_photo(name), size)
