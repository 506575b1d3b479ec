"""What every trainable model family of the course shares: the small model base.

A family (GAN, VAE, diffusion, and the chapters to come) subclasses :class:`CourseModel`
and writes only what is its own:

* ``train_step`` (the idea the chapter teaches), reporting its numbers through
  :meth:`CourseModel.record`, which keeps one running mean per name in ``logged``;
* :meth:`CourseModel.check_data`: what its training data must look like. ``fit``
  calls it on arrays and on the first batch of a ``tf.data.Dataset`` alike, so 0-255
  pixels are stopped before a single step trains on them;
* optionally :meth:`CourseModel.make_dataset` (how arrays become batches; by default
  Keras batches them itself), :meth:`CourseModel.build_networks` and
  :meth:`CourseModel.optimizer_variables` (what :func:`course_lib.train.fit_resumable`
  needs to create every variable before it loads a checkpoint);
* :meth:`CourseModel.sample`, the one verb for "make new examples":
  ``sample(n, *, seed=None, labels=None)`` on every family.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from course_lib.conventions import as_int, first_batch


def copy_network(model):
    """A second network with ``model``'s layers and the same weights (for EMA copies and
    for checks that replay a training step from the same state)."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def is_dataset(x) -> bool:
    """True for a ``tf.data.Dataset`` (anything with an ``element_spec``)."""
    return isinstance(x, tf.data.Dataset) or hasattr(x, "element_spec")


def split_batch(batch) -> tuple:
    """``(x, y)`` from one element of a dataset: a tuple ``(x, y)``, ``(x,)`` or plain x."""
    if isinstance(batch, (tuple, list)):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None


class CourseModel(keras.Model):
    """A ``keras.Model`` with the course's training plumbing written once.

    Args:
        logged: the names of the running means ``train_step`` reports (``fit`` prints
            them, the history keeps them), e.g. ``("d_loss", "g_loss")``.
    """

    default_batch_size = 128

    def __init__(self, logged=("loss",), **kwargs):
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in logged}

    # -- numbers --------------------------------------------------------------------------

    @property
    def metrics(self):
        return list(self.trackers.values())

    def record(self, **values) -> dict:
        """Add this step's numbers to their running means; return every current mean."""
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    # -- data -----------------------------------------------------------------------------

    def check_data(self, x, y=None) -> tuple:
        """Check training data (arrays, or one batch of a dataset); return ``(x, y)``.

        Each family overrides this with what its data must be: shapes, pixel range,
        labels or none.
        """
        return x, y

    def make_dataset(self, x, y, batch_size, seed: int):
        """How arrays become batches; None leaves it to Keras (shuffled every epoch)."""
        return None

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """``keras.Model.fit`` that checks the data first, arrays and datasets alike.

        A ``tf.data.Dataset`` is checked on its first batch and used as it is. Arrays are
        checked whole, then batched by :meth:`make_dataset` (``shuffle_seed`` fixes its
        order) or by Keras.

        The optimizers' variables are made here, eagerly (:meth:`build_for_resume`), not
        inside the first traced training step: TensorFlow lifts each variable created
        during tracing out of the graph one by one, which doubled the first ``fit`` of
        chapter 03's U-Net (19.7 s of CPU against 10.4 s for one step, measured
        2026-11-29 on the course's 2-core machine).
        """
        seed = as_int(kwargs.pop("shuffle_seed", 0), "shuffle_seed", minimum=0)
        if is_dataset(x):
            if y is not None:
                raise ValueError("a dataset carries its own labels: pass fit(dataset) with no y")
            if batch_size is not None:
                raise ValueError("a dataset is already batched: pass no batch_size with it")
            self.check_data(*split_batch(first_batch(x)))
            self.build_for_resume()
            kwargs.pop("shuffle", None)
            return super().fit(x, shuffle=False, **kwargs)
        x, y = self.check_data(x, y)
        self.build_for_resume()
        if batch_size is not None:
            batch_size = as_int(batch_size, "batch_size")
        dataset = self.make_dataset(x, y, batch_size or self.default_batch_size, seed)
        if dataset is None:
            return super().fit(x, y, batch_size=batch_size, **kwargs)
        kwargs["shuffle"] = False  # the dataset shuffles itself
        return super().fit(dataset, **kwargs)

    # -- checkpoints ----------------------------------------------------------------------

    def build_networks(self) -> None:
        """Create the networks' variables and mark the model built (so it can be saved).

        Functional networks are built when they are made, so by default this only marks
        the model; families with subclassed networks call them once here.
        """
        self.built = True

    def optimizer_variables(self) -> list:
        """``(optimizer, variables)`` pairs: which optimizer updates which variables."""
        return [(self.optimizer, self.trainable_variables)]

    def build_for_resume(self, sample=None) -> None:
        """Create every variable, the optimizers' too, so a checkpoint can be loaded."""
        self.build_networks()
        for optimizer, variables in self.optimizer_variables():
            if optimizer is not None and not optimizer.built:
                optimizer.build(variables)

    # -- sampling -------------------------------------------------------------------------

    def sample(self, n: int, *, seed=None, labels=None):
        """``n`` new examples (with ``labels`` for a conditional model), as NumPy."""
        raise NotImplementedError(f"{type(self).__name__} does not define sample()")
