"""Chapter 05's benchmark: super-resolution against bicubic, inpainting against biharmonic and OpenCV.

    flock /tmp/course-bench.lock .venv/bin/python benchmarks/restoration.py

**Super-resolution.** For each scale (default x2, x3, x4), ESPCN and the EDSR-style
network (:func:`course_lib.models.restoration.course_super_resolution`) each train for a
fixed wall-clock time (``--sr-seconds``, default 150) on 48x48 luminance patches of the
training photos, then upscale held-out patches (``--n-test`` 48x48 patches from the
held-out photos, :data:`course_lib.data.HELD_OUT_PHOTOS`, never seen in training).
Printed per scale and method: PSNR and SSIM on the luminance channel, pixels in [-1, 1]
(peak 2), leaving out ``scale`` pixels at each edge; and each network's gain over
bicubic. The chapter's target: the best network gains at least 1 dB over bicubic at x3.

**Inpainting.** The trained inpainter (:func:`course_inpainter`) trains for
``--inpaint-seconds`` on Fashion-MNIST (holes: rectangles of 10 to 14 pixels a side) and
on 48x48 photo patches (rectangles of 14 to 24), then fills the same kind of holes in
held-out images (the test split; the held-out photos). Printed: PSNR inside the hole
for biharmonic and for the network, and the gain. Target: at least 1 dB on both.

**pix2pix.** Trains for ``--p2p-seconds`` (default 300) on edge maps -> Fashion-MNIST
items, then translates held-out edge maps: L1 to the true item, the course FID (with
its real-data floor) and the share the course classifier gives the target's class
(target: at least 85 %).

**SR3** (super-resolution by diffusion, :func:`course_sr_diffusion`): trains for
``--sr3-seconds`` (default 300) on Fashion-MNIST at x4 (7x7 -> 28x28), then enlarges
held-out items with 50 DDIM steps. Printed for bicubic and SR3: PSNR, the classifier's
agreement with the true class and the course FID (with its floor). No target: it shows
the perception-distortion trade-off (sharper and more real, not closer pixel by pixel).

**Diffusion inpainting** (:func:`course_lib.models.restoration.diffusion_inpaint`, the
RePaint idea, no retraining): chapter 03's unconditional model
(:func:`course_lib.models.diffusion.course_model`) trains for ``--diffusion-seconds``
(default 300) on Fashion-MNIST, then fills held-out items with ``--diffusion-steps``
(default 50) DDIM steps, the known pixels pasted in at every step (``--diffusion-resample``
goes back and forth that many times per step, RePaint's harmonising). Two kinds of hole:
the rectangles of the inpainting race (PSNR in the hole, beside biharmonic), and half
images (the lower half missing in every other item, the right half in the rest), where
the course classifier judges whether the completed item is still of its class. Target:
at least 85 % of the half-image completions keep their class.

Smaller sizes make it a smoke test (``tests/test_benchmarks.py``): ``--sr-seconds 2
--inpaint-seconds 2 --p2p-seconds 2 --n-train 64 --n-test 8 --scales 3
--diffusion-seconds 1 --diffusion-steps 2``. ``main(argv)`` returns the
figures as a dict.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import train_for  # noqa: E402

import course_lib  # noqa: E402
from course_lib import data, metrics  # noqa: E402
from course_lib.models import restoration as R  # noqa: E402

RANGE = (-1, 1)
PATCH = 48


def super_resolution(args, train, test) -> dict:
    results = {}
    for scale in args.scales:
        lo_train, hi_train = R.super_resolution_pairs(train, scale)
        lo_test, hi_test = R.super_resolution_pairs(test, scale)
        bicubic = R.bicubic_upscale(lo_test, scale)
        row = {
            "bicubic": (
                float(metrics.psnr(bicubic, hi_test, RANGE, border=scale).mean()),
                float(metrics.ssim(bicubic, hi_test, RANGE, border=scale).mean()),
            )
        }
        for kind in ("espcn", "edsr"):
            course_lib.seed_everything(args.seed)
            model = R.course_super_resolution(kind, scale)
            took = train_for(
                model, _stream(lo_train, hi_train), args.sr_seconds, epoch_size=len(lo_train)
            )
            out = model.upscale(lo_test)
            row[kind] = (
                float(metrics.psnr(out, hi_test, RANGE, border=scale).mean()),
                float(metrics.ssim(out, hi_test, RANGE, border=scale).mean()),
            )
            row[f"{kind}_epochs"] = took["epochs"]
        results[scale] = row
        for name in ("bicubic", "espcn", "edsr"):
            p, s = row[name]
            gain = "" if name == "bicubic" else f"  ({p - row['bicubic'][0]:+.2f} dB over bicubic"
            gain += "" if name == "bicubic" else f", {row[name + '_epochs']:.1f} epochs)"
            print(f"x{scale} {name:8s} PSNR {p:6.2f} dB  SSIM {s:.4f}{gain}", flush=True)
    if 3 in results:
        best = max(results[3]["espcn"][0], results[3]["edsr"][0]) - results[3]["bicubic"][0]
        verdict = "met" if best >= 1.0 else "MISSED"
        print(f"target (best network >= +1.0 dB over bicubic at x3): {best:+.2f} dB, {verdict}")
    return results


def _stream(x, y, batch_size=32, seed=0):
    """Never-ending shuffled batches of pairs ``(x, y)``: what :func:`train_for` takes."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).repeat()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def inpainting(args) -> dict:
    results = {}
    fm_train, _ = data.load_fashion_mnist("train", value_range=RANGE, limit=args.n_fashion)
    fm_test, _ = data.load_fashion_mnist("test", value_range=RANGE, limit=args.n_test)
    ph_train, _ = data.load_photo_patches("train", n=args.n_train, size=PATCH, value_range=RANGE)
    ph_test, _ = data.load_photo_patches(
        "test", n=args.n_test, size=PATCH, value_range=RANGE, seed=1
    )
    for name, train, test, sides in (
        ("fashion-mnist", fm_train, fm_test, (10, 14)),
        ("photo patches", ph_train, ph_test, (14, 24)),
    ):
        size = train.shape[1]
        bank = R.rectangle_masks(4096, size, min_side=sides[0], max_side=sides[1], seed=0)
        holes = R.rectangle_masks(len(test), size, min_side=sides[0], max_side=sides[1], seed=99)
        course_lib.seed_everything(args.seed)
        model = R.course_inpainter(train.shape[1:])
        pairs = model.make_dataset(train, bank, 64, args.seed).repeat()
        took = train_for(model, pairs, args.inpaint_seconds, epoch_size=len(train))
        start = time.perf_counter()
        base = R.inpaint_biharmonic(test, holes)
        base_s = time.perf_counter() - start
        telea = R.inpaint_opencv(test, holes, method="telea")
        net = model.inpaint(test, holes)
        row = {
            "biharmonic": float(metrics.psnr(base, test, RANGE, mask=holes).mean()),
            "opencv_telea": float(metrics.psnr(telea, test, RANGE, mask=holes).mean()),
            "network": float(metrics.psnr(net, test, RANGE, mask=holes).mean()),
            "epochs": took["epochs"],
        }
        results[name] = row
        gain = row["network"] - row["biharmonic"]
        print(
            f"inpainting {name}: PSNR in the hole, biharmonic {row['biharmonic']:.2f} dB "
            f"({base_s:.1f} s), OpenCV Telea {row['opencv_telea']:.2f} dB, network {row['network']:.2f} dB ({took['epochs']:.1f} epochs): "
            f"{gain:+.2f} dB, target +1.0 dB {'met' if gain >= 1.0 else 'MISSED'}",
            flush=True,
        )
    return results


