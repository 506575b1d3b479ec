"""Extract the sample photos of Debian's opencv-doc for chapter 05, and its painting
(Starry Night) for chapter 08 (setup runs this).

    python tools/fetch_opencv_photos.py

``apt-get download opencv-doc`` (no root needed) and ``dpkg-deb --fsys-tarfile``; only
the photos chapter 05 uses are kept, in ``$COURSE_DATA_DIR`` or the Keras cache. Silent
when they are there already. Without apt-get, or offline, it prints one line and exits
0 so setup goes on: the chapter then uses the photos of scikit-image, scikit-learn and
matplotlib alone. See :func:`course_lib.data.photos.fetch_opencv_photos`.
"""

from __future__ import annotations

from course_lib.data.photos import fetch_opencv_photos


def main() -> int:
    fetch_opencv_photos(say=lambda line: print(f"[course] {line}", flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
