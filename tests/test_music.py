"""Chapter 06: the chorale data, the encoding, baselines, generation, measures and output."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.data import chorales as C
from course_lib.models import gpt
from course_lib.models import music as M


@pytest.fixture(scope="module")
def two():
    """Two real chorales, parsed from music21's corpus (half a second)."""
    paths = {p.name: p for p in C.chorale_paths()}
    return [C.parse_chorale(paths["bwv10.7.mxl"]), C.parse_chorale(paths["bwv101.7.mxl"])]


# -- data -------------------------------------------------------------------------------------


def test_corpus_has_the_four_part_chorales():
    assert len(C.chorale_paths()) > 360


def test_parse_refuses_a_score_with_five_parts():
    paths = {p.name: p for p in C.chorale_paths()}
    with pytest.raises(ValueError, match="exactly 4 parts.*has 5"):
        C.parse_chorale(paths["bwv1.6.mxl"])  # a horn above the four voices


def test_parsed_chorale_is_soprano_first(two):
    chorale = two[0]
    means = [np.mean([p for _, _, p in v]) for v in chorale.voices]
    assert means == sorted(means, reverse=True)  # soprano highest, bass lowest
    assert chorale.mode in ("major", "minor") and 0 <= chorale.tonic < 12


def test_load_chorales_caches(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    first = C.load_chorales(limit=2)
    assert "parsed 2" in capsys.readouterr().out
    again = C.load_chorales(limit=2)
    assert "from the cache" in capsys.readouterr().out
    assert [c.voices for c in again] == [c.voices for c in first]
    (tmp_path / next(p.name for p in tmp_path.iterdir())).write_text("{broken")
    with pytest.raises(C.DataFileError, match="not a chorale cache"):
        C.load_chorales(limit=2)


def test_split_is_by_chorale(two):
    many = [C.Chorale(f"c{i}", two[0].voices) for i in range(25)]
    train, test = C.split_chorales(many)
    assert len(test) == 2 and len(train) == 23
    assert not {c.name for c in train} & {c.name for c in test}


def test_transposition_keeps_every_interval(two):
    chorale = two[0]
    for shift in (-5, 3):
        moved = C.transpose(chorale, shift)
        assert moved.tonic == (chorale.tonic + shift) % 12
        for a, b in zip(chorale.voices, moved.voices):
            assert [(o, d) for o, d, _ in a] == [(o, d) for o, d, _ in b]
            assert np.array_equal(np.diff([p for *_, p in a]), np.diff([p for *_, p in b]))
            assert all(q - p == shift for (*_, p), (*_, q) in zip(a, b))
    keys = C.all_keys(chorale)
    assert len({k.tonic for k in keys}) == len(keys) >= 10


# -- encoding ---------------------------------------------------------------------------------


def test_real_chorale_round_trips_exactly(two):
    for chorale in two:
        assert M.on_grid(chorale)
        grid = M.encode_chorale(chorale)
        assert grid.shape == (round(chorale.length * 4), 4)
        back = M.decode_grid(grid)
        assert back.voices == chorale.voices
        assert np.array_equal(M.unflatten(M.flatten(grid)), grid)


def test_encoding_holds_and_new_notes():
    chorale = C.Chorale(
        "toy",
        [[(0, 1, 72), (1, 0.5, 72)], [(0, 2, 67)], [(0.5, 1.5, 64)], [(0, 1, 48), (1, 1, 50)]],
    )
    grid = M.encode_chorale(chorale)
    p = M.pitch_token
    assert grid[:, 0].tolist() == [p(72), 1, 1, 1, p(72), 1, 0, 0]  # a repeat is a new note
    assert grid[:, 2].tolist() == [0, 0, p(64), 1, 1, 1, 1, 1]  # a rest, then a note
    assert M.decode_grid(grid).voices == chorale.voices


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="unknown token 999"):
        M.decode_grid(np.full((3, 4), 999))
    with pytest.raises(ValueError, match="shape \\(steps, 4\\)"):
        M.decode_grid(np.ones((3, 3), int))
    with pytest.raises(ValueError, match="multiple of 4"):
        M.unflatten(np.ones(7, int))
    with pytest.raises(ValueError, match="outside the encoding's range"):
        M.pitch_token(10)
    with pytest.raises(ValueError, match="exactly 4 voices"):
        C.Chorale("three", [[], [], []])
    with pytest.raises(ValueError, match="style token"):
        M.decode_grid(np.full((2, 4), M.MAJOR))


