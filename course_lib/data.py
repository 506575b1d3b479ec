"""Data sets of the course, offline first.

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
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
IMAGE_SHAPE = (28, 28, 1)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_UBYTE = 0x08


class DataNotFoundError(FileNotFoundError):
    """No place the loader knows of has the data set."""


class DataFileError(ValueError):
    """A data file exists but is not what it should be (corrupt, truncated, wrong kind)."""


@dataclass(frozen=True)
class Source:
    """One place the loader looks in: a label for people and the folder it means."""

    label: str
    folder: Path | None
    why_missing: str = ""


def keras_cache_dir() -> Path:
    """The folder Keras caches Fashion-MNIST in (honours ``$KERAS_HOME``)."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home) / "datasets" / "fashion-mnist"


def fashion_mnist_sources() -> list[Source]:
    """The local places searched for Fashion-MNIST, in the order they are tried."""
    sources = []
    env_dir = os.environ.get("COURSE_DATA_DIR")
    if env_dir:
        base = Path(env_dir)
        nested = base / "fashion-mnist"
        folder = nested if nested.is_dir() else base
        sources.append(Source(f"$COURSE_DATA_DIR ({folder})", folder))
    else:
        sources.append(Source("$COURSE_DATA_DIR", None, "not set"))
    sources.append(Source(f"Debian package dataset-fashion-mnist ({DEBIAN_DIR})", DEBIAN_DIR))
    cache = keras_cache_dir()
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


def _fetch_checked(url: str, target: Path, check, timeout: float) -> None:
    """Download ``url`` to ``target``, written whole or not at all.

    The bytes land in a temporary file beside ``target``; ``check(path)`` must accept it
    (it raises :class:`DataFileError` otherwise) before it takes ``target``'s name, so an
    interrupted or corrupt download never leaves a file that looks finished.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=target.parent, delete=False, suffix=".part" + "".join(target.suffixes)
    ) as tmp:
        part = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, tmp)
        except BaseException:
            tmp.close()
            part.unlink(missing_ok=True)
            raise
    try:
        check(part)
    except DataFileError as err:
        part.unlink(missing_ok=True)
        raise DataFileError(f"the file downloaded from {url} is not valid: {err}") from err
    part.replace(target)


def _download(base_url: str, folder: Path, split: str, timeout: float) -> None:
    """Fetch one split's two gzipped IDX files into ``folder`` (those not there yet)."""
    for stem in _FILES[split]:
        target = folder / (stem + ".gz")
        if not target.is_file():
            _fetch_checked(base_url.rstrip("/") + "/" + target.name, target, read_idx, timeout)


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
        cache = keras_cache_dir()
        try:
            _download(base_url, cache, split, timeout)
        except (urllib.error.URLError, OSError, TimeoutError) as err:
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


def value_range_pair(value_range) -> tuple[float, float]:
    """Check a pixel range such as ``(0, 1)`` or ``(-1, 1)`` and return it as two floats.

    Every public function that takes ``value_range`` uses this, so a wrong one always
    gets the same clear message.
    """
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
    if not low < high:
        raise ValueError(f"value_range must have low < high; got {value_range!r}")
    return low, high


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
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be a positive int or None; got {limit!r}")
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


