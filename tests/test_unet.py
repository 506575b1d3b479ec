"""The shared U-Net builder and the diffusion sampling loop's hooks (inpainting, a
conditioning image, a per-step callback)."""

import keras
import numpy as np
import pytest

from course_lib.models import diffusion, gan
from course_lib.models.unet import build_unet

TINY = (8, 8, 16)
T = 20


def tiny_model(**kwargs):
    keras.utils.set_random_seed(0)
    model = diffusion.DiffusionModel(timesteps=T, channels=TINY, **kwargs)
    # a random (not zero) last layer, so the network's output depends on its inputs
    last = model.ema_network.get_layer("out")
    last.kernel.assign(np.random.default_rng(1).normal(0, 0.3, last.kernel.shape))
    return model


def images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype(np.float32)


# -- the builder -----------------------------------------------------------------------------


def test_without_the_full_size_stem_the_output_still_has_full_size():
    net = build_unet((8, 16, 32), timestep=False, norm="instance", full_size=False)
    assert net.output_shape == (None, 28, 28, 1)
    assert not any(layer.name in ("stem", "up0", "join0") for layer in net.layers)
    out = net([images(2)]).numpy()
    assert out.shape == (2, 28, 28, 1) and np.isfinite(out).all()


def test_levels_come_from_the_channels_list():
    three = build_unet((8, 16, 32), timestep=False, norm="instance", zero_output=False)
    four = build_unet((8, 8, 16, 16), image_shape=(32, 32, 3), timestep=False, norm="instance")
    assert three.output_shape == (None, 28, 28, 1)
    assert four.output_shape == (None, 32, 32, 3)
    downs = [layer.name for layer in four.layers if layer.name.startswith("down")]
    assert downs == ["down1", "down2", "down3"]


def test_the_output_changes_with_the_conditioning_image():
    net = build_unet(TINY, cond_channels=3, zero_output=False)
    assert [tuple(i.shape) for i in net.inputs] == [(None, 28, 28, 1), (None,), (None, 28, 28, 3)]
    x, t = images(2), np.array([3, 3], np.int32)
    cond_a = np.zeros((2, 28, 28, 3), np.float32)
    cond_b = np.random.default_rng(2).uniform(-1, 1, cond_a.shape).astype(np.float32)
    out_a, out_a2 = net([x, t, cond_a]).numpy(), net([x, t, cond_a]).numpy()
    out_b = net([x, t, cond_b]).numpy()
    np.testing.assert_array_equal(out_a, out_a2)
    assert np.abs(out_a - out_b).mean() > 1e-3


def test_cyclegan_and_diffusion_use_the_one_builder():
    translator = gan.build_cycle_generator(16, "a_to_b")
    assert translator.output_shape == (None, 28, 28, 1)
    names = {layer.name for layer in translator.layers}
    assert {"down1", "down2", "up1", "join1", "out"} <= names
    assert "stem" not in names  # lean: no full-size stem (full_size=False)
    model = tiny_model()
    assert {"stem", "down1", "up0", "out"} <= {layer.name for layer in model.network.layers}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(channels=(8,)), "at least 2 levels"),
        (dict(channels=(8, 12, 16)), "multiples of 8"),
        (dict(channels="wide"), "list of widths"),
        (dict(channels=(8, 8, 8, 8, 8)), "must divide by 16"),
        (dict(channels=(8, 8, 16), blocks=(1, 1)), "blocks needs one count per level"),
        (dict(channels=(8, 8, 16), up_blocks=(1, 1, 1)), "up_blocks needs one count per level"),
        (dict(norm="batch"), "norm must be one of"),
        (dict(cond_channels=-1), "cond_channels must be an int >= 0"),
    ],
)
def test_bad_builder_arguments_get_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_unet(**{"channels": TINY, **kwargs})


# -- the sampling loop's hooks -------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_inpainting_keeps_every_known_pixel_exactly(sampler):
    model = tiny_model()
    known = images(3, seed=4)
    mask = np.zeros((1, 28, 28, 1), np.float32)
    mask[:, 8:20, 5:22] = 1.0  # 1 = missing
    draw = model.sample_ddpm if sampler == "ddpm" else model.sample_ddim
    kwargs = {} if sampler == "ddpm" else {"steps": 5}
    out = draw(3, known=known, mask=mask, seed=1, **kwargs)
    keep = np.broadcast_to(mask, out.shape) == 0
    np.testing.assert_array_equal(out[keep], known[keep])
    assert np.abs(out[~keep] - known[~keep]).mean() > 0.05  # the hole was filled anew
    assert out.min() >= -1 and out.max() <= 1


def test_a_mask_with_every_pixel_known_returns_the_known_image():
    model = tiny_model()
    known = images(2, seed=5)
    out = model.sample_ddim(2, 4, known=known, mask=np.zeros_like(known), seed=0)
    np.testing.assert_array_equal(out, known)


def test_resampling_changes_the_fill_but_never_the_known_pixels():
    model = tiny_model()
    known = images(2, seed=6)
    mask = np.zeros_like(known)
    mask[:, :14] = 1.0
    once = model.sample_ddim(2, 4, eta=1.0, known=known, mask=mask, seed=0)
    thrice = model.sample_ddim(2, 4, eta=1.0, known=known, mask=mask, seed=0, resample=3)
    np.testing.assert_array_equal(thrice[mask == 0], known[mask == 0])
    assert not np.allclose(once[mask == 1], thrice[mask == 1])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(known=images(2)), ValueError, "both known"),
        (dict(known=images(2), mask=np.full((2, 28, 28, 1), 0.5)), ValueError, "0 \\(known"),
        (dict(known=images(2), mask=np.zeros((2, 14, 14, 1))), ValueError, "mask must have shape"),
        (dict(known=images(2) * 3, mask=np.zeros((2, 28, 28, 1))), ValueError, "known range"),
        (dict(resample=2), ValueError, "resample > 1 is for inpainting"),
        (dict(callback="print"), TypeError, "callback must be a function"),
        (dict(cond=np.zeros((2, 28, 28, 1))), ValueError, "takes no conditioning image"),
    ],
)
def test_bad_hooks_get_clear_errors(kwargs, error, message):
    model = tiny_model()
    with pytest.raises(error, match=message):
        model.sample_ddim(2, 3, **kwargs)


def test_the_callback_sees_every_step_in_order():
    model = tiny_model()
    seen = []
    out = model.sample_ddim(2, 5, seed=0, callback=lambda i, t, x, x0: seen.append((i, t, x.shape)))
    assert [s[0] for s in seen] == list(range(5))
    assert [s[1] for s in seen] == list(diffusion.ddim_timesteps(T, 5))
    assert all(s[2] == (2, 28, 28, 1) for s in seen) and out.shape == (2, 28, 28, 1)


def test_a_conditioned_model_trains_and_samples_with_its_image():
    model = tiny_model(cond_channels=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = images(8)
    x[:, 0, 0, 0] = -1.0
    blurry = np.repeat(np.repeat(x[:, ::2, ::2], 2, axis=1), 2, axis=2)
    history = model.fit(x, blurry, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    a = model.sample_ddim(2, 3, cond=blurry[:2], seed=0)
    b = model.sample_ddim(2, 3, cond=-blurry[:2], seed=0)
    assert not np.allclose(a, b)  # the conditioning image steers the samples
    with pytest.raises(ValueError, match="needs a conditioning image"):
        model.sample_ddim(2, 3, seed=0)
    with pytest.raises(ValueError, match="conditioning images for 8 images"):
        model.fit(x, blurry[:3], batch_size=4, epochs=1, verbose=0)