def pix2pix(args) -> dict:
    """pix2pix on edges -> Fashion-MNIST items: L1, FID and class agreement on held-out pairs."""
    import numpy as np

    train, _ = data.load_fashion_mnist("train", value_range=RANGE, limit=args.n_fashion)
    test, labels = data.load_fashion_mnist("test", value_range=RANGE, limit=args.n_test)
    course_lib.seed_everything(args.seed)
    model = R.course_pix2pix()
    pairs = model.make_dataset(R.edge_maps(train), train, 64, args.seed).repeat()
    took = train_for(model, pairs, args.p2p_seconds, epoch_size=len(train))
    out = model.translate(R.edge_maps(test))
    report = metrics.evaluate_samples(out, value_range=RANGE)
    row = {
        "l1": float(np.abs(out - test).mean()),
        "fid": report.fid,
        "floor_fid": report.floor_fid,
        "agreement": float(np.mean(metrics.predict_classes(out, value_range=RANGE) == labels)),
        "epochs": took["epochs"],
    }
    print(
        f"pix2pix edges -> items, {len(test)} held-out pairs ({took['epochs']:.1f} epochs): "
        f"L1 {row['l1']:.3f}, {report}, class agreement {row['agreement']:.1%} "
        f"(target 85 %: {'met' if row['agreement'] >= 0.85 else 'MISSED'})",
        flush=True,
    )
    return row


