"""Sound and moving pictures in a notebook, with a static figure where no front end runs.

The chapters on diffusion (filmstrips of the denoising steps), music and video use this
module to let a learner hear a waveform or watch a clip:

* :func:`wav_bytes` turns a NumPy waveform into a 16-bit PCM WAV file in memory (standard
  :mod:`wave` module, no extra packages);
* :func:`audio_player` plays it (``IPython.display.Audio``, embedded: no network, no file);
* :func:`animation_player` plays frames as a JavaScript player (matplotlib's
  ``to_jshtml``: no ffmpeg, and its buttons made to work offline);
* :func:`spectrum_peak` says which frequency dominates a waveform, to check what is heard;
* :func:`analyze_audio` measures music with librosa: tempo, beats, MFCCs and chroma.

What they expect: a waveform is a 1-D float array (mono) or ``(n, 2)`` (stereo, channels
last), values in [-1, 1] (louder is refused unless ``normalize=True``), with a positive
integer sample rate in Hz. Frames are ``(t, h, w)``, ``(t, h, w, 1)`` or ``(t, h, w, 3)``,
or a batch of videos ``(n, t, h, w[, c])``.

The players follow :func:`course_lib.widgets.display_mode`: with a live front end
(``"live"``) they return something that plays; elsewhere (``"static"``: a test run,
``nbconvert``, a notebook viewer) they return a matplotlib ``Figure`` that shows the same
thing still, so a CI run shows something too. ``$COURSE_WIDGETS`` overrides the guess.
"""

from __future__ import annotations

import html
import io
import math
import re
import wave

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, Audio
from matplotlib.animation import FuncAnimation

from course_lib import viz
from course_lib.conventions import as_number, as_positive_int, value_range_pair
from course_lib.widgets import LIVE, STATIC, display_mode

_MODES = ("auto", LIVE, STATIC)
_FILMSTRIP_FRAMES = 8  # how many frames the static filmstrip shows at most
# matplotlib's player draws its buttons with Font Awesome icons fetched from a CDN, which
# leaves them blank offline; these characters need no network.
_BUTTON_GLYPHS = {
    "fa fa-minus": "&minus;",
    "fa fa-fast-backward": "&#x23EE;",
    "fa fa-step-backward": "&#x25C0;|",
    "fa fa-play fa-flip-horizontal": "&#x25C0;",
    "fa fa-pause": "&#x23F8;",
    "fa fa-play": "&#x25B6;",
    "fa fa-step-forward": "|&#x25B6;",
    "fa fa-fast-forward": "&#x23ED;",
    "fa fa-plus": "+",
}


# -- checking what a learner passes ----------------------------------------------------------
def _real_array(values, name: str) -> np.ndarray:
    """``values`` as a NumPy array of real numbers (tensors welcome), or a TypeError."""
    if hasattr(values, "numpy"):
        values = values.numpy()
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a NumPy array of numbers; got a {type(values).__name__}")
    try:
        arr = np.asarray(values)
    except ValueError as err:  # ragged nested lists
        raise TypeError(f"{name} must be a NumPy array of numbers: {err}") from None
    real = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    if not (real or arr.dtype == bool):
        raise TypeError(f"{name} must be a NumPy array of real numbers; got dtype {arr.dtype}")
    return arr


def _mode(mode) -> str:
    """``"live"`` or ``"static"`` for a ``mode`` of ``"auto"``, ``"live"`` or ``"static"``."""
    if mode not in _MODES:
        raise ValueError(f"mode must be 'auto', 'live' or 'static'; got {mode!r}")
    return display_mode() if mode == "auto" else mode


def _waveform(waveform, sample_rate) -> tuple[np.ndarray, int]:
    """Validate a waveform and its rate; return it as float64 (n,) or (n, 2), and the rate."""
    sample_rate = as_positive_int(sample_rate, "sample_rate (samples per second)")
    arr = _real_array(waveform, "waveform")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if not (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 2)):
        hint = ""
        if arr.ndim == 2 and arr.shape[0] in (1, 2):
            hint = " (channels go last: pass waveform.T)"
        raise ValueError(
            f"waveform must have shape (n,) for mono or (n, 2) for stereo; got {arr.shape}{hint}"
        )
    if len(arr) == 0:
        raise ValueError("waveform is empty: expected at least one sample")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("waveform contains NaN or infinity: expected finite values in [-1, 1]")
    return arr, sample_rate


def _checked_peak(arr: np.ndarray, normalize: bool) -> np.ndarray:
    """Refuse a waveform louder than 1, or (``normalize``) rescale it to a peak of 0.99."""
    peak = float(np.max(np.abs(arr)))
    if normalize:
        return arr * (0.99 / peak) if peak > 0 else arr
    if peak > 1.0:
        raise ValueError(
            f"waveform values must lie in [-1, 1]; the loudest is {peak:.3g} "
            "(divide by its peak, or pass normalize=True)"
        )
    return arr


