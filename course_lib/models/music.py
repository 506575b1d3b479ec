"""Four-voice music as tokens, the models that continue it, and how to hear and read it.

In teaching order:

- **The encoding**: a chorale on a grid of sixteenth notes (:data:`STEPS_PER_QUARTER`),
  one token per voice per step, soprano first (S, A, T, B, S, A, T, B ...). A token is
  a MIDI pitch (a note starts), :data:`HOLD` (the voice's note goes on) or :data:`REST`.
  Each piece starts with one step of :data:`MAJOR` or :data:`MINOR` tokens: it marks
  where a piece begins and says its mode, so a sample can be asked for in either.
  :func:`encode_voice`, :func:`encode_chorale` / :func:`decode_grid` (exact on the grid), :func:`flatten` /
  :func:`unflatten`, :func:`chorale_tokens` (a stream of pieces for training).
- **Baselines**: :class:`RepeatChord` (every voice holds what it played) and
  :class:`NGram` (counts of what followed the last n - 1 tokens). The networks are
  chapter 04's: :func:`course_music_gpt` (its causal transformer) and
  :func:`course_music_lstm` (the glossary's LSTM), scored alike by :func:`evaluate`.
- **Generation** with chapter 04's sampler (:func:`course_lib.models.gpt.generate`:
  temperature, top-k, top-p): :func:`continue_chorale`, and :func:`harmonize`, which writes
  a given soprano and lets the model fill in alto, tenor and bass (the soprano comes
  first in each step, so the model has heard it before it picks the other three).
- **Measures** of music theory on real and generated pieces (:func:`count_parallels`,
  :func:`in_key_share`): :func:`music_measures`
  (share of notes in the key, voices in their ranges, parallel fifths and octaves per
  hundred beats, voice crossings).
- **Output**: :func:`to_score` (music21), :func:`write_midi` / :func:`read_midi_notes`,
  :func:`render_audio` (the General MIDI soundfont that ``pretty_midi`` ships, played by
  ``tinysoundfont``; sine tones where that is missing), :func:`score_svg` (sheet music
  by verovio) and :func:`plot_piano_roll`.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

from course_lib.conventions import as_int, as_positive_int
from course_lib.data.chorales import (
    HIGHEST_PITCH,
    LOWEST_PITCH,
    VOICES,
    Chorale,
    all_keys,
)
from course_lib.models import gpt

# -- the encoding ----------------------------------------------------------------------------

STEPS_PER_QUARTER = 4  # a sixteenth-note grid
REST, HOLD, MAJOR, MINOR = 0, 1, 2, 3
FIRST_PITCH_TOKEN = 4
VOCAB_SIZE = FIRST_PITCH_TOKEN + HIGHEST_PITCH - LOWEST_PITCH + 1
NUM_VOICES = len(VOICES)
STYLE_TOKENS = {"major": MAJOR, "minor": MINOR}
# the usual ranges of the four voices (MIDI): soprano C4-G5, alto G3-D5, tenor C3-G4, bass E2-C4
VOICE_RANGES = ((60, 79), (55, 74), (48, 67), (40, 60))


def pitch_token(pitch: int) -> int:
    """The token of MIDI ``pitch`` (a note starting)."""
    if not LOWEST_PITCH <= pitch <= HIGHEST_PITCH:
        raise ValueError(
            f"pitch {pitch} is outside the encoding's range, MIDI {LOWEST_PITCH} to {HIGHEST_PITCH}"
        )
    return FIRST_PITCH_TOKEN + int(pitch) - LOWEST_PITCH


def token_pitch(token: int) -> int | None:
    """The MIDI pitch of a pitch token; None for REST, HOLD and the style tokens."""
    return int(token) - FIRST_PITCH_TOKEN + LOWEST_PITCH if token >= FIRST_PITCH_TOKEN else None


def token_name(token: int) -> str:
    """A readable name: ``C4``, ``-`` (hold), ``.`` (rest), ``<major>``, ``<minor>``."""
    token = _check_tokens(np.array([token]))[0]
    if token == REST:
        return "."
    if token == HOLD:
        return "-"
    if token in (MAJOR, MINOR):
        return "<major>" if token == MAJOR else "<minor>"
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    pitch = token_pitch(token)
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


def _check_tokens(tokens) -> np.ndarray:
    arr = np.asarray(tokens)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"tokens must be integers; got {arr.dtype}")
    bad = arr[(arr < 0) | (arr >= VOCAB_SIZE)]
    if bad.size:
        raise ValueError(
            f"unknown token {bad.flat[0]}: tokens run from 0 to {VOCAB_SIZE - 1} "
            f"(0 rest, 1 hold, 2 major, 3 minor, then MIDI {LOWEST_PITCH}-{HIGHEST_PITCH})"
        )
    return arr.astype(np.int32)


def on_grid(chorale: Chorale, steps_per_quarter: int = STEPS_PER_QUARTER) -> bool:
    """True when every onset and length of the chorale falls on the grid exactly."""
    return all(
        abs(x * steps_per_quarter - round(x * steps_per_quarter)) < 1e-6
        for voice in chorale.voices
        for onset, length, _ in voice
        for x in (onset, length)
    )


def encode_voice(notes, steps: int, steps_per_quarter: int = STEPS_PER_QUARTER) -> np.ndarray:
    """One voice's notes ``[(onset, length, pitch), ...]`` -> ``steps`` tokens (int32).

    A note puts its pitch token on its first step and HOLD on the others; every step no
    note covers is REST. Onsets and ends are rounded to the nearest step (a note keeps at
    least one step); a note past the last step is cut off.
    """
    steps = as_int(steps, "steps", minimum=0)
    steps_per_quarter = as_positive_int(steps_per_quarter, "steps_per_quarter")
    tokens = np.full(steps, REST, dtype=np.int32)
    for onset, length, pitch in sorted(notes):
        start = round(onset * steps_per_quarter)
        end = max(start + 1, round((onset + length) * steps_per_quarter))
        if start >= steps:
            continue
        tokens[start] = pitch_token(pitch)
        tokens[start + 1 : end] = HOLD
    return tokens


def encode_chorale(chorale: Chorale, steps_per_quarter: int = STEPS_PER_QUARTER) -> np.ndarray:
    """A chorale -> int32 grid (steps, 4): one token per voice per step, soprano first.

    Each column is :func:`encode_voice` of one voice. A chorale on the grid
    (:func:`on_grid`) comes back exactly from :func:`decode_grid`.
    """
    if not isinstance(chorale, Chorale):
        raise TypeError(f"chorale must be a Chorale (from load_chorales); got {type(chorale)}")
    steps_per_quarter = as_positive_int(steps_per_quarter, "steps_per_quarter")
    steps = max(1, round(chorale.length * steps_per_quarter))
    return np.stack(
        [encode_voice(v, steps, steps_per_quarter) for v in chorale.voices], axis=1
    ).astype(np.int32)


def decode_grid(
    grid, name: str = "generated", steps_per_quarter: int = STEPS_PER_QUARTER, mode="major"
) -> Chorale:
    """A grid (steps, 4) of tokens -> a :class:`Chorale` (the inverse of :func:`encode_chorale`).

    A HOLD with no note before it is read as silence (a model may write one). Style
    tokens do not belong inside a piece: strip the first step first (:func:`split_pieces`).
    """
    arr = _check_tokens(grid)
    if arr.ndim != 2 or arr.shape[1] != NUM_VOICES:
        raise ValueError(f"grid must have shape (steps, 4), one column per voice; got {arr.shape}")
    if np.isin(arr, (MAJOR, MINOR)).any():
        raise ValueError("a style token (<major>/<minor>) inside the grid: it only starts a piece")
    steps_per_quarter = as_positive_int(steps_per_quarter, "steps_per_quarter")
    step = 1.0 / steps_per_quarter
    voices = []
    for v in range(NUM_VOICES):
        notes, current = [], None  # current = [onset step, length in steps, pitch]
        for t, token in enumerate(arr[:, v]):
            if token == HOLD and current is not None:
                current[1] += 1
                continue
            if current is not None:
                notes.append(current)
                current = None
            if token >= FIRST_PITCH_TOKEN:
                current = [t, 1, token_pitch(token)]
        if current is not None:
            notes.append(current)
        voices.append([(s * step, n * step, p) for s, n, p in notes])
    return Chorale(name, voices, mode=mode, length=len(arr) * step)


def flatten(grid) -> np.ndarray:
    """(steps, 4) -> (steps * 4,): step by step, soprano, alto, tenor, bass."""
    arr = _check_tokens(grid)
    if arr.ndim != 2 or arr.shape[1] != NUM_VOICES:
        raise ValueError(f"grid must have shape (steps, 4); got {arr.shape}")
    return arr.reshape(-1)


def unflatten(tokens) -> np.ndarray:
    """(steps * 4,) -> (steps, 4); the length must be a whole number of steps."""
    arr = _check_tokens(tokens)
    if arr.ndim != 1 or len(arr) % NUM_VOICES:
        raise ValueError(
            f"tokens must be 1-D with a multiple of 4 entries (one per voice per step); "
            f"got shape {arr.shape}"
        )
    return arr.reshape(-1, NUM_VOICES)


def style_step(mode: str) -> np.ndarray:
    """The first step of a piece: four copies of its style token, ``"major"`` or ``"minor"``."""
    if mode not in STYLE_TOKENS:
        raise ValueError(f"mode must be 'major' or 'minor'; got {mode!r}")
    return np.full(NUM_VOICES, STYLE_TOKENS[mode], dtype=np.int32)


def piece_tokens(chorale: Chorale) -> np.ndarray:
    """One chorale as the model reads it: its style step, then its grid, flattened."""
    return np.concatenate([style_step(chorale.mode), flatten(encode_chorale(chorale))])


def chorale_tokens(chorales, *, transpose: bool = False) -> np.ndarray:
    """Many chorales as one int32 stream of tokens, one piece after another.

    ``transpose=True`` adds every chorale in each of the twelve keys that fit
    (:func:`course_lib.data.chorales.all_keys`): for the training set only.
    """
    chorales = list(chorales)
    if not chorales:
        raise ValueError("chorales is empty: give at least one Chorale")
    pieces = [v for c in chorales for v in (all_keys(c) if transpose else [c])]
    return np.concatenate([piece_tokens(c) for c in pieces]).astype(np.int32)


def split_pieces(tokens) -> list[tuple[str, np.ndarray]]:
    """A token stream -> [(mode, grid)] for each piece it holds (a piece starts at a style
    step). Tokens before the first style step count as a major piece; a trailing part
    step is dropped."""
    arr = _check_tokens(tokens).reshape(-1)
    arr = arr[: len(arr) - len(arr) % NUM_VOICES].reshape(-1, NUM_VOICES)
    pieces, mode, rows = [], "major", []
    for row in arr:
        if row[0] in (MAJOR, MINOR):
            if rows:
                pieces.append((mode, np.array(rows, dtype=np.int32)))
            mode, rows = ("major" if row[0] == MAJOR else "minor"), []
            continue
        rows.append(np.where(np.isin(row, (MAJOR, MINOR)), HOLD, row))
    if rows:
        pieces.append((mode, np.array(rows, dtype=np.int32)))
    return pieces


# -- baselines ------------------------------------------------------------------------------


def _as_windows(inputs) -> np.ndarray:
    arr = _check_tokens(inputs)
    return arr[None] if arr.ndim == 1 else arr


class RepeatChord:
    """Baseline: every voice goes on as it was (a note holds, a rest stays a rest).

    It guesses for each position the token four back (the same voice one step before),
    turned into HOLD when that was a note. :meth:`fit` learns how often that guess is
    right, which gives its probability; the rest is spread over the other tokens.
    """

    vocab_size = VOCAB_SIZE
    context_length = None

    def __init__(self):
        self.hit_rate = 0.5

    @staticmethod
    def guess(inputs) -> np.ndarray:
        """The guess for the token after each position: (batch, time) int32."""
        x = _as_windows(inputs)
        # the next token belongs to the voice of the token 3 back (4 back from the next)
        before = np.full_like(x, HOLD)
        before[:, 3:] = x[:, :-3]
        return np.where(before == REST, REST, HOLD).astype(np.int32)

    def fit(self, stream) -> RepeatChord:
        stream = _check_tokens(stream).reshape(-1)
        guesses = self.guess(stream[:-1])[0]
        self.hit_rate = float(np.clip((guesses == stream[1:]).mean(), 1e-3, 1 - 1e-3))
        return self

    def log_probs(self, inputs) -> np.ndarray:
        """log p(next token) at each position: (batch, time, vocab) in nats."""
        g = self.guess(inputs)
        miss = math.log((1 - self.hit_rate) / (VOCAB_SIZE - 1))
        out = np.full(g.shape + (VOCAB_SIZE,), miss, dtype=np.float32)
        np.put_along_axis(out, g[..., None], math.log(self.hit_rate), axis=-1)
        return out


class NGram:
    """Baseline: p(next | the last ``order - 1`` tokens), from counts with add-``alpha``.

    A context never seen in training backs off to a shorter one (down to no context at
    all), so every token keeps a chance. ``order=5`` sees the same voice one step back
    and the voices already written in this step.
    """

    vocab_size = VOCAB_SIZE

    def __init__(self, order: int = 5, alpha: float = 0.01):
        self.order = as_int(order, "order", minimum=1)
        if not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha must be a positive number; got {alpha!r}")
        self.alpha = float(alpha)
        self.context_length = self.order - 1
        self.tables = []  # per context size k: (sorted context keys, count rows)

    @staticmethod
    def _keys(x: np.ndarray, k: int) -> np.ndarray:
        """A number for the k tokens before each position of x's last axis (-1: too few)."""
        keys = np.zeros(x.shape, dtype=np.int64)
        for j in range(1, k + 1):
            shifted = np.full(x.shape, -1, dtype=np.int64)
            shifted[..., j:] = x[..., :-j]
            keys = np.where((keys < 0) | (shifted < 0), -1, keys * VOCAB_SIZE + shifted)
        return keys

    def fit(self, stream) -> NGram:
        stream = _check_tokens(stream).reshape(-1)
        self.tables = []
        for k in range(self.order):
            keys = self._keys(stream, k)[1:] if k else np.zeros(len(stream) - 1, np.int64)
            nxt = stream[1:]
            keep = keys >= 0
            contexts, where = np.unique(keys[keep], return_inverse=True)
            counts = np.zeros((len(contexts), VOCAB_SIZE), dtype=np.float32)
            np.add.at(counts, (where, nxt[keep]), 1.0)
            self.tables.append((contexts, counts))
        return self

    def log_probs(self, inputs) -> np.ndarray:
        """log p(next token) after each position: (batch, time, vocab) in nats."""
        if not self.tables:
            raise RuntimeError("fit the n-gram on a token stream first")
        x = _as_windows(inputs)
        # the token after position t has context x[t-k+1 .. t]: keys of x shifted by one
        padded = np.concatenate([x, np.zeros((len(x), 1), np.int32)], axis=1)
        out = np.zeros(x.shape + (VOCAB_SIZE,), dtype=np.float32)
        done = np.zeros(x.shape, dtype=bool)
        for k in range(self.order - 1, -1, -1):
            contexts, counts = self.tables[k]
            keys = self._keys(padded, k)[:, 1:] if k else np.zeros(x.shape, np.int64)
            idx = np.clip(np.searchsorted(contexts, keys), 0, len(contexts) - 1)
            found = (contexts[idx] == keys) & (keys >= 0) & ~done
            rows = counts[idx[found]] + self.alpha
            out[found] = np.log(rows / rows.sum(axis=1, keepdims=True))
            done |= found
        return out


