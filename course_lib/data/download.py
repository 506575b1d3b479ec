"""Where downloaded data sets live, and the one download every loader uses.

The course's own data folder (``$COURSE_DATA_DIR``), the Keras cache
(``$KERAS_HOME/datasets``, ``~/.keras/datasets`` by default) and :func:`fetch_checked`,
which writes a download whole or not at all. Fashion-MNIST and tiny Shakespeare share
them; so will any later data set that can be downloaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from course_lib.data.errors import DataFileError

# What a failed download raises: no network, a refused connection, a 404, a timeout.
DOWNLOAD_ERRORS = (urllib.error.URLError, OSError, TimeoutError)


def course_data_dir() -> Path | None:
    """The folder ``$COURSE_DATA_DIR`` names, or None when it is not set."""
    env_dir = os.environ.get("COURSE_DATA_DIR")
    return Path(env_dir) if env_dir else None


def keras_cache_dir(name: str) -> Path:
    """Where Keras caches the data set ``name``: ``$KERAS_HOME/datasets/<name>``.

    ``$KERAS_HOME`` defaults to ``~/.keras``, as in ``keras.utils.get_file``.
    """
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home) / "datasets" / name


def fetch_checked(url: str, target: Path, check: Callable[[Path], object], timeout: float) -> None:
    """Download ``url`` to ``target``, written whole or not at all.

    The bytes land in a temporary file beside ``target``; ``check(path)`` must accept it
    (it raises :class:`DataFileError` otherwise) before it takes ``target``'s name, so an
    interrupted or corrupt download never leaves a file that looks finished. A failed
    download raises one of :data:`DOWNLOAD_ERRORS`.
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