def test_stream_starts_each_piece_with_its_style(two):
    stream = M.chorale_tokens(two)
    pieces = M.split_pieces(stream)
    assert [m for m, _ in pieces] == [c.mode for c in two]
    assert all(np.array_equal(g, M.encode_chorale(c)) for (_, g), c in zip(pieces, two))
    assert len(M.chorale_tokens(two[:1], transpose=True)) > 10 * len(M.piece_tokens(two[0]))


# -- baselines and scoring --------------------------------------------------------------------


def test_baselines_give_distributions_and_beat_chance(two):
    stream = M.chorale_tokens(two, transpose=True)
    x, y = gpt.validation_windows(M.chorale_tokens(two), 32)
    for model in (M.RepeatChord().fit(stream), M.NGram(5).fit(stream)):
        logp = model.log_probs(x[:3])
        assert logp.shape == (3, 32, M.VOCAB_SIZE)
        assert np.allclose(np.exp(logp).sum(-1), 1.0, atol=1e-4)
        scores = M.evaluate(model, x, y)
        assert scores["accuracy"] > 0.6 and scores["nll"] < np.log(M.VOCAB_SIZE)
    # more context helps the n-gram on the music it was fitted on
    one = M.evaluate(M.NGram(1).fit(stream), x, y)["nll"]
    five = M.evaluate(M.NGram(5).fit(stream), x, y)["nll"]
    assert five < one


# -- generation -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_gpt():
    model = gpt.GPT(M.VOCAB_SIZE, 16, d_model=16, num_heads=2, num_layers=1)
    model(np.zeros((1, 16), np.int32))
    return model


@pytest.fixture
def eager_sampler(monkeypatch):
    """Run generate's sampling step eagerly, so a spy model sees every window's length."""

    def sampler(model):
        return lambda window, t, k, p, seed: gpt._pick(model(window)[:, -1, :], t, k, p, seed)

    monkeypatch.setattr(gpt, "_sampler", sampler)


def test_generation_never_exceeds_the_context(tiny_gpt, two, eager_sampler):
    seen = []

    class Spy:
        vocab_size, context_length = tiny_gpt.vocab_size, tiny_gpt.context_length

        def __call__(self, ids, training=None):
            seen.append(np.shape(ids)[1])
            return tiny_gpt(ids)

    grid = M.continue_chorale(Spy(), M.encode_chorale(two[0])[:8], 3, seed=1)
    assert grid.shape == (11, 4) and max(seen) <= 16
    assert np.array_equal(grid[:8], M.encode_chorale(two[0])[:8])


def test_harmonize_keeps_the_soprano(tiny_gpt, two):
    soprano = M.encode_chorale(two[0])[:6, 0]
    grid = M.harmonize(tiny_gpt, soprano, seed=3, temperature=0.8)
    assert grid.shape == (6, 4)
    assert np.array_equal(grid[:, 0], soprano)
    again = M.harmonize(tiny_gpt, soprano, seed=3, temperature=0.8)
    assert np.array_equal(grid, again)


# -- measures ---------------------------------------------------------------------------------


def test_parallel_fifths_are_counted():
    p = M.pitch_token
    grid = np.array(
        [
            [p(67), p(64), p(55), p(48)],  # G4 E4 G3 C3
            [p(69), p(65), p(57), p(50)],  # A4 F4 A3 D3: all four went up
            [p(71), p(67), p(55), p(55)],  # B4 G4 G3 G3: the tenor went down
        ]
    )
    # first move: soprano-bass and tenor-bass in fifths twice (2), soprano-tenor in
    # octaves twice (1); second move: no pair keeps its fifth or octave
    motion = M.parallel_motion(np.repeat(grid, 4, axis=0))  # three beats
    assert motion["fifths_per_100_beats"] == pytest.approx(200 / 3)
    assert motion["octaves_per_100_beats"] == pytest.approx(100 / 3)
    # held notes are no motion: the same chords twice as long give half the rate
    slow = M.parallel_motion(np.repeat(grid, 8, axis=0))
    assert slow["fifths_per_100_beats"] == pytest.approx(100 / 3)


