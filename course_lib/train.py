"""Training helpers: epochs and batches made visible, and runs that resume.

:func:`fit_resumable` wraps ``model.fit``: it saves a checkpoint at the end of every
epoch and, when called again after an interruption (a closed laptop, a stopped kernel),
carries on from the last saved epoch. A finished run is loaded instead of retrained.

Runs are keyed by their name and their settings: :func:`fingerprint` records the model's
settings and variable shapes, the optimizer, the ``fit`` arguments and a hash of the
training data, and each set of settings has its own folder
``runs/<mode>/<name>/<fingerprint id>/`` (:func:`run_path`). Changing a setting (a
VAE's ``beta``, the classes in the data) trains a fresh run and says what changed;
going back loads the earlier run. ``$COURSE_RUNS_DIR`` moves the ``runs`` folder.

``COURSE_REQUIRE_RUNS=1`` makes :func:`fit_resumable` load finished runs only: where no
finished run with the same settings is saved, it raises :class:`RunMissingError` instead
of training (the course's site builder, ``tools/site.py``, uses it to tell whether a
notebook can be shown in full mode).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from course_lib.config import env_flag, is_quick


def batches_per_epoch(n_examples: int, batch_size: int) -> int:
    """How many batches one epoch takes: the last batch may be smaller than the rest."""
    for name, value in (("n_examples", n_examples), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    return math.ceil(n_examples / batch_size)


class BatchLogger(keras.callbacks.Callback):
    """Record the loss after every batch and (optionally) print one line per batch.

    After training, ``losses`` holds one loss per batch and ``epoch_ends`` the batch
    counts at which each epoch ended: enough to draw both curves on one plot.
    """

    def __init__(self, batch_size: int, n_examples: int, print_every: int = 0):
        super().__init__()
        self.batch_size, self.n_examples, self.print_every = batch_size, n_examples, print_every
        self.per_epoch = batches_per_epoch(n_examples, batch_size)
        self.losses: list[float] = []
        self.epoch_ends: list[int] = []
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", float("nan")))
        self.losses.append(loss)
        if self.print_every and (batch % self.print_every == 0 or batch + 1 == self.per_epoch):
            seen = min((batch + 1) * self.batch_size, self.n_examples)
            size = seen - batch * self.batch_size
            print(
                f"epoch {self._epoch + 1}, batch {batch + 1}/{self.per_epoch}: "
                f"{size} examples in this batch, {seen}/{self.n_examples} seen this epoch, "
                f"loss {loss:.3f}"
            )

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_ends.append(len(self.losses))


class RunMissingError(RuntimeError):
    """A run that must be loaded (``COURSE_REQUIRE_RUNS`` is set) has not been trained."""


def runs_required() -> bool:
    """True when ``COURSE_REQUIRE_RUNS`` is set to a true value (1, true, yes, on).

    Then :func:`fit_resumable` loads finished runs and never trains: a run that is not
    saved, or not finished, raises :class:`RunMissingError`.
    """
    return env_flag("COURSE_REQUIRE_RUNS")


def runs_dir() -> Path:
    """Where checkpoints go: ``$COURSE_RUNS_DIR``, else ``runs/`` at the repository top."""
    env = os.environ.get("COURSE_RUNS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "runs"


def run_folder(name: str) -> Path:
    """The folder of every run named ``name``, separate for quick and full mode.

    Each run (one set of settings) has a subfolder of its own: :func:`run_path`.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"run name must be letters, digits, '_', '.' or '-'; got {name!r}")
    return runs_dir() / ("quick" if is_quick() else "full") / name


_STATE, _WEIGHTS, _LATEST = "state.json", "model.weights.h5", "latest.txt"
_RUN_ID = re.compile(r"[0-9a-f]{12}")


def run_path(name: str, run_id: str) -> Path:
    """The checkpoint folder of one run of ``name``: ``run_folder(name) / run_id``.

    ``run_id`` is the :func:`fingerprint_id` of the settings the run was trained with.
    """
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"run_id must be 12 hex digits (see fingerprint_id); got {run_id!r}")
    return run_folder(name) / run_id


