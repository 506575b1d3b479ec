"""Tests of course_lib.models.diffusion: schedules, the forward process, the DDPM posterior
against an independent Bayes-rule derivation, the samplers, guidance, training, resume."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.models import diffusion as d
from course_lib.train import fit_resumable

T_SMALL = 40
TINY = (8, 8, 8)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


def no_cond(n):
    """The conditioning image of a model without one: zero channels."""
    return tf.zeros((n, 28, 28, 0))


def tiny_model(num_classes=None, timesteps=T_SMALL, seed=0, prediction="eps"):
    """A very small model whose output layer is randomised, so predictions are not zero."""
    keras.utils.set_random_seed(seed)
    model = d.DiffusionModel(
        timesteps=timesteps, num_classes=num_classes, channels=TINY, prediction=prediction
    )
    last = model.ema_network.get_layer("out")
    kernel, bias = last.get_weights()
    last.set_weights([np.random.default_rng(seed).normal(0, 0.3, kernel.shape), bias])
    return model


# -- schedules -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", d.SCHEDULES)
@pytest.mark.parametrize("timesteps", [10, 1000])
def test_alpha_bar_is_strictly_decreasing_and_inside_zero_one(kind, timesteps):
    s = d.make_schedule(kind, timesteps)
    abar = s.alpha_bars
    assert abar.shape == (timesteps,)
    assert np.all(np.diff(abar) < 0)
    assert np.all(abar > 0) and np.all(abar < 1)
    assert np.all((s.betas > 0) & (s.betas < 1))
    assert abar[-1] < 0.01  # the last step leaves almost only noise
    if timesteps == 1000:
        assert abar[0] > 0.9998  # the first one barely noises


def test_cosine_keeps_more_signal_than_linear_in_the_middle():
    lin, cos = d.make_schedule("linear", 1000), d.make_schedule("cosine", 1000)
    assert cos.alpha_bars[500] > 2 * lin.alpha_bars[500]


def test_cosine_alpha_bar_follows_the_squared_cosine():
    s, T = 0.008, 200
    t = np.arange(1, T + 1) / T
    f = lambda u: np.cos((u + s) / (1 + s) * np.pi / 2) ** 2  # noqa: E731
    expected = f(t) / f(0.0)
    got = d.make_schedule("cosine", T).alpha_bars
    np.testing.assert_allclose(got[:-1], expected[:-1], rtol=1e-9, atol=1e-12)


# -- forward process -------------------------------------------------------------------------


def test_q_sample_at_t0_returns_nearly_x0_and_at_the_end_nearly_noise(rng):
    sched = d.make_schedule("linear", 1000)
    x0 = rng.uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    noise = rng.normal(size=x0.shape).astype(np.float32)
    start = d.q_sample(x0, 0, noise, sched)
    assert np.max(np.abs(start - x0)) < 0.05
    assert np.corrcoef(start.ravel(), x0.ravel())[0, 1] > 0.999
    end = d.q_sample(x0, 999, noise, sched)
    assert np.corrcoef(end.ravel(), noise.ravel())[0, 1] > 0.999


def test_q_sample_has_the_right_mean_and_variance(rng):
    sched = d.make_schedule("cosine", 100)
    x0 = np.full((20000, 1, 1, 1), 0.7, np.float32)
    t = np.full(20000, 60)
    xt = d.q_sample(x0, t, rng.normal(size=x0.shape).astype(np.float32), sched)
    abar = sched.alpha_bars[60]
    assert abs(xt.mean() - np.sqrt(abar) * 0.7) < 0.02
    assert abs(xt.var() - (1 - abar)) < 0.02


def test_q_sample_takes_one_timestep_per_image(rng):
    sched = d.make_schedule("cosine", 100)
    x0 = rng.uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    noise = rng.normal(size=x0.shape).astype(np.float32)
    batch = d.q_sample(x0, np.array([0, 50, 99]), noise, sched)
    for i, t in enumerate([0, 50, 99]):
        np.testing.assert_allclose(
            batch[i : i + 1], d.q_sample(x0[i : i + 1], t, noise[i : i + 1], sched)
        )


# -- the posterior q(x_{t-1} | x_t, x_0) ----------------------------------------------------


@pytest.mark.parametrize("kind", d.SCHEDULES)
def test_posterior_matches_bayes_rule_for_two_gaussians(kind, rng):
    """Derived independently: prior q(x_{t-1}|x_0) times likelihood q(x_t|x_{t-1})."""
    sched = d.make_schedule(kind, 50)
    x0 = rng.uniform(-1, 1, (5, 4, 4, 1))
    xt = rng.normal(size=x0.shape)
    for t in [1, 7, 25, 49]:
        abar_prev = np.prod(1 - sched.betas[:t])
        beta = sched.betas[t]
        precision = 1 / (1 - abar_prev) + (1 - beta) / beta
        var = 1 / precision
        mean = var * (np.sqrt(abar_prev) * x0 / (1 - abar_prev) + np.sqrt(1 - beta) * xt / beta)
        got_mean, got_var = d.posterior_mean_variance(x0, xt, t, sched)
        np.testing.assert_allclose(got_var, var, rtol=1e-5)
        np.testing.assert_allclose(got_mean, mean, rtol=1e-4, atol=1e-5)
        closed = beta * (1 - abar_prev) / (1 - sched.alpha_bars[t])
        np.testing.assert_allclose(sched.posterior_variance[t], closed, rtol=1e-10)


def test_posterior_at_t0_is_exactly_x0_with_no_variance(rng):
    sched = d.make_schedule("cosine", 100)
    x0 = rng.uniform(-1, 1, (2, 28, 28, 1))
    mean, var = d.posterior_mean_variance(x0, rng.normal(size=x0.shape), 0, sched)
    assert float(np.max(var)) == 0.0
    np.testing.assert_allclose(mean, x0, atol=1e-6)


def test_posterior_variance_is_below_beta():
    sched = d.make_schedule("linear", 1000)
    assert np.all(sched.posterior_variance[1:] < sched.betas[1:])
    assert np.all(sched.posterior_variance[1:] > 0)


# -- DDIM, guidance and the timestep grid -------------------------------------------------


def test_ddim_step_with_the_true_noise_moves_along_q_sample(rng):
    """With eta=0 and the exact noise, DDIM lands on q_sample(x0, t_prev, same noise)."""
    sched = d.make_schedule("cosine", 100)
    x0 = rng.uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    eps = rng.normal(size=x0.shape).astype(np.float32)
    xt = d.q_sample(x0, 80, eps, sched)
    abar = sched.alpha_bars
    stepped = d.ddim_step(xt, eps, abar[80], abar[30], eta=0.0)
    np.testing.assert_allclose(stepped, d.q_sample(x0, 30, eps, sched), atol=1e-4)


def test_ddim_with_eta_one_uses_the_ddpm_posterior_variance():
    sched = d.make_schedule("linear", 100)
    abar, t = sched.alpha_bars, 40
    x = np.zeros((1, 2, 2, 1))
    noise = np.ones_like(x)
    without = d.ddim_step(x, x, abar[t], abar[t - 1], eta=0.0)
    with_noise = d.ddim_step(x, x, abar[t], abar[t - 1], eta=1.0, noise=noise)
    sigma = float((with_noise - without).ravel()[0])
    np.testing.assert_allclose(sigma**2, sched.posterior_variance[t], rtol=1e-4)


def test_ddim_timesteps_span_the_schedule():
    ts = d.ddim_timesteps(1000, 50)
    assert len(ts) == 50 and ts[0] == 999 and ts[-1] == 0
    assert np.all(np.diff(ts) < 0)
    np.testing.assert_array_equal(d.ddim_timesteps(10, 10), np.arange(9, -1, -1))


def test_ddim_spacing_below_one_crowds_the_steps_at_the_noisy_end():
    even, crowded = d.ddim_timesteps(1000, 50), d.ddim_timesteps(1000, 50, spacing=0.7)
    np.testing.assert_array_equal(d.ddim_timesteps(1000, 50, spacing=1.0), even)
    assert crowded[0] == 999 and crowded[-1] == 0 and np.all(np.diff(crowded) < 0)
    assert np.sum(crowded >= 500) > np.sum(even >= 500)
    # step i of n sits at (T-1) * (i / (n-1)) ** spacing
    np.testing.assert_array_equal(d.ddim_timesteps(101, 3, spacing=0.5), [100, 71, 0])


def test_multistep_weights_follow_the_log_snr_steps():
    sched = d.make_schedule("cosine", 1000)
    ts = d.ddim_timesteps(1000, 20)
    w = d.multistep_weights(sched.alpha_bars, ts)
    assert w.shape == (20,) and w[0] == 0 and w[-1] == 0  # no previous guess / final jump
    lam = 0.5 * np.log(sched.alpha_bars[ts] / (1 - sched.alpha_bars[ts]))
    h = np.diff(lam)
    np.testing.assert_allclose(w[5], h[5] / (2 * h[4]))
    # steps of equal size in log-SNR give the classic Adams-Bashforth weight 1/2
    lam_even = np.linspace(-4, 4, 6)
    abar_even = 1 / (1 + np.exp(-2 * lam_even))
    np.testing.assert_allclose(d.multistep_weights(abar_even, np.arange(6))[1:-1], 0.5)
    with pytest.raises(ValueError, match="noisiest"):
        d.multistep_weights(sched.alpha_bars, ts[::-1])


def test_guided_noise_mixes_the_two_predictions():
    cond, uncond = np.array([1.0, 2.0]), np.array([0.0, -1.0])
    np.testing.assert_allclose(d.guided_noise(cond, uncond, 0.0), uncond)
    np.testing.assert_allclose(d.guided_noise(cond, uncond, 1.0), cond)
    np.testing.assert_allclose(d.guided_noise(cond, uncond, 3.0), [3.0, 8.0])


# -- the network and the model's compiled steps -------------------------------------------


def test_unet_keeps_the_image_shape_and_uses_the_timestep():
    net = d.build_unet(TINY)
    x = np.random.default_rng(1).normal(size=(2, 28, 28, 1)).astype(np.float32)
    last = net.get_layer("out")
    last.set_weights([np.ones_like(w) * 0.1 for w in last.get_weights()])
    a = net([x, np.array([3, 3], np.int32)]).numpy()
    b = net([x, np.array([30, 30], np.int32)]).numpy()
    assert a.shape == x.shape
    assert not np.allclose(a, b)


def test_guidance_scale_zero_gives_the_unconditional_prediction():
    model = tiny_model(num_classes=3)
    x = np.random.default_rng(2).normal(size=(4, 28, 28, 1)).astype(np.float32)
    labels = np.array([0, 1, 2, 1])
    t = 17
    tt = np.full(4, t, np.int32)
    uncond = model.ema_network([x, tt, np.full(4, 3, np.int32)]).numpy()
    cond = model.ema_network([x, tt, labels.astype(np.int32)]).numpy()
    assert not np.allclose(cond, uncond)  # the label matters
    np.testing.assert_allclose(model.predict_noise(x, t, labels, guidance=0.0), uncond, atol=1e-5)
    np.testing.assert_allclose(model.predict_noise(x, t, labels, guidance=1.0), cond, atol=1e-5)
    np.testing.assert_allclose(
        model.predict_noise(x, t, labels, guidance=2.5),
        d.guided_noise(cond, uncond, 2.5),
        atol=1e-4,
    )


@pytest.mark.parametrize("prediction", d.PREDICTIONS)
def test_compiled_ddpm_step_is_the_posterior_at_the_predicted_x0(prediction):
    model = tiny_model(prediction=prediction)
    sched = model.schedule
    x = np.random.default_rng(3).normal(size=(2, 28, 28, 1)).astype(np.float32)
    t = 25
    eps = model.predict_noise(x, t)
    x0 = d.predict_x0(x, eps, sched.alpha_bars[t])
    mean, var = d.posterior_mean_variance(x0, x, t, sched)
    ddpm_fn, _ = model._compiled()
    noise = np.ones_like(x)
    no_label, g = tf.zeros((2,), tf.int32), tf.constant(1.0)  # ignored: unconditional model
    got, _ = ddpm_fn(x, tf.constant(t), no_label, g, noise, tf.constant(False), no_cond(2))
    np.testing.assert_allclose(got.numpy(), mean + np.sqrt(var) * noise, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("prediction", d.PREDICTIONS)
def test_compiled_ddim_step_matches_the_numpy_update(prediction):
    model = tiny_model(prediction=prediction)
    abar = model.schedule.alpha_bars
    x = np.random.default_rng(4).normal(size=(2, 28, 28, 1)).astype(np.float32)
    eps = model.predict_noise(x, 30)
    _, ddim_fn = model._compiled()
    no_label, g = tf.zeros((2,), tf.int32), tf.constant(1.0)  # ignored: unconditional model
    got, _ = ddim_fn(
        *(x, tf.constant(30), tf.constant(12), no_label, g, 0.0, np.zeros_like(x)),
        *(tf.constant(False), np.zeros_like(x), 0.0, no_cond(2)),
    )
    expected = d.ddim_step(x, eps, abar[30], abar[12], eta=0.0)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-3, atol=1e-4)
    # second order: the same step, taken with the extrapolated clean-image guess
    x0 = d.predict_x0(x, eps, abar[30])
    x0_prev = np.random.default_rng(5).normal(size=x.shape).astype(np.float32)
    got, own_x0 = ddim_fn(
        *(x, tf.constant(30), tf.constant(12), no_label, g, 0.0, np.zeros_like(x)),
        *(tf.constant(False), x0_prev, 0.4, no_cond(2)),
    )
    guess = x0 + 0.4 * (x0 - x0_prev)
    implied_eps = (x - np.sqrt(abar[30]) * guess) / np.sqrt(1 - abar[30])
    expected = d.ddim_step(x, implied_eps, abar[30], abar[12], eta=0.0)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(own_x0.numpy(), x0, rtol=1e-3, atol=1e-4)


def test_second_order_ddim_converges_faster_on_the_exact_ode():
    """Gaussian data N(0, s^2) has a known perfect denoiser, and the deterministic
    sampler's exact end point is x_T * s / sqrt(abar_T s^2 + 1 - abar_T). With the
    perfect denoiser plugged in, doubling the steps should halve DDIM's error (first
    order) and quarter the second-order sampler's."""
    s = 0.5
    model = d.DiffusionModel(timesteps=1000, channels=TINY)  # predicts the noise
    abar_all = model._abar

    def perfect_noise(x, t, labels, guidance, cond):
        abar = abar_all[t]
        return x * tf.sqrt(1.0 - abar) / (abar * s**2 + 1.0 - abar)

    model.network_output = perfect_noise
    # a small starting point, so that no pixel of the result reaches the [-1, 1] clip
    x_T = 0.4 * np.random.default_rng(11).normal(size=(2, 28, 28, 1)).astype(np.float32)
    abar_T = model.schedule.alpha_bars[-1]
    exact = x_T * s / np.sqrt(abar_T * s**2 + 1 - abar_T)

    def error(steps, order):
        got = model.sample_ddim(2, steps, order=order, x_T=x_T, clip=False)
        return float(np.abs(got - exact).max() / np.abs(exact).max())

    ddim_50, ddim_100 = error(50, 1), error(100, 1)
    second_50, second_100 = error(50, 2), error(100, 2)
    assert 1.6 < ddim_50 / ddim_100 < 2.5  # first order
    assert second_50 / second_100 > 3.2  # second order
    assert second_100 < ddim_100 / 2


