"""Checks for chapter 05's exercises: the loss on the hole, depth-to-space by hand, PSNR,
and the inpainting sampling loop, each compared with ``course_lib.models.restoration``,
``course_lib.metrics`` and ``course_lib.models.diffusion``."""

from __future__ import annotations

import keras
import numpy as np

from course_lib import grading, metrics
from course_lib.models import diffusion, restoration

exercise = grading.Exercises("05_image_generation_techniques")


def _cases(seed: int, n: int = 3, size: int = 12, channels: int = 1):
    rng = np.random.default_rng(seed)
    target = rng.uniform(-1, 1, (n, size, size, channels)).astype(np.float32)
    guess = rng.uniform(-1, 1, (n, size, size, channels)).astype(np.float32)
    masks = restoration.rectangle_masks(
        n, size, min_side=2 + seed, max_side=4 + 2 * seed, seed=seed
    )
    return target, guess, masks


def _diagnosis(got, candidates, otherwise: str) -> str:
    """The explanation of the first known wrong answer ``got`` matches, else ``otherwise``."""
    for value, why in candidates:
        if np.shape(value) == np.shape(got) and np.allclose(got, value, rtol=1e-4):
            return why
    return otherwise


# -- exercise 1 ------------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[restoration.masked_l1],
    see="4.2 A network that fills holes",
    hint="Only the missing pixels count: the sum of the absolute errors there, divided by "
    "how many missing pixel values there are (pixels times channels). Known pixels add "
    "nothing, however wrong the prediction is there.",
)
def masked_l1(fn):
    """``fn(target, prediction, mask)`` must return the mean absolute error on the hole."""
    for seed, channels in ((0, 1), (1, 1), (2, 3)):
        target, guess, masks = _cases(seed, channels=channels)
        got = grading.expect_scalar(
            fn(target.copy(), guess.copy(), masks.copy()), what="your masked L1 loss"
        )
        error = np.abs(target - guess)
        hole = np.broadcast_to(masks, error.shape)
        want = error[hole == 1].mean()
        if np.isclose(got, want, rtol=1e-4):
            continue
        candidates = [
            (error.mean(), "that is the mean over every pixel: known pixels must not count."),
            (error[hole == 0].mean(), "that is the error on the known pixels: 1 means missing."),
            ((hole * error).mean(), "the sum is right but it is divided by every pixel, not "
             "by the number of missing ones: a small hole would then count for little."),
            ((hole * error**2).sum() / hole.sum(), "that is a squared error; L1 is the "
             "absolute error."),
            ((hole * error).sum(), "that is the sum on the hole, not its mean."),
            ((masks * error).sum() / masks.sum(), "each channel's error counts, so divide by "
             "the missing pixels times the channels."),
        ]  # fmt: skip
        why = _diagnosis(
            got, candidates, "average |target - prediction| over the missing pixels only."
        )
        raise grading.Mismatch(
            f"case {seed + 1} ({channels} channel(s)): your loss is {got:.5f}, expected "
            f"{want:.5f}: {why}"
        )
    library = float(restoration.masked_l1(target, guess, masks))
    grading.expect_close(got, library, rtol=1e-4, what="your loss against the library's")


# -- exercise 2 ------------------------------------------------------------------------------


@exercise(
    points=2,
    forbid=[restoration.depth_to_space, keras.ops.depth_to_space],
    see="Sub-pixel convolution: depth to space",
    hint="Split the channel axis into (scale, scale, channels): the first index is the row "
    "inside the block, the second the column. Then move each block's row axis next to the "
    "image rows and its column axis next to the image columns before merging them.",
)
def depth_to_space(fn):
    """``fn(x, scale)`` must rearrange (n, h, w, s*s*c) into (n, s*h, s*w, c), NumPy only."""
    for scale, channels, shape in ((2, 1, (2, 3, 4)), (3, 2, (1, 2, 5)), (4, 3, (2, 2, 2))):
        n, h, w = shape
        x = np.arange(n * h * w * scale * scale * channels, dtype=np.float32)
        x = x.reshape(n, h, w, scale * scale * channels)
        result = fn(x.copy(), scale)
        if type(result).__module__.startswith("tensorflow"):
            raise grading.Mismatch(
                "your function returned a TensorFlow tensor: write it with NumPy's reshape "
                "and transpose, not with a library's depth_to_space."
            )
        want = np.asarray(keras.ops.convert_to_numpy(keras.ops.depth_to_space(x, scale)))
        got = grading.expect_array(result, what=f"your output at scale {scale}")
        if got.shape != want.shape:
            raise grading.Mismatch(
                f"at scale {scale} an input of shape {x.shape} should give {want.shape}; "
                f"yours has shape {got.shape}."
            )
        if np.array_equal(got, want):
            continue
        block = got[0, :scale, :scale, 0]
        if np.array_equal(block.T, want[0, :scale, :scale, 0]):
            why = "rows and columns inside each block are swapped."
        elif np.array_equal(np.sort(got, axis=None), np.sort(want, axis=None)):
            why = (
                "every value is there but in the wrong place: pixel (i, j)'s channels must "
                "fill the block of rows i*s..i*s+s-1 and columns j*s..j*s+s-1, row by row."
            )
        else:
            why = "the values themselves changed: only move them, never combine them."
        raise grading.Mismatch(f"at scale {scale}, {channels} channel(s): {why}")


