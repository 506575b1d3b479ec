"""Tokenizers: turn text into the integer ids a language model reads, and back.

Two kinds, both trained on a corpus and both exact: ``decode(encode(text)) == text``.

- :class:`CharTokenizer`: one token per character; the vocabulary is the set of
  characters of the training text. Small and simple; it cannot encode a character it
  never saw, and says which one.
- :class:`BPETokenizer`: byte-level byte-pair encoding (the scheme of GPT-2, at toy
  size). It starts from the 256 possible bytes, so it can encode *any* text, and learns
  merges: the most frequent pair of neighbouring tokens becomes a new token, again and
  again, until the vocabulary has the size asked for. Frequent words end up as one token.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np

# Pieces BPE never merges across: a word with the space before it, a number, a run of
# punctuation, or a run of white space (as GPT-2 does, simplified).
_CHUNK = re.compile(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")
_N_BYTES = 256


def _check_text(text, what: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str; got {type(text).__name__}")
    return text


def _check_ids(ids, vocab_size: int) -> np.ndarray:
    """Validate token ids: a 1-D sequence of ints in [0, vocab_size)."""
    if hasattr(ids, "numpy"):
        ids = ids.numpy()
    if isinstance(ids, str):
        raise TypeError("decode expects token ids (ints), not a str")
    arr = np.asarray(ids)
    if arr.size == 0:
        return arr.reshape(0).astype(np.int64)
    if arr.ndim != 1:
        raise ValueError(
            f"decode expects a 1-D sequence of token ids; got shape {arr.shape} "
            "(decode a batch one row at a time)"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"token ids must be integers; got dtype {arr.dtype}")
    bad = arr[(arr < 0) | (arr >= vocab_size)]
    if bad.size:
        raise ValueError(
            f"token ids must be in [0, {vocab_size}) for this vocabulary of {vocab_size}; "
            f"got {sorted(set(bad.tolist()))[:10]}"
        )
    return arr.astype(np.int64)


class CharTokenizer:
    """One token per character. Build it with :meth:`fit` on the training text."""

    def __init__(self, chars):
        chars = list(chars)
        if not chars or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError("CharTokenizer needs a non-empty list of single characters")
        if len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer's characters must all be different")
        self.chars = chars
        self._index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        """A tokenizer whose vocabulary is every character of ``text``, sorted."""
        _check_text(text)
        if not text:
            raise ValueError("cannot fit a tokenizer on empty text")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters, as int32. Unknown characters raise ValueError."""
        _check_text(text)
        try:
            return np.fromiter((self._index[c] for c in text), dtype=np.int32, count=len(text))
        except KeyError:
            unknown = sorted({c for c in text if c not in self._index})
            raise ValueError(
                f"text has {len(unknown)} character(s) this tokenizer never saw: "
                f"{''.join(unknown[:10])!r}{' ...' if len(unknown) > 10 else ''}. "
                "Expected only characters of its training text (see .chars)."
            ) from None

    def decode(self, ids) -> str:
        """The text of a 1-D sequence of ids."""
        return "".join(self.chars[i] for i in _check_ids(ids, self.vocab_size))

    def tokens(self, text: str) -> list[str]:
        """``text`` cut into its tokens (here: its characters), for display."""
        return [self.chars[i] for i in self.encode(text)]

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


def _merge_pair(seq: tuple, pair: tuple, new_id: int) -> tuple:
    out, i = [], 0
    while i < len(seq):
        if i + 1 < len(seq) and seq[i] == pair[0] and seq[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return tuple(out)


class BPETokenizer:
    """Byte-level byte-pair encoding. Build it with :meth:`train`.

    Token ids 0-255 are the bytes; id ``256 + n`` is the n-th learned merge.
    """

    def __init__(self, merges):
        merges = [tuple(int(t) for t in pair) for pair in merges]
        pieces = [bytes([b]) for b in range(_N_BYTES)]
        for n, (a, b) in enumerate(merges):
            if not (0 <= a < len(pieces) and 0 <= b < len(pieces)):
                raise ValueError(f"merge {n} ({a}, {b}) refers to a token not yet defined")
            pieces.append(pieces[a] + pieces[b])
        self.merges = merges
        self.pieces = pieces
        self._rank = {pair: n for n, pair in enumerate(merges)}
        self._cache: dict[str, tuple] = {}

    @classmethod
    def train(cls, text: str, vocab_size: int = 512) -> BPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text``, most frequent pair first."""
        _check_text(text)
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
            raise TypeError(f"vocab_size must be an int; got {vocab_size!r}")
        if vocab_size < _N_BYTES:
            raise ValueError(
                f"vocab_size must be at least {_N_BYTES} (the single bytes); got {vocab_size}"
            )
        counts = Counter(_CHUNK.findall(text))
        words = [tuple(chunk.encode("utf-8")) for chunk in counts]
        freqs = [counts[chunk] for chunk in counts]
        pair_counts: Counter = Counter()
        where: defaultdict = defaultdict(set)  # pair -> indices of the words holding it
        for w, (word, freq) in enumerate(zip(words, freqs, strict=True)):
            for pair in zip(word, word[1:], strict=False):
                pair_counts[pair] += freq
                where[pair].add(w)
        merges = []
        for new_id in range(_N_BYTES, vocab_size):
            if not pair_counts:
                break  # every word is already one token
            # the most frequent pair; ties go to the smaller ids, so training is repeatable
            best = min(pair_counts, key=lambda p: (-pair_counts[p], p))
            if pair_counts[best] < 2:
                break
            merges.append(best)
            for w in list(where[best]):
                word, freq = words[w], freqs[w]
                for pair in zip(word, word[1:], strict=False):
                    pair_counts[pair] -= freq
                    if pair_counts[pair] <= 0:
                        del pair_counts[pair]
                    where[pair].discard(w)
                word = _merge_pair(word, best, new_id)
                words[w] = word
                for pair in zip(word, word[1:], strict=False):
                    pair_counts[pair] += freq
                    where[pair].add(w)
        return cls(merges)

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    def _encode_chunk(self, chunk: str) -> tuple:
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        seq = tuple(chunk.encode("utf-8"))
        while len(seq) > 1:
            ranked = [(self._rank.get(p, len(self._rank)), p) for p in zip(seq, seq[1:])]
            rank, pair = min(ranked)
            if rank == len(self._rank):
                break  # no learned merge applies any more
            seq = _merge_pair(seq, pair, _N_BYTES + rank)
        self._cache[chunk] = seq
        return seq

    def encode(self, text: str) -> np.ndarray:
        """The token ids of ``text`` (any text: unknown characters fall back to bytes)."""
        _check_text(text)
        ids = [t for chunk in _CHUNK.findall(text) for t in self._encode_chunk(chunk)]
        return np.asarray(ids, dtype=np.int32)

    def decode(self, ids) -> str:
        """The text of a 1-D sequence of ids. Bytes that are not valid UTF-8 show as '�'."""
        raw = b"".join(self.pieces[i] for i in _check_ids(ids, self.vocab_size))
        return raw.decode("utf-8", errors="replace")

    def tokens(self, text: str) -> list[str]:
        """``text`` cut into its tokens, each shown as text, for display."""
        return [self.pieces[i].decode("utf-8", errors="replace") for i in self.encode(text)]

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"
