"""Chapter 11's helpers: one idea in several frameworks, and the optional ones said plainly.

Teaching order:

- :func:`missing`: the one line a cell prints when an optional package (PyTorch,
  transformers, diffusers ...) is not installed, instead of failing;
- :func:`run_keras_backend` (and :func:`run_keras_backends`, side by side): the same Keras model trained under one backend
  (``tensorflow``, ``jax``, ``torch``) or run under ``numpy``, in a child process of its
  own (Keras picks its backend once, at import), returning the child's figures;
- one gradient step of the same small network written three ways: :func:`mlp_params`,
  :func:`mlp_loss_numpy` (the maths), :func:`jax_sgd_step`, :func:`tf_sgd_step`,
  :func:`torch_sgd_step`, and :func:`max_difference` to compare their results.

The network: ``tanh(x @ w1 + b1) @ w2 + b2``, mean squared error against ``y``; one step
of plain gradient descent, ``p <- p - lr * dLoss/dp``. Every step function takes and
returns plain NumPy arrays, so their results compare directly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from course_lib.conventions import as_number, as_positive_int

# -- optional packages ----------------------------------------------------------------------

EXTRAS = {  # module -> (what it is, how to get it)
    "torch": ("PyTorch", "./course setup --with torch"),
    "transformers": ("Hugging Face transformers", "./course setup --with torch"),
    "diffusers": ("Hugging Face diffusers", "./course setup --with torch"),
    "tokenizers": ("Hugging Face tokenizers", "./course setup --with torch"),
    "soundfile": ("soundfile", "pip install soundfile"),
    "librosa": ("librosa", "pip install librosa"),
}


def missing(*modules: str) -> str:
    """'' when every module imports; otherwise one line saying which is missing and how to
    get it. A cell that needs them starts ``if (why := missing("torch")): print(why)``."""
    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    if not absent:
        return ""
    names = ", ".join(EXTRAS.get(m, (m, ""))[0] for m in absent)
    how = sorted({EXTRAS.get(m, ("", f"pip install {m}"))[1] for m in absent})
    return (
        f"Not run: {names} {'is' if len(absent) == 1 else 'are'} not installed "
        f"(optional; {' / '.join(how)}). The cell's code above is what would run."
    )


# -- Keras on several backends, one process each ------------------------------------------

BACKENDS = ("tensorflow", "jax", "torch", "numpy")
_BACKEND_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy"}


def run_keras_backend(
    backend: str,
    *,
    task: str = "train",
    steps: int = 200,
    batch_size: int = 64,
    seed: int = 0,
    save_weights=None,
    load_weights=None,
    timeout: float = 300,
) -> dict:
    """Train (or, ``task="predict"``, run) chapter 11's small Keras classifier under
    ``backend`` in a child process with ``KERAS_BACKEND`` set, and return its figures.

    The figures (:mod:`course_lib.keras_worker`): ``backend`` (as Keras reports it),
    ``import_seconds``, ``first_step_seconds`` (tracing and compiling), ``steps_per_second``
    over ``steps`` more batches, ``loss`` and ``accuracy`` after training, ``probe_logits``
    when weights are saved or loaded, ``wall_seconds`` of the whole child. The NumPy backend
    cannot train (it has no gradients): give it ``task="predict"`` and ``load_weights``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    if task not in ("train", "predict"):
        raise ValueError(f"task must be 'train' or 'predict'; got {task!r}")
    if backend == "numpy" and task == "train":
        raise ValueError("the numpy backend has no gradients: use it with task='predict'")
    if (why := missing(_BACKEND_MODULE[backend])) and backend != "numpy":
        raise ModuleNotFoundError(why)
    steps, batch_size = as_positive_int(steps, "steps"), as_positive_int(batch_size, "batch_size")
    cmd = [sys.executable, "-m", "course_lib.keras_worker", "--task", task]
    cmd += ["--steps", str(steps), "--batch-size", str(batch_size), "--seed", str(int(seed))]
    if save_weights is not None:
        cmd += ["--save-weights", str(save_weights)]
    if load_weights is not None:
        cmd += ["--load-weights", str(load_weights)]
    # the child imports this very course_lib, wherever the kernel runs from
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env.pop("MPLBACKEND", None)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            cmd,
            env=env,
            capture_output=True,
            text=True,
            timeout=as_number(timeout, "timeout", low=0, low_open=True),
        )
    except subprocess.TimeoutExpired as err:
        raise RuntimeError(f"the {backend} child ran past {timeout} s") from err
    wall = time.perf_counter() - start
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not results:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise RuntimeError(f"the {backend} child failed (exit status {done.returncode}):\n{tail}")
    figures = json.loads(results[-1][len("RESULT ") :])
    figures["wall_seconds"] = round(wall, 2)
    return figures


