"""Tests of the Fashion-MNIST loader (course_lib.data.fashion_mnist) on tiny synthetic IDX
files, of the toy data sets, and of what the course_lib.data package exports.

Nothing here reads the real data set or the network: every source folder is a temporary
folder, and downloads come from a small HTTP server on 127.0.0.1.
"""

import functools
import gzip
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from course_lib import conventions, data
from course_lib.data import fashion_mnist

TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


# -- helpers ---------------------------------------------------------------------------


def idx_bytes(arr, dtype_code=0x08) -> bytes:
    """The IDX encoding of an unsigned-byte array, written from the format's spec."""
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, dtype_code, arr.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    return header + arr.tobytes()


def make_split(n, seed=0, h=28, w=28):
    """n random images (with 0 and 255 present) and labels 0-9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = (np.arange(n) + seed) % 10
    return images, labels.astype(np.uint8)


def write_file(folder: Path, stem: str, payload: bytes, gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (stem + ".gz" if gz else stem)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def write_split(folder: Path, images, labels, stems=TRAIN, gz=True):
    """Write one split's two IDX files into folder; return (images_path, labels_path)."""
    return (
        write_file(folder, stems[0], idx_bytes(images), gz),
        write_file(folder, stems[1], idx_bytes(labels), gz),
    )


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Every place the loader looks in, pointed at empty temporary folders."""
    keras_home = tmp_path / "keras-home"
    debian = tmp_path / "debian"
    debian.mkdir()
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", debian)
    # A safety net: any download not meant by a test hits a closed local port.
    monkeypatch.setenv("COURSE_FASHION_MNIST_URL", "http://127.0.0.1:9/")
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    data.clear_cache()
    yield {
        "data_dir": tmp_path / "course-data",
        "debian": debian,
        "cache": keras_home / "datasets" / "fashion-mnist",
        "tmp": tmp_path,
    }
    data.clear_cache()


def use_data_dir(monkeypatch, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass


class LocalServer:
    """An HTTP server on 127.0.0.1 (any free port) serving one folder, in a thread."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def stop(self):
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=5)
            self.running = False


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local server for the files put in its folder; COURSE_FASHION_MNIST_URL points at it."""
    folder = tmp_path / "served"
    folder.mkdir()
    srv = LocalServer(folder)
    srv.folder = folder
    monkeypatch.setenv("COURSE_FASHION_MNIST_URL", srv.url)
    yield srv
    srv.stop()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# -- loading from local folders ----------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "raw"])
def test_loads_from_course_data_dir(places, monkeypatch, capsys, gz):
    images, labels = make_split(7)
    write_split(places["data_dir"], images, labels, gz=gz)
    use_data_dir(monkeypatch, places["data_dir"])

    x, y = data.load_fashion_mnist("train")

    assert x.shape == (7, 28, 28, 1)
    assert x.dtype == np.float32
    assert y.shape == (7,)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels.astype(np.int64))
    np.testing.assert_allclose(x[..., 0], images / 255.0, atol=1e-6)
    assert x.min() == 0.0 and x.max() == pytest.approx(1.0)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "Fashion-MNIST train: 7 images" in out[0]
    assert f"$COURSE_DATA_DIR ({places['data_dir']})" in out[0]


def test_nested_fashion_mnist_folder(places, monkeypatch, capsys):
    images, labels = make_split(4)
    nested = places["data_dir"] / "fashion-mnist"
    write_split(nested, images, labels)
    use_data_dir(monkeypatch, places["data_dir"])

    x, y = data.load_fashion_mnist("train", value_range=None)

    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)
    assert f"$COURSE_DATA_DIR ({nested})" in capsys.readouterr().out


def test_test_split_reads_t10k_files(places, monkeypatch):
    train_images, train_labels = make_split(5, seed=1)
    test_images, test_labels = make_split(3, seed=2)
    write_split(places["data_dir"], train_images, train_labels, TRAIN)
    write_split(places["data_dir"], test_images, test_labels, TEST)
    use_data_dir(monkeypatch, places["data_dir"])

    x, y = data.load_fashion_mnist("test", value_range=None, verbose=False)
    np.testing.assert_array_equal(x[..., 0], test_images)
    np.testing.assert_array_equal(y, test_labels)
    x, y = data.load_fashion_mnist("train", value_range=None, verbose=False)
    np.testing.assert_array_equal(x[..., 0], train_images)


def test_course_data_dir_wins_over_debian_and_keras_cache(places, monkeypatch, capsys):
    write_split(places["data_dir"], *make_split(3, seed=1))
    write_split(places["debian"], *make_split(4, seed=2))
    write_split(places["cache"], *make_split(5, seed=3))
    use_data_dir(monkeypatch, places["data_dir"])

    x, _ = data.load_fashion_mnist()
    assert len(x) == 3
    assert "$COURSE_DATA_DIR" in capsys.readouterr().out


def test_debian_dir_wins_over_keras_cache(places, capsys):
    write_split(places["debian"], *make_split(4, seed=2))
    write_split(places["cache"], *make_split(5, seed=3))

    x, _ = data.load_fashion_mnist()
    assert len(x) == 4
    out = capsys.readouterr().out
    assert "Debian" in out and str(places["debian"]) in out


def test_course_data_dir_without_files_falls_through_to_keras_cache(places, monkeypatch, capsys):
    use_data_dir(monkeypatch, places["data_dir"])  # exists, but empty
    images, labels = make_split(5, seed=3)
    write_split(places["cache"], images, labels)

    x, y = data.load_fashion_mnist(value_range=None)
    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)
    out = capsys.readouterr().out
    assert f"Keras cache ({places['cache']})" in out


def test_only_one_of_two_files_is_not_a_source(places, monkeypatch, capsys):
    images, labels = make_split(3, seed=1)
    write_file(places["data_dir"], TRAIN[0], idx_bytes(images))  # labels file missing
    use_data_dir(monkeypatch, places["data_dir"])
    write_split(places["cache"], *make_split(6, seed=4))

    x, _ = data.load_fashion_mnist()
    assert len(x) == 6
    assert "Keras cache" in capsys.readouterr().out


def test_value_range_minus_one_to_one(places, monkeypatch):
    images, labels = make_split(6)
    write_split(places["data_dir"], images, labels)
    use_data_dir(monkeypatch, places["data_dir"])

    x, _ = data.load_fashion_mnist(value_range=(-1, 1), verbose=False)

    assert x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], images / 127.5 - 1.0, atol=1e-6)
    assert x.min() == pytest.approx(-1.0)
    assert x.max() == pytest.approx(1.0)


def test_value_range_none_gives_writable_uint8_copy(places, monkeypatch):
    images, labels = make_split(6)
    write_split(places["data_dir"], images, labels)
    use_data_dir(monkeypatch, places["data_dir"])

    x, y = data.load_fashion_mnist(value_range=None, verbose=False)
    assert x.dtype == np.uint8
    assert x.shape == (6, 28, 28, 1)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(x[..., 0], images)

    x[:] = 7  # a learner editing the array must not change what the next call returns
    again, _ = data.load_fashion_mnist(value_range=None, verbose=False)
    np.testing.assert_array_equal(again[..., 0], images)


def test_limit_keeps_first_examples(places, monkeypatch, capsys):
    images, labels = make_split(9)
    write_split(places["data_dir"], images, labels)
    use_data_dir(monkeypatch, places["data_dir"])

    x, y = data.load_fashion_mnist(limit=4, value_range=None)
    assert x.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(x[..., 0], images[:4])
    np.testing.assert_array_equal(y, labels[:4])
    assert "4 images" in capsys.readouterr().out

    x, y = data.load_fashion_mnist(limit=100, verbose=False)  # more than there is: all of it
    assert len(x) == len(y) == 9


def test_verbose_false_prints_nothing(places, monkeypatch, capsys):
    write_split(places["data_dir"], *make_split(3))
    use_data_dir(monkeypatch, places["data_dir"])
    data.load_fashion_mnist(verbose=False)
    assert capsys.readouterr().out == ""


def test_results_are_cached_until_clear_cache(places, monkeypatch):
    images, labels = make_split(3, seed=1)
    write_split(places["data_dir"], images, labels)
    use_data_dir(monkeypatch, places["data_dir"])
    first, _ = data.load_fashion_mnist(value_range=None, verbose=False)

    write_split(places["data_dir"], *make_split(5, seed=2))  # changed on disk
    cached, _ = data.load_fashion_mnist(value_range=None, verbose=False)
    np.testing.assert_array_equal(cached, first)

    data.clear_cache()
    fresh, _ = data.load_fashion_mnist(value_range=None, verbose=False)
    assert len(fresh) == 5


# -- bad arguments ---------------------------------------------------------------------


@pytest.mark.parametrize("split", ["validation", "Train", "", None])
def test_bad_split(places, split):
    with pytest.raises(ValueError, match="split"):
        data.load_fashion_mnist(split, download=False)


@pytest.mark.parametrize(
    "value_range", [(1, 0), (0, 0), (0,), (0, 1, 2), 5, "ab", ("a", "b"), (float("nan"), 1)]
)
def test_bad_value_range(places, value_range):
    with pytest.raises(ValueError, match="value_range"):
        data.load_fashion_mnist(value_range=value_range, download=False)


@pytest.mark.parametrize("limit", [0, -3, 1.5, True, "10"])
def test_bad_limit(places, limit):
    with pytest.raises(ValueError, match="limit"):
        data.load_fashion_mnist(limit=limit, download=False)


# -- damaged files ---------------------------------------------------------------------


def _load_expecting_file_error(monkeypatch, folder: Path, bad_path: Path):
    use_data_dir(monkeypatch, folder)
    with pytest.raises(data.DataFileError) as info:
        data.load_fashion_mnist(download=False, verbose=False)
    assert str(bad_path) in str(info.value)
    return str(info.value)


def test_corrupt_gzip(places, monkeypatch):
    images_path, _ = write_split(places["data_dir"], *make_split(3))
    images_path.write_bytes(b"this is not gzip data at all" * 10)
    _load_expecting_file_error(monkeypatch, places["data_dir"], images_path)


def test_truncated_gzip_stream(places, monkeypatch):
    _, labels_path = write_split(places["data_dir"], *make_split(3))
    whole = labels_path.read_bytes()
    labels_path.write_bytes(whole[: len(whole) // 2])
    _load_expecting_file_error(monkeypatch, places["data_dir"], labels_path)


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "raw"])
def test_truncated_data(places, monkeypatch, gz):
    images, labels = make_split(5)
    images_path, _ = write_split(places["data_dir"], images, labels, gz=gz)
    payload = idx_bytes(images)[:-100]  # header still says 5 images
    images_path.write_bytes(gzip.compress(payload) if gz else payload)
    message = _load_expecting_file_error(monkeypatch, places["data_dir"], images_path)
    assert "(5, 28, 28)" in message


def test_too_much_data(places, monkeypatch):
    images, labels = make_split(2)
    _, labels_path = write_split(places["data_dir"], images, labels)
    labels_path.write_bytes(gzip.compress(idx_bytes(labels) + b"\x01\x02"))
    _load_expecting_file_error(monkeypatch, places["data_dir"], labels_path)


def test_truncated_inside_header(places, monkeypatch):
    images_path, _ = write_split(places["data_dir"], *make_split(2))
    images_path.write_bytes(gzip.compress(bytes([0, 0, 8, 3, 0, 0])))
    _load_expecting_file_error(monkeypatch, places["data_dir"], images_path)


def test_file_shorter_than_magic(places, monkeypatch):
    images_path, _ = write_split(places["data_dir"], *make_split(2))
    images_path.write_bytes(gzip.compress(b"\x00\x00"))
    _load_expecting_file_error(monkeypatch, places["data_dir"], images_path)


@pytest.mark.parametrize(
    "magic", [bytes([0, 0, 0x0D, 3]), bytes([1, 0, 8, 3]), bytes([0, 0, 8, 0]), b"\x1f\x8b\x08\x00"]
)
def test_wrong_magic(places, monkeypatch, magic):
    images, labels = make_split(2)
    images_path, _ = write_split(places["data_dir"], images, labels)
    images_path.write_bytes(gzip.compress(magic + idx_bytes(images)[4:]))
    _load_expecting_file_error(monkeypatch, places["data_dir"], images_path)


def test_images_file_with_wrong_ndim(places, monkeypatch):
    images, labels = make_split(3)
    images_path, _ = write_split(places["data_dir"], images, labels)
    images_path.write_bytes(gzip.compress(idx_bytes(images.reshape(3, 28 * 28))))
    message = _load_expecting_file_error(monkeypatch, places["data_dir"], images_path)
    assert "2-D" in message and "3-D" in message


def test_labels_file_with_wrong_ndim(places, monkeypatch):
    images, labels = make_split(3)
    _, labels_path = write_split(places["data_dir"], images, labels)
    labels_path.write_bytes(gzip.compress(idx_bytes(labels.reshape(3, 1))))
    _load_expecting_file_error(monkeypatch, places["data_dir"], labels_path)


def test_images_of_wrong_size(places, monkeypatch):
    images, labels = make_split(3, h=27, w=28)
    images_path, _ = write_split(places["data_dir"], images, labels)
    _load_expecting_file_error(monkeypatch, places["data_dir"], images_path)


def test_images_and_labels_count_mismatch(places, monkeypatch):
    images, labels = make_split(4)
    images_path, labels_path = write_split(places["data_dir"], images, labels[:3])
    message = _load_expecting_file_error(monkeypatch, places["data_dir"], images_path)
    assert str(labels_path) in message


def test_label_out_of_range(places, monkeypatch):
    images, labels = make_split(4)
    labels[2] = 10
    _, labels_path = write_split(places["data_dir"], images, labels)
    message = _load_expecting_file_error(monkeypatch, places["data_dir"], labels_path)
    assert "10" in message


def test_data_file_error_is_a_value_error():
    assert issubclass(data.DataFileError, ValueError)
    assert issubclass(data.DataNotFoundError, FileNotFoundError)


# -- nothing found -----------------------------------------------------------------------


def test_not_found_without_download_lists_every_place(places):
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_fashion_mnist(download=False)
    message = str(info.value)
    assert "$COURSE_DATA_DIR: not set" in message
    assert str(places["debian"]) in message
    assert str(places["cache"]) in message
    assert "download: not attempted" in message
    assert "train" in message


def test_not_found_names_the_course_data_dir_that_was_set(places, monkeypatch):
    use_data_dir(monkeypatch, places["data_dir"])
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_fashion_mnist("test", download=False)
    message = str(info.value)
    assert f"$COURSE_DATA_DIR ({places['data_dir']}): no test files there" in message
    assert str(places["debian"]) in message
    assert str(places["cache"]) in message
    assert not places["cache"].exists()  # download=False writes nothing


# -- read_idx --------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "raw"])
def test_read_idx_valid_file(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_file(tmp_path, "cube-idx3-ubyte", idx_bytes(arr), gz=gz)
    out = data.read_idx(path, expected_ndim=3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, arr)
    np.testing.assert_array_equal(data.read_idx(str(path)), arr)  # str paths work too


def test_read_idx_checks_expected_ndim(tmp_path):
    path = write_file(tmp_path, "vector", idx_bytes(np.arange(5)), gz=False)
    np.testing.assert_array_equal(data.read_idx(path, expected_ndim=1), np.arange(5))
    with pytest.raises(data.DataFileError, match="vector"):
        data.read_idx(path, expected_ndim=3)


def test_read_idx_missing_file(tmp_path):
    path = tmp_path / "nothing.gz"
    with pytest.raises(data.DataFileError, match="nothing.gz"):
        data.read_idx(path)


# -- download ----------------------------------------------------------------------------


def test_download_fills_keras_cache_then_cache_is_used(places, server, capsys):
    images, labels = make_split(6, seed=5)
    write_split(server.folder, images, labels)

    x, y = data.load_fashion_mnist("train", value_range=None)

    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)
    assert files_in(places["cache"]) == sorted(stem + ".gz" for stem in TRAIN)
    assert f"download from {server.url} into {places['cache']}" in capsys.readouterr().out
    # the cached files are the served files, byte for byte
    for stem in TRAIN:
        cached = (places["cache"] / (stem + ".gz")).read_bytes()
        assert cached == (server.folder / (stem + ".gz")).read_bytes()

    server.stop()
    data.clear_cache()
    x2, y2 = data.load_fashion_mnist("train", value_range=None)
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)
    assert f"Keras cache ({places['cache']})" in capsys.readouterr().out


def test_download_url_without_trailing_slash(places, server, monkeypatch):
    images, labels = make_split(2, seed=6)
    write_split(server.folder, images, labels, TEST)
    monkeypatch.setenv("COURSE_FASHION_MNIST_URL", server.url.rstrip("/"))
    x, y = data.load_fashion_mnist("test", value_range=None, verbose=False)
    np.testing.assert_array_equal(x[..., 0], images)
    assert files_in(places["cache"]) == sorted(stem + ".gz" for stem in TEST)


def test_download_of_corrupt_file_leaves_nothing_in_cache(places, server):
    write_split(server.folder, *make_split(3))
    (server.folder / (TRAIN[0] + ".gz")).write_bytes(b"<html>not the data</html>")

    with pytest.raises(data.DataFileError) as info:
        data.load_fashion_mnist(verbose=False)

    assert server.url + TRAIN[0] + ".gz" in str(info.value)
    assert files_in(places["cache"]) == []


def test_download_of_truncated_labels_keeps_no_partial_file(places, server):
    images, labels = make_split(3)
    write_split(server.folder, images, labels)
    labels_gz = server.folder / (TRAIN[1] + ".gz")
    labels_gz.write_bytes(gzip.compress(idx_bytes(labels)[:-1]))  # header says 3, has 2

    with pytest.raises(data.DataFileError) as info:
        data.load_fashion_mnist(verbose=False)

    assert TRAIN[1] + ".gz" in str(info.value)
    # the good images file may stay (it was checked and written whole); nothing else may
    assert files_in(places["cache"]) == [TRAIN[0] + ".gz"]

    # once the server has a good copy, the next load fetches only what is missing
    labels_gz.write_bytes(gzip.compress(idx_bytes(labels)))
    (server.folder / (TRAIN[0] + ".gz")).unlink()  # would 404 if asked for again
    data.clear_cache()
    x, y = data.load_fashion_mnist(value_range=None, verbose=False)
    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)
    assert files_in(places["cache"]) == sorted(stem + ".gz" for stem in TRAIN)


def test_download_404_lists_the_failure(places, server):
    # the server's folder is empty: every request gets a 404
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_fashion_mnist(verbose=False)
    message = str(info.value)
    assert f"download from {server.url}: failed" in message
    assert "404" in message
    assert "$COURSE_DATA_DIR: not set" in message
    assert str(places["cache"]) in message
    assert files_in(places["cache"]) == []


def test_download_not_attempted_when_a_local_copy_exists(places, server, monkeypatch, capsys):
    write_split(server.folder, *make_split(6, seed=1))
    write_split(places["data_dir"], *make_split(2, seed=2))
    use_data_dir(monkeypatch, places["data_dir"])
    x, _ = data.load_fashion_mnist()
    assert len(x) == 2
    assert not places["cache"].exists()
    assert "download from" not in capsys.readouterr().out


# -- smiley_points ---------------------------------------------------------------------------


def test_smiley_points_shape_range_and_seed():
    x = data.smiley_points(500, seed=1)
    assert x.shape == (500, 2)
    assert x.dtype == np.float32
    assert np.all(np.abs(x) < 1.5)
    np.testing.assert_array_equal(x, data.smiley_points(500, seed=1))
    assert not np.array_equal(x, data.smiley_points(500, seed=2))
    # a face: a ring of radius about 1 plus eyes and mouth inside it
    radius = np.linalg.norm(x, axis=1)
    assert 0.3 < np.mean(radius > 0.8) < 0.6
    assert np.mean(radius < 0.8) > 0.3


@pytest.mark.parametrize("n", [3, 0, -5, 10.0, True, "100"])
def test_smiley_points_bad_n(n):
    with pytest.raises(ValueError, match="n must be"):
        data.smiley_points(n)


# -- the package -------------------------------------------------------------------------


def test_package_exports_every_name_the_course_uses():
    names = (
        "load_fashion_mnist FASHION_MNIST_CLASSES read_idx clear_cache DataFileError "
        "DataNotFoundError smiley_points load_text_corpus split_text python_docs_text "
        "word_order_examples keras_shakespeare_path TEXT_SOURCES value_range_pair IMAGE_SHAPE"
    ).split()
    assert [name for name in names if not hasattr(data, name)] == []
    assert sorted(data.__all__) == sorted(set(data.__all__))
    assert all(hasattr(data, name) for name in data.__all__)
    assert data.value_range_pair is conventions.value_range_pair
    assert data.IMAGE_SHAPE == conventions.IMAGE_SHAPE == (28, 28, 1)
    assert len(data.FASHION_MNIST_CLASSES) == conventions.NUM_CLASSES


def test_both_families_share_one_keras_cache(places):
    cache = places["cache"].parent
    assert data.fashion_mnist_sources()[-1].label == f"Keras cache ({cache / 'fashion-mnist'})"
    assert data.keras_shakespeare_path() == cache / "shakespeare.txt"
