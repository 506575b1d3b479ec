"""Hardware, measured: what this machine has, and what training costs it in memory, time
and money.

Chapter 12 (``notebooks/12_hardware.ipynb``) uses this module, in this order:

1. **This machine.** :func:`machine_report` says what the computer has: the CPU model,
   its cores, the instruction sets that speed up training (AVX2, AVX-512, bfloat16,
   AMX; :func:`parse_cpuinfo` reads them from Linux's ``/proc/cpuinfo``), the memory,
   the GPUs TensorFlow sees and whether TensorFlow uses oneDNN.
2. **Memory.** :func:`training_memory_bytes` is the estimate on paper: every parameter
   is held four times (weights, gradients and Adam's two moments) plus the activations
   kept for the backward pass (:func:`activation_values` counts them).
   :func:`measure_step_memory` measures instead: it trains a course model (one of
   :data:`WORKLOADS`) for a few steps in a fresh process and reads that process's peak
   resident memory. :func:`accumulated_step` trains a batch too big for memory a piece
   at a time (gradient accumulation).
3. **Throughput.** :func:`throughput_curve` times training steps at several batch sizes
   (examples per second); :func:`choose_batch_size` picks the smallest batch that gets
   close to the best throughput.
4. **Mixed precision.** :func:`precision_policy` sets a Keras dtype policy for one
   block of code and always puts the old one back; :func:`time_precisions` times
   float32 against ``mixed_bfloat16`` and ``mixed_float16``.
5. **tf.distribute.** :func:`mirrored_demo` splits this CPU into two logical devices in
   a fresh process and trains the same model with and without ``MirroredStrategy``.
6. **Money.** :func:`training_cost` is seconds x hourly price (clouds bill at least a
   minimum); :func:`cost_table` does it for several models and offers at once;
   :data:`GUIDE_PRICES` are the guide's prices, an undated snapshot, with the instance
   names corrected.
7. **Will the course run on my laptop?** :func:`micro_benchmark` times the course DCGAN
   for about 20 seconds; :func:`estimate_course_time` scales the chapter times measured
   on the course's machine (:data:`CHAPTER_TIMES`) by how fast this machine ran it.

Everything that measures runs the real course models (``course_lib.models``) on random
data of the right shape: memory and time depend on shapes, not on what the pixels show.
Public functions check what they are given and say what they expected.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.conventions import IMAGE_SHAPE, as_number, as_positive_int

_ROOT = Path(__file__).resolve().parents[1]
MB = 1024**2
GB = 1024**3

# -- 1 · this machine ------------------------------------------------------------------------

#: The CPU flags that matter for training, with what each one gives.
FLAGS_THAT_MATTER: dict[str, str] = {
    "avx2": "256-bit vector maths: the baseline TensorFlow's wheels are built for",
    "fma": "multiply and add in one instruction",
    "avx512f": "512-bit vector maths: twice the width of AVX2",
    "avx512_vnni": "fast 8-bit integer dot products (quantised inference)",
    "avx512_bf16": "bfloat16 dot products: what makes mixed_bfloat16 fast on a CPU",
    "amx_tile": "AMX matrix tiles (Intel Xeon 4th generation and later)",
    "amx_bf16": "AMX bfloat16 matrix multiplies: the fastest CPU path for mixed_bfloat16",
}


def parse_cpuinfo(text: str) -> dict:
    """The CPU model and flags in the text of Linux's ``/proc/cpuinfo``.

    Returns ``{"model": str or None, "flags": set of str}`` from the first processor
    listed (x86: ``model name`` and ``flags``; ARM: ``Features``).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_cpuinfo expects the text of /proc/cpuinfo (str); got {text!r}")
    model, flags = None, None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key in ("model name", "cpu model", "hardware") and model is None:
            model = value.strip() or None
        elif key in ("flags", "features") and flags is None:
            flags = set(value.split())
    return {"model": model, "flags": flags or set()}


