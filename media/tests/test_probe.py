"""media.probe: the container and duration of MP4 and WebM files, read from their headers."""

import io
import struct
from pathlib import Path

import pytest

from media.probe import (
    MP4,
    WEBM,
    VideoInfo,
    VideoProbeError,
    VideoTypeError,
    mp4_duration,
    video_probe,
    webm_duration,
)

DATA = Path(__file__).parent / "data"
CLIPS = Path(__file__).resolve().parents[1] / "demo_clips"


# --- Builders for hand-made files ------------------------------------------------------------


def box(kind: bytes, payload: bytes, *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mvhd(timescale: int, duration: int, *, version: int = 0) -> bytes:
    if version == 1:
        body = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        body = bytes(4) + struct.pack(">IIII", 0, 0, timescale, duration)
    return box(b"mvhd", body + bytes(80))


def mp4(*boxes: bytes, brand: bytes = b"isom") -> bytes:
    return box(b"ftyp", brand + bytes(4) + b"isomiso2mp41") + b"".join(boxes)


def vint_size(size: int) -> bytes:
    return bytes([0x01]) + size.to_bytes(7, "big")  # 8-byte size, always valid


def element(element_id: int, payload: bytes) -> bytes:
    raw_id = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    return raw_id + vint_size(len(payload)) + payload


def webm(info: bytes, *, doc_type: bytes = b"webm", unknown_segment: bool = False) -> bytes:
    header = element(0x1A45DFA3, element(0x4282, doc_type))
    segment_body = element(0x114D9B74, bytes(20)) + element(0x1549A966, info)  # SeekHead, Info
    segment_body += element(0x1F43B675, bytes(100))  # a Cluster
    if unknown_segment:
        return header + bytes.fromhex("18538067") + bytes([0x01]) + b"\xff" * 7 + segment_body
    return header + element(0x18538067, segment_body)


def webm_info(duration: float | None, *, scale: int | None = None, width: int = 8) -> bytes:
    info = b""
    if scale is not None:
        info += element(0x2AD7B1, scale.to_bytes(4, "big"))
    info += element(0x4D80, b"test muxer")
    if duration is not None:
        info += element(0x4489, struct.pack(">d" if width == 8 else ">f", duration))
    return info


# --- Real files ------------------------------------------------------------------------------


@pytest.mark.parametrize("clip", sorted(CLIPS.glob("*.webm")), ids=lambda path: path.name)
def test_the_demo_clips_are_8_second_webm_videos(clip):
    with clip.open("rb") as handle:
        assert video_probe(handle) == VideoInfo(WEBM, 8.008)


def test_an_ffmpeg_mp4_with_its_movie_header_after_the_media_is_read():
    with (DATA / "tiny.mp4").open("rb") as handle:
        assert video_probe(handle) == VideoInfo(MP4, 2.5)


# --- MP4 -------------------------------------------------------------------------------------


def test_mp4_version_0_header_gives_duration_over_timescale():
    data = mp4(box(b"moov", mvhd(600, 4500)))

    assert mp4_duration(io.BytesIO(data)) == 7.5


def test_mp4_version_1_header_with_64_bit_duration_and_large_boxes():
    data = mp4(
        box(b"free", bytes(10)),
        box(b"mdat", bytes(5000), large=True),
        box(b"moov", box(b"udta", bytes(12)) + mvhd(90000, 90000 * 3600 * 3, version=1)),
    )

    assert video_probe(io.BytesIO(data)) == VideoInfo(MP4, 3 * 3600.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (mp4(box(b"mdat", bytes(100))), "no movie header"),
        (mp4(box(b"moov", mvhd(0, 100))), "gives no duration"),
        (mp4(box(b"moov", mvhd(1000, 0))), "gives no duration"),
        (mp4(box(b"moov", mvhd(1000, 5000)))[:-95], "incomplete"),
        (mp4(box(b"moov", b"\x00\x00\x00\x02mvhd")), "malformed box"),
    ],
    ids=["no-moov", "zero-timescale", "zero-duration", "truncated", "bad-box-size"],
)
def test_mp4_without_a_usable_movie_header_is_refused_clearly(data, message):
    with pytest.raises(VideoProbeError, match=message):
        video_probe(io.BytesIO(data))


def test_a_quicktime_movie_is_not_taken_for_an_mp4():
    data = mp4(box(b"moov", mvhd(600, 600)), brand=b"qt  ")

    with pytest.raises(VideoTypeError, match="QuickTime"):
        video_probe(io.BytesIO(data))


# --- WebM ------------------------------------------------------------------------------------


def test_webm_duration_uses_the_default_timecode_scale():
    data = webm(webm_info(12_345.0))  # milliseconds at the default 1 ms per tick

    assert webm_duration(io.BytesIO(data)) == 12.345


def test_webm_duration_honours_timecode_scale_and_a_4_byte_float():
    data = webm(webm_info(250.0, scale=10_000_000, width=4))  # 10 ms per tick

    assert video_probe(io.BytesIO(data)) == VideoInfo(WEBM, 2.5)


def test_webm_with_a_segment_of_unknown_size_is_read():
    data = webm(webm_info(6000.0), unknown_segment=True)

    assert webm_duration(io.BytesIO(data)) == 6.0


def test_webm_recorded_live_without_a_duration_says_how_to_fix_it():
    with pytest.raises(VideoProbeError, match=r"no duration.*remux"):
        video_probe(io.BytesIO(webm(webm_info(None))))


def test_matroska_that_is_not_webm_is_refused():
    with pytest.raises(VideoTypeError, match="not a WebM"):
        video_probe(io.BytesIO(webm(webm_info(1000.0), doc_type=b"matroska")))


def test_truncated_webm_is_refused_as_incomplete():
    data = webm(webm_info(1000.0))

    with pytest.raises(VideoProbeError, match="incomplete"):
        video_probe(io.BytesIO(data[:40]))


# --- Neither ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF89a" + bytes(100), b"%PDF-1.7\n" + bytes(100), b"\x00" * 3, b"RIFF\x00\x00AVI "],
    ids=["empty", "gif", "pdf", "tiny", "avi"],
)
def test_anything_else_is_not_an_mp4_or_webm(data):
    with pytest.raises(VideoTypeError, match="not an MP4 or WebM"):
        video_probe(io.BytesIO(data))
