"""The course's conventions module, and the bad calls a review found (issue: library foundations).

Each bad call used to train on garbage, give a raw NumPy error or a 50-line TensorFlow
trace; each must now stop with a message naming what was expected.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import conventions as cv
from course_lib import viz
from course_lib.config import budget
from course_lib.models import diffusion, gan, gpt, vae
from course_lib.widgets import LatentExplorer

RNG = np.random.default_rng(0)


def fashion_like(n, value_range=(0, 1)):
    """Images shaped like Fashion-MNIST with a background at the range's low end."""
    low, high = value_range
    x = RNG.uniform(low, high, size=(n, 28, 28, 1)).astype(np.float32)
    x[:, 0, 0, 0] = low
    return x


# -- the helpers themselves ------------------------------------------------------------------


def test_one_image_shape_and_class_count_for_the_whole_library():
    assert cv.IMAGE_SHAPE == (28, 28, 1) and cv.NUM_CLASSES == 10
    for module in (gan, diffusion):
        assert module.IMAGE_SHAPE is cv.IMAGE_SHAPE
    from course_lib import data

    assert data.IMAGE_SHAPE is cv.IMAGE_SHAPE


@pytest.mark.parametrize("value", [0, -3, 2.0, "3", True, None])
def test_positive_int_refuses_what_is_not_a_count(value):
    with pytest.raises(ValueError, match="must be a positive int"):
        cv.as_positive_int(value, "n")


def test_positive_int_accepts_numpy_ints():
    assert cv.as_positive_int(np.int64(4), "n") == 4 and type(cv.as_positive_int(3, "n")) is int


@pytest.mark.parametrize("value", ["1.5", float("nan"), float("inf"), None, [1.0]])
def test_as_number_refuses_strings_and_non_finite(value):
    with pytest.raises(ValueError, match="finite number"):
        cv.as_number(value, "beta")


def test_as_number_says_the_interval():
    with pytest.raises(ValueError, match=r"in \[0.0, 1.0\)"):
        cv.as_number(1.0, "p", low=0.0, high=1.0, high_open=True)
    assert cv.as_number(0, "p", low=0.0) == 0.0


def test_as_images_adds_the_channel_and_checks_range():
    out = cv.as_images(np.zeros((2, 28, 28), np.uint8), value_range=(0, 1))
    assert out.shape == (2, 28, 28, 1) and out.dtype == np.float32
    with pytest.raises(ValueError, match=r"0-255 pixels.*value_range=\(-1, 1\)"):
        cv.as_images(np.full((2, 28, 28, 1), 255.0), value_range=(-1, 1))
    with pytest.raises(ValueError, match=r"shape \(n, 28, 28, 1\)"):
        cv.as_images(np.zeros((2, 32, 32, 1)))
    with pytest.raises(ValueError, match="at least 2"):
        cv.as_images(np.zeros((1, 28, 28, 1)), min_count=2)
    with pytest.raises(TypeError, match="not a tf.data.Dataset"):
        cv.as_images(tf.data.Dataset.from_tensor_slices(np.zeros((2, 28, 28, 1))))


def test_as_labels_takes_one_argument_order_everywhere():
    np.testing.assert_array_equal(cv.as_labels([1.0, 2.0], 3, n=2), [1, 2])
    np.testing.assert_array_equal(cv.as_labels(np.array([[4], [0]]), 10), [4, 0])
    with pytest.raises(ValueError, match="unknown class label 3"):
        cv.as_labels([0, 3], 3)
    with pytest.raises(ValueError, match="one label per image"):
        cv.as_labels([0, 1], 3, n=3)
    with pytest.raises(TypeError, match="whole numbers"):
        cv.as_labels([0.5], 3)


def test_first_batch_of_an_empty_dataset_is_a_clear_error():
    empty = tf.data.Dataset.from_tensor_slices(np.zeros((0, 2))).batch(2)
    with pytest.raises(ValueError, match="dataset is empty"):
        cv.first_batch(empty)


# -- the review's list of bad calls ------------------------------------------------------------


