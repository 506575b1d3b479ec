"""Tests of runs keyed by their settings: course_lib.train.fingerprint and fit_resumable."""

import json
import os
import re

import keras
import numpy as np
import pytest

from course_lib import train
from tests.callbacks import EndAt

pytestmark = pytest.mark.usefixtures("runs")  # a fresh runs folder for every test

N, BATCH = 32, 16


X = np.random.default_rng(0).normal(size=(N, 3)).astype(np.float32)
Y = X.sum(axis=1, keepdims=True)


class Tiny(keras.Model):
    """Two dense layers; ``beta`` scales the output (a setting that changes training)."""

    def __init__(self, width=4, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.width, self.beta = width, beta
        self.hidden = keras.layers.Dense(width, activation="tanh")
        self.head = keras.layers.Dense(1)

    def call(self, x):
        return self.beta * self.head(self.hidden(x))


def make(width=4, beta=1.0, seed=0, rate=0.05):
    keras.utils.set_random_seed(seed)
    model = Tiny(width, beta)
    model.compile(optimizer=keras.optimizers.SGD(rate), loss="mse")
    return model


def fit(model, name="t", epochs=1, x=X, y=Y, **kwargs):
    """fit_resumable with a Recorder: returns (history, recorder)."""
    seen = Recorder()
    callbacks = [seen, *kwargs.pop("cb", [])]
    kwargs.setdefault("batch_size", BATCH)
    history = train.fit_resumable(
        model, x, y, name=name, epochs=epochs, verbose=0, callbacks=callbacks, **kwargs
    )
    return history, seen


class Recorder(keras.callbacks.Callback):
    """Which epochs ran, and the optimizer's step count when training began."""

    def __init__(self):
        super().__init__()
        self.epochs, self.start_step = [], None

    def on_train_begin(self, logs=None):
        self.start_step = int(self.model.optimizer.iterations.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def weights_of(model):
    return [v.numpy().copy() for v in model.weights]


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def run_dirs(runs, name="t"):
    return sorted(p.name for p in (runs / "quick" / name).iterdir() if p.is_dir())


def changed_lines(out):
    return [line for line in out.splitlines() if "settings changed" in line]


# -- fit_resumable: one run per set of settings ------------------------------------------------


def test_changed_setting_trains_a_fresh_run_and_the_old_settings_load_the_old_run(runs, capsys):
    first = make(beta=1.0)
    history1, seen = fit(first)
    assert seen.epochs == [0] and len(history1["loss"]) == 1
    weights1 = weights_of(first)
    id1 = train.latest_run("t").name
    assert changed_lines(capsys.readouterr().out) == []  # nothing to compare with yet

    second = make(beta=4.0)
    history4, seen = fit(second)
    out = capsys.readouterr().out
    assert seen.epochs == [0] and seen.start_step == 0  # trained from scratch
    assert changed_lines(out) == [
        "run 't': settings changed (beta: 1.0 -> 4.0): training a fresh run"
    ]
    assert not same_weights(weights_of(second), weights1)
    assert history4 != history1
    assert second.beta == 4.0 and train.load_state("t")["fingerprint"]["beta"] == "4.0"
    id4 = train.latest_run("t").name
    assert run_dirs(runs) == sorted([id1, id4]) and id1 != id4  # both runs kept

    again = make(beta=1.0, seed=7)  # other initial weights: they must be replaced
    history, seen = fit(again)
    out = capsys.readouterr().out
    assert seen.epochs == [] and seen.start_step is None  # fit never ran
    assert same_weights(weights_of(again), weights1)
    assert history == history1
    assert changed_lines(out) == [
        "run 't': settings changed (beta: 4.0 -> 1.0): back to the run saved with these settings"
    ]
    assert f"finished: run 't' has 1 of 1 epochs saved in {runs / 'quick' / 't' / id1}" in out
    assert train.latest_run("t").name == id1


def test_the_same_call_loads_without_a_changed_line(capsys):
    model = make()
    fit(model)
    capsys.readouterr()
    # the same object again (built, trained, its train_function made) and a new one
    for other in (model, make(seed=3)):
        _, seen = fit(other)
        out = capsys.readouterr().out
        assert seen.epochs == [] and changed_lines(out) == []
        assert "finished: run 't' has 1 of 1 epochs" in out


@pytest.mark.parametrize(
    "change, key",
    [
        ({"batch_size": 8}, "fit.batch_size: 16 -> 8"),
        ({"shuffle": False}, "fit.shuffle: (none) -> False"),
        ({"validation_split": 0.25}, "fit.validation_split: (none) -> 0.25"),
        (
            {"x": np.where(np.arange(N)[:, None] == 5, X + [1, 0, 0], X)},
            "data.x: float32 (32, 3) #",
        ),
        ({"y": Y * 2}, "data.y: float32 (32, 1) #"),
        ({"rate": 0.01}, "optimizer.learning_rate: 0.05 -> 0.01"),
    ],
)
def test_training_settings_and_data_are_part_of_the_run(change, key, capsys):
    fit(make())
    capsys.readouterr()
    change = dict(change)
    model = make(rate=change.pop("rate", 0.05))
    _, seen = fit(model, **change)
    (line,) = changed_lines(capsys.readouterr().out)
    assert seen.epochs == [0]
    assert key in line and line.endswith(": training a fresh run")


def test_one_changed_number_in_the_data_is_another_run(capsys):
    fit(make())
    x = X.copy()
    x[7, 2] += 1e-3  # one "pixel"
    _, seen = fit(make(), x=x)
    assert seen.epochs == [0]
    (line,) = changed_lines(capsys.readouterr().out)
    assert re.search(r"\(data\.x: float32 \(32, 3\) #\w+ -> float32 \(32, 3\) #\w+\)", line)


def test_a_wider_layer_is_a_fresh_run_not_a_load_error(runs, capsys):
    fit(make(width=4))
    capsys.readouterr()
    wide = make(width=6)
    _, seen = fit(wide)  # the old checkpoint's shapes do not fit: it must not be loaded
    (line,) = changed_lines(capsys.readouterr().out)
    assert seen.epochs == [0]
    assert line.startswith("run 't': settings changed (width: 4 -> 6; weights.")
    assert "(3, 4) float32 -> (3, 6) float32" in line and "and 1 more)" in line
    assert len(run_dirs(runs)) == 2


def test_variable_shapes_tell_apart_models_without_settings(capsys):
    def sequential(units):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)]
        )
        model.compile(optimizer="sgd", loss="mse")
        return model

    fit(sequential(2), name="seq")
    _, seen = fit(sequential(5), name="seq")
    (line,) = changed_lines(capsys.readouterr().out)
    assert seen.epochs == [0]
    # layer names are numbered per session (dense_2, dense_3): the numbers are dropped
    assert "weights.sequential/dense/kernel: (3, 2) float32 -> (3, 5) float32" in line
    _, seen = fit(sequential(2), name="seq")
    assert seen.epochs == []  # back to the first: loaded