def smiley_points(n: int = 2000, seed: int = 0) -> np.ndarray:
    """2-D points shaped like a smiling face: a ring, two eyes and a curved mouth.

    A toy data set with a shape people recognise at once, for models small enough to
    train in seconds. Returns float32 of shape (n, 2), roughly in [-1.2, 1.2].
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 4:
        raise ValueError(f"n must be an int of at least 4; got {n!r}")
    rng = np.random.default_rng(seed)
    part = rng.choice(4, size=n, p=[0.45, 0.125, 0.125, 0.3])
    angle = np.where(
        part == 0, rng.uniform(0, 2 * np.pi, n), rng.uniform(1.15 * np.pi, 1.85 * np.pi, n)
    )
    radius = np.where(part == 0, 1.0, 0.55)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    points[part == 1] = [-0.38, 0.35]
    points[part == 2] = [0.38, 0.35]
    spread = np.where(part[:, None] == 0, 0.04, np.where(part[:, None] == 3, 0.04, 0.07))
    return (points + spread * rng.standard_normal((n, 2))).astype(np.float32)


def clear_cache() -> None:
    """Forget data already read in this process (after files were changed on disk)."""
    _load_raw.cache_clear()


# ======================================================================================
# Text corpora (chapter 04): tiny Shakespeare when it is on disk or reachable, and an
# offline corpus that always loads, Python's own documentation (``pydoc_data.topics``).
# ======================================================================================

SHAKESPEARE_URL = "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt"
SHAKESPEARE_FILES = ("shakespeare.txt", "tinyshakespeare.txt", "tiny_shakespeare.txt")
TEXT_SOURCES = ("auto", "shakespeare", "python-docs")
_MIN_SHAKESPEARE_CHARS = 100_000  # the real file has 1,115,394 characters


@dataclass(frozen=True)
class TextCorpus:
    """A text split into a training part and a validation part (the last ``val_fraction``).

    ``name`` is ``"shakespeare"`` or ``"python-docs"``; ``source`` says where the text
    came from, for people.
    """

    name: str
    source: str
    text: str
    train: str
    validation: str


def keras_shakespeare_path() -> Path:
    """Where ``keras.utils.get_file("shakespeare.txt", ...)`` caches tiny Shakespeare."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home) / "datasets" / "shakespeare.txt"


def _read_shakespeare(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path} could not be read as UTF-8 text ({err}).") from err
    if len(text) < _MIN_SHAKESPEARE_CHARS:
        raise DataFileError(
            f"{path} has only {len(text):,} characters; tiny Shakespeare has about 1.1 "
            "million. The file is truncated: delete it and load again."
        )
    return text


def _shakespeare_candidates() -> list[tuple[str, Path | None]]:
    places: list[tuple[str, Path | None]] = []
    env_dir = os.environ.get("COURSE_DATA_DIR")
    if env_dir:
        for name in SHAKESPEARE_FILES:
            path = Path(env_dir) / name
            if path.is_file():
                places.append((f"$COURSE_DATA_DIR ({path})", path))
                break
        else:
            places.append((f"$COURSE_DATA_DIR ({env_dir})", None))
    else:
        places.append(("$COURSE_DATA_DIR (not set)", None))
    cache = keras_shakespeare_path()
    places.append((f"Keras cache ({cache})", cache if cache.is_file() else None))
    return places


def find_shakespeare(download: bool = True, timeout: float = 10.0) -> tuple[str, str] | None:
    """Tiny Shakespeare's text and where it came from, or None when no place has it.

    Looks in ``$COURSE_DATA_DIR`` (``shakespeare.txt``), then the Keras cache, then (when
    ``download``) fetches it into the Keras cache from ``$COURSE_SHAKESPEARE_URL`` or
    the TensorFlow mirror. A file that exists but is broken raises :class:`DataFileError`.
    """
    for label, path in _shakespeare_candidates():
        if path is not None:
            return _read_shakespeare(path), label
    if not download:
        return None
    url = os.environ.get("COURSE_SHAKESPEARE_URL", SHAKESPEARE_URL)
    target = keras_shakespeare_path()
    try:
        _fetch_checked(url, target, _read_shakespeare, timeout)
    except (urllib.error.URLError, OSError, TimeoutError):
        return None
    return _read_shakespeare(target), f"download from {url} into {target}"


