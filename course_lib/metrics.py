"""The course's numbers for how good generated samples are.

Image chapters score Fashion-MNIST samples with **FID** and **KID** computed on the
features of a small classifier trained by the course itself (``tools/train_classifier.py``
writes ``course_lib/assets/fashion_classifier.weights.h5``; it ships in the repository, so
no download is needed). These are *not* the Inception-based scores of papers: numbers are
comparable within the course only. Every score comes with its **floor**: the FID between
two independent real samples of the same size (test images against the training images
the samples are scored against). A generator that draws new images exactly as the data
does scores about the floor. The floor is not the lowest score possible: a "generator"
that hands back the reference training images themselves scores about 0.

Restoration (chapter 05: super-resolution, inpainting) compares an output with the true
image pixel by pixel: :func:`psnr` (peak signal-to-noise ratio, in dB; the peak is the
width of the pixel range, so 1 for [0, 1] and 2 for [-1, 1]; optionally only inside a
mask, a hole) and :func:`ssim` (structural similarity, 1 = identical).

Text chapters measure bits per character with
:func:`course_lib.models.gpt.bits_per_character`.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib.conventions import as_images, as_int, as_masks, value_range_pair

ASSETS = Path(__file__).resolve().parent / "assets"
CLASSIFIER_WEIGHTS = ASSETS / "fashion_classifier.weights.h5"
FEATURE_LAYER = "features"


def build_classifier():
    """The course's Fashion-MNIST classifier: a small CNN, images (n, 28, 28, 1) in [0, 1].

    Its 128-unit layer named ``features`` is what FID and KID compare.
    """
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(128, activation="relu", name=FEATURE_LAYER)(x)
    logits = layers.Dense(10, name="logits")(layers.Dropout(0.3)(features))
    return keras.Model(inputs, logits, name="fashion_classifier")


@functools.lru_cache(maxsize=1)
def load_classifier():
    """The trained classifier and a model that returns its features (cached)."""
    import keras

    if not CLASSIFIER_WEIGHTS.is_file():
        raise FileNotFoundError(
            f"{CLASSIFIER_WEIGHTS} is missing: run `python tools/train_classifier.py` to make it"
        )
    model = build_classifier()
    model.load_weights(CLASSIFIER_WEIGHTS)
    feature_model = keras.Model(model.input, model.get_layer(FEATURE_LAYER).output)
    return model, feature_model


def _as_unit_images(images, value_range) -> np.ndarray:
    """Check a batch of Fashion-MNIST-shaped images and rescale it to [0, 1]."""
    low, high = value_range_pair(value_range)
    # samples may overshoot their range a little (the classifier sees them clipped)
    arr = as_images(images, value_range=(low, high), min_count=2, range_slack=0.05)
    return np.clip((arr - low) / (high - low), 0.0, 1.0)


def classifier_features(images, value_range=(0.0, 1.0), batch_size: int = 500) -> np.ndarray:
    """128-d features of the course classifier, one row per image."""
    arr = _as_unit_images(images, value_range)
    _, feature_model = load_classifier()
    return np.asarray(feature_model.predict(arr, batch_size=batch_size, verbose=0), np.float64)


def predict_classes(images, value_range=(0.0, 1.0), batch_size: int = 500) -> np.ndarray:
    """The classifier's label (0-9) for each image."""
    arr = _as_unit_images(images, value_range)
    model, _ = load_classifier()
    return np.argmax(model.predict(arr, batch_size=batch_size, verbose=0), axis=1)


def class_histogram(images, value_range=(0.0, 1.0)) -> np.ndarray:
    """Fraction of images the classifier puts in each of the 10 classes.

    A generator that covers every class has no share near 0 (mode collapse shows here).
    """
    labels = predict_classes(images, value_range)
    return np.bincount(labels, minlength=10) / len(labels)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the "F" in FID).

    ``|mu_a - mu_b|² + tr(S_a + S_b - 2 (S_a^½ S_b S_a^½)^½)``, computed with symmetric
    eigen-decompositions so it needs only NumPy.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features must be two (n, d) arrays with the same d; got {a.shape}, {b.shape}"
        )
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each feature set needs at least 2 rows")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _sqrt_psd(cov_a)
    cross = _sqrt_psd(root_a @ cov_b @ root_a)
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * cross))
    return max(value, 0.0)