# -- the networks (chapter 04's) and how every model is scored ----------------------------


def course_music_gpt(context_length: int = 128, **kw) -> gpt.GPT:
    """Chapter 04's causal transformer, compiled for the chorale tokens.

    A context of 128 tokens is 32 sixteenth steps: two bars of 4/4. It carries
    ``run_name`` ``"ch06_gpt"``, ``batch_size`` and ``warmup_steps`` like chapter 04's.
    """
    model = gpt.course_gpt(VOCAB_SIZE, context_length, **kw)
    model.run_name = "ch06_gpt"
    return model


def course_music_lstm(context_length: int = 128, *, units: int = 256) -> gpt.CharLSTM:
    """The glossary's LSTM (chapter 04's) on the chorale tokens; ``run_name`` ``"ch06_lstm"``."""
    model = gpt.course_lstm(VOCAB_SIZE, context_length, units=units)
    model.run_name = "ch06_lstm"
    return model


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def evaluate(model, inputs, targets, batch_size: int = 64) -> dict:
    """Next-token accuracy and mean negative log-likelihood (nats) on (inputs, targets).

    ``model`` is a network (logits) or a baseline with ``log_probs``. Also the accuracy
    on the targets that are not HOLD (``change_accuracy``): the harder guesses, where a
    voice starts a note or rests.
    """
    inputs, targets = _as_windows(inputs), _as_windows(targets)
    if inputs.shape != targets.shape:
        raise ValueError(f"inputs {inputs.shape} and targets {targets.shape} must match")
    batch_size = as_positive_int(batch_size, "batch_size")
    hits, changes_hit, nll = 0, 0, 0.0
    for i in range(0, len(inputs), batch_size):
        x, y = inputs[i : i + batch_size], targets[i : i + batch_size]
        if hasattr(model, "log_probs"):
            logp = model.log_probs(x)
        else:
            logp = _log_softmax(np.asarray(model(x, training=False), dtype=np.float64))
        guess = logp.argmax(axis=-1)
        hits += int((guess == y).sum())
        changes_hit += int(((guess == y) & (y != HOLD)).sum())
        nll -= float(np.take_along_axis(logp, y[..., None], axis=-1).sum())
    n, changes = targets.size, int((targets != HOLD).sum())
    return {
        "accuracy": hits / n,
        "change_accuracy": changes_hit / max(changes, 1),
        "nll": nll / n,
    }


