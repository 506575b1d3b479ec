"""Tests of chapter 06's exercise checks (course_lib/checks/ch06.py): the reference answers
pass (copies of the solutions notebook's), answers that call the library fail with "Write it
yourself", and the likely wrong answers fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from course_lib import grading
from course_lib.checks import ch06
from course_lib.models import gpt, music

ROOT = Path(__file__).resolve().parents[1]
STEM = "06_music_generation"
POINTS = {"encode_voice": 2, "count_parallel_fifths": 2, "harmonize_loop": 3}


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


def run(name, fn) -> grading.Verdict:
    return getattr(ch06, name)(fn)


# -- the reference answers, copied from the solutions notebook -------------------------------


def encode_voice(notes, steps):
    tokens = [music.REST] * steps
    for onset, length, pitch in notes:
        start = round(onset * 4)
        end = round((onset + length) * 4)
        for t in range(start, min(end, steps)):
            tokens[t] = music.pitch_token(pitch) if t == start else music.HOLD
    return tokens


def count_parallel_fifths(upper, lower):
    count = 0
    for i in range(len(upper) - 1):
        a1, a2, b1, b2 = upper[i], upper[i + 1], lower[i], lower[i + 1]
        if min(a1, a2, b1, b2) < 0:
            continue
        fifths = (a1 - b1) % 12 == 7 and (a2 - b2) % 12 == 7
        same_way = (a2 - a1) * (b2 - b1) > 0
        if fifths and same_way:
            count += 1
    return count


def harmonize_loop(model, prompt, soprano, temperature, draw):
    tokens = list(prompt)
    index = 0
    for note in soprano:
        tokens.append(int(note))
        index += 1
        for _ in range(3):
            window = np.array([tokens[-model.context_length :]])
            logits = np.asarray(model(window))[0, -1]
            tokens.append(draw(logits / temperature, index))
            index += 1
    return np.array(tokens)


REFERENCE = {f.__name__: f for f in (encode_voice, count_parallel_fifths, harmonize_loop)}


def _library_harmonize(model, prompt, soprano, temperature, draw):
    forced = np.full((len(soprano), 4), -1)
    forced[:, 0] = soprano
    return gpt.generate(model, prompt, forced.size, temperature=temperature, forced=forced.ravel())


LIBRARY = {
    "encode_voice": lambda notes, steps: music.encode_voice(notes, steps),
    "count_parallel_fifths": lambda u, lo: music.count_parallels(u, lo, 7),
    "harmonize_loop": _library_harmonize,
}


# -- wrong answers learners are likely to write ------------------------------------------------


def _encode(notes, steps, *, holds=True, repeat_is_hold=False, rest=music.REST, extra=0):
    tokens = [rest] * steps
    for onset, length, pitch in notes:
        start, end = round(onset * 4), round((onset + length) * 4) + extra
        for t in range(start, min(end, steps)):
            new = t == start or not holds
            if repeat_is_hold and t == start and t and tokens[t - 1] != rest:
                previous = [p for o, d, p in notes if round((o + d) * 4) == start]
                new = not previous or previous[0] != pitch
            tokens[t] = music.pitch_token(pitch) if new else music.HOLD
    return tokens


def _fifths(upper, lower, *, modulo=True, motion="same", skip_silent=True, interval=7):
    count = 0
    for i in range(len(upper) - 1):
        a1, a2, b1, b2 = upper[i], upper[i + 1], lower[i], lower[i + 1]
        if skip_silent and min(a1, a2, b1, b2) < 0:
            continue
        d1, d2 = a1 - b1, a2 - b2
        if modulo:
            d1, d2 = d1 % 12, d2 % 12
        if d1 != interval or d2 != interval:
            continue
        if motion == "same" and (a2 - a1) * (b2 - b1) <= 0:
            continue
        if motion == "any-change" and a1 == a2 and b1 == b2:
            continue
        count += 1
    return count


def _loop(model, prompt, soprano, temperature, draw, *, sample_soprano=False, index_all=True,
          crop=True, multiply=False, soprano_last=False):  # fmt: skip
    tokens, index, drawn = list(prompt), 0, 0
    for note in soprano:
        picks = []
        for voice in range(4):
            is_soprano = voice == (3 if soprano_last else 0)
            if is_soprano and not sample_soprano:
                tokens.append(int(note))
            else:
                window = tokens[-model.context_length :] if crop else tokens
                logits = np.asarray(model(np.array([window])))[0, -1]
                logits = logits * temperature if multiply else logits / temperature
                tokens.append(draw(logits, index if index_all else drawn))
                drawn += 1
            picks.append(tokens[-1])
            index += 1
    return np.array(tokens)


WRONG = [
    ("encode_voice", "no HOLD: the pitch on every step", lambda n, s: _encode(n, s, holds=False)),
    ("encode_voice", "a repeated pitch is held", lambda n, s: _encode(n, s, repeat_is_hold=True)),
    ("encode_voice", "silence is HOLD", lambda n, s: _encode(n, s, rest=music.HOLD)),
    ("encode_voice", "one step too long", lambda n, s: _encode(n, s, extra=1)),
    (
        "encode_voice",
        "eighth-note grid",
        lambda n, s: encode_voice([(o / 2, d / 2, p) for o, d, p in n], s),
    ),
    ("count_parallel_fifths", "no modulo 12", lambda u, lo: _fifths(u, lo, modulo=False)),
    (
        "count_parallel_fifths",
        "any motion counts",
        lambda u, lo: _fifths(u, lo, motion="any-change"),
    ),
    ("count_parallel_fifths", "held fifths count", lambda u, lo: _fifths(u, lo, motion="none")),
    (
        "count_parallel_fifths",
        "silent voices count",
        lambda u, lo: _fifths(u, lo, skip_silent=False),
    ),
    ("count_parallel_fifths", "fourths counted", lambda u, lo: _fifths(u, lo, interval=5)),
    ("harmonize_loop", "the soprano is sampled", lambda *a: _loop(*a, sample_soprano=True)),
    ("harmonize_loop", "draw index skips the soprano", lambda *a: _loop(*a, index_all=False)),
    ("harmonize_loop", "no crop to the context", lambda *a: _loop(*a, crop=False)),
    ("harmonize_loop", "temperature multiplied", lambda *a: _loop(*a, multiply=True)),
    ("harmonize_loop", "soprano written last", lambda *a: _loop(*a, soprano_last=True)),
]


# The tables above are tested by tests/test_check_tables.py (registered points, the
# reference passes, the library call fails, every wrong answer fails).
