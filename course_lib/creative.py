"""Chapter 09: four creative applications built from the course's own trained models.

Every function takes the models it uses as arguments (the notebook passes the shelf's,
:mod:`course_lib.shelf`; the tests pass tiny ones), so each stage can be checked alone.

1. Art pipeline: :func:`concept` (a class-conditional sample; the prompt picks the class)
   -> :func:`enhance` (super-resolution) -> :func:`refine` (style transfer), composed by
   :func:`art_pipeline`; :func:`orchestrate_styles` blends several style references in the
   style network's style space.
2. Marketing: :func:`copy_variants` (4 tones x 3 formats from the text model),
   :func:`poster_layout` and :func:`compose_poster` (Pillow, matplotlib's DejaVu fonts),
   :func:`promo_clip` (chapter 07's frame predictor moves the product).
3. Workshop: :class:`WorkshopState`, :func:`workshop_concepts`, :func:`apply_feedback`
   and :class:`Workshop` (widgets, with a scripted path for unattended runs).
4. Story: :func:`write_story`, :func:`scene_mood`, :func:`scene_music`,
   :func:`storyboard` and :func:`soundtrack`.

Image conventions: grey Fashion-MNIST-like images in [-1, 1], (n, h, w, 1), until the
style stage, which paints RGB images in [0, 1], (n, h, w, 3).
"""

from __future__ import annotations

import datetime
import json
import re
import textwrap
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from course_lib.conventions import as_images, as_int, as_number, as_positive_int

GREY = (-1.0, 1.0)
UNIT = (0.0, 1.0)

# =========================================================================== 1. art pipeline


def concept(sampler, label: int, *, n: int = 1, seed: int = 0) -> np.ndarray:
    """``n`` images of class ``label`` from ``sampler`` (anything with
    ``sample(labels, seed=...)`` returning grey images in [-1, 1]): the concept sketch."""
    label = as_int(label, "label", minimum=0)
    if label > 9:
        raise ValueError(
            f"label must be a Fashion-MNIST class 0-9; got {label} (a 'none of these' "
            "prompt has no picture: ask for something the models know)"
        )
    n = as_positive_int(n, "n")
    images = np.asarray(sampler.sample(np.full(n, label, np.int32), seed=seed), np.float32)
    return as_images(np.clip(images, *GREY), name="concept images", shape=None, value_range=GREY)


def enhance(upscaler, images) -> np.ndarray:
    """Grey images in [-1, 1] made ``upscaler.scale`` times larger by ``upscaler``
    (chapter 05's super-resolution network), clipped back to [-1, 1]."""
    images = as_images(images, name="images", shape=None, value_range=GREY)
    if images.shape[-1] != 1:
        raise ValueError(f"enhance takes grey images (n, h, w, 1); got {images.shape}")
    return np.clip(np.asarray(upscaler.upscale(images), np.float32), *GREY)


def grey_to_rgb(images) -> np.ndarray:
    """Grey images in [-1, 1], (n, h, w, 1), as RGB in [0, 1], (n, h, w, 3): what the
    style network reads."""
    images = as_images(images, name="images", shape=None, value_range=GREY)
    if images.shape[-1] != 1:
        raise ValueError(f"grey_to_rgb takes grey images (n, h, w, 1); got {images.shape}")
    unit = (images + 1.0) / 2.0
    return np.repeat(unit, 3, axis=-1).astype(np.float32)


def refine(stylizer, images, style=0, *, strength: float = 1.0) -> np.ndarray:
    """Paint grey images in [-1, 1] with ``stylizer`` (``stylize(rgb, style)``; ``style``
    an index, a name or weights) and keep ``strength`` of the painting (1: all of it,
    0: the grey picture as RGB). Sides must be multiples of 4. RGB in [0, 1]."""
    strength = as_number(strength, "strength", low=0.0, high=1.0)
    rgb = grey_to_rgb(images)
    if rgb.shape[1] % 4 or rgb.shape[2] % 4:
        raise ValueError(f"the style network needs sides that are multiples of 4; got {rgb.shape}")
    painted = np.asarray(stylizer.stylize(rgb, style), np.float32)
    return np.clip((1 - strength) * rgb + strength * painted, *UNIT)


