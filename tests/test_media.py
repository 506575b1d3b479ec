"""Tests of course_lib.media: WAV bytes round-trip, players in both modes, spectrum peak,
and clear errors for a learner's mistakes."""

import io
import re
import wave

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.display import HTML, Audio  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import media  # noqa: E402

RATE = 8000


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test drew, so they do not pile up."""
    yield
    plt.close("all")


def sine(freq=440.0, seconds=0.5, rate=RATE, amplitude=0.5):
    """A sine tone of ``freq`` Hz."""
    t = np.arange(int(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def read_wav(data: bytes):
    """(samples as floats (n,) or (n, channels), rate, channels, sample width) of WAV bytes."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        channels, rate, width = wav.getnchannels(), wav.getframerate(), wav.getsampwidth()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2") / 32767
    return (pcm if channels == 1 else pcm.reshape(-1, channels)), rate, channels, width


# -- wav_bytes ----------------------------------------------------------------------------------
def test_wav_bytes_mono_round_trip():
    x = np.random.default_rng(0).uniform(-1, 1, 1234)
    x[:2] = [-1.0, 1.0]  # the extremes survive too
    samples, rate, channels, width = read_wav(media.wav_bytes(x, RATE))
    assert (rate, channels, width) == (RATE, 1, 2)
    assert samples.shape == x.shape
    np.testing.assert_allclose(samples, x, atol=1 / 32767)


def test_wav_bytes_stereo_keeps_left_and_right_apart():
    left, right = sine(440), sine(660, amplitude=0.25)
    samples, rate, channels, _ = read_wav(media.wav_bytes(np.stack([left, right], 1), 22050))
    assert (rate, channels) == (22050, 2)
    np.testing.assert_allclose(samples[:, 0], left, atol=1 / 32767)
    np.testing.assert_allclose(samples[:, 1], right, atol=1 / 32767)


def test_wav_bytes_reads_n_by_1_and_float32_as_mono():
    x = sine().astype(np.float32)[:, None]
    samples, _, channels, _ = read_wav(media.wav_bytes(x, RATE))
    assert channels == 1
    np.testing.assert_allclose(samples, x[:, 0], atol=1 / 32767)


def test_wav_bytes_refuses_clipping_unless_normalize():
    loud = sine(amplitude=3.0)
    with pytest.raises(ValueError, match=r"\[-1, 1\].*normalize=True"):
        media.wav_bytes(loud, RATE)
    samples, *_ = read_wav(media.wav_bytes(loud, RATE, normalize=True))
    assert np.max(np.abs(samples)) == pytest.approx(0.99, abs=1 / 32767)
    np.testing.assert_allclose(samples, loud * 0.99 / 3.0, atol=1 / 32767)


@pytest.mark.parametrize(
    ("waveform", "rate", "error", "expected"),
    [
        (np.zeros((10, 10)), RATE, ValueError, r"shape \(n,\) for mono or \(n, 2\)"),
        (np.zeros((2, 100)), RATE, ValueError, r"channels go last"),
        (np.zeros(()), RATE, ValueError, r"shape \(n,\)"),
        (np.array([0.1, np.nan]), RATE, ValueError, "NaN or infinity"),
        (np.array([0.1, np.inf]), RATE, ValueError, "NaN or infinity"),
        (np.zeros(0), RATE, ValueError, "empty"),
        (np.array([0.1, 1.5]), RATE, ValueError, r"in \[-1, 1\]"),
        ("a waveform", RATE, TypeError, "NumPy array of numbers"),
        (np.array(["a", "b"]), RATE, TypeError, "real numbers"),
        (np.zeros(3, complex), RATE, TypeError, "real numbers"),
        (sine(), -8000, ValueError, r"sample_rate \(samples per second\) must be a positive int"),
        (sine(), 0, ValueError, "sample_rate .* must be a positive int"),
        (sine(), 8000.5, ValueError, "sample_rate .* must be a positive int"),
        (sine(), True, ValueError, "sample_rate .* must be a positive int"),
        (sine(), "8000", ValueError, "sample_rate .* must be a positive int"),
    ],
)
def test_wav_bytes_bad_input_says_what_was_expected(waveform, rate, error, expected):
    with pytest.raises(error, match=expected):
        media.wav_bytes(waveform, rate)


