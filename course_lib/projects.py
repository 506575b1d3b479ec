"""The guide's three projects (chapter 10), built from the course's own trained models.

Every function here takes the models it uses as arguments, so the same code runs with
the finished runs of chapters 01-08 (the notebook loads them from ``course_lib.shelf``)
and with tiny untrained models in the tests. Images travel between stages in one
convention: float32 ``(n, height, width, channels)`` in [0, 1]; each model's own range
(GAN and diffusion [-1, 1], VAE [0, 1], chapter 05's networks [-1, 1]) is converted at
the model's door. In the chapter's order:

**Project 1, the creative image generator.** :class:`ImageModel` wraps a model that has
``sample(n, *, seed, labels, ...)`` with its value range and sampler options;
:meth:`ImageModel.draw` gets pictures of one class (by label for a conditional model,
else by keeping the samples the course classifier is surest are of that class).
:func:`comparison_gallery` draws the same class from several models, :func:`gallery_tile`
lays them out (one row per model), :func:`save_gallery` writes the PNG,
:func:`gallery_quality` gives each model's FID beside the real-data floor, and
:func:`style_blend_grid` is the guide's 2x2 style blend, blended in the stylizer's style
space.

**Project 2, the digital art suite.** generate -> style -> inpaint -> super-resolve, one
function a stage (:func:`generate_stage`, :func:`style_stage`, :func:`inpaint_stage`,
:func:`upscale_rgb`), run in order by :func:`create_artwork`. Chapter 05's networks
learned grey pictures, so colour pictures go through them as luminance: the network
works on Y, the classic method (biharmonic fill, bicubic) on the two colour channels
(:func:`rgb_to_ycbcr`). :func:`artwork_metadata`, :func:`write_metadata` and
:func:`read_metadata` keep the record (ISO-8601 date, steps with their settings, inputs,
seed) as JSON; :func:`workflow_figure` draws the stages.

**Project 3, the interactive creative assistant.** :func:`text_writer` turns chapter 04's
character-level GPT into a function ``write(prompt, length, seed) -> str``;
:func:`brainstorm` writes ideas and a comment on each; :class:`FeedbackPanel` takes the
learner's choices through ipywidgets, with a scripted default wherever no front end runs
(never ``input()``, which would hang a test run); :func:`build_assets` makes variations,
supporting images and a music sketch (chapter 06's model) for each kept idea, and
:func:`save_assets` writes them as PNG, MIDI and JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from course_lib.conventions import (
    NUM_CLASSES,
    as_images,
    as_int,
    as_masks,
    as_number,
    as_positive_int,
    value_range_pair,
)
from course_lib.data.fashion_mnist import FASHION_MNIST_CLASSES

CLASS_NAMES = FASHION_MNIST_CLASSES

# -- conversions shared by the projects -------------------------------------------------------


def to_unit(images, value_range) -> np.ndarray:
    """A batch of images in ``value_range`` (e.g. (-1, 1)) rescaled to [0, 1], float32.

    Samples may overshoot their range a little; they are clipped."""
    low, high = value_range_pair(value_range)
    arr = as_images(images, shape=None, value_range=(low, high), range_slack=0.05)
    return np.clip((arr - low) / (high - low), 0.0, 1.0).astype(np.float32)


def from_unit(images, value_range) -> np.ndarray:
    """The inverse of :func:`to_unit`: [0, 1] images into ``value_range``."""
    low, high = value_range_pair(value_range)
    arr = as_images(images, shape=None, value_range=(0, 1))
    return (low + (high - low) * arr).astype(np.float32)


def grey_to_rgb(images) -> np.ndarray:
    """Grey images ``(n, h, w, 1)`` in [0, 1] as RGB ``(n, h, w, 3)``."""
    arr = as_images(images, shape=None, value_range=(0, 1))
    if arr.shape[-1] != 1:
        raise ValueError(f"grey images must have 1 channel; got shape {arr.shape}")
    return np.repeat(arr, 3, axis=-1)


def _rgb(images, name="images") -> np.ndarray:
    arr = as_images(images, name=name, shape=None, value_range=(0, 1))
    if arr.shape[-1] != 3:
        raise ValueError(f"{name} must be RGB (n, h, w, 3) in [0, 1]; got shape {arr.shape}")
    return arr


_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
    np.float32,
)
_FROM_YCBCR = np.linalg.inv(_TO_YCBCR).astype(np.float32)


def rgb_to_ycbcr(images) -> np.ndarray:
    """RGB in [0, 1] -> YCbCr in [0, 1] (JPEG's full-range BT.601): Y is the luminance,
    Cb and Cr the colour (0.5 = no colour)."""
    arr = _rgb(images)
    out = arr @ _TO_YCBCR.T
    out[..., 1:] += 0.5
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def ycbcr_to_rgb(images) -> np.ndarray:
    """The inverse of :func:`rgb_to_ycbcr`, clipped to [0, 1]."""
    arr = as_images(images, shape=None, value_range=(0, 1)).copy()
    if arr.shape[-1] != 3:
        raise ValueError(f"YCbCr images must have 3 channels; got shape {arr.shape}")
    arr[..., 1:] -= 0.5
    return np.clip(arr @ _FROM_YCBCR.T, 0.0, 1.0).astype(np.float32)


def class_name(label) -> str:
    """The Fashion-MNIST name of a class index, or "no class" for None."""
    if label is None:
        return "no class"
    return CLASS_NAMES[as_int(label, "label", minimum=0) % NUM_CLASSES]


def _label(label) -> int:
    label = as_int(label, "label", minimum=0)
    if label >= NUM_CLASSES:
        raise ValueError(f"label must be a class index in 0..{NUM_CLASSES - 1}; got {label}")
    return label


def class_scores(images) -> np.ndarray:
    """The course classifier's class probabilities ``(n, 10)`` for images in [0, 1]."""
    import keras

    from course_lib import metrics

    arr = as_images(images, value_range=(0, 1))
    model, _ = metrics.load_classifier()
    logits = model.predict(arr, batch_size=500, verbose=0)
    return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))


