"""Tests of course_lib.models.vae: the loss pieces against closed forms and NumPy, the
models' shapes, training signals and conditioning, and the errors on bad input."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.models import vae


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return (rng.uniform(size=(64, 28, 28, 1)) > 0.7).astype(np.float32)


# -- the loss pieces ---------------------------------------------------------------------


def test_kl_equals_closed_form_for_known_means_and_variances():
    mean = np.array([[0.0, 0.0], [1.0, -2.0], [0.5, 3.0]])
    var = np.array([[1.0, 1.0], [4.0, 0.25], [0.1, 2.0]])
    # KL(N(m, v) || N(0, 1)) = 0.5 (v + m² - 1 - ln v), per dimension, written out by hand
    expected = [
        0.0,
        0.5 * (4 + 1 - 1 - math.log(4)) + 0.5 * (0.25 + 4 - 1 - math.log(0.25)),
        0.5 * (0.1 + 0.25 - 1 - math.log(0.1)) + 0.5 * (2 + 9 - 1 - math.log(2)),
    ]
    got = vae.kl_divergence(mean, np.log(var)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_kl_matches_a_monte_carlo_estimate():
    rng = np.random.default_rng(1)
    mean, log_var = np.array([0.7, -0.3]), np.log(np.array([0.5, 1.8]))
    z = mean + np.exp(0.5 * log_var) * rng.standard_normal((400_000, 2))
    log_q = -0.5 * (np.log(2 * np.pi) + log_var + (z - mean) ** 2 / np.exp(log_var))
    log_p = -0.5 * (np.log(2 * np.pi) + z**2)
    estimate = np.mean(np.sum(log_q - log_p, axis=1))
    assert float(vae.kl_divergence(mean, log_var)) == pytest.approx(estimate, abs=0.01)


def test_reparameterized_sample_has_the_right_mean_and_variance():
    mean = np.array([[2.0, -1.0, 0.0]], np.float32).repeat(200_000, axis=0)
    var = np.array([0.25, 4.0, 1.0], np.float32)
    z = vae.reparameterize(mean, np.log(var) * np.ones_like(mean), seed=3).numpy()
    np.testing.assert_allclose(z.mean(axis=0), [2.0, -1.0, 0.0], atol=0.02)
    np.testing.assert_allclose(z.var(axis=0), var, rtol=0.02)


def test_reparameterize_with_given_noise_is_exact_and_differentiable():
    mean = tf.Variable([[1.0, 2.0]])
    log_var = tf.Variable([[0.0, math.log(9.0)]])
    noise = np.array([[0.5, -1.0]], np.float32)
    with tf.GradientTape() as tape:
        z = vae.reparameterize(mean, log_var, noise=noise)
        total = tf.reduce_sum(z)
    np.testing.assert_allclose(z.numpy(), [[1.5, -1.0]], rtol=1e-6)
    d_mean, d_log_var = tape.gradient(total, [mean, log_var])
    np.testing.assert_allclose(d_mean.numpy(), [[1.0, 1.0]])
    # dz/dlog_var = 0.5 * exp(log_var / 2) * noise
    np.testing.assert_allclose(d_log_var.numpy(), [[0.25, -1.5]], rtol=1e-6)


def test_reconstruction_loss_from_logits_equals_from_probabilities(images):
    logits = np.random.default_rng(2).normal(size=images.shape).astype(np.float32)
    probs = 1 / (1 + np.exp(-logits))
    by_hand = -np.sum(images * np.log(probs) + (1 - images) * np.log(1 - probs), axis=(1, 2, 3))
    a = vae.reconstruction_loss(images, logits, from_logits=True).numpy()
    b = vae.reconstruction_loss(images, probs).numpy()
    np.testing.assert_allclose(a, by_hand, rtol=1e-4)
    np.testing.assert_allclose(b, by_hand, rtol=1e-4)


def test_beta_one_gives_the_plain_vae_loss_and_beta_scales_only_the_kl(images):
    rng = np.random.default_rng(3)
    probs = rng.uniform(0.05, 0.95, size=images.shape).astype(np.float32)
    mean, log_var = rng.normal(size=(64, 4)), rng.normal(scale=0.5, size=(64, 4))
    rec = vae.reconstruction_loss(images, probs).numpy().mean()
    kl = vae.kl_divergence(mean, log_var).numpy().mean()
    plain = vae.vae_loss(images, probs, mean, log_var)
    assert float(plain.total) == pytest.approx(rec + kl, rel=1e-5)
    assert float(vae.vae_loss(images, probs, mean, log_var, beta=1).total) == pytest.approx(
        float(plain.total), rel=1e-6
    )
    four = vae.vae_loss(images, probs, mean, log_var, beta=4.0)
    assert float(four.total) == pytest.approx(rec + 4 * kl, rel=1e-5)
    assert float(four.reconstruction) == pytest.approx(float(plain.reconstruction))


def test_models_with_beta_one_report_the_plain_vae_loss(images):
    plain = vae.VAE(latent_dim=3, filters=4, seed=5)
    beta_one = vae.BetaVAE(latent_dim=3, beta=1.0, filters=4, seed=5)
    tc_one = vae.BetaTCVAE(latent_dim=3, beta=1.0, filters=4, seed=5, dataset_size=64)
    x = tf.constant(images[:16])
    noise = np.random.default_rng(5).standard_normal((16, 3)).astype(np.float32)
    a = plain.loss_terms(x, noise=noise)
    for other in (beta_one, tc_one):
        other.set_weights(plain.get_weights())
        b = other.loss_terms(x, noise=noise)
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), rel=1e-5)
    assert float(a["loss"]) == pytest.approx(
        float(a["reconstruction_loss"]) + float(a["kl_loss"]), rel=1e-6
    )


def numpy_total_correlation(z, mean, log_var, n_data):
    """The same TC estimate, with explicit loops: own image weighs 1/N, the others share the rest."""
    m, d = z.shape
    var = np.exp(log_var)
    weights = np.full(m, (n_data - 1) / (n_data * (m - 1)))
    log_qz, log_marg = np.zeros(m), np.zeros(m)
    for i in range(m):
        w = weights.copy()
        w[i] = 1 / n_data
        dens = np.exp(-0.5 * (np.log(2 * np.pi * var) + (z[i] - mean) ** 2 / var))  # (m, d)
        log_qz[i] = np.log(np.sum(w * np.prod(dens, axis=1)))
        log_marg[i] = np.sum(np.log(w @ dens))
    return np.mean(log_qz - log_marg)


def test_total_correlation_matches_numpy_and_sees_dependence():
    rng = np.random.default_rng(4)
    mean = rng.normal(size=(32, 3))
    log_var = rng.normal(scale=0.3, size=(32, 3)) - 1
    z = mean + np.exp(0.5 * log_var) * rng.normal(size=(32, 3))
    got = float(vae.total_correlation(z, mean, log_var, dataset_size=1000))
    assert got == pytest.approx(numpy_total_correlation(z, mean, log_var, 1000), rel=1e-4)
    # The batch is the whole data set (N = M): every image weighs 1/M, so the estimate is the
    # TC of the mixture itself: near zero for independent dimensions, large when dimension 1
    # copies dimension 0.
    m = 256
    free_mean = rng.normal(size=(m, 2))
    tied_mean = free_mean.copy()
    tied_mean[:, 1] = tied_mean[:, 0]
    log_var = np.full((m, 2), np.log(0.2**2))
    tc = {}
    for name, means in (("free", free_mean), ("tied", tied_mean)):
        z = means + 0.2 * rng.normal(size=(m, 2))
        tc[name] = float(vae.total_correlation(z, means, log_var, dataset_size=m))
    assert abs(tc["free"]) < 0.3
    assert tc["tied"] > 1.0


# -- the models ----------------------------------------------------------------------------


def test_vae_shapes_and_outputs_in_unit_range(images):
    model = vae.VAE(latent_dim=5, filters=4, seed=0)
    mean, log_var = model.encode(images[:7])
    assert mean.shape == log_var.shape == (7, 5)
    for out in (model.decode(mean), model.reconstruct(images[:7]), model.sample(7, seed=0)):
        assert out.shape == (7, 28, 28, 1)
        assert out.min() >= 0 and out.max() <= 1
    assert model.reconstruction_error(images[:7]).shape == (7,)


def test_vae_fit_reports_the_three_losses_and_learns(images):
    keras.utils.set_random_seed(0)
    model = vae.VAE(latent_dim=4, filters=4, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(images, batch_size=16, epochs=4, verbose=0).history
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(history)
    np.testing.assert_allclose(
        history["loss"], np.add(history["reconstruction_loss"], history["kl_loss"]), rtol=1e-4
    )
    assert history["loss"][-1] < history["loss"][0]


def test_beta_tcvae_reports_its_tc_term(images):
    model = vae.BetaTCVAE(latent_dim=3, beta=3.0, filters=4, seed=0, dataset_size=len(images))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(images, batch_size=32, epochs=1, verbose=0).history
    assert "tc" in history
    expected = history["reconstruction_loss"][0] + history["kl_loss"][0] + 2 * history["tc"][0]
    assert history["loss"][0] == pytest.approx(expected, rel=1e-4)


def test_conditional_decoder_output_changes_with_the_label(images):
    model = vae.ConditionalVAE(latent_dim=4, filters=4, seed=0)
    labels = np.arange(16) % 10
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(images[:16], labels, batch_size=8, epochs=1, verbose=0).history
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(history)
    z = np.zeros((10, 4), np.float32)
    out = model.decode(z, np.arange(10))
    assert out.shape == (10, 28, 28, 1)
    # one code, ten labels: every pair of classes must be drawn differently
    diffs = [np.abs(out[i] - out[j]).max() for i in range(10) for j in range(i + 1, 10)]
    assert min(diffs) > 1e-4
    np.testing.assert_allclose(model.decode(z[:1], 3), model.decode(z[:1], [3]))
    assert model.sample(4, labels=[1, 1, 2, 2], seed=0).shape == (4, 28, 28, 1)


def test_checkpointed_conditional_vae_resumes(images, tmp_path, monkeypatch):
    from course_lib.train import fit_resumable

    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    labels = np.arange(32) % 10

    def make():
        model = vae.ConditionalVAE(latent_dim=2, filters=4, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        return model

    first = make()
    fit_resumable(first, images[:32], labels, name="cvae", epochs=1, batch_size=16, verbose=0)
    again = make()
    history = fit_resumable(
        again, images[:32], labels, name="cvae", epochs=2, batch_size=16, verbose=0
    )
    assert len(history["loss"]) == 2
    # the resumed model started from the saved weights, not from scratch
    z = np.zeros((1, 2), np.float32)
    reloaded = make()
    fit_resumable(reloaded, images[:32], labels, name="cvae", epochs=2, batch_size=16, verbose=0)
    np.testing.assert_allclose(again.decode(z, [1]), reloaded.decode(z, [1]), atol=1e-6)


# -- helpers -----------------------------------------------------------------------------


def test_interpolate_traversal_and_grid_codes():
    path = vae.interpolate([0.0, 0.0], [1.0, -2.0], steps=5)
    np.testing.assert_allclose(path[[0, 2, 4]], [[0, 0], [0.5, -1], [1, -2]])
    codes = vae.traversal_codes(np.zeros(4), dims=[1, 3], values=[-1.0, 0.0, 2.0])
    assert codes.shape == (6, 4)
    np.testing.assert_allclose(codes[:3, 1], [-1, 0, 2])
    np.testing.assert_allclose(codes[3:, 3], [-1, 0, 2])
    assert np.all(codes[:, [0, 2]] == 0)
    grid = vae.latent_grid(3, span=1.0)
    np.testing.assert_allclose(grid[:3], [[-1, 1], [0, 1], [1, 1]])


def test_roc_auc_matches_counting_every_pair():
    rng = np.random.default_rng(6)
    normal = rng.normal(size=300).round(1)  # rounding makes ties
    anomaly = rng.normal(0.8, size=200).round(1)
    pairs = (anomaly[:, None] > normal[None]).mean() + 0.5 * (
        anomaly[:, None] == normal[None]
    ).mean()
    assert vae.roc_auc(normal, anomaly) == pytest.approx(pairs, rel=1e-12)
    assert vae.roc_auc([1, 2], [3, 4]) == 1.0
    assert vae.roc_auc([3, 4], [1, 2]) == 0.0
    assert vae.roc_auc([1, 1], [1]) == 0.5


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: vae.kl_divergence(np.zeros((2, 3)), np.zeros((2, 4))), ValueError, "same shape"),
        (lambda: vae.kl_divergence(np.zeros(3), [0, np.nan, 0]), ValueError, "NaN"),
        (lambda: vae.kl_divergence("abc", np.zeros(3)), TypeError, "array of numbers"),
        (
            lambda: vae.reparameterize(np.zeros((2, 3)), np.zeros((2, 3)), noise=np.zeros((3,))),
            ValueError,
            "noise",
        ),
        (
            lambda: vae.vae_loss(
                np.zeros((2, 4)), np.zeros((2, 4)), np.zeros((2, 1)), np.zeros((2, 1)), beta=-1
            ),
            ValueError,
            "beta",
        ),
        (
            lambda: vae.reconstruction_loss(np.zeros((2, 4)), np.zeros((2, 5))),
            ValueError,
            "same shape",
        ),
        (
            lambda: vae.total_correlation(np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((4, 2)), 0),
            ValueError,
            "dataset_size",
        ),
        (lambda: vae.VAE(latent_dim=0), ValueError, "latent_dim"),
        (lambda: vae.VAE(beta="big"), ValueError, "beta"),
        (lambda: vae.roc_auc([], [1.0]), ValueError, "at least one"),
        (lambda: vae.interpolate([0, 0], [1, 1, 1]), ValueError, "one shape"),
        (lambda: vae.traversal_codes(np.zeros(3), [5], [0.0]), ValueError, "dims"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_models_reject_bad_images_and_labels(images):
    model = vae.VAE(latent_dim=2, filters=4)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"\(n, 28, 28, 1\)"):
        model.fit(np.zeros((4, 32, 32, 1)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.encode(images * 255)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        model.decode(np.zeros((3, 5)))
    cvae = vae.ConditionalVAE(latent_dim=2, filters=4)
    cvae.compile(optimizer="adam")
    with pytest.raises(ValueError, match="fit\\(images, labels\\)"):
        cvae.fit(images, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="between 0 and 9"):
        cvae.fit(images[:4], np.array([0, 1, 2, 10]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="one label per image"):
        cvae.decode(np.zeros((3, 2)), [1, 2])


def test_a_changed_beta_trains_a_fresh_run_and_the_first_beta_loads_again(
    images, tmp_path, monkeypatch, capsys
):
    """A learner's "try it" that changes beta must never get the old model back."""
    from course_lib.train import fit_resumable

    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))

    def run(beta):
        keras.utils.set_random_seed(0)
        model = vae.VAE(latent_dim=2, filters=4, beta=beta, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        history = fit_resumable(
            model, images[:32], name="try_it", epochs=1, batch_size=16, verbose=0
        )
        return model, history, capsys.readouterr().out

    first, h1, _ = run(1.0)
    fourth, h4, said = run(4.0)
    assert "settings changed (beta: 1.0 -> 4.0)" in said and "training a fresh run" in said
    assert fourth.beta == 4.0 and h4["loss"] != h1["loss"]
    again, h1_again, said = run(1.0)
    assert "finished" in said and h1_again == h1  # loaded, not trained
    # beta weighs the KL term, which trains the encoder: compare the codes it gives
    mean_again, mean_first = again.encode(images[:8])[0], first.encode(images[:8])[0]
    np.testing.assert_allclose(mean_again, mean_first, atol=1e-6)
    assert not np.allclose(mean_again, fourth.encode(images[:8])[0], atol=1e-6)