def run_keras_backends(backends, *, weights_dir=None, numpy_from=None, **kwargs) -> dict:
    """:func:`run_keras_backend` for several backends at once (one child each, side by
    side): {backend: figures}. With ``weights_dir``, each saves its trained weights to
    ``<weights_dir>/<backend>.weights.h5`` (its figures' ``weights``). On a machine with
    fewer cores than children, each reaches fewer steps per second than it would alone.

    ``numpy_from`` (one of ``backends``, with ``weights_dir``): as soon as that backend's
    child has saved its weights, one more child runs them under the NumPy backend
    (``task="predict"``), while the others may still train; its figures come back under
    ``"numpy"``.
    """
    from concurrent.futures import ThreadPoolExecutor

    backends = list(backends)
    if not backends:
        raise ValueError("backends is empty; name one or more of " + ", ".join(BACKENDS))
    if numpy_from is not None and (numpy_from not in backends or weights_dir is None):
        raise ValueError(
            f"numpy_from must name one of the backends trained here ({backends}) and needs "
            f"weights_dir to pass the weights on; got numpy_from={numpy_from!r}, "
            f"weights_dir={weights_dir!r}"
        )
    paths = {
        b: None if weights_dir is None else Path(weights_dir) / f"{b}.weights.h5" for b in backends
    }
    # the NumPy child waits as long as the others may (run_keras_backend's default otherwise)
    wait = {"timeout": kwargs["timeout"]} if "timeout" in kwargs else {}
    with ThreadPoolExecutor(len(backends) + 1) as pool:
        futures = {
            b: pool.submit(run_keras_backend, b, save_weights=paths[b], **kwargs) for b in backends
        }
        if numpy_from is not None:

            def numpy_after_source():
                futures[numpy_from].result()  # its weights are on disk once it has finished
                return run_keras_backend(
                    "numpy", task="predict", load_weights=paths[numpy_from], **wait
                )

            futures["numpy"] = pool.submit(numpy_after_source)
        results = {b: f.result() for b, f in futures.items()}
    for b in backends:
        if paths[b] is not None:
            results[b]["weights"] = str(paths[b])
    return results


# -- one gradient step, three frameworks ---------------------------------------------------


def mlp_params(n_in: int = 3, n_hidden: int = 8, n_out: int = 1, seed: int = 0) -> dict:
    """Small random weights for :func:`mlp_loss_numpy`'s network, float32 NumPy arrays."""
    rng = np.random.default_rng(seed)
    return {
        "w1": (rng.normal(size=(n_in, n_hidden)) / np.sqrt(n_in)).astype(np.float32),
        "b1": np.zeros(n_hidden, np.float32),
        "w2": (rng.normal(size=(n_hidden, n_out)) / np.sqrt(n_hidden)).astype(np.float32),
        "b2": np.zeros(n_out, np.float32),
    }


def mlp_loss_numpy(params: dict, x, y) -> float:
    """The maths, in NumPy: mean of ``(tanh(x w1 + b1) w2 + b2 - y)**2``."""
    pred = np.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
    return float(np.mean((pred - y) ** 2))


def _check_step_args(params, x, y, lr):
    if not isinstance(params, dict) or set(params) != {"w1", "b1", "w2", "b2"}:
        raise ValueError("params must be a dict with w1, b1, w2 and b2 (see mlp_params)")
    return np.asarray(x, np.float32), np.asarray(y, np.float32), as_number(lr, "lr", low=0)


def jax_sgd_step(params: dict, x, y, lr: float) -> tuple[dict, float]:
    """One gradient-descent step in JAX: ``jax.value_and_grad`` of a pure loss function,
    then ``p - lr * g`` for every leaf (``jax.tree.map``). Returns (new params, loss
    before the step)."""
    import jax
    import jax.numpy as jnp

    x, y, lr = _check_step_args(params, x, y, lr)

    def loss_fn(p):
        pred = jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
        return jnp.mean((pred - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    new = jax.tree.map(lambda p, g: p - lr * g, params, grads)
    return {k: np.asarray(v) for k, v in new.items()}, float(loss)


def tf_sgd_step(params: dict, x, y, lr: float) -> tuple[dict, float]:
    """The same step in TensorFlow: variables, a ``GradientTape`` that records the forward
    pass, ``tape.gradient``, then ``assign_sub``."""
    import tensorflow as tf

    x, y, lr = _check_step_args(params, x, y, lr)
    variables = {k: tf.Variable(v) for k, v in params.items()}
    with tf.GradientTape() as tape:
        pred = tf.tanh(x @ variables["w1"] + variables["b1"]) @ variables["w2"] + variables["b2"]
        loss = tf.reduce_mean((pred - y) ** 2)
    grads = tape.gradient(loss, variables)
    for k, v in variables.items():
        v.assign_sub(lr * grads[k])
    return {k: v.numpy() for k, v in variables.items()}, float(loss)


def torch_sgd_step(params: dict, x, y, lr: float) -> tuple[dict, float]:
    """The same step in PyTorch: tensors with ``requires_grad``, ``loss.backward()`` fills
    each ``.grad``, then an update under ``torch.no_grad()``. Needs the optional extra."""
    if why := missing("torch"):
        raise ModuleNotFoundError(why)
    import torch

    x, y, lr = _check_step_args(params, x, y, lr)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    pred = torch.tanh(xt @ tensors["w1"] + tensors["b1"]) @ tensors["w2"] + tensors["b2"]
    loss = ((pred - yt) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        new = {k: (t - lr * t.grad).numpy() for k, t in tensors.items()}
    return new, float(loss.detach())


def max_difference(a: dict, b: dict) -> float:
    """The largest absolute difference between two parameter dicts with the same keys."""
    if set(a) != set(b):
        raise ValueError(f"the two dicts name different parameters: {sorted(a)} vs {sorted(b)}")
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in a)
