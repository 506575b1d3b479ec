"""Tests of course_lib.train: batch counting, the batch logger and resumable training."""

import json
import time

import keras
import numpy as np
import pytest

from course_lib import train
from course_lib.models.mixture import GaussianMixture
from course_lib.train import TimeBudget
from tests.callbacks import EndAt

N, BATCH = 48, 16
PER_EPOCH = 3  # ceil(48 / 16), counted by hand


pytestmark = pytest.mark.usefixtures("runs")  # a fresh runs folder for every test


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    centres = np.array([[-3.0, 0.0], [3.0, 1.0]])
    x = centres[rng.integers(0, 2, size=N)] + 0.5 * rng.standard_normal((N, 2))
    return x.astype(np.float32)


def make_model(points, seed=0):
    keras.utils.set_random_seed(seed)
    model = GaussianMixture(2, rank=1).initialize(points, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    return model


def weights_of(model):
    return [v.numpy().copy() for v in model.weights]


def assert_weights_equal(a, b):
    assert len(a) == len(b)
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)


class Recorder(keras.callbacks.Callback):
    """Remember which epochs ran, and the model's state when training began."""

    def __init__(self):
        super().__init__()
        self.epochs, self.snapshots = [], {}
        self.at_begin = None

    def on_train_begin(self, logs=None):
        self.at_begin = (weights_of(self.model), int(self.model.optimizer.iterations.numpy()))

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.snapshots[epoch] = weights_of(self.model)


# -- batches_per_epoch ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, batch, expected",
    [(100, 10, 10), (101, 10, 11), (99, 10, 10), (5, 10, 1), (1, 1, 1), (60000, 128, 469)],
)
def test_batches_per_epoch(n, batch, expected):
    assert train.batches_per_epoch(n, batch) == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10", None])
def test_batches_per_epoch_bad_input(bad):
    with pytest.raises(ValueError, match="n_examples"):
        train.batches_per_epoch(bad, 10)
    with pytest.raises(ValueError, match="batch_size"):
        train.batches_per_epoch(10, bad)


# -- BatchLogger -----------------------------------------------------------------------------


def test_batch_logger_records_every_batch(points, capsys):
    n = 40  # batches of 16, 16 and 8
    logger = train.BatchLogger(batch_size=BATCH, n_examples=n, print_every=1)
    assert logger.per_epoch == 3
    model = make_model(points)
    history = model.fit(points[:n], batch_size=BATCH, epochs=2, callbacks=[logger], verbose=0)

    assert len(logger.losses) == 2 * 3
    assert logger.epoch_ends == [3, 6]
    assert np.all(np.isfinite(logger.losses))
    # the last batch loss of an epoch is that epoch's (running-mean) loss in the history
    for end, epoch_loss in zip(logger.epoch_ends, history.history["loss"], strict=True):
        assert logger.losses[end - 1] == pytest.approx(epoch_loss, rel=1e-5)

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("epoch 1, batch 1/3: 16 examples in this batch, 16/40 seen")
    assert lines[2].startswith("epoch 1, batch 3/3: 8 examples in this batch, 40/40 seen")
    assert lines[5].startswith("epoch 2, batch 3/3")


def test_batch_logger_print_every(points, capsys):
    logger = train.BatchLogger(batch_size=8, n_examples=N, print_every=4)  # 6 batches
    model = make_model(points)
    model.fit(points, batch_size=8, epochs=1, callbacks=[logger], verbose=0)
    assert len(logger.losses) == 6 and logger.epoch_ends == [6]
    lines = capsys.readouterr().out.strip().splitlines()
    # batches 1 and 5 (every 4th, counted from 0) and the last one, 6
    assert [line.split(":")[0] for line in lines] == [
        "epoch 1, batch 1/6",
        "epoch 1, batch 5/6",
        "epoch 1, batch 6/6",
    ]


def test_batch_logger_silent_by_default(points, capsys):
    logger = train.BatchLogger(batch_size=BATCH, n_examples=N)
    make_model(points).fit(points, batch_size=BATCH, epochs=1, callbacks=[logger], verbose=0)
    assert len(logger.losses) == PER_EPOCH
    assert capsys.readouterr().out == ""