def sr3(args) -> dict:
    """Super-resolution by diffusion at x4 on Fashion-MNIST against bicubic."""
    import numpy as np

    scale = 4
    train, _ = data.load_fashion_mnist("train", value_range=RANGE, limit=args.n_fashion)
    test, labels = data.load_fashion_mnist("test", value_range=RANGE, limit=args.n_test)
    course_lib.seed_everything(args.seed)
    model = R.course_sr_diffusion(scale)
    cond = R.sr_diffusion_condition(R.downscale(train, scale), scale)
    took = train_for(
        model, _stream(train, cond, batch_size=64), args.sr3_seconds, epoch_size=len(train)
    )
    small = R.downscale(test, scale)
    start = time.perf_counter()
    drawn = R.diffusion_super_resolve(model, small, steps=50, seed=args.seed)
    draw_s = time.perf_counter() - start
    results = {"epochs": took["epochs"]}
    for name, images in (("bicubic", R.bicubic_upscale(small, scale)), ("sr3", drawn)):
        report = metrics.evaluate_samples(images, value_range=RANGE)
        results[name] = {
            "psnr": float(metrics.psnr(images, test, RANGE).mean()),
            "agreement": float(
                np.mean(metrics.predict_classes(images, value_range=RANGE) == labels)
            ),
            "fid": report.fid,
            "floor_fid": report.floor_fid,
        }
        row = results[name]
        print(
            f"SR3 x4 Fashion-MNIST, {name:7s}: PSNR {row['psnr']:.2f} dB, class agreement "
            f"{row['agreement']:.1%}, {report}",
            flush=True,
        )
    print(
        f"SR3 trained {took['epochs']:.1f} epochs; drew {len(test)} images in {draw_s:.0f} s",
        flush=True,
    )
    return results


def half_masks(n: int, size: int = 28):
    """Half-image masks (1 = missing) from the library's :func:`half_masks`: the lower
    half for even indices, the right half for odd ones (two ways to lose half an item)."""
    masks = R.half_masks(n, size, side="bottom")
    masks[1::2] = R.half_masks(n, size, side="right")[1::2]
    return masks


