"""Measure the memory one avatar upload costs, in a fresh process: `python -m
accounts.tests.avatar_memory <file>` prints JSON with the peak growth in bytes.

Why a subprocess and the kernel's numbers: Pillow keeps pixels and libjpeg/libpng/libwebp
their buffers in memory from malloc, which tracemalloc never sees. The kernel counts every
page: the process resets its high-water mark (writing 5 to /proc/self/clear_refs sets VmHWM
to the current VmRSS), processes the upload, and reports VmHWM minus the VmRSS it started
from, i.e. the most resident memory the processing added at any moment. The file is read
into memory first, as Django holds a small upload, so only the processing is counted.
"""

import json
import os
import sys
from pathlib import Path


def _status_kib(*names: str) -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _sep, rest = line.partition(":")
        if key in names:
            values[key] = int(rest.split()[0])
    return values


def main(path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
    import django

    django.setup()
    import gc

    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.avatars import avatar_files_from_upload

    # Warm up: import every Pillow plugin and codec on a tiny picture first.
    warm = Path(path).with_suffix(".warm")
    if warm.exists():
        avatar_files_from_upload(SimpleUploadedFile("w", warm.read_bytes()))
    upload = SimpleUploadedFile("upload", Path(path).read_bytes())
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kib("VmRSS")["VmRSS"]
    try:
        avatar_files_from_upload(upload)
        outcome = "accepted"
    except ValidationError as exc:
        outcome = exc.message_dict["avatar"][0]
    peak = _status_kib("VmHWM")["VmHWM"]
    print(json.dumps({"outcome": outcome, "peak_growth": (peak - before) * 1024}))


if __name__ == "__main__":
    main(sys.argv[1])
