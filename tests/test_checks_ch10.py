"""Tests of chapter 10's exercise checks (course_lib/checks/ch10.py): the tables that
tests/test_check_tables.py runs (the reference answers, copies of
solutions/10_projects.ipynb's, pass; answers that call the library fail; the likely wrong
answers fail), and this chapter's own tests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_lib import grading, projects
from course_lib.checks import ch10
from course_lib.models import restoration

STEM = "10_projects"
POINTS = {"gallery_tile": 2, "upscale_rgb": 3, "artwork_metadata": 2}


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


def run(name, fn) -> grading.Verdict:
    return getattr(ch10, name)(fn)


# -- the reference answers, copied from the solutions notebook -------------------------------


def gallery_tile(samples, value_ranges):
    rows = []
    for name, batch in samples.items():
        low, high = value_ranges[name]
        rows.append(np.clip((batch - low) / (high - low), 0, 1))
    rows = np.stack(rows)  # (models, n, h, w, c)
    models, n, h, w, c = rows.shape
    tile = rows.transpose(0, 2, 1, 3, 4).reshape(models * h, n * w, c)
    return tile[..., 0] if c == 1 else tile


def upscale_rgb(upscaler, images):
    ycc = projects.rgb_to_ycbcr(images)
    luma = (upscaler.upscale(2 * ycc[..., :1] - 1) + 1) / 2
    chroma = (restoration.bicubic_upscale(2 * ycc[..., 1:] - 1, upscaler.scale) + 1) / 2
    return projects.ycbcr_to_rgb(np.clip(np.concatenate([luma, chroma], axis=-1), 0, 1))


def artwork_metadata(prompt, label, steps, seed, created):
    return {
        "created": created.isoformat(timespec="seconds"),
        "inputs": {"prompt": prompt},
        "class": {
            "index": None if label is None else int(label),
            "name": None if label is None else projects.CLASS_NAMES[int(label)],
        },
        "seed": int(seed),
        "steps": [
            {"name": name, "settings": json.loads(json.dumps(settings, default=lambda v: v.item()))}
            for name, settings in steps
        ],
    }


REFERENCE = {f.__name__: f for f in (gallery_tile, upscale_rgb, artwork_metadata)}

LIBRARY = {
    "gallery_tile": lambda s, r: projects.gallery_tile(s, r),
    "upscale_rgb": lambda u, x: projects.upscale_rgb(u, x),
    "artwork_metadata": lambda *a: projects.artwork_metadata(*a),
}


# -- wrong answers learners are likely to write ------------------------------------------------


def _tile(samples, value_ranges, *, convert=True, clip=True, reverse=False, stretch=False):
    items = list(samples.items())[::-1] if reverse else list(samples.items())
    rows = []
    for name, batch in items:
        low, high = value_ranges[name]
        if stretch:
            low, high = batch.min(), batch.max()
        x = (batch - low) / (high - low) if convert else batch
        rows.append(np.clip(x, 0, 1) if clip else x)
    rows = np.stack(rows)
    models, n, h, w, c = rows.shape
    tile = rows.transpose(0, 2, 1, 3, 4).reshape(models * h, n * w, c)
    return tile[..., 0] if c == 1 else tile


def _columns(samples, value_ranges):
    tile = _tile(samples, value_ranges)
    return np.swapaxes(tile, 0, 1)


def _upscale(
    upscaler, images, *, convert_in=True, convert_out=True, net_luma=True, per_channel=False
):
    if per_channel:
        return np.concatenate(
            [(upscaler.upscale(2 * images[..., k : k + 1] - 1) + 1) / 2 for k in range(3)], -1
        )
    ycc = projects.rgb_to_ycbcr(images)
    y = 2 * ycc[..., :1] - 1 if convert_in else ycc[..., :1]
    if net_luma:
        luma = upscaler.upscale(y)
    else:
        luma = restoration.bicubic_upscale(y, upscaler.scale)
    if convert_out and convert_in:
        luma = (luma + 1) / 2
    chroma = (restoration.bicubic_upscale(2 * ycc[..., 1:] - 1, upscaler.scale) + 1) / 2
    return projects.ycbcr_to_rgb(np.clip(np.concatenate([luma, chroma], axis=-1), 0, 1))


def _meta(prompt, label, steps, seed, created, **wrong):
    record = artwork_metadata(prompt, label, steps, seed, created)
    if wrong.get("str_date"):
        record["created"] = str(created)
    if wrong.get("microseconds"):
        record["created"] = created.isoformat()
    if wrong.get("utc_naive"):
        record["created"] = created.replace(tzinfo=None).isoformat(timespec="seconds")
    if wrong.get("numpy_seed"):
        record["seed"] = seed
    if wrong.get("steps_dict"):
        record["steps"] = {name: settings for name, settings in steps}
    if wrong.get("names_only"):
        record["steps"] = [name for name, _ in steps]
    return record


def _meta_no_class(prompt, label, steps, seed, created):
    name = projects.CLASS_NAMES[int(label) if label is not None else 0]
    record = artwork_metadata(prompt, label if label is not None else 0, steps, seed, created)
    record["class"]["name"] = name
    return record


WRONG = [
    ("gallery_tile", "ranges ignored", lambda s, r: _tile(s, r, convert=False)),
    ("gallery_tile", "not clipped", lambda s, r: _tile(s, r, clip=False)),
    ("gallery_tile", "models reversed", lambda s, r: _tile(s, r, reverse=True)),
    ("gallery_tile", "each row stretched", lambda s, r: _tile(s, r, stretch=True)),
    ("gallery_tile", "a column per model", _columns),
    (
        "upscale_rgb",
        "luminance not moved to [-1, 1]",
        lambda u, x: _upscale(u, x, convert_in=False),
    ),
    ("upscale_rgb", "answer not brought back", lambda u, x: _upscale(u, x, convert_out=False)),
    ("upscale_rgb", "bicubic luminance", lambda u, x: _upscale(u, x, net_luma=False)),
    (
        "upscale_rgb",
        "every RGB channel through the network",
        lambda u, x: _upscale(u, x, per_channel=True),
    ),
    (
        "upscale_rgb",
        "plain bicubic",
        lambda u, x: (restoration.bicubic_upscale(2 * x - 1, u.scale) + 1) / 2,
    ),
    ("artwork_metadata", "str(date)", lambda *a: _meta(*a, str_date=True)),
    ("artwork_metadata", "microseconds kept", lambda *a: _meta(*a, microseconds=True)),
    ("artwork_metadata", "time zone dropped", lambda *a: _meta(*a, utc_naive=True)),
    ("artwork_metadata", "NumPy seed", lambda *a: _meta(*a, numpy_seed=True)),
    ("artwork_metadata", "steps as a dict", lambda *a: _meta(*a, steps_dict=True)),
    ("artwork_metadata", "step names only", lambda *a: _meta(*a, names_only=True)),
    ("artwork_metadata", "no match becomes class 0", _meta_no_class),
]

WRONG_MAY_ERROR = True


def test_wrong_answers_get_their_own_diagnosis():
    verdict = run("gallery_tile", lambda s, r: _tile(s, r, convert=False))
    assert "own ranges" in verdict.message
    verdict = run("upscale_rgb", lambda u, x: _upscale(u, x, convert_in=False))
    assert "[0, 1]; it learned [-1, 1]" in verdict.message
    verdict = run("artwork_metadata", lambda *a: _meta(*a, numpy_seed=True))
    assert "JSON" in verdict.message


def test_the_fake_network_refuses_colour():
    with pytest.raises(ValueError, match="grey images"):
        ch10.ContrastUpscaler().upscale(np.zeros((1, 4, 4, 3)))
