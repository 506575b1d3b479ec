"""Chapter 12's figures on this machine: memory by batch size, throughput, mixed precision,
MirroredStrategy, and the course's full-mode training time estimated from a benchmark.

    python benchmarks/hardware.py                   # full sizes, about 3 minutes on 2 cores
    python benchmarks/hardware.py --seconds 5 --memory-batches 16 128 --throughput-batches 16 64

Every figure is measured by :mod:`course_lib.hardware`, as the notebook measures it:
peak memory of the VAE's and the DCGAN's training steps, each batch size in a fresh
process; the VAE's training throughput against batch size and the batch size chosen from
it; seconds per step under float32, mixed_bfloat16 and mixed_float16; a small classifier
on one device and with MirroredStrategy over two logical CPUs; and the DCGAN micro-benchmark
that scales the chapter times measured on the course's machine to this one. Run it alone
(``flock``): the timings measure what the CPU does while nothing else runs.

Smaller sizes make it a smoke test (``tests/test_benchmarks_hardware.py``). ``main(argv)``
returns every table and figure.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pandas as pd  # noqa: E402

from course_lib import hardware, seed_everything  # noqa: E402


def _positive(kind):
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a number > 0; got {text}")
        return value

    return parse


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models", nargs="+", default=["vae", "dcgan"], choices=sorted(hardware.WORKLOADS)
    )
    parser.add_argument("--memory-batches", nargs="+", type=_positive(int), default=[16, 128, 1024])
    parser.add_argument(
        "--throughput-batches",
        nargs="+",
        type=_positive(int),
        default=[16, 32, 64, 128, 256, 512],
    )
    parser.add_argument(
        "--policies", nargs="+", default=list(hardware.POLICIES), choices=hardware.POLICIES
    )
    parser.add_argument("--steps", type=_positive(int), default=10, help="timed steps per figure")
    parser.add_argument(
        "--seconds", type=_positive(float), default=20.0, help="micro-benchmark length"
    )
    args = parser.parse_args(argv)
    seed_everything(0)
    pd.set_option("display.width", 120)
    start = time.perf_counter()

    report = hardware.machine_report()
    print(hardware.machine_table(report).to_string(index=False))

    memory = pd.concat(
        [
            hardware.measure_step_memory(m, args.memory_batches, steps=min(args.steps, 3)).assign(
                model=m
            )
            for m in args.models
        ],
        ignore_index=True,
    )
    print("\nmemory of a training step (MB), each batch size in its own process:")
    print(memory.to_string(index=False))

    curve = hardware.throughput_curve("vae", args.throughput_batches, steps=args.steps)
    chosen = hardware.choose_batch_size(curve.batch_size.tolist(), curve.examples_per_second)
    print("\nVAE throughput:")
    print(curve.round(4).to_string(index=False))
    print(f"chosen batch size (smallest within 90 % of the best): {chosen}")

    precision = hardware.time_precisions(
        "vae", batch_size=64, steps=args.steps, policies=args.policies
    )
    print("\nmixed precision, VAE at batch 64:")
    print(precision.round(3).to_string(index=False))

    mirrored = hardware.mirrored_demo(batch_size=64, steps=args.steps)
    one, two = mirrored["one device"], mirrored["MirroredStrategy"]
    print(
        f"\none device {one['seconds_per_step'] * 1000:.0f} ms/step; MirroredStrategy, "
        f"{two['replicas']} replicas: {two['seconds_per_step'] * 1000:.0f} ms/step"
    )

    bench = hardware.micro_benchmark(args.seconds)
    course = hardware.estimate_course_time(bench["steps_per_second"])
    print(
        f"\nmicro-benchmark: {bench['steps_per_second']:.2f} DCGAN steps/s here, "
        f"{hardware.REFERENCE_STEPS_PER_SECOND:.2f} on the reference machine"
    )
    print(course.assign(estimate_min=course.estimate_s / 60).round(1).to_string(index=False))
    total = course.set_index("chapter").loc["all", "estimate_s"]
    print(f"\nfull-mode training of the measured chapters here: about {total / 60:.0f} minutes")
    print(f"(this benchmark took {time.perf_counter() - start:.0f} s)")
    return {
        "report": report,
        "memory": memory,
        "throughput": curve,
        "chosen": chosen,
        "precision": precision,
        "mirrored": mirrored,
        "micro_benchmark": bench,
        "course": course,
    }


if __name__ == "__main__":
    main()
