"""Checks for chapter 10's exercises: the gallery's layout, the super-resolution stage for
colour pictures, and the artwork's metadata record, each compared with
``course_lib.projects``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np

from course_lib import grading, projects

exercise = grading.Exercises("10_projects")


def _diagnosis(got, candidates, otherwise: str) -> str:
    """The explanation of the first known wrong answer ``got`` matches, else ``otherwise``."""
    for value, why in candidates:
        if np.shape(value) == np.shape(got) and np.allclose(got, value, atol=1e-4):
            return why
    return otherwise


# -- exercise 1 ------------------------------------------------------------------------------


def _gallery_cases():
    rng = np.random.default_rng(10)
    grey = {
        "GAN": rng.uniform(-1, 1, (3, 4, 5, 1)).astype(np.float32),
        "VAE": rng.uniform(0, 1, (3, 4, 5, 1)).astype(np.float32),
        "diffusion": rng.uniform(-1, 1, (3, 4, 5, 1)).astype(np.float32),
    }
    grey["diffusion"][0, 0, 0, 0] = 1.03  # samplers overshoot their range a little
    grey_ranges = {"GAN": (-1, 1), "VAE": (0, 1), "diffusion": (-1, 1)}
    colour = {
        "first": rng.uniform(0, 1, (2, 3, 3, 3)).astype(np.float32),
        "second": rng.uniform(-1, 1, (2, 3, 3, 3)).astype(np.float32),
    }
    colour_ranges = {"first": (0, 1), "second": (-1, 1)}
    return [("three grey models", grey, grey_ranges), ("two colour models", colour, colour_ranges)]


def _unit(batch, value_range):
    low, high = value_range
    return np.clip((batch - low) / (high - low), 0, 1)


def _rows(rows, h, w, c, n):
    tile = np.stack(rows).transpose(0, 2, 1, 3, 4).reshape(len(rows) * h, n * w, c)
    return tile[..., 0] if c == 1 else tile


@exercise(
    points=2,
    forbid=[projects.gallery_tile],
    see="The gallery, one row per model",
    hint="Each model's batch first goes from its own value range to [0, 1] (and stays "
    "inside it, even where a sample overshoots). Then the models are stacked top to bottom "
    "in the dict's order, each model's pictures side by side; a grey tile has no channel axis.",
)
def gallery_tile(fn):
    """``fn(samples, value_ranges)`` must lay out a gallery: a row per model."""
    for case, samples, ranges in _gallery_cases():
        n, h, w, c = next(iter(samples.values())).shape
        got = grading.expect_array(
            fn({k: v.copy() for k, v in samples.items()}, dict(ranges)),
            what=f"your tile ({case})",
        )
        rows = [_unit(samples[k], ranges[k]) for k in samples]
        want = _rows(rows, h, w, c, n)
        if got.shape == want.shape and np.allclose(got, want, atol=1e-5):
            continue
        raw = [samples[k] for k in samples]
        candidates = [
            (_rows(raw, h, w, c, n), "the pictures are in their models' own ranges: bring each "
             "to [0, 1] first."),
            (_rows([np.clip(b, 0, 1) for b in raw], h, w, c, n), "the pictures are in their "
             "models' own ranges: bring each to [0, 1] first, then clip."),
            (_rows([(b - ranges[k][0]) / (ranges[k][1] - ranges[k][0]) for k, b in samples.items()],
                   h, w, c, n), "one pixel lies outside [0, 1]: clip after rescaling."),
            (_rows(rows[::-1], h, w, c, n), "the models are in reverse order."),
            (_rows([(b - b.min()) / (b.max() - b.min()) for b in raw], h, w, c, n),
             "each row is stretched to its own darkest and brightest pixel: use the model's "
             "value range, so a dark sample stays dark."),
            (np.concatenate([np.concatenate(list(r), axis=0) for r in rows], axis=1).squeeze(-1)
             if c == 1 else None, "each model is a column here: a model's pictures go side by "
             "side in a row."),
        ]  # fmt: skip
        candidates = [(v, why) for v, why in candidates if v is not None]
        if got.shape != want.shape:
            extra = " (a grey tile drops the channel axis)" if got.shape == (*want.shape, 1) else ""
            if got.shape == (*want.shape[:2][::-1],) or got.shape[:2] == want.shape[:2][::-1]:
                extra = " (a row per model, a column per sample)"
            raise grading.Mismatch(
                f"{case}: your tile has shape {got.shape}; expected {want.shape}{extra}."
            )
        why = _diagnosis(got, candidates, "some pixels differ from the expected tile.")
        raise grading.Mismatch(f"{case}: {why}")
    library = projects.gallery_tile(samples, ranges)
    grading.expect_close(got, library, atol=1e-5, what="your tile against the library's")


# -- exercise 2 ------------------------------------------------------------------------------


class ContrastUpscaler:
    """A stand-in for chapter 05's network: each side ``scale`` times bigger (nearest
    pixel), then a contrast curve ``u**3`` that only makes sense on [-1, 1] pictures. It
    keeps what it was given, to say what went wrong."""

    def __init__(self, scale: int = 2):
        self.scale, self.inputs = scale, []

    def upscale(self, images):
        images = np.asarray(images, np.float32)
        self.inputs.append(images.copy())
        if images.ndim != 4 or images.shape[-1] != 1:
            raise ValueError(f"this network takes grey images (n, h, w, 1); got {images.shape}")
        big = np.repeat(np.repeat(images, self.scale, axis=1), self.scale, axis=2)
        return np.clip(big, -1, 1) ** 3


def _colour_pictures(seed: int, n: int = 2, size: int = 6) -> np.ndarray:
    """Smooth colour pictures in [0, 1] (bicubic barely overshoots on them)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    out = []
    for _ in range(n):
        a, b, c = rng.uniform(0.2, 0.8, (3, 3))
        out.append(np.stack([a[k] + (b[k] - a[k]) * xx * yy + 0.1 * (c[k] - 0.5) * xx
                             for k in range(3)], -1))  # fmt: skip
    return np.clip(np.array(out), 0, 1).astype(np.float32)