def test_a_stopped_run_resumes_at_the_next_epoch_with_the_same_settings(runs, capsys):
    first = make()
    _, seen = fit(first, epochs=3, cb=[EndAt(0, interrupt=False)])
    assert seen.epochs == [0]
    state = train.load_state("t")
    assert (state["epoch"], state["target_epochs"]) == (1, 3)
    (run_id,) = run_dirs(runs)
    assert run_id == train.fingerprint_id(state["fingerprint"])
    capsys.readouterr()

    second = make(seed=5)
    history, seen = fit(second, epochs=3)  # callbacks are not settings
    out = capsys.readouterr().out
    assert f"resuming: run 't' has 1 of 3 epochs saved in {runs / 'quick' / 't' / run_id}" in out
    assert changed_lines(out) == []
    assert seen.epochs == [1, 2] and seen.start_step == N // BATCH
    assert len(history["loss"]) == 3 and run_dirs(runs) == [run_id]
    assert train.load_state("t")["epoch"] == 3


def test_an_interrupted_run_of_other_settings_resumes_after_switching_back(capsys):
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(make(beta=1.0), epochs=3, cb=[Interrupt()])
    fit(make(beta=2.0))
    _, seen = fit(make(beta=1.0), epochs=3)
    out = capsys.readouterr().out
    assert seen.epochs == [1, 2]  # the checkpoint callback runs first: epoch 0 was saved
    assert "settings changed (beta: 2.0 -> 1.0): " in out


