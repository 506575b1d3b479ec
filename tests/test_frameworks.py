"""Chapter 11's helpers: optional packages, Keras backends in child processes, one
gradient step in JAX, TensorFlow and (when installed) PyTorch."""

import numpy as np
import pytest

from course_lib import frameworks

RNG = np.random.default_rng(3)
X = RNG.normal(size=(12, 3)).astype(np.float32)
Y = RNG.normal(size=(12, 1)).astype(np.float32)


def numeric_step(params, x, y, lr, eps=1e-3):
    """The step by central differences in float64: the reference the frameworks must meet."""
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    new = {}
    for k, v in p64.items():
        grad = np.zeros_like(v)
        for i in np.ndindex(v.shape):
            up, down = v.copy(), v.copy()
            up[i] += eps
            down[i] -= eps
            grad[i] = (
                frameworks.mlp_loss_numpy({**p64, k: up}, x, y)
                - frameworks.mlp_loss_numpy({**p64, k: down}, x, y)
            ) / (2 * eps)
        new[k] = v - lr * grad
    return new


@pytest.mark.parametrize("step", [frameworks.jax_sgd_step, frameworks.tf_sgd_step])
def test_gradient_step_matches_finite_differences(step):
    params = frameworks.mlp_params(seed=1)
    new, loss = step(params, X, Y, 0.5)
    assert loss == pytest.approx(frameworks.mlp_loss_numpy(params, X, Y), rel=1e-5)
    assert frameworks.max_difference(new, numeric_step(params, X, Y, 0.5)) < 1e-4
    assert frameworks.mlp_loss_numpy(new, X, Y) < loss  # a small step goes downhill
    assert all(isinstance(v, np.ndarray) for v in new.values())
    assert frameworks.max_difference(params, frameworks.mlp_params(seed=1)) == 0  # not changed


def test_jax_and_tensorflow_agree_and_torch_too_when_installed():
    params = frameworks.mlp_params(seed=2)
    jax_new, _ = frameworks.jax_sgd_step(params, X, Y, 0.1)
    tf_new, _ = frameworks.tf_sgd_step(params, X, Y, 0.1)
    assert frameworks.max_difference(jax_new, tf_new) < 1e-6
    if frameworks.missing("torch"):
        with pytest.raises(ModuleNotFoundError, match="--with torch"):
            frameworks.torch_sgd_step(params, X, Y, 0.1)
    else:
        torch_new, _ = frameworks.torch_sgd_step(params, X, Y, 0.1)
        assert frameworks.max_difference(jax_new, torch_new) < 1e-6


def test_step_rejects_bad_params():
    with pytest.raises(ValueError, match="w1, b1, w2 and b2"):
        frameworks.jax_sgd_step({"w": np.zeros(2)}, X, Y, 0.1)
    with pytest.raises(ValueError):
        frameworks.tf_sgd_step(frameworks.mlp_params(), X, Y, -1.0)
    with pytest.raises(ValueError, match="different parameters"):
        frameworks.max_difference({"a": 1}, {"b": 1})


def test_missing_says_why_in_one_line_and_is_empty_when_installed():
    assert frameworks.missing("numpy", "json") == ""
    why = frameworks.missing("torch_not_a_real_module_xyz")
    assert why.startswith("Not run:") and "\n" not in why
    assert "pip install torch_not_a_real_module_xyz" in why
    two = frameworks.missing("no_such_module_a", "no_such_module_b")
    assert "are not installed" in two


def test_optional_cell_fallback_runs_without_the_package(monkeypatch, capsys):
    """What a notebook cell that needs PyTorch does on a machine without it."""
    real = frameworks.importlib.util.find_spec
    monkeypatch.setattr(
        frameworks.importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("torch", "transformers") else real(name, *a),
    )
    if why := frameworks.missing("torch", "transformers"):
        print(why)
    else:  # pragma: no cover - the fallback is what this test is about
        raise AssertionError("the patched machine should lack torch")
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0 and "PyTorch, Hugging Face transformers" in out
    assert "./course setup --with torch" in out
    with pytest.raises(ModuleNotFoundError, match="PyTorch"):
        frameworks.torch_sgd_step(frameworks.mlp_params(), X, Y, 0.1)


def test_keras_backends_in_child_processes_and_numpy_inference(tmp_path):
    runs = frameworks.run_keras_backends(
        ["tensorflow", "jax"],
        steps=30,
        batch_size=32,
        weights_dir=tmp_path,
        numpy_from="tensorflow",
    )
    trained = {b: r for b, r in runs.items() if b != "numpy"}
    assert {r["backend"] for r in trained.values()} == {"tensorflow", "jax"}
    for r in trained.values():
        assert r["steps"] == 30 and r["steps_per_second"] > 0
        assert r["loss"] < np.log(3)  # 30 steps beat guessing among 3 classes
        assert r["parameters"] == runs["tensorflow"]["parameters"]
    assert (tmp_path / "jax.weights.h5").exists()
    # each child loads its own framework; the JAX one is kept from importing TensorFlow
    assert "tensorflow" in runs["tensorflow"]["frameworks"]
    assert "jax" in runs["jax"]["frameworks"] and "tensorflow" not in runs["jax"]["frameworks"]
    # weights trained under TensorFlow, run under NumPy (as soon as they existed): the same
    # logits; and the same again from a NumPy child started on its own
    want = np.array(runs["tensorflow"]["probe_logits"])
    alone = frameworks.run_keras_backend(
        "numpy", task="predict", load_weights=runs["tensorflow"]["weights"]
    )
    for numpy_run in (runs["numpy"], alone):
        assert numpy_run["backend"] == "numpy" and "tensorflow" not in numpy_run["frameworks"]
        assert "steps_per_second" not in numpy_run  # it only ran the model
        assert np.abs(np.array(numpy_run["probe_logits"]) - want).max() < 1e-4


def test_numpy_from_must_name_a_trained_backend_with_a_weights_dir(tmp_path):
    with pytest.raises(ValueError, match="numpy_from must name one of the backends"):
        frameworks.run_keras_backends(["jax"], numpy_from="tensorflow", weights_dir=tmp_path)
    with pytest.raises(ValueError, match="needs weights_dir"):
        frameworks.run_keras_backends(["jax"], numpy_from="jax")


def test_run_keras_backend_refuses_bad_requests_and_reports_a_failed_child(tmp_path):
    with pytest.raises(ValueError, match="backend must be one of"):
        frameworks.run_keras_backend("mxnet")
    with pytest.raises(ValueError, match="no gradients"):
        frameworks.run_keras_backend("numpy")
    with pytest.raises(RuntimeError, match="numpy child failed"):
        frameworks.run_keras_backend(
            "numpy", task="predict", load_weights=tmp_path / "none.weights.h5"
        )
