"""Checks for chapter 06's exercises: one voice on the grid, parallel fifths, and the
harmonisation loop. Each compares the learner's function with
:mod:`course_lib.models.music` (and chapter 04's :func:`course_lib.models.gpt.generate`)."""

from __future__ import annotations

import numpy as np

from course_lib import grading
from course_lib.checks.ch04 import _Recorder, _ToyLanguageModel
from course_lib.models import gpt, music

exercise = grading.Exercises("06_music_generation")

ENCODING_SECTION = "3.1 The encoding: a grid of tokens"
MEASURES_SECTION = "4.6 Does it sound like Bach? Music-theory measures"
HARMONY_SECTION = "5.2 Harmonising a melody"


# -- exercise 1 ------------------------------------------------------------------------------


def _name(token: int) -> str:
    return music.token_name(int(token)) if 0 <= token < music.VOCAB_SIZE else str(token)


@exercise(
    points=2,
    forbid=[music.encode_voice, music.encode_chorale],
    see=ENCODING_SECTION,
    hint="A note's first step gets its pitch token (music.pitch_token), each of its other "
    "steps gets HOLD, and every step that no note covers gets REST. A note of length 1 "
    "quarter covers 4 sixteenth steps. Two notes of the same pitch in a row are two notes: "
    "the second starts with its pitch token again.",
)
def encode_voice(fn):
    """``fn(notes, steps)`` must give the tokens of :func:`music.encode_voice`."""
    cases = [
        ("a quarter note then a half note", [(0, 1, 72), (1, 2, 74)], 12),
        ("the same pitch twice", [(0, 1, 67), (1, 1, 67)], 8),
        ("a rest before and after a note", [(0.5, 0.5, 60)], 6),
        ("a sixteenth and a dotted eighth", [(0, 0.25, 55), (0.25, 0.75, 57)], 4),
        ("a note running past the end", [(0, 1, 48), (1, 4, 50)], 8),
    ]
    for label, notes, steps in cases:
        want = music.encode_voice(notes, steps)
        got = grading.expect_array(fn(list(notes), steps), what=f"your tokens for {label}")
        got = got.astype(np.int64).ravel()
        if len(got) != steps:
            raise grading.Mismatch(
                f"for {label} you return {len(got)} tokens; expected {steps}, one per step "
                "(extra notes past the last step are cut off)."
            )
        if np.array_equal(got, want):
            continue
        t = int(np.flatnonzero(got != want)[0])
        if want[t] == music.HOLD and got[t] >= music.FIRST_PITCH_TOKEN:
            why = "that step continues a note that started earlier: it should be HOLD."
        elif want[t] >= music.FIRST_PITCH_TOKEN and got[t] == music.HOLD:
            why = "a new note starts there (even if it has the same pitch as the one before)."
        elif want[t] == music.REST:
            why = "no note sounds there: it should be REST."
        elif got[t] == music.REST:
            why = "a note sounds there."
        else:
            why = "check how pitches turn into tokens (music.pitch_token)."
        raise grading.Mismatch(
            f"for {label}, step {t} is {_name(got[t])}; expected {_name(want[t])}: {why}"
        )


# -- exercise 2 ------------------------------------------------------------------------------


@exercise(
    points=2,
    forbid=[music.count_parallels, music.parallel_motion],
    see=MEASURES_SECTION,
    hint="Look at each pair of chords in a row. It counts when the two voices are a fifth "
    "apart in both (7 semitones, or 7 plus whole octaves: compare the distance modulo 12), "
    "and both voices move the same way (both up or both down). A voice that stays put, "
    "voices moving in opposite directions, or a silent voice (-1) do not count.",
)
def count_parallel_fifths(fn):
    """``fn(upper, lower)`` must count parallel fifths as :func:`music.count_parallels`."""
    cases = [
        ("G4/C4 then A4/D4", [67, 69], [60, 62]),
        ("a twelfth (fifth plus an octave) moving down", [79, 77], [60, 58]),
        ("a fifth held still", [67, 67, 67], [60, 60, 60]),
        ("fifths in contrary motion", [67, 62], [60, 55]),
        ("an octave moving in parallel", [72, 74], [60, 62]),
        ("a silent voice", [67, -1, 69], [60, -1, 62]),
        ("the lower voice falling silent", [42, 30], [35, -1]),
        ("the upper voice leaping an octave over a held note", [67, 79], [60, 60]),
        ("a fifth reached from a sixth", [69, 71, 72], [60, 64, 65]),
        ("a longer line", [67, 69, 71, 72, 74, 76], [60, 62, 64, 65, 67, 69]),
        ("a fourth moving in parallel (the voices upside down)", [60, 62], [67, 69]),
    ]
    for label, upper, lower in cases:
        want = music.count_parallels(upper, lower, 7)
        got = fn(list(upper), list(lower))
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            raise grading.Mismatch(f"return a whole number of parallels; got {got!r}")
        if int(got) != want:
            raise grading.Mismatch(
                f"for {label} (upper {upper}, lower {lower}) you count {int(got)}; expected {want}."
            )


