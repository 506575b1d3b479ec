"""Smoke tests of the benchmark scripts: each runs end to end at a tiny size, in seconds.

The figures are meaningless at these sizes; the tests check that every script runs, that
its flags shrink it, and that it reports the numbers it should (finite FIDs, a ratio,
bits per character). ``benchmarks/`` is not a package: the scripts are loaded by path,
with their folder on ``sys.path`` as when they run as scripts.
"""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    """Checkpoints and samples go to a throwaway folder."""
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    return tmp_path


def load(name: str, monkeypatch):
    """Import ``benchmarks/<name>.py`` as a module."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_for_counts_steps_and_epochs_of_a_stream(monkeypatch):
    import keras

    from course_lib.models import gpt

    timing = load("_timing", monkeypatch)
    keras.utils.set_random_seed(0)
    model = gpt.course_gpt(5, 8, d_model=8, num_heads=2, num_layers=1, warmup=False)
    ids = np.random.default_rng(0).integers(0, 5, 400).astype(np.int32)
    stream = gpt.lm_dataset(ids, 8, model.batch_size)
    run = timing.train_for(model, stream, 0.5, epoch_size=50, warmup_steps=3, cooldown=0.3)
    assert run["steps"] >= 1 and run["seconds"] >= 0.5
    assert run["epochs"] == pytest.approx(run["steps"] * model.batch_size / 50)
    with pytest.raises(ValueError, match="give epoch_size"):
        timing.train_for(model, stream, 0.5)
    with pytest.raises(ValueError, match="batch_size"):  # an array, no batch size anywhere
        timing.train_for(keras.Sequential([keras.layers.Dense(1)]), np.zeros((4, 2)), 0.5)


def test_dcgan_benchmark_runs_small(monkeypatch, capsys):
    bench = load("dcgan_vs_tutorial", monkeypatch)
    results = bench.main(["--minutes", "0.05", "--samples", "64", "--limit", "1000"])
    for label in bench.CONTENDERS:
        run = results[label]
        assert run["steps"] >= 1 and run["epochs"] > 0
        assert run["report"].n == 64 and np.isfinite(run["report"].fid)
        assert run["samples"].shape == (64, 28, 28, 1)
    assert np.isfinite(results["ratio"]) and results["ratio"] > 0
    assert np.isfinite(results["gain"]) and results["gain"] < 1
    assert results["shares"].sum() == pytest.approx(1.0)
    out = capsys.readouterr().out
    assert "FID ratio tutorial / course" in out and "smallest class share" in out
    assert "lower than the plain DCGAN's" in out


def test_gpt_benchmark_runs_small(monkeypatch, capsys):
    bench = load("gpt_vs_lstm_vs_bigram", monkeypatch)
    results = bench.main(
        "--minutes 0.05 --source python-docs --chars 50000 --context 32 --val-windows 8 "
        "--d-model 32 --layers 1 --units 32".split()
    )
    assert set(results) == {"bigram (counts)", "mini-GPT", "LSTM"}
    for name, result in results.items():
        bits = result["bits_per_char"]
        assert math.isfinite(bits) and 0 < bits < 8, name
    for name in ("mini-GPT", "LSTM"):
        assert results[name]["steps"] >= 1 and results[name]["seconds"] >= 3.0
    out = capsys.readouterr().out
    assert "val bits/char" in out and "best:" in out


def test_gpt_benchmark_rejects_bad_sizes(monkeypatch):
    bench = load("gpt_vs_lstm_vs_bigram", monkeypatch)
    for argv in (["--minutes", "0"], ["--layers", "0"]):
        with pytest.raises(SystemExit):
            bench.main(argv)


def test_diffusion_benchmark_runs_small(monkeypatch, capsys, runs_dir):
    bench = load("diffusion_samplers", monkeypatch)
    tiny = "--epochs 1 --limit 256 --timesteps 20 --n 16 --ddim-steps 5 --seeds 0".split()
    with pytest.raises(SystemExit):  # another model than the notebook's needs its own run
        bench.main(tiny)
    with pytest.raises(SystemExit, match="full mode"):  # conftest sets quick mode
        bench.main([*tiny, "--run", "smoke"])
    monkeypatch.setenv("COURSE_QUICK", "0")
    results = bench.main([*tiny, "--run", "smoke"])
    assert results["run"] == "smoke" and np.isfinite(results["floor_fid"])
    assert len(results["samplers"]) == 4  # DDPM and three DDIM variants, 5 steps each
    assert results["samplers"][("DDPM", 20)]["seconds"] > 0
    for entry in results["samplers"].values():
        assert len(entry["fids"]) == 1 and np.isfinite(entry["fids"]).all()
    assert (runs_dir / "full" / "smoke" / "benchmark_samples.npz").exists()
    assert "not checked: no sampler ran 50 steps" in capsys.readouterr().out


def test_restoration_benchmark_runs_small(monkeypatch, capsys):
    bench = load("restoration", monkeypatch)
    results = bench.main(
        ["--sr-seconds", "1", "--inpaint-seconds", "1", "--p2p-seconds", "1", "--n-train", "64"]
        + ["--sr3-seconds", "1", "--diffusion-seconds", "1", "--diffusion-steps", "2"]
        + ["--n-fashion", "64", "--n-test", "8", "--scales", "3"]
    )
    out = capsys.readouterr().out
    row = results["super_resolution"][3]
    for method in ("bicubic", "espcn", "edsr"):
        psnr, ssim = row[method]
        assert math.isfinite(psnr) and 0 < ssim <= 1
    assert "target (best network >= +1.0 dB over bicubic at x3)" in out
    for task in ("fashion-mnist", "photo patches"):
        assert math.isfinite(results["inpainting"][task]["biharmonic"])
        assert math.isfinite(results["inpainting"][task]["opencv_telea"])
        assert math.isfinite(results["inpainting"][task]["network"])
    assert "PSNR in the hole" in out
    for method in ("bicubic", "sr3"):
        row = results["sr3"][method]
        assert math.isfinite(row["psnr"]) and math.isfinite(row["fid"])
        assert 0 <= row["agreement"] <= 1
    assert "SR3 x4 Fashion-MNIST, sr3" in out
    p2p = results["pix2pix"]
    assert math.isfinite(p2p["l1"]) and math.isfinite(p2p["fid"]) and 0 <= p2p["agreement"] <= 1
    for kind in ("holes", "half"):
        for method in ("biharmonic", "diffusion"):
            row = results["diffusion_inpainting"][kind][method]
            assert math.isfinite(row["psnr"]) and 0 <= row["agreement"] <= 1
    assert "half masks: class agreement" in out


def test_half_masks_hide_the_lower_or_the_right_half(monkeypatch):
    masks = load("restoration", monkeypatch).half_masks(4, 28)
    assert masks.shape == (4, 28, 28, 1) and set(np.unique(masks)) == {0.0, 1.0}
    assert masks.mean() == 0.5
    assert masks[0, 14:].min() == 1 and masks[0, :14].max() == 0  # lower half
    assert masks[1, :, 14:].min() == 1 and masks[1, :, :14].max() == 0  # right half


def test_style_benchmark_runs_small(monkeypatch, capsys):
    bench = load("bench_style", monkeypatch)
    results = bench.main(
        ["--size", "16", "--steps", "2", "--fast-seconds", "1", "--n-train", "8", "--patch", "16"]
        + ["--widths", "4,4,8,8,8", "--width", "4", "--adain-seconds", "1"]
    )
    out = capsys.readouterr().out
    assert results["adain"]["steps"] >= 1 and results["adain"]["ms"] > 0
    assert results["adain"]["held_out"] == results["style"] and "AdaIN (unseen)" in out
    for key in ("content photo", "colour histogram", "gatys", "fast", "adain"):
        assert math.isfinite(results[key]["style"]) and math.isfinite(results[key]["content"])
    assert results["content photo"]["content"] == pytest.approx(0.0, abs=1e-6)
    assert results["fast"]["ms"] > 0 and results["gatys"]["ms"] > 0
    assert "target (fast within 1.5x of Gatys' style loss" in out and "features: " in out


def test_video_benchmark_runs_small(monkeypatch):
    from course_lib.models import video

    bench = load("bench_video", monkeypatch)
    results = bench.main(
        ["--seconds", "2", "--n-train", "64", "--n-test", "8", "--v2v-seconds", "1"]
        + ["--v2v-train", "16", "--v2v-weights", f"0,{video.V2V_TEMPORAL_WEIGHT}"]
    )
    assert results["training"]["steps"] >= 1
    found = results["vid2vid"]
    assert set(found) == {0.0, video.V2V_TEMPORAL_WEIGHT}
    for row in found.values():
        assert row["steps"] >= 1 and math.isfinite(row["psnr"]) and row["flicker"] >= 0
    ratio = found[video.V2V_TEMPORAL_WEIGHT]["flicker"] / found[0.0]["flicker"]
    assert results["vid2vid_ratio"] == ratio
    for name in ("model", "copy last frame", "linear extrapolation"):
        assert set(results["psnr"][name]) == {1, 5, 10}
        assert all(math.isfinite(v) for v in results["psnr"][name].values())
    assert set(results["beats_baselines"]) == {1, 5, 10}


def test_music_benchmark_runs_small(monkeypatch, capsys):
    bench = load("bench_music", monkeypatch)
    results = bench.main(
        "--minutes 0.03 --chorales 11 --context 32 --val-windows 8 --d-model 32 --layers 1 "
        "--units 32 --order 3 --samples 1 --sample-steps 40".split()
    )
    for name in ("repeat the chord", "5-gram", "3-gram", "transformer", "LSTM"):
        assert 0 <= results[name]["accuracy"] <= 1 and math.isfinite(results[name]["nll"]), name
    for name in ("transformer", "LSTM"):
        assert results[name]["steps"] >= 1
    real = results["measures"]["held-out chorales"]
    assert real["in_key"] > 0.8 and "transformer" in results["measures"]
    out = capsys.readouterr().out
    assert "non-HOLD" in out and "over the best baseline" in out


def test_creative_benchmark_runs_small(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_QUICK", "1")
    bench = load("creative", monkeypatch)
    results = bench.main("--n 1 --steps 2 --source gan --classifier keywords".split())
    assert set(results["stages"]) == {"classify", "concept", "enhance", "refine", "total"}
    assert all(math.isfinite(v) and v >= 0 for v in results["stages"].values())
    assert results["slowest"] >= results["stages"]["concept"]
    out = capsys.readouterr().out
    assert "seconds per artwork" in out and "target (at most 30 s per artwork)" in out


def test_projects_benchmark_runs_small(monkeypatch, capsys):
    bench = load("projects", monkeypatch)
    results = bench.main(
        "--models tiny --repeats 0 --per-model 2 --text-length 6 --music-steps 4".split()
    )
    assert set(results) == {"image generator", "art suite", "assistant"}
    assert all(0 < seconds < 60 for seconds in results.values())
    assert "s per artwork" in capsys.readouterr().out


def test_setup_cost_times_each_setup_step_of_a_fresh_clone(monkeypatch, tmp_path, capsys):
    """A stand-in repository whose ./course writes known sizes: the benchmark clones it,
    runs both steps with no pip cache and an empty data folder, and reports the sizes."""
    import subprocess

    setup_cost = load("setup_cost", monkeypatch)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "course").write_text(
        "#!/usr/bin/env bash\nset -e\n"
        'test "$PIP_NO_CACHE_DIR" = 1\n'
        'mkdir -p .venv "$COURSE_DATA_DIR"\n'
        "head -c 2097152 /dev/zero > .venv/base\n"
        'head -c 1048576 /dev/zero > "$COURSE_DATA_DIR/data"\n'
        'if [ "${2:-}" = --with ]; then head -c 3145728 /dev/zero > .venv/torch; fi\n'
    )
    (repo / "course").chmod(0o755)
    for cmd in (["init", "-q"], ["add", "course"], ["commit", "-qm", "stand-in"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *cmd], cwd=repo, check=True
        )
    rows = setup_cost.main(["--repo", str(repo)])
    assert [r["step"] for r in rows] == ["./course setup", "./course setup --with torch"]
    assert [r["venv_mb"] for r in rows] == [2, 5]
    assert all(r["data_mb"] == 1 and r["seconds"] >= 0 for r in rows)
    assert "./course setup --with torch" in capsys.readouterr().out
    assert len(setup_cost.main(["--repo", str(repo), "--no-torch"])) == 1