def test_batch_logger_bad_sizes():
    with pytest.raises(ValueError, match="batch_size"):
        train.BatchLogger(batch_size=0, n_examples=10)
    with pytest.raises(ValueError, match="n_examples"):
        train.BatchLogger(batch_size=4, n_examples=-1)


# -- run folders -----------------------------------------------------------------------------


def test_run_folder_is_under_runs_dir_and_mode(runs, monkeypatch):
    assert train.runs_dir() == runs
    assert train.run_folder("gm-1") == runs / "quick" / "gm-1"
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert train.run_folder("gm-1") == runs / "full" / "gm-1"
    assert train.load_state("gm-1") is None


@pytest.mark.parametrize("name", ["", "a/b", "../up", "with space", "x\\y", None, 3])
def test_bad_run_names(points, name):
    with pytest.raises(ValueError, match="run name"):
        train.run_folder(name)
    with pytest.raises(ValueError, match="run name"):
        train.fit_resumable(make_model(points), points, name=name, epochs=1, verbose=0)


# -- fit_resumable ---------------------------------------------------------------------------


def test_interrupted_run_resumes_from_last_checkpoint(points, runs, capsys):
    first = make_model(points)
    seen = Recorder()
    with pytest.raises(KeyboardInterrupt):
        train.fit_resumable(
            first,
            points,
            name="gm",
            epochs=5,
            batch_size=BATCH,
            verbose=0,
            callbacks=[seen, EndAt(2)],
        )
    assert seen.epochs == [0, 1, 2]

    base = runs / "quick" / "gm"
    (folder,) = [p for p in base.iterdir() if p.is_dir()]  # one run: one set of settings
    assert folder == train.latest_run("gm")
    assert sorted(p.name for p in folder.iterdir()) == ["model.weights.h5", "state.json"]
    state = train.load_state("gm")
    assert state == json.loads((folder / "state.json").read_text())
    assert state["fingerprint"]["fit.batch_size"] == str(BATCH)
    saved = state["epoch"]
    # epochs 0 and 1 finished with their checkpoints; epoch 2 was interrupted in its
    # end-of-epoch callbacks, so its checkpoint may or may not have been written
    assert saved in (2, 3)
    assert state["target_epochs"] == 5
    assert len(state["history"]["loss"]) == saved
    assert np.all(np.isfinite(state["history"]["loss"]))

    # a new kernel: a fresh, untrained model and the same call
    second = make_model(points, seed=1)
    resumed = Recorder()
    history = train.fit_resumable(
        second, points, name="gm", epochs=5, batch_size=BATCH, verbose=0, callbacks=[resumed]
    )
    out = capsys.readouterr().out
    assert f"resuming: run 'gm' has {saved} of 5 epochs saved in {folder}" in out
    assert "settings changed" not in out
    assert f"run 'gm': epochs {saved + 1}-5 trained in" in out
    assert resumed.epochs == list(range(saved, 5))
    # it started from the saved weights and optimizer state, not from scratch
    start_weights, start_iterations = resumed.at_begin
    assert_weights_equal(start_weights, seen.snapshots[saved - 1])
    assert start_iterations == saved * PER_EPOCH
    assert int(second.optimizer.iterations.numpy()) == 5 * PER_EPOCH
    # the whole history: the saved epochs first, then the new ones
    assert len(history["loss"]) == 5
    assert history["loss"][:saved] == state["history"]["loss"]
    final = train.load_state("gm")
    assert final["epoch"] == 5
    assert final["history"] == history
    assert [p for p in base.iterdir() if p.is_dir()] == [folder]  # resumed in place


