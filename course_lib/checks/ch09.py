"""Checks for chapter 09's exercises: the confidence threshold of the prompt classifier,
the grey-to-RGB stage of the art pipeline, the loop that writes the 12 copy variants, and
the poster layout, each compared with ``course_lib.prompts`` and ``course_lib.creative``."""

from __future__ import annotations

import numpy as np

from course_lib import creative, grading, prompts

exercise = grading.Exercises("09_creative_ai_applications")

NONE = prompts.NONE


def _probabilities(seed: int, n: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1 + seed, (n, len(prompts.CLASS_NAMES)))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


# -- exercise 1 ------------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[prompts.apply_threshold],
    see="From a prompt to a class",
    hint="For each row (one prompt), find the class with the largest probability. If that "
    "largest probability is below the threshold, answer 10 (none of these) instead. A "
    "probability exactly equal to the threshold is enough to keep the class.",
)
def classify_with_threshold(fn):
    """``fn(probabilities, threshold)`` must give one class per row: the most probable,
    or 10 when its probability is below ``threshold``."""
    edge = np.full((2, 11), 0.05, np.float32)
    edge[0, 3], edge[1, 7] = 0.5, 0.45  # row 0 sits exactly on the threshold 0.5
    cases = [(_probabilities(s), t) for s, t in ((0, 0.5), (1, 0.3), (2, 0.7), (3, 0.0))]
    cases.append((edge, 0.5))
    for k, (p, threshold) in enumerate(cases, start=1):
        got = grading.expect_array(
            fn(p.copy(), threshold), shape=(len(p),), what=f"your classes for case {k}"
        )
        best = p.argmax(axis=1)
        want = np.where(p.max(axis=1) < threshold, NONE, best)
        if np.array_equal(got, want):
            continue
        if np.array_equal(got, best):
            why = (
                "no prompt became 'none of these': compare the top probability with the threshold."
            )
        elif np.array_equal(got, np.where(p.max(axis=1) <= threshold, NONE, best)):
            why = "a probability exactly equal to the threshold keeps its class (use <, not <=)."
        elif np.array_equal(got, np.where(p.max(axis=1) < threshold, -1, best)):
            why = "'none of these' is class 10, not -1."
        elif len(p) == 11 and np.array_equal(got, p.argmax(axis=0)):
            why = "that takes the largest of each column: take it along each row (axis=1)."
        else:
            bad = int(np.flatnonzero(got != want)[0])
            why = (
                f"row {bad} (top probability {p[bad].max():.3f}, threshold {threshold}) "
                f"should be class {want[bad]}; yours says {got[bad]}."
            )
        raise grading.Mismatch(f"case {k}: {why}")


# -- exercise 2 ------------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[creative.grey_to_rgb],
    see="4.1 The art pipeline: concept, enhance, refine",
    hint="Two changes: the range, from [-1, 1] to [0, 1] (add 1, then halve), and the "
    "channels, from 1 to 3 (repeat the grey channel along the last axis).",
)
def grey_to_rgb(fn):
    """``fn(images)`` must turn grey (n, h, w, 1) in [-1, 1] into RGB (n, h, w, 3) in [0, 1]."""
    rng = np.random.default_rng(9)
    for shape in ((1, 4, 4, 1), (3, 12, 8, 1), (2, 84, 84, 1)):
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        x.flat[0], x.flat[-1] = -1.0, 1.0  # both ends of the range
        n, h, w, _ = shape
        got = grading.expect_array(fn(x.copy()), what=f"your RGB images for shape {shape}")
        if got.shape != (n, h, w, 3):
            hint = ""
            if got.shape == shape:
                hint = " (still one channel: repeat it three times along the last axis)"
            elif got.shape[0] == 3 * n:
                hint = " (you repeated the images, not the channel: use axis=-1)"
            raise grading.Mismatch(
                f"grey images of shape {shape} should become {(n, h, w, 3)}; yours is "
                f"{got.shape}{hint}."
            )
        want = np.repeat((x + 1) / 2, 3, axis=-1)
        if np.allclose(got, want, atol=1e-6):
            continue
        if np.allclose(got, np.repeat(x, 3, axis=-1), atol=1e-6):
            why = "the pixels are still in [-1, 1]: move them to [0, 1]."
        elif np.allclose(got, np.repeat(x / 2, 3, axis=-1), atol=1e-6):
            why = "halving alone gives [-0.5, 0.5]: add 1 first."
        elif np.allclose(got, np.repeat(np.clip(x, 0, 1), 3, axis=-1), atol=1e-6):
            why = "clipping throws the dark half away: rescale instead."
        elif np.allclose(got, want * 255, atol=1e-3):
            why = "that is 0-255: the style network reads [0, 1]."
        else:
            why = "each RGB channel must equal (grey + 1) / 2."
        raise grading.Mismatch(f"shape {shape}: {why}")


# -- exercise 3 ------------------------------------------------------------------------------


class _RecordingWriter:
    """A stand-in for the text model: records each call and writes a fixed reply."""

    def __init__(self):
        self.calls = []

    def write(self, prompt, length, *, temperature=1.0, seed=0):
        self.calls.append((prompt, length, temperature, seed))
        return f" and more\nsecond line {len(self.calls)}"


