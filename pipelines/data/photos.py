"""Super-resolution samples cut from scikit-image's bundled photos, resized with Pillow."""

from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.config import DataConfig, DataSource, ModelConfig
from pipelines.data import Dataset, one_input
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


def build(data: DataConfig, model: ModelConfig) -> Dataset:
    scale = int(model.arch.get("scale", 2))
    _, height, width, _ = model.input_tensors[0].shape
    rng = np.random.default_rng(data.seed)

    eval_high = [
        t
        for name in data.eval_images
        for t in _tiles(open_photo(name), height * scale, width * scale)
    ]
    if not eval_high:
        raise PipelineError(
            f"the evaluation photos are smaller than one {height * scale}x{width * scale} tile "
            "(use smaller model.input_shape or other data.eval_images)"
        )
    eval_high = eval_high[: data.eval_samples]

    photos = [open_photo(name) for name in data.train_images]
    crop_h = crop_w = data.patch_size * scale
    small = [
        name
        for name, p in zip(data.train_images, photos, strict=True)
        if p.height < crop_h or p.width < crop_w
    ]
    if small:
        raise PipelineError(
            f"training photos {small} are smaller than a {crop_h}x{crop_w} crop "
            "(use a smaller data.patch_size)"
        )
    train_high = []
    for index in rng.integers(0, len(photos), size=data.train_patches):
        photo = photos[index]
        top = int(rng.integers(0, photo.height - crop_h + 1))
        left = int(rng.integers(0, photo.width - crop_w + 1))
        patch = photo.crop((left, top, left + crop_w, top + crop_h))
        if rng.random() < 0.5:
            patch = patch.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        train_high.append(patch)
    train_low = to_array([downscale(p, scale) for p in train_high])
    return Dataset(
        train_inputs=train_low,
        train_targets=to_array(train_high),
        eval_inputs=one_input(
            model, DataSource.photos, to_array([downscale(t, scale) for t in eval_high])
        ),
        eval_targets=to_array(eval_high),
        calibration=one_input(model, DataSource.photos, train_low[: data.calibration_pool]),
    )