def test_finished_run_is_loaded_without_training(points, capsys):
    model = make_model(points)
    history = train.fit_resumable(model, points, name="done", epochs=2, batch_size=BATCH, verbose=0)
    assert len(history["loss"]) == 2
    trained = weights_of(model)
    capsys.readouterr()

    fresh = make_model(points, seed=3)
    untouched = Recorder()
    again = train.fit_resumable(
        fresh, points, name="done", epochs=2, batch_size=BATCH, verbose=0, callbacks=[untouched]
    )
    assert untouched.epochs == [] and untouched.at_begin is None  # fit never ran
    assert_weights_equal(weights_of(fresh), trained)
    np.testing.assert_allclose(fresh.log_prob(points).numpy(), model.log_prob(points).numpy())
    assert int(fresh.optimizer.iterations.numpy()) == 2 * PER_EPOCH
    assert again == history
    assert "finished: run 'done' has 2 of 2 epochs saved" in capsys.readouterr().out

    # asking for fewer epochs than saved also trains nothing
    fewer = train.fit_resumable(
        make_model(points), points, name="done", epochs=1, batch_size=BATCH, verbose=0
    )
    assert len(fewer["loss"]) == 2


def test_more_epochs_extend_a_finished_run(points):
    train.fit_resumable(
        make_model(points), points, name="grow", epochs=1, batch_size=BATCH, verbose=0
    )
    model = make_model(points, seed=2)
    seen = Recorder()
    history = train.fit_resumable(
        model, points, name="grow", epochs=3, batch_size=BATCH, verbose=0, callbacks=[seen]
    )
    assert seen.epochs == [1, 2]
    assert len(history["loss"]) == 3
    assert train.load_state("grow")["epoch"] == 3


def test_restart_starts_over(points, runs):
    train.fit_resumable(
        make_model(points), points, name="again", epochs=2, batch_size=BATCH, verbose=0
    )
    stale = train.latest_run("again") / "stale.txt"
    stale.write_text("left from before")

    model = make_model(points, seed=4)
    seen = Recorder()
    history = train.fit_resumable(
        model,
        points,
        name="again",
        epochs=1,
        batch_size=BATCH,
        verbose=0,
        restart=True,
        callbacks=[seen],
    )
    assert seen.epochs == [0]
    assert seen.at_begin[1] == 0  # the optimizer started from scratch
    assert int(model.optimizer.iterations.numpy()) == PER_EPOCH
    assert len(history["loss"]) == 1
    assert train.load_state("again")["epoch"] == 1
    assert not stale.exists()


def test_resume_from_a_dataset(points):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(points).batch(BATCH)
    with pytest.raises(KeyboardInterrupt):
        train.fit_resumable(
            make_model(points),
            ds,
            name="ds",
            epochs=3,
            verbose=0,
            shuffle=False,
            callbacks=[EndAt(1)],
        )
    saved = train.load_state("ds")["epoch"]
    model = make_model(points, seed=5)
    history = train.fit_resumable(model, ds, name="ds", epochs=3, verbose=0, shuffle=False)
    assert len(history["loss"]) == 3
    assert int(model.optimizer.iterations.numpy()) == 3 * PER_EPOCH
    assert saved in (1, 2)


def test_quick_and_full_runs_are_kept_apart(points, runs, monkeypatch):
    train.fit_resumable(make_model(points), points, name="mode", epochs=1, verbose=0)
    assert train.load_state("mode")["epoch"] == 1
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert train.load_state("mode") is None
    assert train.latest_run("mode") is None
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert (train.latest_run("mode") / "state.json").is_file()
    assert train.latest_run("mode").parent == runs / "quick" / "mode"


@pytest.mark.parametrize("epochs", [0, -1, 2.5, "3", None])
def test_bad_epochs(points, epochs):
    with pytest.raises(ValueError, match="epochs"):
        train.fit_resumable(make_model(points), points, name="bad", epochs=epochs, verbose=0)


def test_bool_epochs_rejected_like_other_counts(points):
    # batches_per_epoch, budget and seed_everything refuse True where a count is expected
    with pytest.raises(ValueError, match="epochs"):
        train.fit_resumable(make_model(points), points, name="bool", epochs=True, verbose=0)


def test_uncompiled_model_raises(points, runs):
    model = GaussianMixture(2, rank=1).initialize(points)
    with pytest.raises(ValueError, match="compile"):
        train.fit_resumable(model, points, name="raw", epochs=1, verbose=0)
    assert not (runs / "quick" / "raw").exists()


