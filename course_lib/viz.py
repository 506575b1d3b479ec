"""Plots every chapter reuses: image grids, rows of images with labels, training curves.

Each function returns the matplotlib ``Figure`` it drew, so a notebook shows it and a
callback or a test can save or close it.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from course_lib.conventions import as_images, as_positive_int, check_pixel_range, value_range_pair


def _as_image_batch(images) -> np.ndarray:
    """Validate a batch of images and return it as float (n, h, w) or (n, h, w, 3)."""
    if hasattr(images, "numpy"):
        images = images.numpy()
    if np.ndim(images) == 3:  # grey images without their channel axis
        images = np.asarray(images)[..., None]
    arr = as_images(images, shape=None)
    if arr.shape[-1] not in (1, 3):
        raise ValueError(
            "images must have shape (n, height, width), (n, height, width, 1) or "
            f"(n, height, width, 3); got {arr.shape}"
        )
    return arr[..., 0] if arr.shape[-1] == 1 else arr


def _to_unit_range(arr: np.ndarray, value_range) -> np.ndarray:
    """Rescale pixels to [0, 1]. A given range is checked: a model's samples may overshoot
    it a little (up to a quarter of its width; they are drawn clipped), but pixels in
    another range (0-255 called (0, 1), -1..1 called (0, 1)) are an error, not a
    washed-out picture."""
    if isinstance(value_range, str) and value_range == "auto":
        low = -1.0 if arr.min() < -1e-3 else 0.0
        high = 255.0 if arr.max() > 1.0 + 1e-3 else 1.0
    else:
        low, high = value_range_pair(value_range)
        check_pixel_range(arr, (low, high), slack=0.25)
    return np.clip((arr - low) / (high - low), 0.0, 1.0)


def tile_images(
    images, ncols: int | None = None, pad: int = 1, value_range="auto", row_gap: int | None = None
) -> np.ndarray:
    """Tile a batch of images into one mosaic array with values in [0, 1].

    ``value_range`` is the range the pixels come in: ``(0, 1)``, ``(-1, 1)``,
    ``(0, 255)`` or ``"auto"`` (guessed from the values). ``pad`` pixels of white
    separate the images (``row_gap`` between rows, if different).
    """
    arr = _to_unit_range(_as_image_batch(images), value_range)
    n, h, w = arr.shape[:3]
    ncols = math.ceil(math.sqrt(n)) if ncols is None else ncols
    ncols = as_positive_int(ncols, "ncols")
    nrows = math.ceil(n / ncols)
    gap = pad if row_gap is None else row_gap
    shape = (nrows * (h + gap) - gap, ncols * (w + pad) - pad) + arr.shape[3:]
    mosaic = np.ones(shape, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, ncols)
        mosaic[r * (h + gap) : r * (h + gap) + h, c * (w + pad) : c * (w + pad) + w] = arr[i]
    return mosaic


def image_grid(
    images,
    ncols: int | None = None,
    *,
    titles=None,
    row_labels=None,
    title: str | None = None,
    value_range="auto",
    scale: float = 0.9,
    cmap: str = "gray",
):
    """Draw a batch of images as one grid and return the figure.

    Args:
        images: array (n, h, w), (n, h, w, 1) or (n, h, w, 3).
        ncols: images per row (default: a square-ish grid).
        titles: optional list of n short captions, one above each image.
        row_labels: optional list of captions, one to the left of each row.
        title: a caption for the whole grid.
        value_range: the pixels' range, e.g. (0, 1) or (-1, 1); "auto" guesses.
        scale: inches per image.
    """
    arr = _as_image_batch(images)
    n, h, w = arr.shape[:3]
    ncols = math.ceil(math.sqrt(n)) if ncols is None else ncols
    gap = max(1, h // 3) if titles is not None else 1  # room for the captions
    mosaic = tile_images(arr, ncols, value_range=value_range, row_gap=gap)
    nrows = math.ceil(n / ncols)
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles has {len(titles)} entries; expected one per image ({n})")
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(f"row_labels has {len(row_labels)} entries; the grid has {nrows} rows")
    extra_w = 1.2 if row_labels is not None else 0.0
    extra_h = (0.25 * nrows if titles is not None else 0.0) + (0.4 if title else 0.0)
    fig, ax = plt.subplots(figsize=(scale * ncols + extra_w, scale * nrows + extra_h))
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if titles is not None:
        for i, text in enumerate(titles):
            r, c = divmod(i, ncols)
            ax.text(
                c * (w + 1) + w / 2,
                r * (h + gap) - 0.5,
                str(text),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    if row_labels is not None:
        ax.set_yticks([r * (h + gap) + h / 2 for r in range(nrows)])
        ax.set_yticklabels([str(label) for label in row_labels])
        ax.tick_params(axis="y", length=0)
    if title:
        ax.set_title(title, pad=14 if titles is not None else 6)
    fig.tight_layout()
    return fig


def compare_rows(
    rows: dict, ncols: int | None = None, *, title=None, value_range="auto", scale=0.9
):
    """Show several batches as labelled rows, e.g. ``{"real": x, "generated": g}``.

    Each batch gets ``ncols`` images (default: as many as the smallest batch has).
    """
    if not isinstance(rows, dict) or not rows:
        raise ValueError("rows must be a non-empty dict of {label: images}")
    batches = [_as_image_batch(v) for v in rows.values()]
    ncols = min(len(b) for b in batches) if ncols is None else ncols
    ncols = as_positive_int(ncols, "ncols")
    if any(len(b) < ncols for b in batches):
        raise ValueError(f"every row needs at least ncols={ncols} images")
    shapes = {b.shape[1:] for b in batches}
    if len(shapes) != 1:
        raise ValueError(f"all rows must hold images of one shape; got {sorted(shapes)}")
    stacked = np.concatenate([b[:ncols] for b in batches])
    return image_grid(
        stacked, ncols, row_labels=list(rows), title=title, value_range=value_range, scale=scale
    )


def plot_history(history, keys=None, *, title: str | None = None, xlabel: str = "epoch", ax=None):
    """Plot training curves from a Keras ``History`` or a dict of lists.

    ``val_*`` curves share their training curve's colour and are dashed. ``keys``
    picks which metrics to draw (default: all of them).
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("history must be a keras History or a non-empty dict of lists")
    keys = list(keys) if keys is not None else [k for k in logs if not k.startswith("val_")]
    missing = [k for k in keys if k not in logs]
    if missing:
        raise KeyError(f"history has no {missing}; it has {sorted(logs)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    for key in keys:
        values = np.asarray(logs[key], dtype=float)
        steps = np.arange(1, len(values) + 1)
        (line,) = ax.plot(steps, values, marker="o" if len(values) < 30 else None, label=key)
        if "val_" + key in logs:
            val = np.asarray(logs["val_" + key], dtype=float)
            ax.plot(
                np.arange(1, len(val) + 1),
                val,
                linestyle="--",
                color=line.get_color(),
                label="val_" + key,
            )
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def show_source(*objs):
    """Show the source code of library functions or classes in a notebook, one block each.

    The course's models live in ``course_lib`` so they can be tested; this puts their
    code in front of the learner, where the lesson walks through it. Give several in one
    call: Jupyter displays only a cell's last value, so two calls in one cell show one.
    """
    import inspect

    if not objs:
        raise TypeError("show_source expects at least one function, class or module")
    sources = []
    for obj in objs:
        try:
            sources.append(inspect.getsource(obj))
        except (TypeError, OSError) as err:
            raise TypeError(
                f"show_source expects a function, class or module; got {obj!r}"
            ) from err
    try:
        from IPython.display import Markdown
    except ImportError:  # plain Python: just return the text
        return "\n".join(sources)
    return Markdown("\n".join(f"```python\n{source}\n```" for source in sources))


def epoch_strip(frames, n_per_row: int = 8, *, value_range="auto", scale: float = 0.7):
    """One row per saved epoch, from :class:`course_lib.train.SampleGrid`'s ``frames``.

    With fixed noise, each column follows one sample as training goes.
    """
    if not frames:
        raise ValueError("frames is empty: train with a SampleGrid callback first")
    rows = {f"epoch {epoch}": images[:n_per_row] for epoch, images in frames}
    return compare_rows(rows, n_per_row, value_range=value_range, scale=scale)


def zoom_compare(images: dict, box, *, value_range="auto", title=None, scale: float = 2.2):
    """Before/after pictures side by side, each with a zoomed crop beneath it.

    Args:
        images: ``{label: one image}``, all the same shape (h, w) or (h, w, c).
        box: ``(top, left, size)``: the square the bottom row enlarges (drawn as a red
            frame on the top row), so fine detail (a sharp edge, a blurry one) shows.
    """
    if not isinstance(images, dict) or not images:
        raise ValueError("images must be a non-empty dict of {label: image}")
    batch = _as_image_batch(np.stack([np.asarray(v, np.float32) for v in images.values()]))
    top, left, size = (as_positive_int(v + 1, "box") - 1 for v in box)
    if size < 1 or top + size > batch.shape[1] or left + size > batch.shape[2]:
        raise ValueError(f"box {tuple(box)} does not fit in images of {batch.shape[1:3]}")
    shown = _to_unit_range(batch, value_range)
    fig, axes = plt.subplots(
        2, len(images), figsize=(scale * len(images), 2 * scale), squeeze=False
    )
    for k, (label, image) in enumerate(zip(images, shown)):
        picture = image[..., 0] if image.shape[-1] == 1 else image
        axes[0, k].imshow(picture, cmap="gray", vmin=0, vmax=1)
        axes[0, k].add_patch(
            plt.Rectangle((left - 0.5, top - 0.5), size, size, fill=False, edgecolor="red", lw=1.5)
        )
        axes[0, k].set_title(label, fontsize=9)
        crop = picture[top : top + size, left : left + size]
        axes[1, k].imshow(crop, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[1, 0].set_ylabel("zoomed", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