# ============================================================ project 1: the image generator


@dataclass
class ImageModel:
    """A generative model as the projects use it.

    ``model`` has ``sample(n, *, seed=None, labels=None, **options)``; ``value_range`` is
    the range its pictures come in; ``options`` go to every ``sample`` call (for the
    diffusion model: ``{"steps": 50, "guidance": 3.0}``).
    """

    name: str
    model: object
    value_range: tuple = (-1.0, 1.0)
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        if not callable(getattr(self.model, "sample", None)):
            raise TypeError(
                f"{self.name}: the model must have a sample(n, seed=..., labels=...) method; "
                f"got a {type(self.model).__name__}"
            )
        self.value_range = value_range_pair(self.value_range)

    @property
    def conditional(self) -> bool:
        """Whether the model takes a class label (a conditional GAN, VAE or diffusion)."""
        flag = getattr(self.model, "conditional", None)
        if flag is not None:
            return bool(flag)
        return bool(getattr(self.model, "num_classes", None))  # None or 0: unconditional

    def sample(self, n: int, *, seed: int = 0, labels=None) -> np.ndarray:
        """``n`` pictures in [0, 1] (labels only for a conditional model)."""
        n = as_positive_int(n, "n")
        if labels is not None and not self.conditional:
            raise ValueError(f"{self.name} is unconditional: it takes no labels")
        out = self.model.sample(n, seed=seed, labels=labels, **self.options)
        return to_unit(out, self.value_range)

    def draw(self, label, n: int, *, seed: int = 0, pool: int = 64) -> tuple[np.ndarray, str]:
        """``n`` pictures of class ``label`` in [0, 1] and a line that says how they were got.

        A conditional model is told the label. An unconditional one cannot be: it draws
        ``pool`` pictures and keeps the ``n`` the course classifier gives the highest
        probability of that class (so it shows what the model makes of the class, when
        it makes it at all).
        """
        label, n = _label(label), as_positive_int(n, "n")
        if self.conditional:
            return self.sample(n, seed=seed, labels=np.full(n, label)), "told the class"
        pool = max(as_positive_int(pool, "pool"), n)
        images = self.sample(pool, seed=seed)
        scores = class_scores(images)
        best = np.argsort(-scores[:, label], kind="stable")[:n]
        hits = int((scores.argmax(1) == label).sum())
        how = f"best {n} of {pool} samples ({hits} of them classified as {class_name(label)})"
        return images[best], how


def _models(models) -> list[ImageModel]:
    models = list(models)
    if not models or not all(isinstance(m, ImageModel) for m in models):
        raise TypeError("models must be a non-empty list of ImageModel")
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must differ; got {names}")
    return models


