"""Chapter 07's video models (course_lib.models.video): shapes, the rollout that never
peeks, the baselines, the 3D-convolution GAN, the Gaussian likelihood and the pose model."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from course_lib import data
from course_lib.models import video


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))


def test_generator_output_shape_is_the_discriminator_input_shape():
    generator = video.build_video_generator(latent_dim=8, width=4)
    discriminator = video.build_video_discriminator(width=4)
    assert tuple(generator.output.shape[1:]) == tuple(discriminator.input.shape[1:])
    assert tuple(generator.output.shape[1:]) == video.VIDEO_SHAPE == (16, 32, 32, 1)
    clips = generator(np.zeros((2, 8), np.float32))
    assert discriminator(clips).shape == (2, 1)


@pytest.mark.parametrize(
    "shape, kernel, strides, padding",
    [((16, 32, 32, 1), 4, 2, "same"), ((15, 28, 20, 2), (3, 5, 4), (2, 3, 1), "valid"),
     ((9, 9, 9, 1), 3, 3, "same")],
)  # fmt: skip
def test_conv3d_output_shape_matches_keras(shape, kernel, strides, padding):
    layer = keras.layers.Conv3D(5, kernel, strides=strides, padding=padding)
    real = layer(np.zeros((1, *shape), np.float32)).shape[1:]
    assert video.conv3d_output_shape(shape, 5, kernel, strides, padding) == tuple(real)
    with pytest.raises(ValueError, match="padding must be"):
        video.conv3d_output_shape(shape, 5, kernel, strides, "full")


class Recorder:
    """A stand-in model that remembers every window and returns the window's mean frame."""

    def __init__(self):
        self.windows = []

    def __call__(self, window):
        self.windows.append(np.array(window))
        return window.mean(axis=1)


def test_rollout_never_reads_ground_truth_beyond_its_context():
    clips, _ = data.moving_sprites(3, sprites="shapes", seed=0)
    k, horizon = 4, 8
    model = Recorder()
    out = video.rollout(model, clips[:, :k], horizon)
    assert out.shape == (3, horizon, 32, 32, 1) and len(model.windows) == horizon
    for step, window in enumerate(model.windows):
        assert window.shape == (3, k, 32, 32, 1)
        # every frame the model saw is a context frame or one of its own predictions
        own = [clips[:, j] for j in range(k)] + [out[:, j] for j in range(step)]
        for frame in range(k):
            assert any(np.array_equal(window[:, frame], f) for f in own)
        if step >= k:  # from step k on it sees only frames it drew itself
            assert np.array_equal(window, out[:, step - k : step].copy())
    # the library's own model: scrambling the future changes nothing
    predictor = video.course_frame_predictor(context=k, width=4)
    scrambled = clips.copy()
    scrambled[:, k:] = np.random.default_rng(1).uniform(0, 1, scrambled[:, k:].shape)
    a = video.predict_clips(predictor, clips, k, horizon)["model"]["frames"]
    b = predictor.rollout(scrambled[:, :k], horizon)
    assert np.array_equal(a, b)


def test_baselines_copy_and_extrapolate():
    ramp = np.linspace(0, 0.3, 4, dtype=np.float32)[None, :, None, None, None] * np.ones(
        (1, 4, 16, 16, 1), np.float32
    )
    copied = video.copy_last_frame(ramp, 3)
    assert copied.shape == (1, 3, 16, 16, 1) and np.allclose(copied, 0.3)
    line = video.linear_extrapolation(ramp, 3)
    assert np.allclose(line[0, :, 0, 0, 0], [0.4, 0.5, 0.6])
    assert video.linear_extrapolation(ramp, 20).max() == 1.0  # clipped to the pixel range
    with pytest.raises(ValueError, match="at least 2 frames"):
        video.linear_extrapolation(ramp[:, :1], 3)


def test_scores_by_horizon_and_predict_clips_errors():
    clips, _ = data.moving_sprites(2, sprites="shapes", seed=0)
    scores = video.scores_by_horizon(clips[:, 4:8], clips[:, 4:8])
    assert scores["psnr"].shape == (4,) and np.allclose(scores["ssim"], 1.0)
    with pytest.raises(ValueError, match="too short"):
        video.predict_clips(video.course_frame_predictor(width=4), clips, 4, 13)