def test_v_prediction_turns_the_output_into_noise_and_clean_image():
    model = tiny_model(prediction="v")
    abar = model.schedule.alpha_bars
    x = np.random.default_rng(8).normal(size=(3, 28, 28, 1)).astype(np.float32)
    t = 21
    v = model.ema_network([x, np.full(3, t, np.int32)]).numpy()
    assert np.abs(v).max() > 0.1  # the randomised output layer says something
    eps = model.predict_noise(x, t)
    np.testing.assert_allclose(eps, np.sqrt(abar[t]) * v + np.sqrt(1 - abar[t]) * x, atol=1e-5)
    x0 = model.predicted_x0(tf.constant(x), tf.constant(t), None, 1.0, no_cond(3), False).numpy()
    np.testing.assert_allclose(x0, np.sqrt(abar[t]) * x - np.sqrt(1 - abar[t]) * v, atol=1e-5)
    # the two guesses explain x_t together, as q_sample would have made it
    np.testing.assert_allclose(np.sqrt(abar[t]) * x0 + np.sqrt(1 - abar[t]) * eps, x, atol=1e-5)


def test_the_velocity_target_recovers_the_clean_image_and_the_noise(rng):
    sched = d.make_schedule("cosine", 100)
    x0 = rng.uniform(-1, 1, (4, 28, 28, 1))
    noise = rng.normal(size=x0.shape)
    t = np.array([0, 30, 70, 99])
    abar = sched.alpha_bars[t].reshape(-1, 1, 1, 1)
    xt = d.q_sample(x0, t, noise, sched).astype(np.float64)
    v = np.sqrt(abar) * noise - np.sqrt(1 - abar) * x0  # what a v-model learns to output
    np.testing.assert_allclose(np.sqrt(abar) * xt - np.sqrt(1 - abar) * v, x0, atol=1e-5)
    np.testing.assert_allclose(np.sqrt(abar) * v + np.sqrt(1 - abar) * xt, noise, atol=1e-5)