# -- generation -----------------------------------------------------------------------------


def continue_chorale(model, opening, steps: int, *, mode="major", **sampling) -> np.ndarray:
    """Write ``steps`` more grid steps after ``opening`` (a grid (steps, 4)).

    The model reads the piece's style step, then the opening; ``sampling`` goes to
    :func:`course_lib.models.gpt.generate` (``temperature``, ``top_k``, ``top_p``,
    ``seed``). Returns the whole grid, opening included: (opening + steps, 4). A style
    token that the model writes in the middle (a new piece) becomes a HOLD.

    Once the piece is longer than the model's context, the window it reads always starts
    at a soprano token (``align=4``): the transformer learned each voice partly from its
    position, because its training windows all start at a step. Without this its voices
    got mixed up (the alto's notes in the soprano) once the window slid.

    A batch of openings of one length, (n, steps, 4), with one mode each (a list) or
    one for all, is written in one pass: (n, opening + steps, 4).
    """
    opening = _check_tokens(opening)
    single = opening.ndim == 2
    batch = opening[None] if single else opening
    if batch.ndim != 3 or batch.shape[2] != NUM_VOICES:
        raise ValueError(
            f"opening must be a grid (steps, 4) or a batch of them (n, steps, 4); "
            f"got shape {opening.shape}"
        )
    modes = [mode] * len(batch) if isinstance(mode, str) else list(mode)
    if len(modes) != len(batch):
        raise ValueError(f"give one mode per opening: {len(batch)} openings, {len(modes)} modes")
    steps = as_int(steps, "steps", minimum=0)
    prompts = np.stack([np.concatenate([style_step(m), flatten(g)]) for m, g in zip(modes, batch)])
    out = gpt.generate(model, prompts, steps * NUM_VOICES, align=NUM_VOICES, **sampling)
    out = out[:, NUM_VOICES:]
    out = np.where(np.isin(out, (MAJOR, MINOR)), HOLD, out).reshape(len(batch), -1, NUM_VOICES)
    return out[0] if single else out


