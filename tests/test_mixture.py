"""Tests of course_lib.models.mixture against densities computed independently in NumPy."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.models.mixture import GaussianMixture, diag_gaussian_log_prob

# -- NumPy references --------------------------------------------------------------------


def np_softplus(x):
    return np.logaddexp(0.0, x)


def np_logsumexp(a, axis):
    top = a.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(a - top).sum(axis=axis))


def np_mvn_log_pdf(x, mean, cov):
    """log N(x; mean, cov) for each row of x, with a dense covariance matrix."""
    d = len(mean)
    diff = x - mean
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    quad = np.einsum("nd,nd->n", diff, np.linalg.solve(cov, diff.T).T)
    return -0.5 * (d * math.log(2 * math.pi) + logdet + quad)


def model_params(model):
    """The mixture's parameters as float64 NumPy arrays, from its raw variables."""
    logits = model.logits.numpy().astype(np.float64)
    weights = np.exp(logits - np_logsumexp(logits, 0))
    means = model.means.numpy().astype(np.float64)
    stds = model.min_std + np_softplus(model.raw_std.numpy().astype(np.float64))
    factors = model.factors.numpy().astype(np.float64)
    return weights, means, stds, factors


def np_mixture_log_pdf(model, x):
    weights, means, stds, factors = model_params(model)
    per_component = []
    for k in range(len(weights)):
        cov = factors[k] @ factors[k].T + np.diag(stds[k] ** 2)
        per_component.append(np.log(weights[k]) + np_mvn_log_pdf(x, means[k], cov))
    return np_logsumexp(np.stack(per_component, axis=1), axis=1)


def random_model(n_components, rank, dim, seed=0, min_std=0.01):
    """A built mixture whose every variable holds random, non-trivial values."""
    rng = np.random.default_rng(seed)
    model = GaussianMixture(n_components, rank=rank, min_std=min_std)
    model.build((None, dim))
    model.logits.assign(rng.normal(0, 1, size=(n_components,)))
    model.means.assign(rng.normal(0, 2, size=(n_components, dim)))
    model.raw_std.assign(rng.normal(0, 0.5, size=(n_components, dim)))
    model.factors.assign(rng.normal(0, 1, size=(n_components, dim, rank)))
    return model


def three_clusters(n_per=100, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    x = np.concatenate([c + 0.6 * rng.standard_normal((n_per, 2)) for c in centres])
    return rng.permutation(x).astype(np.float32)


# -- diag_gaussian_log_prob --------------------------------------------------------------


def test_diag_gaussian_log_prob_closed_form():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4))
    mean = rng.normal(size=(4,))
    std = rng.uniform(0.3, 2.0, size=(4,))
    expected = np.sum(
        -0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi), axis=-1
    )
    got = diag_gaussian_log_prob(x, mean, std)
    assert got.shape == (6,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_diag_gaussian_log_prob_standard_normal_at_zero_and_tensors():
    # log N(0; 0, I_d) = -d/2 log(2 pi)
    got = diag_gaussian_log_prob(tf.zeros((1, 3)), tf.zeros(3), tf.ones(3))
    np.testing.assert_allclose(got.numpy(), [-1.5 * math.log(2 * math.pi)], rtol=1e-6)
    # a wider Gaussian is lower at its mean by exactly d * log(scale)
    wide = diag_gaussian_log_prob(np.zeros((1, 3)), np.zeros(3), 2.0 * np.ones(3))
    np.testing.assert_allclose((got - wide).numpy(), [3 * math.log(2.0)], rtol=1e-6)


# -- GaussianMixture.log_prob ------------------------------------------------------------


@pytest.mark.parametrize(
    "n_components, rank, dim", [(3, 0, 2), (3, 1, 2), (2, 2, 3), (4, 1, 5), (1, 3, 3)]
)
def test_log_prob_equals_dense_mixture_density(n_components, rank, dim):
    model = random_model(n_components, rank, dim, seed=n_components + rank + dim)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 3, size=(16, dim)).astype(np.float32)
    expected = np_mixture_log_pdf(model, x.astype(np.float64))
    got = model.log_prob(x).numpy()
    assert got.shape == (16,)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(model(x).numpy(), got, rtol=1e-6)