def test_restart_removes_only_the_matching_run(runs, capsys):
    fit(make(beta=1.0))
    fit(make(beta=4.0))
    id4 = train.latest_run("t").name
    weights4 = (runs / "quick" / "t" / id4 / "model.weights.h5").read_bytes()
    fit(make(beta=1.0))
    id1 = train.latest_run("t").name
    stale = runs / "quick" / "t" / id1 / "stale.txt"
    stale.write_text("left from before")
    capsys.readouterr()

    model = make(beta=1.0, seed=2)
    _, seen = fit(model, restart=True)
    assert seen.epochs == [0] and seen.start_step == 0
    assert not stale.exists()
    assert run_dirs(runs) == sorted([id1, id4])
    assert (runs / "quick" / "t" / id4 / "model.weights.h5").read_bytes() == weights4
    assert "settings changed" not in capsys.readouterr().out


def test_load_state_follows_the_run_used_last(runs):
    assert train.load_state("t") is None and train.latest_run("t") is None
    fit(make(beta=1.0), epochs=2)
    id1 = train.latest_run("t").name
    fit(make(beta=3.0))
    id3 = train.latest_run("t").name
    assert train.load_state("t")["fingerprint"]["beta"] == "3.0"
    assert train.load_state("t")["epoch"] == 1
    fit(make(beta=1.0), epochs=2)  # loaded, not trained: it is still the one used last
    assert train.load_state("t")["fingerprint"]["beta"] == "1.0"
    assert train.load_state("t")["epoch"] == 2
    assert train.load_state("t", run_id=id3)["fingerprint"]["beta"] == "3.0"
    assert train.run_path("t", id1) == runs / "quick" / "t" / id1
    # without its record of the last run, the newest state counts
    (runs / "quick" / "t" / "latest.txt").unlink()
    os.utime(runs / "quick" / "t" / id3 / "state.json", (2e9, 2e9))
    assert train.latest_run("t").name == id3
    with pytest.raises(ValueError, match="run_id"):
        train.run_path("t", "../x")


def test_an_old_checkpoint_without_settings_is_not_loaded(runs, capsys):
    old = make()
    old.fit(X, Y, batch_size=BATCH, epochs=1, verbose=0)
    base = runs / "quick" / "t"
    base.mkdir(parents=True)
    old.save_weights(base / "model.weights.h5")
    state = {"epoch": 1, "target_epochs": 1, "history": {"loss": [0.5]}}
    (base / "state.json").write_text(json.dumps(state))
    assert train.load_state("t") is None

    _, seen = fit(make(seed=1))
    out = capsys.readouterr().out
    assert seen.epochs == [0]
    assert out.count("saved without its settings") == 1
    assert f"run 't': the checkpoint in {base} was saved without its settings" in out
    _, seen = fit(make(seed=2))  # said once: now the new run is found
    out = capsys.readouterr().out
    assert seen.epochs == [] and "without its settings" not in out
    assert train.load_state("t")["history"] != state["history"]
    assert (base / "state.json").is_file()  # the old files are left alone


# -- fingerprint -----------------------------------------------------------------------------


def test_fingerprint_keys_and_stability():
    model = make()
    settings = train.fingerprint(
        model, X, Y, batch_size=BATCH, epochs=3, verbose=0, callbacks=[], validation_data=(X, Y)
    )
    assert list(settings)[:3] == ["class", "beta", "width"]
    assert settings["class"] == "Tiny" and settings["beta"] == "1.0" and settings["width"] == "4"
    assert settings["compile.loss"] == "'mse'"
    assert settings["optimizer"] == "SGD" and settings["optimizer.learning_rate"] == "0.05"
    assert settings["fit.batch_size"] == "16"
    assert re.fullmatch(r"float32 \(32, 3\) #[0-9a-f]{16}", settings["data.x"])
    assert settings["fit.validation_data[0]"] == settings["data.x"]
    assert settings["fit.validation_data[1]"] == settings["data.y"]
    assert settings["weights.tiny/dense/kernel"] == "(3, 4) float32"
    assert not any("epochs" in k or "verbose" in k or "callbacks" in k for k in settings)
    assert not {"name", "built", "stop_training", "optimizer.name"} & set(settings)
    assert all(isinstance(v, str) and len(v) <= 130 for v in settings.values())
    run_id = train.fingerprint_id(settings)
    assert re.fullmatch(r"[0-9a-f]{12}", run_id)

    # after training, and for a model made later (its layers numbered differently): the same
    model.fit(X, Y, batch_size=BATCH, epochs=1, verbose=0)
    later = [make(seed=s) for s in range(2)][-1]
    for other in (model, later):
        again = train.fingerprint(other, X, Y, batch_size=BATCH, validation_data=(X, Y))
        assert again == settings and train.fingerprint_id(again) == run_id
    json.dumps(settings)  # stored in state.json


