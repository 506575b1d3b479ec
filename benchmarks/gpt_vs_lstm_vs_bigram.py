"""Mini-GPT vs. LSTM vs. bigram counts: validation bits per character, same time budget.

    python benchmarks/gpt_vs_lstm_vs_bigram.py              # 5 minutes per neural model
    python benchmarks/gpt_vs_lstm_vs_bigram.py --minutes 1  # a quicker look

Each neural model trains for the same wall-clock budget (evaluation not counted), on the
same characters, and all three are scored on the same validation windows. The bigram
model only counts pairs of characters: it needs a fraction of a second and more time
would not help it. On a shared machine, run it alone (e.g. under ``flock``) so the
budgets buy the same amount of computer.
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from course_lib import data, seed_everything  # noqa: E402
from course_lib.models import gpt  # noqa: E402
from course_lib.tokenizers import CharTokenizer  # noqa: E402
from course_lib.train import TimeBudget  # noqa: E402

CONTEXT = 128
COOLDOWN = 0.3  # fraction of the budget over which the learning rate falls to 0


def train_for(model, ids, seconds: float, settings: dict) -> tuple[int, float]:
    """Train ``model`` until ``seconds`` have passed; return (steps, seconds used).

    The learning rate warms up over the first steps, stays at its peak, and falls to 0
    over the last ``COOLDOWN`` of the time: every model ends its budget annealed.
    """
    gpt.compile_language_model(model, settings["lr"])
    budget = TimeBudget(seconds, warmup_steps=settings["warmup"], cooldown=COOLDOWN)
    stream = gpt.lm_dataset(ids, CONTEXT, settings["batch"], seed=0)
    model.fit(stream, steps_per_epoch=10**7, epochs=1, callbacks=[budget], verbose=0)
    return budget.steps, budget.elapsed


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="budget per neural model")
    parser.add_argument("--source", default="auto", choices=data.TEXT_SOURCES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error("--minutes must be > 0")
    seconds = args.minutes * 60

    seed_everything(args.seed)
    corpus = data.load_text_corpus(args.source)
    tokenizer = CharTokenizer.fit(corpus.text)
    train_ids = tokenizer.encode(corpus.train)
    val_x, val_y = gpt.validation_windows(tokenizer.encode(corpus.validation), CONTEXT)
    print(
        f"{tokenizer.vocab_size} characters; scored on {val_y.size:,} validation characters "
        f"({len(val_y)} windows of {CONTEXT}); budget {args.minutes:g} min per neural model; "
        f"{os.cpu_count()} CPU cores; Keras {keras.__version__}"
    )

    results = {}
    start = time.perf_counter()
    bigram = gpt.BigramModel(tokenizer.vocab_size).fit(train_ids)
    results["bigram (counts)"] = (
        gpt.evaluate_bpc(bigram, val_x, val_y),
        0,
        0,
        time.perf_counter() - start,
        0,
    )

    # Settings picked by short trial runs on a 2-core CPU (90 s each): the GPT learns
    # fastest with small batches and a warmed-up 2e-3; the LSTM with batches of 32, 2e-3.
    models = {
        "mini-GPT": (
            lambda: gpt.GPT(tokenizer.vocab_size, CONTEXT, d_model=128, num_heads=4, num_layers=4),
            {"lr": 2e-3, "warmup": 30, "batch": 16},
        ),
        "LSTM": (
            lambda: gpt.CharLSTM(tokenizer.vocab_size, CONTEXT, units=256),
            {"lr": 2e-3, "warmup": 0, "batch": 32},
        ),
    }
    for name, (build, settings) in models.items():
        seed_everything(args.seed)
        model = build()
        steps, used = train_for(model, train_ids, seconds, settings)
        bits = gpt.evaluate_bpc(model, val_x, val_y)
        seen = steps * settings["batch"] * CONTEXT
        results[name] = (bits, steps, seen, used, model.count_params())
        print(
            f"  {name}: {steps} steps in {used:.0f} s -> {bits:.3f} bits per character", flush=True
        )

    print(
        f"\nuniform guess over {tokenizer.vocab_size} characters: "
        f"{math.log2(tokenizer.vocab_size):.3f} bits per character"
    )
    print(
        f"{'model':18s} {'params':>9s} {'train s':>8s} {'steps':>7s} {'chars seen':>11s} {'val bits/char':>14s}"
    )
    for name, (bits, steps, seen, used, params) in results.items():
        print(f"{name:18s} {params:9,d} {used:8.1f} {steps:7d} {seen:11,d} {bits:14.3f}")
    best = min(results, key=lambda k: results[k][0])
    print(f"best: {best}")
    return {name: r[0] for name, r in results.items()}


if __name__ == "__main__":
    main()
