"""Fashion-MNIST, offline first: where it is looked for, IDX files, the loader, class names.

Fashion-MNIST is looked for in this order, and the first place that has it is used:

1. ``$COURSE_DATA_DIR`` (the four IDX files, gzipped or not, in it or in a
   ``fashion-mnist/`` folder inside it);
2. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist`` package);
3. the Keras cache, ``$KERAS_HOME/datasets/fashion-mnist`` (``~/.keras`` by default);
4. a download from the Keras mirror into that cache (``COURSE_FASHION_MNIST_URL``
   overrides the address).

One line says which source was used. Files are checked as they are read: a corrupt or
truncated file raises :class:`DataFileError` naming the file, and when no place has the
data, :class:`DataNotFoundError` lists every place that was looked in and why it failed.
"""

from __future__ import annotations

import functools
import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib.conventions import IMAGE_SHAPE, as_positive_int, value_range_pair
from course_lib.data.download import (
    DOWNLOAD_ERRORS,
    course_data_dir,
    fetch_checked,
    keras_cache_dir,
)
from course_lib.data.errors import DataFileError, DataNotFoundError

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_KERAS_NAME = "fashion-mnist"  # the folder inside the Keras cache
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_UBYTE = 0x08


@dataclass(frozen=True)
class Source:
    """One place the loader looks in: a label for people and the folder it means."""

    label: str
    folder: Path | None
    why_missing: str = ""


def fashion_mnist_sources() -> list[Source]:
    """The local places searched for Fashion-MNIST, in the order they are tried."""
    sources = []
    base = course_data_dir()
    if base is not None:
        nested = base / "fashion-mnist"
        folder = nested if nested.is_dir() else base
        sources.append(Source(f"$COURSE_DATA_DIR ({folder})", folder))
    else:
        sources.append(Source("$COURSE_DATA_DIR", None, "not set"))
    sources.append(Source(f"Debian package dataset-fashion-mnist ({DEBIAN_DIR})", DEBIAN_DIR))
    cache = keras_cache_dir(_KERAS_NAME)
    sources.append(Source(f"Keras cache ({cache})", cache))
    return sources


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        path = folder / name
        if path.is_file():
            return path
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise DataFileError(
            f"{path} could not be read ({err}). The file is corrupt or truncated: "
            "delete it and load again to fetch a fresh copy."
        ) from err


def read_idx(path: str | os.PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes (the format of MNIST and Fashion-MNIST).

    ``expected_ndim`` (1 for labels, 3 for images) is checked against the header.
    Raises :class:`DataFileError` with the file's name when the header or the length is
    wrong, instead of a NumPy reshape error.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataFileError(f"{path} is only {len(raw)} bytes long: not an IDX file.")
    zero1, zero2, dtype_code, ndim = raw[:4]
    if zero1 or zero2 or dtype_code != _IDX_UBYTE or ndim == 0:
        raise DataFileError(
            f"{path} does not start with an IDX header for unsigned bytes "
            f"(expected 00 00 08 <ndim>, found {raw[:4].hex(' ')})."
        )
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataFileError(f"{path} holds a {ndim}-D array; expected {expected_ndim}-D.")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataFileError(f"{path} is truncated inside its header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    found = len(raw) - header_len
    if found != expected:
        raise DataFileError(
            f"{path} says it holds an array of shape {shape} ({expected:,} bytes) but has "
            f"{found:,} bytes of data: the file is truncated or corrupt. Delete it and load "
            "again to fetch a fresh copy."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def _split_files(folder: Path, split: str) -> tuple[Path, Path] | None:
    images, labels = (_find_file(folder, stem) for stem in _FILES[split])
    if images is None or labels is None:
        return None
    return images, labels


def _read_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, expected_ndim=3)
    labels = read_idx(labels_path, expected_ndim=1)
    if images.shape[1:] != IMAGE_SHAPE[:2]:
        raise DataFileError(f"{images_path} holds images of {images.shape[1:]}; expected 28x28.")
    if len(images) != len(labels):
        raise DataFileError(
            f"{images_path} has {len(images):,} images but {labels_path} has "
            f"{len(labels):,} labels; they must match."
        )
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise DataFileError(f"{labels_path} has label {labels.max()}; expected 0 to 9.")
    return images, labels


def _download(base_url: str, folder: Path, split: str, timeout: float) -> None:
    """Fetch one split's two gzipped IDX files into ``folder`` (those not there yet)."""
    for stem in _FILES[split]:
        target = folder / (stem + ".gz")
        if not target.is_file():
            fetch_checked(base_url.rstrip("/") + "/" + target.name, target, read_idx, timeout)


@functools.lru_cache(maxsize=8)
def _load_raw(split: str, download: bool, base_url: str, timeout: float):
    looked = []
    for source in fashion_mnist_sources():
        if source.folder is None:
            looked.append(f"{source.label}: {source.why_missing}")
            continue
        found = _split_files(source.folder, split) if source.folder.is_dir() else None
        if found is None:
            looked.append(f"{source.label}: no {split} files there")
            continue
        return (*_read_split(*found), source.label)
    if download:
        cache = keras_cache_dir(_KERAS_NAME)
        try:
            _download(base_url, cache, split, timeout)
        except DOWNLOAD_ERRORS as err:
            looked.append(f"download from {base_url}: failed ({err})")
        else:
            found = _split_files(cache, split)
            return (*_read_split(*found), f"download from {base_url} into {cache}")
    else:
        looked.append("download: not attempted (download=False)")
    places = "\n  - ".join(looked)
    raise DataNotFoundError(
        f"Fashion-MNIST ({split} split) was not found. Looked in:\n  - {places}\n"
        "Fix: install the Debian package (sudo apt-get install dataset-fashion-mnist), "
        "or put the four IDX files in a folder and set COURSE_DATA_DIR to it, or connect "
        "to the internet once so the Keras download can fill its cache."
    )


def load_fashion_mnist(
    split: str = "train",
    *,
    value_range=(0.0, 1.0),
    limit: int | None = None,
    download: bool = True,
    verbose: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST images and labels, offline first.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        value_range: ``(low, high)`` to scale pixels into, as float32, e.g. ``(0, 1)``
            or ``(-1, 1)`` for a tanh generator; ``None`` keeps raw uint8 values 0-255.
        limit: keep only the first ``limit`` examples (the files are already shuffled).
        download: allow the Keras download when no local copy is found.
        verbose: print one line saying which source was used.

    Returns:
        ``(images, labels)``: images of shape ``(n, 28, 28, 1)``, labels ``(n,)`` int64
        in 0-9 (names in :data:`FASHION_MNIST_CLASSES`).
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    bounds = None if value_range is None else value_range_pair(value_range)
    if limit is not None:
        limit = as_positive_int(limit, "limit")
    base_url = os.environ.get("COURSE_FASHION_MNIST_URL", KERAS_MIRROR)
    images, labels, label = _load_raw(split, bool(download), base_url, 30.0)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if verbose:
        print(f"Fashion-MNIST {split}: {len(images):,} images from {label}")
    images = images[..., np.newaxis]
    labels = labels.astype(np.int64)
    if bounds is None:
        return images.copy(), labels
    low, high = bounds
    scaled = images.astype(np.float32) * np.float32((high - low) / 255.0) + np.float32(low)
    return scaled, labels


def clear_cache() -> None:
    """Forget Fashion-MNIST files already read in this process (after they changed on disk)."""
    _load_raw.cache_clear()
