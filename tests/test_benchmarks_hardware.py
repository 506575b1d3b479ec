"""Smoke test of benchmarks/hardware.py (chapter 12) at a tiny size: it runs end to end and
reports every table it should. The figures are meaningless at this size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("benchmark_hardware", BENCHMARKS / "hardware.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hardware_benchmark_runs_small(monkeypatch, capsys):
    bench = load(monkeypatch)
    out = bench.main(
        "--models vae --memory-batches 8 --throughput-batches 8 16 --steps 2 --seconds 0.5 "
        "--policies float32 mixed_bfloat16".split()
    )
    assert list(out["memory"].batch_size) == [8]
    assert (out["memory"].peak_mb > 0).all()
    assert list(out["throughput"].batch_size) == [8, 16]
    assert out["chosen"] in (8, 16)
    assert list(out["precision"].policy) == ["float32", "mixed_bfloat16"]
    assert out["mirrored"]["MirroredStrategy"]["replicas"] == 2
    assert out["course"].chapter.iloc[-1] == "all"
    printed = capsys.readouterr().out
    assert "chosen batch size" in printed and "micro-benchmark" in printed


def test_hardware_benchmark_rejects_bad_sizes(monkeypatch):
    bench = load(monkeypatch)
    for argv in (["--steps", "0"], ["--seconds", "-1"], ["--models", "gpt"]):
        with pytest.raises(SystemExit):
            bench.main(argv)