def comparison_gallery(models, label, *, n: int = 4, seed: int = 0, pool: int = 64) -> dict:
    """The same class from every model: ``{name: (images (n, h, w, c) in [0, 1], how)}``,
    in the order the models are given."""
    return {m.name: m.draw(label, n, seed=seed, pool=pool) for m in _models(models)}


def gallery_tile(samples: dict, value_ranges: dict | None = None) -> np.ndarray:
    """One picture of a gallery: a row per model (in the dict's order), a column per
    sample, as a 2-D grey (or ``(H, W, 3)`` colour) array in [0, 1].

    ``samples`` maps a model's name to its batch; ``value_ranges`` maps a name to the
    range that batch is in (default (0, 1) for all). Every row must hold as many pictures
    of one size.
    """
    if not isinstance(samples, dict) or not samples:
        raise TypeError("samples must be a non-empty dict {model name: images}")
    value_ranges = value_ranges or {}
    rows = [to_unit(batch, value_ranges.get(name, (0, 1))) for name, batch in samples.items()]
    if len({r.shape for r in rows}) != 1:
        raise ValueError(
            f"every model needs as many pictures of one shape; got {[r.shape for r in rows]}"
        )
    n, h, w, c = rows[0].shape
    tile = np.stack(rows).transpose(0, 2, 1, 3, 4).reshape(len(rows) * h, n * w, c)
    return tile[..., 0] if c == 1 else tile


def gallery_quality(models, n: int, *, seed: int = 0) -> dict:
    """Each model's FID and KID on ``n`` samples (labels cycling through the classes for a
    conditional model), with the floor of real test images at the same ``n``
    (:func:`course_lib.metrics.evaluate_samples`): ``{name: QualityReport}``."""
    from course_lib import metrics

    n = as_int(n, "n", minimum=2)
    reports = {}
    for m in _models(models):
        labels = np.arange(n) % NUM_CLASSES if m.conditional else None
        reports[m.name] = metrics.evaluate_samples(m.sample(n, seed=seed, labels=labels))
    return reports


def save_gallery(gallery: dict, path, *, title: str, reports: dict | None = None) -> Path:
    """Draw a :func:`comparison_gallery` (a row per model, its FID beside its name when
    ``reports`` gives it) and save it as a PNG. Returns the path."""
    import matplotlib.pyplot as plt

    if not isinstance(gallery, dict) or not gallery:
        raise TypeError("gallery must be the dict comparison_gallery returns")
    reports = reports or {}
    names = list(gallery)
    n = len(gallery[names[0]][0])
    fig, axes = plt.subplots(
        len(names), n, figsize=(1.3 * n + 1.6, 1.45 * len(names)), squeeze=False
    )
    for r, name in enumerate(names):
        images = gallery[name][0]
        for c in range(n):
            ax = axes[r, c]
            picture = images[c]
            ax.imshow(
                picture[..., 0] if picture.shape[-1] == 1 else picture, cmap="gray", vmin=0, vmax=1
            )
            ax.set_xticks([])
            ax.set_yticks([])
        label = name
        if name in reports:
            label += f"\nFID {reports[name].fid:.1f}\n(floor {reports[name].floor_fid:.1f})"
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def read_png(path) -> np.ndarray:
    """A saved PNG read back as an array (to check what was written)."""
    import matplotlib.image

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no PNG at {path}")
    return matplotlib.image.imread(path)


def style_blend_grid(stylizer, content, a: int, b: int, t: float = 0.5) -> dict:
    """The guide's 2x2 style blend, blended in style space.

    ``stylizer`` is chapter 08's several-style network (``stylize(images, style)`` where
    ``style`` is an index or weights); ``content`` one RGB picture ``(h, w, 3)`` in [0, 1].
    Returns ``{"content", "style a", "style b", "blend"}``: the blend is *one* pass with the
    normalisation of style ``a`` and ``b`` mixed ``(1 - t) : t``, not an average of two
    finished pictures.
    """
    content = _rgb(np.asarray(content)[None] if np.ndim(content) == 3 else content, "content")[:1]
    t = as_number(t, "t", low=0.0, high=1.0)
    k = getattr(stylizer, "num_styles", None)
    if k is None or not callable(getattr(stylizer, "stylize", None)):
        raise TypeError("stylizer must be chapter 08's FastStyle network (stylize, num_styles)")
    for name, index in (("a", a), ("b", b)):
        if not 0 <= as_int(index, name, minimum=0) < k:
            raise ValueError(f"style {name} must be an index in 0..{k - 1}; got {index}")
    weights = np.zeros(k, np.float32)
    weights[a] += 1 - t
    weights[b] += t
    return {
        "content": content[0],
        "style a": stylizer.stylize(content, a)[0],
        "style b": stylizer.stylize(content, b)[0],
        "blend": stylizer.stylize(content, weights)[0],
    }