def test_component_log_prob_shape_and_values():
    model = random_model(3, 1, 2, seed=4)
    x = np.random.default_rng(2).normal(size=(5, 2)).astype(np.float32)
    per = model.component_log_prob(x).numpy()
    assert per.shape == (5, 3)
    _, means, stds, factors = model_params(model)
    for k in range(3):
        cov = factors[k] @ factors[k].T + np.diag(stds[k] ** 2)
        np.testing.assert_allclose(per[:, k], np_mvn_log_pdf(x, means[k], cov), atol=1e-3)


def test_log_prob_accepts_images_flattened():
    model = random_model(2, 1, 12, seed=3)
    x = np.random.default_rng(3).normal(size=(4, 3, 4, 1)).astype(np.float32)
    np.testing.assert_allclose(
        model.log_prob(x).numpy(), model.log_prob(x.reshape(4, 12)).numpy(), rtol=1e-6
    )


def test_weights_sum_to_one_and_stds_respect_floor():
    model = random_model(5, 1, 3, seed=7, min_std=0.2)
    weights = model.weights_.numpy()
    assert weights.shape == (5,)
    assert np.all(weights > 0)
    assert weights.sum() == pytest.approx(1.0, abs=1e-6)
    model.raw_std.assign(np.full((5, 3), -50.0))
    np.testing.assert_allclose(model.stds.numpy(), 0.2, atol=1e-6)


# -- initialize and training -----------------------------------------------------------------


def test_initialize_sets_parameters_from_data():
    x = three_clusters(20)
    model = GaussianMixture(3, rank=1)
    assert model.initialize(x, seed=0) is model
    assert model.dim == 2
    means = model.means.numpy()
    assert means.shape == (3, 2)
    assert np.all(means >= x.min(axis=0) - 1e-6) and np.all(means <= x.max(axis=0) + 1e-6)
    assert len({tuple(np.round(m, 4)) for m in means}) == 3  # three different starts
    np.testing.assert_allclose(model.stds.numpy(), np.tile(x.std(axis=0), (3, 1)), rtol=1e-4)
    assert model.weights_.numpy().sum() == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.isfinite(model.log_prob(x).numpy()))
    again = GaussianMixture(3, rank=1).initialize(x, seed=0)
    np.testing.assert_array_equal(again.means.numpy(), means)