@pytest.mark.parametrize("prediction", d.PREDICTIONS)
def test_min_snr_weights_cap_the_signal_to_noise_ratio(prediction):
    gamma = 5.0
    model = d.DiffusionModel(
        timesteps=1000, channels=TINY, prediction=prediction, loss_weighting="min_snr"
    )
    abar = model.schedule.alpha_bars[[0, 300, 600, 900]]
    snr = abar / (1 - abar)
    got = model.loss_weight(tf.constant(abar, tf.float32)).numpy()
    per_unit_x0_error = snr if prediction == "eps" else snr + 1  # output error / x0 error
    np.testing.assert_allclose(got * per_unit_x0_error, np.minimum(snr, gamma), rtol=2e-3)
    assert got[0] < 0.01  # the nearly clean step no longer dominates
    plain = d.DiffusionModel(timesteps=1000, channels=TINY, prediction=prediction)
    np.testing.assert_array_equal(plain.loss_weight(tf.constant(abar, tf.float32)).numpy(), 1.0)


def test_ddim_with_eta_zero_is_deterministic_and_ddpm_is_not():
    model = tiny_model()
    x_T = np.random.default_rng(5).normal(size=(3, 28, 28, 1)).astype(np.float32)
    a = model.sample_ddim(3, steps=5, x_T=x_T, seed=1)
    b = model.sample_ddim(3, steps=5, x_T=x_T, seed=2)  # another seed changes nothing
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 28, 28, 1) and a.min() >= -1 and a.max() <= 1
    c = model.sample_ddim(3, steps=5, x_T=x_T, eta=1.0, seed=1)
    assert not np.allclose(a, c)
    p1 = model.sample_ddpm(3, x_T=x_T, seed=1)
    p2 = model.sample_ddpm(3, x_T=x_T, seed=2)
    assert not np.allclose(p1, p2)
    np.testing.assert_array_equal(p1, model.sample_ddpm(3, x_T=x_T, seed=1))