# =========================================================== project 2: the digital art suite

ART_STEPS = ("generate", "style", "inpaint", "super-resolve")


def pick_class(classify, prompt: str):
    """Ask a prompt classifier for a class: an int in 0..9, or None when no class matches.

    ``classify(prompt)`` may answer an int, a class name, None, or an object with a
    ``label`` attribute (chapter 09's answer); anything it cannot be is refused.
    """
    if not callable(classify):
        raise TypeError("classify must be a function prompt -> class (or None)")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"prompt must be a non-empty string; got {prompt!r}")
    answer = classify(prompt)
    answer = getattr(answer, "label", answer)
    if answer is None or (isinstance(answer, (int, np.integer)) and answer < 0):
        return None
    if isinstance(answer, str):
        if answer not in CLASS_NAMES:
            return None
        return CLASS_NAMES.index(answer)
    return _label(answer)


def box_mask(box, size: int = 28) -> np.ndarray:
    """A mask ``(1, size, size, 1)``: 1 (missing) inside ``box = (top, left, height, width)``."""
    size = as_int(size, "size", minimum=4)
    top, left, h, w = (as_int(v, "box", minimum=0) for v in box)
    if h < 1 or w < 1 or top + h > size or left + w > size:
        raise ValueError(f"box (top, left, height, width) must lie inside {size}x{size}; got {box}")
    mask = np.zeros((1, size, size, 1), np.float32)
    mask[0, top : top + h, left : left + w] = 1.0
    return mask


def generate_stage(image_model: ImageModel, label, *, seed: int = 0) -> np.ndarray:
    """Stage 1: one picture of class ``label``, grey ``(1, 28, 28, 1)`` in [0, 1]."""
    images, _ = image_model.draw(label, 1, seed=seed)
    return images


def style_stage(stylizer, images, style=0) -> np.ndarray:
    """Stage 2: restyle grey or RGB pictures in [0, 1] with chapter 08's network; ``style``
    an index or style weights. Returns RGB in [0, 1], the same size."""
    arr = as_images(images, shape=None, value_range=(0, 1))
    rgb = grey_to_rgb(arr) if arr.shape[-1] == 1 else _rgb(arr)
    return np.clip(stylizer.stylize(rgb, style), 0.0, 1.0).astype(np.float32)


def inpaint_stage(inpainter, images, masks) -> np.ndarray:
    """Stage 3: fill the masked region (1 = missing) of RGB pictures in [0, 1].

    Chapter 05's inpainter learned grey Fashion-MNIST items, so it fills the luminance
    (in [-1, 1], as it was trained); the two colour channels are filled by the biharmonic
    method (smooth, no learning). Known pixels come back unchanged.
    """
    from course_lib.models import restoration

    rgb = _rgb(images)
    masks = as_masks(masks, rgb)
    ycc = rgb_to_ycbcr(rgb)
    luma = inpainter.inpaint(from_unit(ycc[..., :1], (-1, 1)), masks)
    chroma = restoration.inpaint_biharmonic(from_unit(ycc[..., 1:], (-1, 1)), masks)
    filled = np.concatenate([to_unit(luma, (-1, 1)), to_unit(chroma, (-1, 1))], axis=-1)
    out = ycbcr_to_rgb(filled)
    return np.where(masks > 0, out, rgb).astype(np.float32)


