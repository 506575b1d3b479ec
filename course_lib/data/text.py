"""Text corpora (chapter 04), offline first, and tasks made from text.

Tiny Shakespeare is used when it is on disk (``$COURSE_DATA_DIR/shakespeare.txt``, the
Keras cache) or can be downloaded; Python's own documentation (``pydoc_data.topics``)
always loads, with no network. :func:`load_text_corpus` picks one and splits it into
training and validation text (:func:`split_text`); :func:`word_order_examples` makes a
two-class task (real or shuffled word order) from any text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib.conventions import as_int, as_number
from course_lib.data.download import (
    DOWNLOAD_ERRORS,
    course_data_dir,
    fetch_checked,
    keras_cache_dir,
)
from course_lib.data.errors import DataFileError, DataNotFoundError

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
    return keras_cache_dir("shakespeare.txt")


def _shakespeare_url() -> str:
    return os.environ.get("COURSE_SHAKESPEARE_URL", SHAKESPEARE_URL)


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
    env_dir = course_data_dir()
    if env_dir is not None:
        for name in SHAKESPEARE_FILES:
            path = env_dir / name
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
    url = _shakespeare_url()
    target = keras_shakespeare_path()
    try:
        fetch_checked(url, target, _read_shakespeare, timeout)
    except DOWNLOAD_ERRORS:
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
    val_fraction = as_number(
        val_fraction, "val_fraction", low=0, high=1, low_open=True, high_open=True
    )
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
        limit: keep only the first ``limit`` characters before splitting (at least 4).
        download: allow downloading tiny Shakespeare when it is not on disk.
        verbose: print one line saying which text was used and how big the parts are.
    """
    if source not in TEXT_SOURCES:
        raise ValueError(f"source must be one of {TEXT_SOURCES}; got {source!r}")
    if limit is not None:
        limit = as_int(limit, "limit", minimum=4)
    found = None if source == "python-docs" else find_shakespeare(download=download)
    if found is not None:
        name, (text, label) = "shakespeare", found
    elif source == "shakespeare":
        places = "\n  - ".join(label for label, _ in _shakespeare_candidates())
        raise DataNotFoundError(
            f"tiny Shakespeare was not found. Looked in:\n  - {places}\n"
            + (
                f"  - download from {_shakespeare_url()}: failed\n"
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
    n = as_int(n, "n", minimum=2)
    max_chars = as_int(max_chars, "max_chars", minimum=16)
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