@exercise(
    points=2,
    kind="generation loop",
    forbid=[creative.copy_variants],
    see="4.2 A marketing content generator",
    hint="Loop over every tone and, inside it, every format (4 x 3 = 12). For each, "
    "start from creative.copy_prefix(product, tone, fmt), ask text_model.write for "
    "creative.FORMAT_LENGTHS[fmt] characters at temperature 0.8 with a seed of its own, "
    "and keep prefix + text; a headline keeps only its first line.",
)
def copy_variants(fn):
    """``fn(text_model, product)`` must write the 12 variants with ``text_model.write``."""
    for product in ("coat", "red sneakers"):
        writer = _RecordingWriter()
        result = fn(writer, product)
        if not isinstance(result, list) or not all(isinstance(v, dict) for v in result):
            raise grading.Mismatch("return a list of dicts, one per variant.")
        pairs = {(v.get("tone"), v.get("format")) for v in result}
        want_pairs = {(t, f) for t in creative.TONES for f in creative.FORMATS}
        if len(result) != 12 or pairs != want_pairs:
            raise grading.Mismatch(
                f"expected 12 variants, one per tone and format; got {len(result)} with "
                f"{len(pairs & want_pairs)} of the 12 (tone, format) pairs."
            )
        if len(writer.calls) != 12:
            raise grading.Mismatch(
                f"the text model should write 12 times; it was called {len(writer.calls)} times."
            )
        temps = {c[2] for c in writer.calls}
        if temps != {0.8}:
            raise grading.Mismatch(f"write at temperature 0.8; yours used {sorted(temps)}.")
        seeds = [c[3] for c in writer.calls]
        if len(set(seeds)) != 12:
            raise grading.Mismatch(
                f"give each variant its own seed: yours used {len(set(seeds))} different "
                "seeds, so some variants come out alike."
            )
        asked = sorted((c[0], c[1]) for c in writer.calls)
        want_asked = sorted(
            (creative.copy_prefix(product, t, f), creative.FORMAT_LENGTHS[f])
            for t in creative.TONES
            for f in creative.FORMATS
        )
        if asked != want_asked:
            wrong = next(a for a in asked if a not in want_asked)
            raise grading.Mismatch(
                f"each variant starts from copy_prefix(product, tone, fmt) and asks for "
                f"FORMAT_LENGTHS[fmt] characters; one call asked for {wrong[1]} characters "
                f"after {wrong[0]!r}."
            )
        for v in result:
            prefix = creative.copy_prefix(product, v["tone"], v["format"])
            text = v.get("text")
            if not isinstance(text, str) or not text.startswith(prefix):
                raise grading.Mismatch(
                    f"the {v['tone']} {v['format']}'s text should begin with its prefix "
                    f"{prefix!r}; got {text!r}."
                )
            if v["format"] == "headline" and "\n" in text:
                raise grading.Mismatch("a headline keeps only the first line of what is written.")
            if v["format"] != "headline" and "second line" not in text:
                raise grading.Mismatch(f"a {v['format']} keeps all it is written; got {text!r}.")


# -- exercise 4 ------------------------------------------------------------------------------


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@exercise(
    points=2,
    forbid=[creative.poster_layout],
    see="4.2 A marketing content generator",
    hint="Work down the poster: the headline box starts one margin from the top; the "
    "square image follows one margin lower, centred, as wide as the margins allow but "
    "never taller than half the poster; the call to action ends one margin from the "
    "bottom; the body fills what is left between the image and the call to action, "
    "with a margin above and below it.",
)
def poster_layout(fn):
    """``fn(width, height, margin)`` must return the four boxes of a poster."""
    for width, height, margin in ((480, 720, 24), (400, 900, 16), (600, 700, 20), (300, 600, 0)):
        got = fn(width, height, margin)
        if not isinstance(got, dict) or set(got) != {"headline", "image", "body", "cta"}:
            raise grading.Mismatch("return a dict with the boxes headline, image, body and cta.")
        boxes = {}
        for name, box in got.items():
            box = tuple(np.asarray(box).tolist())
            if len(box) != 4 or not box[0] < box[2] or not box[1] < box[3]:
                raise grading.Mismatch(
                    f"{name}: a box is (left, top, right, bottom) with left < right and "
                    f"top < bottom; got {box}."
                )
            boxes[name] = box
        where = f"a {width}x{height} poster with margin {margin}"
        for name, (left, top, right, bottom) in boxes.items():
            if left < margin or top < margin or right > width - margin or bottom > height - margin:
                raise grading.Mismatch(
                    f"{where}: the {name} box {boxes[name]} is not inside the margins."
                )
        order = ["headline", "image", "body", "cta"]
        for upper, lower in zip(order, order[1:]):
            if boxes[lower][1] - boxes[upper][3] < margin:
                raise grading.Mismatch(
                    f"{where}: the {lower} must start at least one margin below the {upper} "
                    f"ends ({boxes[upper]} then {boxes[lower]})."
                )
        for i, a in enumerate(order):
            for b in order[i + 1 :]:
                if _overlap(boxes[a], boxes[b]):
                    raise grading.Mismatch(f"{where}: the {a} and {b} boxes overlap.")
        left, top, right, bottom = boxes["image"]
        side = right - left
        if side != bottom - top:
            raise grading.Mismatch(f"{where}: the image box must be square; got {boxes['image']}.")
        if side > height // 2:
            raise grading.Mismatch(f"{where}: the image is {side} tall, over half the poster.")
        if side < min(width - 2 * margin, height // 2) - 1:
            raise grading.Mismatch(
                f"{where}: the image ({side} wide) should be as large as the margins and "
                "half the height allow."
            )
        if abs((left + right) - width) > 1:
            raise grading.Mismatch(f"{where}: centre the image; its box is {boxes['image']}.")
        if boxes["headline"][1] != margin or boxes["cta"][3] != height - margin:
            raise grading.Mismatch(
                f"{where}: the headline starts one margin from the top and the call to "
                "action ends one margin from the bottom."
            )
