"""Tests of course_lib.tokenizers: exact round trips, learned merges, clear errors."""

import numpy as np
import pytest

from course_lib import data
from course_lib.tokenizers import BPETokenizer, CharTokenizer

SAMPLE = (
    "To be, or not to be: that is the question.\n"
    "    def f(x):\n        return x ** 2  # square it\n"
    "Tabs\tand   runs of  spaces, digits 12345 and (brackets) [too]!\n"
)


@pytest.fixture(scope="module")
def docs():
    return data.python_docs_text()


@pytest.fixture(scope="module")
def bpe(docs):
    return BPETokenizer.train(docs[:200_000], vocab_size=400)


# -- characters ---------------------------------------------------------------------------


def test_char_tokenizer_round_trips_and_has_one_id_per_character():
    tok = CharTokenizer.fit(SAMPLE)
    ids = tok.encode(SAMPLE)
    assert ids.dtype == np.int32 and ids.shape == (len(SAMPLE),)
    assert tok.decode(ids) == SAMPLE
    assert tok.vocab_size == len(set(SAMPLE))
    assert tok.chars == sorted(set(SAMPLE))
    assert tok.tokens("be") == ["b", "e"]


def test_char_tokenizer_round_trips_the_offline_corpus(docs):
    tok = CharTokenizer.fit(docs)
    assert tok.decode(tok.encode(docs)) == docs


def test_char_tokenizer_names_unknown_characters():
    tok = CharTokenizer.fit("abc ")
    with pytest.raises(ValueError, match=r"never saw: 'xé'"):
        tok.encode("a bxé")


@pytest.mark.parametrize(
    "ids, message",
    [([0, 4], r"in \[0, 4\)"), ([-1], r"in \[0, 4\)"), ([0.5], "integers"), ([[0, 1]], "1-D")],
)
def test_decode_rejects_bad_ids(ids, message):
    with pytest.raises(ValueError, match=message):
        CharTokenizer.fit("abc ").decode(np.asarray(ids))


def test_char_tokenizer_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.fit("")
    with pytest.raises(TypeError, match="must be a str"):
        CharTokenizer.fit(["a", "b"])
    with pytest.raises(TypeError, match="must be a str"):
        CharTokenizer.fit("ab").encode(b"ab")
    with pytest.raises(TypeError, match="not a str"):
        CharTokenizer.fit("ab").decode("ab")
    assert CharTokenizer.fit("ab").decode([]) == ""


# -- byte-pair encoding -------------------------------------------------------------------


def test_bpe_first_merge_is_the_most_frequent_pair():
    # "ab" occurs 6 times, more than any other pair of neighbours
    tok = BPETokenizer.train("abab abab ab xy", vocab_size=258)
    assert tok.merges[0] == (ord("a"), ord("b"))
    assert tok.pieces[256] == b"ab"
    # then (ab, ab) and (space, ab) tie with 2 each: the smaller ids win, (32, 256)
    assert tok.merges[1] == (ord(" "), 256)
    assert tok.tokens("abab ab") == ["ab", "ab", " ab"]


def test_bpe_round_trips_any_text(bpe, docs):
    for text in [SAMPLE, docs[-20_000:], "héllo wörld ✓ 🙂 日本語", "", " ", "\n\n\t"]:
        assert bpe.decode(bpe.encode(text)) == text


def test_bpe_learns_the_vocabulary_asked_for_and_compresses(bpe, docs):
    assert bpe.vocab_size == 400 and len(bpe.merges) == 144
    held_out = docs[-30_000:]
    chars_per_token = len(held_out) / len(bpe.encode(held_out))
    assert chars_per_token > 2.0  # a character tokenizer has exactly 1.0
    assert bpe.tokens(" the") == [" the"]  # a frequent word becomes one token


def test_bpe_training_is_repeatable(docs):
    a = BPETokenizer.train(docs[:50_000], vocab_size=300)
    b = BPETokenizer.train(docs[:50_000], vocab_size=300)
    assert a.merges == b.merges


def test_bpe_stops_when_nothing_is_left_to_merge():
    tok = BPETokenizer.train("ab ab", vocab_size=1000)
    assert tok.vocab_size < 1000
    assert tok.decode(tok.encode("ab ab ba")) == "ab ab ba"


def test_bpe_rejects_bad_input(bpe):
    with pytest.raises(ValueError, match="at least 256"):
        BPETokenizer.train("abc", vocab_size=100)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        BPETokenizer.train("abc", vocab_size=300.0)
    with pytest.raises(ValueError, match=r"in \[0, 400\)"):
        bpe.decode([400])
    with pytest.raises(ValueError, match="not yet defined"):
        BPETokenizer([(256, 1)])
    with pytest.raises(TypeError, match="must be a str"):
        bpe.encode(None)


def test_bpe_decodes_broken_utf8_with_a_replacement_character():
    tok = BPETokenizer([])
    assert tok.decode(tok.encode("é")[:1]) == "\ufffd"
