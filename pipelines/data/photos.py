"""Super-resolution samples cut from scikit-image's bundled photos, resized with Pillow."""

from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.config import DataConfig, DataSource, ModelConfig
from pipelines.data import Dataset, one_input
from pipelines.data.held_out import hashed
from pipelines.errors import PipelineError


def photo_dir() -> Path:
    """The folder where the scikit-image wheel keeps its sample photos."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise PipelineError("scikit-image is not installed (pip install scikit-image)")
    return Path(spec.origin).parent / "data"


def open_photo(name: str) -> Image.Image:
    """A bundled photo by file stem (`astronaut`, `chelsea`, ...), as RGB."""
    folder = photo_dir()
    matches = sorted(p for p in folder.glob(f"{name}.*") if p.suffix in {".png", ".jpg"})
    if not matches:
        available = sorted({p.stem for p in folder.iterdir() if p.suffix in {".png", ".jpg"}})
        raise PipelineError(f"no bundled photo named {name!r}; available: {', '.join(available)}")
    with Image.open(matches[0]) as image:
        return image.convert("RGB")


def to_array(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(i, dtype=np.float32) / 255.0 for i in images])


def downscale(image: Image.Image, scale: int) -> Image.Image:
    return image.resize((image.width // scale, image.height // scale), Image.Resampling.BICUBIC)


def bicubic_upscale(low: np.ndarray, scale: int) -> np.ndarray:
    """The baseline every super-resolution model must beat: Pillow bicubic upscaling."""
    out = []
    for sample in low:
        image = Image.fromarray(np.round(sample * 255.0).clip(0, 255).astype(np.uint8))
        out.append(
            image.resize((image.width * scale, image.height * scale), Image.Resampling.BICUBIC)
        )
    return to_array(out)


def _tiles(image: Image.Image, height: int, width: int) -> list[Image.Image]:
    return [
        image.crop((left, top, left + width, top + height))
        for top in range(0, image.height - height + 1, height)
        for left in range(0, image.width - width + 1, width)
    ]


def _crops(
    photos: list[tuple[str, Image.Image]],
    rng: np.random.Generator,
    count: int,
    size: tuple[int, int],
    setting: str,
    flip: bool,
) -> list[Image.Image]:
    """`count` crops of `size` (height, width) from random photos at random places, each
    flipped left-right half the time if `flip`. A photo smaller than a crop is refused, naming
    the `setting` to lower."""
    height, width = size
    small = [name for name, p in photos if p.height < height or p.width < width]
    if small:
        raise PipelineError(
            f"training photos {small} are smaller than a {height}x{width} crop "
            f"(use a smaller {setting})"
        )
    crops = []
    for index in rng.integers(0, len(photos), size=count):
        _, photo = photos[index]
        top = int(rng.integers(0, photo.height - height + 1))
        left = int(rng.integers(0, photo.width - width + 1))
        crop = photo.crop((left, top, left + width, top + height))
        if flip and rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        crops.append(crop)
    return crops


def build(data: DataConfig, model: ModelConfig) -> Dataset:
    scale = int(model.arch.get("scale", 2))
    _, height, width, _ = model.input_tensors[0].shape
    rng = np.random.default_rng(data.seed)

    eval_photos = [(name, open_photo(name)) for name in data.eval_images]
    eval_high = [
        t for _, photo in eval_photos for t in _tiles(photo, height * scale, width * scale)
    ]
    if not eval_high:
        raise PipelineError(
            f"the evaluation photos are smaller than one {height * scale}x{width * scale} tile "
            "(use smaller model.input_shape or other data.eval_images)"
        )
    eval_high = eval_high[: data.eval_samples]

    photos = [(name, open_photo(name)) for name in data.train_images]
    patch = (data.patch_size * scale, data.patch_size * scale)
    train_high = _crops(photos, rng, data.train_patches, patch, "data.patch_size", flip=True)
    # calibration at the size the artifacts are converted at: a .tflite's resize ops have their
    # output size fixed, so samples of another size would calibrate the wrong ranges
    full = (height * scale, width * scale)
    calibration_high = _crops(photos, rng, data.calibration_pool, full, "model.input_shape", False)
    train_low = to_array([downscale(p, scale) for p in train_high])
    return Dataset(
        train_inputs=train_low,
        train_targets=to_array(train_high),
        eval_inputs=one_input(
            model, DataSource.photos, to_array([downscale(t, scale) for t in eval_high])
        ),
        eval_targets=to_array(eval_high),
        calibration=one_input(
            model, DataSource.photos, to_array([downscale(p, scale) for p in calibration_high])
        ),
        train_sources=hashed((name, np.asarray(photo)) for name, photo in photos),
        eval_sources=hashed((name, np.asarray(photo)) for name, photo in eval_photos),
    )