# -- sound ------------------------------------------------------------------------------------
def wav_bytes(waveform, sample_rate: int, *, normalize: bool = False) -> bytes:
    """A waveform as the bytes of a 16-bit PCM WAV file (mono or stereo).

    Args:
        waveform: floats in [-1, 1], shape (n,) for mono or (n, 2) for stereo
            ((n, 1) is read as mono).
        sample_rate: samples per second, a positive int (e.g. 16000 or 44100).
        normalize: False (the default) refuses values beyond [-1, 1], since they would
            clip; True rescales the waveform so its loudest sample is 0.99.
    """
    arr, sample_rate = _waveform(waveform, sample_rate)
    arr = _checked_peak(arr, normalize)
    pcm = np.round(arr * 32767).astype("<i2")  # (n, 2) in C order interleaves L, R
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1 if arr.ndim == 1 else 2)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def spectrum_peak(waveform, sample_rate: int) -> float:
    """The frequency in Hz where the waveform's spectrum is strongest.

    Stereo is mixed to mono first. The constant offset (0 Hz) is ignored, since it is not
    heard; the peak is refined between FFT bins, so a short clip still gives a precise
    answer. A 440 Hz sine gives about 440.0. Values need not lie in [-1, 1].
    """
    arr, sample_rate = _waveform(waveform, sample_rate)
    mono = arr.mean(axis=1) if arr.ndim == 2 else arr
    if len(mono) < 2:
        raise ValueError("waveform needs at least 2 samples to have a spectrum")
    if np.ptp(mono) == 0:
        raise ValueError("waveform is silent (or constant): it has no frequency to find")
    magnitude = np.abs(np.fft.rfft((mono - mono.mean()) * np.hanning(len(mono))))
    magnitude[0] = 0.0
    k = int(np.argmax(magnitude))
    if not magnitude[k] > 0:  # e.g. 2 samples, which the window zeroes
        raise ValueError("waveform is too short to have a peak frequency")
    offset = 0.0
    if 0 < k < len(magnitude) - 1:  # fit a parabola through the log magnitudes around the peak
        a, b, c = np.log(magnitude[k - 1 : k + 2] + 1e-300)
        if a - 2 * b + c < 0:
            offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float((k + offset) * sample_rate / len(mono))


PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def analyze_audio(waveform, sample_rate: int, *, n_mfcc: int = 13, hop_length: int = 512):
    """Measure a piece of music with librosa: tempo, beats, MFCCs and chroma.

    Args:
        waveform: floats, shape (n,) or (n, 2) (mixed to mono), at least a second long.
        sample_rate: samples per second, a positive int.
        n_mfcc: how many MFCCs per frame (13 is the usual choice for speech and music).
        hop_length: samples between analysis frames.

    Returns a dict: ``tempo`` (beats per minute, librosa's estimate), ``beat_times``
    (seconds), ``mfcc`` (n_mfcc, frames), ``chroma`` (12, frames; rows C, C#, ... B, each
    frame's largest value 1), ``frame_seconds`` (one frame's length in seconds).

    librosa's beat tracker is compiled by numba on its first call in a fresh installation
    (55 s on the course's 2-core machine) and cached after that; ``./course setup`` makes
    that call.
    """
    import librosa  # optional at import time: only this function needs it

    arr, sample_rate = _waveform(waveform, sample_rate)
    n_mfcc = as_positive_int(n_mfcc, "n_mfcc (MFCCs per frame)")
    hop_length = as_positive_int(hop_length, "hop_length (samples between frames)")
    mono = (arr.mean(axis=1) if arr.ndim == 2 else arr).astype(np.float32)
    if len(mono) < sample_rate:
        raise ValueError(
            f"waveform must last at least a second to find a tempo; got {len(mono)} samples "
            f"at {sample_rate} Hz"
        )
    if np.ptp(mono) == 0:
        raise ValueError("waveform is silent (or constant): it has no beats or pitches")
    tempo, beats = librosa.beat.beat_track(y=mono, sr=sample_rate, hop_length=hop_length)
    return {
        "tempo": float(np.atleast_1d(tempo)[0]),
        "beat_times": librosa.frames_to_time(beats, sr=sample_rate, hop_length=hop_length),
        "mfcc": librosa.feature.mfcc(y=mono, sr=sample_rate, n_mfcc=n_mfcc, hop_length=hop_length),
        "chroma": librosa.feature.chroma_stft(y=mono, sr=sample_rate, hop_length=hop_length),
        "frame_seconds": hop_length / sample_rate,
    }