def _cpu_info() -> tuple[str, dict[str, bool | None], str]:
    """CPU model, the flags that matter (None: unknown) and where they came from."""
    try:
        info = parse_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        model = platform.processor() or platform.machine() or "unknown CPU"
        return model, dict.fromkeys(FLAGS_THAT_MATTER), "unknown: no /proc/cpuinfo here"
    flags = {name: name in info["flags"] for name in FLAGS_THAT_MATTER}
    return info["model"] or platform.machine(), flags, "/proc/cpuinfo"


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _onednn() -> bool | None:
    """Whether TensorFlow's oneDNN operations are on (None where TensorFlow cannot say)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def machine_report() -> dict:
    """What this computer has for training, as a dict.

    Keys: ``cpu`` (model), ``logical_cores`` (what the OS reports), ``usable_cores``
    (what this process may run on), ``flags`` ({flag: True/False, or None when unknown},
    see :data:`FLAGS_THAT_MATTER`), ``flags_source``, ``memory_gb`` (None when unknown),
    ``gpus`` (names TensorFlow sees), ``tensorflow``, ``keras``, ``cuda_build`` and
    ``onednn`` (oneDNN's optimised operations on or off; TensorFlow turns them on by
    default only on CPUs with AVX-512 VNNI, bfloat16 or AMX; ``TF_ENABLE_ONEDNN_OPTS=1``
    forces them).
    """
    import keras
    import tensorflow as tf

    cpu, flags, source = _cpu_info()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = _memory_bytes()
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(details.get("device_name", device.name))
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "flags": flags,
        "flags_source": source,
        "memory_gb": None if memory is None else round(memory / GB, 1),
        "gpus": gpus,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "cuda_build": bool(tf.sysconfig.get_build_info().get("is_cuda_build", False)),
        "onednn": _onednn(),
    }


def machine_table(report: Mapping | None = None) -> pd.DataFrame:
    """:func:`machine_report` as a two-column table for a notebook."""
    report = machine_report() if report is None else report
    if not isinstance(report, Mapping) or "flags" not in report:
        raise TypeError("machine_table expects the dict machine_report() returns")

    def yes(value):
        return "unknown" if value is None else ("yes" if value else "no")

    rows = [
        ("CPU", report["cpu"]),
        ("cores (logical / usable here)", f"{report['logical_cores']} / {report['usable_cores']}"),
        ("memory", "unknown" if report["memory_gb"] is None else f"{report['memory_gb']} GB"),
    ]
    rows += [(f"flag {name}", yes(value)) for name, value in report["flags"].items()]
    rows += [
        ("GPUs TensorFlow sees", ", ".join(report["gpus"]) or "none"),
        ("TensorFlow / Keras", f"{report['tensorflow']} / {report['keras']}"),
        ("CUDA build", yes(report["cuda_build"])),
        ("oneDNN operations", yes(report["onednn"])),
    ]
    return pd.DataFrame(rows, columns=["what", "this machine"])


# -- 2 · memory ------------------------------------------------------------------------------

#: Adam keeps four float32 numbers per parameter: the weight, its gradient, two moments.
ADAM_COPIES = 4


def training_memory_bytes(
    n_params, activations, *, bytes_per_value: int = 4, copies: int = ADAM_COPIES
) -> float:
    """The memory one training step needs, on paper, in bytes.

    ``n_params`` parameters are each held ``copies`` times (Adam: weight, gradient and
    two moments = 4), and ``activations`` values (per batch: per example x batch size)
    are kept for the backward pass; every value takes ``bytes_per_value`` bytes (4 for
    float32). The framework's own memory (the runtime, the data, workspace) comes on top.
    """
    n_params = as_number(n_params, "n_params (a count of parameters)", low=0)
    activations = as_number(activations, "activations (a count of values)", low=0)
    bytes_per_value = as_positive_int(bytes_per_value, "bytes_per_value")
    copies = as_positive_int(copies, "copies")
    return float(n_params * bytes_per_value * copies + activations * bytes_per_value)


def activation_values(network) -> int:
    """How many values a functional Keras network produces for ONE example: the sum of
    every layer's output size (the input layer left out). Training keeps roughly these
    for the backward pass, so multiply by the batch size."""
    import keras

    if not isinstance(network, keras.Model) or not hasattr(network, "layers"):
        raise TypeError(f"activation_values expects a built keras.Model; got {network!r}")
    total = 0
    for layer in network.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            outputs = layer.output
        except (AttributeError, ValueError) as err:
            raise ValueError(
                f"activation_values needs a functional network (layer {layer.name!r} has no "
                "known output shape)"
            ) from err
        for out in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            total += int(np.prod([d for d in out.shape[1:]], dtype=np.int64))
    return total


def _random_images(n: int, value_range: tuple[float, float], seed: int) -> np.ndarray:
    low, high = value_range
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, (n, *IMAGE_SHAPE)).astype("float32")


def _build_vae():
    import keras

    from course_lib.models import vae

    model = vae.VAE(latent_dim=16, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model, [model.encoder, model.decoder], (0.0, 1.0)


def _build_dcgan():
    from course_lib.models import gan

    model = gan.course_dcgan()
    # the discriminator sees a real and a fake batch: its activations count twice
    return model, [model.generator, model.discriminator, model.discriminator], (-1.0, 1.0)


def _build_diffusion():
    from course_lib.models import diffusion

    model = diffusion.course_model()
    return model, [model.network], (-1.0, 1.0)


#: The course models this module measures: name -> (what it is, chapter).
WORKLOADS: dict[str, tuple[str, str]] = {
    "vae": ("chapter 02's VAE (16-D code), Adam", "02"),
    "dcgan": ("chapter 01's DCGAN (course_dcgan), two Adams", "01"),
    "diffusion": ("chapter 03's diffusion U-Net (course_model)", "03"),
}
_BUILDERS = {"vae": _build_vae, "dcgan": _build_dcgan, "diffusion": _build_diffusion}


def _workload(name) -> str:
    if name not in WORKLOADS:
        raise ValueError(f"workload must be one of {sorted(WORKLOADS)}; got {name!r}")
    return name


def build_workload(name: str, n: int, *, seed: int = 0):
    """A compiled course model, its networks and ``n`` random training images.

    Returns ``(model, networks, images)``: ``networks`` are the functional networks
    one training step runs (a network run twice is listed twice), for
    :func:`workload_estimate`.
    """
    name = _workload(name)
    n = as_positive_int(n, "n (training images)")
    model, networks, value_range = _BUILDERS[name]()
    return model, networks, _random_images(n, value_range, seed)


@functools.cache
def _workload_counts(name: str) -> tuple[int, int]:
    """(parameters, activations per example) of a workload: they depend on shapes only."""
    _, networks, _ = build_workload(name, 1)
    params = sum(net.count_params() for net in {id(n): n for n in networks}.values())
    return params, sum(activation_values(net) for net in networks)


def workload_estimate(name: str, batch_size: int) -> dict:
    """The paper estimate for one of :data:`WORKLOADS`: parameters, activations per
    example and :func:`training_memory_bytes` at ``batch_size``."""
    name = _workload(name)
    batch_size = as_positive_int(batch_size, "batch_size")
    params, per_example = _workload_counts(name)
    return {
        "params": params,
        "activations_per_example": per_example,
        "estimate_bytes": training_memory_bytes(params, per_example * batch_size),
    }


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _peak_kb() -> int:
    """This process's peak resident memory in KiB: VmHWM on Linux, else ru_maxrss."""
    peak = _status_kb("VmHWM")
    if peak is not None:
        return peak
    import resource

    raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return raw // 1024 if sys.platform == "darwin" else raw  # macOS counts bytes