def harmonize(model, soprano, *, mode="major", opening=None, **sampling) -> np.ndarray:
    """Fill in alto, tenor and bass under a given soprano line.

    ``soprano`` is one token per step (pitch, HOLD or REST). Because each step is written
    soprano first, the soprano token can be *forced*: at each step the loop writes the
    given soprano token, then samples alto, tenor and bass, each seeing the melody so far
    and the note above it. ``opening`` (a grid) may give the first steps in full.
    Returns the grid (opening + len(soprano), 4).
    """
    soprano = _check_tokens(soprano).reshape(-1)
    if np.isin(soprano, (MAJOR, MINOR)).any():
        raise ValueError("the soprano line must hold pitch, HOLD or REST tokens only")
    opening = np.zeros((0, NUM_VOICES), np.int32) if opening is None else _check_tokens(opening)
    forced = np.full((len(soprano), NUM_VOICES), -1, dtype=np.int32)
    forced[:, 0] = soprano
    prompt = np.concatenate([style_step(mode), flatten(opening)])
    out = gpt.generate(
        model, prompt, forced.size, forced=forced.reshape(-1), align=NUM_VOICES, **sampling
    )
    out = out[NUM_VOICES:]
    out = np.where(np.isin(out, (MAJOR, MINOR)), HOLD, out)
    return unflatten(out)


