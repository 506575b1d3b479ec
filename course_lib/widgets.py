"""Interactive explorers for notebooks, with a static figure where no front end runs.

:class:`LatentExplorer` puts one slider on each latent dimension of a generative model
(and a class menu for a conditional one): move a slider and the decoded image is drawn
again at once. :class:`WipeCompare` (chapter 05) wipes from one picture to another with
a slider (bicubic against a super-resolution network). Widgets need a live front end (JupyterLab, Notebook 7, VS Code). Where
nothing would show them (a test run, ``nbconvert``, a notebook viewer), :meth:`show`
draws a static figure instead: the same dimensions, each swept from low to high.

``COURSE_WIDGETS=live`` or ``COURSE_WIDGETS=static`` overrides the automatic choice.
"""

from __future__ import annotations

import io
import os

import numpy as np

from course_lib.conventions import as_int, as_number, as_positive_int

LIVE, STATIC = "live", "static"


def display_mode() -> str:
    """``"live"`` when widgets can be seen, ``"static"`` otherwise.

    Live needs ipywidgets and a Jupyter kernel that is not running headless under a
    test runner (pytest sets ``PYTEST_CURRENT_TEST``, which the kernels it starts
    inherit). ``$COURSE_WIDGETS`` (``live`` or ``static``) overrides the guess; set it to
    ``static`` for ``jupyter nbconvert --execute``.
    """
    forced = os.environ.get("COURSE_WIDGETS", "").strip().lower()
    if forced in (LIVE, STATIC):
        return forced
    if forced:
        raise ValueError(f"COURSE_WIDGETS must be 'live' or 'static'; got {forced!r}")
    if "PYTEST_CURRENT_TEST" in os.environ:
        return STATIC
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return STATIC
    shell = get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return STATIC
    return LIVE


def _png(image: np.ndarray, zoom: int) -> bytes:
    """A grey image in [0, 1] as PNG bytes, each pixel drawn as a zoom x zoom block."""
    import matplotlib.pyplot as plt

    big = np.kron(np.clip(image, 0, 1), np.ones((zoom, zoom)))
    buffer = io.BytesIO()
    plt.imsave(buffer, big, cmap="gray", vmin=0, vmax=1, format="png")
    return buffer.getvalue()


def _show(explorer, mode: str, fallback: str):
    """Display ``explorer.widget()`` live, or draw ``explorer.static_figure()`` and say so
    (``fallback`` says what the figure shows). Returns what was shown."""
    if mode not in ("auto", LIVE, STATIC):
        raise ValueError(f"mode must be 'auto', 'live' or 'static'; got {mode!r}")
    mode = display_mode() if mode == "auto" else mode
    if mode == LIVE:
        from IPython.display import display

        shown = explorer.widget()
        display(shown)
        return shown
    import matplotlib.pyplot as plt

    fig = explorer.static_figure()
    print(f"No live widget front end here: {fallback}.")
    plt.show()
    return fig


