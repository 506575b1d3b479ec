"""Chapter 09's benchmark: seconds per artwork of the art pipeline, models already trained.

    flock /tmp/course-bench.lock .venv/bin/python benchmarks/creative.py

One artwork is the whole pipeline of ``course_lib.creative.art_pipeline``: the prompt
classifier (chapter 04's GPT, fine-tuned) picks the class, the class-conditional
diffusion model draws the concept with ``--steps`` DDIM steps (default 50; ``--source
gan`` uses chapter 01's conditional GAN), ESPCN makes it 3x bigger, the style network
paints it. The models come from :mod:`course_lib.shelf` (in full mode: the chapters'
saved runs, trained first where missing, which this script does not time). One artwork
is drawn first and not counted (it compiles the samplers); then ``--n`` artworks
(default 5) are timed, each stage on its own clock. The issue's target: at most 30 s
per artwork on 2 CPU cores.

Small settings make it a smoke test (``tests/test_benchmarks.py``): ``--n 1 --steps 2
--source gan --classifier keywords`` in quick mode. ``main(argv)`` returns the figures.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROMPTS = (
    "a long winter coat",
    "bright summer sandals",
    "an elegant black dress",
    "running sneakers",
    "a leather handbag",
    "cozy ankle boots",
)
STYLES = ("starry_night", "mosaic", "stripes")
TARGET_SECONDS = 30.0


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5, help="artworks timed (after one warm-up)")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps of the concept")
    parser.add_argument("--source", choices=("diffusion", "gan"), default="diffusion")
    parser.add_argument(
        "--classifier",
        choices=("gpt", "keywords"),
        default="gpt",
        help="the prompt classifier, or the keyword table (no text model: a smoke test)",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.steps < 1:
        parser.error("--n and --steps must be at least 1")

    import numpy as np

    from course_lib import config, creative, prompts, shelf

    print(config.device_summary())
    start = time.perf_counter()
    if args.classifier == "gpt":
        classify = prompts.prompt_classifier().classify
    else:
        classify = prompts.keyword_classes
    sampler = shelf.class_conditional_sampler(
        args.source, steps=args.steps if args.source == "diffusion" else None
    )
    upscaler, painter = shelf.super_resolver(3), shelf.stylizer()
    print(f"models ready in {time.perf_counter() - start:.1f} s (loading or training)")

    stages = {"classify": [], "concept": [], "enhance": [], "refine": [], "total": []}
    for i in range(args.n + 1):
        prompt, style = PROMPTS[i % len(PROMPTS)], STYLES[i % len(STYLES)]
        clock = time.perf_counter()
        label = int(np.asarray(classify([prompt]))[0])
        label = 4 if label == prompts.NONE else label  # "Coat" when the classifier doubts
        t1 = time.perf_counter()
        sketch = creative.concept(sampler, label, seed=i)
        t2 = time.perf_counter()
        bigger = creative.enhance(upscaler, sketch)
        t3 = time.perf_counter()
        painted = creative.refine(painter, bigger, style)
        t4 = time.perf_counter()
        assert painted.shape == (1, 84, 84, 3)
        if i == 0:
            print(f"warm-up artwork (compiles the samplers, not counted): {t4 - clock:.1f} s")
            continue
        for key, seconds in zip(
            stages, (t1 - clock, t2 - t1, t3 - t2, t4 - t3, t4 - clock), strict=True
        ):
            stages[key].append(seconds)
    means = {key: float(np.mean(v)) for key, v in stages.items()}
    worst = float(np.max(stages["total"]))
    what = f"{args.source}" + (f", {args.steps} DDIM steps" if args.source == "diffusion" else "")
    print(f"seconds per artwork ({what}; {args.n} artworks, after a warm-up):")
    for key in ("classify", "concept", "enhance", "refine"):
        print(f"  {key:9s} {means[key]:7.2f} s")
    print(f"  {'total':9s} {means['total']:7.2f} s (slowest {worst:.2f} s)")
    verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
    print(f"target (at most {TARGET_SECONDS:g} s per artwork): {verdict}")
    return {"stages": means, "slowest": worst, "target_met": worst <= TARGET_SECONDS}


if __name__ == "__main__":
    main()