def diffusion_inpainting(args) -> dict:
    """Chapter 03's diffusion model fills holes it was never trained for (RePaint)."""
    import numpy as np

    from course_lib.models import diffusion as D

    train, _ = data.load_fashion_mnist("train", value_range=RANGE, limit=args.n_fashion)
    test, labels = data.load_fashion_mnist("test", value_range=RANGE, limit=args.n_test)
    course_lib.seed_everything(args.seed)
    model = D.course_model()
    took = train_for(model, train, args.diffusion_seconds, batch_size=64)
    size = test.shape[1]
    results = {"epochs": took["epochs"]}
    for kind, masks in (
        ("holes", R.rectangle_masks(len(test), size, min_side=10, max_side=14, seed=99)),
        ("half", half_masks(len(test), size)),
    ):
        start = time.perf_counter()
        drawn = R.diffusion_inpaint(
            model,
            test,
            masks,
            steps=args.diffusion_steps,
            resample=args.diffusion_resample,
            seed=args.seed,
        )
        draw_s = time.perf_counter() - start
        row = {"seconds": draw_s}
        for name, images in (
            ("biharmonic", R.inpaint_biharmonic(test, masks)),
            ("diffusion", drawn),
        ):
            predicted = metrics.predict_classes(images, value_range=RANGE)
            row[name] = {
                "psnr": float(metrics.psnr(images, test, RANGE, mask=masks).mean()),
                "agreement": float(np.mean(predicted == labels)),
            }
        results[kind] = row
        for name in ("biharmonic", "diffusion"):
            print(
                f"diffusion inpainting, {kind}: {name:10s} PSNR in the hole "
                f"{row[name]['psnr']:.2f} dB, class agreement {row[name]['agreement']:.1%}",
                flush=True,
            )
    agreement = results["half"]["diffusion"]["agreement"]
    print(
        f"diffusion trained {took['epochs']:.1f} epochs ({took['steps']} steps of 64); "
        f"{args.diffusion_steps} DDIM steps (resample {args.diffusion_resample}) drew "
        f"{len(test)} images in "
        f"{results['half']['seconds']:.0f} s; half masks: class agreement {agreement:.1%} "
        f"(target 85 %: {'met' if agreement >= 0.85 else 'MISSED'})",
        flush=True,
    )
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--sr-seconds", type=float, default=150.0, help="per network")
    parser.add_argument("--inpaint-seconds", type=float, default=150.0, help="per inpainter")
    parser.add_argument("--n-train", type=int, default=8000, help="training photo patches")
    parser.add_argument("--n-fashion", type=int, default=20000, help="Fashion-MNIST images")
    parser.add_argument("--n-test", type=int, default=400, help="held-out images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--p2p-seconds", type=float, default=300.0, help="pix2pix's training")
    parser.add_argument("--sr3-seconds", type=float, default=300.0, help="SR3's training")
    parser.add_argument(
        "--diffusion-seconds", type=float, default=300.0, help="the diffusion model's training"
    )
    parser.add_argument("--diffusion-steps", type=int, default=50, help="DDIM steps to inpaint")
    parser.add_argument(
        "--diffusion-resample",
        type=int,
        default=1,
        help="RePaint's back-and-forth passes per step (more than 1 samples with eta=1)",
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        choices=("sr", "inpainting", "pix2pix", "sr3", "diffusion"),
        default=[],
        help="parts",
    )
    args = parser.parse_args(argv)
    print(f"{course_lib.device_summary()}; {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    out = {}
    if "sr" not in args.skip:
        train, _ = data.load_photo_patches("train", n=args.n_train, size=PATCH, value_range=RANGE)
        test, _ = data.load_photo_patches(
            "test", n=args.n_test, size=PATCH, value_range=RANGE, seed=1
        )
        out["super_resolution"] = super_resolution(args, train, test)
    if "inpainting" not in args.skip:
        out["inpainting"] = inpainting(args)
    if "pix2pix" not in args.skip:
        out["pix2pix"] = pix2pix(args)
    if "sr3" not in args.skip:
        out["sr3"] = sr3(args)
    if "diffusion" not in args.skip:
        out["diffusion_inpainting"] = diffusion_inpainting(args)
    return out


if __name__ == "__main__":
    main()
