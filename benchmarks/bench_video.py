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

Small sizes make it a smoke test (``tests/test_benchmarks.py``): ``--seconds 2
--n-train 64 --n-test 8``. ``main(argv)`` returns the figures as a dict.
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
from course_lib import data  # noqa: E402
from course_lib.models import video  # noqa: E402

CONTEXT = 4
HORIZONS = (1, 5, 10)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="training time")
    parser.add_argument("--n-train", type=int, default=6000, help="training videos")
    parser.add_argument("--n-test", type=int, default=300, help="held-out videos")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
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
    return results


if __name__ == "__main__":
    main()
