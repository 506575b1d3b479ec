"""Style transfer (chapter 08): Gatys' optimisation, fast feed-forward networks, blending.

Every image here is float32 RGB in [0, 1], ``(height, width, 3)`` or a batch of them.
The pieces, in the chapter's order:

**Features** (what "style" and "content" are measured on).

* :func:`style_features`: a VGG19-shaped network cut at the layers the losses read.
  With ImageNet's VGG19 weights already in the Keras cache (:func:`vgg19_weights_path`)
  it uses them; otherwise it falls back, honestly, to the same shape with random
  weights (random networks carry texture statistics too: He, Wang & Hopcroft 2016;
  Ustyuzhaninov et al. 2016). One printed line says which.

**The losses** (plain functions the notebook shows and the exercises check).

* :func:`gram_matrix`: which channels fire together, wherever they fire;
* :func:`style_loss`: Gram matrices compared layer by layer (each layer's term divided
  by the target Gram's mean square, so no layer dominates and the number does not
  depend on the network's scale); :func:`content_loss`: feature maps compared where
  they are; :func:`total_variation`: how much neighbouring pixels differ.

**Gatys' optimisation**: :class:`GatysTransfer` keeps the picture as a ``tf.Variable``,
takes compiled Adam steps on the weighted losses, and puts the pixels back into [0, 1]
with ``assign`` after each step (:meth:`GatysTransfer.step`).

**Fast feed-forward networks** (Johnson et al. 2016): :class:`InstanceNormalization`
(a layer), :func:`build_stylizer` (a small encoder, residual blocks, a decoder) and
:class:`FastStyle`, trained on photo patches for one style; :func:`course_stylizer` is
the preset the notebook and the benchmark share.

**Several styles in one network** (Dumoulin et al. 2017): :class:`ConditionalInstanceNormalization`
keeps one scale and shift per style; :func:`style_mix` makes the style vector that
blends them, so blending happens in *style space*. :func:`pixel_average` is the guide's
averaging of finished pictures, kept to compare.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_lib.conventions import as_images, as_int, as_number, as_positive_int
from course_lib.models.base import CourseModel

VGG19_BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYER = "block4_conv2"
VGG19_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)  # what vgg19.preprocess_input subtracts

# =============================================================================== features


def vgg19_weights_path() -> Path:
    """Where Keras keeps VGG19's ImageNet weights once downloaded:
    ``$KERAS_HOME/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home) / "models" / VGG19_WEIGHTS_FILE


class VGGPreprocess(layers.Layer):
    """[0, 1] RGB to what VGG19 was trained on: 0-255 BGR minus ImageNet's mean colour
    (what ``keras.applications.vgg19.preprocess_input`` does)."""

    def call(self, x):
        bgr = x[..., ::-1] * 255.0
        return bgr - tf.constant(IMAGENET_MEAN_BGR, tf.float32)


def _layer_names(last: str) -> list[str]:
    names = []
    for b, (_, convs) in enumerate(VGG19_BLOCKS, start=1):
        for k in range(1, convs + 1):
            names.append(f"block{b}_conv{k}")
    if last not in names:
        raise ValueError(f"{last!r} is not a VGG19 convolution; expected one of {', '.join(names)}")
    return names[: names.index(last) + 1]


def build_vgg(widths=None, *, last_layer: str = "block5_conv1", seed: int = 0, name="vgg19"):
    """VGG19's convolutions and poolings, named as Keras names them, up to ``last_layer``.

    ``widths`` gives each block's number of filters (VGG19's 64, 128, 256, 512, 512 by
    default); the weights are random (He-normal, ``seed``) until loaded. The input is an
    RGB image in [0, 1] of any size; :class:`VGGPreprocess` is the first layer.
    """
    widths = tuple(w for w, _ in VGG19_BLOCKS) if widths is None else tuple(widths)
    if len(widths) != 5:
        raise ValueError(f"widths must give 5 blocks' filter counts; got {widths!r}")
    wanted = _layer_names(last_layer)
    init = keras.initializers.HeNormal(seed=seed)
    inputs = keras.Input((None, None, 3), name="image")
    h = VGGPreprocess(name="preprocess")(inputs)
    for b, (_, convs) in enumerate(VGG19_BLOCKS, start=1):
        if b > 1:
            h = layers.MaxPooling2D(2, name=f"block{b - 1}_pool")(h)
        for k in range(1, convs + 1):
            layer_name = f"block{b}_conv{k}"
            h = layers.Conv2D(
                as_positive_int(widths[b - 1], "widths"),
                3,
                padding="same",
                activation="relu",
                kernel_initializer=init,
                name=layer_name,
            )(h)
            if layer_name == wanted[-1]:
                model = keras.Model(inputs, h, name=name)
                model.trainable = False
                return model
    raise AssertionError("unreachable")


