"""The course's quality numbers: FID/KID on the course classifier, and bits per char."""

import time

import numpy as np
import pytest

from course_lib import metrics
from course_lib.data import load_fashion_mnist


@pytest.fixture(scope="module")
def real():
    train, _ = load_fashion_mnist("train", limit=600, verbose=False)
    test, test_labels = load_fashion_mnist("test", limit=2000, verbose=False)
    return train, test, test_labels


def test_shipped_classifier_is_small_and_accurate(real):
    assert metrics.CLASSIFIER_WEIGHTS.stat().st_size < 3 * 2**20
    _, test, labels = real
    accuracy = np.mean(metrics.predict_classes(test) == labels)
    assert accuracy > 0.88


def test_frechet_distance_of_a_set_with_itself_is_zero():
    feats = np.random.default_rng(0).normal(size=(500, 8))
    assert metrics.frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(1)
    mu_a, mu_b = np.array([0.0, 1.0, -1.0]), np.array([0.5, 1.0, 1.0])
    sd_a, sd_b = np.array([1.0, 2.0, 0.5]), np.array([1.5, 1.0, 0.5])
    a = mu_a + sd_a * rng.standard_normal((200_000, 3))
    b = mu_b + sd_b * rng.standard_normal((200_000, 3))
    closed = np.sum((mu_a - mu_b) ** 2) + np.sum((sd_a - sd_b) ** 2)
    assert metrics.frechet_distance(a, b) == pytest.approx(closed, rel=0.02)


def test_kernel_distance_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(2)
    same = metrics.kernel_distance(rng.normal(size=(800, 16)), rng.normal(size=(800, 16)))[0]
    shifted = metrics.kernel_distance(
        rng.normal(size=(800, 16)), rng.normal(0.5, 1, size=(800, 16))
    )[0]
    assert abs(same) < 0.01
    assert shifted > 20 * max(abs(same), 1e-4)


def test_real_images_score_near_the_floor_and_noise_far_worse(real):
    _, test, _ = real
    rng = np.random.default_rng(3)
    on_real = metrics.evaluate_samples(test[:500])
    on_noise = metrics.evaluate_samples(rng.uniform(0, 1, size=(500, 28, 28, 1)))
    assert on_real.fid == pytest.approx(on_real.floor_fid, rel=0.5)
    assert on_noise.fid > 10 * on_real.fid
    assert on_noise.kid > 10 * max(on_real.kid, 1e-4)
    assert "real-data floor" in str(on_real)


def test_timed_samples_times_the_draw_and_scores_its_images(real):
    _, test, _ = real

    def draw():
        time.sleep(0.2)
        return test[:200]

    images, seconds, report = metrics.timed_samples(draw)
    np.testing.assert_array_equal(images, test[:200])
    assert 0.2 <= seconds < 5
    assert report.fid == pytest.approx(metrics.evaluate_samples(test[:200]).fid)
    with pytest.raises(TypeError, match="draw must be a function"):
        metrics.timed_samples(test[:200])


def test_same_images_have_zero_fid(real):
    _, test, _ = real
    feats = metrics.classifier_features(test[:300])
    assert metrics.frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_value_range_is_respected(real):
    _, test, _ = real
    a = metrics.classifier_features(test[:50])
    b = metrics.classifier_features(test[:50] * 2 - 1, value_range=(-1, 1))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_class_histogram_of_real_data_covers_every_class(real):
    _, test, _ = real
    hist = metrics.class_histogram(test)
    assert hist.shape == (10,) and hist.sum() == pytest.approx(1.0)
    assert hist.min() > 0.05


@pytest.mark.parametrize(
    "images, kwargs, message",
    [
        (np.zeros((5, 32, 32, 1)), {}, "shape"),
        (np.zeros((1, 28, 28, 1)), {}, "at least 2"),
        (np.full((5, 28, 28, 1), np.nan), {}, "NaN"),
        (np.full((5, 28, 28, 1), -1.0), {}, "value_range"),
        (np.zeros((5, 28, 28, 1)), {"value_range": "0-1"}, "pair"),
    ],
)
def test_bad_images_get_clear_errors(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.classifier_features(images, **kwargs)


def test_feature_sets_must_agree():
    with pytest.raises(ValueError, match="same d"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="same d"):
        metrics.kernel_distance(np.zeros((5, 3)), np.zeros((5, 4)))