def latest_run(name: str) -> Path | None:
    """The checkpoint folder of the run of ``name`` that was used last, or None.

    "Used" means trained, resumed or loaded by :func:`fit_resumable`. Checkpoints saved
    by an older ``course_lib`` directly in :func:`run_folder` (no settings) do not count.
    """
    base = run_folder(name)
    pointer = base / _LATEST
    if pointer.is_file():
        run_id = pointer.read_text().strip()
        if _RUN_ID.fullmatch(run_id) and (base / run_id / _STATE).is_file():
            return base / run_id
    states = [p for p in base.glob(f"*/{_STATE}") if _RUN_ID.fullmatch(p.parent.name)]
    return max(states, key=lambda p: p.stat().st_mtime).parent if states else None


def _read_state(folder: Path) -> dict | None:
    path = Path(folder) / _STATE
    return json.loads(path.read_text()) if path.is_file() else None


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file, so an interruption never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


class EpochCheckpoint(keras.callbacks.Callback):
    """Save weights (optimizer state included) and the history after every epoch.

    The weights are written to a temporary file first and then renamed, so an
    interruption while saving never leaves a half-written checkpoint behind. A
    ``fingerprint`` (see :func:`fingerprint`) is stored with the state when given.
    """

    def __init__(
        self, folder: Path, history: dict, target_epochs: int, fingerprint: dict | None = None
    ):
        super().__init__()
        self.folder, self.history, self.target_epochs = Path(folder), history, target_epochs
        self.fingerprint = fingerprint

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "tmp.weights.h5"
        self.model.save_weights(tmp)
        tmp.replace(self.folder / _WEIGHTS)
        state = {"epoch": epoch + 1, "target_epochs": self.target_epochs, "history": self.history}
        if self.fingerprint is not None:
            state["fingerprint"] = self.fingerprint
        _write_text(self.folder / _STATE, json.dumps(state))


def load_state(name: str, run_id: str | None = None) -> dict | None:
    """The saved progress of the run of ``name`` used last (see :func:`latest_run`), or None.

    A dict with ``epoch`` (epochs saved), ``target_epochs``, ``history`` and
    ``fingerprint`` (the run's settings). With ``run_id``, the state of that run instead.
    A run interrupted before its first epoch ended has ``epoch`` 0.
    """
    folder = run_path(name, run_id) if run_id is not None else latest_run(name)
    return _read_state(folder) if folder is not None else None


# -- fingerprints: the settings a run was trained with ------------------------------------

# fit arguments that are not settings: epochs is the total wanted and may grow
_NOT_SETTINGS = frozenset({"epochs", "initial_epoch", "verbose", "callbacks"})
# keras.Model bookkeeping (names numbered per session, flags that change as it trains)
_KERAS_ATTRS = frozenset(
    {
        "activity_regularizer",
        "autocast",
        "build",
        "built",
        "call_signature_parameters",
        "compiled",
        "distribute_reduction_method",
        "distribute_strategy",
        "dtype_policy",
        "history",
        "input_spec",
        "jit_compile",
        "loss",
        "name",
        "optimizer",
        "predict_function",
        "quantize",
        "run_eagerly",
        "steps_per_execution",
        "stop_training",
        "supports_jit",
        "test_function",
        "train_function",
        "trainable",
        "unrolled_steps_per_execution",
    }
)
_SCALARS = (bool, int, float, str, type(None), np.generic)
_MAX_VALUE = 120


@functools.cache
def _plain_model_attrs() -> frozenset:
    """The public attributes of an empty keras.Model: none of them is a setting."""
    probe = keras.Model(name="fingerprint_probe")  # a name given: no session counter used
    return frozenset(vars(probe)) | _KERAS_ATTRS


def _digest(data, size: int = 8) -> str:
    return hashlib.blake2b(data, digest_size=size).hexdigest()