# -- music-theory measures ------------------------------------------------------------------

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)


def _sounding(grid: np.ndarray) -> np.ndarray:
    """(steps, 4) MIDI pitch sounding in each voice at each step, -1 for silence."""
    out = np.full(grid.shape, -1, dtype=np.int32)
    for v in range(grid.shape[1]):
        current = -1
        for t, token in enumerate(grid[:, v]):
            if token >= FIRST_PITCH_TOKEN:
                current = token_pitch(token)
            elif token != HOLD:
                current = -1
            out[t, v] = current
    return out


def in_key_share(pitches) -> float:
    """Share of notes inside the best-fitting key: the major scale or harmonic minor,
    on whichever of the 12 tonics holds the most notes."""
    pcs = np.asarray(pitches, dtype=np.int64) % 12
    if pcs.size == 0:
        return float("nan")
    counts = np.bincount(pcs, minlength=12)
    best = 0
    for tonic in range(12):
        for scale in (MAJOR_SCALE, HARMONIC_MINOR):
            best = max(best, int(counts[[(tonic + s) % 12 for s in scale]].sum()))
    return best / pcs.size


def count_parallels(upper, lower, interval: int = 7) -> int:
    """How many times two voices move in parallel ``interval`` (7: fifths, 0: octaves).

    ``upper`` and ``lower`` are the two voices' MIDI pitches chord by chord (-1: silent).
    A parallel is two chords in a row where the voices are ``interval`` apart modulo
    octaves both times and both move, the same way (both up or both down).
    """
    a, b = np.asarray(upper, dtype=np.int64), np.asarray(lower, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"upper and lower must be 1-D and of one length; got {a.shape}, {b.shape}")
    sounding = (a[:-1] >= 0) & (b[:-1] >= 0) & (a[1:] >= 0) & (b[1:] >= 0)
    move_a, move_b = np.sign(np.diff(a)), np.sign(np.diff(b))
    same_way = sounding & (move_a == move_b) & (move_a != 0)
    before, after = (a[:-1] - b[:-1]) % 12, (a[1:] - b[1:]) % 12
    return int((same_way & (before == interval % 12) & (after == interval % 12)).sum())


