"""What a video file is and how long it plays, read from its own header bytes.

Two small parsers, no ffprobe: MP4 (ISO base media: the `mvhd` box inside `moov`, wherever
`moov` sits in the file) and WebM (EBML: `Segment` → `Info` → `TimecodeScale` and `Duration`).
They read only box and element headers and seek past everything else, so a large file costs
a handful of small reads. A file that is neither, or whose header has no usable duration,
raises `VideoProbeError` with a message an editor can act on.
"""

import struct
from dataclasses import dataclass
from typing import BinaryIO

MP4 = "video/mp4"
WEBM = "video/webm"
EXTENSIONS = {MP4: "mp4", WEBM: "webm"}

# EBML ids (with their length-marker bits, as written in the file).
_EBML = 0x1A45DFA3
_DOC_TYPE = 0x4282
_SEGMENT = 0x18538067
_INFO = 0x1549A966
_TIMECODE_SCALE = 0x2AD7B1
_DURATION = 0x4489
_CLUSTER = 0x1F43B675
_DEFAULT_TIMECODE_SCALE = 1_000_000  # nanoseconds per tick

# MP4 brands that are QuickTime, not MP4 (browsers may not play them).
_QUICKTIME_BRANDS = {b"qt  "}
# A sane bound: no header box we read is larger than this.
_MAX_HEADER_ELEMENT = 1024 * 1024


class VideoProbeError(ValueError):
    """The bytes are not an MP4 or WebM video whose duration can be read."""


class VideoTypeError(VideoProbeError):
    """The bytes are neither MP4 nor WebM (whatever the file's name says)."""


@dataclass(frozen=True)
class VideoInfo:
    content_type: str
    duration_seconds: float


def video_probe(file: BinaryIO) -> VideoInfo:
    """Sniff the container from the first bytes and read the duration; `file` must seek."""
    file.seek(0)
    head = file.read(12)
    file.seek(0)
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return VideoInfo(MP4, mp4_duration(file))
    if head[:4] == _EBML.to_bytes(4, "big"):
        return VideoInfo(WEBM, webm_duration(file))
    raise VideoTypeError("This is not an MP4 or WebM video (its first bytes say otherwise).")


def _checked(duration: float) -> float:
    if not duration > 0 or duration != duration or duration == float("inf"):
        raise VideoProbeError("The video's header gives no usable duration.")
    return round(duration, 3)


# --- MP4 -------------------------------------------------------------------------------------


def _read_exact(file: BinaryIO, size: int) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise VideoProbeError("The file ends in the middle of its header: it is incomplete.")
    return data


def _mp4_boxes(file: BinaryIO, end: int | None):
    """(type, payload start, payload size) of each box from the current offset to `end`."""
    while end is None or file.tell() < end:
        start = file.tell()
        header = file.read(8)
        if not header:
            return
        if len(header) < 8:
            raise VideoProbeError("The file ends in the middle of a box: it is incomplete.")
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:  # a 64-bit size follows
            (size,) = struct.unpack(">Q", _read_exact(file, 8))
            header_size = 16
        elif size == 0:  # the box runs to the end of the file (or of its parent)
            size = (end if end is not None else _file_size(file)) - start
        if size < header_size:
            raise VideoProbeError("The file has a malformed box.")
        yield kind, start + header_size, size - header_size
        file.seek(start + size)


def _file_size(file: BinaryIO) -> int:
    here = file.tell()
    size = file.seek(0, 2)
    file.seek(here)
    return size


def mp4_duration(file: BinaryIO) -> float:
    """Seconds from `moov/mvhd` (duration / timescale), versions 0 and 1."""
    file.seek(0)
    first = True
    for kind, start, size in _mp4_boxes(file, None):
        if first:
            if kind != b"ftyp":
                raise VideoProbeError("This is not an MP4 video (no ftyp box first).")
            if _read_exact(file, min(size, 4)) in _QUICKTIME_BRANDS:
                raise VideoTypeError("This is a QuickTime movie, not an MP4: export it as MP4.")
            first = False
            continue
        if kind == b"moov":
            for child, child_start, child_size in _mp4_boxes(file, start + size):
                if child == b"mvhd":
                    return _mvhd_duration(file, child_start, child_size)
            break
    raise VideoProbeError("The MP4 has no movie header (moov/mvhd): it may be incomplete.")