def kernel_distance(
    features_a, features_b, *, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID: unbiased squared MMD with the cubic polynomial kernel, mean and std over subsets.

    Unlike FID it has no bias from the sample size, so small sample counts still compare.
    Being unbiased, it can come out slightly negative: a value within about one std of
    0 means the two sets cannot be told apart.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features must be two (n, d) arrays with the same d; got {a.shape}, {b.shape}"
        )
    m = min(subset_size, max(len(a), len(b)) // 2 or 1, len(a), len(b))  # subsets must differ
    if m < 2:
        raise ValueError("each feature set needs at least 2 rows")
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        off = m * (m - 1)
        scores.append(
            (kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.mean()
        )
    return float(np.mean(scores)), float(np.std(scores))


@functools.lru_cache(maxsize=8)
def _real_features(split: str, n: int) -> np.ndarray:
    from course_lib.data import load_fashion_mnist

    images, _ = load_fashion_mnist(split, limit=n, verbose=False)
    if len(images) < n:
        raise ValueError(f"the {split} split has only {len(images)} images; asked for {n}")
    return classifier_features(images)


@dataclass
class QualityReport:
    """FID and KID of a set of samples, with the real-data floor at the same size."""

    n: int
    fid: float
    floor_fid: float
    kid: float
    kid_std: float

    def __str__(self) -> str:
        return (
            f"FID {self.fid:.2f} (real-data floor {self.floor_fid:.2f}) · "
            f"KID {1000 * self.kid:.2f} ± {1000 * self.kid_std:.2f} ×10⁻³ · n={self.n}"
        )


def evaluate_samples(images, value_range=(0.0, 1.0)) -> QualityReport:
    """Score generated images against real Fashion-MNIST training images.

    Uses as many real images as samples (so FID's small-sample bias is the same for the
    floor, which compares real *test* images with the same training images). Lower is
    better for both. FID close to its floor means samples as hard to tell from the
    reference images as new real images are. The floor is not a lower bound: copies of
    the reference images score about 0. Copies of *other* training images score about
    the floor, so FID cannot tell new images from copies.
    """
    generated = classifier_features(images, value_range)
    n = len(generated)
    if n > 10000:
        raise ValueError(f"at most 10,000 samples can be scored (the test split's size); got {n}")
    train, test = _real_features("train", n), _real_features("test", n)
    # KID's cubic kernel suits features of about unit size: scale all sets alike.
    scale = 1.0 / np.sqrt(np.mean(train**2))
    kid, kid_std = kernel_distance(generated * scale, train * scale)
    return QualityReport(
        n=n,
        fid=frechet_distance(generated, train),
        floor_fid=frechet_distance(test, train),
        kid=kid,
        kid_std=kid_std,
    )


def timed_samples(draw, value_range=(0.0, 1.0)):
    """Run a sampler and score what it drew: ``(images, seconds, QualityReport)``.

    ``draw`` takes no arguments and returns a batch of images (for example
    ``lambda: model.sample_ddim(300, steps=50)``). Only the call to ``draw`` is timed,
    not the scoring.
    """
    if not callable(draw):
        raise TypeError(
            f"draw must be a function of no arguments that returns images; got a "
            f"{type(draw).__name__}"
        )
    start = time.perf_counter()
    images = draw()
    seconds = time.perf_counter() - start
    return images, seconds, evaluate_samples(images, value_range)


# -- restoration: pixel-by-pixel comparisons with the true image ----------------------------


def _pair(a, b, value_range, border):
    low, high = value_range_pair(value_range)
    a = as_images(a, name="images", shape=None, value_range=(low, high), range_slack=0.05)
    b = as_images(b, name="reference", shape=None, value_range=(low, high), range_slack=0.05)
    if a.shape != b.shape:
        raise ValueError(f"images {a.shape} and reference {b.shape} must have the same shape")
    border = as_int(border, "border", minimum=0)
    if border:
        if 2 * border >= min(a.shape[1:3]):
            raise ValueError(f"border {border} leaves nothing of images {a.shape[1:3]}")
        a, b = a[:, border:-border, border:-border], b[:, border:-border, border:-border]
    return np.clip(a, low, high), b, high - low


def psnr(images, reference, value_range=(0.0, 1.0), *, mask=None, border: int = 0) -> np.ndarray:
    """Peak signal-to-noise ratio of each image against its reference, in dB (higher is better).

    ``10 log10(peak^2 / MSE)`` with ``peak`` the width of ``value_range`` (1 for [0, 1],
    2 for [-1, 1]; using 255 for pixels in [0, 1] adds 48 dB of nothing). Outputs are
    clipped to the range first. ``mask`` (1 = count this pixel, e.g. an inpainting
    hole) takes the mean squared error over those pixels only; ``border`` leaves out
    that many pixels at each edge (super-resolution's custom: edges lack neighbours).
    Identical images give ``inf``. Returns one value per image.
    """
    a, b, peak = _pair(images, reference, value_range, 0)
    weight = np.ones((*a.shape[:3], 1), np.float32) if mask is None else as_masks(mask, a)
    border = as_int(border, "border", minimum=0)
    if border:
        a, b, _ = _pair(a, b, value_range, border)
        weight = weight[:, border:-border, border:-border]
    counted = weight.sum(axis=(1, 2, 3)) * a.shape[-1]
    if np.any(counted == 0):
        raise ValueError("a mask counts no pixel of some image: PSNR needs at least one")
    mse = (weight * (a.astype(np.float64) - b) ** 2).sum(axis=(1, 2, 3)) / counted
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(peak**2 / mse)


def ssim(images, reference, value_range=(0.0, 1.0), *, border: int = 0) -> np.ndarray:
    """Structural similarity of each image against its reference (1 = identical).

    Compares local means, contrasts and correlations in an 11x11 Gaussian window
    (sigma 1.5, K1 = 0.01, K2 = 0.03, as Wang et al. 2004), averaged over the image and
    its channels; ``L`` is the width of ``value_range``. Returns one value per image.
    """
    import tensorflow as tf

    low, _ = value_range_pair(value_range)
    a, b, peak = _pair(images, reference, value_range, border)
    if min(a.shape[1:3]) < 11:
        raise ValueError(f"SSIM's 11x11 window needs images of at least 11x11; got {a.shape[1:3]}")
    return tf.image.ssim(a - low, b - low, max_val=peak).numpy().astype(np.float64)