# -- spectrum_peak ------------------------------------------------------------------------------
@pytest.mark.parametrize(("freq", "seconds"), [(440.0, 1.0), (440.0, 0.1), (1234.5, 0.25)])
def test_spectrum_peak_finds_the_sine(freq, seconds):
    assert media.spectrum_peak(sine(freq, seconds), RATE) == pytest.approx(freq, abs=2.0)


def test_spectrum_peak_ignores_offset_and_quieter_tones_and_mixes_stereo():
    x = 0.3 + sine(440) + sine(1000, amplitude=0.1)
    assert media.spectrum_peak(x, RATE) == pytest.approx(440, abs=2)
    stereo = np.stack([sine(300), sine(300)], 1)
    assert media.spectrum_peak(stereo, RATE) == pytest.approx(300, abs=2)


def test_spectrum_peak_of_silence_is_an_error():
    with pytest.raises(ValueError, match="silent"):
        media.spectrum_peak(np.full(100, 0.2), RATE)
    with pytest.raises(ValueError, match="silent"):
        media.spectrum_peak(np.zeros(100), RATE)
    with pytest.raises(ValueError, match="at least 2 samples"):
        media.spectrum_peak(np.array([0.5]), RATE)
    with pytest.raises(ValueError, match="too short"):
        media.spectrum_peak(np.array([0.5, -0.5]), RATE)
    with pytest.raises(ValueError, match="NaN"):
        media.spectrum_peak(np.array([0.5, np.nan, 0.1]), RATE)


# -- audio_player -------------------------------------------------------------------------------
def test_audio_player_live_embeds_the_wav():
    x = sine()
    player = media.audio_player(x, RATE, mode="live")
    assert isinstance(player, Audio)
    assert player.data == media.wav_bytes(x, RATE)
    assert "data:audio/wav;base64," in player._repr_html_()


def test_audio_player_live_title_is_shown_and_escaped():
    player = media.audio_player(sine(), RATE, mode="live", title="A <440 Hz> tone")
    assert isinstance(player, Audio)
    page = player._repr_html_()
    assert "A &lt;440 Hz&gt; tone" in page
    assert page.index("A &lt;440") < page.index("<audio")


def test_audio_player_static_draws_waveform_and_spectrogram():
    fig = media.audio_player(sine(seconds=1.0), RATE, mode="static", title="a tone")
    assert isinstance(fig, Figure)
    wave_ax, spec_ax = fig.axes[:2]
    assert wave_ax.get_title() == "a tone"
    assert spec_ax.get_xlabel() == "time (s)"
    assert spec_ax.get_xlim() == pytest.approx((0, 1.0))
    assert spec_ax.get_ylim() == pytest.approx((0, RATE / 2))
    (spectrogram,) = spec_ax.get_images()
    db = spectrogram.get_array()
    row = np.argmax(db.mean(axis=1))  # the loudest frequency row is the tone's
    assert row / (db.shape[0] - 1) * RATE / 2 == pytest.approx(440, abs=RATE / db.shape[0])


def test_audio_player_static_handles_long_stereo_and_silence():
    stereo = np.stack([sine(seconds=4.0), np.zeros(4 * RATE)], 1)
    fig = media.audio_player(stereo, RATE, mode="static")
    assert "stereo" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["left", "right"]
    fig = media.audio_player(np.zeros(50), RATE, mode="static")  # short and silent
    assert np.all(np.isfinite(fig.axes[1].get_images()[0].get_array()))


def test_audio_player_auto_is_static_under_pytest(monkeypatch):
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    assert isinstance(media.audio_player(sine(), RATE), Figure)
    monkeypatch.setenv("COURSE_WIDGETS", "live")
    assert isinstance(media.audio_player(sine(), RATE), Audio)


def test_audio_player_checks_like_wav_bytes_in_both_modes():
    for mode in ("live", "static"):
        with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
            media.audio_player(sine(amplitude=2.0), RATE, mode=mode)
        with pytest.raises(ValueError, match="sample_rate"):
            media.audio_player(sine(), -1, mode=mode)
    assert isinstance(
        media.audio_player(sine(amplitude=2.0), RATE, mode="live", normalize=True), Audio
    )
    with pytest.raises(ValueError, match="mode must be 'auto', 'live' or 'static'"):
        media.audio_player(sine(), RATE, mode="widget")