class LatentExplorer:
    """Sliders over a latent space, redrawing the decoded image as they move.

    Args:
        decode: ``decode(codes)`` -> images (n, 28, 28[, 1]) in [0, 1], codes (n, latent_dim);
            with ``classes``, ``decode(codes, labels)``.
        latent_dim: length of a code.
        dims: the dimensions that get a slider (default: the first eight).
        span: sliders run from -span to +span (the prior N(0, 1) lives within about ±3).
        start: the code the sliders start at (default: all zeros, the prior's centre).
        classes: class names, for a conditional model: adds a class menu.
    """

    def __init__(
        self,
        decode,
        latent_dim: int,
        *,
        dims=None,
        span: float = 3.0,
        start=None,
        classes=None,
        zoom: int = 8,
    ):
        if not callable(decode):
            raise TypeError("decode must be a function codes -> images")
        latent_dim = as_positive_int(latent_dim, "latent_dim")
        dims = list(range(min(latent_dim, 8))) if dims is None else [int(d) for d in dims]
        if not dims or any(not 0 <= d < latent_dim for d in dims) or len(set(dims)) < len(dims):
            raise ValueError(f"dims must be distinct dimensions in 0..{latent_dim - 1}; got {dims}")
        span = as_number(span, "span", low=0.0, low_open=True)
        zoom = as_positive_int(zoom, "zoom")
        start = np.zeros(latent_dim, np.float32) if start is None else np.asarray(start, np.float32)
        if start.shape != (latent_dim,):
            raise ValueError(f"start must be one code of shape ({latent_dim},); got {start.shape}")
        if classes is not None and len(classes) < 1:
            raise ValueError("classes must be a non-empty list of names, or None")
        self.decode, self.latent_dim, self.dims = decode, latent_dim, dims
        self.span, self.zoom = float(span), int(zoom)
        self.code = start.copy()
        self.classes = list(classes) if classes is not None else None
        self.label = 0
        self._image_widget = None

    # -- the model's side -------------------------------------------------------------
    def _decode(self, codes, labels=None) -> np.ndarray:
        codes = np.asarray(codes, np.float32)
        if self.classes is None:
            images = self.decode(codes)
        else:
            labels = np.full(len(codes), self.label) if labels is None else labels
            images = self.decode(codes, np.asarray(labels))
        images = np.asarray(images, np.float32)
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3 or len(images) != len(codes):
            raise ValueError(
                f"decode must return one image per code, shape (n, h, w[, 1]); got {images.shape}"
            )
        return images

    def image(self) -> np.ndarray:
        """The image (h, w) decoded from the current code (and class)."""
        return self._decode(self.code[None])[0]

    def set(self, dim: int, value: float) -> np.ndarray:
        """Move dimension ``dim`` to ``value`` (as its slider would) and return the new image."""
        if dim not in self.dims:
            raise ValueError(f"dimension {dim} has no slider; the sliders are {self.dims}")
        self.code[dim] = float(value)
        return self._redraw()

    def set_class(self, label: int) -> np.ndarray:
        """Pick the class to draw (conditional models) and return the new image."""
        if self.classes is None:
            raise ValueError(
                "this explorer has no classes (pass classes=... for a conditional model)"
            )
        if not 0 <= int(label) < len(self.classes):
            raise ValueError(f"label must be in 0..{len(self.classes) - 1}; got {label!r}")
        self.label = int(label)
        return self._redraw()

    def _redraw(self) -> np.ndarray:
        image = self.image()
        if self._image_widget is not None:
            self._image_widget.value = _png(image, self.zoom)
        return image

    # -- the two ways to show it --------------------------------------------------------
    def widget(self):
        """The live explorer: a slider per dimension (and a class menu), and the image."""
        import ipywidgets as w

        self._image_widget = w.Image(value=_png(self.image(), self.zoom), format="png")
        controls = []
        if self.classes is not None:
            menu = w.Dropdown(
                options=[(name, i) for i, name in enumerate(self.classes)],
                value=self.label,
                description="class",
            )
            menu.observe(lambda change: self.set_class(change["new"]), names="value")
            controls.append(menu)
        for d in self.dims:
            slider = w.FloatSlider(
                value=float(self.code[d]),
                min=-self.span,
                max=self.span,
                step=self.span / 30,
                description=f"z[{d}]",
                continuous_update=True,
                readout_format=".2f",
            )
            slider.observe(lambda change, d=d: self.set(d, change["new"]), names="value")
            controls.append(slider)
        return w.HBox([w.VBox(controls), self._image_widget])

    def static_figure(self, steps: int = 7):
        """The fallback: one row per slider, that dimension swept from -span to +span.

        Every other dimension stays at the current code, so each row shows what one
        slider does. Returns the matplotlib figure.
        """
        from course_lib import viz

        steps = as_int(steps, "steps", minimum=2)
        values = np.linspace(-self.span, self.span, steps, dtype=np.float32)
        codes = np.tile(self.code, (len(self.dims), steps, 1))
        for row, d in enumerate(self.dims):
            codes[row, :, d] = values
        images = self._decode(codes.reshape(-1, self.latent_dim))
        title = f"what each slider does: left = -{self.span:.1f}, right = +{self.span:.1f}"
        if self.classes is not None:
            title += f" · class: {self.classes[self.label]}"
        return viz.image_grid(
            images,
            steps,
            row_labels=[f"z[{d}]" for d in self.dims],
            title=title,
            value_range=(0, 1),
            scale=0.7,
        )

    def show(self, mode: str = "auto"):
        """Display the live explorer, or the static figure where widgets cannot be seen.

        ``mode`` is ``"auto"`` (see :func:`display_mode`), ``"live"`` or ``"static"``.
        Returns what was shown: the widget, or the matplotlib figure.
        """
        return _show(self, mode, "showing a static sweep of each slider instead")