class _TitledAudio(Audio):
    """An ``IPython.display.Audio`` player with a caption above it."""

    def __init__(self, data: bytes, title: str):
        super().__init__(data=data)
        self.title = title

    def _repr_html_(self):
        return f"<div><b>{html.escape(self.title)}</b></div>" + super()._repr_html_()


def _spectrogram(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """Short-time Fourier magnitudes in dB (0 dB = the loudest), shape (freqs, times), and hop."""
    n_fft = int(min(1024, max(16, 2 ** math.floor(math.log2(max(len(mono) // 8, 1))))))
    hop = n_fft // 4
    padded = np.pad(mono, (0, max(0, n_fft - len(mono))))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    magnitude = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)).T
    db = 20 * np.log10(magnitude + 1e-10)
    return np.clip(db - db.max(), -80.0, 0.0), hop


def _audio_figure(arr: np.ndarray, sample_rate: int, title: str | None):
    """The static view of a sound: the waveform over time, and its spectrogram."""
    n = len(arr)
    duration = n / sample_rate
    fig, (wave_ax, spec_ax) = plt.subplots(2, 1, figsize=(8, 4.5), sharex=True)
    channels = [arr] if arr.ndim == 1 else [arr[:, 0], arr[:, 1]]
    names = ["mono"] if arr.ndim == 1 else ["left", "right"]
    for channel, name in zip(channels, names):
        if n > 20_000:  # draw the envelope: a line through every sample would be a solid block
            blocks = np.array_split(channel, 2000)
            t = np.linspace(0, duration, len(blocks))
            lows = [b.min() for b in blocks]
            highs = [b.max() for b in blocks]
            wave_ax.fill_between(t, lows, highs, alpha=0.6, label=name)
        else:
            wave_ax.plot(np.arange(n) / sample_rate, channel, linewidth=0.8, label=name)
    wave_ax.set_ylabel("amplitude")
    wave_ax.set_ylim(-1.05, 1.05)
    wave_ax.grid(alpha=0.3)
    if len(channels) > 1:
        wave_ax.legend(loc="upper right", fontsize=8)
    db, hop = _spectrogram(arr.mean(axis=1) if arr.ndim == 2 else arr, sample_rate)
    image = spec_ax.imshow(
        db,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0, max(duration, db.shape[1] * hop / sample_rate), 0, sample_rate / 2),
    )
    fig.colorbar(image, ax=[wave_ax, spec_ax], label="dB", fraction=0.04, pad=0.02)
    spec_ax.set_xlim(0, duration)
    spec_ax.set_xlabel("time (s)")
    spec_ax.set_ylabel("frequency (Hz)")
    kind = "stereo" if arr.ndim == 2 else "mono"
    wave_ax.set_title(title or f"{duration:.2f} s of {kind} sound at {sample_rate} Hz")
    return fig


def audio_player(
    waveform, sample_rate: int, *, mode: str = "auto", title: str | None = None, normalize=False
):
    """A player for a waveform, or a picture of it where no front end can play sound.

    Args:
        waveform: floats in [-1, 1], shape (n,) mono or (n, 2) stereo.
        sample_rate: samples per second, a positive int.
        mode: ``"auto"`` (see :func:`course_lib.widgets.display_mode`), ``"live"`` or
            ``"static"``.
        title: a caption shown above the player or figure.
        normalize: as in :func:`wav_bytes`: rescale to a peak of 0.99 instead of refusing
            values beyond [-1, 1].

    Returns an ``IPython.display.Audio`` with the WAV embedded (live), or a matplotlib
    ``Figure`` of the waveform and its spectrogram (static). Both modes check the same
    things, so what passes in a test run also plays in JupyterLab.
    """
    mode = _mode(mode)
    arr, sample_rate = _waveform(waveform, sample_rate)
    arr = _checked_peak(arr, normalize)
    if mode == STATIC:
        return _audio_figure(arr, sample_rate, title)
    data = wav_bytes(arr, sample_rate)
    return Audio(data=data) if title is None else _TitledAudio(data, str(title))


# -- moving pictures --------------------------------------------------------------------------
def _videos(frames) -> np.ndarray:
    """Validate frames; return them as a batch of videos (n, t, h, w) or (n, t, h, w, 3)."""
    arr = _real_array(frames, "frames").astype(np.float32)
    if arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] in (1, 3)):
        arr = arr[None]  # one video
    if arr.ndim == 5 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 4 or (arr.ndim == 5 and arr.shape[-1] == 3)):
        raise ValueError(
            "frames must have shape (t, h, w), (t, h, w, 1) or (t, h, w, 3), or a batch of "
            f"videos (n, t, h, w[, 1 or 3]); got {np.shape(frames)}"
        )
    if arr.size == 0:
        raise ValueError(f"frames is empty: expected at least one frame; got {np.shape(frames)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("frames contain NaN or infinity: expected finite pixel values")
    return arr


def _unit_videos(frames, value_range) -> np.ndarray:
    """The validated videos with pixels in [0, 1], one range for every frame of every video."""
    videos = _videos(frames)
    if not (isinstance(value_range, str) and value_range == "auto"):
        value_range = value_range_pair(value_range)
    return viz._to_unit_range(videos, value_range)


def _frame_label(title: str | None, index: int, count: int) -> str:
    """The caption above frame ``index`` of ``count`` in the player."""
    caption = f"frame {index} of {count}"
    return f"{title} · {caption}" if title else caption


def _animation_html(videos: np.ndarray, fps: float, scale: float, title: str | None) -> str:
    """The JavaScript player (matplotlib's ``to_jshtml``) for videos shown side by side."""
    n, t = videos.shape[:2]
    if n == 1:
        shown = videos[0]
    else:
        shown = np.stack([viz.tile_images(videos[:, i], n, value_range=(0, 1)) for i in range(t)])
    h, w = shown.shape[1:3]
    fig, ax = plt.subplots(figsize=(scale * w / h, scale + 0.4))
    image = ax.imshow(shown[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(_frame_label(title, 0, t))
    fig.tight_layout()

    def draw(i):
        """Show frame ``i`` (FuncAnimation calls this once per frame)."""
        image.set_data(shown[i])
        ax.set_title(_frame_label(title, i, t))
        return (image,)

    try:
        player = FuncAnimation(fig, draw, frames=t, interval=1000 / fps).to_jshtml(fps=fps)
    finally:
        plt.close(fig)  # the player shows the frames; the figure itself must not be drawn too
    player = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*">', "", player)
    return re.sub(
        r'<i class="(fa [^"]*)"></i>',
        lambda icon: _BUTTON_GLYPHS.get(icon.group(1), icon.group(0)),
        player,
    )


def _filmstrip(videos: np.ndarray, scale: float, title: str | None):
    """The static view: up to eight evenly spaced frames per video, one row per video."""
    n, t, h, w = videos.shape[:4]
    picks = np.unique(np.linspace(0, t - 1, min(t, _FILMSTRIP_FRAMES)).round().astype(int))
    width = scale * w / h
    fig, axes = plt.subplots(
        n,
        len(picks),
        figsize=(width * len(picks), scale * n + (0.5 if title else 0.2)),
        squeeze=False,
    )
    for row in range(n):
        for col, frame in enumerate(picks):
            ax = axes[row, col]
            ax.imshow(videos[row, frame], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"frame {frame}", fontsize=9)
        if n > 1:
            axes[row, 0].set_ylabel(f"video {row}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def animation_player(
    frames,
    *,
    fps: float = 8,
    value_range="auto",
    mode: str = "auto",
    scale: float = 2.0,
    title: str | None = None,
):
    """A player for a clip (or several side by side), or a filmstrip where none can play.

    Args:
        frames: (t, h, w), (t, h, w, 1) or (t, h, w, 3); or a batch of videos
            (n, t, h, w[, 1 or 3]), played side by side. A 4-D array whose last axis is 1
            or 3 is read as one video with channels.
        fps: frames per second, a positive number.
        value_range: the pixels' range, e.g. (0, 1), (-1, 1) or (0, 255); "auto" guesses
            (as :func:`course_lib.viz.tile_images` does), once for the whole clip.
        mode: ``"auto"`` (see :func:`course_lib.widgets.display_mode`), ``"live"`` or
            ``"static"``.
        scale: inches of height per video.
        title: a caption above the player or filmstrip.

    Returns ``IPython.display.HTML`` holding matplotlib's JavaScript player (live; no
    ffmpeg needed), or a matplotlib ``Figure``: a filmstrip of up to eight evenly spaced
    frames with their numbers, one row per video, one axes per frame shown (static).
    """
    mode = _mode(mode)
    fps = as_number(fps, "fps (frames per second)", low=0, low_open=True)
    scale = as_number(scale, "scale (inches per video)", low=0, low_open=True)
    videos = _unit_videos(frames, value_range)
    if mode == STATIC:
        return _filmstrip(videos, scale, title)
    return HTML(_animation_html(videos, fps, scale, title))


if __name__ == "__main__":  # python -m course_lib.media --warm-up: compile librosa's numba code
    import sys

    if sys.argv[1:] != ["--warm-up"]:
        sys.exit("usage: python -m course_lib.media --warm-up")
    clicks = np.zeros(22050 * 4, np.float32)
    clicks[::11025] = 1.0  # a click every half second: 120 beats per minute
    print(
        f"librosa is ready: a click track measures {analyze_audio(clicks, 22050)['tempo']:.0f} bpm"
    )
