"""Run-wide settings: quick mode, size budgets, seeding and a device summary.

Quick mode (``COURSE_QUICK=1``, set by the tests and CI) makes every notebook run in
seconds. It changes *sizes* only: notebooks ask :func:`budget` for epochs, sample counts
and so on, and run the same code either way.
"""

from __future__ import annotations

import os
import platform

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is 1, true, yes or on; False when it is
    unset, empty, 0, false, no or off; a clear error for anything else.

    Read afresh on every call, so a test or a notebook can switch it with ``os.environ``.
    """
    raw = os.environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def is_quick() -> bool:
    """True when ``COURSE_QUICK`` is set to a true value (see :func:`env_flag`)."""
    return env_flag("COURSE_QUICK")


def budget(*, full, quick):
    """Pick a size for the current mode: ``full`` normally, ``quick`` in quick mode.

    >>> EPOCHS = budget(full=15, quick=1)

    Both must be given, so a notebook shows in one place what quick mode shrinks. Each is
    a number, or None for "no limit" (``limit=budget(full=None, quick=2000)`` reads all
    the data normally and 2,000 examples in quick mode).
    """
    for name, value in (("full", full), ("quick", quick)):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and not is_number:
            raise TypeError(f"budget({name}=...) expects a number or None, got {value!r}")
        if value is not None and not value >= 0:  # also refuses NaN
            raise ValueError(f"budget({name}=...) is a size: expects a number >= 0; got {value!r}")
    return quick if is_quick() else full


def seed_everything(seed: int = 42) -> int:
    """Seed Python's ``random``, NumPy and TensorFlow (through Keras) with one call.

    Returns the seed so a notebook can print it. Runs are repeatable on one machine;
    different CPUs may still differ in the last digits.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed_everything expects a non-negative int, got {seed!r}")
    import keras

    keras.utils.set_random_seed(seed)  # seeds Python's random, NumPy and TensorFlow
    return seed


def device_summary() -> str:
    """One line saying what this run has: CPU cores, GPUs, versions and the mode."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    accel = f"{len(gpus)} GPU" + ("s" if len(gpus) != 1 else "") if gpus else "no GPU"
    cpus = os.cpu_count() or 1
    mode = "quick" if is_quick() else "full"
    return (
        f"{platform.machine()} {cpus} CPU cores, {accel} | Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__} | {mode} mode"
    )