def _cap(text: str) -> str:
    """Long values shortened to their start and a hash of the whole."""
    if len(text) <= _MAX_VALUE:
        return text
    return f"{text[:90]}... #{_digest(text.encode(), 4)}"


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _is_scalar(value) -> bool:
    if isinstance(value, (tuple, list)):
        return all(isinstance(v, _SCALARS) for v in value)
    return isinstance(value, _SCALARS)


def _show(value) -> str:
    """A short, stable text for a setting's value."""
    value = _plain(value)
    if isinstance(value, _SCALARS):
        return _cap(repr(value))
    if isinstance(value, (tuple, list)) and _is_scalar(value):
        return _cap(repr(tuple(_plain(v) for v in value)))
    try:
        text = json.dumps(value, sort_keys=True, default=lambda obj: type(obj).__qualname__)
    except (TypeError, ValueError):
        text = type(value).__qualname__
    return _cap(text)


def _round(value):
    """Floats to 7 digits: optimizers keep float32, whose last digits are noise."""
    return float(f"{value:.7g}") if isinstance(value, float) else value


def _build(model, x) -> None:
    """Create the model's variables, so that their shapes can be read.

    The model's random-number generators are put back as they were: building (which
    may draw noise) leaves the training that follows as it would have been.
    """
    generators = [v for v in vars(model).values() if isinstance(v, keras.random.SeedGenerator)]
    states = [keras.ops.convert_to_numpy(g.state.value) for g in generators]
    if hasattr(model, "build_for_resume"):
        model.build_for_resume(_first_example(x))
    elif not model.built:
        try:
            model(_first_example(x))
        except Exception as err:
            raise ValueError(
                f"fit_resumable could not create the variables of {type(model).__name__} by "
                f"calling it on one example ({err}); give the model a build_for_resume(x) "
                "method that creates them"
            ) from err
    for generator, state in zip(generators, states, strict=True):
        generator.state.assign(state)


def _model_settings(model) -> dict[str, str]:
    out = {}
    skip = _plain_model_attrs()
    for key, value in vars(model).items():
        if not key.startswith("_") and key not in skip and _is_scalar(value):
            out[key] = _show(value)
    settings = getattr(model, "settings", None)
    if callable(settings):
        values = settings()
        if not isinstance(values, dict):
            raise TypeError(
                f"{type(model).__name__}.settings() must return a dict; got {type(values).__name__}"
            )
        out.update({str(key): _show(value) for key, value in values.items()})
    return dict(sorted(out.items()))


def _optimizer_config(optimizer) -> dict:
    try:
        return optimizer.get_config()
    except Exception:  # e.g. a learning-rate schedule without get_config
        config = {k: v for k, v in vars(optimizer).items() if _is_scalar(v)}
        rate = getattr(optimizer, "_learning_rate", None)
        if not _is_scalar(rate):
            rate = {type(rate).__qualname__: {k: v for k, v in vars(rate).items() if _is_scalar(v)}}
        config["learning_rate"] = rate
        return {k: v for k, v in config.items() if not k.startswith("_")}


def _training_setup(model) -> dict[str, str]:
    """The compiled loss and every optimizer of the model (GANs have two)."""
    out = {}
    try:
        compiled = model.get_compile_config() or {}
    except Exception:
        compiled = {}
    for key in ("loss", "loss_weights"):
        if compiled.get(key) is not None:
            out[f"compile.{key}"] = _show(compiled[key])
    candidates = [("optimizer", getattr(model, "optimizer", None)), *vars(model).items()]
    seen = set()
    for key, optimizer in candidates:
        if key.startswith("_") or not isinstance(optimizer, keras.optimizers.Optimizer):
            continue
        if id(optimizer) in seen:
            continue
        seen.add(id(optimizer))
        out[key] = type(optimizer).__qualname__
        for option, value in sorted(_optimizer_config(optimizer).items()):
            if option != "name" and value is not None:  # None: an option not in use
                out[f"{key}.{option}"] = _show(_round(value))
    return out


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) or (
        hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)
    )


