"""Chapter 10's benchmark: seconds per artwork for each of the three projects.

    flock /tmp/course-bench.lock .venv/bin/python benchmarks/projects.py

One artwork is, for each project, what the notebook makes once:

* **image generator**: the gallery (``--per-model`` pictures of one class from the GAN,
  the VAE and the diffusion model with its ``--steps``-step sampler), saved as a PNG, and
  the 2x2 style blend;
* **art suite**: generate -> style -> inpaint -> super-resolve for one prompt, the
  workflow figure and the metadata JSON written;
* **assistant**: five ideas with comments from the text model, then one kept idea's
  assets (three variations, their pictures, a music sketch) written as PNG, MIDI, JSON.

The models are the course's trained ones (``--models shelf``: chapter 09's
``course_lib.shelf`` loads the finished runs, or trains the missing ones first; that
training is not timed). ``--models tiny`` builds tiny untrained models instead: the
smoke test (``tests/test_benchmarks.py``), which times the plumbing only.
``--models presets`` builds the full-size networks untrained (no training, no shelf):
the same work per artwork as the trained models, so the times hold. Each project
runs once to warm up (tracing), then ``--repeats`` times; the best time is reported,
with the target of 30 s per artwork on 2 cores. ``main(argv)`` returns the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_SECONDS = 30.0


def tiny_models() -> dict:
    """The smallest model of each family, untrained: for the smoke test."""
    import numpy as np

    from course_lib import projects
    from course_lib.models import diffusion, gan, gpt, music, restoration, style, vae
    from course_lib.tokenizers import CharTokenizer

    features = style.style_features("random", widths=(4, 4, 4, 4, 4), verbose=False)
    styles = np.random.default_rng(0).uniform(0, 1, (3, 16, 16, 3)).astype(np.float32)
    tok = CharTokenizer.fit("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,\n")
    return {
        "image_models": [
            projects.ImageModel("GAN", gan.course_dcgan(width=8), (-1, 1)),
            projects.ImageModel("VAE", vae.VAE(4), (0, 1)),
            projects.ImageModel(
                "diffusion",
                diffusion.DiffusionModel(timesteps=10, num_classes=10, channels=(8, 8)),
                (-1, 1),
                {"steps": 3},
            ),
        ],
        "stylizer": style.FastStyle(
            style.build_stylizer(3, width=4, res_blocks=0), features, styles
        ),
        "inpainter": restoration.course_inpainter(),
        "upscaler": restoration.course_super_resolution("espcn", 2),
        "write": projects.text_writer(gpt.GPT(tok.vocab_size, 16, 16, 2, 1), tok),
        "music": music.course_music_gpt(context_length=16, d_model=16, num_heads=2, num_layers=1),
        "classify": lambda prompt: 5,
    }


def preset_models(steps: int) -> dict:
    """The full-size networks the shelf trains in full mode (the chapters' presets), left
    untrained: the same computation per artwork as the trained models, so the times hold,
    the pictures and texts do not. The prompt goes through chapter 09's keyword table."""
    import numpy as np

    from course_lib import projects, prompts
    from course_lib.data import styles as style_data
    from course_lib.models import diffusion, gan, gpt, music, restoration, style, vae
    from course_lib.tokenizers import CharTokenizer

    features = style.style_features("random", verbose=False)
    names = ("waves", "mosaic", "stripes")
    paintings = np.stack([style_data.load_style_image(n, 64, verbose=False) for n in names])
    tok = CharTokenizer.fit("".join(chr(c) for c in range(32, 127)) + "\n")
    v = vae.VAE(latent_dim=16)
    return {
        "image_models": [
            projects.ImageModel("GAN", gan.course_dcgan(64), (-1, 1)),
            projects.ImageModel("VAE", v, (0, 1)),
            projects.ImageModel(
                "diffusion",
                diffusion.course_model(num_classes=10, timesteps=1000),
                (-1, 1),
                {"steps": steps, "guidance": 3.0},
            ),
        ],
        "stylizer": style.course_stylizer(features, paintings),
        "inpainter": restoration.course_inpainter(),
        "upscaler": restoration.course_super_resolution("espcn", 3),
        "write": projects.text_writer(gpt.course_gpt(tok.vocab_size, 64, d_model=128), tok),
        "music": music.course_music_gpt(128, d_model=128),
        "classify": lambda prompt: (
            None if prompts.keyword_class(prompt) == prompts.NONE else prompts.keyword_class(prompt)
        ),
    }


def shelf_models(steps: int) -> dict:
    """The course's trained models, through chapter 10's adapter over chapter 09's shelf."""
    from course_lib import projects

    return projects.shelf_models(steps=steps)


def _timed(fn, repeats: int) -> float:
    """The best of ``repeats`` runs after a warm-up; ``repeats=0``: the first run alone
    (tracing included)."""
    start = time.perf_counter()
    fn()  # warm-up: tracing and first calls
    if repeats == 0:
        return time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", choices=("shelf", "presets", "tiny"), default="shelf")
    parser.add_argument("--steps", type=int, default=50, help="the diffusion sampler's steps")
    parser.add_argument(
        "--per-model", type=int, default=4, help="pictures per model in the gallery"
    )
    parser.add_argument("--text-length", type=int, default=80, help="characters per idea")
    parser.add_argument("--music-steps", type=int, default=32, help="sixteenth steps of music")
    parser.add_argument(
        "--repeats", type=int, default=2, help="timed runs after the warm-up (0: time the warm-up)"
    )
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_lib import projects

    build = {"tiny": lambda: tiny_models(), "presets": lambda: preset_models(args.steps)}
    m = build.get(args.models, lambda: shelf_models(args.steps))()
    folder = Path(tempfile.mkdtemp(prefix="ch10_bench_"))

    def image_generator():
        gallery = projects.comparison_gallery(m["image_models"], 5, n=args.per_model)
        projects.save_gallery(gallery, folder / "gallery.png", title="Sandal")
        content = projects.grey_to_rgb(gallery[m["image_models"][-1].name][0][:1])[0]
        projects.style_blend_grid(m["stylizer"], content, 0, 1, 0.5)

    def art_suite():
        art = projects.create_artwork(
            "a sandal for a summer walk",
            classify=m["classify"],
            generator=m["image_models"][-1],
            stylizer=m["stylizer"],
            inpainter=m["inpainter"],
            upscaler=m["upscaler"],
        )
        projects.write_metadata(art.metadata, folder / "artwork.json")
        plt.close(projects.workflow_figure(art))

    def assistant():
        ideas = projects.brainstorm(m["write"], "A sandal for the city", 5, length=args.text_length)
        feedback = projects.Feedback([ideas[0].id], style=1, mode="minor")
        assets = projects.build_assets(
            ideas[0],
            feedback,
            write=m["write"],
            image_model=m["image_models"][-1],
            label=5,
            stylizer=m["stylizer"],
            music_model=m["music"],
            length=args.text_length,
            music_steps=args.music_steps,
        )
        projects.save_assets(assets, folder, stem="idea")

    results = {}
    for name, fn in (
        ("image generator", image_generator),
        ("art suite", art_suite),
        ("assistant", assistant),
    ):
        results[name] = _timed(fn, args.repeats)
        verdict = "within" if results[name] <= TARGET_SECONDS else "over"
        print(
            f"{name:16s} {results[name]:7.2f} s per artwork ({verdict} the {TARGET_SECONDS:.0f} s target)"
        )
    how = (
        f"best of {args.repeats} after a warm-up" if args.repeats else "first run, tracing included"
    )
    print(f"models: {args.models}; {how}; files in {folder}")
    return results


if __name__ == "__main__":
    main()
