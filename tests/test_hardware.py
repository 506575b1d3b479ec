"""Tests of chapter 12's library, course_lib/hardware.py: the machine report, memory on
paper and measured, throughput and the batch-size chooser, mixed precision, the
MirroredStrategy demo, the cost calculator and the course-time estimate."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import hardware
from course_lib.models.base import copy_network

CPUINFO_X86 = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse avx2 fma avx512f avx512_bf16 amx_tile amx_bf16 avx512_vnni

processor\t: 1
model name\t: second processor, ignored
flags\t\t: fpu
"""
CPUINFO_ARM = "processor\t: 0\nFeatures\t: fp asimd bf16\nCPU part\t: 0xd0c\n"


# -- 1 · this machine ------------------------------------------------------------------------


def test_parse_cpuinfo_reads_the_first_processor():
    info = hardware.parse_cpuinfo(CPUINFO_X86)
    assert info["model"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert {"avx2", "avx512f", "amx_bf16", "avx512_bf16"} <= info["flags"]
    assert "fpu" in info["flags"] and len(info["flags"]) == 9


def test_parse_cpuinfo_arm_and_empty():
    arm = hardware.parse_cpuinfo(CPUINFO_ARM)
    assert arm["model"] is None and arm["flags"] == {"fp", "asimd", "bf16"}
    assert hardware.parse_cpuinfo("") == {"model": None, "flags": set()}


def test_machine_report_describes_this_machine():
    report = hardware.machine_report()
    assert report["logical_cores"] >= report["usable_cores"] >= 1
    assert set(report["flags"]) == set(hardware.FLAGS_THAT_MATTER)
    assert report["tensorflow"].startswith("2.")
    assert report["memory_gb"] is None or report["memory_gb"] > 0.5
    table = hardware.machine_table(report)
    assert list(table.columns) == ["what", "this machine"]
    assert len(table) == 3 + len(hardware.FLAGS_THAT_MATTER) + 4


def test_machine_table_says_unknown_flags():
    report = hardware.machine_report()
    report["flags"] = dict.fromkeys(report["flags"])
    table = hardware.machine_table(report).set_index("what")["this machine"]
    assert (table[[f"flag {f}" for f in hardware.FLAGS_THAT_MATTER]] == "unknown").all()


# -- 2 · memory ------------------------------------------------------------------------------


def test_training_memory_formula():
    assert hardware.training_memory_bytes(1_000, 0) == 16_000
    assert hardware.training_memory_bytes(0, 1_000) == 4_000
    assert hardware.training_memory_bytes(10, 5, bytes_per_value=2) == 10 * 2 * 4 + 5 * 2
    assert hardware.training_memory_bytes(10, 0, copies=2) == 80  # SGD: weights + gradients


def test_activation_values_counts_every_layer_output():
    net = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3), keras.layers.Flatten()]
    )
    assert hardware.activation_values(net) == 2 * 26 * 26 * 8


def test_workload_estimate_grows_linearly_with_the_batch():
    small, big = (hardware.workload_estimate("vae", b) for b in (10, 20))
    assert small["params"] == big["params"] > 100_000
    fixed = small["params"] * 16
    assert big["estimate_bytes"] - fixed == pytest.approx(2 * (small["estimate_bytes"] - fixed))


def test_measured_memory_grows_with_the_batch_size():
    table = hardware.measure_step_memory("vae", [16, 512], steps=1)
    assert list(table.batch_size) == [16, 512]
    assert (table.before_mb > 100).all()  # TensorFlow alone holds hundreds of MB
    small, big = table.itertuples()
    assert big.training_mb > small.training_mb + 20
    # the growth from 16 to 512 agrees in size with the paper's (which counts fewer tensors)
    paper, measured = big.estimate_mb - small.estimate_mb, big.peak_mb - small.peak_mb
    assert paper / 2 < measured < paper * 5


def test_a_failing_or_slow_child_is_reported_with_its_error():
    failing = hardware._run_child("import sys; sys.exit('no memory today')")
    with pytest.raises(RuntimeError, match="(?s)the run failed .exit code 1.*no memory today"):
        hardware._child_result(failing, 60, "the run")
    slow = hardware._run_child("import time; time.sleep(30)")
    with pytest.raises(RuntimeError, match="longer than 0.5 s"):
        hardware._child_result(slow, 0.5, "the run")