def upscale_rgb(upscaler, images) -> np.ndarray:
    """Stage 4: super-resolve RGB pictures in [0, 1] with chapter 05's network.

    The network (``upscale`` on grey images in [-1, 1], ``scale`` times bigger) works on
    the luminance; the colour channels are blown up by bicubic interpolation, as ESPCN
    does (the eye sees detail in brightness far more than in colour).
    """
    from course_lib.models import restoration

    rgb = _rgb(images)
    scale = as_positive_int(getattr(upscaler, "scale", 0) or 0, "upscaler.scale")
    ycc = rgb_to_ycbcr(rgb)
    luma = to_unit(upscaler.upscale(from_unit(ycc[..., :1], (-1, 1))), (-1, 1))
    chroma = to_unit(restoration.bicubic_upscale(from_unit(ycc[..., 1:], (-1, 1)), scale), (-1, 1))
    if luma.shape[:3] != chroma.shape[:3]:
        raise ValueError(
            f"the upscaler gave {luma.shape}; expected {chroma.shape[:3]} (scale {scale})"
        )
    return ycbcr_to_rgb(np.concatenate([luma, chroma], axis=-1))


@dataclass
class Step:
    """One stage of an artwork: its name, its picture(s) in [0, 1] and its settings."""

    name: str
    image: np.ndarray
    settings: dict


@dataclass
class Artwork:
    """What :func:`create_artwork` made: the prompt, the class it picked, every step."""

    prompt: str
    label: int | None
    steps: list
    metadata: dict

    @property
    def final(self) -> np.ndarray:
        return self.steps[-1].image


def artwork_metadata(prompt: str, label, steps, seed: int, created: datetime | None = None) -> dict:
    """The record of an artwork, JSON-ready.

    ``steps`` is a list of ``(name, settings)`` pairs in the order they ran (a name may
    come twice); ``created`` a timezone-aware time (default now, UTC). The date is written
    in ISO 8601 with its offset; numbers become plain Python numbers.
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string; got {type(prompt).__name__}")
    created = datetime.now(timezone.utc) if created is None else created
    if not isinstance(created, datetime) or created.tzinfo is None:
        raise ValueError(
            "created must be a timezone-aware datetime (e.g. datetime.now(timezone.utc))"
        )
    label = None if label is None else _label(label)
    record_steps = []
    for item in steps:
        name, settings = item
        if not isinstance(name, str) or not isinstance(settings, dict):
            raise TypeError(f"each step must be (name, settings dict); got {item!r}")
        record_steps.append(
            {"name": name, "settings": json.loads(json.dumps(settings, default=_plain))}
        )
    return {
        "created": created.isoformat(timespec="seconds"),
        "inputs": {"prompt": prompt},
        "class": {"index": label, "name": class_name(label) if label is not None else None},
        "seed": int(seed),
        "steps": record_steps,
    }


def _plain(value):
    """JSON's fallback for NumPy numbers and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write a {type(value).__name__} into the metadata")


METADATA_KEYS = ("created", "inputs", "class", "seed", "steps")


def write_metadata(metadata: dict, path) -> Path:
    """Write an artwork's record as JSON (UTF-8, indented). Returns the path."""
    if not isinstance(metadata, dict) or set(METADATA_KEYS) - set(metadata):
        raise ValueError(f"metadata must be a dict with keys {METADATA_KEYS}")
    path = Path(path)
    path.write_text(json.dumps(metadata, indent=2, default=_plain), encoding="utf-8")
    return path


def read_metadata(path) -> dict:
    """Read a record back and check it: every key, a parseable ISO-8601 date with its
    offset, steps in a list each with a name and settings."""
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    missing = [k for k in METADATA_KEYS if k not in record]
    if missing:
        raise ValueError(f"{path}: the record lacks {missing}")
    created = datetime.fromisoformat(record["created"])
    if created.tzinfo is None:
        raise ValueError(f"{path}: the date {record['created']!r} has no time zone")
    if not isinstance(record["steps"], list) or not all(
        isinstance(s, dict) and {"name", "settings"} <= set(s) for s in record["steps"]
    ):
        raise ValueError(f"{path}: steps must be a list of {{name, settings}}")
    return record