# -- exercise 3 ------------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[metrics.psnr],
    see="PSNR and SSIM: how close to the truth",
    hint="One value per image: 10 times the base-10 log of peak squared over that image's "
    "mean squared error, where the peak is the width of the pixel range (high - low), not 255.",
)
def psnr(fn):
    """``fn(images, reference, value_range)`` must return each image's PSNR in dB."""
    rng = np.random.default_rng(5)
    for value_range in ((0.0, 1.0), (-1.0, 1.0)):
        low, high = value_range
        ref = rng.uniform(low, high, (4, 10, 10, 1)).astype(np.float32)
        noisy = np.clip(ref + rng.normal(0, 0.05, ref.shape), low, high).astype(np.float32)
        want = metrics.psnr(noisy, ref, value_range)
        got = grading.expect_array(
            fn(noisy.copy(), ref.copy(), value_range), what=f"your PSNR for pixels in {value_range}"
        )
        if got.shape != want.shape:
            raise grading.Mismatch(
                f"for 4 images your PSNR has shape {got.shape}: give one value per image "
                "(average the squared error over each image's pixels only)."
            )
        if np.allclose(got, want, rtol=1e-4):
            continue
        mse = ((noisy.astype(np.float64) - ref) ** 2).mean(axis=(1, 2, 3))
        peak = high - low
        candidates = [
            (10 * np.log10(255.0**2 / mse), "that uses 255 as the peak; here pixels span "
             f"{value_range}, so the peak is {peak:g}."),
            (10 * np.log10(1.0 / mse), "that uses 1 as the peak; pixels in [-1, 1] have a peak "
             "of 2, the width of their range."),
            (10 * np.log10(peak / mse), "the peak must be squared (PSNR compares powers)."),
            (20 * np.log10(peak**2 / mse), "20 log10 goes with amplitudes (peak / RMSE); with "
             "the squared peak over the MSE it is 10 log10."),
            (10 * np.log(peak**2 / mse), "that is the natural log; decibels use log10."),
        ]  # fmt: skip
        why = _diagnosis(got, candidates, "PSNR = 10 log10(peak^2 / MSE).")
        raise grading.Mismatch(
            f"for pixels in {value_range} your PSNR is {np.round(got, 2).tolist()}, expected "
            f"{np.round(want, 2).tolist()}: {why}"
        )


# -- exercise 4: a running-code exercise, the inpainting sampling loop ---------------------


def _reference_loop(step, x_T, known, mask, abar_after, noises):
    x = x_T
    for i, abar in enumerate(abar_after):
        x = step(x, i)
        x = diffusion.paste_known(x, known, mask, abar, noises[i])
    return x


@exercise(
    points=3,
    kind="sampling loop",
    forbid=[diffusion.paste_known, diffusion.DiffusionModel.sampling_loop],
    see="4.3 Inpainting with chapter 03's diffusion model",
    hint="After each model step, the missing pixels (mask 1) keep the model's values and "
    "every known pixel is replaced by the known image noised to the step just reached: its "
    "square root of ᾱ times the image plus the square root of 1 - ᾱ times that step's "
    "noise. The last ᾱ is 1, so the final image holds the known pixels exactly.",
)
def inpaint_loop(fn):
    """``fn(step, x_T, known, mask, abar_after, noises)`` must run the RePaint-style loop
    and match the library's paste step, step by step."""
    rng = np.random.default_rng(11)
    shape = (2, 8, 8, 1)
    for case, steps in enumerate((3, 6)):
        known = rng.uniform(-1, 1, shape).astype(np.float32)
        mask = restoration.rectangle_masks(2, 8, min_side=3, max_side=5, seed=case)
        x_T = rng.normal(size=shape).astype(np.float32)
        noises = [rng.normal(size=shape).astype(np.float32) for _ in range(steps)]
        abar_after = np.concatenate([np.linspace(0.2, 0.9, steps - 1), [1.0]])
        blur = rng.uniform(0.3, 0.7)
        calls = []

        def step(x, i, calls=calls, blur=blur):  # a stand-in model: shrinks and smooths
            calls.append(int(i))
            x = np.asarray(x, np.float32)
            return (1 - blur) * x + blur * np.roll(x, 1, axis=2) * 0.8

        want = _reference_loop(step, x_T, known, mask, abar_after, noises)
        calls.clear()
        got = grading.expect_array(
            fn(step, x_T.copy(), known.copy(), mask.copy(), abar_after.copy(), noises),
            shape=shape,
            what="your inpainted images",
        )
        if calls != list(range(steps)):
            raise grading.Mismatch(
                f"your loop called the model with steps {calls[:8]}; it should call it once "
                f"per step, i = 0 to {steps - 1}, in order."
            )
        if not np.allclose(got[mask == 0], known[mask == 0], atol=1e-5):
            raise grading.Mismatch(
                "your final images do not hold the known pixels exactly: at the last step "
                "(ᾱ = 1) the known image goes in without noise, and only where mask is 0."
            )
        grading.expect_close(
            got,
            want,
            rtol=1e-4,
            atol=1e-5,
            what=f"your result in case {case + 1} of 2 (same model, noises and masks)",
        )