def train_steps(model, images, batch_size: int, steps: int) -> float:
    """Train ``model`` for ``steps`` batches of ``batch_size`` from ``images``.

    Returns the seconds per step, timed from the start of the first batch to the end of
    the last (the set-up ``fit`` does before the first batch is left out).
    """
    import keras

    batch_size = as_positive_int(batch_size, "batch_size")
    steps = as_positive_int(steps, "steps")
    if batch_size * steps > len(images):
        raise ValueError(f"{steps} steps of {batch_size} need {batch_size * steps} images")

    class Clock(keras.callbacks.Callback):
        start = end = None

        def on_train_batch_begin(self, batch, logs=None):
            if self.start is None:
                self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.end = time.perf_counter()

    clock = Clock()
    model.fit(
        images[: batch_size * steps], batch_size=batch_size, epochs=1, verbose=0, callbacks=[clock]
    )
    return (clock.end - clock.start) / steps


def _memory_child(name: str, batch_size: int, steps: int) -> None:
    """Run in a fresh process by :func:`measure_step_memory`: prints one JSON line."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):  # measure the CPU: the host is what we read
        tf.config.set_visible_devices([], "GPU")
    model, _, images = build_workload(name, batch_size * steps)
    model.build_networks()  # the weights exist before we read the memory
    before = _status_kb("VmRSS")
    train_steps(model, images, batch_size, steps)  # the first step also traces it
    print(json.dumps({"before_kb": before, "peak_kb": _peak_kb()}))


def _child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def _run_child(code: str) -> subprocess.Popen:
    """Start ``python -c code`` with this course on its path; stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env(),
    )