def style_weights(references: dict, style_names) -> np.ndarray:
    """Weights for the style network from ``{style name: weight}``: one number per style
    it learned, in its order, summing to 1 (weights >= 0, not all 0)."""
    names = list(style_names)
    if not isinstance(references, dict) or not references:
        raise ValueError("references must be a dict {style name: weight}, e.g. {'mosaic': 1}")
    weights = np.zeros(len(names), np.float32)
    for name, weight in references.items():
        if name not in names:
            raise ValueError(f"unknown style {name!r}: the network knows {names}")
        weights[names.index(name)] += as_number(weight, f"weight of {name!r}", low=0.0)
    if weights.sum() <= 0:
        raise ValueError("style weights must not all be 0")
    return weights / weights.sum()


def orchestrate_styles(stylizer, images, references: dict) -> np.ndarray:
    """The guide's style orchestration, done in style space: one pass of the style network
    with its normalisation statistics mixed by ``references`` ``{style name: weight}``."""
    return refine(stylizer, images, style_weights(references, stylizer.style_names))


@dataclass
class Artwork:
    """Every stage of one run of the art pipeline."""

    prompt: str
    label: int
    concept: np.ndarray  # (h, w, 1) in [-1, 1]
    enhanced: np.ndarray  # (h * scale, w * scale, 1) in [-1, 1]
    refined: np.ndarray  # (h * scale, w * scale, 3) in [0, 1]
    style: object = None
    seed: int = 0

    def record(self) -> dict:
        """The artwork's description, for a JSON file (no pixels)."""
        return {
            "prompt": self.prompt,
            "label": self.label,
            "style": np.asarray(self.style).tolist(),
            "seed": self.seed,
            "shapes": {
                "concept": list(self.concept.shape),
                "enhanced": list(self.enhanced.shape),
                "refined": list(self.refined.shape),
            },
        }


def art_pipeline(prompt: str, *, classify, sampler, upscaler, stylizer, style=0, seed: int = 0):
    """Prompt -> class (``classify([prompt])``) -> concept -> enhance -> refine: an
    :class:`Artwork`. A prompt that maps to "none of these" (class 10) raises ValueError."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"prompt must be a non-empty str; got {prompt!r}")
    label = int(np.asarray(classify([prompt]))[0])
    sketch = concept(sampler, label, seed=seed)
    bigger = enhance(upscaler, sketch)
    painted = refine(stylizer, bigger, style)
    return Artwork(prompt, label, sketch[0], bigger[0], painted[0], style, seed)


# =========================================================================== 2. marketing

TONES = ("friendly", "professional", "exciting", "empathetic")
FORMATS = ("headline", "body", "cta")
# Shakespeare-flavoured openers: the text model continues text in its own voice, so a
# tone is given by the words it starts from, not by an instruction it cannot follow
TONE_OPENERS = {
    "friendly": "Good friend, behold this {product}",
    "professional": "Sir, I commend to you this {product}",
    "exciting": "O wondrous {product}!",
    "empathetic": "Alas, good heart, this {product}",
}
FORMAT_LEADS = {"headline": "", "body": "", "cta": "Come, buy! "}
FORMAT_LENGTHS = {"headline": 40, "body": 160, "cta": 40}  # characters written, in full mode


def copy_prefix(product: str, tone: str, fmt: str) -> str:
    """The text a copy variant starts from: the format's lead and the tone's opener."""
    if tone not in TONES:
        raise ValueError(f"tone must be one of {TONES}; got {tone!r}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}; got {fmt!r}")
    if not isinstance(product, str) or not product.strip():
        raise ValueError(f"product must be a non-empty str; got {product!r}")
    return FORMAT_LEADS[fmt] + TONE_OPENERS[tone].format(product=product.strip())


def copy_variants(
    text_model, product: str, *, temperature: float = 0.8, scale: float = 1.0, seed: int = 0
):
    """One copy variant per tone and format (4 x 3 = 12), as dicts ``{tone, format,
    prefix, text}``. ``text_model.write(prefix, length, temperature=, seed=)`` writes
    each; ``scale`` multiplies :data:`FORMAT_LENGTHS` (the notebook shrinks it in quick
    mode). A headline keeps its first line."""
    temperature = as_number(temperature, "temperature", low=0.0, low_open=True)
    scale = as_number(scale, "scale", low=0.0, low_open=True)
    seed = as_int(seed, "seed", minimum=0)
    out = []
    for i, (tone, fmt) in enumerate((t, f) for t in TONES for f in FORMATS):
        prefix = copy_prefix(product, tone, fmt)
        length = max(1, round(FORMAT_LENGTHS[fmt] * scale))
        text = prefix + text_model.write(prefix, length, temperature=temperature, seed=seed + i)
        if fmt == "headline":
            text = text.split("\n")[0]
        out.append({"tone": tone, "format": fmt, "prefix": prefix, "text": text.strip()})
    return out


def font_path(bold: bool = False) -> Path:
    """matplotlib's bundled DejaVu Sans (regular or bold): a font every install has."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    if not path.is_file():
        raise FileNotFoundError(f"matplotlib's font {name} is not at {path}")
    return path


