"""Train the course's lean DCGAN and the TensorFlow tutorial's DCGAN for the same time.

    python benchmarks/dcgan_vs_tutorial.py              # 4 minutes each (the real benchmark)
    python benchmarks/dcgan_vs_tutorial.py --minutes 0.5   # a trial run

Both use the same GAN training step (:class:`course_lib.models.gan.GAN`), the same data
and the same wall-clock budget; only the networks and their optimizer settings differ:

- course: 4x4 kernels, 64 filters at 7x7, batch 128, Adam(2e-4, beta_1=0.5);
- tutorial: 5x5 kernels, 256 filters at 7x7, dropout, batch 256, Adam(1e-4) (the
  settings of the TensorFlow DCGAN tutorial, which the guide copies).

It prints the course's FID (on its own Fashion-MNIST classifier) for 2,000 samples of
each, the real-data floor, and the classifier's class histogram of the course DCGAN's
samples (a collapsed GAN would leave classes near 0 %). Target: the course FID at least
5x lower than the tutorial's, and no class under 3 %. Run it on an otherwise idle
machine (``flock`` it if others share the CPU): it measures throughput.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import course_lib  # noqa: E402
from course_lib import data, metrics  # noqa: E402
from course_lib.models import gan  # noqa: E402
from course_lib.train import TimeBudget  # noqa: E402

N_SAMPLES = 2000


def train_for(model, images, batch_size: int, seconds: float) -> dict:
    """Train ``model`` for ``seconds``; return steps, epochs and the time it took."""
    budget = TimeBudget(seconds)
    model.fit(images, batch_size=batch_size, epochs=10_000, callbacks=[budget], verbose=0)
    epochs = budget.steps * batch_size / len(images)
    return {"steps": budget.steps, "epochs": epochs, "seconds": budget.elapsed}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="training time per model")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error("--minutes must be positive")

    course_lib.seed_everything(args.seed)
    print(course_lib.device_summary())
    images, _ = data.load_fashion_mnist("train", value_range=(-1, 1))
    contenders = {
        "course DCGAN (4x4, 64 filters)": (
            gan.GAN(gan.build_dcgan_generator(64, 64), gan.build_dcgan_discriminator(64), 64),
            dict(
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            ),
            128,
        ),
        "tutorial DCGAN (5x5, 256 filters)": (
            gan.GAN(gan.build_tutorial_generator(100), gan.build_tutorial_discriminator(), 100),
            dict(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.Adam(1e-4)),
            256,
        ),
    }
    results = {}
    for label, (model, optimizers, batch_size) in contenders.items():
        model.compile(**optimizers)
        run = train_for(model, images, batch_size, 60 * args.minutes)
        samples = model.generate(gan.latent_noise(N_SAMPLES, model.latent_dim, seed=args.seed + 1))
        report = metrics.evaluate_samples(samples, value_range=(-1, 1))
        results[label] = {**run, "report": report, "samples": samples}
        print(
            f"{label}: {run['steps']} steps ({run['epochs']:.2f} epochs, batch {batch_size}) "
            f"in {run['seconds']:.0f} s -> {report}",
            flush=True,
        )

    (course, course_res), (tutorial, tutorial_res) = results.items()
    ratio = tutorial_res["report"].fid / max(course_res["report"].fid, 1e-9)
    print(f"\nFID ratio tutorial / course: {ratio:.1f}x (target: at least 5x)")
    shares = metrics.class_histogram(course_res["samples"], value_range=(-1, 1))
    print(f"class histogram of {N_SAMPLES} {course} samples (classifier's labels):")
    for name, share in zip(data.FASHION_MNIST_CLASSES, shares):
        print(f"  {name:12s} {100 * share:5.1f} %")
    print(f"smallest class share: {100 * shares.min():.1f} % (target: at least 3 %)")
    results["ratio"], results["shares"] = ratio, shares
    return results


if __name__ == "__main__":
    main()
