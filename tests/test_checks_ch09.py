"""Tests of chapter 09's exercise checks (course_lib/checks/ch09.py): the reference answers
pass (copies of solutions/09_creative_ai_applications.ipynb's), answers that call the
library fail with "Write it yourself", and the likely wrong answers fail."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import creative, grading, prompts
from course_lib.checks import ch09

STEM = "09_creative_ai_applications"
POINTS = {"classify_with_threshold": 1, "grey_to_rgb": 1, "copy_variants": 2, "poster_layout": 2}


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


def run(name, fn) -> grading.Verdict:
    return getattr(ch09, name)(fn)


# -- the reference answers, copied from the solutions notebook -------------------------------


def classify_with_threshold(probabilities, threshold):
    best = probabilities.argmax(axis=1)
    return np.where(probabilities.max(axis=1) < threshold, 10, best)


def grey_to_rgb(images):
    return np.repeat((images + 1.0) / 2.0, 3, axis=-1)


def copy_variants(text_model, product, *, tones=None, temperature=0.8, same_seed=False,
                  prefix_in_text=True, first_line=True):  # fmt: skip
    out = []
    for tone in tones or creative.TONES:
        for fmt in creative.FORMATS:
            prefix = creative.copy_prefix(product, tone, fmt)
            length = creative.FORMAT_LENGTHS[fmt]
            seed = 0 if same_seed else len(out)
            written = text_model.write(prefix, length, temperature=temperature, seed=seed)
            text = prefix + written if prefix_in_text else written
            if fmt == "headline" and first_line:
                text = text.split("\n")[0]
            out.append({"tone": tone, "format": fmt, "prefix": prefix, "text": text})
    return out


def poster_layout(width, height, margin, *, gap=True, square=True, side_of=None, cta_up=False):
    headline = (margin, margin, width - margin, margin + max(32, height // 10))
    side = (
        min(width - 2 * margin, height // 2) if side_of is None else side_of(width, height, margin)
    )
    left = (width - side) // 2
    top = headline[3] + (margin if gap else 0)
    image = (left, top, left + side, top + (side if square else side // 2))
    cta_h = max(28, height // 12)
    cta = (margin, height - margin - cta_h, width - margin, height - margin)
    body = (margin, image[3] + margin, width - margin, cta[1] - margin)
    if cta_up:
        body, cta = (margin, image[3] + 2 * margin + cta_h, width - margin, height - margin), (
            margin, image[3] + margin, width - margin, image[3] + margin + cta_h)  # fmt: skip
    return {"headline": headline, "image": image, "body": body, "cta": cta}


REFERENCE = {
    f.__name__: f for f in (classify_with_threshold, grey_to_rgb, copy_variants, poster_layout)
}

LIBRARY = {
    "classify_with_threshold": prompts.apply_threshold,
    "grey_to_rgb": creative.grey_to_rgb,
    "copy_variants": lambda model, product: creative.copy_variants(model, product),
    "poster_layout": lambda w, h, m: creative.poster_layout(w, h, margin=m),
}


# -- wrong answers learners are likely to write ------------------------------------------------


def _threshold(p, t, *, op=np.less, none=10, axis=1):
    return np.where(op(p.max(axis=axis), t), none, p.argmax(axis=axis))


WRONG = [
    ("classify_with_threshold", "no threshold", lambda p, t: p.argmax(axis=1)),
    ("classify_with_threshold", "<= instead of <", lambda p, t: _threshold(p, t, op=np.less_equal)),
    ("classify_with_threshold", "none is -1", lambda p, t: _threshold(p, t, none=-1)),
    (
        "classify_with_threshold",
        "threshold on class 10's probability",
        lambda p, t: np.where(p[:, 10] > t, 10, p.argmax(axis=1)),
    ),  # fmt: skip
    (
        "classify_with_threshold",
        "top probability, not class",
        lambda p, t: p.max(axis=1),
    ),  # fmt: skip
    ("grey_to_rgb", "range kept", lambda x: np.repeat(x, 3, axis=-1)),
    ("grey_to_rgb", "halved only", lambda x: np.repeat(x / 2, 3, axis=-1)),
    ("grey_to_rgb", "clipped", lambda x: np.repeat(np.clip(x, 0, 1), 3, axis=-1)),
    ("grey_to_rgb", "one channel", lambda x: (x + 1) / 2),
    ("grey_to_rgb", "repeated on the batch axis", lambda x: np.repeat((x + 1) / 2, 3, axis=0)),
    ("grey_to_rgb", "0-255", lambda x: np.repeat((x + 1) * 127.5, 3, axis=-1)),
    ("copy_variants", "tones only", lambda m, p: copy_variants(m, p, tones=creative.TONES[:1])),
    ("copy_variants", "temperature 1", lambda m, p: copy_variants(m, p, temperature=1.0)),
    ("copy_variants", "one seed for all", lambda m, p: copy_variants(m, p, same_seed=True)),
    ("copy_variants", "prefix dropped", lambda m, p: copy_variants(m, p, prefix_in_text=False)),
    ("copy_variants", "headline not cut", lambda m, p: copy_variants(m, p, first_line=False)),
    (
        "poster_layout",
        "no gap under the headline",
        lambda w, h, m: poster_layout(w, h, m, gap=False),
    ),
    ("poster_layout", "image not square", lambda w, h, m: poster_layout(w, h, m, square=False)),
    (
        "poster_layout",
        "image as wide as the poster",
        lambda w, h, m: poster_layout(w, h, m, side_of=lambda w, h, m: min(w, h // 2)),
    ),  # fmt: skip
    (
        "poster_layout",
        "image too small",
        lambda w, h, m: poster_layout(w, h, m, side_of=lambda w, h, m: w // 3),
    ),  # fmt: skip
    (
        "poster_layout",
        "call to action above the body",
        lambda w, h, m: poster_layout(w, h, m, cta_up=True),
    ),  # fmt: skip
    ("poster_layout", "no margins", lambda w, h, m: poster_layout(w, h, 0)),
]

# The tables above are tested by tests/test_check_tables.py (registered points, the
# reference passes, the library call fails, every wrong answer fails).


# -- this chapter's own tests ---------------------------------------------------------------------


def test_the_threshold_edge_gets_its_own_hint():
    verdict = run("classify_with_threshold", lambda p, t: _threshold(p, t, op=np.less_equal))
    assert "exactly equal" in verdict.message


def test_a_one_channel_answer_is_told_to_repeat_it():
    verdict = run("grey_to_rgb", lambda x: (x + 1) / 2)
    assert "repeat" in verdict.message