def python_docs_text() -> str:
    """The text of Python's own help topics (``pydoc_data.topics``), about 0.45 MB.

    Every Python installation ships it, so it loads with no network and no extra
    package: English prose about Python with code examples, in a fixed order.
    """
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key].strip() for key in sorted(topics)) + "\n"


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """Split ``text`` into (train, validation): validation is the last ``val_fraction``.

    The split is contiguous, not shuffled, so no validation sentence leaks into training.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    is_number = isinstance(val_fraction, (int, float)) and not isinstance(val_fraction, bool)
    if not is_number or not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be a number between 0 and 1; got {val_fraction!r}")
    cut = int(round(len(text) * (1.0 - val_fraction)))
    if cut < 2 or len(text) - cut < 2:
        raise ValueError(
            f"text of {len(text)} characters is too short to split with val_fraction="
            f"{val_fraction}: each part needs at least 2 characters"
        )
    return text[:cut], text[cut:]


def load_text_corpus(
    source: str = "auto",
    *,
    val_fraction: float = 0.1,
    limit: int | None = None,
    download: bool = True,
    verbose: bool = True,
) -> TextCorpus:
    """Load the course's text, offline first, split into training and validation text.

    Args:
        source: ``"auto"`` (tiny Shakespeare when it is on disk or can be downloaded,
            otherwise Python's documentation), ``"shakespeare"`` (fail if it cannot be
            had) or ``"python-docs"`` (always offline).
        val_fraction: the share of the text, taken from its end, kept for validation.
        limit: keep only the first ``limit`` characters before splitting.
        download: allow downloading tiny Shakespeare when it is not on disk.
        verbose: print one line saying which text was used and how big the parts are.
    """
    if source not in TEXT_SOURCES:
        raise ValueError(f"source must be one of {TEXT_SOURCES}; got {source!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 4):
        raise ValueError(f"limit must be an int of at least 4, or None; got {limit!r}")
    found = None if source == "python-docs" else find_shakespeare(download=download)
    if found is not None:
        name, (text, label) = "shakespeare", found
    elif source == "shakespeare":
        places = "\n  - ".join(label for label, _ in _shakespeare_candidates())
        raise DataNotFoundError(
            f"tiny Shakespeare was not found. Looked in:\n  - {places}\n"
            + (
                f"  - download from {os.environ.get('COURSE_SHAKESPEARE_URL', SHAKESPEARE_URL)}"
                ": failed\n"
                if download
                else "  - download: not attempted (download=False)\n"
            )
            + "Fix: put shakespeare.txt in $COURSE_DATA_DIR, connect to the internet once, "
            "or use source='python-docs' (always available offline)."
        )
    else:
        name, text = "python-docs", python_docs_text()
        label = "Python's documentation (pydoc_data.topics, offline)"
        if source == "auto":
            label += "; tiny Shakespeare was not on disk or reachable"
    if limit is not None:
        text = text[:limit]
    train, validation = split_text(text, val_fraction)
    if verbose:
        print(
            f"text corpus '{name}' from {label}: {len(train):,} training and "
            f"{len(validation):,} validation characters"
        )
    return TextCorpus(name, label, text, train, validation)


def word_order_examples(text: str, n: int, *, max_chars: int = 64, seed: int = 0):
    """A two-class task made from any text: is the word order real (0) or shuffled (1)?

    Each example is a run of whole words from ``text`` (at most ``max_chars``
    characters, words joined by single spaces); half of them, picked at random, get their
    words shuffled. Both classes have exactly the same words and characters, so only
    knowing how words follow each other tells them apart: what a language model learns.

    Returns ``(texts, labels)``: a list of n strings and an int64 array of 0s and 1s,
    exactly half of each (n must be even).
    """
    for name, value, low in (("n", n, 2), ("max_chars", max_chars, 16)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an int of at least {low}; got {value!r}")
    if n % 2:
        raise ValueError(f"n must be even (half real, half shuffled); got {n}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    words = text.split()
    if len(words) < 8:
        raise ValueError(f"text has {len(words)} words; need at least 8 to make examples")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    texts: list[str] = []
    tries = 0
    while len(texts) < n and tries < 100 * n:
        tries += 1
        chunk, length = [], -1
        for word in words[int(rng.integers(0, len(words) - 4)) :]:
            if length + 1 + len(word) > max_chars:
                break
            chunk.append(word)
            length += 1 + len(word)
        if len(chunk) < 4 or len(set(chunk)) < 2:
            continue
        if labels[len(texts)] == 1:
            shuffled = chunk
            while shuffled == chunk:
                shuffled = [chunk[i] for i in rng.permutation(len(chunk))]
            chunk = shuffled
        texts.append(" ".join(chunk))
    if len(texts) < n:
        raise ValueError(
            f"could not cut {n} examples of 4+ words and <= {max_chars} characters from "
            f"this text (got {len(texts)} after {tries} tries): use more text or a "
            "larger max_chars"
        )
    return texts, labels