def parallel_motion(grid, steps_per_quarter: int = STEPS_PER_QUARTER) -> dict:
    """Parallel fifths and octaves per hundred beats (quarter notes) in a grid (steps, 4).

    The chords are compared each time any voice changes (:func:`count_parallels` on
    every pair of voices); octaves include unisons.
    """
    arr = _check_tokens(grid)
    sound = _sounding(arr)
    change = np.r_[True, (sound[1:] != sound[:-1]).any(axis=1)]
    chords = sound[change]
    fifths = octaves = 0
    for i in range(NUM_VOICES):
        for j in range(i + 1, NUM_VOICES):
            fifths += count_parallels(chords[:, i], chords[:, j], 7)
            octaves += count_parallels(chords[:, i], chords[:, j], 0)
    beats = max(len(arr) / steps_per_quarter, 1e-9)
    return {
        "fifths_per_100_beats": 100 * fifths / beats,
        "octaves_per_100_beats": 100 * octaves / beats,
    }


def music_measures(grids) -> dict:
    """The music-theory measures of one grid or a list of them, pooled over all steps.

    ``in_key``: share of notes in the best-fitting key (per piece, weighted by notes);
    ``in_range``: share of sounding steps within the voice's usual range
    (:data:`VOICE_RANGES`); ``fifths_per_100_beats`` / ``octaves_per_100_beats``:
    parallel motion; ``crossings``: share of steps where a voice sounds below the one
    under it (soprano below alto, ...).
    """
    if isinstance(grids, np.ndarray) and grids.ndim == 2:
        grids = [grids]
    grids = [_check_tokens(g) for g in grids]
    if not grids:
        raise ValueError("grids is empty")
    notes = in_key = in_range = sounding = crossings = pairs = 0
    fifths = octaves = beats = 0.0
    for grid in grids:
        starts = grid[grid >= FIRST_PITCH_TOKEN] - FIRST_PITCH_TOKEN + LOWEST_PITCH
        if starts.size:
            in_key += in_key_share(starts) * starts.size
            notes += starts.size
        sound = _sounding(grid)
        for v, (low, high) in enumerate(VOICE_RANGES):
            s = sound[:, v][sound[:, v] >= 0]
            in_range += int(((s >= low) & (s <= high)).sum())
            sounding += s.size
        for v in range(NUM_VOICES - 1):
            both = (sound[:, v] >= 0) & (sound[:, v + 1] >= 0)
            crossings += int((both & (sound[:, v] < sound[:, v + 1])).sum())
            pairs += int(both.sum())
        b = len(grid) / STEPS_PER_QUARTER
        motion = parallel_motion(grid)
        fifths += motion["fifths_per_100_beats"] * b / 100
        octaves += motion["octaves_per_100_beats"] * b / 100
        beats += b
    return {
        "in_key": in_key / max(notes, 1),
        "in_range": in_range / max(sounding, 1),
        "fifths_per_100_beats": 100 * fifths / beats,
        "octaves_per_100_beats": 100 * octaves / beats,
        "crossings": crossings / max(pairs, 1),
    }


