"""Chapter 08's benchmark: Gatys' optimisation against a fast feed-forward network, beside
two baselines, on one content photo and one style image.

    flock /tmp/course-bench.lock .venv/bin/python benchmarks/bench_style.py

All losses are measured with the same features (:func:`course_lib.models.style.style_features`:
ImageNet VGG19 when its weights are in the Keras cache, else the random VGG19-shaped
network; the first line says which) at ``--size`` pixels (default 256):

* **baselines**: the content photo itself (no style at all) and a colour-histogram
  transfer (scikit-image's ``match_histograms``: the photo given the painting's colours);
* **Gatys**: :class:`course_lib.models.style.GatysTransfer` after ``--steps`` steps
  (default 200), with its time;
* **fast network**: :func:`course_lib.models.style.course_stylizer` trained for
  ``--fast-seconds`` (default 600) on ``--patch`` pixel patches of the training photos,
  then one pass over the content photo: its losses, milliseconds per picture, and both
  against Gatys'. The chapter's target: the fast network's style loss within 1.5x of
  Gatys' at 100x less time per picture or better;
* **AdaIN**: :func:`course_lib.models.style.course_adain` trained for ``--adain-seconds``
  (default 600) on the same patches, with every style image but the benchmark's (which it
  never sees), then one pass with the benchmark's style image: its losses against Gatys'
  and milliseconds per picture (the style image's encoding included).

Smaller sizes make it a smoke test (``tests/test_benchmarks.py``): ``--size 16 --steps 2
--fast-seconds 1 --adain-seconds 1 --n-train 8 --patch 16 --widths 4,4,8,8,8 --width 4``. ``main(argv)`` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _losses(transfer, image) -> tuple[float, float]:
    found = transfer.losses(image[None])
    return float(found["style"]), float(found["content"])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256, help="side of the pictures")
    parser.add_argument("--steps", type=int, default=200, help="Gatys' optimisation steps")
    parser.add_argument(
        "--fast-seconds", type=float, default=600.0, help="fast network's training time"
    )
    parser.add_argument(
        "--adain-seconds", type=float, default=600.0, help="AdaIN decoder's training time"
    )
    parser.add_argument("--n-train", type=int, default=800, help="training photo patches")
    parser.add_argument("--patch", type=int, default=64, help="side of a training patch")
    parser.add_argument("--content", default="coffee", help="a held-out photo (data.photo_names)")
    parser.add_argument("--style", default="starry_night", help="a style (data.styles.STYLE_NAMES)")
    parser.add_argument("--width", type=int, default=16, help="the fast network's first width")
    parser.add_argument(
        "--widths",
        default=None,
        help="filters per block of a RANDOM feature network, e.g. 4,4,8,8,8 (a smoke test); "
        "default: ImageNet VGG19 when cached, else random with VGG19's widths",
    )
    args = parser.parse_args(argv)

    import numpy as np
    from _timing import train_for
    from skimage.exposure import match_histograms

    from course_lib import data, seed_everything
    from course_lib.data import styles
    from course_lib.models import style

    seed_everything(0)
    widths = tuple(int(w) for w in args.widths.split(",")) if args.widths else None
    features = style.style_features("random" if widths else "auto", widths=widths)
    name = args.style if args.style in styles.style_names() else "waves"
    content = styles.load_content_image(args.content, args.size)
    painting = styles.load_style_image(name, args.size)
    transfer = style.GatysTransfer(features, content, painting)

    results = {"features": features.source, "style": name, "size": args.size}
    histogram = match_histograms(content, painting, channel_axis=-1).astype("float32")
    for label, picture in (("content photo", content), ("colour histogram", histogram)):
        results[label] = dict(zip(("style", "content"), _losses(transfer, picture)))

    transfer.step()  # trace the compiled step outside the clock, as the network's warm-up
    history = transfer.run(args.steps)
    gatys = transfer.result()
    s, c = _losses(transfer, gatys)
    gatys_ms = 1000 * history["seconds"] * (args.steps + 1) / args.steps
    results["gatys"] = {"style": s, "content": c, "ms": gatys_ms, "steps": args.steps}

    photos, _ = data.load_photo_patches("train", n=args.n_train, size=args.patch, channels="rgb")
    fast = style.course_stylizer(features, painting, width=args.width)
    trained = train_for(fast, photos, args.fast_seconds)
    out = fast.stylize(content)
    s, c = _losses(transfer, out)
    ms = style.ms_per_image(fast, content[None])
    results["fast"] = {"style": s, "content": c, "ms": ms, **trained}

    others = [n for n in styles.style_names() if n != name]
    train_styles = np.stack([styles.load_style_image(n, args.size, verbose=False) for n in others])
    adain_features = style.adain_features(features.source, widths=widths, verbose=False)
    arbitrary = style.course_adain(train_styles, features=adain_features, width=2 * args.width)
    adain_trained = train_for(arbitrary, photos, args.adain_seconds)
    out = arbitrary.stylize(content, painting)
    s, c = _losses(transfer, out)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        arbitrary.stylize(content, painting)
        best = min(best, time.perf_counter() - start)
    results["adain"] = {
        "style": s,
        "content": c,
        "ms": 1000 * best,
        "held_out": name,
        **adain_trained,
    }

    print(
        f"\nstyle {name!r}, content {args.content!r}, {args.size}x{args.size}, features: {features.source}"
    )
    print(f"{'method':18s} {'style loss':>10s} {'content loss':>12s} {'ms / picture':>13s}")
    for label in ("content photo", "colour histogram"):
        row = results[label]
        print(f"{label:18s} {row['style']:10.4f} {row['content']:12.4f} {'-':>13s}")
    rows = (
        (f"Gatys ({args.steps} steps)", "gatys"),
        ("fast network", "fast"),
        ("AdaIN (unseen)", "adain"),
    )
    for label, key in rows:
        row = results[key]
        print(f"{label:18s} {row['style']:10.4f} {row['content']:12.4f} {row['ms']:13.1f}")
    ratio = results["fast"]["style"] / max(results["gatys"]["style"], 1e-12)
    speedup = results["gatys"]["ms"] / max(ms, 1e-9)
    results["ratio"], results["speedup"] = ratio, speedup
    met = ratio <= 1.5 and speedup >= 100
    print(
        f"fast network: {trained['steps']} steps ({trained['epochs']:.1f} epochs) in "
        f"{trained['seconds']:.0f} s; style loss {ratio:.2f}x Gatys', {speedup:.0f}x faster per picture"
    )
    a = results["adain"]
    results["adain_ratio"] = a["style"] / max(results["gatys"]["style"], 1e-12)
    results["adain_content_ratio"] = a["content"] / max(results["gatys"]["content"], 1e-12)
    print(
        f"AdaIN: {a['steps']} steps ({a['epochs']:.1f} epochs) in {a['seconds']:.0f} s, style {name!r} "
        f"never seen; style loss {results['adain_ratio']:.2f}x Gatys', content loss "
        f"{results['adain_content_ratio']:.2f}x, {results['gatys']['ms'] / max(a['ms'], 1e-9):.0f}x faster per picture"
    )
    print(
        f"target (fast within 1.5x of Gatys' style loss at >= 100x less time): {'met' if met else 'missed'}"
    )
    return results


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark time: {time.perf_counter() - start:.0f} s")
