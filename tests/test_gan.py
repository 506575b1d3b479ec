"""Tests of course_lib.models.gan: losses against closed forms, the five models' steps,
resume after an interruption, and clear errors for bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import train
from course_lib.models import gan
from tests.callbacks import EndAt

RNG = np.random.default_rng(0)
IMAGES = np.tanh(RNG.standard_normal((32, 28, 28, 1))).astype(np.float32)  # in (-1, 1)
LABELS = np.arange(32) % 10


@pytest.fixture(autouse=True)
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("COURSE_QUICK", "1")
    return tmp_path / "runs"


def small_gan(seed=0):
    keras.utils.set_random_seed(seed)
    model = gan.GAN(gan.build_dcgan_generator(8, 8), gan.build_dcgan_discriminator(8), 8)
    model.compile()
    return model


# -- losses -----------------------------------------------------------------------------------


def test_gan_losses_match_binary_cross_entropy():
    real, fake = np.array([[2.0], [-1.0]]), np.array([[0.5], [-3.0]])
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    expected_d = -np.mean(np.log(sig(real))) - np.mean(np.log(1 - sig(fake)))
    expected_g = -np.mean(np.log(sig(fake)))
    np.testing.assert_allclose(gan.discriminator_loss(real, fake), expected_d, rtol=1e-6)
    np.testing.assert_allclose(gan.generator_loss(fake), expected_g, rtol=1e-6)


def test_gradient_penalty_of_a_linear_critic_is_its_closed_form():
    # critic(x) = <w, x> + b has gradient w everywhere, so the penalty is (|w| - 1)^2
    w = RNG.standard_normal((28 * 28, 1)).astype(np.float32) * 0.1
    critic = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])
    critic.add(keras.layers.Dense(1))
    critic.layers[-1].set_weights([w, np.array([0.3], np.float32)])
    expected = (np.linalg.norm(w) - 1.0) ** 2
    penalty = gan.gradient_penalty(critic, IMAGES[:8], IMAGES[8:16])
    np.testing.assert_allclose(float(penalty), expected, rtol=1e-5)
    # a unit-norm slope costs nothing, wherever the mixing points are
    critic.layers[-1].set_weights([w / np.linalg.norm(w), np.zeros(1, np.float32)])
    alpha = RNG.uniform(size=(8, 1, 1, 1)).astype(np.float32)
    assert float(gan.gradient_penalty(critic, IMAGES[:8], IMAGES[8:16], alpha)) < 1e-8


def test_gradient_penalty_works_inside_a_graph_with_unknown_batch():
    critic = gan.build_dcgan_discriminator(8)
    fn = tf.function(
        lambda r, f: gan.gradient_penalty(critic, r, f),
        input_signature=[tf.TensorSpec([None, 28, 28, 1])] * 2,
    )
    value = float(fn(IMAGES[:4], IMAGES[4:8]))
    assert np.isfinite(value) and value >= 0


def test_cycle_loss_is_zero_for_identity_generators_and_positive_otherwise():
    identity = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Identity()])
    model = gan.CycleGAN(
        identity, identity, gan.build_patch_discriminator(4), gan.build_patch_discriminator(4)
    )
    cycle, same = model.cycle_losses(IMAGES[:8], IMAGES[8:16])
    assert float(cycle) == 0.0 and float(same) == 0.0
    assert float(gan.cycle_consistency_loss(IMAGES[:8], -IMAGES[:8])) > 0.1
    inverter = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: -x)])
    flips = gan.CycleGAN(inverter, inverter, model.d_a, model.d_b)
    cycle, same = flips.cycle_losses(IMAGES[:8], IMAGES[8:16])
    assert float(cycle) == 0.0  # flipping twice gives the image back, but is no identity:
    expected = np.mean(np.abs(2 * IMAGES[8:16])) + np.mean(np.abs(2 * IMAGES[:8]))
    assert float(same) == pytest.approx(expected, rel=1e-5) and expected > 0.1


def test_interpolation_ends_at_the_two_points_and_keeps_the_length():
    a, b = gan.latent_noise(2, 64, seed=3)
    path = gan.interpolate(a, b, steps=7, spherical=True)
    assert path.shape == (7, 64)
    np.testing.assert_allclose(path[0], a, atol=1e-5)
    np.testing.assert_allclose(path[-1], b, atol=1e-5)
    norms = np.linalg.norm(path, axis=1)
    assert norms.min() > 0.9 * min(np.linalg.norm(a), np.linalg.norm(b))
    straight = gan.interpolate(a, b, steps=3, spherical=False)
    np.testing.assert_allclose(straight[1], (a + b) / 2, atol=1e-6)


# -- the models ---------------------------------------------------------------------------------


def test_dcgan_trains_and_generates_images_in_range():
    model = small_gan()
    history = model.fit(IMAGES, batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v[0]) for v in history.history.values())
    out = model.generate(gan.latent_noise(5, 8))
    assert out.shape == (5, 28, 28, 1) and out.min() >= -1 and out.max() <= 1
    assert model.generate(3).shape == (3, 28, 28, 1)


def test_style_generator_has_constant_input_noise_and_style_mixing():
    keras.utils.set_random_seed(1)
    style = gan.StyleGenerator(latent_dim=8, w_dim=8, width=8, seed=1)
    z = gan.latent_noise(4, 8, seed=1)
    assert style(z).shape == (4, 28, 28, 1)
    # untrained, different z already draw different images: a generator whose styles
    # started at zero would begin collapsed onto one image (and, measured, stay there)
    spread = style(gan.latent_noise(16, 8, seed=3)).numpy().std(axis=0).mean()
    assert spread > 0.05, f"samples barely depend on z at the start (std {spread:.4f})"
    # give the noise some strength (it starts at zero)
    for layer in style.noises:
        layer.strength.assign(tf.ones_like(layer.strength))
    ws = style.broadcast(style.mapping(z))
    quiet = style.synthesize(ws, noise_scale=0.0).numpy()
    np.testing.assert_allclose(quiet, style.synthesize(ws, noise_scale=0.0).numpy(), atol=1e-6)
    noisy = [style.synthesize(ws).numpy() for _ in range(2)]
    assert np.abs(noisy[0] - noisy[1]).max() > 1e-3  # fresh noise, different details
    z2 = gan.latent_noise(4, 8, seed=2)
    only_a = style.mix(z, z2, crossover=style.num_styles)
    only_b = style.mix(z, z2, crossover=0)
    np.testing.assert_allclose(only_a, quiet, atol=1e-5)
    mixed = style.mix(z, z2, crossover=2)
    assert np.abs(mixed - only_a).max() > 1e-4 and np.abs(mixed - only_b).max() > 1e-4
    model = gan.GAN(style, gan.build_dcgan_discriminator(8), latent_dim=8)
    model.compile()
    history = model.fit(IMAGES, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])


def test_conditional_generator_output_depends_on_the_label():
    keras.utils.set_random_seed(0)
    model = gan.ConditionalGAN(
        gan.build_conditional_generator(8, width=8), gan.build_conditional_discriminator(width=8), 8
    )
    model.compile()
    z = np.repeat(gan.latent_noise(1, 8), 10, axis=0)
    out = model.generate(np.arange(10), z)
    assert out.shape == (10, 28, 28, 1)
    assert np.abs(out[0] - out[1]).max() > 1e-4
    assert all(np.abs(out[i] - out[0]).max() > 1e-4 for i in range(1, 10))
    np.testing.assert_allclose(model.generate([3, 3], z[:2])[0], out[3], atol=1e-5)
    history = model.fit(IMAGES, LABELS, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])


def test_wgan_gp_takes_n_critic_steps_per_generator_step_and_logs_the_estimate():
    keras.utils.set_random_seed(0)
    model = gan.WGANGP(
        gan.build_dcgan_generator(8, 8), gan.build_dcgan_discriminator(8), 8, n_critic=4
    )
    model.compile()
    history = model.fit(IMAGES, batch_size=16, epochs=1, verbose=0)  # 2 steps of 4 x 4 images
    assert {"critic_loss", "g_loss", "gp", "w_estimate"} <= set(history.history)
    assert int(model.g_optimizer.iterations.numpy()) == 2
    assert int(model.d_optimizer.iterations.numpy()) == 8
    with pytest.raises(ValueError, match="multiple of n_critic"):
        model.fit(IMAGES, batch_size=18, epochs=1, verbose=0)


def test_cycle_gan_trains_and_translates_both_ways():
    keras.utils.set_random_seed(0)
    model = gan.CycleGAN(
        gan.build_cycle_generator(4),
        gan.build_cycle_generator(4),
        gan.build_patch_discriminator(4),
        gan.build_patch_discriminator(4),
    )
    model.compile()
    history = model.fit(IMAGES[:16], IMAGES[16:], batch_size=8, epochs=1, verbose=0)
    assert {"g_loss", "d_loss", "cycle_loss", "identity_loss"} <= set(history.history)
    assert model.translate(IMAGES[:3]).shape == (3, 28, 28, 1)
    assert model.translate(IMAGES[:3], "b2a").shape == (3, 28, 28, 1)


class Recorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.start = {
            "g_steps": int(self.model.g_optimizer.iterations.numpy()),
            "d_steps": int(self.model.d_optimizer.iterations.numpy()),
            "weights": [w.numpy().copy() for w in self.model.weights],
        }


def test_resume_after_interruption_continues_from_the_saved_step(capsys):
    first = small_gan(seed=0)
    with pytest.raises(KeyboardInterrupt):
        train.fit_resumable(
            first,
            IMAGES,
            name="gan",
            epochs=3,
            batch_size=16,
            callbacks=[EndAt(2, at_begin=True)],
            verbose=0,
        )
    # two epochs of 2 steps each (32 images, batch 16) finished and were saved
    assert train.load_state("gan")["epoch"] == 2
    saved_weights = [w.numpy().copy() for w in first.weights]
    second = small_gan(seed=5)
    recorder = Recorder()
    history = train.fit_resumable(
        second, IMAGES, name="gan", epochs=3, batch_size=16, callbacks=[recorder], verbose=0
    )
    assert "resuming: run 'gan' has 2 of 3 epochs" in capsys.readouterr().out
    assert recorder.start["g_steps"] == 4 and recorder.start["d_steps"] == 4
    for a, b in zip(recorder.start["weights"], saved_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(history["g_loss"]) == 3
    third = small_gan(seed=9)
    train.fit_resumable(third, IMAGES, name="gan", epochs=3, batch_size=16, verbose=0)
    assert "finished" in capsys.readouterr().out
    for a, b in zip(second.weights, third.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(third.g_optimizer.iterations.numpy()) == 6


def test_conditional_and_cycle_models_resume_too(capsys):
    def make_cgan():
        model = gan.ConditionalGAN(
            gan.build_conditional_generator(8, width=8),
            gan.build_conditional_discriminator(width=8),
            8,
        )
        model.compile()
        return model

    train.fit_resumable(make_cgan(), IMAGES, LABELS, name="c", epochs=1, batch_size=16, verbose=0)
    again = make_cgan()
    train.fit_resumable(again, IMAGES, LABELS, name="c", epochs=1, batch_size=16, verbose=0)
    assert "finished" in capsys.readouterr().out
    assert int(again.g_optimizer.iterations.numpy()) == 2

    def make_cycle():
        model = gan.CycleGAN(
            *(gan.build_cycle_generator(4) for _ in range(2)),
            *(gan.build_patch_discriminator(4) for _ in range(2)),
        )
        model.compile()
        return model

    train.fit_resumable(
        make_cycle(), IMAGES[:16], IMAGES[16:], name="cy", epochs=1, batch_size=8, verbose=0
    )
    again = make_cycle()
    train.fit_resumable(
        again, IMAGES[:16], IMAGES[16:], name="cy", epochs=2, batch_size=8, verbose=0
    )
    assert "resuming" in capsys.readouterr().out
    assert int(again.d_optimizer.iterations.numpy()) == 4


def test_sample_grid_records_fixed_noise_frames():
    model = small_gan()
    z = gan.latent_noise(4, 8)
    grid = train.SampleGrid(lambda m: m.generate(z), show=False)
    model.fit(IMAGES, batch_size=16, epochs=2, callbacks=[grid], verbose=0)
    assert [epoch for epoch, _ in grid.frames] == [1, 2]
    assert grid.frames[0][1].shape == (4, 28, 28, 1)


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 32, 32, 1)), r"shape \(n, 28, 28, 1\)"),
        (np.zeros((4, 28, 28, 3)), r"shape \(n, 28, 28, 1\)"),
        (np.full((4, 28, 28, 1), 255.0), r"\[-1, 1\]"),
        (np.linspace(0, 1, 32 * 784).reshape(32, 28, 28, 1), r"looks like \[0, 1\]"),
        (np.full((4, 28, 28, 1), np.nan), "NaN"),
    ],
)
def test_bad_images_get_a_clear_error(images, message):
    model = small_gan()
    with pytest.raises(ValueError, match=message):
        model.fit(images, batch_size=2, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=message):
        gan.CycleGAN(
            *(gan.build_cycle_generator(4) for _ in range(2)),
            *(gan.build_patch_discriminator(4) for _ in range(2)),
        ).translate(images)


def test_bad_labels_and_noise_get_a_clear_error():
    model = gan.ConditionalGAN(
        gan.build_conditional_generator(8, width=8), gan.build_conditional_discriminator(width=8), 8
    )
    model.compile()
    with pytest.raises(ValueError, match="unknown class label 10"):
        model.generate([1, 10])
    with pytest.raises(ValueError, match="unknown class label -1"):
        model.fit(IMAGES, np.full(32, -1), batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="one label per image"):
        model.fit(IMAGES, LABELS[:5], batch_size=16, epochs=1, verbose=0)
    with pytest.raises(TypeError, match="whole numbers"):
        model.generate([0.5])
    with pytest.raises(ValueError, match="needs the labels"):
        model.fit(IMAGES, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"noise must have shape \(n, 8\)"):
        small_gan().generate(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="learns from images alone"):
        small_gan().fit(IMAGES, LABELS, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        gan.make_dataset(IMAGES, 64)
    with pytest.raises(ValueError, match="crossover"):
        gan.StyleGenerator(8, 8, 8).mix(np.zeros((1, 8)), np.zeros((1, 8)), crossover=9)


def test_minibatch_std_feature_tells_a_collapsed_batch_from_a_varied_one():
    layer = gan.MinibatchStdDev()
    same = np.repeat(np.random.default_rng(0).normal(size=(1, 7, 7, 4)), 8, axis=0)
    varied = np.random.default_rng(1).normal(size=(8, 7, 7, 4))
    out_same, out_varied = (layer(tf.constant(v, tf.float32)).numpy() for v in (same, varied))
    assert out_same.shape == (8, 7, 7, 5)
    np.testing.assert_allclose(out_same[..., :4], same, atol=1e-6)  # the input passes through
    assert out_same[..., 4].max() < 1e-3 and out_varied[..., 4].min() > 0.5
    disc = gan.build_dcgan_discriminator(16, minibatch_std=True)
    assert disc(IMAGES[:4]).shape == (4, 1)


# -- the generator's exponential moving average ----------------------------------------------


def test_ema_generator_starts_equal_then_trails_the_trained_one():
    keras.utils.set_random_seed(0)
    model = gan.course_dcgan(latent_dim=8, width=16, ema_decay=0.9)
    assert model.sampler is model.ema_generator
    start = [w.copy() for w in model.generator.get_weights()]
    for ema_w, w in zip(model.ema_generator.get_weights(), start, strict=True):
        np.testing.assert_array_equal(ema_w, w)
    images = np.tanh(np.random.default_rng(0).normal(size=(64, 28, 28, 1))).astype(np.float32)
    model.fit(images, batch_size=32, epochs=2, verbose=0)
    trained, ema = model.generator.get_weights(), model.ema_generator.get_weights()
    moved_trained = sum(np.abs(t - s).sum() for t, s in zip(trained, start, strict=True))
    moved_ema = sum(np.abs(e - s).sum() for e, s in zip(ema, start, strict=True))
    gap = sum(np.abs(e - t).sum() for e, t in zip(ema, trained, strict=True))
    assert 0 < moved_ema < moved_trained  # it follows, more slowly
    assert gap > 0
    z = gan.latent_noise(4, 8, seed=1)
    np.testing.assert_allclose(model.generate(z), model.ema_generator(z, training=False), atol=1e-5)
    assert not np.allclose(model.generate(z), model.generator(z, training=False), atol=1e-4)


def test_without_ema_the_dcgan_samples_from_the_trained_generator_in_its_own_run():
    plain, averaged = gan.course_dcgan(8, 16), gan.course_dcgan(8, 16, ema_decay=0.99)
    assert plain.ema_generator is None and plain.sampler is plain.generator
    assert plain.run_name != averaged.run_name


@pytest.mark.parametrize("decay", [-0.1, 1.0, "high"])
def test_ema_decay_must_be_a_number_in_0_1(decay):
    with pytest.raises((ValueError, TypeError), match="ema_decay"):
        gan.course_dcgan(latent_dim=8, width=16, ema_decay=decay)


def test_ema_needs_a_generator_it_can_copy():
    with pytest.raises(ValueError, match="functional generator"):
        gan.GAN(
            gan.StyleGenerator(latent_dim=8, w_dim=8, width=16),
            gan.build_dcgan_discriminator(16),
            8,
            ema_decay=0.9,
        )


def test_ema_weights_are_saved_and_resumed(tmp_path, monkeypatch):
    from course_lib import train

    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    images = np.tanh(np.random.default_rng(2).normal(size=(64, 28, 28, 1))).astype(np.float32)
    keras.utils.set_random_seed(0)
    first = gan.course_dcgan(latent_dim=8, width=16, ema_decay=0.9)
    train.fit_resumable(first, images, name="ema_resume", epochs=2, batch_size=32, verbose=0)
    keras.utils.set_random_seed(5)
    again = gan.course_dcgan(latent_dim=8, width=16, ema_decay=0.9)
    train.fit_resumable(again, images, name="ema_resume", epochs=2, batch_size=32, verbose=0)
    for a, b in zip(
        first.ema_generator.get_weights(), again.ema_generator.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
