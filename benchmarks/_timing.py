"""Train a compiled model for a fixed wall-clock time: the stopwatch every race here uses.

The benchmark scripts import it as a sibling module (``python benchmarks/<name>.py`` puts
this folder first on ``sys.path``).
"""

from __future__ import annotations

import tensorflow as tf

from course_lib.conventions import as_positive_int
from course_lib.train import TimeBudget


def train_for(
    model,
    data,
    seconds: float,
    *,
    batch_size: int | None = None,
    epoch_size: int | None = None,
    warmup_steps: int = 0,
    cooldown: float = 0.0,
    targets=None,
) -> dict:
    """Train the compiled ``model`` on ``data`` until ``seconds`` have passed.

    Args:
        model: a compiled ``keras.Model``.
        data: an array of training examples, which ``fit`` cuts into batches of
            ``batch_size`` (default: the model's own ``batch_size``, as the presets set
            it), epoch after epoch; or a never-ending ``tf.data.Dataset`` of batches of a
            fixed size (such as :func:`course_lib.models.gpt.lm_dataset`).
        seconds: the wall-clock budget (the first step's tracing counts: every model pays it).
        epoch_size: examples in one epoch, for the ``epochs`` figure: default ``len(data)``
            for an array; required for a dataset (say, how many windows cover the text once).
        warmup_steps, cooldown: passed to :class:`course_lib.train.TimeBudget`, which then
            drives the learning rate (compile it as a plain number, not a schedule).
        targets: ``fit``'s ``y`` for arrays, when the model learns pairs (``data`` can then
            be whatever the model's ``fit`` takes as x; give ``epoch_size``).

    Returns ``{"steps", "epochs", "seconds"}``: batches trained, passes over the data
    (``steps * batch_size / epoch_size``) and the time it took.
    """
    budget = TimeBudget(seconds, warmup_steps=warmup_steps, cooldown=cooldown)
    if isinstance(data, tf.data.Dataset):
        if epoch_size is None:
            raise ValueError("a dataset has no length: give epoch_size (examples in one epoch)")
        batch_size = tf.nest.flatten(data.element_spec)[0].shape[0]
        if batch_size is None:
            raise ValueError("the dataset's batches must have a fixed size (drop_remainder=True)")
        fit_args = {"steps_per_epoch": 10**9, "epochs": 1}
    else:
        batch_size = as_positive_int(
            batch_size if batch_size is not None else getattr(model, "batch_size", None),
            "batch_size (or the model's batch_size)",
        )
        epoch_size = len(data) if epoch_size is None else epoch_size
        fit_args = {"batch_size": batch_size, "epochs": 10**6}
    epoch_size = as_positive_int(epoch_size, "epoch_size")
    model.fit(data, targets, callbacks=[budget], verbose=0, **fit_args)
    return {
        "steps": budget.steps,
        "epochs": budget.steps * batch_size / epoch_size,
        "seconds": budget.elapsed,
    }