def _upscale_reference(images, scale, luma_fn, chroma_fn):
    ycc = projects.rgb_to_ycbcr(images)
    luma, chroma = luma_fn(ycc[..., :1]), chroma_fn(ycc[..., 1:], scale)
    return projects.ycbcr_to_rgb(np.clip(np.concatenate([luma, chroma], -1), 0, 1))


@exercise(
    points=3,
    forbid=[projects.upscale_rgb],
    see="Colour through grey networks",
    hint="The network learned grey pictures in [-1, 1]: give it only the luminance (Y), "
    "moved from [0, 1] to [-1, 1], and bring its answer back to [0, 1]. The two colour "
    "channels are enlarged by bicubic interpolation. Then turn YCbCr back into RGB.",
    kind="generation loop",
)
def upscale_rgb(fn):
    """``fn(upscaler, images)`` must super-resolve RGB pictures through the luminance."""
    from course_lib.models import restoration

    def bicubic(x, s):
        return projects.to_unit(
            restoration.bicubic_upscale(projects.from_unit(x, (-1, 1)), s), (-1, 1)
        )

    for seed, scale in ((0, 2), (1, 3)):
        images = _colour_pictures(seed)
        upscaler = ContrastUpscaler(scale)
        got = grading.expect_array(
            fn(upscaler, images.copy()), what=f"your pictures (scale {scale})"
        )
        net = ContrastUpscaler(scale)
        want = _upscale_reference(
            images, scale, lambda y, net=net: (net.upscale(2 * y - 1) + 1) / 2, bicubic
        )
        n, h, w, _ = images.shape
        if got.shape != want.shape:
            raise grading.Mismatch(
                f"pictures {images.shape} at scale {scale} should come back as {want.shape}; "
                f"yours have shape {got.shape}."
            )
        if np.allclose(got, want, atol=2e-3):
            continue
        if not upscaler.inputs:
            raise grading.Mismatch(
                f"scale {scale}: the network was never called: its job is the luminance."
            )
        if any(x.shape[-1] != 1 for x in upscaler.inputs) or len(upscaler.inputs) > 1:
            raise grading.Mismatch(
                f"scale {scale}: the network was called {len(upscaler.inputs)} time(s); it "
                "should see the luminance once, one channel."
            )
        seen = upscaler.inputs[0]
        if seen.min() >= 0 and projects.rgb_to_ycbcr(images)[..., 0].min() < 0.45:
            raise grading.Mismatch(
                f"scale {scale}: the network was given pictures in [0, 1]; it learned [-1, 1]."
            )
        candidates = [
            (_upscale_reference(images, scale, lambda y, net=net: net.upscale(2 * y - 1), bicubic),
             "the network's answer is in [-1, 1]: bring it back to [0, 1] before turning to RGB."),
            (_upscale_reference(images, scale, lambda y, s=scale: bicubic(y, s), bicubic),
             "the luminance was enlarged by bicubic interpolation: it is the network's job."),
            (restoration.bicubic_upscale(images, scale), "that is plain bicubic: the network is left out."),
        ]  # fmt: skip
        why = _diagnosis(
            got, candidates, "the colours or the brightness differ from the expected pictures."
        )
        raise grading.Mismatch(f"scale {scale}: {why}")
    library = projects.upscale_rgb(ContrastUpscaler(scale), images)
    grading.expect_close(got, library, atol=2e-3, what="your pictures against the library's")