def poster_layout(width: int, height: int, *, margin: int = 24) -> dict:
    """Boxes ``(left, top, right, bottom)`` in pixels for the parts of a portrait poster:
    ``headline`` at the top, the square ``image`` under it as wide as the margins allow
    (never taller than half the poster), ``body`` under the image and ``cta`` at the
    bottom. Boxes stay inside the margins and do not overlap; ``margin`` is also the gap
    between them."""
    width, height = as_positive_int(width, "width"), as_positive_int(height, "height")
    margin = as_int(margin, "margin", minimum=0)
    if height < width or width < 8 * margin + 64:
        raise ValueError(
            f"a poster is portrait and wide enough for its margins; got {width}x{height} "
            f"with margin {margin}"
        )
    inner = width - 2 * margin
    headline_h = max(32, height // 10)
    cta_h = max(28, height // 12)
    side = min(inner, height // 2)
    headline = (margin, margin, width - margin, margin + headline_h)
    left = (width - side) // 2
    image = (left, headline[3] + margin, left + side, headline[3] + margin + side)
    cta = (margin, height - margin - cta_h, width - margin, height - margin)
    body = (margin, image[3] + margin, width - margin, cta[1] - margin)
    if body[3] - body[1] < 20:
        raise ValueError(f"{width}x{height} leaves no room for the body text: make it taller")
    return {"headline": headline, "image": image, "body": body, "cta": cta}


def _fit_text(draw, text: str, box, bold: bool, largest: int):
    """The largest font size (<= ``largest``) at which ``text``, wrapped, fits ``box``."""
    from PIL import ImageFont

    width, height = box[2] - box[0], box[3] - box[1]
    for size in range(largest, 7, -1):
        font = ImageFont.truetype(str(font_path(bold)), size)
        chars = max(1, int(width / (0.55 * size)))
        lines = textwrap.wrap(text, chars) or [""]
        while lines and max(draw.textlength(line, font=font) for line in lines) > width:
            chars -= 1
            if chars < 1:
                break
            lines = textwrap.wrap(text, chars)
        if chars >= 1 and len(lines) * size * 1.25 <= height:
            return font, lines, size
    font = ImageFont.truetype(str(font_path(bold)), 8)
    lines = textwrap.wrap(text, max(1, int(width / 4.4)))[: max(1, int(height // 10))]
    return font, lines, 8


def compose_poster(
    image, headline: str, body: str, cta: str, *, size=(480, 720), colors=None, path=None
):
    """A poster as a Pillow image: ``image`` (RGB (h, w, 3) in [0, 1]) in the
    :func:`poster_layout` box, the three texts in theirs (DejaVu Sans, the largest size
    that fits). ``path`` saves it as PNG. Returns the ``PIL.Image``."""
    from PIL import Image, ImageDraw

    image = np.asarray(image, np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be RGB (h, w, 3) in [0, 1]; got shape {image.shape}")
    as_images(image[None], name="image", shape=None, value_range=UNIT)
    for name, text in (("headline", headline), ("body", body), ("cta", cta)):
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a str; got {type(text).__name__}")
    width, height = size
    boxes = poster_layout(width, height)
    colors = {"paper": (250, 246, 238), "ink": (30, 30, 40), "accent": (180, 40, 60)} | (
        colors or {}
    )
    poster = Image.new("RGB", (width, height), colors["paper"])
    draw = ImageDraw.Draw(poster)
    box = boxes["image"]
    picture = Image.fromarray((image * 255).round().astype(np.uint8))
    poster.paste(picture.resize((box[2] - box[0], box[3] - box[1]), Image.NEAREST), box[:2])
    for part, bold, largest, color in (
        ("headline", True, 40, colors["ink"]),
        ("body", False, 20, colors["ink"]),
        ("cta", True, 28, colors["accent"]),
    ):
        text = {"headline": headline, "body": body, "cta": cta}[part]
        box = boxes[part]
        font, lines, size = _fit_text(draw, " ".join(text.split()), box, bold, largest)
        y = box[1]
        for line in lines:
            x = box[0] + (box[2] - box[0] - draw.textlength(line, font=font)) / 2
            draw.text((x, y), line, font=font, fill=color)
            y += round(size * 1.25)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        poster.save(path, format="PNG")
    return poster


def sprite_context(image, *, frames: int = 4, size: int = 32, velocity=(2.0, 1.0), start=(4, 6)):
    """The first ``frames`` frames of a clip in which ``image`` (grey (h, w, 1) in
    [-1, 1], shrunk to 14x14 as chapter 07's sprites are) moves ``velocity`` pixels a
    frame across a black ``size`` x ``size`` square: (frames, size, size, 1) in [0, 1]."""
    image = as_images(np.asarray(image)[None], name="image", shape=None, value_range=GREY)[
        0, :, :, 0
    ]
    frames = as_positive_int(frames, "frames")
    h, w = image.shape
    if h % 14 or w % 14:
        raise ValueError(f"image sides must be multiples of 14 (28 for Fashion-MNIST); got {h}x{w}")
    sprite = ((image + 1) / 2).reshape(14, h // 14, 14, w // 14).mean(axis=(1, 3))
    sprite = sprite / max(float(sprite.max()), 1e-6)
    out = np.zeros((frames, size, size, 1), np.float32)
    for t in range(frames):
        x = int(round(start[0] + velocity[0] * t))
        y = int(round(start[1] + velocity[1] * t))
        if not (0 <= x <= size - 14 and 0 <= y <= size - 14):
            raise ValueError("the sprite leaves the frame: use a smaller velocity or start")
        out[t, y : y + 14, x : x + 14, 0] = sprite
    return out


def promo_clip(predictor, image, *, horizon: int = 8) -> np.ndarray:
    """A short clip of the product moving: four frames we draw (:func:`sprite_context`),
    then ``horizon`` frames chapter 07's ``predictor`` imagines (``rollout``).
    (4 + horizon, 32, 32, 1) in [0, 1]."""
    horizon = as_positive_int(horizon, "horizon")
    context = sprite_context(image, frames=4)
    future = np.asarray(predictor.rollout(context[None], horizon), np.float32)[0]
    return np.clip(np.concatenate([context, future]), *UNIT)


# =========================================================================== 3. workshop

# the guide's five interpretations, as weights over the style network's three styles
# (in order: the painting, mosaic, stripes) and how much of the painting to keep
INTERPRETATIONS = {
    "traditional": ((1.0, 0.0, 0.0), 1.0),
    "modern": ((0.0, 1.0, 0.0), 1.0),
    "futuristic": ((0.0, 0.3, 0.7), 1.0),
    "vintage": ((0.5, 0.5, 0.0), 0.8),
    "minimalist": ((0.0, 0.0, 1.0), 0.4),
}
THEMES = {
    "winter walk": ("a warm wool coat", "cozy ankle boots", "a thick pullover"),
    "beach day": ("summer sandals", "a bright t-shirt", "a straw bag"),
    "office": ("a white shirt", "grey trousers", "a leather bag"),
    "party": ("an elegant dress", "black ankle boots", "a tiny handbag"),
}


@dataclass
class WorkshopState:
    """Where a creative workshop stands: the theme, the concept chosen, its class, the
    seed of its picture, the style weights and how strongly they are applied, and the
    feedback taken so far."""

    theme: str
    concept: str
    label: int
    seed: int = 0
    weights: tuple = (1.0, 0.0, 0.0)
    strength: float = 1.0
    history: list = field(default_factory=list)


def workshop_concepts(theme: str, classify) -> list[dict]:
    """Concepts for ``theme``: three prompts (from :data:`THEMES`, or "a <theme> <item>"
    for a theme it does not know), each with the class ``classify`` gives it."""
    if not isinstance(theme, str) or not theme.strip():
        raise ValueError(f"theme must be a non-empty str; got {theme!r}")
    theme = theme.strip().lower()
    texts = THEMES.get(theme) or tuple(f"a {theme} {item}" for item in ("coat", "dress", "bag"))
    labels = np.asarray(classify(list(texts)))
    return [{"prompt": t, "label": int(c)} for t, c in zip(texts, labels, strict=True)]


STEP = 0.25  # how much one "more"/"less"/"stronger"/"weaker" moves


def apply_feedback(state: WorkshopState, feedback: str, style_names) -> WorkshopState:
    """A new state after one piece of feedback (the old one is left as it was):

    - ``"more <style>"`` / ``"less <style>"``: that style's weight up / down by
      :data:`STEP` (never below 0; weights are renormalised, never all 0);
    - ``"stronger"`` / ``"weaker"``: the strength up / down by :data:`STEP`, within [0, 1];
    - ``"another"``: a new picture of the same concept (the next seed);
    - ``"<interpretation>"`` (a key of :data:`INTERPRETATIONS`): its weights and strength.
    """
    names = list(style_names)
    if not isinstance(feedback, str):
        raise TypeError(f"feedback must be a str; got {type(feedback).__name__}")
    words = feedback.strip().lower().split()
    weights = np.asarray(state.weights, np.float64)
    if len(weights) != len(names):
        raise ValueError(f"the state has {len(weights)} style weights for {len(names)} styles")
    changes: dict = {}
    if len(words) == 2 and words[0] in ("more", "less"):
        if words[1] not in names:
            raise ValueError(f"unknown style {words[1]!r}: choose one of {names}")
        i = names.index(words[1])
        weights[i] = max(0.0, weights[i] + (STEP if words[0] == "more" else -STEP))
        if weights.sum() <= 0:
            weights[i] = STEP  # the last style left stays, a little
        changes["weights"] = tuple(float(w) for w in weights / weights.sum())
    elif words in (["stronger"], ["weaker"]):
        delta = STEP if words[0] == "stronger" else -STEP
        changes["strength"] = float(min(1.0, max(0.0, state.strength + delta)))
    elif words == ["another"]:
        changes["seed"] = state.seed + 1
    elif len(words) == 1 and words[0] in INTERPRETATIONS:
        chosen, strength = INTERPRETATIONS[words[0]]
        changes.update(weights=tuple(chosen), strength=strength)
    else:
        styles = ", ".join(names)
        raise ValueError(
            f"feedback {feedback!r} not understood: say 'more <style>' or 'less <style>' "
            f"(styles: {styles}), 'stronger', 'weaker', 'another', or one of "
            f"{', '.join(INTERPRETATIONS)}"
        )
    return replace(state, history=[*state.history, feedback.strip()], **changes)


def render_state(state: WorkshopState, *, sampler, upscaler, stylizer) -> np.ndarray:
    """The workshop's current picture: concept -> enhance -> refine, RGB in [0, 1]."""
    sketch = concept(sampler, state.label, seed=state.seed)
    weights = np.asarray(state.weights, np.float32)
    return refine(stylizer, enhance(upscaler, sketch), weights, strength=state.strength)[0]


class Workshop:
    """The interactive workshop: pick a theme, a concept and an interpretation, then
    refine with feedback buttons. ``run_script(steps)`` takes the same path without
    anyone clicking (what a test run does); ``show()`` gives the widgets where a front
    end runs and, elsewhere, a static figure of the states visited."""

    def __init__(self, *, classify, sampler, upscaler, stylizer, theme: str = "winter walk"):
        self.classify, self.sampler = classify, sampler
        self.upscaler, self.stylizer = upscaler, stylizer
        self.style_names = tuple(stylizer.style_names)
        self.concepts = workshop_concepts(theme, classify)
        first = next((c for c in self.concepts if c["label"] < 10), None)
        if first is None:
            raise ValueError(f"no concept of theme {theme!r} maps to a class the models know")
        self.state = WorkshopState(theme, first["prompt"], first["label"])
        self.frames: list = [(self.caption(), self.render())]

    def caption(self) -> str:
        weights = ", ".join(
            f"{n} {w:.2f}" for n, w in zip(self.style_names, self.state.weights) if w > 0
        )
        last = self.state.history[-1] if self.state.history else "start"
        return f"{last}: {weights}; strength {self.state.strength:.2f}"

    def render(self) -> np.ndarray:
        return render_state(
            self.state, sampler=self.sampler, upscaler=self.upscaler, stylizer=self.stylizer
        )

    def choose_concept(self, index: int) -> None:
        chosen = self.concepts[as_int(index, "index", minimum=0)]
        if chosen["label"] >= 10:
            raise ValueError(f"{chosen['prompt']!r} maps to no class the models know")
        self.state = replace(self.state, concept=chosen["prompt"], label=chosen["label"])

    def feedback(self, text: str) -> np.ndarray:
        """Apply one piece of feedback and return the new picture."""
        self.state = apply_feedback(self.state, text, self.style_names)
        picture = self.render()
        self.frames.append((self.caption(), picture))
        return picture

    def run_script(self, steps) -> list:
        """Apply each feedback in ``steps`` in turn; returns the (caption, picture) pairs."""
        for text in steps:
            self.feedback(text)
        return self.frames

    def widget(self):
        import ipywidgets as w

        from course_lib.widgets import _png_rgb

        picture = w.Image(value=_png_rgb(self.frames[-1][1], 3), format="png")
        caption = w.Label(self.caption())
        concept_menu = w.Dropdown(
            options=[(c["prompt"], i) for i, c in enumerate(self.concepts)], description="concept"
        )
        buttons = [
            w.Button(description=t)
            for t in (
                *INTERPRETATIONS,
                *(f"more {n}" for n in self.style_names),
                "stronger",
                "weaker",
                "another",
            )
        ]

        def redraw(image):
            picture.value = _png_rgb(image, 3)
            caption.value = self.caption()

        def on_click(button):
            redraw(self.feedback(button.description))

        def on_concept(change):
            self.choose_concept(change["new"])
            redraw(self.render())

        for b in buttons:
            b.on_click(on_click)
        concept_menu.observe(on_concept, names="value")
        rows = [w.HBox(buttons[i : i + 5]) for i in range(0, len(buttons), 5)]
        return w.VBox([concept_menu, *rows, caption, picture])

    def static_figure(self):
        from course_lib import viz

        captions = ["\n".join(textwrap.wrap(c, 24)) for c, _ in self.frames]
        images = np.stack([p for _, p in self.frames])
        return viz.image_grid(images, min(len(images), 5), titles=captions, value_range=UNIT)

    def show(self, mode: str = "auto"):
        from course_lib.widgets import _show

        return _show(self, mode, "the pictures the scripted feedback made, in order")


# =========================================================================== 4. story

HAPPY_WORDS = frozenset(
    "love joy sweet merry fair happy glad smile laugh gentle kind bright sun dance sing "
    "delight hope heaven bless grace".split()
)
SAD_WORDS = frozenset(
    "death dead die grief woe blood tears weep night dark sorrow cold fear alas grave "
    "poor sick lost cruel".split()
)


def scene_mood(text: str) -> str:
    """``"happy"`` or ``"sad"``: which of two short word lists (:data:`HAPPY_WORDS`,
    :data:`SAD_WORDS`) the scene's words hit more often; a tie is happy. A word count,
    not understanding: the notebook shows where it goes wrong."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    words = re.findall(r"[a-z]+", text.lower())
    happy = sum(w in HAPPY_WORDS for w in words)
    sad = sum(w in SAD_WORDS for w in words)
    return "sad" if sad > happy else "happy"


MOOD_MUSIC = {"happy": ("major", 0.8, 100.0), "sad": ("minor", 0.9, 66.0)}  # mode, temp, tempo


@dataclass
class Scene:
    heading: str
    text: str
    label: int
    mood: str


def write_story(text_model, headings, *, classify, length: int = 200, seed: int = 0):
    """One :class:`Scene` per heading: the text model writes ``length`` characters after
    the heading (temperature 0.8), ``classify`` maps the heading to the class of its
    picture, and :func:`scene_mood` reads the mood of heading and text."""
    headings = list(headings)
    if not headings or not all(isinstance(h, str) and h.strip() for h in headings):
        raise ValueError(f"headings must be a non-empty list of non-empty strings; got {headings}")
    length = as_positive_int(length, "length")
    labels = np.asarray(classify(headings))
    scenes = []
    for i, (heading, label) in enumerate(zip(headings, labels, strict=True)):
        text = text_model.write(heading + "\n", length, temperature=0.8, seed=seed + i).strip()
        scenes.append(Scene(heading, text, int(label), scene_mood(heading + " " + text)))
    return scenes


def scene_music(music_model, mood: str, *, steps: int = 32, seed: int = 0) -> np.ndarray:
    """A grid (32 + steps, 4) of chorale tokens for ``mood``: chapter 06's transformer
    continues two bars of a held-out chorale in the mood's mode (:data:`MOOD_MUSIC`)."""
    from course_lib.models import music

    if mood not in MOOD_MUSIC:
        raise ValueError(f"mood must be one of {tuple(MOOD_MUSIC)}; got {mood!r}")
    mode, temperature, _ = MOOD_MUSIC[mood]
    openings = music_model.openings
    opening = openings.get(mode)
    if opening is None:
        raise ValueError(f"the music model has no opening in {mode}: it has {list(openings)}")
    steps = as_int(steps, "steps", minimum=0)
    return music.continue_chorale(
        music_model.model, opening, steps, mode=mode, temperature=temperature, seed=seed
    )


def storyboard(images, *, frames_per_scene: int = 8, fade: int = 2) -> np.ndarray:
    """An animated storyboard: each scene's picture (RGB (n, h, w, 3) in [0, 1]) held for
    ``frames_per_scene`` frames, the last ``fade`` of them cross-fading into the next.
    Returns (n * frames_per_scene, h, w, 3) in [0, 1]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3 or not len(images):
        raise ValueError(f"images must be RGB pictures (n, h, w, 3); got shape {images.shape}")
    as_images(images, name="images", shape=None, value_range=UNIT)
    per = as_positive_int(frames_per_scene, "frames_per_scene")
    fade = as_int(fade, "fade", minimum=0)
    if fade >= per:
        raise ValueError(f"fade ({fade}) must be shorter than frames_per_scene ({per})")
    out = []
    for i, image in enumerate(images):
        after = images[i + 1] if i + 1 < len(images) else image
        for k in range(per):
            t = max(0, k - (per - fade - 1)) / (fade + 1) if fade else 0.0
            out.append((1 - t) * image + t * after)
    return np.stack(out).astype(np.float32)


def soundtrack(waveforms, sample_rate: int, seconds_per_scene: float) -> np.ndarray:
    """The scenes' waveforms one after another, each cut or padded with silence to
    ``seconds_per_scene`` (so sound and storyboard keep step), with a 50 ms fade at
    each join. Mono float32 in [-1, 1]."""
    sample_rate = as_positive_int(sample_rate, "sample_rate")
    seconds = as_number(seconds_per_scene, "seconds_per_scene", low=0.0, low_open=True)
    n = int(round(seconds * sample_rate))
    ramp = min(n // 2, int(0.05 * sample_rate))
    parts = []
    for wave in waveforms:
        wave = np.asarray(wave, np.float32).reshape(-1)[:n]
        part = np.zeros(n, np.float32)
        part[: len(wave)] = wave
        if ramp:
            part[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
            part[-ramp:] *= np.linspace(1, 0, ramp, dtype=np.float32)
        parts.append(part)
    if not parts:
        raise ValueError("waveforms is empty: give one waveform per scene")
    return np.clip(np.concatenate(parts), -1.0, 1.0)


# =========================================================================== records


def save_json(record: dict, path) -> Path:
    """Write ``record`` as JSON (with a ``created`` ISO date added) and return the path."""
    if not isinstance(record, dict):
        raise TypeError(f"record must be a dict; got {type(record).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {"created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    path.write_text(json.dumps(stamped | record, indent=2, default=_plain))
    return path


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