def create_artwork(
    prompt: str,
    *,
    classify,
    generator: ImageModel,
    stylizer,
    inpainter,
    upscaler,
    style=0,
    box=(8, 8, 10, 12),
    seed: int = 0,
    created: datetime | None = None,
) -> Artwork:
    """The art suite: the prompt picks a class, then generate -> style -> inpaint (the
    ``box``, redrawn) -> super-resolve. Raises ValueError when no class matches."""
    label = pick_class(classify, prompt)
    if label is None:
        raise ValueError(
            f"no Fashion-MNIST class matches {prompt!r}: the image models draw only the ten "
            "classes, so the suite draws nothing rather than something unrelated"
        )
    base = generate_stage(generator, label, seed=seed)
    styled = style_stage(stylizer, base, style)
    mask = box_mask(box, styled.shape[1])
    filled = inpaint_stage(inpainter, styled, mask)
    big = upscale_rgb(upscaler, filled)
    style_setting = style if isinstance(style, (int, np.integer)) else np.asarray(style).tolist()
    steps = [
        Step(
            "generate",
            base,
            {"model": generator.name, "class": class_name(label), **generator.options},
        ),
        Step("style", styled, {"model": "ch08 fast style network", "style": style_setting}),
        Step("inpaint", filled, {"model": "ch05 inpainter (luminance)", "box": list(box)}),
        Step(
            "super-resolve",
            big,
            {"model": "ch05 super-resolution (luminance)", "scale": int(upscaler.scale)},
        ),
    ]
    for before, after in zip(steps, steps[1:]):
        for s in (before, after):
            if s.image.min() < 0 or s.image.max() > 1:
                raise AssertionError(f"stage {s.name} left [0, 1]")
    metadata = artwork_metadata(prompt, label, [(s.name, s.settings) for s in steps], seed, created)
    return Artwork(prompt, label, steps, metadata)