def test_real_chorales_look_like_chorales(two):
    measures = M.music_measures([M.encode_chorale(c) for c in two])
    assert measures["in_key"] > 0.85
    assert measures["in_range"] > 0.95
    assert measures["crossings"] < 0.05
    assert M.in_key_share([60, 62, 64, 65, 67, 69, 71]) == 1.0
    assert M.in_key_share([60, 61, 62, 63]) < 1.0


# -- output -----------------------------------------------------------------------------------


def test_midi_reads_back_with_the_same_notes(two, tmp_path):
    path = M.write_midi(two[1], tmp_path / "c.mid")
    notes = M.read_midi_notes(path)
    assert [[(float(o), float(d), p) for o, d, p in v] for v in notes] == two[1].voices


def _energy_near(wave, rate, pitch):
    """The spectrum's peak within a third of a semitone of ``pitch``, over its highest peak."""
    freq = 440 * 2 ** ((pitch - 69) / 12)
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    freqs = np.fft.rfftfreq(len(wave), 1 / rate)
    band = (freqs > freq * 0.985) & (freqs < freq * 1.015)
    return spectrum[band].max() / spectrum.max()


@pytest.mark.parametrize("renderer", ["soundfont", "sine"])
def test_c_major_chord_sounds_at_c_e_g(renderer):
    chord = C.Chorale("C major", [[(0, 4, 72)], [(0, 4, 67)], [(0, 4, 64)], [(0, 4, 48)]])
    wave, rate, name = M.render_audio(chord, renderer=renderer, tempo=120)
    assert renderer.split()[0][:4] in name
    middle = wave[int(0.3 * rate) : int(1.8 * rate)]
    assert np.abs(middle).max() > 0.1  # not silence
    for pitch in (72, 67, 64, 48):  # C5, G4, E4, C3
        assert _energy_near(middle, rate, pitch) > 0.05, (renderer, pitch)
    for pitch in (61, 63, 66, 70):  # C#, D#, F#, Bb: not in the chord
        assert _energy_near(middle, rate, pitch) < 0.03, (renderer, pitch)


def test_sheet_music_is_svg(two):
    svg = M.score_svg(M.encode_chorale(two[1])[:32])
    assert svg.lstrip().startswith("<svg") or "<svg" in svg[:500]
    assert "Soprano" in M.to_score(two[1]).parts[0].partName


def test_a_batch_of_openings_is_continued_at_once(tiny_gpt, two):
    openings = np.stack([M.encode_chorale(c)[:8] for c in two])
    grids = M.continue_chorale(tiny_gpt, openings, 2, mode=["minor", "major"], seed=0)
    assert grids.shape == (2, 10, 4)
    one = M.continue_chorale(tiny_gpt, openings[1], 2, mode="major", seed=0)
    assert np.array_equal(grids[:, :8], openings) and one.shape == (10, 4)
    with pytest.raises(ValueError, match="one mode per opening"):
        M.continue_chorale(tiny_gpt, openings, 2, mode=["minor"])


def test_the_window_starts_at_a_step_once_it_slides(tiny_gpt, eager_sampler):
    starts = []

    class Spy:
        vocab_size, context_length = tiny_gpt.vocab_size, tiny_gpt.context_length

        def __call__(self, ids, training=None):
            starts.append(np.shape(ids)[1])
            return tiny_gpt(ids)

    M.continue_chorale(Spy(), np.full((5, 4), M.HOLD), 3, seed=0)  # 24 tokens > 16
    total = 4 + 20 + np.arange(12)  # tokens before each draw
    windows = np.minimum(total, 16)
    windows = np.where(total > 16, 16 - (16 - total) % 4, windows)
    assert starts == windows.tolist()
    assert all((t - w) % 4 == 0 for t, w in zip(total, starts))