# -- exercise 3: the harmonisation loop ----------------------------------------------------


@exercise(
    points=3,
    kind="generation loop",
    forbid=[gpt.generate, music.harmonize],
    see=HARMONY_SECTION,
    hint="For each step of the melody: append the given soprano token without asking the "
    "model; then three times (alto, tenor, bass) crop the tokens so far to the model's last "
    "context_length, take the logits of the LAST position, divide them by the temperature, "
    "pick with draw(logits, index) and append. `index` counts every new token, the "
    "soprano's included (0 for the first soprano, 1 for the alto after it ...).",
)
def harmonize_loop(fn):
    """``fn(model, prompt, soprano, temperature, draw)`` must return the prompt and then,
    step by step, the given soprano and three drawn tokens: the same tokens as
    :func:`gpt.generate` with the soprano forced, from the same seed."""
    import tensorflow as tf

    vocab = 11
    cases = [  # (context, prompt length, melody length, temperature, seed)
        (8, 4, 3, 1.0, 0),
        (6, 8, 4, 0.5, 1),  # a prompt longer than the context
        (12, 4, 2, 2.0, 2),
    ]
    for context, prompt_length, steps, temperature, seed in cases:
        model = _ToyLanguageModel(vocab, context, seed)
        rng = np.random.default_rng(seed + 20)
        prompt = rng.integers(0, vocab, prompt_length).astype(np.int32)
        soprano = rng.integers(0, vocab, steps).astype(np.int32)
        forced = np.full((steps, 4), -1, np.int32)
        forced[:, 0] = soprano
        want = gpt.generate(
            model, prompt, 4 * steps, temperature=temperature, seed=seed, forced=forced.ravel()
        )
        draws = []

        def draw(logits, index, seed=seed):
            logits = tf.reshape(tf.cast(logits, tf.float32), (1, -1))
            if logits.shape[1] != vocab:
                raise grading.Mismatch(
                    f"draw got {logits.shape[1]} logits; it needs one per token of the "
                    f"vocabulary ({vocab}), those of the last position only."
                )
            draws.append(int(index))  # noqa: B023 (called in this iteration)
            pair = tf.constant([seed, int(index)], tf.int32)
            return int(tf.random.stateless_categorical(logits, 1, seed=pair)[0, 0])

        recorder = _Recorder(model)
        label = (
            f"with a context of {context}, a prompt of {prompt_length} tokens, a melody of "
            f"{steps} steps and temperature {temperature:g}"
        )
        got = grading.expect_array(
            fn(recorder, prompt.copy(), soprano.copy(), temperature, draw), what=label
        )
        got = got.astype(np.int64).ravel()
        if len(got) != len(want):
            raise grading.Mismatch(
                f"{label}, your result has {len(got)} tokens; expected {len(want)}: the "
                "prompt, then 4 tokens per melody step (soprano, alto, tenor, bass)."
            )
        if not np.array_equal(got[:prompt_length], prompt):
            raise grading.Mismatch(f"{label}, your result does not start with the prompt.")
        new = got[prompt_length:].reshape(steps, 4)
        if not np.array_equal(new[:, 0], soprano):
            raise grading.Mismatch(
                f"{label}, your soprano line is {new[:, 0].tolist()}; it must be the given "
                f"melody {soprano.tolist()}, first in each step, written without asking "
                "the model."
            )
        expected_draws = [i for i in range(4 * steps) if i % 4]
        if draws != expected_draws:
            raise grading.Mismatch(
                f"{label}, you called draw with the indexes {draws[:6]}...; expected "
                f"{expected_draws[:6]}...: once per alto, tenor and bass token, counting "
                "every new token (the soprano's too)."
            )
        if len(recorder.windows) != len(expected_draws):
            raise grading.Mismatch(
                f"{label}, you asked the model {len(recorder.windows)} times; expected "
                f"{len(expected_draws)}: once per drawn token, never for the soprano."
            )
        wrong = np.flatnonzero(got != want)
        if len(wrong):
            first = int(wrong[0])
            i = (
                expected_draws.index(first - prompt_length)
                if first - prompt_length in (expected_draws)
                else 0
            )
            window = recorder.windows[i]
            so_far = want[:first]
            if not np.array_equal(window, so_far[-context:]):
                raise grading.Mismatch(
                    f"{label}, for token {first} you gave the model {window.tolist()}; it "
                    f"should read the last {context} tokens so far, "
                    f"{so_far[-context:].tolist()}."
                )
            raise grading.Mismatch(
                f"{label}, token {first} is {got[first]}; the library writes {want[first]} "
                "from the same seed and tokens before it. Do you use the logits of the last "
                "position only, divided (not multiplied) by the temperature?"
            )
