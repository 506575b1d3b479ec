"""Chapter 07's generated videos and motion (course_lib.data.video), and how they are shown."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.display import HTML

from course_lib import data, media
from course_lib.conventions import as_poses, as_videos


def test_moving_sprites_shapes_range_and_labels():
    videos, labels = data.moving_sprites(6, sprites="shapes", seed=3)
    assert videos.shape == (6, 16, 32, 32, 1) and videos.dtype == np.float32
    assert videos.min() == 0.0 and videos.max() == 1.0
    assert labels["path"].shape == (6, 16, 2) and labels["velocity"].shape == (6, 2)
    assert set(labels["class"]) <= {0, 1, 2}
    # the sprite sits where its label says: its box holds all the ink of the frame
    for i in range(6):
        for t in (0, 7, 15):
            x, y = labels["path"][i, t]
            inside = videos[i, t, y : y + 14, x : x + 14].sum()
            assert inside == pytest.approx(videos[i, t].sum())
    low, high = data.moving_sprites(2, sprites="shapes", value_range=(-1, 1))[0][[0]].min(), 1
    assert low == -1.0 and high == 1


def test_moving_sprites_are_reproducible_by_seed_and_differ_across_seeds():
    a, la = data.moving_sprites(4, seed=5)
    b, lb = data.moving_sprites(4, seed=5)
    c, _ = data.moving_sprites(4, seed=6)
    assert np.array_equal(a, b) and np.array_equal(la["velocity"], lb["velocity"])
    assert not np.array_equal(a, c)


def test_sprites_move_at_their_speed_and_stay_on_the_canvas():
    _, labels = data.moving_sprites(50, sprites="shapes", speed=(2.0, 2.0), frames=40, seed=0)
    path = labels["path"]
    assert path.min() >= 0 and path.max() <= 32 - 14
    assert np.allclose(np.hypot(*labels["velocity"].T), 2.0)
    steps = np.abs(np.diff(path, axis=1)).max()
    assert steps <= 3  # whole pixels: 2 per frame, rounded, folded at the walls


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n must be a positive int"),
        ({"n": 2, "sprites": "cats"}, "sprites must be one of"),
        ({"n": 2, "speed": 3}, "speed must be a pair"),
        ({"n": 2, "speed": (3, 1)}, "speed's high end"),
        ({"n": 2, "size": 8}, "size must be an int >= 16"),
        ({"n": 2, "split": "valid"}, "split must be 'train' or 'test'"),
    ],
)
def test_moving_sprites_bad_input_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.moving_sprites(**kwargs)


def test_as_videos_says_what_it_expected():
    with pytest.raises(ValueError, match=r"\(n, frames, height, width, 1\)"):
        as_videos(np.zeros((2, 16, 32, 32, 3)))
    with pytest.raises(ValueError, match="must have 16 frames"):
        as_videos(np.zeros((2, 8, 32, 32)), frames=16)
    with pytest.raises(ValueError, match="0-255"):
        as_videos(np.full((1, 2, 16, 16), 255.0), value_range=(0, 1))
    assert as_videos(np.zeros((1, 2, 16, 16))).shape == (1, 2, 16, 16, 1)


def test_walker_poses_shapes_reproducible_and_drawn():
    poses, labels = data.walker_poses(3, frames=20, seed=1)
    assert poses.shape == (3, 20, 17, 3) and set(labels) == {"pace", "stride", "height", "phase"}
    assert np.array_equal(poses, data.walker_poses(3, frames=20, seed=1)[0])
    assert poses[..., 2].min() >= 0.9  # nothing hidden by default
    assert -0.1 < poses[..., 1].min() and poses[..., 1].max() < 1.3
    ankles = poses[:, :, data.KEYPOINT_NAMES.index("left_ankle"), 0]
    assert ankles.std(axis=1).min() > 0.05  # the legs swing
    frames = data.draw_poses(poses, size=32)
    assert frames.shape == (3, 20, 32, 32, 1) and 0 <= frames.min() and frames.max() <= 1
    assert (frames > 0.5).mean() > 0.02
    hidden, _ = data.walker_poses(2, occlusion=1.0)
    assert hidden[..., 2].max() <= 0.3
    with pytest.raises(ValueError, match=r"\(n, frames, 17, 2 or 3\)"):
        as_poses(np.zeros((2, 5, 16, 3)))
    with pytest.raises(ValueError, match="occlusion must be in"):
        data.walker_poses(2, occlusion=2)


def test_animation_player_plays_with_a_front_end_and_is_a_filmstrip_without():
    videos, _ = data.moving_sprites(2, sprites="shapes", frames=6, seed=0)
    live = media.animation_player(videos, mode="live")
    assert isinstance(live, HTML) and "<script" in live.data
    assert live.data.count("data:image/png") == 6  # one picture per frame
    strip = media.animation_player(videos, mode="static")
    assert isinstance(strip, plt.Figure) and len(strip.axes) == 2 * 6
    plt.close(strip)
