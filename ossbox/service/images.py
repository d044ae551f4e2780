"""Image processing (`x-oss-process=image/...`): OSS's parameter language, applied with Pillow.

A process is `image/` then operations separated by `/`, each `name,key_value,key_value...`
(`resize,w_100,h_80`, `rotate,90`). Served: resize (m_lfit, mfit, fill, pad, fixed; w, h, l, s, limit,
color), crop (x, y, w, h, g), rotate, auto-orient, format (jpg, png, webp, bmp, gif, tiff), quality
(q relative, Q absolute), info, average-hue, blur (r, s), bright, contrast, sharpen, circle (r), interlace
(accepted). Anything else is a 400 InvalidArgument naming the operation, as is a parameter out of OSS's
range; nothing is guessed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ossbox.core.errors import OSSError, invalid_argument

MAX_SOURCE_BYTES = 20 << 20  # OSS processes source images of at most 20 MB
_MAX_SIDE = 16384  # OSS's largest width or height for a result (and 4096 for most operations' inputs)
_FORMATS = {
    "jpg": ("JPEG", "image/jpeg"),
    "jpeg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
    "webp": ("WEBP", "image/webp"),
    "bmp": ("BMP", "image/bmp"),
    "gif": ("GIF", "image/gif"),
    "tiff": ("TIFF", "image/tiff"),
}
_PIL_TO_OSS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp", "GIF": "gif", "TIFF": "tiff"}


@dataclass
class Result:
    body: bytes
    content_type: str


@dataclass
class _State:
    image: Any  # PIL.Image.Image
    format: str  # OSS's name of the output format
    quality: int | None = None
    json_answer: dict[str, Any] | None = field(default=None)


def is_image_process(process: str) -> bool:
    return process.split("/", 1)[0] == "image"


def process(data: bytes, spec: str, size_hint: int) -> Result:
    """Apply `spec` ("image/op,params/op...") to the image `data`."""
    from PIL import Image, UnidentifiedImageError

    if size_hint > MAX_SOURCE_BYTES:
        raise invalid_argument("The image is larger than 20 MB.", "x-oss-process", spec)
    ops = _parse(spec)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise OSSError(400, "InvalidImageFormat", "The object is not an image ossbox can read.") from exc
    state = _State(image, _PIL_TO_OSS.get(image.format or "", "jpg"))
    for name, params in ops:
        _OPERATIONS[name](state, params)
        if state.json_answer is not None:
            return Result(json.dumps(state.json_answer).encode(), "application/json")
    return _encode(state)


def check(spec: str) -> None:
    """400 InvalidArgument unless `spec` is a process of known operations (a style being stored)."""
    _parse(spec)


def _parse(spec: str) -> list[tuple[str, dict[str, str]]]:
    parts = spec.split("/")
    if parts[0] != "image":
        raise invalid_argument("Only image processing is served.", "x-oss-process", spec)
    ops = []
    for part in parts[1:]:
        if not part:
            continue
        name, *args = part.split(",")
        if name not in _OPERATIONS:
            raise invalid_argument(f"The image operation {name!r} is not supported.", "x-oss-process", spec)
        params: dict[str, str] = {}
        for i, arg in enumerate(args):
            key, sep, value = arg.partition("_")
            if not sep:  # a bare value (rotate,90 / bright,50 / format,png)
                params[f"_{i}"] = arg
            else:
                params[key] = value
        ops.append((name, params))
    if not ops:
        raise invalid_argument("The process names no operation.", "x-oss-process", spec)
    return ops


def _int(params: dict[str, str], key: str, low: int, high: int, default: int | None = None) -> int | None:
    raw = params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_argument(f"The parameter {key} must be an integer.", "x-oss-process", raw) from None
    if not low <= value <= high:
        raise invalid_argument(f"The parameter {key} must be in [{low}, {high}].", "x-oss-process", raw)
    return value


def _value(params: dict[str, str]) -> str | None:
    return params.get("_0")


# ---------------------------------------------------------------------------------------------- operations
def _resize(state: _State, p: dict[str, str]) -> None:
    from PIL import Image, ImageOps

    img = state.image
    mode = p.get("m", "lfit")
    if mode not in ("lfit", "mfit", "fill", "pad", "fixed"):
        raise invalid_argument(
            "The resize mode must be lfit, mfit, fill, pad or fixed.", "x-oss-process", mode
        )
    w, h = _int(p, "w", 1, _MAX_SIDE), _int(p, "h", 1, _MAX_SIDE)
    longest, shortest = _int(p, "l", 1, _MAX_SIDE), _int(p, "s", 1, _MAX_SIDE)
    if w is None and h is None and longest is not None:
        w, h = (longest, None) if img.width >= img.height else (None, longest)
    if w is None and h is None and shortest is not None:
        w, h = (shortest, None) if img.width <= img.height else (None, shortest)
    if w is None and h is None:
        raise invalid_argument("resize needs w, h, l or s.", "x-oss-process", "resize")
    limit = p.get("limit", "1") != "0"  # by default an image is never enlarged
    ratio_w = w / img.width if w else None
    ratio_h = h / img.height if h else None
    if mode == "fixed" and w and h:
        target = (w, h)
    else:
        ratios = [r for r in (ratio_w, ratio_h) if r is not None]
        fit = min(ratios) if mode in ("lfit", "pad") else max(ratios)
        target = (max(1, round(img.width * fit)), max(1, round(img.height * fit)))
    if limit and (target[0] > img.width or target[1] > img.height):
        return
    resized = img.resize(target, Image.Resampling.LANCZOS)
    if mode == "fill" and w and h:
        resized = ImageOps.fit(img, (w, h), Image.Resampling.LANCZOS)
    elif mode == "pad" and w and h:
        color = "#" + p.get("color", "FFFFFF")
        canvas = Image.new(resized.mode if resized.mode in ("RGB", "RGBA") else "RGB", (w, h), color)
        canvas.paste(resized, ((w - resized.width) // 2, (h - resized.height) // 2))
        resized = canvas
    state.image = resized


_GRAVITY = {
    "nw": (0, 0), "north": (0.5, 0), "ne": (1, 0), "west": (0, 0.5), "center": (0.5, 0.5),
    "east": (1, 0.5), "sw": (0, 1), "south": (0.5, 1), "se": (1, 1),
}  # fmt: skip


def _crop(state: _State, p: dict[str, str]) -> None:
    img = state.image
    w = _int(p, "w", 0, _MAX_SIDE, img.width) or img.width
    h = _int(p, "h", 0, _MAX_SIDE, img.height) or img.height
    x, y = _int(p, "x", 0, _MAX_SIDE, 0) or 0, _int(p, "y", 0, _MAX_SIDE, 0) or 0
    gravity = p.get("g", "nw")
    if gravity not in _GRAVITY:
        raise invalid_argument("The crop gravity is invalid.", "x-oss-process", gravity)
    gx, gy = _GRAVITY[gravity]
    left = int((img.width - w) * gx) + x if gravity != "nw" else x
    top = int((img.height - h) * gy) + y if gravity != "nw" else y
    if left >= img.width or top >= img.height:
        raise invalid_argument("The crop origin is outside the image.", "x-oss-process", "crop")
    state.image = img.crop((left, top, min(img.width, left + w), min(img.height, top + h)))


def _rotate(state: _State, p: dict[str, str]) -> None:
    degrees = _int({"v": _value(p) or "0"}, "v", 0, 360, 0) or 0
    state.image = state.image.rotate(-degrees, expand=True)  # OSS rotates clockwise


def _auto_orient(state: _State, p: dict[str, str]) -> None:
    from PIL import ImageOps

    if (_value(p) or "1") == "1":
        state.image = ImageOps.exif_transpose(state.image)


def _format(state: _State, p: dict[str, str]) -> None:
    name = (_value(p) or "").lower()
    if name not in _FORMATS:
        raise invalid_argument("The format must be jpg, png, webp, bmp, gif or tiff.", "x-oss-process", name)
    state.format = "jpg" if name == "jpeg" else name


def _quality(state: _State, p: dict[str, str]) -> None:
    absolute, relative = _int(p, "Q", 1, 100), _int(p, "q", 1, 100)
    if absolute is None and relative is None:
        raise invalid_argument("quality needs q or Q.", "x-oss-process", "quality")
    state.quality = absolute if absolute is not None else relative


def _info(state: _State, p: dict[str, str]) -> None:
    img = state.image
    state.json_answer = {
        "Format": {"value": state.format},
        "ImageHeight": {"value": str(img.height)},
        "ImageWidth": {"value": str(img.width)},
    }


def _average_hue(state: _State, p: dict[str, str]) -> None:
    r, g, b = state.image.convert("RGB").resize((1, 1)).getpixel((0, 0))
    state.json_answer = {"RGB": f"0x{r:02x}{g:02x}{b:02x}"}


def _blur(state: _State, p: dict[str, str]) -> None:
    from PIL import ImageFilter

    radius = _int(p, "r", 1, 50, 1) or 1
    _int(p, "s", 1, 50, 1)  # OSS's standard deviation: validated, Pillow's Gaussian takes the radius
    state.image = state.image.filter(ImageFilter.GaussianBlur(radius))


def _enhancer(kind: str) -> Callable[[_State, dict[str, str]], None]:
    def apply(state: _State, p: dict[str, str]) -> None:
        from PIL import ImageEnhance

        amount = _int({"v": _value(p) or "0"}, "v", -100, 100, 0) or 0
        enhancer = ImageEnhance.Brightness if kind == "bright" else ImageEnhance.Contrast
        state.image = enhancer(_rgb(state.image)).enhance(1 + amount / 100)

    return apply


def _sharpen(state: _State, p: dict[str, str]) -> None:
    from PIL import ImageFilter

    amount = _int({"v": _value(p) or "100"}, "v", 50, 399, 100) or 100
    state.image = _rgb(state.image).filter(ImageFilter.UnsharpMask(radius=2, percent=amount, threshold=3))


def _circle(state: _State, p: dict[str, str]) -> None:
    from PIL import Image, ImageDraw

    img = state.image
    radius = _int(p, "r", 1, 4096, min(img.size) // 2) or 1
    radius = min(radius, min(img.size) // 2)
    side = radius * 2
    square = img.crop(((img.width - side) // 2, (img.height - side) // 2, (img.width + side) // 2,
                       (img.height + side) // 2)).convert("RGBA")  # fmt: skip
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, side - 1, side - 1), fill=255)
    square.putalpha(mask)
    state.image = square
    if state.format == "jpg":
        state.format = "png"  # a transparent corner needs an alpha channel, as OSS answers


def _accepted(state: _State, p: dict[str, str]) -> None:
    """Progressive-JPEG interlace: accepted, the bytes are a baseline JPEG."""


_OPERATIONS: dict[str, Callable[[_State, dict[str, str]], None]] = {
    "resize": _resize,
    "crop": _crop,
    "rotate": _rotate,
    "auto-orient": _auto_orient,
    "format": _format,
    "quality": _quality,
    "info": _info,
    "average-hue": _average_hue,
    "blur": _blur,
    "bright": _enhancer("bright"),
    "contrast": _enhancer("contrast"),
    "sharpen": _sharpen,
    "circle": _circle,
    "interlace": _accepted,
}


def _rgb(img: Any) -> Any:
    return img if img.mode in ("RGB", "RGBA", "L") else img.convert("RGBA" if "A" in img.mode else "RGB")


def _encode(state: _State) -> Result:
    pil_format, content_type = _FORMATS[state.format]
    img = state.image
    if pil_format in ("JPEG", "BMP") and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if state.quality is not None and pil_format in ("JPEG", "WEBP"):
        options["quality"] = state.quality
    img.save(out, pil_format, **options)
    return Result(out.getvalue(), content_type)
