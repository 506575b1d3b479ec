"""The course's shelf of trained models: one call per model, for chapters 09 and 10.

Chapters 09 and 10 build creative tools out of the models that chapters 01-08 trained.
Each function here returns one of those models, trained: it rebuilds the model with the
chapter's preset, on the chapter's data, with the chapter's ``fit`` arguments, and hands
all of it to :func:`course_lib.train.fit_resumable`. Runs are keyed by their name *and*
their settings (see that module's docstring), so a learner who ran the chapter in full
mode gets that very run loaded, in seconds; anyone else trains it once, here, and every
later call loads it. Each function prints one line: which model, loaded or trained,
and how long it took.

Sizes come from :func:`course_lib.budget`: in full mode each function repeats its
chapter's full-mode settings exactly. In quick mode (the tests, CI) every model trains
in a few seconds on a few batches, with settings of the shelf's own (smaller than the
chapter's quick mode, so these runs are separate from the chapters' quick runs: same
name, other settings, other folder). Quick-mode models are not worth looking at; they
only prove that the code runs. Models are kept for the rest of the session, so
asking twice costs nothing.

| function | chapter | run name |
|---|---|---|
| :func:`gan` | 01, DCGAN | ``ch01_dcgan`` |
| :func:`conditional_gan` | 01, conditional GAN | ``ch01_cgan`` |
| :func:`vae` | 02, VAE with 16 latents | ``ch02_vae16`` |
| :func:`diffusion` | 03, DDPM (class-conditional or not) | ``ch03_cfg_v`` / ``ch03_ddpm_v`` |
| :func:`class_conditional_sampler` | 03 or 01 | the two above |
| :func:`text_model` | 04, character GPT on Shakespeare | ``ch04_gpt_<corpus>`` |
| :func:`super_resolver` | 05, ESPCN/EDSR on photo patches | ``ch05_<kind>_x<scale>`` |
| :func:`inpainter` | 05, inpainting U-Net | ``ch05_inpainter`` |
| :func:`music_model` | 06, chorale transformer | ``ch06_gpt`` |
| :func:`video_gan` | 07, 3D-conv video GAN | ``ch07_video_gan`` |
| :func:`frame_predictor` | 07, next-frame predictor | ``ch07_frame_predictor`` |
| :func:`stylizer` | 08, fast style network, three styles | ``ch08_fast_style_3`` |
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass, field

import keras
import numpy as np

from course_lib import budget
from course_lib.conventions import as_int
from course_lib.train import fingerprint, fingerprint_id, fit_resumable, load_state, run_folder

FASHION_RANGE = (-1.0, 1.0)  # pixels of every image model on the shelf but the VAE
LATENT = 64  # chapter 01's latent size
SEED = 0  # the seed every chapter notebook uses (seed_everything(0))
PROMPT_RUN = "ch09_prompt_classifier"  # course_lib.prompts fine-tunes this run

_CACHE: dict = {}


def clear() -> None:
    """Forget the models kept in this session (the saved runs stay on disk)."""
    _CACHE.clear()


def _where() -> str:
    """The folder of this mode's runs (``runs/quick`` or ``runs/full``, under
    ``$COURSE_RUNS_DIR`` when set): models are kept per folder."""
    return str(run_folder("shelf").parent)


def _kept(key):
    """A model already built in this session for the current runs folder, or None."""
    return _CACHE.get((_where(), *key))


def _keep(key, value):
    _CACHE[(_where(), *key)] = value
    return value


def train_or_load(what: str, model, x, y=None, *, epochs: int, **fit_kwargs):
    """Train ``model`` with ``fit_resumable`` under its ``run_name``, or load the run
    saved with these settings, and print one line instead of fit's own:
    ``shelf: <what> (run <name>): loaded|trained in <s> s``. Returns the model."""
    if not isinstance(what, str) or not what:
        raise ValueError(f"what must say which model this is, as text; got {what!r}")
    if not isinstance(getattr(model, "run_name", None), str):
        raise ValueError("model must carry its run name (model.run_name = '...')")
    name = model.run_name
    start = time.perf_counter()
    run_id = fingerprint_id(fingerprint(model, x, y, **fit_kwargs))
    state = load_state(name, run_id)
    finished = state is not None and int(state.get("epoch", 0)) >= epochs
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter):
            fit_resumable(model, x, y, name=name, epochs=epochs, verbose=0, **fit_kwargs)
    except Exception:
        print(chatter.getvalue(), end="")
        raise
    how = "loaded" if finished else "trained"
    print(f"shelf: {what} (run {name}): {how} in {time.perf_counter() - start:.1f} s")
    return model


def _fashion(value_range=FASHION_RANGE, limit=None):
    from course_lib import data

    with contextlib.redirect_stdout(io.StringIO()):
        return data.load_fashion_mnist("train", value_range=value_range, limit=limit)


# ---------------------------------------------------------------------- image models


def gan():
    """Chapter 01's DCGAN (``course_dcgan``), unconditional: images in [-1, 1].

    The chapter's full-mode settings: all 60,000 training images, 10 epochs, batches
    of 128. ``gan().sample(n, seed=...)`` draws images.
    """
    if (kept := _kept(("gan",))) is not None:
        return kept
    from course_lib.models import gan as gan_models

    x, _ = _fashion(limit=budget(full=None, quick=256))
    model = gan_models.course_dcgan(LATENT)
    train_or_load(
        "DCGAN (chapter 01)",
        model,
        x,
        epochs=budget(full=10, quick=1),
        batch_size=model.batch_size,
    )
    return _keep(("gan",), model)


def conditional_gan():
    """Chapter 01's conditional GAN: ``generate(labels, z)`` draws the classes asked for.

    Built as the chapter's notebook builds it (width 64, latent 64), on the same data
    (every training image with its label), 8 epochs, batches of 128.
    """
    if (kept := _kept(("cgan",))) is not None:
        return kept
    from course_lib.models import gan as gan_models

    x, y = _fashion(limit=budget(full=None, quick=256))
    model = gan_models.ConditionalGAN(
        gan_models.build_conditional_generator(LATENT, width=64),
        gan_models.build_conditional_discriminator(width=64),
        LATENT,
    )
    model.compile()
    model.run_name = "ch01_cgan"
    train_or_load(
        "conditional GAN (chapter 01)", model, x, y, epochs=budget(full=8, quick=1), batch_size=128
    )
    return _keep(("cgan",), model)


def vae():
    """Chapter 02's VAE with 16 latent dimensions: images in [0, 1] (not [-1, 1]).

    The chapter's settings: every training image, Adam(1e-3), 12 epochs,
    batches of 128. ``vae().sample(n, seed=...)`` draws images.
    """
    if (kept := _kept(("vae",))) is not None:
        return kept
    from course_lib.models import vae as vae_models

    x, _ = _fashion(value_range=(0.0, 1.0), limit=budget(full=None, quick=256))
    model = vae_models.VAE(latent_dim=16, seed=SEED)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3))
    model.run_name = "ch02_vae16"
    train_or_load("VAE (chapter 02)", model, x, epochs=budget(full=12, quick=1), batch_size=128)
    return _keep(("vae",), model)


def diffusion(conditional: bool = True):
    """Chapter 03's diffusion model: class-conditional (classifier-free guidance, run
    ``ch03_cfg_v``) or not (``ch03_ddpm_v``). Images in [-1, 1].

    The chapter's settings: T = 1000 steps, every training image, batches of 128;
    5 epochs conditional, 10 not. Sample with ``sample_ddim(n, steps, labels=..., guidance=3.0, seed=...)``.
    """
    if not isinstance(conditional, bool):
        raise TypeError(f"conditional must be True or False; got {conditional!r}")
    if (kept := _kept(("diffusion", conditional))) is not None:
        return kept
    from course_lib.models import diffusion as diffusion_models

    x, y = _fashion(limit=budget(full=None, quick=128))
    timesteps = budget(full=1000, quick=100)
    if conditional:
        model = diffusion_models.course_model(num_classes=10, timesteps=timesteps)
        labels, epochs, what = y.astype(np.int32), budget(full=5, quick=1), "conditional"
    else:
        model = diffusion_models.course_model(timesteps=timesteps)
        labels, epochs, what = None, budget(full=10, quick=1), "unconditional"
    train_or_load(
        f"{what} diffusion model (chapter 03)", model, x, labels, epochs=epochs, batch_size=128
    )
    return _keep(("diffusion", conditional), model)


@dataclass
class ClassSampler:
    """Draws Fashion-MNIST images of the classes asked for, in [-1, 1], (n, 28, 28, 1).

    ``source`` says which model draws them: ``"diffusion"`` (chapter 03's DDIM sampler
    with classifier-free guidance, ``steps`` network calls per image) or ``"gan"``
    (chapter 01's conditional GAN: one call).
    """

    source: str
    model: object
    steps: int = 50
    guidance: float = 3.0

    def sample(self, labels, *, seed: int = 0) -> np.ndarray:
        """One image per label (ints 0-9), the same images for the same seed."""
        labels = np.atleast_1d(np.asarray(labels))
        if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be one or more class numbers 0-9; got {labels!r}")
        if labels.min() < 0 or labels.max() > 9:
            raise ValueError(f"labels must be class numbers 0-9; got {labels.tolist()}")
        seed = as_int(seed, "seed", minimum=0)
        labels = labels.astype(np.int32)
        if self.source == "diffusion":
            return self.model.sample_ddim(
                len(labels), self.steps, labels=labels, guidance=self.guidance, seed=seed
            )
        from course_lib.models import gan as gan_models

        z = gan_models.latent_noise(len(labels), self.model.latent_dim, seed=seed)
        return np.clip(self.model.generate(labels, z), -1.0, 1.0)


def class_conditional_sampler(source: str = "diffusion", *, steps: int | None = None):
    """A :class:`ClassSampler`: images of a given Fashion-MNIST class.

    ``source="diffusion"`` (default) uses chapter 03's conditional diffusion model with
    ``steps`` DDIM steps (50 in full mode, 5 in quick mode unless given);
    ``source="gan"`` chapter 01's conditional GAN (faster, less varied).
    """
    if source not in ("diffusion", "gan"):
        raise ValueError(f"source must be 'diffusion' or 'gan'; got {source!r}")
    if source == "gan":
        return ClassSampler("gan", conditional_gan(), steps=1)
    steps = budget(full=50, quick=5) if steps is None else as_int(steps, "steps", minimum=1)
    return ClassSampler("diffusion", diffusion(conditional=True), steps=steps)


def super_resolver(scale: int = 3, kind: str = "espcn"):
    """Chapter 05's super-resolution network (``course_super_resolution``): grey images in
    [-1, 1], (n, h, w, 1) -> (n, h * scale, w * scale, 1) with ``upscale(images)``.

    Trained as the chapter trains it, on 48x48 luminance patches of the course's photos
    (8,000), batches of 32; ESPCN 20 epochs, EDSR 8. The chapter trains scale 3: that run is loaded; other scales train their own.
    """
    scale = as_int(scale, "scale", minimum=2)
    if 48 % scale:
        raise ValueError(
            f"scale must divide the 48-pixel training patches (2, 3, 4...); got {scale}"
        )
    if kind not in ("espcn", "edsr"):
        raise ValueError(f"kind must be 'espcn' or 'edsr'; got {kind!r}")
    if (kept := _kept(("sr", kind, scale))) is not None:
        return kept
    from course_lib import data
    from course_lib.models import restoration

    with contextlib.redirect_stdout(io.StringIO()):
        photos, _ = data.load_photo_patches(
            "train", n=budget(full=8000, quick=128), size=48, value_range=FASHION_RANGE
        )
    low, high = restoration.super_resolution_pairs(photos, scale)
    model = restoration.course_super_resolution(kind, scale)
    epochs = {"espcn": budget(full=20, quick=1), "edsr": budget(full=8, quick=1)}[kind]
    train_or_load(
        f"{kind.upper()} x{scale} super-resolution (chapter 05)",
        model,
        low,
        high,
        epochs=epochs,
        batch_size=32,
    )
    return _keep(("sr", kind, scale), model)


def inpainter():
    """Chapter 05's inpainting U-Net for 28x28 images in [-1, 1]:
    ``inpaint(images, masks)`` (masks 1 where pixels are missing).

    The chapter's settings: 12,000 training images, its bank of 4,096 rectangle
    masks, 3 epochs.
    """
    if (kept := _kept(("inpainter",))) is not None:
        return kept
    from course_lib.models import restoration

    x, _ = _fashion(limit=budget(full=12000, quick=128))
    masks = restoration.rectangle_masks(4096, 28, min_side=10, max_side=14, seed=0)
    model = restoration.course_inpainter()
    train_or_load("inpainter (chapter 05)", model, x, masks, epochs=budget(full=3, quick=1))
    return _keep(("inpainter",), model)


STYLE_SET_TAIL = ("mosaic", "stripes")  # chapter 08's second and third styles


@dataclass
class Stylizer:
    """Chapter 08's fast style network and the names of the styles it learned."""

    model: object
    style_names: tuple

    def stylize(self, images, style=0) -> np.ndarray:
        """RGB images in [0, 1] (sides multiples of 4) repainted in ``style``: an index,
        a style's name, or one weight per style (blended in style space, not pixels)."""
        if isinstance(style, str):
            if style not in self.style_names:
                raise ValueError(f"style must be one of {self.style_names}; got {style!r}")
            style = self.style_names.index(style)
        return self.model.stylize(images, style)


def stylizer():
    """Chapter 08's fast style network with three styles (conditional instance norm), as a
    :class:`Stylizer`: ``stylize(images, style)`` on RGB images in [0, 1].

    The chapter's settings: Starry Night (or "waves" without opencv-doc), mosaic and
    stripes at 192 pixels; 600 photo patches of 64 pixels, 4 epochs, batches of 4; run ``ch08_fast_style_3``.
    """
    if (kept := _kept(("stylizer",))) is not None:
        return kept
    from course_lib import data
    from course_lib.data import styles
    from course_lib.models import style

    size = budget(full=192, quick=32)
    with contextlib.redirect_stdout(io.StringIO()):
        features = style.style_features()
        first = "starry_night" if "starry_night" in styles.style_names() else "waves"
        names = (first, *STYLE_SET_TAIL)
        images = np.stack([styles.load_style_image(n, size, verbose=False) for n in names])
        patch = budget(full=64, quick=16)
        photos, _ = data.load_photo_patches(
            "train", n=budget(full=600, quick=4), size=patch, channels="rgb"
        )
    model = style.course_stylizer(features, images)
    train_or_load(
        f"fast style network, styles {', '.join(names)} (chapter 08)",
        model,
        photos,
        epochs=budget(full=4, quick=1),
        batch_size=model.batch_size,
    )
    return _keep(("stylizer",), Stylizer(model, names))


# ---------------------------------------------------------------------- text and music


@dataclass
class TextModel:
    """Chapter 04's character-level GPT with its tokenizer and the corpus it read."""

    model: object
    tokenizer: object
    corpus: str

    def clean(self, prompt: str) -> str:
        """``prompt`` without the characters the tokenizer never saw (they cannot be fed)."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str; got {type(prompt).__name__}")
        known = set(self.tokenizer.chars)
        return "".join(c for c in prompt if c in known)

    def write(self, prompt: str, length: int, *, temperature: float = 0.8, seed: int = 0) -> str:
        """``length`` new characters after ``prompt`` (returned without the prompt)."""
        from course_lib.models import gpt

        prompt = self.clean(prompt) or "\n"
        length = as_int(length, "length", minimum=1)
        ids = gpt.generate(
            self.model, self.tokenizer.encode(prompt), length, temperature=temperature, seed=seed
        )
        return self.tokenizer.decode(ids[len(prompt) :])


def text_model():
    """Chapter 04's mini-GPT on Shakespeare, with its character tokenizer: a
    :class:`TextModel` (``write(prompt, length, temperature=0.8, seed=0)``).

    The chapter's full-mode settings, so its run loads: the whole corpus, a context of
    64, width 128, 2 blocks of 4 heads, 100 batches an epoch, 20 epochs, the chapter's
    validation windows.
    """
    if (kept := _kept(("text",))) is not None:
        return kept
    from course_lib import data
    from course_lib.models import gpt
    from course_lib.tokenizers import CharTokenizer

    context = 64
    with contextlib.redirect_stdout(io.StringIO()):
        corpus = data.load_text_corpus(limit=budget(full=None, quick=400_000))
    tokenizer = CharTokenizer.fit(corpus.text)
    train_ids = tokenizer.encode(corpus.train)
    val_x, val_y = gpt.validation_windows(tokenizer.encode(corpus.validation), context)
    n_val = min(len(val_x), budget(full=1024, quick=0))  # quick mode: not scored
    keep = np.linspace(0, len(val_x) - 1, n_val).astype(int)
    model = gpt.course_gpt(
        tokenizer.vocab_size,
        context,
        d_model=budget(full=128, quick=32),
        num_heads=4,
        num_layers=2,
        corpus=corpus.name,
    )
    stream = gpt.lm_dataset(train_ids, context, model.batch_size, seed=SEED)
    # the chapter scores every epoch on validation windows; quick mode skips that
    # (tracing the test step alone would double the few seconds it trains)
    scoring = {"validation_data": (val_x[keep], val_y[keep])} if n_val else {}
    train_or_load(
        f"character GPT on {corpus.name} (chapter 04)",
        model,
        stream,
        epochs=budget(full=20, quick=1),
        steps_per_epoch=budget(full=100, quick=4),
        **scoring,
    )
    return _keep(("text",), TextModel(model, tokenizer, corpus.name))


@dataclass
class MusicModel:
    """Chapter 06's chorale transformer, and a two-bar opening from a held-out chorale in
    each mode (``openings["major"]``, ``openings["minor"]``: grids (32, 4) of tokens)."""

    model: object
    openings: dict = field(default_factory=dict)


def music_model():
    """Chapter 06's transformer on Bach chorales (``course_music_gpt``): a :class:`MusicModel`.

    The chapter's full-mode settings: every chorale transposed to all keys, a context
    of 128 tokens, width 128, 180 batches an epoch, 8 epochs.
    """
    if (kept := _kept(("music",))) is not None:
        return kept
    from course_lib.data import chorales as chorale_data
    from course_lib.models import gpt, music

    with contextlib.redirect_stdout(io.StringIO()):
        chorales = chorale_data.load_chorales(budget(full=None, quick=20), verbose=False)
    train, test = chorale_data.split_chorales(chorales)
    train_ids = music.chorale_tokens(train, transpose=True)
    model = music.course_music_gpt(128, d_model=budget(full=128, quick=32))
    train_or_load(
        "chorale transformer (chapter 06)",
        model,
        gpt.lm_dataset(train_ids, 128, model.batch_size, seed=SEED),
        epochs=budget(full=8, quick=1),
        steps_per_epoch=budget(full=180, quick=3),
    )
    openings = {}
    for piece in [*test, *train]:
        if piece.mode not in openings:
            openings[piece.mode] = music.encode_chorale(piece)[:32]
    return _keep(("music",), MusicModel(model, openings))


# ---------------------------------------------------------------------- video


def video_gan():
    """Chapter 07's 3D-convolution video GAN: ``sample(n, seed=...)`` gives clips of
    shapes in [-1, 1], (n, frames, 32, 32, 1).

    The chapter's settings: 1,600 clips of moving shapes, 8 epochs.
    """
    if (kept := _kept(("video_gan",))) is not None:
        return kept
    from course_lib import data
    from course_lib.models import video

    clips, _ = data.moving_sprites(
        budget(full=1600, quick=32), sprites="shapes", value_range=FASHION_RANGE, seed=2
    )
    model = video.course_video_gan()
    train_or_load(
        "video GAN (chapter 07)",
        model,
        clips,
        epochs=budget(full=8, quick=1),
        batch_size=model.batch_size,
    )
    return _keep(("video_gan",), model)


def frame_predictor():
    """Chapter 07's next-frame predictor (4 frames of context): ``rollout(context, n)``
    continues clips in [0, 1], (n, 4, 32, 32, 1).

    The chapter's settings: 3,000 moving-sprite clips, 6 epochs.
    """
    if (kept := _kept(("frame_predictor",))) is not None:
        return kept
    from course_lib import data
    from course_lib.models import video

    clips, _ = data.moving_sprites(budget(full=3000, quick=32), split="train", seed=0)
    model = video.course_frame_predictor(context=4)
    train_or_load(
        "frame predictor (chapter 07)",
        model,
        clips,
        epochs=budget(full=6, quick=1),
        batch_size=model.batch_size,
    )
    return _keep(("frame_predictor",), model)
