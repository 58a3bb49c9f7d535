"""Draw the demo school's course pictures and instructor portrait (run once; the WebP files
next to this script are committed, and `seed_demo` only reads them).

    .venv/bin/python progress/management/demo_assets/make_artwork.py

Everything is drawn with Pillow from fixed seeds, so running it again gives the same files.
Pictures are 1280x720 (16:9, as the course cards show them), portraits 512x512.
"""

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZE = (1280, 720)
SCALE = 2  # drawn at twice the size, then scaled down: smooth edges without anti-aliasing


def _gradient(size: tuple[int, int], top: tuple, bottom: tuple, diagonal: bool = True) -> Image:
    width, height = size
    image = Image.new("RGB", size)
    pixels = image.load()
    for y in range(height):
        for x in range(width):
            t = (x / width * 0.35 + y / height * 0.65) if diagonal else y / height
            pixels[x, y] = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
    return image


def _glow(image: Image, centre: tuple[int, int], radius: int, colour: tuple, blur: int) -> Image:
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).ellipse(
        [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius],
        fill=colour,
    )
    return Image.alpha_composite(
        image.convert("RGBA"), layer.filter(ImageFilter.GaussianBlur(blur))
    )


def _footprint(draw: ImageDraw, x: float, y: float, angle: float, scale: float, fill) -> None:
    """A shoe print: a sole and a heel, turned by `angle` (radians)."""

    def at(dx: float, dy: float) -> tuple[float, float]:
        return (
            x + (dx * math.cos(angle) - dy * math.sin(angle)) * scale,
            y + (dx * math.sin(angle) + dy * math.cos(angle)) * scale,
        )

    sole = [
        at(22 * math.cos(t / 20 * math.tau), -30 + 34 * math.sin(t / 20 * math.tau))
        for t in range(20)
    ]
    heel = [
        at(16 * math.cos(t / 16 * math.tau), 42 + 18 * math.sin(t / 16 * math.tau))
        for t in range(16)
    ]
    draw.polygon(sole, fill=fill)
    draw.polygon(heel, fill=fill)


def salsa() -> Image:
    """Warm red to amber; the basic step as footprints, and the eight counts as beats."""
    w, h = SIZE[0] * SCALE, SIZE[1] * SCALE
    image = _gradient((w // 8, h // 8), (190, 24, 66), (250, 146, 30)).resize((w, h), Image.BICUBIC)
    image = _glow(image, (int(w * 0.78), int(h * 0.3)), 420, (255, 220, 120, 150), 160)
    draw = ImageDraw.Draw(image, "RGBA")
    # Rhythm rings from the right, like a speaker playing the clave.
    for ring in range(9):
        r = 180 + ring * 150
        draw.ellipse(
            [w * 0.78 - r, h * 0.3 - r, w * 0.78 + r, h * 0.3 + r],
            outline=(255, 240, 220, 70 - ring * 6),
            width=10,
        )
    # The basic step: forward on 1-2-3, back on 5-6-7.
    prints = [
        (0.18, 0.52, -0.15),
        (0.27, 0.40, 0.12),
        (0.36, 0.55, -0.1),
        (0.45, 0.68, 0.15),
        (0.54, 0.55, -0.12),
        (0.63, 0.70, 0.1),
    ]
    for index, (px, py, angle) in enumerate(prints):
        _footprint(draw, px * w, py * h, angle, 3.2, (255, 250, 240, 235 - index * 12))
    # The eight counts: full beats where you step, hollow where you pause (4 and 8).
    for count in range(8):
        cx, cy, r = w * (0.12 + count * 0.085), h * 0.88, 34
        box = [cx - r, cy - r, cx + r, cy + r]
        if count in (3, 7):
            draw.ellipse(box, outline=(255, 255, 255, 230), width=8)
        else:
            draw.ellipse(box, fill=(255, 255, 255, 230))
    return image


def python() -> Image:
    """A dark editor window: code lines in syntax colours, a prompt and a snake of blocks."""
    w, h = SIZE[0] * SCALE, SIZE[1] * SCALE
    image = _gradient((w // 8, h // 8), (16, 24, 64), (30, 64, 120)).resize((w, h), Image.BICUBIC)
    image = _glow(image, (int(w * 0.2), int(h * 0.85)), 380, (80, 200, 255, 110), 180)
    draw = ImageDraw.Draw(image, "RGBA")
    # The window.
    left, top, right, bottom = w * 0.08, h * 0.12, w * 0.66, h * 0.88
    draw.rounded_rectangle([left, top, right, bottom], radius=44, fill=(10, 14, 32, 235))
    draw.rounded_rectangle([left, top, right, top + 90], radius=44, fill=(36, 42, 72, 255))
    draw.rectangle([left, top + 50, right, top + 90], fill=(36, 42, 72, 255))
    for index, colour in enumerate([(255, 95, 86), (255, 189, 46), (39, 201, 63)]):
        cx = left + 70 + index * 60
        draw.ellipse([cx - 18, top + 27, cx + 18, top + 63], fill=colour)
    # Code lines: keyword, name, value, in the editor's colours.
    rng = random.Random(7)
    palette = [(198, 120, 221), (97, 175, 239), (152, 195, 121), (229, 192, 123), (224, 108, 117)]
    y = top + 150
    for line in range(11):
        x = left + 80 + (60 if line % 4 in (1, 2) else 0)
        for _token in range(rng.randint(2, 4)):
            length = rng.randint(70, 260)
            draw.rounded_rectangle(
                [x, y, x + length, y + 34], radius=17, fill=(*rng.choice(palette), 235)
            )
            x += length + 30
        y += 66
    # The prompt ">>>" and a cursor.
    py = bottom - 90
    for index in range(3):
        x = left + 80 + index * 46
        draw.line([(x, py - 24), (x + 26, py), (x, py + 24)], fill=(152, 195, 121, 255), width=12)
    draw.rectangle([left + 240, py - 28, left + 268, py + 28], fill=(255, 255, 255, 220))
    # A snake of rounded blocks on the right, in Python's blue and yellow.
    for index in range(14):
        t = index / 13
        cx = w * (0.74 + 0.16 * math.sin(t * math.tau * 0.9))
        cy = h * (0.18 + 0.66 * t)
        colour = (55, 118, 171, 255) if index % 2 else (255, 212, 59, 255)
        r = 58 - index * 1.5
        draw.rounded_rectangle([cx - r, cy - r, cx + r, cy + r], radius=r * 0.45, fill=colour)
    return image


def night_sky() -> Image:
    """Deep night blue to violet, stars, a moon, and the orbit the choreography traces."""
    w, h = SIZE[0] * SCALE, SIZE[1] * SCALE
    image = _gradient((w // 8, h // 8), (10, 12, 48), (88, 36, 130)).resize((w, h), Image.BICUBIC)
    image = _glow(image, (int(w * 0.8), int(h * 0.24)), 260, (255, 236, 200, 120), 120)
    draw = ImageDraw.Draw(image, "RGBA")
    rng = random.Random(42)
    for _star in range(260):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h * 0.9), rng.choice([2, 3, 3, 4, 6])
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255, rng.randint(120, 255)))
    # The moon, a crescent.
    mx, my, mr = w * 0.8, h * 0.24, 130
    draw.ellipse([mx - mr, my - mr, mx + mr, my + mr], fill=(255, 244, 214, 255))
    draw.ellipse([mx - mr + 60, my - mr - 30, mx + mr + 60, my + mr - 30], fill=(28, 22, 80, 255))
    # The orbit: an ellipse and a dancer's trail of fading dots along it.
    cx, cy, rx, ry = w * 0.42, h * 0.6, w * 0.3, h * 0.2
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], outline=(200, 180, 255, 110), width=8)
    for index in range(26):
        t = 0.6 + index / 26 * 1.5
        x, y = cx + rx * math.cos(t * math.pi), cy + ry * math.sin(t * math.pi)
        r = 8 + index * 1.4
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 190, 240, 60 + index * 7))
    # The floor line the spiral descends to.
    draw.line([(0, h * 0.93), (w, h * 0.9)], fill=(255, 255, 255, 60), width=6)
    return image