def _has_data(value) -> bool:
    if _is_array(value) or hasattr(value, "element_spec"):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (tuple, list)) and any(_has_data(v) for v in value)


def _array_digest(value) -> str:
    array = np.asarray(value)
    shape = tuple(array.shape)
    if array.dtype == object:
        payload = repr(array.tolist()).encode()
    else:
        payload = np.ascontiguousarray(array).data
    return f"{array.dtype} {shape} #{_digest(payload)}"


def _batch_digest(batch) -> str:
    import tensorflow as tf

    parts = [_array_digest(t) for t in tf.nest.flatten(batch)]
    return _digest("; ".join(parts).encode())


def _dataset_digest(dataset) -> str:
    """Element types and shapes, the number of batches and a hash of the first batch.

    A dataset that reshuffles (or draws random numbers) on every pass has no fixed first
    batch: it is described without one.
    """
    import tensorflow as tf

    specs = []
    for spec in tf.nest.flatten(dataset.element_spec):
        try:
            shape = str(tuple(spec.shape))
        except ValueError:  # unknown rank
            shape = "(?)"
        specs.append(f"{getattr(spec.dtype, 'name', spec.dtype)} {shape}")
    count = int(dataset.cardinality())
    size = {-1: "endless", -2: "unknown length"}.get(count, f"{count} batches")

    def first():
        batch = next(iter(dataset), None)
        return "empty" if batch is None else _batch_digest(batch)

    one = first()
    head = f"first batch #{one}" if one == first() else "reshuffled every pass"
    return f"dataset of {', '.join(specs)}; {size}; {head}"


def _describe(key: str, value, out: dict, *, data: bool) -> None:
    """Put readable digests of ``value`` under ``key`` (``key[i]`` for its parts) in ``out``.

    ``data`` says that ``value`` is training data (a list of numbers is an array then).
    """
    if hasattr(value, "element_spec"):  # a tf.data.Dataset
        out[key] = _dataset_digest(value)
    elif _is_array(value):
        out[key] = _array_digest(value)
    elif isinstance(value, dict) and _has_data(value):
        for part in sorted(value, key=str):
            _describe(f"{key}[{part!r}]", value[part], out, data=data)
    elif isinstance(value, (tuple, list)) and _has_data(value):
        for i, part in enumerate(value):
            _describe(f"{key}[{i}]", part, out, data=data)
    elif isinstance(value, keras.utils.PyDataset):
        out[key] = f"{type(value).__qualname__} of {len(value)} batches; first #" + (
            _batch_digest(value[0]) if len(value) else "empty"
        )
    elif data and isinstance(value, (tuple, list)) and _is_scalar(value):
        out[key] = _array_digest(value)
    elif data and not _is_scalar(value):  # a generator: reading it would use it up
        out[key] = f"{type(value).__qualname__} (not hashed)"
    else:
        out[key] = _show(value)


def _weight_shapes(model) -> dict[str, str]:
    """``weights.<path>`` -> shape and dtype, for every variable of the model.

    Keras numbers layer names per session (``dense_3``): the numbers are dropped, and a
    path that then repeats gets ``#2``, ``#3``... in the order of ``model.weights``.
    """
    out = {}
    for variable in model.weights:
        path = getattr(variable, "path", None) or variable.name
        key = "weights." + "/".join(re.sub(r"_\d+$", "", part) for part in path.split("/"))
        unique, n = key, 2
        while unique in out:
            unique, n = f"{key}#{n}", n + 1
        dtype = getattr(variable.dtype, "name", variable.dtype)
        out[unique] = f"{tuple(variable.shape)} {dtype}"
    return out