def _child_result(proc: subprocess.Popen, timeout: float, what: str) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"{what} took longer than {timeout:g} s and was stopped") from None
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(err.strip().splitlines()[-5:])
        raise RuntimeError(f"{what} failed (exit code {proc.returncode}):\n{tail}")
    return json.loads(lines[-1])


def measure_step_memory(
    name: str, batch_sizes, *, steps: int = 3, parallel: int = 2, timeout: float = 300
) -> pd.DataFrame:
    """Peak memory of training one of :data:`WORKLOADS`, measured, at each batch size.

    Each batch size trains ``steps`` steps in its own fresh Python process (``parallel``
    at a time), which then reads its own peak resident memory (Linux's ``VmHWM``).
    Columns: ``batch_size``, ``before_mb`` (resident memory once the model is built,
    before the first step), ``peak_mb``, ``training_mb`` (peak minus before: what training
    added, the one-off tracing of the step included) and ``estimate_mb``
    (:func:`workload_estimate`, on paper). The fixed part of ``training_mb`` is the same
    at every batch size, so compare how it GROWS with the batch with the paper's growth.
    On a CPU, TensorFlow's ``tf.config.experimental.get_memory_info`` does not work,
    so the process's own resident memory is what there is to read.
    """
    name = _workload(name)
    sizes = _batch_sizes(batch_sizes)
    steps = as_positive_int(steps, "steps")
    parallel = as_positive_int(parallel, "parallel")
    timeout = as_number(timeout, "timeout (seconds)", low=0, low_open=True)
    results = {}
    for start in range(0, len(sizes), parallel):
        group = sizes[start : start + parallel]
        procs = {
            b: _run_child(
                f"from course_lib import hardware; hardware._memory_child({name!r}, {b}, {steps})"
            )
            for b in group
        }
        for b, proc in procs.items():
            results[b] = _child_result(proc, timeout, f"the memory run of {name} at batch {b}")
    rows = []
    for b in sizes:
        estimate = workload_estimate(name, b)["estimate_bytes"]
        before, peak = results[b]["before_kb"] / 1024, results[b]["peak_kb"] / 1024
        rows.append((b, before, peak, peak - before, estimate / MB))
    columns = ["batch_size", "before_mb", "peak_mb", "training_mb", "estimate_mb"]
    return pd.DataFrame(rows, columns=columns).round(1)


def accumulated_step(model, loss_fn, optimizer, x, y, micro_batches: int) -> float:
    """One training step on the batch ``(x, y)``, computed ``micro_batches`` pieces at a
    time: gradient accumulation, for when the whole batch does not fit in memory.

    The batch is cut into ``micro_batches`` equal pieces; each piece's gradients are added
    up, divided by ``micro_batches`` and applied ONCE. With a loss that is a mean over the
    examples, this is the same update as one step on the whole batch, while only one
    piece's activations are held at a time. Returns the mean loss.
    """
    import tensorflow as tf

    micro_batches = as_positive_int(micro_batches, "micro_batches")
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or len(x) % micro_batches:
        raise ValueError(
            f"x and y must have the same length, a multiple of micro_batches={micro_batches}; "
            f"got {len(x)} and {len(y)}"
        )
    weights = model.trainable_variables
    total = [tf.zeros_like(w) for w in weights]
    losses = []
    for xs, ys in zip(np.split(x, micro_batches), np.split(y, micro_batches)):
        with tf.GradientTape() as tape:
            loss = loss_fn(ys, model(xs, training=True))
        grads = tape.gradient(loss, weights)
        total = [t + g for t, g in zip(total, grads)]
        losses.append(float(loss))
    optimizer.apply_gradients(zip([t / micro_batches for t in total], weights))
    return float(np.mean(losses))


def gpu_memory_mb(device: str = "GPU:0") -> dict | None:
    """TensorFlow's own count of a GPU's memory, ``{"current_mb", "peak_mb"}``; None
    when there is no GPU (on a CPU ``get_memory_info`` raises)."""
    import tensorflow as tf

    if not isinstance(device, str):
        raise TypeError(f"device must be a name such as 'GPU:0'; got {device!r}")
    if not tf.config.list_physical_devices("GPU"):
        return None
    info = tf.config.experimental.get_memory_info(device)
    return {"current_mb": info["current"] / MB, "peak_mb": info["peak"] / MB}


