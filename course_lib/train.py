"""Training helpers: epochs and batches made visible, and runs that resume.

:func:`fit_resumable` wraps ``model.fit``: it saves a checkpoint at the end of every
epoch under ``runs/<mode>/<name>/`` and, when called again after an interruption (a
closed laptop, a stopped kernel), carries on from the last saved epoch. A finished run
is loaded instead of retrained. ``$COURSE_RUNS_DIR`` moves the ``runs`` folder.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from course_lib.config import is_quick


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


def runs_dir() -> Path:
    """Where checkpoints go: ``$COURSE_RUNS_DIR``, else ``runs/`` at the repository top."""
    env = os.environ.get("COURSE_RUNS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "runs"


def run_folder(name: str) -> Path:
    """The checkpoint folder of one named run, separate for quick and full mode."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"run name must be letters, digits, '_', '.' or '-'; got {name!r}")
    return runs_dir() / ("quick" if is_quick() else "full") / name


class EpochCheckpoint(keras.callbacks.Callback):
    """Save weights (optimizer state included) and the history after every epoch.

    The weights are written to a temporary file first and then renamed, so an
    interruption while saving never leaves a half-written checkpoint behind.
    """

    def __init__(self, folder: Path, history: dict, target_epochs: int):
        super().__init__()
        self.folder, self.history, self.target_epochs = Path(folder), history, target_epochs

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "tmp.weights.h5"
        self.model.save_weights(tmp)
        tmp.replace(self.folder / "model.weights.h5")
        state = {"epoch": epoch + 1, "target_epochs": self.target_epochs, "history": self.history}
        (self.folder / "state.json.tmp").write_text(json.dumps(state))
        (self.folder / "state.json.tmp").replace(self.folder / "state.json")


def load_state(name: str) -> dict | None:
    """The saved progress of run ``name`` ({"epoch", "history", ...}), or None."""
    path = run_folder(name) / "state.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _first_example(x):
    if hasattr(x, "shape"):
        return x[:1]
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

    Args:
        model: a compiled ``keras.Model``. Models whose variables are not all made by
            calling them once (several optimizers, say) define ``build_for_resume(x)``.
        x, y: training data as for ``fit`` (arrays or a ``tf.data.Dataset``).
        name: the run's name; its checkpoint lives in :func:`run_folder` ``(name)``.
        epochs: the total number of epochs wanted, counting those already done.
        restart: throw away an earlier checkpoint of this run and start again.

    Returns the whole history (every epoch so far, resumed ones included) as a dict.
    When it trained, it ends with one line saying which epochs and how long they took.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}")
    if getattr(model, "optimizer", None) is None:
        raise ValueError("compile the model (with an optimizer) before fit_resumable")
    folder = run_folder(name)
    if restart and folder.exists():
        shutil.rmtree(folder)
    state = load_state(name)
    history: dict = {}
    done = 0
    if state is not None:
        _prepare_for_loading(model, _first_example(x))
        model.load_weights(folder / "model.weights.h5")
        history, done = state["history"], int(state["epoch"])
        what = "finished" if done >= epochs else "resuming"
        print(f"{what}: run '{name}' has {done} of {epochs} epochs saved in {folder}")
    if done < epochs:
        saver = EpochCheckpoint(folder, history, epochs)
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
