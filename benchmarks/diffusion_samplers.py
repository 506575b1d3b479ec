"""DDPM (all T steps) against DDIM (10, 25, 50 steps) on one trained model: time and FID.

    flock /tmp/course-cpu.lock .venv/bin/python benchmarks/diffusion_samplers.py

Trains the chapter's unconditional model on all of Fashion-MNIST for a fixed number of
epochs (or loads the checkpoint an earlier run, or the chapter notebook in full mode,
saved: the run is ``runs/full/ch03_ddpm_v``, moved by ``$COURSE_RUNS_DIR``), then draws
1,000 images with each sampler from the same starting noise and prints, per sampler,
the wall time for the 1,000 images and the course FID/KID (``evaluate_samples``) with
the real-data floor. The samples are saved as ``.npz`` next to the checkpoint.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import course_lib  # noqa: E402
from course_lib import data, metrics, train  # noqa: E402
from course_lib.models import diffusion  # noqa: E402

RUN_NAME = "ch03_ddpm_v"  # the notebook trains (and reloads) the same run
BATCH = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--timesteps", type=int, default=1000, help="T, DDPM's step count")
    parser.add_argument("--n", type=int, default=1000, help="images per sampler")
    parser.add_argument("--ddim-steps", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prediction", choices=diffusion.PREDICTIONS, default="v")
    parser.add_argument("--loss-weighting", choices=diffusion.LOSS_WEIGHTINGS, default="min_snr")

    parser.add_argument("--run", default=RUN_NAME, help=f"checkpoint name (default {RUN_NAME})")
    parser.add_argument(
        "--limit", type=int, default=None, help="train on fewer images (smoke test)"
    )
    args = parser.parse_args()
    if course_lib.is_quick():
        raise SystemExit("run the benchmark in full mode (unset COURSE_QUICK)")

    print(course_lib.device_summary())
    course_lib.seed_everything(args.seed)
    x_train, _ = data.load_fashion_mnist("train", value_range=(-1, 1), limit=args.limit)
    model = diffusion.course_model(
        timesteps=args.timesteps,
        prediction=args.prediction,
        loss_weighting=args.loss_weighting,
    )
    print(
        f"U-Net: {model.network.count_params():,} parameters; T = {args.timesteps}, cosine "
        f"schedule, predicts {args.prediction}, loss weighting {args.loss_weighting}"
    )
    start = time.perf_counter()
    history = train.fit_resumable(
        model, x_train, name=args.run, epochs=args.epochs, batch_size=BATCH, verbose=2
    )
    spent = time.perf_counter() - start
    print(
        f"training: {len(history['loss'])} epochs, final loss {history['loss'][-1]:.4f}; "
        f"{spent / 60:.1f} min in this process"
    )

    model.warm_up()  # trace both compiled steps before any clock starts
    samplers = [("DDPM", args.timesteps)] + [("DDIM", s) for s in args.ddim_steps]
    results, saved = [], {}
    for name, steps in samplers:
        start = time.perf_counter()
        if name == "DDPM":
            images = model.sample_ddpm(args.n, seed=args.seed, batch_size=args.n)
        else:
            images = model.sample_ddim(args.n, steps, seed=args.seed, batch_size=args.n)
        seconds = time.perf_counter() - start
        saved[f"{name}_{steps}"] = images
        report = metrics.evaluate_samples(images, value_range=(-1, 1))
        results.append((name, steps, seconds, report))
        print(
            f"{name} {steps:4d} steps: {seconds:7.1f} s for {args.n} images · {report}", flush=True
        )

    folder = train.run_folder(args.run)
    np.savez_compressed(folder / "benchmark_samples.npz", **saved)

    ddpm_time, ddpm_fid = results[0][2], results[0][3].fid
    print(f"\n| sampler | steps | time for {args.n} images | x faster than DDPM | FID | KID x1e3 |")
    print("|---|---|---|---|---|---|")
    for name, steps, seconds, rep in results:
        print(
            f"| {name} | {steps} | {seconds:.1f} s | {ddpm_time / seconds:.1f} | "
            f"{rep.fid:.2f} | {1000 * rep.kid:.2f} ± {1000 * rep.kid_std:.2f} |"
        )
    print(f"real-data FID floor at n={args.n}: {results[0][3].floor_fid:.2f}")
    for _name, steps, seconds, rep in results[1:]:
        if steps == 50:
            gap = (rep.fid - ddpm_fid) / ddpm_fid
            speed = ddpm_time / seconds
            met = gap <= 0.15 and speed >= 20
            print(
                f"target (DDIM-50 within 15% of DDPM's FID at >= 20x less time): "
                f"FID {gap:+.1%} vs DDPM, {speed:.1f}x faster -> {'met' if met else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
