"""Project thumbnails: check an upload and re-encode it with Pillow before anything is stored.

The same rules as avatars (`accounts.avatars`): the upload's name and content type are
ignored, Pillow opens the bytes and only JPEG, PNG and WebP within the size limit
(LMS_THUMBNAIL_MAX_BYTES) and the pixel limit (read from the header, before decoding) pass.
What is stored is our own WebP: the picture scaled to fit 1280×720, no metadata kept.
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
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MIN_WIDTH, MIN_HEIGHT = 320, 180
MAX_SIDE = 6000
# Most pixels a picture may have, read from its header: bounds the memory one upload takes
# (as LMS_AVATAR_MAX_PIXELS's default does for avatars).
MAX_PIXELS = 4096 * 4096
STORED_SIZE = (1280, 720)
WEBP_QUALITY = 82


@dataclass(frozen=True)
class Thumbnail:
    """A checked, re-encoded picture, ready to store (only `thumbnail_from_upload` makes one)."""

    file: ContentFile
    width: int
    height: int


def _invalid(message, code: str, **params: object) -> ValidationError:
    return ValidationError({"thumbnail": ValidationError(message, code=code, params=params)})


def thumbnail_from_upload(upload: UploadedFile) -> Thumbnail:
    """The file to store for an uploaded picture, or ValidationError on "thumbnail"."""
    limit = settings.LMS_THUMBNAIL_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise _invalid(
            _("The picture is too large (%(size)s); the limit is %(limit)s."),
            "thumbnail_too_large",
            size=filesizeformat(upload.size),
            limit=filesizeformat(limit),
        )
    image = _open(upload)
    _check_dimensions(*image.size)
    try:
        # JPEG decodes straight at a fraction of its size (libjpeg's scaled decoding).
        image.draft("RGB", STORED_SIZE)
        image = ImageOps.exif_transpose(image)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        image.thumbnail(STORED_SIZE, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # A valid header over a truncated or corrupt body.
        raise _invalid(_("The picture file is damaged."), "thumbnail_damaged") from None
    return Thumbnail(
        file=ContentFile(buffer.getvalue(), name="thumbnail.webp"),
        width=image.width,
        height=image.height,
    )


def _open(upload: UploadedFile) -> Image.Image:
    upload.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(upload, formats=ACCEPTED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _invalid(_("The picture has far too many pixels."), "thumbnail_too_big") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise _invalid(
                _("Upload a JPEG, PNG or WebP picture; this file is not one."),
                "thumbnail_not_an_image",
            ) from None


def _check_dimensions(width: int, height: int) -> None:
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise _invalid(
            _(
                "The picture is %(width)s×%(height)s pixels; it must be at least "
                "%(min_width)s×%(min_height)s."
            ),
            "thumbnail_too_small",
            width=width,
            height=height,
            min_width=MIN_WIDTH,
            min_height=MIN_HEIGHT,
        )
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise _invalid(
            _(
                "The picture is %(width)s×%(height)s pixels; it can have at most "
                "%(megapixels)s megapixels and %(max)s pixels a side."
            ),
            "thumbnail_too_big",
            width=width,
            height=height,
            megapixels=f"{MAX_PIXELS / 1e6:.1f}",
            max=MAX_SIDE,
        )
