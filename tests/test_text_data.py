"""Tests of the text corpora in course_lib.data.text: offline first, tiny Shakespeare when it
is on disk or reachable, downloads from a small server on 127.0.0.1, clear errors."""

import functools
import http.server
import threading

import numpy as np
import pytest

from course_lib import data

FAKE_PLAY = "First Citizen:\nBefore we proceed any further, hear me speak.\n\n" * 2000


@pytest.fixture
def places(tmp_path, monkeypatch):
    """No Shakespeare anywhere: empty Keras home, no data dir, downloads to a closed port."""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("COURSE_SHAKESPEARE_URL", "http://127.0.0.1:9/shakespeare.txt")
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return tmp_path


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server for the files in its folder; the Shakespeare URL points at it."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(
        "COURSE_SHAKESPEARE_URL", f"http://127.0.0.1:{httpd.server_address[1]}/shakespeare.txt"
    )
    httpd.folder = folder
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_offline_corpus_always_loads_and_splits(capsys):
    corpus = data.load_text_corpus("python-docs")
    assert corpus.name == "python-docs"
    assert len(corpus.text) > 300_000
    assert corpus.train + corpus.validation == corpus.text
    assert abs(len(corpus.validation) / len(corpus.text) - 0.1) < 0.001
    assert "pydoc_data" in capsys.readouterr().out


def test_auto_falls_back_to_the_offline_corpus_and_says_so(places, capsys):
    corpus = data.load_text_corpus("auto")
    assert corpus.name == "python-docs"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Shakespeare was not on disk or reachable" in out
    assert not (places / "keras-home" / "datasets" / "shakespeare.txt").exists()


def test_shakespeare_from_course_data_dir(places, monkeypatch, capsys):
    folder = places / "mydata"
    folder.mkdir()
    (folder / "shakespeare.txt").write_text(FAKE_PLAY, encoding="utf-8")
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    corpus = data.load_text_corpus(val_fraction=0.2)
    assert corpus.name == "shakespeare" and corpus.text == FAKE_PLAY
    assert corpus.validation == FAKE_PLAY[-len(corpus.validation) :]
    assert len(corpus.validation) == round(0.2 * len(FAKE_PLAY))
    assert "$COURSE_DATA_DIR" in capsys.readouterr().out


def test_shakespeare_from_the_keras_cache(places):
    cache = data.keras_shakespeare_path()
    cache.parent.mkdir(parents=True)
    cache.write_text(FAKE_PLAY, encoding="utf-8")
    corpus = data.load_text_corpus("shakespeare", download=False)
    assert corpus.text == FAKE_PLAY and "Keras cache" in corpus.source


def test_download_fills_the_cache_and_is_used_offline_later(places, server):
    (server.folder / "shakespeare.txt").write_text(FAKE_PLAY, encoding="utf-8")
    corpus = data.load_text_corpus("shakespeare")
    assert corpus.text == FAKE_PLAY and corpus.source.startswith("download from http://127")
    assert data.keras_shakespeare_path().read_text(encoding="utf-8") == FAKE_PLAY
    (server.folder / "shakespeare.txt").unlink()  # the server no longer has it
    again = data.load_text_corpus("shakespeare")
    assert again.text == FAKE_PLAY and "Keras cache" in again.source


def test_a_truncated_download_is_rejected_and_leaves_nothing_behind(places, server, capsys):
    (server.folder / "shakespeare.txt").write_text(FAKE_PLAY[:5000], encoding="utf-8")
    with pytest.raises(data.DataFileError, match="is not valid.*truncated"):
        data.load_text_corpus("auto")
    cache = data.keras_shakespeare_path().parent
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_truncated_cached_file_is_reported(places):
    cache = data.keras_shakespeare_path()
    cache.parent.mkdir(parents=True)
    cache.write_text("too short", encoding="utf-8")
    with pytest.raises(data.DataFileError, match="truncated"):
        data.load_text_corpus()


def test_asking_for_shakespeare_offline_lists_where_it_looked(places):
    with pytest.raises(
        data.DataNotFoundError, match=r"(?s)Keras cache.*download from http://127.0.0.1:9/.*failed"
    ):
        data.load_text_corpus("shakespeare")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"source": "wikipedia"}, "source must be one of"),
        ({"val_fraction": 1.5}, r"val_fraction must be in \(0, 1\)"),
        ({"val_fraction": 0}, r"val_fraction must be in \(0, 1\)"),
        ({"val_fraction": "0.1"}, "val_fraction must be a finite number"),
        ({"limit": 2}, "limit must be an int >= 4"),
        ({"limit": 10.0}, "limit must be an int >= 4"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs, message):
    kwargs.setdefault("source", "python-docs")
    with pytest.raises(ValueError, match=message):
        data.load_text_corpus(**kwargs)


def test_limit_and_split_text():
    corpus = data.load_text_corpus("python-docs", limit=1000, verbose=False)
    assert len(corpus.text) == 1000 and len(corpus.train) == 900
    assert data.split_text("abcdefghij", 0.3) == ("abcdefg", "hij")
    with pytest.raises(ValueError, match="too short"):
        data.split_text("abc", 0.1)


def test_word_order_examples_are_balanced_and_keep_the_words():
    text = data.python_docs_text()[:50_000]
    texts, labels = data.word_order_examples(text, 200, max_chars=48, seed=3)
    assert len(texts) == 200 and labels.tolist().count(1) == 100
    assert all(len(t) <= 48 and len(t.split()) >= 4 for t in texts)
    words = set(text.split())
    assert all(set(t.split()) <= words for t in texts)
    joined = " ".join(text.split())
    real_found = [t in joined for t, y in zip(texts, labels, strict=True) if y == 0]
    shuffled_found = [t in joined for t, y in zip(texts, labels, strict=True) if y == 1]
    assert all(real_found)  # real examples are runs of the text
    assert np.mean(shuffled_found) < 0.05  # shuffled ones (almost) never are
    again, labels_again = data.word_order_examples(text, 200, max_chars=48, seed=3)
    assert again == texts and np.array_equal(labels_again, labels)


def test_word_order_examples_reject_bad_input():
    with pytest.raises(ValueError, match="even"):
        data.word_order_examples("a b c d e f g h i j", 3)
    with pytest.raises(ValueError, match="at least 8"):
        data.word_order_examples("too few words", 2)
    with pytest.raises(ValueError, match="max_chars must be an int"):
        data.word_order_examples("a b c d e f g h i j", 2, max_chars=4)