# -- 3 · throughput --------------------------------------------------------------------------


def _batch_sizes(batch_sizes) -> list[int]:
    if isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence):
        raise TypeError(f"batch_sizes must be a list of positive ints; got {batch_sizes!r}")
    sizes = [as_positive_int(b, "each batch size") for b in batch_sizes]
    if not sizes or len(set(sizes)) != len(sizes):
        raise ValueError(f"batch_sizes must be a non-empty list without repeats; got {sizes}")
    return sizes


def throughput_curve(name: str, batch_sizes, *, steps: int = 5, seed: int = 0) -> pd.DataFrame:
    """Training throughput of one of :data:`WORKLOADS` at each batch size, measured here.

    One model trains at every size (its first step at each size is traced and not
    timed), then ``steps`` timed steps. Columns: ``batch_size``, ``seconds_per_step``,
    ``examples_per_second``.
    """
    name = _workload(name)
    sizes = _batch_sizes(batch_sizes)
    steps = as_positive_int(steps, "steps")
    model, _, images = build_workload(name, max(sizes) * steps, seed=seed)
    rows = []
    for b in sizes:
        train_steps(model, images, b, 1)  # trace the step for this batch shape
        seconds = train_steps(model, images, b, steps)
        rows.append((b, seconds, b / seconds))
    return pd.DataFrame(rows, columns=["batch_size", "seconds_per_step", "examples_per_second"])


def choose_batch_size(batch_sizes, throughputs, *, share: float = 0.9) -> int:
    """The smallest batch size whose throughput reaches ``share`` of the best one.

    Past the knee of the curve, a bigger batch buys little speed but costs memory and
    gives fewer updates per epoch, so the smallest batch close to the top wins.
    """
    sizes = _batch_sizes(batch_sizes)
    values = [as_number(t, "each throughput", low=0, low_open=True) for t in throughputs]
    if len(values) != len(sizes):
        raise ValueError(f"{len(sizes)} batch sizes but {len(values)} throughputs")
    share = as_number(share, "share", low=0, high=1, low_open=True)
    best = max(values)
    return min(b for b, t in zip(sizes, values) if t >= share * best)


# -- 4 · mixed precision ---------------------------------------------------------------------

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


@contextlib.contextmanager
def precision_policy(name: str):
    """``with precision_policy("mixed_bfloat16"):`` builds layers under that Keras dtype
    policy; the previous global policy comes back afterwards, even after an error."""
    import keras

    if name not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}; got {name!r}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield keras.mixed_precision.global_policy()
    finally:
        keras.mixed_precision.set_global_policy(previous)


def time_precisions(
    name: str, *, batch_size: int = 64, steps: int = 5, policies=POLICIES
) -> pd.DataFrame:
    """Seconds per training step of one of :data:`WORKLOADS` under each dtype policy.

    The model is built afresh under each policy (layers take the policy when they are
    made) and the global policy is restored afterwards. Columns: ``policy``,
    ``seconds_per_step``, ``speed_vs_float32`` (above 1: faster than float32) and
    ``loss_finite``.
    """
    name = _workload(name)
    batch_size = as_positive_int(batch_size, "batch_size")
    steps = as_positive_int(steps, "steps")
    if isinstance(policies, str) or not all(p in POLICIES for p in policies) or not policies:
        raise ValueError(f"policies must be a list from {POLICIES}; got {policies!r}")
    rows = []
    for policy in policies:
        with precision_policy(policy):
            model, _, images = build_workload(name, batch_size * steps)
            train_steps(model, images, batch_size, 1)
            seconds = train_steps(model, images, batch_size, steps)
            losses = [float(np.asarray(m.result())) for m in model.metrics]
        rows.append((policy, seconds, bool(np.all(np.isfinite(losses)))))
    table = pd.DataFrame(rows, columns=["policy", "seconds_per_step", "loss_finite"])
    base = dict(zip(table["policy"], table["seconds_per_step"])).get("float32")
    table.insert(2, "speed_vs_float32", np.nan if base is None else base / table.seconds_per_step)
    return table


# -- 5 · tf.distribute -----------------------------------------------------------------------


