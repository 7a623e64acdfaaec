"""A minimal Mattebox generator adapter in Python: a checkerboard in two
colours from the seed, turning with the camera's roll.

Build it with componentize-py (from PyPI) against the WIT in plugins/wit:

    componentize-py -d ../../plugins/wit -w generator componentize app -o checker.wasm

then `mattebox plugin check examples/adapter-python`.
"""

import math
import random

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types


def frame_count(request: types.ShotRequest) -> int:
    seconds = request.duration.num / max(request.duration.den, 1)
    fps = request.fps.num / max(request.fps.den, 1)
    return max(1, round(seconds * fps))


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.AdapterInfo:
        fields = [types.Field.SIZE, types.Field.DURATION, types.Field.FPS, types.Field.SEED, types.Field.CAMERA]
        return types.AdapterInfo(id="checker", name="Checkerboard (Python example)", version="0.1.0", honours=fields)

    def generate(self, request: types.ShotRequest) -> types.TakeReport:
        rng = random.Random(request.seed)
        a = bytes(rng.randrange(256) for _ in range(3)) + b"\xff"
        b = bytes(rng.randrange(256) for _ in range(3)) + b"\xff"
        w, h, n = request.width, request.height, frame_count(request)
        square = max(4, h // 6)
        for k in range(n):
            t = k / (n - 1) if n > 1 else 0.0
            angle = math.radians(30.0 * request.camera.roll * t)
            c, s = math.cos(angle), math.sin(angle)
            rows = []
            for y in range(h):
                dy = y - h / 2
                row = bytearray()
                for x in range(w):
                    dx = x - w / 2
                    u, v = c * dx + s * dy, -s * dx + c * dy
                    row += a if (int(u // square) + int(v // square)) % 2 == 0 else b
                rows.append(bytes(row))
            try:
                host.emit_frame(w, h, b"".join(rows))
            except Err as e:
                raise Err(types.GenerateError_Other(str(e.value)))
            if not host.progress((k + 1) / n):
                raise Err(types.GenerateError_Cancelled())
        notes = []
        if request.prompt:
            notes.append(types.Deviation(types.Field.PROMPT, types.DeviationKind.DROPPED, "the checkerboard does not read prompts"))
        cam = request.camera
        if any(v != 0.0 for v in (cam.horizontal, cam.vertical, cam.pan, cam.tilt, cam.zoom)):
            notes.append(types.Deviation(types.Field.CAMERA, types.DeviationKind.APPROXIMATED, "only the roll turns the board"))
        if request.source_video is not None:
            notes.append(types.Deviation(types.Field.SOURCE_VIDEO, types.DeviationKind.DROPPED, "the checkerboard continues nothing"))
        return types.TakeReport(deviations=notes, vendor_generation=None)