def drills() -> Image:
    """Teal and blue; metronome bars like an equaliser: repetition, for the drills course."""
    w, h = SIZE[0] * SCALE, SIZE[1] * SCALE
    image = _gradient((w // 8, h // 8), (8, 112, 116), (37, 78, 190)).resize((w, h), Image.BICUBIC)
    draw = ImageDraw.Draw(image, "RGBA")
    bars = 24
    for index in range(bars):
        height = (0.25 + 0.55 * abs(math.sin(index * 0.55))) * h * 0.8
        x = w * 0.06 + index * (w * 0.88 / bars)
        draw.rounded_rectangle(
            [x, h * 0.86 - height, x + w * 0.88 / bars * 0.6, h * 0.86],
            radius=18,
            fill=(255, 255, 255, 90 + (index % 4) * 35),
        )
    return image


def portrait() -> Image:
    """Sam Rivera, the demo instructor: a friendly silhouette in the school's indigo."""
    size = 512 * SCALE
    image = _gradient((size // 8, size // 8), (79, 70, 229), (236, 72, 153)).resize(
        (size, size), Image.BICUBIC
    )
    draw = ImageDraw.Draw(image, "RGBA")
    draw.ellipse([size * 0.3, size * 0.18, size * 0.7, size * 0.58], fill=(255, 236, 220, 255))
    draw.ellipse([size * 0.12, size * 0.62, size * 0.88, size * 1.3], fill=(255, 255, 255, 235))
    # Hair and a headset microphone: an instructor mid-class.
    draw.chord(
        [size * 0.28, size * 0.14, size * 0.72, size * 0.5], 180, 360, fill=(40, 30, 60, 255)
    )
    draw.arc(
        [size * 0.26, size * 0.26, size * 0.74, size * 0.6],
        150,
        200,
        fill=(40, 30, 60, 255),
        width=14,
    )
    draw.ellipse([size * 0.36, size * 0.5, size * 0.42, size * 0.56], fill=(40, 30, 60, 255))
    return image


def save(image: Image, name: str, size: tuple[int, int]) -> None:
    path = HERE / name
    image.convert("RGB").resize(size, Image.LANCZOS).save(path, "WEBP", quality=78, method=6)
    print(f"{path.name}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    save(salsa(), "salsa-foundations.webp", SIZE)
    save(python(), "python-for-beginners.webp", SIZE)
    save(night_sky(), "contemporary-choreo-night-sky.webp", SIZE)
    save(drills(), "demo-large.webp", SIZE)
    save(portrait(), "instructor-sam-rivera.webp", (512, 512))