def read_vgg_weights(path) -> dict[str, list[np.ndarray]]:
    """``{layer name: [kernel, bias]}`` from a Keras (HDF5) VGG19 weights file."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        for layer_name in group.attrs.get("layer_names", list(group.keys())):
            layer_name = layer_name.decode() if isinstance(layer_name, bytes) else layer_name
            g = group[layer_name]
            names = [
                n.decode() if isinstance(n, bytes) else n for n in g.attrs.get("weight_names", [])
            ]
            if names:
                out[layer_name] = [np.asarray(g[n]) for n in names]
    return out


class StyleFeatures:
    """Calls a VGG-shaped network and returns ``(style maps, content map)``.

    ``style_layers`` name the maps whose Gram matrices carry the style,
    ``content_layer`` the one map compared in place; ``source`` says where the weights
    came from (``"imagenet"`` or ``"random"``) and ``description`` says it in words.
    """

    def __init__(self, network, style_layers, content_layer, source: str, description: str):
        outputs = [network.get_layer(n).output for n in (*style_layers, content_layer)]
        self.model = keras.Model(network.input, outputs, name=f"{network.name}_features")
        self.style_layers, self.content_layer = tuple(style_layers), content_layer
        self.source, self.description = source, description

    def __call__(self, images):
        maps = self.model(images)
        return list(maps[:-1]), maps[-1]


def style_features(
    kind: str = "auto",
    *,
    style_layers=STYLE_LAYERS,
    content_layer: str = CONTENT_LAYER,
    widths=None,
    seed: int = 0,
    verbose: bool = True,
) -> StyleFeatures:
    """The features the losses are measured on, and one printed line saying which.

    Args:
        kind: ``"imagenet"`` (VGG19's ImageNet weights from the Keras cache, an error
            when they are not there), ``"random"`` (the same shape, random weights) or
            ``"auto"``: ImageNet when the file is there, else random. Nothing is
            downloaded.
        style_layers, content_layer: which VGG19 convolutions to read.
        widths: filters per block of the random network (VGG19's by default).
        seed: fixes the random weights.
    """
    if kind not in ("auto", "imagenet", "random"):
        raise ValueError(f"kind must be 'auto', 'imagenet' or 'random'; got {kind!r}")
    style_layers = tuple(style_layers)
    if not style_layers:
        raise ValueError("style_layers must name at least one VGG19 convolution")
    order = _layer_names("block5_conv4")
    for layer in (*style_layers, content_layer):
        _layer_names(layer)  # a clear error for an unknown name
    last = max((*style_layers, content_layer), key=order.index)
    path = vgg19_weights_path()
    if kind == "imagenet" and not path.is_file():
        raise FileNotFoundError(
            f"no VGG19 ImageNet weights at {path}; use kind='random' (or 'auto'), or put "
            f"{VGG19_WEIGHTS_FILE} there"
        )
    if kind != "random" and path.is_file():
        weights = read_vgg_weights(path)
        missing = [n for n in _layer_names(last) if n not in weights]
        if missing:
            raise ValueError(f"{path} has no weights for {', '.join(missing)}")
        found = [
            weights[f"block{b}_conv1"][0].shape[-1]
            for b in range(1, 6)
            if f"block{b}_conv1" in weights
        ]
        found += [w for w, _ in VGG19_BLOCKS][len(found) :]
        network = build_vgg(found, last_layer=last)
        for name in _layer_names(last):
            network.get_layer(name).set_weights(weights[name])
        source, line = "imagenet", f"features: VGG19 with ImageNet weights ({path})"
    else:
        network = build_vgg(widths, last_layer=last, seed=as_int(seed, "seed", minimum=0))
        source = "random"
        line = (
            f"features: a VGG19-shaped network with RANDOM weights (seed {seed}), since no "
            f"ImageNet weights are in the Keras cache ({path}); style transfers, less faithfully"
        )
    if verbose:
        print(line)
    return StyleFeatures(network, style_layers, content_layer, source, line)


# ================================================================================= losses


def _feature_maps(x, name: str):
    x = tf.convert_to_tensor(x, tf.float32)
    if x.shape.rank != 4:
        raise ValueError(
            f"{name} must be feature maps (batch, height, width, channels); got shape {x.shape}"
        )
    return x


def gram_matrix(features):
    """``(batch, h, w, c)`` maps -> ``(batch, c, c)``: entry (i, j) is the mean over the
    ``h * w`` positions of channel i times channel j."""
    f = _feature_maps(features, "features")
    positions = tf.cast(tf.shape(f)[1] * tf.shape(f)[2], tf.float32)
    return tf.einsum("bhwi,bhwj->bij", f, f) / positions


def style_loss(style_maps, target_grams, layer_weights=None):
    """Mean over the batch of the weighted sum, layer by layer, of
    ``mean((G - A)^2) / mean(A^2)``: G the Gram matrix of the image's maps, A the
    target's (shape ``(1 or batch, c, c)``). 0 when the Gram matrices match."""
    style_maps, target_grams = list(style_maps), list(target_grams)
    if not style_maps or len(style_maps) != len(target_grams):
        raise ValueError(
            f"style_loss needs one target Gram matrix per layer: got {len(style_maps)} maps "
            f"and {len(target_grams)} targets"
        )
    if layer_weights is None:
        layer_weights = [1.0 / len(style_maps)] * len(style_maps)
    if len(layer_weights) != len(style_maps):
        raise ValueError(
            f"layer_weights must have {len(style_maps)} entries; got {len(layer_weights)}"
        )
    total = 0.0
    for maps, target, weight in zip(style_maps, target_grams, layer_weights):
        gram = gram_matrix(maps)
        target = tf.convert_to_tensor(target, tf.float32)
        if target.shape.rank != 3 or target.shape[-1] != gram.shape[-1]:
            raise ValueError(
                f"a target Gram matrix must have shape (1 or batch, {gram.shape[-1]}, "
                f"{gram.shape[-1]}); got {target.shape}"
            )
        error = tf.reduce_mean(tf.square(gram - target), axis=[1, 2])
        scale = tf.reduce_mean(tf.square(target), axis=[1, 2]) + 1e-8
        total += weight * tf.reduce_mean(error / scale)
    return total


def content_loss(content_map, target_map):
    """``mean((F - P)^2) / mean(P^2)``: the maps compared where they are."""
    f = _feature_maps(content_map, "content_map")
    p = _feature_maps(target_map, "target_map")
    return tf.reduce_mean(tf.square(f - p)) / (tf.reduce_mean(tf.square(p)) + 1e-8)


def total_variation(images):
    """How much neighbouring pixels differ: the mean squared difference down plus the
    mean squared difference across. 0 for a constant image."""
    x = _feature_maps(images, "images")
    down = tf.reduce_mean(tf.square(x[:, 1:, :, :] - x[:, :-1, :, :]))
    across = tf.reduce_mean(tf.square(x[:, :, 1:, :] - x[:, :, :-1, :]))
    return down + across


def _one_image(image, name: str) -> np.ndarray:
    arr = np.asarray(image.numpy() if hasattr(image, "numpy") else image)
    if arr.ndim == 3:
        arr = arr[None]
    arr = as_images(arr, name=name, shape=None, value_range=(0, 1))
    if len(arr) != 1 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must be one RGB image (height, width, 3); got shape {arr.shape}")
    return arr


def style_targets(features: StyleFeatures, style_images) -> list:
    """The Gram matrices of the style image(s), one ``(n, c, c)`` tensor per style layer."""
    images = as_images(style_images, name="style images", shape=None, value_range=(0, 1))
    maps, _ = features(images)
    return [gram_matrix(m) for m in maps]


# ====================================================================== Gatys' optimisation


def optimisation_step(image, loss_fn, optimizer):
    """One step of optimising a picture: the gradient of ``loss_fn(image)`` with respect
    to the ``tf.Variable`` ``image``, one ``optimizer`` update, then the pixels put back
    into [0, 1] *with assign* (so ``image`` stays the same variable). Returns the loss
    before the step."""
    if not isinstance(image, tf.Variable):
        raise TypeError(
            f"image must be a tf.Variable (an optimiser can only update a variable); got {type(image).__name__}"
        )
    with tf.GradientTape() as tape:
        loss = loss_fn(image)
    gradient = tape.gradient(loss, image)
    optimizer.apply_gradients([(gradient, image)])
    image.assign(tf.clip_by_value(image, 0.0, 1.0))
    return loss


class GatysTransfer:
    """Optimise a picture until its features match a content photo and a style image.

    The picture is a ``tf.Variable`` (:attr:`image`, ``(1, h, w, 3)``); each
    :meth:`step` is one compiled Adam step on
    ``content_weight * content + style_weight * style + tv_weight * total variation``,
    then ``image.assign(clip(image, 0, 1))``: the variable stays a variable, in range.

    Args:
        features: from :func:`style_features`.
        content, style: RGB images in [0, 1] (the style may have another size).
        init: start from the ``"content"`` photo or from ``"noise"``.
    """

    def __init__(
        self,
        features: StyleFeatures,
        content,
        style,
        *,
        content_weight: float = 1.0,
        style_weight: float = 10.0,
        tv_weight: float = 10.0,
        learning_rate: float = 0.02,
        init: str = "content",
        seed: int = 0,
    ):
        if not isinstance(features, StyleFeatures):
            raise TypeError("features must come from style_features()")
        content = _one_image(content, "content")
        style = _one_image(style, "style")
        if init not in ("content", "noise"):
            raise ValueError(f"init must be 'content' or 'noise'; got {init!r}")
        self.features = features
        self.weights = {
            "content": as_number(content_weight, "content_weight", low=0.0),
            "style": as_number(style_weight, "style_weight", low=0.0),
            "tv": as_number(tv_weight, "tv_weight", low=0.0),
        }
        self.style_grams = style_targets(features, style)
        self.content_target = features(content)[1]
        start = content
        if init == "noise":
            start = np.random.default_rng(seed).uniform(0, 1, content.shape).astype(np.float32)
        self.image = tf.Variable(start, name="picture")
        self.optimizer = keras.optimizers.Adam(
            learning_rate=as_number(learning_rate, "learning_rate", low=0.0, low_open=True)
        )
        self.optimizer.build([self.image])
        self._step = tf.function(self._eager_step)

    def losses(self, image=None) -> dict:
        """The picture's losses (or another image's): style, content, tv and their
        weighted ``total``, as tensors."""
        image = self.image if image is None else image
        style_maps, content_map = self.features(image)
        out = {
            "style": style_loss(style_maps, self.style_grams),
            "content": content_loss(content_map, self.content_target),
            "tv": total_variation(image),
        }
        out["total"] = sum(self.weights[k] * out[k] for k in ("style", "content", "tv"))
        return out

    def _eager_step(self):
        parts = {}

        def total(image):
            parts.update(self.losses(image))
            return parts["total"]

        optimisation_step(self.image, total, self.optimizer)
        return parts

    def step(self) -> dict:
        """One compiled optimisation step; returns the losses before it, as floats."""
        return {k: float(v) for k, v in self._step().items()}

    def run(self, steps: int, *, every: int = 0) -> dict:
        """``steps`` steps; returns ``{"style": [...], "content": [...], "tv": [...],
        "total": [...], "seconds": s}`` (losses before each step). With ``every``,
        prints a line every that many steps."""
        steps = as_positive_int(steps, "steps")
        history = {k: [] for k in ("style", "content", "tv", "total")}
        start = time.perf_counter()
        for i in range(steps):
            for key, value in self.step().items():
                history[key].append(value)
            if every and (i + 1) % every == 0:
                print(
                    f"step {i + 1}: style {history['style'][-1]:.4f}, content {history['content'][-1]:.4f}"
                )
        history["seconds"] = time.perf_counter() - start
        return history

    def result(self) -> np.ndarray:
        """The picture now, ``(h, w, 3)`` in [0, 1]."""
        return self.image.numpy()[0]


def stylize_by_optimisation(features, content, style, steps: int, **kwargs) -> np.ndarray:
    """Gatys' method in one call: the picture after ``steps`` steps (see :class:`GatysTransfer`)."""
    transfer = GatysTransfer(features, content, style, **kwargs)
    transfer.run(steps)
    return transfer.result()


# ============================================================== fast feed-forward networks


class InstanceNormalization(layers.Layer):
    """Normalise each image's channels over their own pixels, then scale and shift
    (one learned scale and shift per channel)."""

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[-1]
        self.scale = self.add_weight(shape=(channels,), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(channels,), initializer="zeros", name="shift")

    def call(self, x):
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return self.scale * (x - mean) * tf.math.rsqrt(variance + self.epsilon) + self.shift

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class ConditionalInstanceNormalization(layers.Layer):
    """Instance normalisation with one scale and shift per style.

    Called on ``[x, style]``, where ``style`` is ``(batch, num_styles)``: the weights of
    each style (one-hot for a pure style). The scale and shift used are the weighted
    sums of the styles' own: mixing these weights blends styles *in style space*.
    """

    def __init__(self, num_styles: int, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_styles, self.epsilon = num_styles, epsilon

    def build(self, input_shape):
        channels = input_shape[0][-1]
        shape = (self.num_styles, channels)
        self.scale = self.add_weight(shape=shape, initializer="ones", name="scale")
        self.shift = self.add_weight(shape=shape, initializer="zeros", name="shift")

    def call(self, inputs):
        x, style = inputs
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        scale = tf.matmul(style, self.scale)[:, None, None, :]
        shift = tf.matmul(style, self.shift)[:, None, None, :]
        return scale * (x - mean) * tf.math.rsqrt(variance + self.epsilon) + shift

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles, "epsilon": self.epsilon}


def build_stylizer(num_styles=None, *, width: int = 16, res_blocks: int = 3, name="stylizer"):
    """Johnson et al.'s image transformation network, lean: a 9x9 convolution, two
    stride-2 convolutions down, ``res_blocks`` residual blocks, two upsamplings and a
    9x9 convolution back to RGB (sigmoid, so [0, 1]). Every convolution but the last is
    followed by instance normalisation.

    ``num_styles=None``: one style (:class:`InstanceNormalization`), input an image.
    An int: :class:`ConditionalInstanceNormalization`, inputs ``[image, style weights]``.
    Image sides must be multiples of 4.
    """
    width = as_positive_int(width, "width")
    res_blocks = as_int(res_blocks, "res_blocks", minimum=0)
    if num_styles is not None:
        num_styles = as_positive_int(num_styles, "num_styles")
    image = keras.Input((None, None, 3), name="image")
    inputs = [image]
    if num_styles is not None:
        inputs.append(keras.Input((num_styles,), name="style"))
    count = iter(range(1000))

    def norm(h):
        k = next(count)
        if num_styles is None:
            return InstanceNormalization(name=f"in_{k}")(h)
        return ConditionalInstanceNormalization(num_styles, name=f"cin_{k}")([h, inputs[1]])

    def conv(h, filters, kernel, stride=1, relu=True):
        h = layers.Conv2D(filters, kernel, strides=stride, padding="same")(h)
        h = norm(h)
        return layers.ReLU()(h) if relu else h

    h = conv(image, width, 9)
    h = conv(h, 2 * width, 3, 2)
    h = conv(h, 4 * width, 3, 2)
    for _ in range(res_blocks):
        r = conv(h, 4 * width, 3)
        h = layers.Add()([h, conv(r, 4 * width, 3, relu=False)])
    for filters in (2 * width, width):
        h = layers.UpSampling2D(2, interpolation="nearest")(h)
        h = conv(h, filters, 3)
    out = layers.Conv2D(3, 9, padding="same", activation="sigmoid")(h)
    return keras.Model(inputs if num_styles is not None else image, out, name=name)


def style_mix(weights, num_styles: int) -> np.ndarray:
    """A style vector ``(1, num_styles)``: an int picks one style; a dict
    ``{style index: weight}`` or a sequence of weights blends them (weights >= 0,
    normalised to sum to 1)."""
    num_styles = as_positive_int(num_styles, "num_styles")
    vector = np.zeros(num_styles, np.float32)
    if isinstance(weights, (int, np.integer)) and not isinstance(weights, bool):
        if not 0 <= weights < num_styles:
            raise ValueError(f"style must be an index in 0..{num_styles - 1}; got {weights}")
        vector[int(weights)] = 1.0
    elif isinstance(weights, dict):
        for k, w in weights.items():
            if not isinstance(k, (int, np.integer)) or not 0 <= k < num_styles:
                raise ValueError(f"style indices must be in 0..{num_styles - 1}; got {k!r}")
            vector[int(k)] += as_number(w, "style weight", low=0.0)
    else:
        vector = np.asarray(weights, np.float32).reshape(-1)
        if vector.shape != (num_styles,) or not np.all(np.isfinite(vector)) or vector.min() < 0:
            raise ValueError(f"style weights must be {num_styles} numbers >= 0; got {weights!r}")
    if vector.sum() <= 0:
        raise ValueError("style weights must not all be 0")
    return (vector / vector.sum())[None]


class FastStyle(CourseModel):
    """A feed-forward network trained to restyle any photo in one pass.

    Training data are content photos (patches, RGB in [0, 1]); the style(s) are fixed
    at construction. With several styles (a network from ``build_stylizer(k)``), each
    training example gets one style drawn at random, so every style trains.

    Args:
        network: from :func:`build_stylizer`.
        features: from :func:`style_features` (fixed, never trained).
        styles: the style image(s), ``(k, h, w, 3)`` or one ``(h, w, 3)``.
    """

    default_batch_size = 4

    def __init__(
        self,
        network,
        features: StyleFeatures,
        styles,
        *,
        content_weight: float = 1.0,
        style_weight: float = 10.0,
        tv_weight: float = 10.0,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(("loss", "style", "content"), **kwargs)
        styles = np.asarray(styles)
        if styles.ndim == 3:
            styles = styles[None]
        styles = as_images(styles, name="styles", shape=None, value_range=(0, 1))
        self.network = network
        self.num_styles = len(styles)
        conditional = len(network.inputs) == 2
        if conditional and network.inputs[1].shape[-1] != self.num_styles:
            raise ValueError(
                f"the network was built for {network.inputs[1].shape[-1]} styles; got {self.num_styles} style images"
            )
        if not conditional and self.num_styles != 1:
            raise ValueError(
                "a network built with num_styles=None learns one style: pass one style image"
            )
        self.conditional = conditional
        self.content_weight = as_number(content_weight, "content_weight", low=0.0)
        self.style_weight = as_number(style_weight, "style_weight", low=0.0)
        self.tv_weight = as_number(tv_weight, "tv_weight", low=0.0)
        self._features = features  # a plain object: never trained, never checkpointed
        self._targets = [tf.constant(g) for g in style_targets(features, styles)]
        self._style_digest = hashlib.blake2b(styles.tobytes(), digest_size=6).hexdigest()
        self.seed_generator = keras.random.SeedGenerator(seed)

    def settings(self) -> dict:
        return {"features": self._features.source, "styles": self._style_digest}

    def call(self, x, style=None, training=False):
        if self.conditional:
            if style is None:
                style = tf.one_hot(tf.zeros(tf.shape(x)[:1], tf.int32), self.num_styles)
            return self.network([x, style], training=training)
        return self.network(x, training=training)

    def check_data(self, x, y=None):
        x = as_images(x, name="content photos", shape=None, value_range=(0, 1))
        if x.shape[-1] != 3 or x.shape[1] % 4 or x.shape[2] % 4:
            raise ValueError(
                f"content photos must be RGB with sides that are multiples of 4; got {x.shape}"
            )
        return x, None

    def losses_of(self, x, style_index):
        """The weighted loss and its parts for photos ``x`` restyled with the styles
        ``style_index`` (one index per photo)."""
        one_hot = tf.one_hot(style_index, self.num_styles)
        y = self(x, one_hot, training=True)
        style_maps, content_map = self._features(y)
        _, photo_map = self._features(x)
        targets = [tf.gather(t, style_index) for t in self._targets]
        s = style_loss(style_maps, targets)
        c = content_loss(content_map, photo_map)
        tv = total_variation(y)
        total = self.style_weight * s + self.content_weight * c + self.tv_weight * tv
        return total, s, c

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        n = tf.shape(x)[0]
        index = keras.random.randint((n,), 0, self.num_styles, seed=self.seed_generator)
        with tf.GradientTape() as tape:
            total, s, c = self.losses_of(x, index)
        variables = self.network.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return self.record(loss=total, style=s, content=c)

    def stylize(self, images, style=0, *, batch_size: int = 8) -> np.ndarray:
        """Restyle photos ``(n, h, w, 3)`` (or one) in [0, 1]; ``style`` as :func:`style_mix`
        takes it (an index, or weights to blend in style space)."""
        images = np.asarray(images)
        one = images.ndim == 3
        x = as_images(
            images[None] if one else images, name="images", shape=None, value_range=(0, 1)
        )
        if x.shape[-1] != 3 or x.shape[1] % 4 or x.shape[2] % 4:
            raise ValueError(
                f"images must be RGB with sides that are multiples of 4; got {x.shape}"
            )
        vector = np.repeat(style_mix(style, self.num_styles), len(x), axis=0)
        out = []
        for i in range(0, len(x), as_positive_int(batch_size, "batch_size")):
            out.append(
                keras.ops.convert_to_numpy(self(x[i : i + batch_size], vector[i : i + batch_size]))
            )
        result = np.concatenate(out)
        return result[0] if one else result


def pixel_average(model: FastStyle, images, a: int, b: int, t: float) -> np.ndarray:
    """The guide's "interpolation": restyle with style ``a`` and with style ``b``, then
    average the finished pictures pixel by pixel, ``(1 - t) * A + t * B``."""
    t = as_number(t, "t", low=0.0, high=1.0)
    return (1 - t) * model.stylize(images, a) + t * model.stylize(images, b)


def style_blend(model: FastStyle, images, a: int, b: int, t: float) -> np.ndarray:
    """Blending in style space: one pass with the scale and shift of every
    normalisation mixed ``(1 - t)`` of style ``a`` and ``t`` of style ``b``."""
    t = as_number(t, "t", low=0.0, high=1.0)
    weights = np.zeros(model.num_styles, np.float32)
    weights[as_int(a, "a", minimum=0)] += 1 - t
    weights[as_int(b, "b", minimum=0)] += t
    return model.stylize(images, weights)


def course_stylizer(
    features: StyleFeatures,
    styles,
    *,
    width: int = 16,
    res_blocks: int = 3,
    learning_rate: float = 2e-3,
    style_weight: float = 10.0,
    tv_weight: float = 10.0,
) -> FastStyle:
    """The fast network as the notebook and the benchmark train it: one style (a single
    image) or several (conditional instance norm), Adam, batches of 4."""
    styles = np.asarray(styles)
    k = 1 if styles.ndim == 3 else len(styles)
    network = build_stylizer(
        None if k == 1 and styles.ndim == 3 else k, width=width, res_blocks=res_blocks
    )
    model = FastStyle(network, features, styles, style_weight=style_weight, tv_weight=tv_weight)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model.run_name = f"ch08_fast_style_{k}"
    model.batch_size = 4
    return model


def ms_per_image(model: FastStyle, images, repeats: int = 3) -> float:
    """Milliseconds the network takes per image (best of ``repeats``, after a warm-up)."""
    model.stylize(images[:1])
    best = float("inf")
    for _ in range(as_positive_int(repeats, "repeats")):
        start = time.perf_counter()
        model.stylize(images, batch_size=len(images))
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(images)


# ======================================================= arbitrary style: AdaIN (Huang & Belongie)

ADAIN_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1")
ADAIN_ENCODER_LAYER = "block3_conv1"


def feature_moments(features, eps: float = 1e-5):
    """Per image and per channel, the mean and the spread of ``(batch, h, w, c)`` maps
    over their positions: ``(mean, std)``, each ``(batch, 1, 1, c)``, with
    ``std = sqrt(variance + eps)``."""
    f = _feature_maps(features, "features")
    mean, variance = tf.nn.moments(f, axes=[1, 2], keepdims=True)
    return mean, tf.sqrt(variance + eps)


def adain(content_features, style_features, eps: float = 1e-5):
    """Adaptive instance normalisation: the content's maps with each image's, each
    channel's mean and spread replaced by the style's.

    ``content_features`` is ``(batch, h, w, c)``; ``style_features`` is
    ``(batch or 1, h2, w2, c)`` (any size: only its statistics are used). For every image
    and channel: ``(content - content mean) / content std * style std + style mean``.
    """
    c = _feature_maps(content_features, "content_features")
    s = _feature_maps(style_features, "style_features")
    eps = as_number(eps, "eps", low=0.0)
    if c.shape[-1] != s.shape[-1]:
        raise ValueError(
            f"content and style features must have the same channels; got {c.shape[-1]} and {s.shape[-1]}"
        )
    if s.shape[0] not in (1, c.shape[0]) and None not in (s.shape[0], c.shape[0]):
        raise ValueError(
            f"style_features must hold 1 image or as many as the content ({c.shape[0]}); got {s.shape[0]}"
        )
    c_mean, c_std = feature_moments(c, eps)
    s_mean, s_std = feature_moments(s, eps)
    return (c - c_mean) / c_std * s_std + s_mean


def moment_loss(maps, target_maps, eps: float = 1e-5):
    """AdaIN's style loss: layer by layer, the squared differences of the per-channel
    means and of the per-channel stds (not Gram matrices), each layer divided by the
    target statistics' mean square (as :func:`style_loss` does), averaged over layers.
    ``target_maps`` may hold 1 image or one per image of ``maps``. 0 when they match."""
    maps, target_maps = list(maps), list(target_maps)
    if not maps or len(maps) != len(target_maps):
        raise ValueError(
            f"moment_loss needs one target map per layer: got {len(maps)} and {len(target_maps)}"
        )
    total = 0.0
    for m, t in zip(maps, target_maps):
        mean, std = feature_moments(m, eps)
        t_mean, t_std = feature_moments(t, eps)
        error = tf.reduce_mean(tf.square(mean - t_mean) + tf.square(std - t_std), axis=[1, 2, 3])
        scale = tf.reduce_mean(tf.square(t_mean) + tf.square(t_std), axis=[1, 2, 3]) + 1e-8
        total += tf.reduce_mean(error / scale) / len(maps)
    return total


def build_adain_decoder(
    channels: int, *, width: int = 32, input_scale: float = 1.0, name="adain_decoder"
):
    """The decoder that mirrors the encoder cut at ``block3_conv1``: a convolution back
    from ``channels`` to ``4 * width``, nearest upsampling, two convolutions
    (``4 * width``, ``2 * width``: block 2 mirrored), nearest upsampling, one convolution
    (``2 * width``) and a 3x3 convolution to RGB (sigmoid, so [0, 1]). No normalisation
    anywhere (it would wash out the statistics AdaIN just set). ``input_scale``, a fixed
    number, divides the maps first: VGG's maps reach the hundreds, and a decoder fed
    them raw saturates its sigmoid in its first steps."""
    channels = as_positive_int(channels, "channels")
    width = as_positive_int(width, "width")
    input_scale = as_number(input_scale, "input_scale", low=1e-12)
    t = keras.Input((None, None, channels), name="target")
    h = layers.Rescaling(1.0 / input_scale, name="input_scale")(t)
    h = layers.Conv2D(4 * width, 3, padding="same", activation="relu", name="dec3_conv1")(h)
    h = layers.UpSampling2D(2, interpolation="nearest", name="dec2_up")(h)
    h = layers.Conv2D(4 * width, 3, padding="same", activation="relu", name="dec2_conv2")(h)
    h = layers.Conv2D(2 * width, 3, padding="same", activation="relu", name="dec2_conv1")(h)
    h = layers.UpSampling2D(2, interpolation="nearest", name="dec1_up")(h)
    h = layers.Conv2D(2 * width, 3, padding="same", activation="relu", name="dec1_conv2")(h)
    out = layers.Conv2D(3, 3, padding="same", activation="sigmoid", name="dec1_conv1")(h)
    return keras.Model(t, out, name=name)


def _sides_multiple_of_4(x: np.ndarray, name: str) -> None:
    if x.shape[-1] != 3 or x.shape[1] % 4 or x.shape[2] % 4:
        raise ValueError(f"{name} must be RGB with sides that are multiples of 4; got {x.shape}")


class AdaINStyle(CourseModel):
    """Arbitrary style transfer (Huang & Belongie 2017): any style image, at run time.

    A fixed encoder (the chapter's VGG19-shaped features cut at ``block3_conv1``),
    :func:`adain` to give the content's maps the style's statistics, and a trained
    decoder back to pixels. Training data are content patches; each patch is paired
    with a random crop, the same size, of one of the training ``styles`` drawn at random.
    The loss: :func:`content_loss` between ``encoder(decoder(t))`` and the AdaIN target
    ``t``, plus ``style_weight`` times :func:`moment_loss` on ``ADAIN_LAYERS``.

    Args:
        decoder: from :func:`build_adain_decoder`.
        features: from :func:`style_features` with ``style_layers=ADAIN_LAYERS`` and
            ``content_layer=ADAIN_ENCODER_LAYER`` (fixed, never trained).
        styles: the training style images ``(k, h, w, 3)`` in [0, 1], all one size.
    """

    default_batch_size = 8

    def __init__(self, decoder, features: StyleFeatures, styles, *, style_weight=2.0, seed=0, **kw):
        super().__init__(("loss", "style", "content"), **kw)
        styles = np.asarray(styles)
        styles = as_images(
            styles[None] if styles.ndim == 3 else styles,
            name="styles",
            shape=None,
            value_range=(0, 1),
        )
        if styles.shape[-1] != 3:
            raise ValueError(f"styles must be RGB images (k, h, w, 3); got shape {styles.shape}")
        if features.content_layer != features.style_layers[-1]:
            raise ValueError(
                "the features must read the encoder's layer last among the style layers: "
                "build them with style_layers=ADAIN_LAYERS, content_layer=ADAIN_ENCODER_LAYER"
            )
        self.decoder = decoder
        self.style_weight = as_number(style_weight, "style_weight", low=0.0)
        self._features = features  # a plain object: never trained, never checkpointed
        self._styles = tf.constant(styles)
        self.num_styles = len(styles)
        self._style_digest = hashlib.blake2b(styles.tobytes(), digest_size=6).hexdigest()
        self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def encoder(self):
        """The fixed feature network (its weights never change)."""
        return self._features.model

    def settings(self) -> dict:
        return {"features": self._features.source, "styles": self._style_digest}

    def check_data(self, x, y=None):
        x = as_images(x, name="content patches", shape=None, value_range=(0, 1))
        _sides_multiple_of_4(x, "content patches")
        if x.shape[1] > self._styles.shape[1] or x.shape[2] > self._styles.shape[2]:
            raise ValueError(
                f"content patches ({x.shape[1]}x{x.shape[2]}) must not be larger than the "
                f"style images ({self._styles.shape[1]}x{self._styles.shape[2]}): style crops are cut to their size"
            )
        return x, None

    def style_crops(self, n, height, width):
        """``n`` crops ``height x width`` of the training styles, each from a style and a
        place drawn at random."""
        k, sh, sw = self._styles.shape[:3]
        index = keras.random.randint((n,), 0, k, seed=self.seed_generator)
        top = tf.floor(
            keras.random.uniform((n,), seed=self.seed_generator)
            * tf.cast(sh - height + 1, tf.float32)
        )
        left = tf.floor(
            keras.random.uniform((n,), seed=self.seed_generator)
            * tf.cast(sw - width + 1, tf.float32)
        )
        h1, w1 = tf.cast(height - 1, tf.float32), tf.cast(width - 1, tf.float32)
        boxes = tf.stack(
            [top / (sh - 1), left / (sw - 1), (top + h1) / (sh - 1), (left + w1) / (sw - 1)], 1
        )
        return tf.image.crop_and_resize(self._styles, boxes, index, tf.stack([height, width]))

    def encode(self, images):
        """``(style maps per layer, encoder output)`` of images in [0, 1]."""
        return self._features(images)

    def losses_of(self, content, styles):
        """The weighted loss, the style and the content loss for content images and the
        style images (one per content image, or one for all) they are given."""
        _, c = self.encode(content)
        style_maps, s = self.encode(styles)
        t = adain(c, s)
        out = self.decoder(t, training=True)
        out_maps, out_code = self.encode(out)
        lc = content_loss(out_code, t)
        ls = moment_loss(out_maps, style_maps)
        return lc + self.style_weight * ls, ls, lc

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        shape = tf.shape(x)
        s = self.style_crops(shape[0], shape[1], shape[2])
        with tf.GradientTape() as tape:
            total, ls, lc = self.losses_of(x, s)
        variables = self.decoder.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return self.record(loss=total, style=ls, content=lc)

    def call(self, x, training=False):
        """Decode encoder maps (the AdaIN target) to pixels."""
        return self.decoder(x, training=training)

    def stylize(self, content, style, *, alpha: float = 1.0, batch_size: int = 8) -> np.ndarray:
        """Paint ``content`` (one ``(h, w, 3)`` image or a batch, sides multiples of 4)
        in the manner of ``style`` (one RGB image of any size, at least 4x4), all in
        [0, 1]. ``alpha`` trades content (0: the photo through encoder and decoder) for
        style (1: the full AdaIN target), ``t = alpha * adain(c, s) + (1 - alpha) * c``."""
        content = np.asarray(content)
        one = content.ndim == 3
        x = as_images(
            content[None] if one else content, name="content", shape=None, value_range=(0, 1)
        )
        _sides_multiple_of_4(x, "content")
        s = _one_image(style, "style")
        if min(s.shape[1:3]) < 4:
            raise ValueError(
                f"the style image must be at least 4x4 pixels; got shape {s.shape[1:]}"
            )
        alpha = as_number(alpha, "alpha", low=0.0, high=1.0)
        _, s_code = self.encode(s)
        out = []
        for i in range(0, len(x), as_positive_int(batch_size, "batch_size")):
            _, c = self.encode(x[i : i + batch_size])
            t = alpha * adain(c, s_code) + (1 - alpha) * c
            out.append(keras.ops.convert_to_numpy(self(t)))
        result = np.concatenate(out)
        return result[0] if one else result


def adain_features(kind: str = "auto", *, widths=None, seed: int = 0, verbose: bool = True):
    """The chapter's feature network cut for AdaIN: style statistics read at
    ``ADAIN_LAYERS``, the encoder's output at ``block3_conv1``."""
    return style_features(
        kind,
        style_layers=ADAIN_LAYERS,
        content_layer=ADAIN_ENCODER_LAYER,
        widths=widths,
        seed=seed,
        verbose=verbose,
    )


def course_adain(
    styles,
    *,
    features: StyleFeatures | None = None,
    width: int = 32,
    learning_rate: float = 1e-3,
    style_weight: float = 2.0,
) -> AdaINStyle:
    """AdaIN as the notebook and the benchmark train it: the encoder cut at
    ``block3_conv1`` (:func:`adain_features` unless ``features`` is given), the mirrored
    decoder ``width`` wide, Adam, batches of 8."""
    features = adain_features() if features is None else features
    channels = features.model.outputs[-1].shape[-1]
    images = np.asarray(styles)
    _, code = features(images[None] if images.ndim == 3 else images)
    scale = float(tf.sqrt(tf.reduce_mean(tf.square(code)))) + 1e-6  # the maps' typical size
    decoder = build_adain_decoder(channels, width=width, input_scale=scale)
    model = AdaINStyle(decoder, features, styles, style_weight=style_weight)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model.run_name = "ch08_adain"
    model.batch_size = 8
    return model
