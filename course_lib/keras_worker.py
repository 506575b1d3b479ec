"""The child process of :func:`course_lib.frameworks.run_keras_backend`.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so each backend needs a
process of its own. This module trains (or, with ``--task predict``, only runs) the same
small classifier on the same data under whatever backend the environment names, and prints
one line ``RESULT {json}`` with its figures. It keeps Keras from importing scikit-learn
and, where another backend runs, TensorFlow (which Keras loads only to seed it), so a JAX
run does not pay for them; Keras imports JAX under every backend (its NumPy backend
borrows JAX's maths).

    KERAS_BACKEND=jax python -m course_lib.keras_worker --steps 200 --batch-size 64
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

PROBE = np.array([[0.0, 0.0], [0.5, -0.5], [-0.8, 0.3], [0.2, 0.9], [-0.4, -0.7]], np.float32)


def spirals(n: int = 3000, classes: int = 3, seed: int = 0):
    """Points on ``classes`` interleaved spiral arms, with a little noise: (x (n, 2), y (n,))."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    r = rng.uniform(0.05, 1.0, n)
    angle = 4.0 * r + y * (2 * np.pi / classes) + rng.normal(0, 0.15, n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1).astype(np.float32)
    return x, y.astype(np.int32)


def build_model(keras, hidden: int = 64, classes: int = 3):
    """The same small classifier under every backend: two hidden layers, logits out."""
    return keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(classes),
        ]
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=("train", "predict"), default="train")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-weights", default=None)
    parser.add_argument("--load-weights", default=None)
    args = parser.parse_args(argv)

    import keras

    imported = time.perf_counter() - _STARTED
    keras.utils.set_random_seed(args.seed)
    model = build_model(keras)
    out = {
        "backend": keras.backend.backend(),
        "requested": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "keras": keras.__version__,
        "import_seconds": round(imported, 2),
        "parameters": int(model.count_params()),
    }
    if args.task == "train":
        x, y = spirals(seed=args.seed)
        reps = -(-args.steps * args.batch_size // len(x))  # enough copies for `steps` batches
        xs, ys = np.tile(x, (reps, 1)), np.tile(y, reps)
        xs, ys = xs[: args.steps * args.batch_size], ys[: args.steps * args.batch_size]
        model.compile(
            keras.optimizers.Adam(0.01),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        start = time.perf_counter()  # the first step traces and compiles: timed apart
        model.fit(x[: args.batch_size], y[: args.batch_size], batch_size=args.batch_size, verbose=0)
        out["first_step_seconds"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        model.fit(xs, ys, batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)
        seconds = time.perf_counter() - start
        loss, accuracy = model.evaluate(x, y, batch_size=512, verbose=0)
        out.update(
            steps=args.steps,
            batch_size=args.batch_size,
            seconds=round(seconds, 3),
            steps_per_second=round(args.steps / seconds, 1),
            loss=float(loss),
            accuracy=float(accuracy),
        )
        if args.save_weights:
            model.save_weights(args.save_weights)
    elif args.load_weights:
        model.load_weights(args.load_weights)
    if args.task == "predict" or args.save_weights:
        start = time.perf_counter()
        out["probe_logits"] = np.asarray(model.predict(PROBE, verbose=0)).tolist()
        out["predict_seconds"] = round(time.perf_counter() - start, 3)
    # which frameworks this run has loaded (Keras adds JAX everywhere; see the module's doc)
    out["frameworks"] = [m for m in ("tensorflow", "jax", "torch") if sys.modules.get(m)]
    out["total_seconds"] = round(time.perf_counter() - _STARTED, 2)
    print("RESULT " + json.dumps(out), flush=True)
    return out


def skip_unused_imports() -> None:
    """Keep Keras, in this process, from importing what the run never uses.

    Keras imports what it can find, whether a run uses it or not: scikit-learn (for its
    scikit-learn wrappers) and, under every backend, TensorFlow (only to seed it in
    ``keras.utils.set_random_seed``). A None in ``sys.modules`` makes such an import fail
    at once, and Keras carries on without it: a JAX run no longer pays seconds for them.
    Only for a process of its own (the ``__main__`` below), before Keras is imported.
    """
    sys.modules.setdefault("sklearn", None)
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        sys.modules.setdefault("tensorflow", None)


if __name__ == "__main__":
    skip_unused_imports()
    main()