def test_vae_fit_on_a_dataset_of_0_255_images_stops_before_training():
    model = vae.VAE(latent_dim=2, filters=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    ds = tf.data.Dataset.from_tensor_slices(fashion_like(8, (0, 255))).batch(4)
    with pytest.raises(ValueError, match=r"0-255 pixels.*\[0, 1\]"):
        model.fit(ds, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 0  # not a single step trained


def test_diffusion_fit_refuses_0_255_images_arrays_and_datasets():
    model = diffusion.DiffusionModel(timesteps=20, channels=(8, 8, 16))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    bad = fashion_like(8, (0, 255))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        model.fit(bad, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        model.fit(tf.data.Dataset.from_tensor_slices(bad).batch(4), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"looks like \[0, 1\]"):
        model.fit(fashion_like(8, (0, 1)), epochs=1, verbose=0)


def test_q_sample_refuses_0_255_images():
    sched = diffusion.make_schedule("cosine", 10)
    x = np.full((2, 28, 28, 1), 255.0, np.float32)
    with pytest.raises(ValueError, match=r"x0 range from 255.*\[-1, 1\]"):
        diffusion.q_sample(x, 3, np.zeros_like(x), sched)


def test_a_diffusion_label_out_of_range_is_named_not_traced():
    model = diffusion.DiffusionModel(timesteps=20, channels=(8, 8, 16), num_classes=10)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    labels = np.array([0, 1, 11, 2])
    with pytest.raises(ValueError, match="unknown class label 11.*between 0 and 9"):
        model.fit(fashion_like(4, (-1, 1)), labels, epochs=1, verbose=0)
    ds = tf.data.Dataset.from_tensor_slices((fashion_like(4, (-1, 1)), labels)).batch(4)
    with pytest.raises(ValueError, match="unknown class label 11"):
        model.fit(ds, epochs=1, verbose=0)


@pytest.mark.parametrize("draw", [viz.image_grid, viz.tile_images])
def test_viz_refuses_pixels_outside_the_range_it_was_told(draw):
    with pytest.raises(ValueError, match=r"range from 0 to 255.*\[-1, 1\]"):
        draw(np.linspace(0, 255, 4 * 16).reshape(4, 4, 4), value_range=(-1, 1))


@pytest.mark.parametrize("n", [1, 4, 15])
def test_gan_make_dataset_checks_the_range_for_any_number_of_images(n):
    with pytest.raises(ValueError, match=r"looks like \[0, 1\]"):
        gan.make_dataset(fashion_like(n, (0, 1)), batch_size=1)


def test_gan_fit_on_a_dataset_checks_its_first_batch():
    model = gan.course_dcgan(latent_dim=8, width=16)
    ds = tf.data.Dataset.from_tensor_slices(fashion_like(8, (0, 1))).batch(4)
    with pytest.raises(ValueError, match=r"looks like \[0, 1\]"):
        model.fit(ds, epochs=1, verbose=0)


def test_latent_noise_with_a_string_dimension():
    with pytest.raises(ValueError, match="latent_dim must be a positive int; got '64'"):
        gan.latent_noise(3, "64")


def test_bits_per_character_with_a_string():
    with pytest.raises(ValueError, match="finite"):
        gpt.bits_per_character("1.5")


def test_latent_explorer_with_a_string_span():
    with pytest.raises(ValueError, match="span must be a finite number; got '3'"):
        LatentExplorer(lambda z: np.zeros((len(z), 28, 28)), 2, span="3")


def test_roc_auc_with_strings():
    with pytest.raises(TypeError, match="normal_scores must be numbers"):
        vae.roc_auc(["a"], ["b"])


@pytest.mark.parametrize("value", [-5, -0.5, float("nan")])
def test_budget_refuses_negative_sizes(value):
    with pytest.raises(ValueError, match="expects a number >= 0"):
        budget(full=value, quick=1)


# -- one sampling verb --------------------------------------------------------------------------


def test_every_family_samples_with_the_same_verb():
    from course_lib.models.mixture import GaussianMixture

    models = {
        "gan": gan.course_dcgan(latent_dim=8, width=16),
        "cgan": gan.ConditionalGAN(
            gan.build_conditional_generator(8, width=16),
            gan.build_conditional_discriminator(width=16),
            8,
        ),
        "vae": vae.VAE(latent_dim=2, filters=4),
        "cvae": vae.ConditionalVAE(latent_dim=2, filters=4),
        "diffusion": diffusion.DiffusionModel(timesteps=10, channels=(8, 8, 16)),
    }
    mixture = GaussianMixture(n_components=2).initialize(RNG.normal(size=(20, 2)))
    for name, model in {**models, "mixture": mixture}.items():
        a = model.sample(3, seed=1)
        b = model.sample(3, seed=1)
        assert len(a) == 3, name
        np.testing.assert_allclose(a, b, err_msg=f"{name}: the same seed, the same samples")
    for name in ("cgan", "cvae"):
        assert models[name].sample(2, seed=0, labels=[3, 4]).shape == (2, 28, 28, 1)
    for name in ("gan", "vae", "diffusion"):
        with pytest.raises(ValueError, match="unconditional"):
            models[name].sample(2, seed=0, labels=[1, 2])
