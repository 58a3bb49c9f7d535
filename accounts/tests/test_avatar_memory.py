"""The memory an avatar upload can cost is bounded (issue 11: a 120 KB PNG of 6000×6000
pixels took the web process from 210 MB to 627 MB).

Each case runs `accounts.tests.avatar_memory` in a fresh Python process, which measures the
growth of its resident memory at the peak of processing one upload with the kernel's
high-water mark (VmHWM after resetting it through /proc/self/clear_refs). That counts what
tracemalloc cannot: Pillow's pixel buffers and the codecs' own allocations. Before this
change the 6000×6000 PNG measured about 430 MB here, and a 4096×4096 RGBA PNG 208 MB.

The stated bound: 9 bytes per pixel of LMS_AVATAR_MAX_PIXELS (at the default of 4096×4096,
151 MB) for the dearest picture accepted, whatever its format, and 8 MB for any picture
refused by its dimensions, which is never decoded. The worst cases measured: an RGBA PNG at
the limit (decoded, then one premultiplied copy while reducing: about 8 bytes a pixel), a
WebP at its half of the limit (libwebp's canvas next to Pillow's), a progressive 4:4:4 JPEG
(libjpeg's coefficient buffers, about 6 bytes a pixel, not shrunk by scaled decoding).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

MB = 1024 * 1024
REFUSED_BOUND = 8 * MB
ORANGE = (200, 80, 40)


def accepted_bound() -> int:
    return 9 * settings.LMS_AVATAR_MAX_PIXELS


def measure(path: Path) -> dict:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module, a tmp path
        [sys.executable, "-m", "accounts.tests.avatar_memory", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def write(path: Path, size: tuple[int, int], mode: str, fmt: str, **save) -> Path:
    colour = (*ORANGE, 255) if mode == "RGBA" else ORANGE
    Image.new(mode, size, colour).save(path, format=fmt, **save)
    # A tiny one of the same kind, processed first, so imports and codec set-up are not
    # counted as the picture's cost.
    Image.new(mode, (200, 200), colour).save(path.with_suffix(".warm"), format=fmt, **save)
    return path


def side_at_limit() -> int:
    return int(settings.LMS_AVATAR_MAX_PIXELS**0.5)


@pytest.mark.parametrize(
    ("mode", "fmt", "share", "save"),
    [
        ("RGBA", "PNG", 1, {}),
        ("RGBA", "WEBP", 2, {"lossless": True}),
        ("RGB", "JPEG", 1, {"progressive": True, "subsampling": 0, "quality": 90}),
    ],
    ids=["png-rgba", "webp-rgba", "jpeg-progressive-444"],
)
def test_the_largest_accepted_picture_costs_a_bounded_amount_of_memory(
    tmp_path, mode, fmt, share, save
):
    side = side_at_limit()
    path = write(tmp_path / f"largest.{fmt.lower()}", (side, side // share), mode, fmt, **save)
    assert path.stat().st_size < settings.LMS_AVATAR_MAX_BYTES

    measured = measure(path)

    assert measured["outcome"] == "accepted"
    assert measured["peak_growth"] < accepted_bound(), f"{measured['peak_growth'] / MB:.0f} MB"


def test_a_6000_square_png_is_refused_at_almost_no_cost(tmp_path):
    path = write(tmp_path / "bomb.png", (6000, 6000), "RGB", "PNG")
    assert path.stat().st_size < 200_000

    measured = measure(path)

    assert measured["outcome"].startswith("The picture is 6000×6000 pixels (36.0 megapixels)")
    assert measured["peak_growth"] < REFUSED_BOUND, f"{measured['peak_growth'] / MB:.0f} MB"
