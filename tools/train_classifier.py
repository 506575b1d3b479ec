"""Train the classifier behind the course's FID/KID and save its weights.

    python tools/train_classifier.py [--epochs 5]

Writes course_lib/assets/fashion_classifier.weights.h5 (about 2 MB) and prints the test
accuracy. The repository ships the result, so learners never need to run this; it is
here so the file can be reproduced (same seed, same data: same accuracy to within
CPU-level rounding).
"""

from __future__ import annotations

import argparse
import json
import time

import keras
import numpy as np

from course_lib import seed_everything
from course_lib.data import load_fashion_mnist
from course_lib.metrics import ASSETS, CLASSIFIER_WEIGHTS, build_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    seed_everything(args.seed)
    x_train, y_train = load_fashion_mnist("train")
    x_test, y_test = load_fashion_mnist("test")
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.time()
    model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, validation_split=0.1, verbose=2)
    seconds = time.time() - start
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), 1) == y_test))
    ASSETS.mkdir(exist_ok=True)
    inference_copy = build_classifier()  # no optimizer: the file holds the weights alone
    inference_copy.set_weights(model.get_weights())
    inference_copy.save_weights(CLASSIFIER_WEIGHTS)
    info = {
        "test_accuracy": round(accuracy, 4),
        "epochs": args.epochs,
        "seed": args.seed,
        "train_seconds": round(seconds),
    }
    (ASSETS / "fashion_classifier.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"test accuracy {accuracy:.4f}; trained in {seconds:.0f} s; saved {CLASSIFIER_WEIGHTS}")


if __name__ == "__main__":
    main()
