"""Avatar pictures: check an upload and re-encode it, with Pillow, before anything is stored.

The upload is trusted for nothing: its name and content type are ignored, the bytes are
opened and decoded by Pillow, and only JPEG, PNG and WebP within the size and dimension
limits pass. What is stored is always our own WebP encoding (so no metadata, EXIF location
or polyglot payload survives): the picture scaled to at most 512 px and a 128 px square
thumbnail for the header.

Memory is bounded before a single pixel is decoded. A small file can describe a huge
picture (a 100 KB PNG of one colour holds 6000×6000 pixels, 144 MB once decoded), so the
dimensions are read from the header and anything over `LMS_AVATAR_MAX_PIXELS` is refused
right there. What passes is decoded as small as it can be: a JPEG through libjpeg's
scaled decoding (`Image.draft`, 1/2 to 1/8 of the size), other formats at full size and
then at once reduced to about twice the stored size, so the rest of the work (rotation,
colour conversion, resampling, encoding) handles a picture of about 1 megapixel. The
largest accepted picture costs at most about 8 bytes per pixel of the limit at its peak
(PNG: the decoded pixels and one premultiplied copy while reducing; WebP, dearer per pixel,
gets half the limit); see
accounts/tests/test_avatar_memory.py for the measured bound.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MIN_SIDE = 64
MAX_SIDE = 6000
STORED_MAX_SIDE = 512
THUMBNAIL_SIDE = 128
WEBP_QUALITY = 85
# Decode to at least twice the stored sizes, so the final resampling still has detail to
# work with (Pillow's own `reducing_gap` in thumbnail() uses the same factor).
REDUCING_GAP = 2
# Formats whose decoder needs more memory per pixel get a smaller share of
# LMS_AVATAR_MAX_PIXELS. Pillow decodes WebP through libwebp's animation decoder, which keeps
# its own full canvas next to the picture: about 16 bytes per pixel against PNG's 8 (RGBA
# with the premultiplied copy made while reducing) and a progressive JPEG's 6 (libjpeg's
# coefficient buffers, which scaled decoding does not shrink).
_PIXEL_SHARE_DIVISOR = {"WEBP": 2}
# Modes Image.reduce() works on directly; anything else (palette, 1-bit, 16-bit) is
# converted first.
_REDUCIBLE_MODES = frozenset({"L", "LA", "RGB", "RGBA"})
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class AvatarFiles:
    picture: ContentFile
    thumbnail: ContentFile


def _invalid(message: str, code: str, **params: object) -> ValidationError:
    # Keyed by the form/model field, so the profile form and the API show it on "avatar".
    return ValidationError({"avatar": ValidationError(message, code=code, params=params)})


def avatar_files_from_upload(upload: UploadedFile) -> AvatarFiles:
    """The stored files for an uploaded picture, or ValidationError (on "avatar")."""
    _check_file_size(upload)
    image = _open(upload)
    _check_dimensions(*image.size, image_format=image.format)
    try:
        image = _decoded_small(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # A valid header over a truncated or corrupt body.
        raise _invalid(_("The picture file is damaged."), "avatar_damaged") from None

    picture = image.copy()
    picture.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), Image.Resampling.LANCZOS)
    thumbnail = ImageOps.fit(image, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return AvatarFiles(picture=_webp(picture), thumbnail=_webp(thumbnail))


def _check_file_size(upload: UploadedFile) -> None:
    max_bytes = settings.LMS_AVATAR_MAX_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise _invalid(
            _("The picture is too large (%(size)s); the limit is %(limit)s."),
            "avatar_too_large",
            size=filesizeformat(upload.size),
            limit=filesizeformat(max_bytes),
        )


def _check_dimensions(width: int, height: int, *, image_format: str | None) -> None:
    """Refuse by the header's dimensions alone, before anything is decoded."""
    if min(width, height) < MIN_SIDE:
        raise _invalid(
            _("The picture is %(width)s×%(height)s pixels; it must be at least %(min)s×%(min)s."),
            "avatar_too_small",
            width=width,
            height=height,
            min=MIN_SIDE,
        )
    if max(width, height) > MAX_SIDE:
        raise _invalid(
            _("The picture is %(width)s×%(height)s pixels; it can be at most %(max)s×%(max)s."),
            "avatar_too_big",
            width=width,
            height=height,
            max=MAX_SIDE,
        )
    max_pixels = settings.LMS_AVATAR_MAX_PIXELS // _PIXEL_SHARE_DIVISOR.get(image_format or "", 1)
    if width * height > max_pixels:
        raise _invalid(
            _(
                "The picture is %(width)s×%(height)s pixels (%(megapixels)s megapixels); it "
                "can have at most %(max)s megapixels. Make it smaller and try again."
            ),
            "avatar_too_many_pixels",
            width=width,
            height=height,
            megapixels=f"{width * height / 1e6:.1f}",
            max=f"{max_pixels / 1e6:.1f}",
        )


def _open(upload: UploadedFile) -> Image.Image:
    upload.seek(0)
    with warnings.catch_warnings():
        # Pillow only warns about a "decompression bomb" below twice its pixel limit; both
        # are refusals here (our own, lower, limit is checked right after opening).
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Reads the header only; the pixels are decoded once the dimensions are known.
            image = Image.open(upload, formats=sorted(ACCEPTED_FORMATS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _invalid(_("The picture has far too many pixels."), "avatar_too_big") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise _invalid(
                _("Upload a JPEG, PNG or WebP picture; this file is not one."),
                "avatar_not_an_image",
            ) from None
    return image


def _working_size(width: int, height: int) -> tuple[int, int]:
    """The smallest size worth decoding to: the long side at least twice the stored
    picture's, the short side at least twice the square thumbnail's."""
    long_side, short_side = REDUCING_GAP * STORED_MAX_SIDE, REDUCING_GAP * THUMBNAIL_SIDE
    return (long_side, short_side) if width >= height else (short_side, long_side)


def _decoded_small(image: Image.Image) -> Image.Image:
    """Decoded at (about) the working size, upright (the camera's EXIF orientation
    applied), first frame only, in RGB or RGBA."""
    target = _working_size(*image.size)
    if image.format == "JPEG":
        # libjpeg decodes straight to 1/2, 1/4 or 1/8 of the size: the full-size pixels
        # never exist in memory.
        image.draft(None, target)
    image.load()
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    image = _reduced(image, target)
    if method := _TRANSPOSE.get(orientation):
        image = image.transpose(method)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    return image.convert("RGBA" if has_alpha else "RGB")


def _reduced(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Box-average the decoded pixels down by a whole factor, keeping at least `target`,
    and drop the full-size pixels at once."""
    factor = min(image.width // target[0], image.height // target[1])
    if factor < 2:
        return image
    if image.mode not in _REDUCIBLE_MODES:
        has_alpha = image.mode in ("PA", "I;16A") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    reduced = image.reduce(factor)
    image.close()
    return reduced


def _webp(image: Image.Image) -> ContentFile:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    # The name is replaced by the field's upload_to; only the extension matters here.
    return ContentFile(buffer.getvalue(), name="avatar.webp")