# -- output: score, MIDI, sound, sheet music, piano roll -----------------------------------


def _as_chorale(music) -> Chorale:
    if isinstance(music, Chorale):
        return music
    return decode_grid(music)


def to_score(music, title: str | None = None):
    """A chorale or a grid (steps, 4) -> a music21 ``Score`` with four parts (S, A, T, B)."""
    from music21 import clef, metadata, note, stream

    chorale = _as_chorale(music)
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title or chorale.name)
    clefs = (clef.TrebleClef, clef.TrebleClef, clef.Treble8vbClef, clef.BassClef)
    for v, voice in enumerate(chorale.voices):
        part = stream.Part(id=VOICES[v])
        part.partName = VOICES[v].capitalize()
        part.insert(0, clefs[v]())
        for onset, length, pitch in voice:
            n = note.Note(pitch, quarterLength=length)
            part.insert(onset, n)
        part.makeRests(fillGaps=True, inPlace=True)
        score.insert(0, part)
    return score


def write_midi(music, path, *, tempo: float = 80.0) -> Path:
    """Write a chorale or grid as a MIDI file: one track (instrument) per voice.

    ``tempo`` is in quarter notes per minute. Returns the path.
    """
    import pretty_midi

    chorale = _as_chorale(music)
    if not isinstance(tempo, (int, float)) or not tempo > 0:
        raise ValueError(f"tempo must be a positive number of beats per minute; got {tempo!r}")
    seconds = 60.0 / tempo
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo))
    for v, voice in enumerate(chorale.voices):
        inst = pretty_midi.Instrument(program=52, name=VOICES[v])  # choir aahs
        for onset, length, pitch in voice:
            inst.notes.append(
                pretty_midi.Note(
                    velocity=80, pitch=pitch, start=onset * seconds, end=(onset + length) * seconds
                )
            )
        pm.instruments.append(inst)
    path = Path(path)
    pm.write(str(path))
    return path


def read_midi_notes(path, *, tempo: float = 80.0) -> list[list[tuple[float, float, int]]]:
    """The notes of a MIDI file, one list per track: (onset, length, pitch) in quarter notes."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    seconds = 60.0 / tempo
    return [
        [
            (round(n.start / seconds, 4), round((n.end - n.start) / seconds, 4), n.pitch)
            for n in sorted(inst.notes, key=lambda n: (n.start, n.pitch))
        ]
        for inst in pm.instruments
    ]


def soundfont_path() -> Path | None:
    """The General MIDI soundfont that the ``pretty_midi`` wheel ships (TimGM6mb.sf2)."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.exists() else None


def _note_events(chorale: Chorale, seconds: float):
    events = []
    for v, voice in enumerate(chorale.voices):
        for onset, length, pitch in voice:
            events.append((onset * seconds, 1, v, pitch))
            events.append(((onset + length) * seconds - 0.01, 0, v, pitch))
    return sorted(events)


def _render_soundfont(chorale, sample_rate, seconds, program, tail) -> np.ndarray:
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    font = synth.sfload(str(soundfont_path()))
    for channel in range(NUM_VOICES):
        synth.program_select(channel, font, 0, program)
    chunks, now = [], 0
    for time_s, on, voice, pitch in _note_events(chorale, seconds):
        sample = int(round(time_s * sample_rate))
        if sample > now:
            chunks.append(np.frombuffer(synth.generate(sample - now), dtype=np.float32))
            now = sample
        if on:
            synth.noteon(voice, pitch, 90)
        else:
            synth.noteoff(voice, pitch)
    chunks.append(np.frombuffer(synth.generate(int(tail * sample_rate)), dtype=np.float32))
    stereo = np.concatenate(chunks).reshape(-1, 2)
    return stereo.mean(axis=1)