def _classifier():
    """A small Fashion-MNIST-shaped classifier: the model of the tf.distribute demo."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            keras.layers.Conv2D(32, 4, strides=2, activation="relu"),
            keras.layers.Conv2D(64, 4, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _mirrored_child(batch_size: int, steps: int) -> None:
    """Run in a fresh process by :func:`mirrored_demo`: prints one JSON line."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    # logical devices must be made before TensorFlow starts: hence the fresh process
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    images = _random_images(batch_size * steps, (0.0, 1.0), 0)
    labels = np.random.default_rng(0).integers(0, 10, len(images))
    out = {"devices": devices}
    for label, strategy in (
        ("one device", tf.distribute.get_strategy()),
        ("MirroredStrategy", tf.distribute.MirroredStrategy(devices)),
    ):
        with strategy.scope():
            model = _classifier()
        model.fit(images[:batch_size], labels[:batch_size], batch_size=batch_size, verbose=0)
        start = time.perf_counter()
        model.fit(images, labels, batch_size=batch_size, epochs=1, verbose=0)
        seconds = (time.perf_counter() - start) / steps
        out[label] = {"replicas": strategy.num_replicas_in_sync, "seconds_per_step": seconds}
    print(json.dumps(out))


def mirrored_demo(*, batch_size: int = 64, steps: int = 5, timeout: float = 300) -> dict:
    """Train a small classifier on one device, then with ``MirroredStrategy`` over two
    logical CPU devices, in a fresh process (logical devices must be set up before
    TensorFlow initialises). Returns ``{"devices": [...], "one device": {...},
    "MirroredStrategy": {...}}``, each with ``replicas`` and ``seconds_per_step``.

    Both devices share the same cores, so mirroring does the work of two replicas on the
    cores one would use anyway, plus the cost of adding their gradients: no speed-up.
    On a machine with several GPUs, the same code gives each GPU one replica.
    """
    batch_size = as_positive_int(batch_size, "batch_size")
    if batch_size % 2:
        raise ValueError(f"batch_size must be even to split over 2 replicas; got {batch_size}")
    steps = as_positive_int(steps, "steps")
    timeout = as_number(timeout, "timeout (seconds)", low=0, low_open=True)
    code = f"from course_lib import hardware; hardware._mirrored_child({batch_size}, {steps})"
    return _child_result(_run_child(code), timeout, "the MirroredStrategy run")


# -- 6 · money -------------------------------------------------------------------------------

#: The guide's cloud prices (USD an hour, US regions): an UNDATED snapshot, not a quote.
#: ``instance`` corrects the guide's names where they do not exist; check today's price
#: on the provider's page before you spend anything.
GUIDE_PRICES = pd.DataFrame(
    [
        ("AWS", "p3.xlarge", "p3.2xlarge", "1 x V100 16 GB", 3.06, "no p3.xlarge exists"),
        (
            "AWS",
            "p4d.xlarge",
            "p4d.24xlarge",
            "8 x A100 40 GB",
            32.77,
            "no p4d.xlarge exists; $32.77 is the 8-GPU p4d.24xlarge",
        ),
        ("AWS", "g4dn.xlarge", "g4dn.xlarge", "1 x T4 16 GB", 0.526, ""),
        ("Google Cloud", "n1-standard-8 + T4", "n1-standard-8 + 1 T4", "1 x T4 16 GB", 1.28, ""),
        (
            "Google Cloud",
            "n1-standard-8-a100",
            "a2-highgpu-1g",
            "1 x A100 40 GB",
            3.67,
            "A100s need an A2 machine type, not N1",
        ),
        ("Azure", "NC6s v3", "NC6s v3", "1 x V100 16 GB", 3.168, ""),
    ],
    columns=["provider", "guide's name", "instance", "GPU", "usd_per_hour", "correction"],
)
GUIDE_PRICES_NOTE = (
    "The guide's prices, undated (a snapshot from before the guide was written): prices "
    "change and differ by region. Enter today's price from the provider's page."
)


def training_cost(seconds, usd_per_hour, *, minimum_seconds: float = 60) -> float:
    """What ``seconds`` of a machine cost at ``usd_per_hour``: seconds / 3600 x price,
    with at least ``minimum_seconds`` billed (per-second billing with a one-minute
    minimum is common; 0 for none)."""
    seconds = as_number(seconds, "seconds", low=0)
    price = as_number(usd_per_hour, "usd_per_hour (price per hour)", low=0)
    minimum = as_number(minimum_seconds, "minimum_seconds", low=0)
    return max(seconds, minimum) / 3600 * price


