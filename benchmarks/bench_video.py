"""Chapter 07's benchmark: next-frame prediction against two baselines, by horizon.

    flock /tmp/course-bench.lock .venv/bin/python benchmarks/bench_video.py

The frame predictor (:func:`course_lib.models.video.course_frame_predictor`: 4 context
frames, trained on 3-step rollouts of its own) trains for a fixed wall-clock time
(``--seconds``, default 300) on moving Fashion-MNIST sprites (``--n-train`` videos of 16
frames of 32x32, items of the training split), then continues held-out clips
(``--n-test`` videos whose items come from the test split) from their first 4 frames,
**on its own predictions**: no true frame after the context reaches it. Printed for the
model, "copy the last frame" and "linear extrapolation": PSNR (dB, pixels in [0, 1]) and
SSIM at horizons 1, 5 and 10. Target: the model beats both baselines at every horizon.

Then **video-to-video** (chapter 07's section 4.5): one
:func:`course_lib.models.video.course_video_pix2pix` per temporal weight
(``--v2v-weights``, default 0, the chapter's
:data:`course_lib.models.video.V2V_TEMPORAL_WEIGHT` and four times it; 0 is per-frame
pix2pix), each trained for ``--v2v-seconds`` (default 150) on the line drawings of
``--v2v-train`` clips, scored on the held-out clips: PSNR of every frame against the true
frame (pixels in [-1, 1]) and flicker (:func:`course_lib.models.video.warp_error`; the
true clips score 0). Target: with the chapter's weight, flicker at most 0.5x the
per-frame translator's.

Small sizes make it a smoke test (``tests/test_benchmarks.py``): ``--seconds 2
--n-train 64 --n-test 8 --v2v-seconds 1 --v2v-train 16 --v2v-weights 0,200``.
``main(argv)`` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import train_for  # noqa: E402

import course_lib  # noqa: E402
from course_lib import data, metrics  # noqa: E402
from course_lib.models import video  # noqa: E402

CONTEXT = 4
HORIZONS = (1, 5, 10)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="training time")
    parser.add_argument("--n-train", type=int, default=6000, help="training videos")
    parser.add_argument("--n-test", type=int, default=300, help="held-out videos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--v2v-seconds", type=float, default=150.0, help="each translator's training time"
    )
    parser.add_argument("--v2v-train", type=int, default=3000, help="video-to-video clips")
    preset = video.V2V_TEMPORAL_WEIGHT
    parser.add_argument(
        "--v2v-weights",
        default=f"0,{preset:g},{4 * preset:g}",
        help="temporal weights, comma-separated",
    )
    args = parser.parse_args(argv)
    weights = [float(w) for w in args.v2v_weights.split(",")]
    course_lib.seed_everything(args.seed)
    train, _ = data.moving_sprites(args.n_train, split="train", seed=args.seed)
    test, _ = data.moving_sprites(args.n_test, split="test", seed=args.seed + 1)
    model = video.course_frame_predictor(context=CONTEXT)
    took = train_for(model, train, args.seconds)
    print(
        f"frame predictor: {took['steps']} steps, {took['epochs']:.1f} epochs in "
        f"{took['seconds']:.0f} s",
        flush=True,
    )
    scores = video.predict_clips(model, test, CONTEXT, max(HORIZONS))
    results = {"training": took, "psnr": {}, "ssim": {}}
    print(f"{'':22s}" + "".join(f"   h={h:<2d} PSNR  SSIM" for h in HORIZONS))
    for name, row in scores.items():
        results["psnr"][name] = {h: float(row["psnr"][h - 1]) for h in HORIZONS}
        results["ssim"][name] = {h: float(row["ssim"][h - 1]) for h in HORIZONS}
        cells = "".join(
            f"   {results['psnr'][name][h]:6.2f} {results['ssim'][name][h]:6.3f}" for h in HORIZONS
        )
        print(f"{name:22s}{cells}")
    psnr = results["psnr"]
    results["beats_baselines"] = {
        h: bool(
            psnr["model"][h] > psnr["copy last frame"][h]
            and psnr["model"][h] > psnr["linear extrapolation"][h]
        )
        for h in HORIZONS
    }
    met = all(results["beats_baselines"].values())
    print(f"target (model beats both baselines at every horizon): {'met' if met else 'MISSED'}")
    results["vid2vid"], results["vid2vid_ratio"] = video_to_video(args, weights)
    return results


def video_to_video(args, weights) -> tuple[dict, float | None]:
    """Per-frame pix2pix against the temporal loss: ``({weight: figures}, ratio)``, the
    ratio of the chapter's weight's flicker to weight 0's (None without both)."""
    clips, labels = data.moving_sprites(
        args.v2v_train, split="train", seed=args.seed, value_range=(-1, 1)
    )
    test, test_labels = data.moving_sprites(
        args.n_test, split="test", seed=args.seed + 1, value_range=(-1, 1)
    )
    sources, test_sources = video.edge_clips(clips), video.edge_clips(test)
    truth = test.reshape(-1, *test.shape[2:])
    print(f"video-to-video (line drawings -> clips), {args.v2v_seconds:g} s each:")
    found = {}
    for weight in weights:
        course_lib.seed_everything(args.seed)
        model = video.course_video_pix2pix(temporal_weight=weight)
        took = train_for(
            model, (sources, labels["path"]), args.v2v_seconds, targets=clips,
            epoch_size=len(clips),
        )  # fmt: skip
        out = model.translate_clips(test_sources)
        psnr = float(metrics.psnr(out.reshape(truth.shape), truth, (-1, 1)).mean())
        flicker = video.warp_error(out, test_labels["path"])
        found[weight] = {**took, "psnr": psnr, "flicker": flicker}
        print(
            f"  temporal_weight {weight:5g}: {took['steps']} steps ({took['epochs']:.1f} "
            f"epochs), PSNR {psnr:.2f} dB, flicker {flicker:.4f}",
            flush=True,
        )
    print(f"  true clips: flicker {video.warp_error(test, test_labels['path']):.4f}")
    preset, ratio = video.V2V_TEMPORAL_WEIGHT, None
    if 0.0 in found and preset in found:
        ratio = found[preset]["flicker"] / found[0.0]["flicker"]
        print(
            f"target (flicker with temporal_weight {preset:g} <= 0.5x per-frame's): "
            f"{ratio:.2f}x, {'met' if ratio <= 0.5 else 'MISSED'}"
        )
    return found, ratio


if __name__ == "__main__":
    main()