# -- exercise 3 ------------------------------------------------------------------------------

_STEPS = [
    ("generate", {"model": "GAN", "class": "Dress"}),
    ("style", {"style": 0}),
    ("style", {"style": np.int64(2)}),
    ("super-resolve", {"scale": 2}),
]


def _metadata_cases():
    paris = timezone(timedelta(hours=1))
    return [
        ("a dress for a summer evening", 3, _STEPS, 7, datetime(2026, 11, 29, 20, 5, 9, tzinfo=timezone.utc)),
        ("a red boot", np.int64(9), _STEPS[:2], np.int64(11), datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=paris)),
        ("a spaceship", None, [], 0, datetime(2025, 6, 30, 23, 59, 59, tzinfo=timezone.utc)),
    ]  # fmt: skip


@exercise(
    points=2,
    forbid=[projects.artwork_metadata],
    see="The metadata record",
    hint="The record must survive json.dumps and json.loads unchanged: plain ints, not "
    "NumPy ones; the date as ISO 8601 with the 'T' and its time-zone offset, to the second; "
    "the steps as a list in the order they ran (a step may run twice); a prompt no class "
    "matched keeps index and name None.",
)
def artwork_metadata(fn):
    """``fn(prompt, label, steps, seed, created)`` must return the artwork's record."""
    for prompt, label, steps, seed, created in _metadata_cases():
        case = f"prompt {prompt!r}"
        got = fn(prompt, label, [(n, dict(s)) for n, s in steps], seed, created)
        if not isinstance(got, dict):
            raise grading.Mismatch(
                f"{case}: the record should be a dict; got {type(got).__name__}."
            )
        try:
            text = json.dumps(got)
        except TypeError as err:
            raise grading.Mismatch(
                f"{case}: the record cannot be written as JSON ({err})."
            ) from None
        back = json.loads(text)
        want = json.loads(
            json.dumps(projects.artwork_metadata(prompt, label, steps, seed, created))
        )
        if back == want:
            continue
        for key in want:
            if key not in back:
                raise grading.Mismatch(f"{case}: the record has no {key!r} entry.")
        if back["created"] != want["created"]:
            raise grading.Mismatch(
                f"{case}: the date is {back['created']!r}; expected {want['created']!r} "
                "(ISO 8601, with 'T', to the second, with the offset)."
            )
        if back["steps"] != want["steps"]:
            raise grading.Mismatch(
                f"{case}: the steps are {back['steps']!r}; expected a list of "
                f"{{'name', 'settings'}} in the order they ran: {want['steps']!r}."
            )
        for key in want:
            if back[key] != want[key]:
                raise grading.Mismatch(f"{case}: {key!r} is {back[key]!r}; expected {want[key]!r}.")
        raise grading.Mismatch(
            f"{case}: the record has entries it should not: {sorted(set(back) - set(want))}."
        )