def test_sampling_in_chunks_and_recording_snapshots():
    model = tiny_model(num_classes=2)
    whole = model.sample_ddim(5, steps=4, labels=[0, 1, 0, 1, 0], guidance=2.0, seed=3)
    chunked, frames = model.sample_ddim(
        5, steps=4, labels=[0, 1, 0, 1, 0], guidance=2.0, seed=3, batch_size=2, record=3
    )
    np.testing.assert_allclose(whole, chunked, atol=5e-4)  # float sums differ by batch size
    assert [f[0] for f in frames] == [T_SMALL - 1, 13, 0]
    # the second-order sampler carries a guess from step to step: chunks must not mix
    whole = model.sample_ddim(5, steps=6, order=2, labels=[0, 1, 0, 1, 0], seed=3)
    chunked = model.sample_ddim(5, steps=6, order=2, labels=[0, 1, 0, 1, 0], seed=3, batch_size=2)
    np.testing.assert_allclose(whole, chunked, atol=5e-4)
    assert not np.allclose(whole, model.sample_ddim(5, steps=6, labels=[0, 1, 0, 1, 0], seed=3))
    assert all(f[1].shape == (5, 28, 28, 1) and f[2].shape == (5, 28, 28, 1) for f in frames)


# -- training and resuming ------------------------------------------------------------------