def cost_table(times: Mapping, prices: Mapping, *, minimum_seconds: float = 60) -> pd.DataFrame:
    """The cost of each training run on each offer: rows are ``times`` (name -> seconds),
    columns are ``prices`` (offer -> USD an hour), values are :func:`training_cost`."""
    for what, value in (("times", times), ("prices", prices)):
        if not isinstance(value, Mapping) or not value:
            raise TypeError(f"{what} must be a non-empty dict of name -> number; got {value!r}")
    return pd.DataFrame(
        {
            offer: {
                run: training_cost(s, price, minimum_seconds=minimum_seconds)
                for run, s in times.items()
            }
            for offer, price in prices.items()
        }
    )


# -- 7 · will the course run on my laptop? ---------------------------------------------------

#: Full-mode training seconds per chapter, measured on the course's 2-core machine,
#: 2026-11-21/22, by running each chapter's notebook in full mode (README.md, "What we
#: measured"; its benchmarks for chapters 03 and 04). Only the models with a measured time
#: are counted, so the sum is a lower bound.
CHAPTER_TIMES: dict[str, dict] = {
    "01": {
        "seconds": 318 + 6 * 48 + 228 + 75 + 109,
        "models": "DCGAN 318 s, style GAN 6 epochs x 48 s, conditional GAN 228 s, "
        "WGAN-GP 75 s, CycleGAN 109 s",
    },
    "02": {"seconds": 189 + 173, "models": "VAE 189 s, conditional VAE 173 s (2 of 6 runs)"},
    "03": {"seconds": 716, "models": "diffusion U-Net, 10 epochs 716 s"},
    "04": {"seconds": 300 + 300, "models": "mini-GPT 300 s, LSTM 300 s"},
}

#: The course DCGAN's speed on that machine, from the same measurements: 10 epochs of
#: 60,000 images in batches of 128 (468 steps an epoch) took 318 s.
REFERENCE_STEPS_PER_SECOND = 10 * (60_000 // 128) / 318
REFERENCE_NOTE = (
    "chapter times: README.md 'What we measured', full-mode notebook runs on the course's "
    "2-core machine, 2026-11-21/22; reference speed: its DCGAN row (4,680 steps in 318 s)"
)


def micro_benchmark(seconds: float = 20, *, batch_size: int = 128) -> dict:
    """Train the course DCGAN (chapter 01) on random images for about ``seconds``.

    Returns ``{"steps", "seconds", "steps_per_second"}`` (the first traced step is not
    counted). :func:`estimate_course_time` turns the speed into the course's time.
    """
    seconds = as_number(seconds, "seconds", low=0, low_open=True)
    batch_size = as_positive_int(batch_size, "batch_size")
    model, _, images = build_workload("dcgan", batch_size * 4)
    train_steps(model, images, batch_size, 1)
    steps, spent = 0, 0.0
    while spent < seconds:
        spent += 4 * train_steps(model, images, batch_size, 4)
        steps += 4
    return {"steps": steps, "seconds": spent, "steps_per_second": steps / spent}


def estimate_course_time(
    steps_per_second,
    *,
    reference: float = REFERENCE_STEPS_PER_SECOND,
    chapter_times: Mapping | None = None,
) -> pd.DataFrame:
    """Each chapter's full-mode training time on a machine that runs the micro-benchmark
    at ``steps_per_second``: the measured chapter time x ``reference / steps_per_second``.

    Columns: ``chapter``, ``measured_s`` (on the reference machine), ``estimate_s``,
    ``models``; a last row ``all`` sums them.
    """
    speed = as_number(steps_per_second, "steps_per_second", low=0, low_open=True)
    reference = as_number(reference, "reference (steps per second)", low=0, low_open=True)
    chapter_times = CHAPTER_TIMES if chapter_times is None else chapter_times
    if not isinstance(chapter_times, Mapping) or not chapter_times:
        raise TypeError("chapter_times must be a dict: chapter -> {'seconds': ..., 'models': ...}")
    rows = []
    for chapter, entry in chapter_times.items():
        measured = as_number(
            entry.get("seconds") if isinstance(entry, Mapping) else entry,
            f"chapter {chapter}'s seconds",
            low=0,
        )
        models = entry.get("models", "") if isinstance(entry, Mapping) else ""
        rows.append((chapter, measured, measured * reference / speed, models))
    table = pd.DataFrame(rows, columns=["chapter", "measured_s", "estimate_s", "models"])
    total = ("all", table.measured_s.sum(), table.estimate_s.sum(), "")
    table.loc[len(table)] = total
    return table
