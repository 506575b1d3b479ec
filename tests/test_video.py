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


# -- video-to-video -------------------------------------------------------------------------


def test_sprite_warp_moves_the_sprite_exactly_and_masks_what_it_uncovers():
    clips, labels = data.moving_sprites(6, value_range=(-1, 1), speed=(2, 3), seed=5)
    path = labels["path"]
    for t in (0, 7):
        warped, valid = video.sprite_warp(clips[:, t], path[:, t], path[:, t + 1])
        warped, valid = warped.numpy(), valid.numpy()
        assert warped.shape == clips[:, t].shape and valid.shape == (6, 32, 32, 1)
        # on every pixel both frames show, the warped frame is the next frame
        np.testing.assert_allclose(valid * warped, valid * clips[:, t + 1], atol=1e-6)
        for i in range(6):  # masked: in the (grown) box at t, outside it at t+1, nothing else
            (x0, y0), (x1, y1) = path[i, t] - 1, path[i, t + 1] - 1
            box_now, box_next = np.zeros((32, 32), bool), np.zeros((32, 32), bool)
            box_now[max(y0, 0) : y0 + 16, max(x0, 0) : x0 + 16] = True
            box_next[max(y1, 0) : y1 + 16, max(x1, 0) : x1 + 16] = True
            uncovered = box_now & ~box_next
            assert not valid[i, ..., 0][uncovered].any()
            if (x0, y0) != (x1, y1) and min(x0, y0, x1, y1) >= 0 and max(x0, y0, x1, y1) <= 16:
                assert valid[i, ..., 0][~uncovered].all()  # away from the walls
    # a frame that does not follow the motion does not match
    wrong, valid = video.sprite_warp(clips[:, 0], path[:, 0], path[:, 0])
    moved = path[:, 0] != path[:, 1]
    assert np.abs((valid * (wrong - clips[:, 1]))[moved.any(1)]).max() > 0.5


def test_warp_error_is_zero_for_true_clips_and_grows_with_flicker():
    clips, labels = data.moving_sprites(12, value_range=(-1, 1), seed=2)
    path = labels["path"]
    assert video.warp_error(clips, path) == 0.0
    assert video.warp_error(video.edge_clips(clips), path) < 0.002  # edges move with it
    rng = np.random.default_rng(0)
    errors = [
        video.warp_error(np.clip(clips + rng.normal(0, s, clips.shape), -1, 1), path)
        for s in (0.02, 0.1, 0.3)
    ]
    assert 0 < errors[0] < errors[1] < errors[2]
    frozen = np.repeat(clips[:, :1], clips.shape[1], axis=1)  # a sprite that stays put
    assert video.warp_error(frozen, path) > 0.01
    with pytest.raises(ValueError, match=r"paths must be .*\(n, frames, 2\)"):
        video.warp_error(clips, path[:, :-1])
    with pytest.raises(ValueError, match="paths must lie in"):
        video.warp_error(clips, path + 40)
    with pytest.raises(ValueError, match="at least 2 frames|frames"):
        video.warp_error(clips[:, :1], path[:, :1])


def test_edge_clips_are_line_drawings_of_every_frame():
    clips, _ = data.moving_sprites(3, value_range=(-1, 1), seed=1)
    edges = video.edge_clips(clips)
    assert edges.shape == clips.shape and set(np.unique(edges)) <= {-1.0, 1.0}
    assert 0.02 < (edges > 0).mean() < 0.4


def _vid2vid(temporal_weight, seed=0):
    keras.utils.set_random_seed(seed)
    model = video.course_video_pix2pix(temporal_weight=temporal_weight, width=4)
    return model


def test_video_pix2pix_logs_the_flicker_that_warp_error_measures():
    clips, labels = data.moving_sprites(4, frames=2, value_range=(-1, 1), speed=(2, 3), seed=3)
    sources = video.edge_clips(clips)
    model = _vid2vid(0.0)
    before = model.translate_clips(sources)  # two frames: every step takes the pair (0, 1)
    expected = video.warp_error(before, labels["path"])
    history = model.fit((sources, labels["path"]), clips, batch_size=4, epochs=1, verbose=0)
    assert set(history.history) == {"g_loss", "d_loss", "l1", "flicker"}
    assert history.history["flicker"][0] == pytest.approx(expected, rel=1e-4)
    assert expected > 0  # an untrained translator flickers


def test_the_temporal_weight_changes_the_generators_update_and_nothing_else():
    clips, labels = data.moving_sprites(4, frames=3, value_range=(-1, 1), speed=(2, 3), seed=4)
    sources = video.edge_clips(clips)
    weights = {}
    for weight in (0.0, 50.0):
        model = _vid2vid(weight)
        assert model.run_name == ("ch07_vid2vid_temporal" if weight else "ch07_vid2vid_per_frame")
        model.fit((sources, labels["path"]), clips, batch_size=4, epochs=1, verbose=0)
        weights[weight] = (model.generator.get_weights(), model.discriminator.get_weights())
    g0, d0 = weights[0.0]
    g1, d1 = weights[50.0]
    assert max(np.abs(a - b).max() for a, b in zip(g0, g1)) > 1e-6
    assert max(np.abs(a - b).max() for a, b in zip(d0, d1)) < 1e-6  # same pairs, same judge step


def test_video_pix2pix_says_what_data_it_needs():
    clips, labels = data.moving_sprites(2, value_range=(-1, 1), seed=0)
    model = _vid2vid(1.0)
    with pytest.raises(ValueError, match=r"fit\(\(sources, paths\), targets\)"):
        model.fit(clips, clips, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="paths must be"):
        model.fit((clips, labels["path"][:, :3]), clips, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="differ"):
        model.fit((clips, labels["path"]), clips[:, :8], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="temporal_weight"):
        video.course_video_pix2pix(temporal_weight=-1.0)
    out = model.translate_clips(clips)
    assert out.shape == clips.shape and np.abs(out).max() <= 1.0