def _mvhd_duration(file: BinaryIO, start: int, size: int) -> float:
    file.seek(start)
    body = _read_exact(file, min(size, 32))
    version = body[0]
    if version == 1:
        if len(body) < 32:
            raise VideoProbeError("The MP4's movie header is too short.")
        timescale, duration = struct.unpack(">IQ", body[20:32])
    elif version == 0:
        if len(body) < 20:
            raise VideoProbeError("The MP4's movie header is too short.")
        timescale, duration = struct.unpack(">II", body[12:20])
    else:
        raise VideoProbeError(f"Unknown MP4 movie header version {version}.")
    if timescale == 0 or duration in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        raise VideoProbeError("The MP4's header gives no duration (a fragmented or live file?).")
    return _checked(duration / timescale)


# --- WebM (EBML) -----------------------------------------------------------------------------


def _vint(file: BinaryIO, *, keep_marker: bool) -> tuple[int, int, bool]:
    """An EBML variable-size integer: (value, byte length, all value bits set = unknown)."""
    first = file.read(1)
    if not first:
        raise VideoProbeError("The file ends in the middle of its header: it is incomplete.")
    byte = first[0]
    length = 1
    mask = 0x80
    while length <= 8 and not byte & mask:
        length += 1
        mask >>= 1
    if length > 8:
        raise VideoProbeError("The WebM file has a malformed element header.")
    rest = _read_exact(file, length - 1)
    value = byte if keep_marker else byte & (mask - 1)
    for extra in rest:
        value = (value << 8) | extra
    unknown = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, unknown


def _ebml_element(file: BinaryIO) -> tuple[int, int, int | None] | None:
    """(id, payload start, payload size or None when unknown), or None at the end."""
    if not file.read(1):
        return None
    file.seek(-1, 1)
    element_id, _, _ = _vint(file, keep_marker=True)
    size, _, unknown = _vint(file, keep_marker=False)
    return element_id, file.tell(), None if unknown else size


def _ebml_children(file: BinaryIO, end: int | None):
    while end is None or file.tell() < end:
        element = _ebml_element(file)
        if element is None:
            return
        element_id, start, size = element
        yield element_id, start, size
        if size is None:
            return  # an element of unknown size: its children follow, nothing after it
        file.seek(start + size)


def _ebml_payload(file: BinaryIO, start: int, size: int | None) -> bytes:
    if size is None or size > _MAX_HEADER_ELEMENT:
        raise VideoProbeError("The WebM file has a malformed header element.")
    file.seek(start)
    return _read_exact(file, size)


def webm_duration(file: BinaryIO) -> float:
    """Seconds from `Segment/Info/Duration` (a float in TimecodeScale ticks)."""
    file.seek(0)
    header = _ebml_element(file)
    if header is None or header[0] != _EBML:
        raise VideoProbeError("This is not a WebM video (no EBML header).")
    _, start, size = header
    doc_type = b""
    for element_id, child_start, child_size in _ebml_children(file, start + (size or 0)):
        if element_id == _DOC_TYPE:
            doc_type = _ebml_payload(file, child_start, child_size).rstrip(b"\x00")
    if doc_type != b"webm":
        raise VideoTypeError("This is a Matroska file but not a WebM video.")
    file.seek(start + (size or 0))
    for element_id, segment_start, segment_size in _ebml_children(file, None):
        if element_id == _SEGMENT:
            end = segment_start + segment_size if segment_size is not None else None
            file.seek(segment_start)
            return _segment_duration(file, end)
    raise VideoProbeError("The WebM file has no segment: it may be incomplete.")


def _segment_duration(file: BinaryIO, end: int | None) -> float:
    for element_id, start, size in _ebml_children(file, end):
        if element_id == _CLUSTER:
            break  # media data: the Info element comes before it in any file we accept
        if element_id != _INFO:
            continue
        scale = _DEFAULT_TIMECODE_SCALE
        duration = None
        for child_id, child_start, child_size in _ebml_children(file, start + (size or 0)):
            if child_id == _TIMECODE_SCALE:
                scale = int.from_bytes(_ebml_payload(file, child_start, child_size), "big")
            elif child_id == _DURATION:
                payload = _ebml_payload(file, child_start, child_size)
                if len(payload) not in (4, 8):
                    raise VideoProbeError("The WebM file's duration is malformed.")
                (duration,) = struct.unpack(">f" if len(payload) == 4 else ">d", payload)
        if duration is None:
            raise VideoProbeError(
                "The WebM file's header has no duration (recorded live?): remux it, e.g. "
                "with ffmpeg -i in.webm -c copy out.webm."
            )
        return _checked(duration * scale / 1e9)
    raise VideoProbeError("The WebM file has no segment information (Info): it may be incomplete.")
