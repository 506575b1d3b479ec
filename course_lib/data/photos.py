"""Real photos, offline: the pictures that ship inside installed packages, cut into patches.

Where the photos come from (each source is used when it is there):

* scikit-image's ``skimage.data``: colour photos (astronaut, chelsea the cat, coffee,
  rocket, the Hubble deep field, a retina) and grey ones (camera, coins, moon), plus
  three textures (brick, grass, gravel);
* scikit-learn's ``load_sample_images``: ``china`` (a temple) and ``flower``;
* matplotlib's sample data: ``grace_hopper.jpg``;
* Debian's ``opencv-doc`` package: about twenty of its sample photos (fruit, a baboon, a
  butterfly, buildings...). Setup extracts them without root rights
  (:func:`fetch_opencv_photos`: ``apt-get download`` + ``dpkg-deb --fsys-tarfile``); an
  installed ``opencv-doc`` is read in place.

The split is **by photo** and fixed by name (:data:`HELD_OUT_PHOTOS`): a photo gives
patches to training or to the held-out set, never to both, whichever sources are
present. :func:`load_photo_patches` prints one line saying which sources it found.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from course_lib.conventions import as_int, as_number, as_positive_int, value_range_pair
from course_lib.data.download import course_data_dir, keras_cache_dir
from course_lib.data.errors import DataNotFoundError

SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "retina",
    "camera",
    "coins",
    "moon",
    "brick",
    "grass",
    "gravel",
)
SKLEARN_PHOTOS = ("china", "flower")
MATPLOTLIB_PHOTOS = ("grace_hopper",)
# natural photos among opencv-doc's samples (logos, charts, text and chessboards left out;
# starry_night is a painting: it is extracted too, for chapter 08, but never cut into patches)
OPENCV_PHOTOS = (
    "HappyFish.jpg",
    "aero1.jpg",
    "aero3.jpg",
    "aloeL.jpg",
    "apple.jpg",
    "baboon.jpg",
    "basketball1.png",
    "board.jpg",
    "building.jpg",
    "butterfly.jpg",
    "fruits.jpg",
    "home.jpg",
    "leuvenA.jpg",
    "leuvenB.jpg",
    "messi5.jpg",
    "orange.jpg",
    "rubberwhale1.png",
    "squirrel_cls.jpg",
    "stuff.jpg",
)
# paintings among opencv-doc's samples: style images for chapter 08 (Van Gogh, public domain)
OPENCV_PAINTINGS = ("starry_night.jpg",)
# photos kept for testing: none of them gives a single training patch
HELD_OUT_PHOTOS = frozenset(
    {"astronaut", "coffee", "grace_hopper", "flower", "baboon", "fruits", "leuvenB", "home"}
)
OPENCV_DEBIAN_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
_OPENCV_FOLDER = "opencv-photos"  # in the data cache
_OPENCV_MEMBER = "./usr/share/doc/opencv-doc/examples/data/"
_MAX_SIDE = 512  # larger photos are shrunk first, so a patch still holds some detail


def photo_split(name: str) -> str:
    """``"test"`` for a held-out photo (:data:`HELD_OUT_PHOTOS`), else ``"train"``."""
    return "test" if name.split(".")[0] in HELD_OUT_PHOTOS else "train"


def opencv_photos_dir() -> Path:
    """Where :func:`fetch_opencv_photos` keeps opencv-doc's photos: ``$COURSE_DATA_DIR``
    or the Keras cache, in a folder ``opencv-photos``."""
    base = course_data_dir()
    return (base / _OPENCV_FOLDER) if base else keras_cache_dir(_OPENCV_FOLDER)


def _opencv_dirs() -> list[Path]:
    return [d for d in (opencv_photos_dir(), OPENCV_DEBIAN_DIR) if d.is_dir()]


def fetch_opencv_photos(
    *, timeout: float = 600.0, say: Callable[[str], object] = print
) -> Path | None:
    """Extract opencv-doc's sample photos (and its painting, :data:`OPENCV_PAINTINGS`)
    into :func:`opencv_photos_dir`; for setup.

    Quick and silent when they are there already. Otherwise ``apt-get download
    opencv-doc`` (96 MB, no root needed) into a temporary folder, then only the photos of
    :data:`OPENCV_PHOTOS` are taken from ``dpkg-deb --fsys-tarfile``; the package itself is
    deleted (:data:`OPENCV_PAINTINGS` are taken too, for chapter 08). It never raises: without apt-get, offline, or on any failure it says so in one
    line and returns None (the course then uses the other sources).
    """
    target = opencv_photos_dir()
    wanted = OPENCV_PHOTOS + OPENCV_PAINTINGS
    if all((target / name).is_file() for name in wanted):
        return target
    if OPENCV_DEBIAN_DIR.is_dir():
        return OPENCV_DEBIAN_DIR
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        say("no apt-get/dpkg-deb here: opencv-doc's photos are skipped (the others remain)")
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".opencv-") as tmp:
            say("fetching opencv-doc's sample photos (apt-get download, 96 MB, once)")
            run = dict(cwd=tmp, stderr=subprocess.DEVNULL, timeout=timeout, check=True)
            subprocess.run(
                ["apt-get", "download", "-qq", "opencv-doc"], stdout=subprocess.DEVNULL, **run
            )
            deb = next(Path(tmp).glob("opencv-doc_*.deb"))
            tar_path = Path(tmp) / "data.tar"
            with open(tar_path, "wb") as out:
                subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=out, **run)
            deb.unlink()
            staged = Path(tmp) / "photos"
            staged.mkdir()
            with tarfile.open(tar_path) as tar:
                for name in wanted:
                    member = tar.getmember(_OPENCV_MEMBER + name)
                    (staged / name).write_bytes(tar.extractfile(member).read())
            if target.exists():
                shutil.rmtree(target)
            staged.rename(target)
    except (
        OSError,
        ValueError,
        subprocess.SubprocessError,
        tarfile.TarError,
        KeyError,
        StopIteration,
    ) as err:
        say(f"could not fetch opencv-doc's photos ({type(err).__name__}); the others remain")
        return None
    return target


def _as_rgb_float(image) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    else:
        arr = arr.astype(np.float32)
        arr = arr / 255.0 if arr.max() > 1.0 else arr
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    return arr[..., :3]


def _shrink(image: np.ndarray) -> np.ndarray:
    side = max(image.shape[:2])
    if side <= _MAX_SIDE:
        return image
    from skimage.transform import rescale

    return rescale(image, _MAX_SIDE / side, channel_axis=-1, anti_aliasing=True).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _all_photos() -> tuple[dict, tuple]:
    """``({name: RGB float image in [0, 1]}, (source lines))`` of every photo found."""
    photos, sources = {}, []
    try:
        import skimage.data

        for name in SKIMAGE_PHOTOS:
            photos[name] = getattr(skimage.data, name)()
        sources.append(f"scikit-image ({len(SKIMAGE_PHOTOS)})")
    except ImportError:
        pass
    try:
        from sklearn.datasets import load_sample_images

        for name, image in zip(SKLEARN_PHOTOS, load_sample_images().images):
            photos[name] = image
        sources.append(f"scikit-learn ({len(SKLEARN_PHOTOS)})")
    except ImportError:
        pass
    import matplotlib.cbook
    import matplotlib.image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        photos["grace_hopper"] = matplotlib.image.imread(handle, format="jpg")
    sources.append("matplotlib (1)")
    for folder in _opencv_dirs():
        found = [name for name in OPENCV_PHOTOS if (folder / name).is_file()]
        for name in found:
            photos[name.split(".")[0]] = matplotlib.image.imread(folder / name)
        if found:
            sources.append(f"opencv-doc ({len(found)}, {folder})")
            break
    return {k: _shrink(_as_rgb_float(v)) for k, v in photos.items()}, tuple(sources)


def photo_names(split: str | None = None) -> list[str]:
    """The names of the photos found, all of them or those of one split."""
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None; got {split!r}")
    names = sorted(_all_photos()[0])
    return [n for n in names if split is None or photo_split(n) == split]


def load_photo(name: str) -> np.ndarray:
    """One photo, RGB float32 in [0, 1] (at most 512 pixels on its longer side)."""
    photos = _all_photos()[0]
    if name not in photos:
        raise DataNotFoundError(f"no photo named {name!r}; found: {', '.join(sorted(photos))}")
    return photos[name]


def to_luma(images) -> np.ndarray:
    """The luminance Y of RGB images (ITU-R BT.601 weights), keeping a channel axis of 1."""
    arr = np.asarray(images, np.float32)
    if arr.shape[-1] != 3:
        raise ValueError(f"to_luma needs RGB images (last axis 3); got shape {arr.shape}")
    return (arr @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]


def load_photo_patches(
    split: str = "train",
    *,
    n: int = 1000,
    size: int = 48,
    channels: str = "luma",
    value_range=(0.0, 1.0),
    seed: int = 0,
    min_std: float = 0.02,
    verbose: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` square patches cut at random from the photos of one split.

    Args:
        split: ``"train"`` or ``"test"`` (the held-out photos, :data:`HELD_OUT_PHOTOS`).
        n: how many patches; each photo of the split gives about the same number.
        size: the side of a patch in pixels.
        channels: ``"luma"`` (one channel, the luminance) or ``"rgb"``.
        value_range: the pixel range, ``(0, 1)`` or ``(-1, 1)`` for instance.
        seed: fixes where the patches are cut.
        min_std: a patch whose pixels (in [0, 1]) vary less than this is cut again
            elsewhere (up to 20 tries): a flat patch (sky, a black border) teaches
            nothing, and a perfect copy of it would score an infinite PSNR.

    Returns ``(patches, photo_index)``: patches ``(n, size, size, 1 or 3)`` float32 and,
    for each, the index of its photo in ``photo_names(split)``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    if channels not in ("luma", "rgb"):
        raise ValueError(f"channels must be 'luma' or 'rgb'; got {channels!r}")
    n, size = as_positive_int(n, "n"), as_int(size, "size", minimum=4)
    low, high = value_range_pair(value_range)
    names = photo_names(split)
    photos, sources = _all_photos()
    names = [name for name in names if min(photos[name].shape[:2]) >= size]
    if not names:
        raise DataNotFoundError(f"no {split} photo is at least {size} pixels on each side")
    rng = np.random.default_rng(seed)
    which = np.arange(n) % len(names)
    rng.shuffle(which)
    patches = np.empty((n, size, size, 3), np.float32)
    min_std = as_number(min_std, "min_std", low=0.0)
    for i, k in enumerate(which):
        photo = photos[names[k]]
        for _ in range(20):
            top = rng.integers(0, photo.shape[0] - size + 1)
            left = rng.integers(0, photo.shape[1] - size + 1)
            patches[i] = photo[top : top + size, left : left + size]
            if patches[i].std() >= min_std:
                break
    if channels == "luma":
        patches = to_luma(patches)
    if verbose:
        print(
            f"photo patches ({split}): {n} of {size}x{size} from {len(names)} photos; "
            f"sources: {', '.join(sources)}"
        )
    return (low + (high - low) * patches).astype(np.float32), which