class WipeCompare:
    """A slider that wipes from one picture to another (bicubic | network, say).

    Left of the slider's position the first image shows, right of it the second, so an
    edge can be followed across the border. Images are one-channel ``(h, w)`` or
    ``(h, w, 1)`` in ``value_range``. :meth:`show` falls back to a static figure (the two
    images and the wipe at half way) where no widget front end runs.
    """

    def __init__(self, first, second, labels=("before", "after"), *, value_range=(-1, 1), zoom=4):
        from course_lib.conventions import value_range_pair

        a, b = (np.asarray(v, np.float32).squeeze() for v in (first, second))
        if a.ndim != 2 or a.shape != b.shape:
            raise ValueError(
                f"two one-channel images of the same shape are needed; got {a.shape}, {b.shape}"
            )
        low, high = value_range_pair(value_range)
        self.first, self.second = ((v - low) / (high - low) for v in (a, b))
        self.labels, self.zoom = tuple(labels), as_positive_int(zoom, "zoom")
        self.position = a.shape[1] // 2

    def image(self, position: int | None = None) -> np.ndarray:
        """The wiped picture in [0, 1]: columns left of ``position`` from the first image."""
        width = self.first.shape[1]
        position = self.position if position is None else as_int(position, "position", minimum=0)
        if position > width:
            raise ValueError(f"position must be between 0 and {width}; got {position}")
        out = self.second.copy()
        out[:, :position] = self.first[:, :position]
        return out

    def widget(self):
        import ipywidgets as w

        picture = w.Image(value=_png(self.image(), self.zoom), format="png")
        slider = w.IntSlider(
            value=self.position,
            min=0,
            max=self.first.shape[1],
            description=f"{self.labels[0]} | {self.labels[1]}",
            style={"description_width": "initial"},
        )

        def move(change):
            self.position = change["new"]
            picture.value = _png(self.image(), self.zoom)

        slider.observe(move, names="value")
        return w.VBox([slider, picture])

    def static_figure(self):
        from course_lib import viz

        half = self.image(self.first.shape[1] // 2)
        return viz.image_grid(
            np.stack([self.first, half, self.second]),
            3,
            titles=[self.labels[0], "wipe at half way", self.labels[1]],
            value_range=(0, 1),
            scale=2.0,
        )

    def show(self, mode: str = "auto"):
        """The live slider, or the static figure where widgets cannot be seen."""
        return _show(self, mode, "showing the two pictures and a wipe at half way")


def _png_rgb(image: np.ndarray, zoom: int) -> bytes:
    """An RGB image in [0, 1] as PNG bytes, each pixel drawn as a zoom x zoom block."""
    import matplotlib.pyplot as plt

    big = np.repeat(np.repeat(np.clip(image, 0, 1), zoom, axis=0), zoom, axis=1)
    buffer = io.BytesIO()
    plt.imsave(buffer, big, format="png")
    return buffer.getvalue()


class ImageSlider:
    """A slider that steps through pictures made beforehand (chapter 08: a style weight,
    a blend between two styles). Images are RGB ``(h, w, 3)`` in [0, 1], one per label.
    :meth:`show` falls back to a static row of all of them where no widget front end runs.
    """

    def __init__(self, images, labels, *, description: str = "", zoom: int = 2):
        self.images = np.clip(np.asarray(images, np.float32), 0, 1)
        if self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise ValueError(f"images must be RGB (n, h, w, 3); got shape {self.images.shape}")
        self.labels = [str(label) for label in labels]
        if len(self.labels) != len(self.images):
            raise ValueError(
                f"one label per image: {len(self.images)} images, {len(self.labels)} labels"
            )
        self.description, self.zoom = description, as_positive_int(zoom, "zoom")

    def widget(self):
        import ipywidgets as w

        picture = w.Image(value=_png_rgb(self.images[0], self.zoom), format="png")
        caption = w.Label(self.labels[0])
        slider = w.IntSlider(value=0, min=0, max=len(self.images) - 1, description=self.description)

        def move(change):
            picture.value = _png_rgb(self.images[change["new"]], self.zoom)
            caption.value = self.labels[change["new"]]

        slider.observe(move, names="value")
        return w.VBox([slider, caption, picture])

    def static_figure(self):
        from course_lib import viz

        return viz.image_grid(self.images, len(self.images), titles=self.labels, value_range=(0, 1))

    def show(self, mode: str = "auto"):
        """The live slider, or the static row where widgets cannot be seen."""
        return _show(self, mode, f"showing every step of the slider ({self.description})")