# -- animation_player ---------------------------------------------------------------------------
def clip(t=12, h=10, w=14, channels=None, batch=None):
    """A bright square moving left to right, in [0, 1]."""
    frames = np.zeros((t, h, w))
    for i in range(t):
        frames[i, 2:5, i % (w - 3) : i % (w - 3) + 3] = 1.0
    if channels:
        frames = np.repeat(frames[..., None], channels, axis=-1)
    if batch:
        frames = np.stack([frames] * batch)
    return frames


def test_animation_player_live_returns_an_offline_javascript_player():
    n_open = len(plt.get_fignums())
    player = media.animation_player(clip(t=5), fps=10, mode="live", title="moving square")
    assert isinstance(player, HTML)
    page = player.data
    assert "<script" in page and "anim-slider" in page
    assert page.count('<img id="_anim_img') == 1
    assert page.count("data:image/png;base64,") == 5  # every frame embedded
    assert "https://" not in page and 'class="fa' not in page  # no CDN icons
    assert page.count("<button") == 9
    assert len(plt.get_fignums()) == n_open  # the figure was closed, not drawn again


@pytest.mark.parametrize(
    ("frames", "n_videos"),
    [
        (clip(), 1),
        (clip(channels=1), 1),
        (clip(channels=3), 1),
        (clip(batch=3), 3),
        (clip(channels=1, batch=2), 2),
        (clip(channels=3, batch=2), 2),
    ],
    ids=["t-h-w", "t-h-w-1", "t-h-w-3", "n-t-h-w", "n-t-h-w-1", "n-t-h-w-3"],
)
def test_animation_player_accepts_every_documented_shape(frames, n_videos):
    player = media.animation_player(frames, mode="live")
    assert isinstance(player, HTML) and player.data.count("data:image/png;base64,") == 12
    fig = media.animation_player(frames, mode="static")
    assert len(fig.axes) == n_videos * 8  # 8 of the 12 frames, one row per video


def test_filmstrip_shows_evenly_spaced_numbered_frames():
    fig = media.animation_player(clip(t=15), mode="static", title="filmstrip")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"frame {i}" for i in (0, 2, 4, 6, 8, 10, 12, 14)]
    assert fig._suptitle.get_text() == "filmstrip"
    # each axes shows its own frame: the square has moved between frame 0 and frame 2
    first, second = (ax.get_images()[0].get_array() for ax in fig.axes[:2])
    np.testing.assert_array_equal(first, clip(t=15)[0])
    assert not np.array_equal(first, second)


def test_filmstrip_of_a_short_clip_shows_every_frame_and_labels_videos():
    fig = media.animation_player(clip(t=3, batch=2), mode="static")
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["frame 0", "frame 1", "frame 2"]
    assert [fig.axes[0].get_ylabel(), fig.axes[3].get_ylabel()] == ["video 0", "video 1"]
    assert len(media.animation_player(clip(t=1), mode="static").axes) == 1


@pytest.mark.parametrize(
    ("frames", "value_range", "expected"),
    [
        (clip() * 2 - 1, (-1, 1), clip()),
        (clip() * 255, (0, 255), clip()),
        (clip() * 255, "auto", clip()),
        (clip() * 0.5, (0, 1), clip() * 0.5),
    ],
)
def test_filmstrip_rescales_pixels_to_unit_range(frames, value_range, expected):
    fig = media.animation_player(frames, value_range=value_range, mode="static")
    shown = fig.axes[-1].get_images()[0].get_array()
    np.testing.assert_allclose(shown, expected[-1], atol=1e-6)