def fingerprint(model, x, y=None, **fit_kwargs) -> dict[str, str]:
    """What a run of :func:`fit_resumable` depends on, as a flat dict of short strings.

    Keys, in this order:

    - ``class``: the model's class name;
    - the model's public number, text and flag attributes (``beta``, ``latent_dim``...),
      and everything its ``settings()`` method returns, if it has one (that wins);
    - ``compile.loss``, and for every optimizer attribute (``optimizer``, a GAN's
      ``g_optimizer``...) its class and each ``get_config()`` entry but ``name`` and
      those that are None: ``optimizer.learning_rate``...;
    - ``fit.<argument>`` for the arguments given to ``fit`` (``fit.batch_size``,
      ``fit.validation_data[0]``...) but ``epochs``, ``verbose`` and ``callbacks``;
    - ``data.x`` and ``data.y``: dtype, shape and a hash of the bytes of each array (for
      a ``tf.data.Dataset``: element types and shapes, length and a hash of its first
      batch);
    - ``weights.<path>``: the shape and dtype of every variable.

    The model's variables are created first if need be (so this builds the model).
    """
    _build(model, x)
    settings = {"class": type(model).__qualname__}
    settings.update(_model_settings(model))
    settings.update(_training_setup(model))
    for key in sorted(fit_kwargs):
        if key not in _NOT_SETTINGS:
            _describe(f"fit.{key}", fit_kwargs[key], settings, data=False)
    _describe("data.x", x, settings, data=True)
    if y is not None:
        _describe("data.y", y, settings, data=True)
    settings.update(_weight_shapes(model))
    return settings


def fingerprint_id(settings: dict) -> str:
    """A 12-hex-digit id of a :func:`fingerprint`: the name of the run's folder."""
    return _digest(json.dumps(settings, sort_keys=True).encode(), 6)


def describe_changes(old: dict, new: dict, limit: int = 3) -> str:
    """The keys whose values differ between two fingerprints: ``key: old -> new; ...``.

    At most ``limit`` keys are listed (model settings first, weights last), then how
    many more there are.
    """
    keys = [k for k in new if old.get(k) != new[k]] + [k for k in old if k not in new]
    shown = "; ".join(
        f"{k}: {old.get(k, '(none)')} -> {new.get(k, '(none)')}" for k in keys[:limit]
    )
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _first_example(x):
    if hasattr(x, "shape"):
        return x[:1]
    if isinstance(x, dict):
        return {key: _first_example(value) for key, value in x.items()}
    if isinstance(x, (tuple, list)) and x and all(hasattr(v, "shape") for v in x):
        return [v[:1] for v in x]
    batch = next(iter(x))  # a tf.data.Dataset or another iterable of batches
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    return batch[:1]


def _prepare_for_loading(model, sample) -> None:
    """Create every variable (the optimizer's too) so saved weights can be loaded."""
    if hasattr(model, "build_for_resume"):
        model.build_for_resume(sample)
        return
    if not model.built:
        model(sample)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


