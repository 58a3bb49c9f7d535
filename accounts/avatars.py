"""Avatar pictures: check an upload and re-encode it, with Pillow, before anything is stored.

The upload is trusted for nothing: its name and content type are ignored, the bytes are
opened and decoded by Pillow, and only JPEG, PNG and WebP within the size and dimension
limits pass. What is stored is always our own WebP encoding (so no metadata, EXIF location
or polyglot payload survives): the picture scaled to at most 512 px and a 128 px square
thumbnail for the header.
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

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MIN_SIDE = 64
MAX_SIDE = 6000
STORED_MAX_SIDE = 512
THUMBNAIL_SIDE = 128
WEBP_QUALITY = 85


@dataclass(frozen=True)
class AvatarFiles:
    picture: ContentFile
    thumbnail: ContentFile


def _invalid(message: str, code: str, **params: object) -> ValidationError:
    # Keyed by the form/model field, so the profile form and the API show it on "avatar".
    return ValidationError({"avatar": ValidationError(message, code=code, params=params)})


def avatar_files_from_upload(upload: UploadedFile) -> AvatarFiles:
    """The stored files for an uploaded picture, or ValidationError (on "avatar")."""
    max_bytes = settings.LMS_AVATAR_MAX_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise _invalid(
            _("The picture is too large (%(size)s); the limit is %(limit)s."),
            "avatar_too_large",
            size=filesizeformat(upload.size),
            limit=filesizeformat(max_bytes),
        )
    image = _open(upload)
    width, height = image.size
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
    try:
        image = _normalised(image)
    except (OSError, SyntaxError, ValueError):
        # A valid header over a truncated or corrupt body.
        raise _invalid(_("The picture file is damaged."), "avatar_damaged") from None

    picture = image.copy()
    picture.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), Image.Resampling.LANCZOS)
    thumbnail = ImageOps.fit(image, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return AvatarFiles(picture=_webp(picture), thumbnail=_webp(thumbnail))


def _open(upload: UploadedFile) -> Image.Image:
    upload.seek(0)
    with warnings.catch_warnings():
        # Pillow only warns about a "decompression bomb" below twice its pixel limit.
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


def _normalised(image: Image.Image) -> Image.Image:
    """Decoded, upright (the camera's EXIF orientation applied), first frame only, in RGB
    or RGBA."""
    image.load()
    image = ImageOps.exif_transpose(image) or image
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    return image.convert("RGBA" if has_alpha else "RGB")


def _webp(image: Image.Image) -> ContentFile:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    # The name is replaced by the field's upload_to; only the extension matters here.
    return ContentFile(buffer.getvalue(), name="avatar.webp")