def test_sample_grid_keeps_fixed_noise_samples_every_n_epochs(points):
    model = make_model(points)
    fixed = np.random.default_rng(0).integers(0, 2, size=6)

    def make_samples(m):
        assert m is model
        return m.sample(6, noise=False, seed=1, components=fixed).reshape(6, 1, 2)

    grid = train.SampleGrid(make_samples, every=2, show=False)
    model.fit(points, batch_size=BATCH, epochs=5, verbose=0, callbacks=[grid])
    assert [epoch for epoch, _ in grid.frames] == [2, 4]
    assert all(images.shape == (6, 1, 2) for _, images in grid.frames)
    assert not np.allclose(grid.frames[0][1], grid.frames[1][1]), "training moved the samples"


def test_sample_grid_shows_a_figure(points, monkeypatch):
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf().axes[0].get_title()))
    model = make_model(points)
    grid = train.SampleGrid(lambda m: np.zeros((4, 5, 5)), value_range=(0, 1))
    model.fit(points, batch_size=BATCH, epochs=2, verbose=0, callbacks=[grid])
    assert shown == ["samples after epoch 1", "samples after epoch 2"]


@pytest.mark.parametrize("kwargs", [{"make_samples": 3}, {"every": 0}, {"every": 1.5}])
def test_sample_grid_bad_input(kwargs):
    args = {"make_samples": lambda m: None, **kwargs}
    with pytest.raises((TypeError, ValueError)):
        train.SampleGrid(args.pop("make_samples"), **args)


def test_time_budget_warms_up_and_cools_down_the_learning_rate():
    budget = TimeBudget(10.0, warmup_steps=4, cooldown=0.5)
    budget.start = time.perf_counter()
    assert budget.rate_factor() == pytest.approx(0.25, abs=0.01)  # first step of warmup
    budget.steps = 100
    assert budget.rate_factor() == pytest.approx(1.0, abs=0.01)  # the plateau
    budget.start = time.perf_counter() - 8.0  # 2 of 10 seconds left: 0.2 / 0.5
    assert budget.rate_factor() == pytest.approx(0.4, abs=0.01)
    budget.start = time.perf_counter() - 12.0  # over time: the rate is 0
    assert budget.rate_factor() == 0.0


def test_time_budget_sets_the_optimizer_rate_and_stops_training():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    budget = TimeBudget(1.0, cooldown=1.0)
    x = np.ones((64, 3), "float32")
    model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)  # trace first: a busy CPU
    model.optimizer.learning_rate = 0.1  # may take longer than the budget to trace
    model.fit(x, x[:, :1], batch_size=8, epochs=10**6, callbacks=[budget], verbose=0)
    assert 1.0 <= budget.elapsed < 30 and budget.steps >= 2
    assert float(model.optimizer.learning_rate) < 0.1  # cooled down from the peak
    assert budget.peak == pytest.approx(0.1)


def test_time_budget_rejects_a_schedule_and_bad_arguments():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    x = np.ones((8, 3), "float32")
    with pytest.raises(ValueError, match="plain number"):
        model.fit(x, x[:, :1], callbacks=[TimeBudget(1.0, cooldown=0.2)], verbose=0)
    for kwargs, words in (
        ({"seconds": 0}, "positive number"),
        ({"seconds": 1, "warmup_steps": -1}, "warmup_steps"),
        ({"seconds": 1, "cooldown": 1.5}, "cooldown"),
    ):
        with pytest.raises(ValueError, match=words):
            TimeBudget(**kwargs)


def test_a_run_another_process_holds_waits_for_it(points, runs):
    """Two notebooks (or test workers) asking for one run take turns on its lock file."""
    import fcntl
    import threading

    model = make_model(points)
    folder = train.run_folder("shared")
    folder.mkdir(parents=True)
    finished = threading.Event()

    def train_it():
        train.fit_resumable(model, points, name="shared", epochs=1, verbose=0)
        finished.set()

    with open(folder / ".lock", "a") as held:  # as another process would hold it
        fcntl.flock(held, fcntl.LOCK_EX)
        worker = threading.Thread(target=train_it)
        worker.start()
        time.sleep(1.0)
        assert not finished.is_set() and not list(folder.glob("*/state.json"))
        fcntl.flock(held, fcntl.LOCK_UN)
    worker.join(60)
    assert finished.is_set() and list(folder.glob("*/state.json"))