def workflow_figure(artwork: Artwork):
    """The prompt, then each stage's picture, left to right, with its size."""
    import matplotlib.pyplot as plt

    steps = artwork.steps
    fig, axes = plt.subplots(1, len(steps) + 1, figsize=(2.4 * (len(steps) + 1), 2.8))
    axes[0].text(0.5, 0.5, f'"{artwork.prompt}"\n-> {class_name(artwork.label)}', ha="center",
                 va="center", wrap=True, fontsize=9)  # fmt: skip
    axes[0].set_title("prompt")
    for ax, step in zip(axes[1:], steps):
        picture = step.image[0]
        ax.imshow(
            picture[..., 0] if picture.shape[-1] == 1 else picture, cmap="gray", vmin=0, vmax=1
        )
        ax.set_title(f"{step.name}\n{picture.shape[0]}x{picture.shape[1]}", fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


# ===================================================== project 3: the interactive assistant


def text_writer(model, tokenizer, *, temperature: float = 0.8, top_k: int | None = None):
    """Chapter 04's character-level GPT as ``write(prompt, length, *, seed) -> new text``
    (the shelf's ``TextModel.write`` is the same function).

    Characters the tokenizer never saw are left out of the prompt (the model knows only
    the characters of its training text).
    """
    from course_lib.models import gpt

    temperature = as_number(temperature, "temperature", low=0.0, low_open=True)
    known = set(getattr(tokenizer, "chars", []))
    if not known:
        raise TypeError("tokenizer must be chapter 04's CharTokenizer (it has .chars)")

    def write(prompt: str, length: int, *, seed: int = 0) -> str:
        kept = "".join(c for c in prompt if c in known) or tokenizer.chars[0]
        ids = gpt.generate(model, tokenizer.encode(kept), as_positive_int(length, "length"),
                           temperature=temperature, top_k=top_k, seed=seed)  # fmt: skip
        return tokenizer.decode(ids[len(kept) :])

    return write


@dataclass
class Idea:
    """One brainstormed idea: its id, text, the model's comment and the class it names."""

    id: str
    text: str
    commentary: str
    label: int | None = None


def _line(text: str) -> str:
    """Generated text tidied for display: one line, at most 120 characters."""
    return " ".join(text.split())[:120]


def brainstorm(
    write, topic: str, n: int = 5, *, length: int = 80, seed: int = 0, classify=None
) -> list:
    """``n`` ideas on ``topic``, each the model's continuation of the topic, with a comment:
    the model's continuation of the idea after a critic's cue. ``classify`` (optional)
    names each idea's class (None when no class matches)."""
    if not callable(write):
        raise TypeError("write must be a function (prompt, length, seed) -> text; see text_writer")
    if not isinstance(topic, str) or not topic.strip():
        raise ValueError(f"topic must be a non-empty string; got {topic!r}")
    n, length = as_positive_int(n, "n"), as_positive_int(length, "length")
    ideas = []
    for i in range(n):
        text = _line(write(f"POET.\n{topic}", length, seed=seed + i))
        comment = _line(write(f"POET.\n{topic} {text}\n\nCRITIC.\n", length, seed=seed + 100 + i))
        label = pick_class(classify, f"{topic} {text}") if classify is not None else None
        ideas.append(Idea(f"idea_{i + 1}", text, comment, label))
    return ideas


MODES = ("major", "minor")


@dataclass
class Feedback:
    """The learner's answer: which ideas to keep, a style for their images, a mode for
    their music."""

    keep: list
    style: int = 0
    mode: str = "major"

    def __post_init__(self):
        self.keep = [str(k) for k in self.keep]
        self.style = as_int(self.style, "style", minimum=0)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {self.mode!r}")


class FeedbackPanel:
    """Feedback through ipywidgets: a keep/drop toggle per idea, a style menu, a mode menu.

    Where no widget front end runs (a test run, ``nbconvert``), :meth:`show` prints the
    ideas and the scripted ``default`` answer, and :meth:`feedback` returns it, so the
    notebook runs unattended. With widgets, :meth:`feedback` reads what is set now.
    """

    def __init__(self, ideas, default: Feedback, style_names):
        self.ideas = list(ideas)
        if not self.ideas or not all(isinstance(i, Idea) for i in self.ideas):
            raise TypeError("ideas must be a non-empty list of Idea (from brainstorm)")
        if not isinstance(default, Feedback):
            raise TypeError("default must be a Feedback")
        ids = {i.id for i in self.ideas}
        if not set(default.keep) <= ids:
            raise ValueError(
                f"default keeps ideas that do not exist: {sorted(set(default.keep) - ids)}"
            )
        self.style_names = [str(s) for s in style_names]
        if not 0 <= default.style < len(self.style_names):
            raise ValueError(f"default style must be an index in 0..{len(self.style_names) - 1}")
        self.default = default
        self._controls = None

    def widget(self):
        import ipywidgets as w

        toggles = {
            idea.id: w.ToggleButtons(options=["keep", "drop"],
                                     value="keep" if idea.id in self.default.keep else "drop")
            for idea in self.ideas
        }  # fmt: skip
        style = w.Dropdown(options=[(name, k) for k, name in enumerate(self.style_names)],
                           value=self.default.style, description="style")  # fmt: skip
        mode = w.Dropdown(options=list(MODES), value=self.default.mode, description="music")
        self._controls = (toggles, style, mode)
        rows = [w.HBox([toggles[i.id], w.Label(f"{i.id}: {i.text[:70]}")]) for i in self.ideas]
        return w.VBox([*rows, style, mode])

    def feedback(self) -> Feedback:
        """The answer now: the widgets' values when shown live, else the default."""
        if self._controls is None:
            return self.default
        toggles, style, mode = self._controls
        return Feedback(
            [k for k, t in toggles.items() if t.value == "keep"], style.value, mode.value
        )

    def show(self, mode: str = "auto"):
        from course_lib.widgets import LIVE, display_mode

        if (display_mode() if mode == "auto" else mode) == LIVE:
            from IPython.display import display

            shown = self.widget()
            display(shown)
            return shown
        d = self.default
        print("No live widget front end here: the scripted answer is used.")
        print(
            f"keep {', '.join(d.keep) or 'nothing'}; style {self.style_names[d.style]!r}; music {d.mode}"
        )
        return None


def music_sketch(music_model, mode: str = "major", *, steps: int = 32, seed: int = 0) -> np.ndarray:
    """A short four-voice sketch from chapter 06's model: a grid ``(steps, 4)`` of tokens
    written from nothing but the mode's style token."""
    from course_lib.models import music

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    opening = np.zeros((0, music.NUM_VOICES), np.int32)
    return music.continue_chorale(music_model, opening, as_positive_int(steps, "steps"),
                                  mode=mode, temperature=0.9, seed=seed)  # fmt: skip


def build_assets(
    idea: Idea,
    feedback: Feedback,
    *,
    write,
    image_model: ImageModel,
    label,
    stylizer,
    music_model,
    variations: int = 3,
    length: int = 60,
    music_steps: int = 32,
    seed: int = 0,
) -> dict:
    """An idea's assets: ``variations`` rewrites of its text, one supporting picture per
    variation (class ``label``, or the variation's own class if it names one, in the chosen
    style), the variations' pictures side by side as image variations, and a music sketch
    in the chosen mode. Returns ``{"variations", "images" (RGB (k, h, w, 3) in [0, 1]),
    "music" (grid), "settings"}``."""
    if not isinstance(idea, Idea) or not isinstance(feedback, Feedback):
        raise TypeError("build_assets takes an Idea and a Feedback")
    k = as_positive_int(variations, "variations")
    texts = [_line(write(f"{idea.text}\n", length, seed=seed + j)) for j in range(k)]
    label = _label(label)
    grey = image_model.draw(label, k, seed=seed)[0]
    images = style_stage(stylizer, grey, feedback.style)
    grid = music_sketch(music_model, feedback.mode, steps=music_steps, seed=seed)
    settings = {"idea": idea.id, "class": class_name(label), "style": feedback.style,
                "mode": feedback.mode, "seed": int(seed)}  # fmt: skip
    return {"variations": texts, "images": images, "music": grid, "settings": settings}


def save_assets(assets: dict, folder, *, stem: str) -> dict:
    """Write an idea's assets: the pictures as one PNG, the music as MIDI, the texts and
    settings as JSON. Returns ``{"png", "midi", "json"}`` paths."""
    import matplotlib.pyplot as plt

    from course_lib.models import music

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = _rgb(assets["images"], "assets['images']")
    paths = {
        "png": folder / f"{stem}.png",
        "midi": folder / f"{stem}.mid",
        "json": folder / f"{stem}.json",
    }
    plt.imsave(paths["png"], np.concatenate(list(images), axis=1))
    music.write_midi(assets["music"], paths["midi"])
    record = {"variations": assets["variations"], "settings": assets["settings"]}
    paths["json"].write_text(json.dumps(record, indent=2, default=_plain), encoding="utf-8")
    return paths


# ======================================================= the course's trained models


def prompt_class(classifier, *, fallback=None):
    """Chapter 09's prompt classifier (``course_lib.prompts``) as ``classify(prompt)``:
    a class index 0-9, or None for its "none of these" answer.

    ``fallback`` (e.g. ``prompts.keyword_class``, chapter 09's word table) is asked when
    the classifier says "none of these": a prompt is refused only when both find no class.
    """
    from course_lib import prompts

    if not callable(getattr(classifier, "classify", None)):
        raise TypeError("classifier must be course_lib.prompts.prompt_classifier()'s answer")
    if fallback is not None and not callable(fallback):
        raise TypeError("fallback must be a function prompt -> class number (10: none)")

    def classify(prompt: str):
        label = int(classifier.classify([prompt])[0])
        if label == prompts.NONE and fallback is not None:
            label = int(fallback(prompt))
        return None if label == prompts.NONE else label

    return classify


def shelf_models(*, steps: int | None = None, guidance: float = 3.0, scale: int = 3) -> dict:
    """Every model the three projects use, from chapter 09's shelf (trained runs loaded,
    missing ones trained first), in the shapes this module takes them:

    ``image_models`` (GAN, VAE, class-conditional diffusion with ``steps`` DDIM steps,
    default 50 in full mode and 5 in quick mode), ``stylizer`` (chapter 08's network) and
    its ``style_names``, ``inpainter``, ``upscaler`` (x``scale``; chapter 05 trains 3),
    ``write`` (chapter 04's GPT), ``music`` (chapter 06's transformer) and ``classify``
    (chapter 09's prompt classifier, with its keyword table asked when the classifier
    finds no class; None when neither does), and ``classifier`` itself.
    """
    from course_lib import budget, prompts, shelf

    steps = budget(full=50, quick=5) if steps is None else as_positive_int(steps, "steps")
    styles = shelf.stylizer()
    classifier = prompts.prompt_classifier()
    return {
        "image_models": [
            ImageModel("GAN (ch01)", shelf.gan(), (-1, 1)),
            ImageModel("VAE (ch02)", shelf.vae(), (0, 1)),
            ImageModel(
                "diffusion (ch03)",
                shelf.diffusion(conditional=True),
                (-1, 1),
                {"steps": steps, "guidance": as_number(guidance, "guidance", low=0.0)},
            ),
        ],
        "stylizer": styles.model,
        "style_names": tuple(styles.style_names),
        "inpainter": shelf.inpainter(),
        "upscaler": shelf.super_resolver(scale),
        "write": shelf.text_model().write,
        "music": shelf.music_model().model,
        "classify": prompt_class(classifier, fallback=prompts.keyword_class),
        "classifier": classifier,
    }