def _render_sine(chorale, sample_rate, seconds, tail) -> np.ndarray:
    total = int((chorale.length * seconds + tail) * sample_rate) + 1
    out = np.zeros(total, dtype=np.float64)
    for voice in chorale.voices:
        for onset, length, pitch in voice:
            start, n = int(onset * seconds * sample_rate), int(length * seconds * sample_rate)
            t = np.arange(n) / sample_rate
            freq = 440.0 * 2 ** ((pitch - 69) / 12)
            envelope = np.minimum(
                1.0, np.minimum(t / 0.02, (n - np.arange(n)) / (0.05 * sample_rate))
            )
            out[start : start + n] += 0.2 * envelope * np.sin(2 * np.pi * freq * t)
    return out


def render_audio(
    music, *, sample_rate: int = 22050, tempo: float = 80.0, renderer: str = "auto", program=52
):
    """Play a chorale or grid into a mono waveform: ``(waveform, sample_rate, renderer)``.

    ``renderer`` ``"soundfont"`` uses the General MIDI soundfont that pretty_midi ships
    (TimGM6mb.sf2) through ``tinysoundfont`` (``program`` 52 is choir "aahs", 19 a church
    organ); ``"sine"`` adds sine tones; ``"auto"`` takes the soundfont when both are there.
    The waveform is scaled to a peak of 0.9.
    """
    chorale = _as_chorale(music)
    sample_rate = as_positive_int(sample_rate, "sample_rate")
    if renderer not in ("auto", "soundfont", "sine"):
        raise ValueError(f"renderer must be 'auto', 'soundfont' or 'sine'; got {renderer!r}")
    if not isinstance(tempo, (int, float)) or not tempo > 0:
        raise ValueError(f"tempo must be a positive number of beats per minute; got {tempo!r}")
    seconds = 60.0 / tempo
    if renderer in ("auto", "soundfont"):
        try:
            import tinysoundfont  # noqa: F401

            have_font = soundfont_path() is not None
        except ImportError:
            have_font = False
        if have_font:
            renderer = "soundfont"
        elif renderer == "soundfont":
            raise RuntimeError("no soundfont renderer: pip install --no-deps tinysoundfont")
        else:
            renderer = "sine"
    if renderer == "soundfont":
        wave = _render_soundfont(chorale, sample_rate, seconds, program, tail=0.5)
        name = "soundfont TimGM6mb.sf2 (pretty_midi) through tinysoundfont"
    else:
        wave = _render_sine(chorale, sample_rate, seconds, tail=0.2)
        name = "sine tones"
    peak = float(np.abs(wave).max())
    if peak == 0:
        raise RuntimeError(f"the {renderer} renderer gave silence")
    return (0.9 * wave / peak).astype(np.float32), sample_rate, name


def score_svg(music, *, title: str | None = None, width: int = 2000, scale: int = 35) -> str:
    """Sheet music as SVG (the first page), drawn by verovio from MusicXML, offline."""
    import verovio

    score = to_score(music, title)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "score.musicxml"
        score.write("musicxml", fp=str(path))
        xml = path.read_text()
    toolkit = verovio.toolkit()
    toolkit.setOptions({"pageWidth": width, "scale": scale, "adjustPageHeight": True})
    if not toolkit.loadData(xml):
        raise RuntimeError("verovio could not read the MusicXML")
    return toolkit.renderToSVG(1)


def plot_piano_roll(music, *, title: str | None = None, ax=None):
    """A piano roll: one coloured bar per note, one colour per voice; returns the figure."""
    import matplotlib.pyplot as plt

    chorale = _as_chorale(music)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 3.5))
    else:
        fig = ax.figure
    colours = ("tab:red", "tab:orange", "tab:green", "tab:blue")
    for v, voice in enumerate(chorale.voices):
        for onset, length, pitch in voice:
            ax.add_patch(plt.Rectangle((onset, pitch - 0.4), length * 0.95, 0.8, color=colours[v]))
        ax.plot([], [], color=colours[v], linewidth=6, label=VOICES[v])
    pitches = chorale.pitches() or [60]
    ax.set_xlim(0, max(chorale.length, 1))
    ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
    ax.set_xlabel("beats (quarter notes)")
    ax.set_ylabel("MIDI pitch (60 = middle C)")
    ax.legend(loc="upper right", fontsize=8, ncol=4)
    ax.set_title(title or chorale.name)
    ax.grid(alpha=0.3)
    return fig


def midi_bytes(music, *, tempo: float = 80.0) -> bytes:
    """The MIDI file of :func:`write_midi` as bytes (for a download link)."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_midi(music, Path(folder) / "music.mid", tempo=tempo)
        return path.read_bytes()
