"""Videos and motion the course generates itself: moving sprites and a walking stick figure.

No video data set ships with a package we can rely on offline, so chapter 07 makes its
own, with a seed and a few knobs for difficulty, and keeps how each clip was made as its
labels:

* :func:`moving_sprites`: a Fashion-MNIST item (shrunk to 14x14) or a simple shape
  (square, disc, triangle) flying across a small dark canvas in a straight line and
  bouncing off the walls. Videos are float32 ``(n, frames, size, size, 1)``, by default
  16 frames of 32x32, pixels in ``value_range``; labels give the start, the velocity,
  the whole path and the sprite's class.
* :func:`walker_poses`: a procedural walker, 17 keypoints in COCO's order
  (:data:`KEYPOINT_NAMES`) as (x, y, confidence) per frame, shape
  ``(n, frames, 17, 3)``; labels give each walker's pace, stride, height and phase.
* :func:`draw_poses`: stick figures drawn into grey frames, so poses can be played
  with :func:`course_lib.media.animation_player`.

The same seed always gives the same clips. ``split="train"`` or ``"test"`` takes the
Fashion-MNIST items from that split, so a test set never shares a sprite with training.
"""

from __future__ import annotations

import numpy as np

from course_lib.conventions import (
    NUM_KEYPOINTS,
    as_int,
    as_number,
    as_poses,
    as_seed,
    value_range_pair,
)

VIDEO_FRAMES = 16
VIDEO_SIZE = 32
SPRITE_SIZE = 14
SPRITE_KINDS = ("fashion", "shapes")
SHAPE_NAMES = ("square", "disc", "triangle")

KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
SKELETON = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)  # fmt: skip


# -- moving sprites ----------------------------------------------------------------------


def _shape_sprites(kinds: np.ndarray) -> np.ndarray:
    """Sprites (n, 14, 14) in [0, 1] for shape numbers 0 (square), 1 (disc), 2 (triangle)."""
    s = SPRITE_SIZE
    yy, xx = np.mgrid[0:s, 0:s] + 0.5
    square = ((xx > 2) & (xx < s - 2) & (yy > 2) & (yy < s - 2)).astype(np.float32)
    disc = ((xx - s / 2) ** 2 + (yy - s / 2) ** 2 <= (s / 2 - 1) ** 2).astype(np.float32)
    triangle = ((yy > 1.5) & (yy < s - 1.5) & (np.abs(xx - s / 2) <= (yy - 1) / 2)).astype(
        np.float32
    )
    return np.stack([square, disc, triangle])[kinds]


