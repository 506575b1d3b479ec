"""Walking in a latent space: fixed noise vectors and paths between two codes.

GANs and VAEs both turn a code (a vector of numbers) into an image; these helpers make
the codes: :func:`latent_noise` draws repeatable standard-normal vectors, and
:func:`interpolate` gives the points between two codes, along a straight line or along
the sphere that typical Gaussian codes lie near.
"""

from __future__ import annotations

import numpy as np

from course_lib.conventions import as_int, as_positive_int


def latent_noise(n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """``n`` standard-normal vectors of length ``latent_dim``, the same for the same seed."""
    n = as_positive_int(n, "n")
    latent_dim = as_positive_int(latent_dim, "latent_dim")
    seed = as_int(seed, "seed", minimum=0)
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def interpolate(z_start, z_end, steps: int = 8, *, spherical: bool = False) -> np.ndarray:
    """``steps`` codes on the way from ``z_start`` to ``z_end``, both ends included.

    ``spherical=False`` walks the straight line (right for a VAE, whose codes fill the
    space around the origin). ``spherical=True`` walks the great circle (slerp), which
    keeps the length a typical Gaussian noise vector has: a straight line between two
    GAN noise vectors passes near the origin, where the generator saw few inputs.
    Returns float32 ``(steps, dim)``.
    """
    a, b = (np.asarray(v.numpy() if hasattr(v, "numpy") else v) for v in (z_start, z_end))
    for name, v in (("z_start", a), ("z_end", b)):
        if v.dtype == object or not np.issubdtype(v.dtype, np.number):
            raise TypeError(f"{name} must be a code of numbers; got dtype {v.dtype}")
    a, b = a.astype(np.float64), b.astype(np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"z_start and z_end must be two codes of one shape (dim,); got {a.shape}, {b.shape}"
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("z_start and z_end must not contain NaN or infinity")
    steps = as_int(steps, "steps", minimum=2)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if spherical:
        cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
        omega = np.arccos(np.clip(cos, -1.0, 1.0))
        if omega > 1e-6:
            out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
            return out.astype(np.float32)
    return ((1 - t) * a + t * b).astype(np.float32)