@pytest.mark.parametrize(
    ("frames", "kwargs", "error", "expected"),
    [
        (np.zeros((5, 8)), {}, ValueError, r"\(t, h, w\), \(t, h, w, 1\) or \(t, h, w, 3\)"),
        (np.zeros((2, 5, 8, 8, 2)), {}, ValueError, r"batch of videos \(n, t, h, w"),
        (np.zeros((0, 8, 8)), {}, ValueError, "at least one frame"),
        (np.full((3, 4, 4), np.nan), {}, ValueError, "NaN or infinity"),
        ("frames", {}, TypeError, "NumPy array of numbers"),
        ([[[1, 2], [3]]], {}, TypeError, "NumPy array of numbers"),
        (clip(), {"fps": 0}, ValueError, r"fps \(frames per second\) must be in \(0, "),
        (clip(), {"fps": -5}, ValueError, r"fps .* must be in \(0, "),
        (clip(), {"fps": float("nan")}, ValueError, "fps .* must be a finite number"),
        (clip(), {"fps": "8"}, ValueError, "fps .* must be a finite number"),
        (clip(), {"scale": 0}, ValueError, r"scale .* must be in \(0, "),
        (clip(), {"value_range": (1, 0)}, ValueError, "low < high"),
        (clip(), {"value_range": "0-255"}, ValueError, r"pair \(low, high\)"),
        (clip(), {"mode": "video"}, ValueError, "mode must be 'auto', 'live' or 'static'"),
    ],
)
def test_animation_player_bad_input_says_what_was_expected(frames, kwargs, error, expected):
    for mode in ("live", "static"):
        with pytest.raises(error, match=expected):
            media.animation_player(frames, **{"mode": mode, **kwargs})


# -- analyze_audio: librosa's measurements on sounds whose answer is known ---------------------
def _clicks(bpm: float, seconds: float = 8.0, rate: int = 22050) -> np.ndarray:
    """A short decaying tone at every beat of ``bpm``."""
    out = np.zeros(int(seconds * rate), np.float32)
    tone = np.sin(2 * np.pi * 880 * np.arange(2000) / rate) * np.exp(-np.arange(2000) / 300)
    for start in np.arange(0, seconds - 0.1, 60.0 / bpm):
        i = int(start * rate)
        out[i : i + len(tone)] += tone[: len(out) - i]
    return out


@pytest.mark.parametrize("bpm", [90, 120, 150])
def test_analyze_audio_hears_the_tempo_of_a_click_track(bpm):
    found = media.analyze_audio(_clicks(bpm), 22050)
    assert abs(found["tempo"] - bpm) / bpm < 0.05
    gaps = np.diff(found["beat_times"])
    assert len(gaps) >= 8 and abs(np.median(gaps) - 60.0 / bpm) < 0.03


@pytest.mark.parametrize(
    "pitch_class, name, freq", [(9, "A", 440.0), (0, "C", 261.63), (7, "G", 392.0)]
)
def test_analyze_audio_chroma_peaks_at_the_played_pitch_class(pitch_class, name, freq):
    rate = 22050
    t = np.arange(3 * rate) / rate
    found = media.analyze_audio(0.5 * np.sin(2 * np.pi * freq * t), rate, n_mfcc=20)
    chroma = found["chroma"]
    assert chroma.shape[0] == 12 and found["mfcc"].shape[0] == 20
    assert chroma.shape[1] == found["mfcc"].shape[1]
    assert int(np.argmax(chroma.mean(axis=1))) == pitch_class
    assert media.PITCH_CLASSES[pitch_class] == name  # the rows' names match the chroma rows
    assert found["frame_seconds"] == pytest.approx(512 / rate)


def test_analyze_audio_mixes_stereo_to_mono():
    mono = _clicks(120)
    left_only = np.stack([mono, np.zeros_like(mono)], axis=1)
    assert media.analyze_audio(left_only, 22050)["tempo"] == pytest.approx(
        media.analyze_audio(mono / 2, 22050)["tempo"]
    )


@pytest.mark.parametrize(
    "waveform, kwargs, expected",
    [
        (np.zeros(22050), {}, "silent"),
        (np.ones(1000), {}, "at least a second"),
        (np.ones((3, 22050)), {}, "shape (n,)"),
        (_clicks(120, 2.0), {"n_mfcc": 0}, "n_mfcc"),
        (_clicks(120, 2.0), {"hop_length": -5}, "hop_length"),
    ],
)
def test_analyze_audio_bad_input_says_what_was_expected(waveform, kwargs, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        media.analyze_audio(waveform, 22050, **kwargs)
