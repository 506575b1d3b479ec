"""Toy data sets the course generates itself: small, instant, and easy to picture.

:func:`smiley_points` is a 2-D point cloud shaped like a smiling face, for models small
enough to train in seconds.
"""

from __future__ import annotations

import numpy as np

from course_lib.conventions import as_int


def smiley_points(n: int = 2000, seed: int = 0) -> np.ndarray:
    """2-D points shaped like a smiling face: a ring, two eyes and a curved mouth.

    A toy data set with a shape people recognise at once, for models small enough to
    train in seconds. ``n`` is at least 4. Returns float32 of shape (n, 2), roughly in
    [-1.2, 1.2].
    """
    n = as_int(n, "n", minimum=4)
    rng = np.random.default_rng(seed)
    part = rng.choice(4, size=n, p=[0.45, 0.125, 0.125, 0.3])
    angle = np.where(
        part == 0, rng.uniform(0, 2 * np.pi, n), rng.uniform(1.15 * np.pi, 1.85 * np.pi, n)
    )
    radius = np.where(part == 0, 1.0, 0.55)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    points[part == 1] = [-0.38, 0.35]
    points[part == 2] = [0.38, 0.35]
    spread = np.where(part[:, None] == 0, 0.04, np.where(part[:, None] == 3, 0.04, 0.07))
    return (points + spread * rng.standard_normal((n, 2))).astype(np.float32)