def test_accumulated_step_equals_one_step_on_the_whole_batch():
    keras.utils.set_random_seed(0)
    net = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, "tanh"), keras.layers.Dense(1)]
    )
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    mse = keras.losses.MeanSquaredError()
    after = {}
    for micro in (1, 3, 12):
        twin = copy_network(net)
        loss = hardware.accumulated_step(twin, mse, keras.optimizers.SGD(0.5), x, y, micro)
        assert np.isfinite(loss)
        after[micro] = twin.get_weights()
    before = net.get_weights()
    assert not np.allclose(after[1][0], before[0])  # it trained
    for micro in (3, 12):
        for a, b in zip(after[1], after[micro]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- 3 · throughput --------------------------------------------------------------------------


def test_throughput_curve_measures_each_batch_size():
    curve = hardware.throughput_curve("vae", [8, 32], steps=2)
    assert list(curve.batch_size) == [8, 32]
    assert (curve.seconds_per_step > 0).all()
    np.testing.assert_allclose(curve.examples_per_second, curve.batch_size / curve.seconds_per_step)


@pytest.mark.parametrize(
    "sizes, speeds, share, chosen",
    [
        ([16, 32, 64, 128], [100, 180, 195, 200], 0.9, 32),
        ([16, 32, 64, 128], [100, 180, 195, 200], 1.0, 128),
        ([128, 16, 64, 32], [200, 100, 195, 180], 0.9, 32),  # any order
        ([8, 16], [50, 10], 0.9, 8),  # the best can be the smallest
        ([8, 16, 32], [10, 30, 20], 0.5, 16),
    ],
)
def test_choose_batch_size(sizes, speeds, share, chosen):
    assert hardware.choose_batch_size(sizes, speeds, share=share) == chosen


# -- 4 · mixed precision ---------------------------------------------------------------------


def test_precision_policy_is_restored_even_after_an_error():
    before = keras.mixed_precision.global_policy().name
    with hardware.precision_policy("mixed_bfloat16") as policy:
        assert policy.name == "mixed_bfloat16"
        assert keras.layers.Dense(2).dtype_policy.compute_dtype == "bfloat16"
    assert keras.mixed_precision.global_policy().name == before
    with pytest.raises(KeyError), hardware.precision_policy("mixed_float16"):
        raise KeyError("boom")
    assert keras.mixed_precision.global_policy().name == before


def test_time_precisions_times_each_policy_and_restores():
    table = hardware.time_precisions("vae", batch_size=16, steps=2, policies=POLICIES_TWO)
    assert list(table.policy) == list(POLICIES_TWO)
    assert table.loss_finite.all()
    assert table.speed_vs_float32.iloc[0] == pytest.approx(1.0)
    assert keras.mixed_precision.global_policy().name == "float32"


POLICIES_TWO = ("float32", "mixed_bfloat16")


# -- 5 · tf.distribute -----------------------------------------------------------------------


def test_mirrored_demo_runs_two_replicas_on_two_logical_cpus():
    out = hardware.mirrored_demo(batch_size=16, steps=2)
    assert len(out["devices"]) == 2 and all("CPU" in d for d in out["devices"])
    assert out["one device"]["replicas"] == 1
    assert out["MirroredStrategy"]["replicas"] == 2
    assert out["MirroredStrategy"]["seconds_per_step"] > 0


# -- 6 · money -------------------------------------------------------------------------------


def test_training_cost_formula():
    assert hardware.training_cost(3600, 2.0) == pytest.approx(2.0)
    assert hardware.training_cost(1800, 3.06) == pytest.approx(1.53)
    assert hardware.training_cost(10, 3.6) == pytest.approx(0.06)  # a minute is billed
    assert hardware.training_cost(10, 3.6, minimum_seconds=0) == pytest.approx(0.01)
    assert hardware.training_cost(0, 5.0, minimum_seconds=0) == 0


def test_cost_table_prices_every_run_on_every_offer():
    table = hardware.cost_table({"a": 3600, "b": 7200}, {"cheap": 1.0, "dear": 10.0})
    assert table.loc["b", "dear"] == pytest.approx(20.0)
    assert table.loc["a", "cheap"] == pytest.approx(1.0)
    assert table.shape == (2, 2)


def test_guide_prices_have_corrected_names_and_say_undated():
    prices = hardware.GUIDE_PRICES.set_index("guide's name")
    assert prices.loc["p3.xlarge", "instance"] == "p3.2xlarge"
    assert prices.loc["p4d.xlarge", "instance"] == "p4d.24xlarge"
    assert prices.loc["n1-standard-8-a100", "instance"].startswith("a2-")
    assert "undated" in hardware.GUIDE_PRICES_NOTE


# -- 7 · the course-time estimate ------------------------------------------------------------


def test_estimate_at_the_reference_speed_is_the_measured_chapter_times():
    table = hardware.estimate_course_time(hardware.REFERENCE_STEPS_PER_SECOND).set_index("chapter")
    for chapter, entry in hardware.CHAPTER_TIMES.items():
        assert table.loc[chapter, "estimate_s"] == pytest.approx(entry["seconds"])
    total = sum(entry["seconds"] for entry in hardware.CHAPTER_TIMES.values())
    assert table.loc["all", "estimate_s"] == pytest.approx(total)


def test_estimate_scales_with_the_machines_speed():
    times = {"01": {"seconds": 100, "models": "x"}, "02": {"seconds": 50, "models": "y"}}
    half = hardware.estimate_course_time(5.0, reference=10.0, chapter_times=times)
    assert list(half.estimate_s) == pytest.approx([200, 100, 300])
    assert list(half.measured_s) == [100, 50, 150]


def test_chapter_times_match_the_readme_figures():
    """The reference times are the README's measured training times, chapter by chapter."""
    assert hardware.CHAPTER_TIMES["01"]["seconds"] == 318 + 6 * 48 + 228 + 75 + 109
    assert hardware.CHAPTER_TIMES["03"]["seconds"] == 716
    assert hardware.REFERENCE_STEPS_PER_SECOND == pytest.approx(4680 / 318)


def test_micro_benchmark_counts_steps():
    out = hardware.micro_benchmark(0.5, batch_size=16)
    assert out["steps"] >= 4 and out["steps"] % 4 == 0
    assert out["steps_per_second"] == pytest.approx(out["steps"] / out["seconds"])


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: hardware.parse_cpuinfo(None), TypeError, "text of /proc/cpuinfo"),
        (lambda: hardware.machine_table({"cpu": 1}), TypeError, "machine_report"),
        (lambda: hardware.training_memory_bytes(-1, 0), ValueError, "n_params"),
        (lambda: hardware.training_memory_bytes("10", 0), ValueError, "n_params"),
        (lambda: hardware.training_memory_bytes(1, float("nan")), ValueError, "activations"),
        (lambda: hardware.training_memory_bytes(1, 1, copies=0), ValueError, "copies"),
        (lambda: hardware.activation_values("net"), TypeError, "keras.Model"),
        (lambda: hardware.workload_estimate("gpt", 8), ValueError, "workload must be one of"),
        (lambda: hardware.workload_estimate("vae", 0), ValueError, "batch_size"),
        (lambda: hardware.measure_step_memory("vae", 16), TypeError, "list of positive ints"),
        (lambda: hardware.measure_step_memory("vae", [16, 16]), ValueError, "without repeats"),
        (lambda: hardware.measure_step_memory("vae", [1.5]), ValueError, "each batch size"),
        (lambda: hardware.choose_batch_size([8, 16], [1.0]), ValueError, "2 batch sizes but 1"),
        (lambda: hardware.choose_batch_size([8], [0.0]), ValueError, "each throughput"),
        (lambda: hardware.choose_batch_size([8], [1.0], share=1.5), ValueError, "share"),
        (lambda: hardware.choose_batch_size([], []), ValueError, "non-empty"),
        (lambda: hardware.precision_policy("float16").__enter__(), ValueError, "policy"),
        (lambda: hardware.time_precisions("vae", policies="float32"), ValueError, "policies"),
        (lambda: hardware.mirrored_demo(batch_size=7), ValueError, "even"),
        (lambda: hardware.training_cost(-5, 1.0), ValueError, "seconds"),
        (lambda: hardware.training_cost(5, "3"), ValueError, "usd_per_hour"),
        (lambda: hardware.cost_table({}, {"a": 1.0}), TypeError, "times"),
        (lambda: hardware.cost_table({"a": 1.0}, [1.0]), TypeError, "prices"),
        (lambda: hardware.estimate_course_time(0), ValueError, "steps_per_second"),
        (lambda: hardware.estimate_course_time(1.0, chapter_times=[]), TypeError, "chapter_times"),
        (lambda: hardware.micro_benchmark(0), ValueError, "seconds"),
        (lambda: hardware.gpu_memory_mb(0), TypeError, "GPU:0"),
        (lambda: hardware.train_steps(None, np.zeros((4, 2)), 4, 2), ValueError, "need 8"),
        (
            lambda: hardware.accumulated_step(None, None, None, np.zeros((6, 2)), np.zeros(6), 4),
            ValueError,
            "multiple of micro_batches=4",
        ),
    ],
)
def test_bad_input_says_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_gpu_memory_is_none_without_a_gpu():
    if hardware.machine_report()["gpus"]:
        pytest.skip("this machine has a GPU")
    assert hardware.gpu_memory_mb() is None