def test_fingerprint_uses_a_settings_method():
    class Scheduled(Tiny):
        def __init__(self, schedule, **kwargs):
            super().__init__(**kwargs)
            self._schedule = schedule  # private: only settings() shows it

        def settings(self):
            return {"schedule": self._schedule, "steps": [1, 2]}

    def make_scheduled(schedule):
        model = Scheduled(schedule)
        model.compile(optimizer="sgd", loss="mse")
        return model

    cosine = train.fingerprint(make_scheduled("cosine"), X)
    assert cosine["schedule"] == "'cosine'" and cosine["steps"] == "(1, 2)"
    assert cosine["beta"] == "1.0"  # public attributes count as well
    assert train.fingerprint(make_scheduled("linear"), X)["schedule"] == "'linear'"

    class Broken(Tiny):
        def settings(self):
            return ["not", "a", "dict"]

    broken = Broken()
    broken.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="settings"):
        train.fingerprint(broken, X)


def test_fingerprint_of_datasets_and_label_lists():
    import tensorflow as tf

    model = make()
    ds = tf.data.Dataset.from_tensor_slices((X, Y)).batch(BATCH)
    one = train.fingerprint(model, ds)["data.x"]
    assert one.startswith(
        "dataset of float32 (None, 3), float32 (None, 1); 2 batches; first batch #"
    )
    assert train.fingerprint(model, ds)["data.x"] == one
    x = X.copy()
    x[0, 0] += 1
    other = tf.data.Dataset.from_tensor_slices((x, Y)).batch(BATCH)
    assert train.fingerprint(model, other)["data.x"] != one
    # a dataset that reshuffles every pass has no fixed first batch: described without one
    shuffled = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(N, seed=0).batch(BATCH)
    described = train.fingerprint(model, shuffled)["data.x"]
    assert described.endswith("reshuffled every pass")
    assert train.fingerprint(model, shuffled)["data.x"] == described
    # labels given as a plain list are hashed like an array
    labels = train.fingerprint(model, X, list(range(N)))["data.y"]
    assert labels.startswith(f"int64 ({N},) #")


def test_describe_changes_lists_a_few_keys():
    old = {k: str(i) for i, k in enumerate("abcde")}
    new = {**{k: "x" for k in "abcd"}, "f": "1"}
    assert train.describe_changes(old, new) == "a: 0 -> x; b: 1 -> x; c: 2 -> x and 3 more"
    assert train.describe_changes({"a": "1"}, {"a": "1", "b": "2"}) == "b: (none) -> 2"
    assert train.describe_changes(old, old) == ""


def test_a_model_that_cannot_be_built_from_one_example_says_what_to_do(runs):
    class TwoInputs(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, inputs):
            a, b = inputs
            return self.dense(a) + b

    model = TwoInputs()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="build_for_resume"):
        train.fit_resumable(model, X, Y, name="two", epochs=1, verbose=0)


def test_fingerprint_leaves_the_models_random_generator_alone():
    class Noisy(Tiny):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(1)

        def build_for_resume(self, sample):  # builds by drawing noise, as the GANs do
            self(sample + keras.random.normal(sample.shape, seed=self.seed_generator))

    model = Noisy()
    model.compile(optimizer="sgd", loss="mse")
    before = model.seed_generator.state.numpy().copy()
    settings = train.fingerprint(model, X)
    assert model.built and "weights.noisy/dense/kernel" in settings
    np.testing.assert_array_equal(model.seed_generator.state.numpy(), before)