@contextlib.contextmanager
def _run_lock(name: str):
    """Hold the run's lock file (``<run folder>/.lock``) while it is read, trained or saved.

    Two processes that ask for the same run at once (two notebooks open, two test
    workers) take turns: the second waits, then loads what the first trained, instead of
    both writing one checkpoint. Where the system has no ``fcntl`` (Windows) it does
    nothing. With ``COURSE_REQUIRE_RUNS`` nothing is trained or written, so no lock.
    """
    try:
        import fcntl
    except ImportError:
        fcntl = None
    if fcntl is None or runs_required():
        yield
        return
    base = run_folder(name)
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fit_resumable(
    model,
    x,
    y=None,
    *,
    name: str,
    epochs: int,
    callbacks=(),
    verbose="auto",
    restart: bool = False,
    **fit_kwargs,
) -> dict:
    """``model.fit`` that checkpoints every epoch and resumes from the last checkpoint.

    A run is keyed by its name *and* its settings (:func:`fingerprint`: the model's
    settings and variable shapes, the optimizer, the ``fit`` arguments, a hash of the
    data). A saved run is resumed or loaded only when all of them match; otherwise a
    fresh run trains in a folder of its own, with one line saying what changed since
    the run of that name used last. Earlier runs are kept: going back to earlier
    settings loads their run again.

    Args:
        model: a compiled ``keras.Model``. Models whose variables are not all made by
            calling them once (several optimizers, say) define ``build_for_resume(x)``.
            A model may define ``settings()`` (a dict of JSON values) to name what its
            fingerprint must contain beyond its public attributes.
        x, y: training data as for ``fit`` (arrays or a ``tf.data.Dataset``).
        name: the run's name; its checkpoints live in :func:`run_folder` ``(name)``,
            one subfolder per set of settings (:func:`run_path`).
        epochs: the total number of epochs wanted, counting those already done.
        restart: throw away the saved run with these settings and start it again
            (runs with other settings are kept).

    With ``COURSE_REQUIRE_RUNS`` set (:func:`runs_required`), a finished run with these
    settings is loaded and anything else (no run, an unfinished one, ``restart=True``)
    raises :class:`RunMissingError`, naming the run, before anything is written.

    Returns the whole history (every epoch so far, resumed ones included) as a dict.
    When it trained, it ends with one line saying which epochs and how long they took.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}")
    if getattr(model, "optimizer", None) is None:
        raise ValueError("compile the model (with an optimizer) before fit_resumable")
    run_folder(name)  # a bad name fails here, before any folder is made
    with _run_lock(name):
        return _fit_resumable(
            model,
            x,
            y,
            name=name,
            epochs=epochs,
            callbacks=callbacks,
            verbose=verbose,
            restart=restart,
            **fit_kwargs,
        )


def _fit_resumable(model, x, y, *, name, epochs, callbacks, verbose, restart, **fit_kwargs):
    base = run_folder(name)
    settings = fingerprint(model, x, y, **fit_kwargs)
    run_id = fingerprint_id(settings)
    folder = base / run_id
    previous = latest_run(name)
    required = runs_required()
    if restart and folder.exists() and not required:
        shutil.rmtree(folder)
    state = _read_state(folder)
    saved = (
        state is not None
        and state.get("fingerprint") == settings
        and int(state.get("epoch", 0)) > 0
        and (folder / _WEIGHTS).is_file()
    )
    if required and (restart or not saved or int(state["epoch"]) < epochs):
        if restart:
            why = "restart=True asks to train it again"
        elif saved:
            why = f"only {int(state['epoch'])} of its {epochs} epochs are saved in {folder}"
        else:
            why = f"no run with these settings is saved in {base}"
        raise RunMissingError(
            f"run '{name}' is not trained: {why}, and COURSE_REQUIRE_RUNS is set, so "
            "fit_resumable does not train it (train it in full mode first, or unset "
            "COURSE_REQUIRE_RUNS)"
        )
    if previous is not None and previous != folder:
        before = (_read_state(previous) or {}).get("fingerprint", {})
        what = "back to the run saved with these settings" if saved else "training a fresh run"
        print(f"run '{name}': settings changed ({describe_changes(before, settings)}): {what}")
    elif not saved and (base / _STATE).is_file():
        print(
            f"run '{name}': the checkpoint in {base} was saved without its settings (by an "
            "older course_lib), so it is not loaded: training a fresh run"
        )
    history: dict = {}
    done = 0
    if saved:
        _prepare_for_loading(model, _first_example(x))
        try:
            model.load_weights(folder / _WEIGHTS)
        except Exception as err:
            raise RuntimeError(
                f"run '{name}': the checkpoint in {folder} could not be loaded ({err}); "
                "pass restart=True to train this run again"
            ) from err
        history, done = state["history"], int(state["epoch"])
        what = "finished" if done >= epochs else "resuming"
        print(f"{what}: run '{name}' has {done} of {epochs} epochs saved in {folder}")
    else:
        state = {"epoch": 0, "target_epochs": epochs, "history": {}, "fingerprint": settings}
        _write_text(folder / _STATE, json.dumps(state))
    _write_text(base / _LATEST, run_id)
    if done < epochs:
        # make the optimizer's variables now, eagerly: made inside the first traced step,
        # each is lifted out of the graph one by one (about a third of a first fit's time)
        _prepare_for_loading(model, _first_example(x))
        saver = EpochCheckpoint(folder, history, epochs, fingerprint=settings)
        start = time.perf_counter()
        model.fit(
            x,
            y,
            epochs=epochs,
            initial_epoch=done,
            callbacks=[saver, *callbacks],  # save first: a slow callback cannot lose the epoch
            verbose=verbose,
            **fit_kwargs,
        )
        last = len(next(iter(history.values()), []))  # fit may stop early
        print(
            f"run '{name}': epochs {done + 1}-{last} trained in {time.perf_counter() - start:.0f} s"
        )
    return history


class SampleGrid(keras.callbacks.Callback):
    """Draw samples every ``every`` epochs, keep them, and (optionally) show them.

    ``make_samples(model)`` returns a batch of images; give it a *fixed* input (the same
    noise every time) so the grids show how one set of samples changes as training goes.
    ``frames`` keeps ``(epoch, images)`` pairs for :func:`course_lib.viz.epoch_strip`.
    """

    def __init__(
        self,
        make_samples,
        *,
        every: int = 1,
        show: bool = True,
        value_range="auto",
        ncols: int | None = None,
    ):
        super().__init__()
        if not callable(make_samples):
            raise TypeError("make_samples must be a function model -> images")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int; got {every!r}")
        self.make_samples, self.every, self.show = make_samples, every, show
        self.value_range, self.ncols = value_range, ncols
        self.frames: list[tuple[int, np.ndarray]] = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = np.asarray(self.make_samples(self.model))
        self.frames.append((epoch + 1, images))
        if self.show:
            import matplotlib.pyplot as plt

            from course_lib import viz

            fig = viz.image_grid(
                images,
                self.ncols,
                value_range=self.value_range,
                title=f"samples after epoch {epoch + 1}",
                scale=0.6,
            )
            plt.show()
            plt.close(fig)


class TimeBudget(keras.callbacks.Callback):
    """Stop ``fit`` once ``seconds`` of training have passed (checked after every batch).

    For comparing models on equal time rather than equal epochs. Optionally it also
    drives the learning rate, which it reads from the compiled optimizer (it must be a
    plain number, not a schedule): ``warmup_steps`` raises it linearly from near 0, and
    ``cooldown`` (a fraction of the budget, 0 to 1) lowers it linearly to 0 over the
    last part of the time, so a run of any speed ends annealed.
    """

    def __init__(self, seconds: float, *, warmup_steps: int = 0, cooldown: float = 0.0):
        super().__init__()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise ValueError(f"seconds must be a positive number; got {seconds!r}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0; got {warmup_steps!r}")
        if not isinstance(cooldown, (int, float)) or not 0.0 <= cooldown <= 1.0:
            raise ValueError(f"cooldown must be a fraction in [0, 1]; got {cooldown!r}")
        self.seconds, self.warmup_steps, self.cooldown = float(seconds), warmup_steps, cooldown
        self.start = None
        self.steps = 0
        self.peak = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        if self.warmup_steps or self.cooldown:
            optimizer = self.model.optimizer
            if isinstance(
                optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule
            ):
                raise ValueError(
                    "TimeBudget with warmup_steps or cooldown sets the learning rate itself: "
                    "compile the model with a plain number as learning rate, not a schedule"
                )
            self.peak = float(optimizer.learning_rate)

    def rate_factor(self) -> float:
        """The learning-rate multiplier for the next batch (1.0 between warmup and cooldown)."""
        factor = min(1.0, (self.steps + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        if self.cooldown:
            left = 1.0 - self.elapsed / self.seconds
            factor *= min(1.0, max(left, 0.0) / self.cooldown)
        return factor

    def on_train_batch_begin(self, batch, logs=None):
        if self.peak is not None:
            self.model.optimizer.learning_rate = self.peak * self.rate_factor()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start if self.start is not None else 0.0
