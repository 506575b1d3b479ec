"""Train the course's DCGAN, the same with a weight-averaged generator, and the tutorial's
DCGAN for the same time.

    python benchmarks/dcgan_vs_tutorial.py              # 4 minutes each (the real benchmark)
    python benchmarks/dcgan_vs_tutorial.py --minutes 0.5   # a trial run
    python benchmarks/dcgan_vs_tutorial.py --minutes 0.05 --samples 64 --limit 1000  # smoke

Both use the same GAN training step (:class:`course_lib.models.gan.GAN`), the same data
and the same wall-clock budget; only the networks and their optimizer settings differ,
each as its preset builds it:

- :func:`course_lib.models.gan.course_dcgan`: 4x4 kernels, 64 filters at 7x7, batch 128,
  Adam(2e-4, beta_1=0.5): a plain lean DCGAN (notebook 01's);
- ``course_dcgan(ema_decay=0.99)``: the same, drawing its samples from an exponential
  moving average of the generator's weights (a candidate trick);
- :func:`course_lib.models.gan.tutorial_dcgan`: 5x5 kernels, 256 filters at 7x7,
  dropout, batch 256, Adam(1e-4) (the TensorFlow DCGAN tutorial's, which the guide copies).

It prints the course's FID (on its own Fashion-MNIST classifier) for 2,000 samples of
each, the real-data floor, and the classifier's class histogram of the course DCGAN's
samples (a collapsed GAN would leave classes near 0 %). Targets: the course FID at
least 5x lower than the tutorial's, and no class under 3 %; a trick is worth keeping in
the course's preset when its FID is at least 30 % lower than the plain DCGAN's. Run it on an otherwise idle
machine (``flock`` it if others share the CPU): it measures throughput.

``main(argv)`` returns each model's training figures and :class:`QualityReport`, the FID
ratio and the class shares.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _timing import train_for  # noqa: E402

import course_lib  # noqa: E402
from course_lib import data, metrics  # noqa: E402
from course_lib.models import gan  # noqa: E402

CONTENDERS = {
    "course DCGAN (4x4, 64 filters)": gan.course_dcgan,
    "course DCGAN + generator EMA 0.99": lambda: gan.course_dcgan(ema_decay=0.99),
    "tutorial DCGAN (5x5, 256 filters)": gan.tutorial_dcgan,
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="training time per model")
    parser.add_argument(
        "--samples", type=int, default=2000, help="images each model draws for its FID"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="train on fewer images (smoke test)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error("--minutes must be positive")
    if args.samples < 2:
        parser.error("--samples must be at least 2 (FID compares two distributions)")

    course_lib.seed_everything(args.seed)
    print(course_lib.device_summary())
    images, _ = data.load_fashion_mnist("train", value_range=(-1, 1), limit=args.limit)
    results = {}
    for label, build in CONTENDERS.items():
        model = build()
        run = train_for(model, images, 60 * args.minutes)
        noise = gan.latent_noise(args.samples, model.latent_dim, seed=args.seed + 1)
        samples = model.generate(noise)
        report = metrics.evaluate_samples(samples, value_range=(-1, 1))
        results[label] = {**run, "report": report, "samples": samples}
        print(
            f"{label}: {run['steps']} steps ({run['epochs']:.2f} epochs, batch "
            f"{model.batch_size}) in {run['seconds']:.0f} s -> {report}",
            flush=True,
        )

    (course, course_res), (_, ema_res), (_, tutorial_res) = results.items()
    ratio = tutorial_res["report"].fid / max(course_res["report"].fid, 1e-9)
    gain = 1.0 - ema_res["report"].fid / max(course_res["report"].fid, 1e-9)
    print(f"\nFID ratio tutorial / course: {ratio:.1f}x (target: at least 5x)")
    print(f"EMA's FID {100 * gain:.0f} % lower than the plain DCGAN's (worth it at 30 %)")
    shares = metrics.class_histogram(course_res["samples"], value_range=(-1, 1))
    print(f"class histogram of {args.samples} {course} samples (classifier's labels):")
    for name, share in zip(data.FASHION_MNIST_CLASSES, shares):
        print(f"  {name:12s} {100 * share:5.1f} %")
    print(f"smallest class share: {100 * shares.min():.1f} % (target: at least 3 %)")
    results["ratio"], results["gain"], results["shares"] = ratio, gain, shares
    return results


if __name__ == "__main__":
    main()