@pytest.mark.parametrize(("prediction", "weighting"), [("eps", "none"), ("v", "min_snr")])
def test_training_lowers_the_loss_and_moves_the_ema(rng, prediction, weighting):
    keras.utils.set_random_seed(0)
    model = d.DiffusionModel(
        timesteps=T_SMALL,
        channels=TINY,
        num_classes=2,
        ema_decay=0.9,
        prediction=prediction,
        loss_weighting=weighting,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    x = np.where(np.arange(28)[None, :, None, None] < 14, 0.8, -0.8) * np.ones((256, 28, 28, 1))
    y = rng.integers(0, 2, 256)
    before = [w.numpy().copy() for w in model.ema_network.weights]
    hist = model.fit(x.astype(np.float32), y, batch_size=64, epochs=4, verbose=0).history
    assert hist["loss"][-1] < hist["loss"][0]
    after = model.ema_network.weights
    assert any(not np.allclose(b, a.numpy()) for b, a in zip(before, after))
    with pytest.raises(ValueError, match="labels"):
        model.fit(x.astype(np.float32), batch_size=64, epochs=1, verbose=0)


def test_fit_resumable_reloads_the_ema_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    x = np.random.default_rng(6).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    first = d.DiffusionModel(timesteps=T_SMALL, channels=TINY)
    first.compile(optimizer=keras.optimizers.Adam(1e-3))
    fit_resumable(first, x, name="diff", epochs=1, batch_size=32, verbose=0)
    second = d.DiffusionModel(timesteps=T_SMALL, channels=TINY)
    second.compile(optimizer=keras.optimizers.Adam(1e-3))
    fit_resumable(second, x, name="diff", epochs=1, batch_size=32, verbose=0)
    z = np.random.default_rng(7).normal(size=(2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(
        first.sample_ddim(2, steps=3, x_T=z), second.sample_ddim(2, steps=3, x_T=z), atol=1e-6
    )


def test_course_model_predicts_v_with_min_snr_weights():
    model = d.course_model(timesteps=T_SMALL)
    assert (model.prediction, model.loss_weighting, model.timesteps) == ("v", "min_snr", T_SMALL)
    assert model.schedule.kind == "cosine"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


# -- bad input ------------------------------------------------------------------------------


def test_bad_input_raises_clear_errors(rng):
    sched = d.make_schedule("cosine", 10)
    x = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="schedule kind"):
        d.make_schedule("quadratic", 10)
    with pytest.raises(ValueError, match="timesteps"):
        d.make_schedule("linear", 1)
    with pytest.raises(TypeError, match="timesteps must be an int"):
        d.make_schedule("linear", 10.0)
    with pytest.raises(ValueError, match=r"t must lie in 0 \.\. 9"):
        d.q_sample(x, 10, x, sched)
    with pytest.raises(TypeError, match="integer"):
        d.q_sample(x, 1.5, x, sched)
    with pytest.raises(ValueError, match="shape of x0"):
        d.q_sample(x, 1, x[:1], sched)
    with pytest.raises(ValueError, match="batch of images"):
        d.q_sample(x[0], 1, x[0], sched)
    with pytest.raises(ValueError, match="one per image"):
        d.q_sample(x, np.array([1, 2, 3]), x, sched)
    with pytest.raises(TypeError, match="NoiseSchedule"):
        d.posterior_mean_variance(x, x, 1, "cosine")
    with pytest.raises(ValueError, match="eta"):
        d.ddim_step(x, x, 0.5, 0.9, eta=2.0)
    with pytest.raises(ValueError, match="noise"):
        d.ddim_step(x, x, 0.5, 0.9, eta=0.5)
    with pytest.raises(ValueError, match="guidance"):
        d.guided_noise(x, x, -1.0)
    with pytest.raises(ValueError, match="exceed"):
        d.ddim_timesteps(10, 11)
    with pytest.raises(ValueError, match="spacing must be a number > 0"):
        d.ddim_timesteps(10, 5, spacing=0)
    with pytest.raises(ValueError, match="channels"):
        d.build_unet((16, 30, 64))
    model = tiny_model()
    with pytest.raises(ValueError, match="unconditional"):
        model.sample_ddim(2, steps=2, labels=[0, 1])
    with pytest.raises(ValueError, match="positive int"):
        model.sample_ddim(0, steps=2)
    with pytest.raises(ValueError, match=r"order must be 1 \(DDIM\) or 2"):
        model.sample_ddim(2, steps=2, order=3)
    with pytest.raises(ValueError, match="needs eta=0"):
        model.sample_ddim(2, steps=2, order=2, eta=0.5)
    with pytest.raises(ValueError, match="x_T must have shape"):
        model.sample_ddim(3, steps=2, x_T=x)
    cond = tiny_model(num_classes=3)
    with pytest.raises(ValueError, match="unknown class label 7.*no label"):
        cond.sample_ddim(2, steps=2, labels=[0, 7])
    with pytest.raises(ValueError, match="guidance"):
        cond.sample_ddim(2, steps=2, labels=[0, 1], guidance=-2)
    with pytest.raises(ValueError, match="num_classes"):
        d.DiffusionModel(num_classes=0)
    with pytest.raises(ValueError, match=r"prediction must be one of \('eps', 'v'\)"):
        d.DiffusionModel(prediction="x0")
    with pytest.raises(ValueError, match="loss_weighting must be one of"):
        d.DiffusionModel(loss_weighting="snr")
    with pytest.raises(ValueError, match="min_snr_gamma"):
        d.DiffusionModel(min_snr_gamma=0)


def test_the_noise_schedule_is_part_of_a_runs_fingerprint():
    from course_lib.train import fingerprint

    x = np.zeros((4, 8, 8, 1), np.float32)
    prints = {}
    for kind in ("cosine", "linear"):
        model = d.DiffusionModel(
            timesteps=10, schedule=kind, channels=(8, 16), image_shape=(8, 8, 1)
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        prints[kind] = fingerprint(model, x, batch_size=4)
    assert (
        prints["cosine"]["schedule_kind"] == "'cosine'"
        or "cosine" in prints["cosine"]["schedule_kind"]
    )
    assert prints["cosine"] != prints["linear"]