def test_frame_predictor_starts_as_copy_last_and_trains():
    clips, _ = data.moving_sprites(16, sprites="shapes", seed=0)
    model = video.course_frame_predictor(context=4, width=4, train_steps=2)
    first = model.predict_next(clips[:, :4])
    assert np.allclose(first, clips[:, 3], atol=1e-6)  # the change starts at zero
    history = model.fit(clips, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    with pytest.raises(ValueError, match="at least 6 frames"):
        model.fit(clips[:, :5], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="0-255"):
        model.fit(clips * 255, epochs=1, verbose=0)


def test_video_gan_trains_a_step_and_samples_videos():
    gan = video.VideoGAN(video.build_video_generator(8, 4), video.build_video_discriminator(4), 8)
    gan.compile(run_eagerly=True)  # one tiny step: tracing would cost more than it saves
    clips, _ = data.moving_sprites(8, sprites="shapes", value_range=(-1, 1), seed=0)
    history = gan.fit(clips, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    samples = gan.sample(3, seed=0)
    assert samples.shape == (3, 16, 32, 32, 1) and np.abs(samples).max() <= 1.0
    with pytest.raises(ValueError, match="look like \\[0, 1\\]"):
        gan.fit((clips + 1) / 2, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="16 frames"):
        gan.fit(clips[:, :8], epochs=1, verbose=0)


def test_motion_stats_tell_smooth_from_jumpy_clips():
    clips, _ = data.moving_sprites(20, sprites="shapes", value_range=(-1, 1), seed=0)
    smooth = video.motion_stats(clips)
    jumpy = video.motion_stats(clips[:, np.random.default_rng(0).permutation(16)])
    assert 1.0 < smooth["speed"] < 2.6 and jumpy["jerk"] > 2 * smooth["jerk"]


def test_frame_fid_is_small_for_real_against_real_and_large_for_noise():
    a, _ = data.moving_sprites(8, sprites="shapes", value_range=(-1, 1), seed=0)
    b, _ = data.moving_sprites(8, sprites="shapes", value_range=(-1, 1), seed=1)
    noise = np.random.default_rng(0).uniform(-1, 1, a.shape).astype(np.float32)
    assert video.frame_fid(b, a) < video.frame_fid(noise, a)


def test_gaussian_nll_matches_the_normal_density():
    x, mean, log_var = (
        np.array([0.3, -1.0, 2.0]),
        np.array([0.0, 0.5, 2.0]),
        np.array([0.0, -2.0, 1.0]),
    )
    sd = np.exp(0.5 * log_var)
    density = np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    assert np.allclose(video.gaussian_nll(x, mean, log_var), -np.log(density))


def test_pose_model_trains_beats_nothing_silly_and_samples():
    walkers, _ = data.walker_poses(12, frames=12, seed=0)
    windows, targets = video.pose_windows(walkers, 4)
    assert windows.shape == (12 * 8, 4, 17, 2) and targets.shape == (12 * 8, 17, 2)
    assert np.array_equal(windows[1, -1], walkers[0, 4, :, :2])
    model = video.course_pose_model(context=4, hidden=16)
    model.fit(windows, targets, epochs=1, batch_size=32, verbose=0)
    assert np.isfinite(model.nll(walkers))
    assert np.isfinite(video.constant_velocity_nll(walkers, walkers))
    walked = model.sample(2, start=walkers[:2, :4], steps=5, seed=0)
    assert walked.shape == (2, 9, 17, 3) and np.array_equal(
        walked[:, :4, :, :2], walkers[:2, :4, :, :2]
    )
    again = model.sample(2, start=walkers[:2, :4], steps=5, seed=0)
    assert np.array_equal(walked, again)
    with pytest.raises(ValueError, match="start poses"):
        model.sample(2)
    with pytest.raises(ValueError, match="windows must have shape"):
        model.fit(windows[:, :3], targets, epochs=1, verbose=0)


def test_interpolate_poses_ends_at_both_poses_and_eases():
    walkers, _ = data.walker_poses(2, frames=2, seed=0)
    a, b = walkers[0, 0], walkers[1, 1]
    linear = video.interpolate_poses(a, b, 5, ease=False)
    eased = video.interpolate_poses(a, b, 5)
    for path in (linear, eased):
        assert path.shape == (5, 17, 3)
        assert np.allclose(path[0], a) and np.allclose(path[-1], b)
    assert np.allclose(linear[2], (a + b) / 2) and np.allclose(eased[2], (a + b) / 2)
    first_step = np.abs(eased[1] - a).sum()
    assert first_step < np.abs(linear[1] - a).sum()  # eased starts slower
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        video.interpolate_poses(a, b, 1)