def test_initialize_errors():
    with pytest.raises(ValueError, match="n_components=5"):
        GaussianMixture(5).initialize(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="shape"):
        GaussianMixture(1).initialize(np.zeros(4))
    model = GaussianMixture(2).initialize(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(ValueError, match="built for 3"):
        model.initialize(np.zeros((10, 4)))


def test_fit_lowers_the_loss_on_three_clusters():
    keras.utils.set_random_seed(0)
    x = three_clusters(100)
    model = GaussianMixture(3, rank=1).initialize(x, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    before = -float(np.mean(model.log_prob(x).numpy()))
    history = model.fit(x, batch_size=64, epochs=6, verbose=0)
    after = -float(np.mean(model.log_prob(x).numpy()))
    assert len(history.history["loss"]) == 6
    assert np.all(np.isfinite(history.history["loss"]))
    assert after < before - 0.3
    assert history.history["loss"][-1] < history.history["loss"][0]
    # the reported loss is the mean negative log-likelihood of the data
    np.testing.assert_allclose(model.evaluate(x, batch_size=300, verbose=0), after, rtol=1e-4)


# -- GaussianMixture.sample --------------------------------------------------------------


def test_sample_shape_and_seed():
    model = random_model(3, 1, 4, seed=1)
    a = model.sample(25, seed=3)
    b = model.sample(25, seed=3)
    c = model.sample(25, seed=4)
    assert a.shape == (25, 4)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_sample_components_forces_the_component():
    model = random_model(3, 0, 2, seed=2)
    model.means.assign([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
    model.raw_std.assign(np.full((3, 2), -3.0))  # stds about 0.06
    model.logits.assign([10.0, 0.0, 0.0])  # component 0 would nearly always be picked
    picks = np.array([1, 2, 1, 0, 2, 2])
    out = model.sample(6, components=picks, seed=0)
    means = model.means.numpy()
    np.testing.assert_allclose(out, means[picks], atol=1.0)
    # rank 0 without noise: exactly the means
    np.testing.assert_allclose(model.sample(6, components=picks, noise=False), means[picks])


def distance_from_span(offset, w):
    """How far ``offset`` is from the line spanned by the vector ``w``."""
    return np.linalg.norm(offset - w * (offset @ w) / (w @ w))


def test_sample_without_noise_lies_on_mean_plus_span():
    model = random_model(2, 1, 3, seed=5)
    means, factors = model.means.numpy(), model.factors.numpy()
    picks = np.array([0, 1] * 10)
    out = model.sample(20, noise=False, components=picks, seed=1)
    for point, k in zip(out, picks, strict=True):
        offset = point - means[k]
        assert distance_from_span(offset, factors[k][:, 0]) < 1e-4 * (1 + np.linalg.norm(offset))
    assert np.std(out[picks == 0], axis=0).max() > 0.1  # it does move along the span
    noisy = model.sample(20, noise=True, components=picks, seed=1)
    off = [
        distance_from_span(p - means[k], factors[k][:, 0])
        for p, k in zip(noisy, picks, strict=True)
    ]
    assert max(off) > 1e-2


def test_sample_covariance_matches_the_model():
    model = random_model(1, 1, 2, seed=6)
    _, means, stds, factors = model_params(model)
    x = model.sample(20000, seed=0).astype(np.float64)
    cov = factors[0] @ factors[0].T + np.diag(stds[0] ** 2)
    np.testing.assert_allclose(x.mean(axis=0), means[0], atol=0.05 * np.sqrt(cov.max()) + 0.02)
    np.testing.assert_allclose(np.cov(x.T), cov, rtol=0.1, atol=0.05 * np.abs(cov).max())


def test_sample_picks_components_by_weight():
    model = random_model(2, 0, 1, seed=0)
    model.means.assign([[-50.0], [50.0]])
    model.raw_std.assign(np.zeros((2, 1)))
    model.logits.assign([0.0, math.log(3.0)])  # weights 1/4, 3/4
    x = model.sample(8000, seed=2)
    assert np.mean(x[:, 0] > 0) == pytest.approx(0.75, abs=0.02)


def test_sample_errors():
    with pytest.raises(RuntimeError, match="initialize"):
        GaussianMixture(2).sample(3)
    model = random_model(3, 1, 2)
    for n in (0, -2, 2.5, "3"):
        with pytest.raises(ValueError, match="n must be"):
            model.sample(n)
    with pytest.raises(ValueError, match="components"):
        model.sample(3, components=[0, 1])
    with pytest.raises(ValueError, match="components"):
        model.sample(2, components=[0, 3])
    with pytest.raises(ValueError, match="components"):
        model.sample(2, components=[-1, 0])


# -- constructor -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"n_components": 0}, "n_components"),
        ({"n_components": -2}, "n_components"),
        ({"n_components": 2.5}, "n_components"),
        ({"n_components": "3"}, "n_components"),
        ({"n_components": None}, "n_components"),
        ({"rank": -1}, "rank"),
        ({"rank": 1.0}, "rank"),
        ({"min_std": 0}, "min_std"),
        ({"min_std": -0.1}, "min_std"),
        ({"min_std": float("nan")}, "min_std"),
    ],
)
def test_constructor_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        GaussianMixture(**kwargs)


def test_constructor_rejects_bools_like_the_rest_of_the_library():
    # budget(), seed_everything(), batches_per_epoch() and load_fashion_mnist(limit=)
    # all refuse True/False where a count is expected; so must the model.
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(n_components=True)
    with pytest.raises(ValueError, match="rank"):
        GaussianMixture(rank=True)


def test_constructor_keeps_settings():
    model = GaussianMixture(4, rank=0, min_std=0.05)
    assert (model.n_components, model.rank, model.min_std) == (4, 0, 0.05)
    assert model.dim is None