def _fashion_sprites(n: int, split: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random Fashion-MNIST items of ``split``, shrunk 2x to 14x14, and their classes."""
    from course_lib.data.fashion_mnist import load_fashion_mnist

    images, labels = load_fashion_mnist(split, limit=None, verbose=False)
    picks = rng.choice(len(images), n, replace=n > len(images))
    items = images[picks, :, :, 0].reshape(n, SPRITE_SIZE, 2, SPRITE_SIZE, 2).mean(axis=(2, 4))
    return items / max(float(items.max()), 1e-6), labels[picks].astype(np.int32)


def bounce(start, velocity, frames: int, room: float) -> np.ndarray:
    """Positions (n, frames, 2) of points moving at ``velocity`` inside [0, room], bouncing.

    A point that would leave the room is folded back in (a mirror at each wall), so speed
    is kept and only the direction of the axis that hit a wall flips.
    """
    t = np.arange(frames, dtype=np.float64)[None, :, None]
    free = np.asarray(start, np.float64)[:, None, :] + t * np.asarray(velocity)[:, None, :]
    folded = np.mod(free, 2 * room)
    return np.where(folded > room, 2 * room - folded, folded)


def moving_sprites(
    n: int,
    *,
    frames: int = VIDEO_FRAMES,
    size: int = VIDEO_SIZE,
    sprites: str = "fashion",
    speed=(1.0, 2.5),
    split: str = "train",
    value_range=(0.0, 1.0),
    seed: int = 0,
) -> tuple[np.ndarray, dict]:
    """``n`` short videos of one sprite flying in a straight line and bouncing off walls.

    Args:
        n: how many videos.
        frames: frames per video (16 by default).
        size: the square canvas' side in pixels (32 by default; at least 16).
        sprites: ``"fashion"`` (Fashion-MNIST items, shrunk to 14x14) or ``"shapes"``
            (a square, disc or triangle).
        speed: ``(low, high)`` pixels per frame; each video draws its speed uniformly
            in between and its direction uniformly around the circle. Faster is harder
            to predict.
        split: ``"train"`` or ``"test"``: which Fashion-MNIST items to use.
        value_range: the pixels' range, ``(0, 1)`` by default or ``(-1, 1)`` for a GAN.
        seed: the same seed gives the same videos.

    Returns ``(videos, labels)``: videos float32 ``(n, frames, size, size, 1)``, background
    at the low end of ``value_range``; labels a dict of NumPy arrays: ``"start"`` (n, 2)
    and ``"velocity"`` (n, 2) in pixels and pixels per frame, as (x, y) of the sprite's
    top-left corner, ``"path"`` (n, frames, 2) where the corner is in each frame (whole
    pixels) and ``"class"`` (n,) (the Fashion-MNIST class, or 0, 1, 2 for square, disc,
    triangle).
    """
    n = as_int(n, "n")
    frames = as_int(frames, "frames")
    size = as_int(size, "size", minimum=16)
    if sprites not in SPRITE_KINDS:
        raise ValueError(f"sprites must be one of {SPRITE_KINDS}; got {sprites!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    if isinstance(speed, (str, bytes)) or np.ndim(speed) != 1 or len(speed) != 2:
        raise ValueError(f"speed must be a pair (low, high) in pixels per frame; got {speed!r}")
    low_speed = as_number(speed[0], "speed's low end (pixels per frame)", low=0)
    high_speed = as_number(speed[1], "speed's high end (pixels per frame)", low=low_speed)
    low, high = value_range_pair(value_range)
    seed = as_seed(seed)
    rng = np.random.default_rng([seed, 7])
    room = size - SPRITE_SIZE
    start = rng.uniform(0, room, (n, 2))
    angle = rng.uniform(0, 2 * np.pi, n)
    pace = rng.uniform(low_speed, high_speed, n)
    velocity = np.stack([np.cos(angle), np.sin(angle)], axis=1) * pace[:, None]
    if sprites == "fashion":
        images, classes = _fashion_sprites(n, split, rng)
    else:
        classes = rng.integers(0, len(SHAPE_NAMES), n).astype(np.int32)
        images = _shape_sprites(classes)
    path = np.rint(bounce(start, velocity, frames, room)).astype(np.int32)
    videos = np.zeros((n, frames, size, size), np.float32)
    for i in range(n):
        for t in range(frames):
            x, y = path[i, t]
            videos[i, t, y : y + SPRITE_SIZE, x : x + SPRITE_SIZE] = images[i]
    videos = low + (high - low) * videos[..., None]
    labels = {
        "start": start.astype(np.float32),
        "velocity": velocity.astype(np.float32),
        "path": path,
        "class": classes,
    }
    return videos.astype(np.float32), labels


# -- a walking stick figure ------------------------------------------------------------------


def _limb(origin, angle, length):
    """The end of a limb of ``length`` hanging from ``origin`` at ``angle`` from straight down."""
    return origin + length[..., None] * np.stack([np.sin(angle), -np.cos(angle)], axis=-1)


def walker_poses(
    n: int,
    *,
    frames: int = 32,
    noise: float = 0.005,
    occlusion: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, dict]:
    """``n`` walking stick figures seen from the side, as 17 keypoints per frame.

    Each walker swings its legs and arms at its own pace (0.04 to 0.08 steps' cycles per
    frame), stride and height, with the hips bobbing twice per cycle. The figure walks on
    the spot (a treadmill), facing right, about 1 unit tall with the feet near y = 0;
    x is about -0.5 to 0.5. The far-side limbs sit 0.03 to the left so both sides show.

    Args:
        n: how many walkers.
        frames: frames per walker.
        noise: standard deviation of the Gaussian jitter added to every x and y (the
            "measurement" noise a pose tracker would have); 0 for clean poses.
        occlusion: the chance that a keypoint is hidden in a frame: its confidence is then
            between 0 and 0.3 and its position four times noisier. Otherwise confidence is
            between 0.9 and 1.
        seed: the same seed gives the same walkers.

    Returns ``(poses, labels)``: poses float32 ``(n, frames, 17, 3)``, the last axis
    (x, y, confidence), keypoints in :data:`KEYPOINT_NAMES` order; labels a dict of
    ``"pace"`` (cycles per frame), ``"stride"`` (hip swing in radians), ``"height"``
    and ``"phase"`` (radians), each (n,).
    """
    n = as_int(n, "n")
    frames = as_int(frames, "frames")
    noise = as_number(noise, "noise", low=0)
    occlusion = as_number(occlusion, "occlusion", low=0, high=1)
    rng = np.random.default_rng([as_seed(seed), 17])
    pace = rng.uniform(0.04, 0.08, n)
    stride = rng.uniform(0.35, 0.6, n)
    height = rng.uniform(0.85, 1.15, n)
    phase0 = rng.uniform(0, 2 * np.pi, n)
    arm_swing = stride * rng.uniform(0.6, 1.0, n)
    t = np.arange(frames)[None, :]
    phase = 2 * np.pi * pace[:, None] * t + phase0[:, None]  # (n, frames)
    h = height[:, None]
    thigh, shin = 0.25 * h, 0.25 * h
    upper_arm, forearm, torso = 0.16 * h, 0.15 * h, 0.3 * h
    hip = np.stack([np.zeros_like(phase), 0.5 * h + 0.015 * h * np.cos(2 * phase)], axis=-1)
    shoulder = hip + np.stack([0.04 * h + 0 * phase, torso + 0 * phase], axis=-1)
    joints = np.zeros((n, frames, NUM_KEYPOINTS, 2))
    side = {"left": 0.0, "right": -0.03}
    for k, (name, offset) in enumerate(side.items()):
        swing = phase + np.pi * k  # the two sides swing in opposite phase
        hip_angle = stride[:, None] * np.sin(swing)
        knee_bend = 0.6 * stride[:, None] * np.clip(np.sin(swing + 1.2), 0, None) + 0.05
        knee = _limb(hip, hip_angle, thigh)
        ankle = _limb(knee, hip_angle - knee_bend, shin)
        arm_angle = -arm_swing[:, None] * np.sin(swing)
        elbow = _limb(shoulder, arm_angle, upper_arm)
        wrist = _limb(elbow, arm_angle + 0.3 + 0.2 * np.sin(swing) ** 2, forearm)
        shift = np.array([offset, 0.0])
        for part, where in (
            ("shoulder", shoulder), ("elbow", elbow), ("wrist", wrist),
            ("hip", hip), ("knee", knee), ("ankle", ankle),
        ):  # fmt: skip
            joints[:, :, KEYPOINT_NAMES.index(f"{name}_{part}")] = where + shift
    neck = shoulder
    face = [("nose", 0.07, 0.12), ("left_eye", 0.05, 0.14), ("right_eye", 0.03, 0.14),
            ("left_ear", -0.01, 0.13), ("right_ear", -0.03, 0.13)]  # fmt: skip
    for name, dx, dy in face:
        joints[:, :, KEYPOINT_NAMES.index(name)] = neck + np.stack(
            [dx * h * np.ones_like(phase), dy * h * np.ones_like(phase)], axis=-1
        )
    hidden = rng.random((n, frames, NUM_KEYPOINTS)) < occlusion
    confidence = np.where(
        hidden, rng.uniform(0, 0.3, hidden.shape), rng.uniform(0.9, 1, hidden.shape)
    )
    jitter = noise * rng.standard_normal(joints.shape) * np.where(hidden, 4.0, 1.0)[..., None]
    poses = np.concatenate([joints + jitter, confidence[..., None]], axis=-1).astype(np.float32)
    labels = {"pace": pace, "stride": stride, "height": height, "phase": phase0}
    return poses, {k: v.astype(np.float32) for k, v in labels.items()}


def draw_poses(poses, *, size: int = 48, thickness: float = 1.0) -> np.ndarray:
    """Stick figures drawn as grey frames ``(n, frames, size, size, 1)`` in [0, 1].

    ``poses`` is ``(n, frames, 17, 2 or 3)`` (or one sequence ``(frames, 17, c)``) in the
    walker's units (about 1 tall, feet at y = 0, centred on x = 0). Bones are drawn as
    lines; with a confidence channel each bone is as bright as its less sure end, so a
    hidden joint fades out.
    """
    arr = as_poses(poses)
    size = as_int(size, "size", minimum=8)
    thickness = as_number(thickness, "thickness", low=0, low_open=True)
    n, t = arr.shape[:2]
    conf = arr[..., 2] if arr.shape[-1] == 3 else np.ones(arr.shape[:3], np.float32)
    # world (x in [-0.6, 0.6], y in [-0.1, 1.1]) to pixels, y pointing down
    px = (arr[..., 0] + 0.6) / 1.2 * (size - 1)
    py = (1.1 - arr[..., 1]) / 1.2 * (size - 1)
    out = np.zeros((n, t, size, size), np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for a, b in SKELETON:
        ax, ay, bx, by = px[..., a], py[..., a], px[..., b], py[..., b]
        dx, dy = (bx - ax)[..., None, None], (by - ay)[..., None, None]
        length2 = np.maximum(dx**2 + dy**2, 1e-6)
        along = np.clip(
            ((xx - ax[..., None, None]) * dx + (yy - ay[..., None, None]) * dy) / length2, 0, 1
        )
        dist = np.hypot(
            xx - ax[..., None, None] - along * dx, yy - ay[..., None, None] - along * dy
        )
        ink = (
            np.clip(thickness + 0.5 - dist, 0, 1)
            * np.minimum(conf[..., a], conf[..., b])[..., None, None]
        )
        out = np.maximum(out, ink)
    return out[..., None]
