"""The Teams app icons, drawn and PNG-encoded with the standard library (zlib + struct), no imaging package.

Teams wants a 192x192 full-colour icon and a 32x32 outline icon (white strokes on a transparent
background). Both show the same hand-off arrow: a bar and a triangular head, drawn as shapes in a
unit square and scaled to each size, so there is one drawing, not two.
"""

from __future__ import annotations

import struct
import zlib

Pixel = tuple[int, int, int, int]  # RGBA, 0-255
WHITE: Pixel = (255, 255, 255, 255)
CLEAR: Pixel = (0, 0, 0, 0)
COLOR_SIZE, OUTLINE_SIZE = 192, 32

# The arrow in unit coordinates (0..1, y down): a bar and a head pointing right.
BAR = (0.21, 0.44, 0.63, 0.56)  # left, top, right, bottom
HEAD = ((0.58, 0.29), (0.82, 0.5), (0.58, 0.71))


def _in_triangle(x: float, y: float, corners: tuple[tuple[float, float], ...]) -> bool:
    (ax, ay), (bx, by), (cx, cy) = corners

    def side(px: float, py: float, qx: float, qy: float) -> float:
        return (x - qx) * (py - qy) - (px - qx) * (y - qy)

    d1, d2, d3 = side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)
    return not ((d1 < 0 or d2 < 0 or d3 < 0) and (d1 > 0 or d2 > 0 or d3 > 0))


def _on_arrow(x: float, y: float) -> bool:
    left, top, right, bottom = BAR
    return (left <= x <= right and top <= y <= bottom) or _in_triangle(x, y, HEAD)


def draw(size: int, *, background: Pixel, ink: Pixel) -> list[list[Pixel]]:
    """Rows of pixels: the arrow in `ink` on `background`, sampled at each pixel's centre."""

    def pixel(column: int, row: int) -> Pixel:
        return ink if _on_arrow((column + 0.5) / size, (row + 0.5) / size) else background

    return [[pixel(column, row) for column in range(size)] for row in range(size)]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rows: list[list[Pixel]]) -> bytes:
    """An 8-bit RGBA, non-interlaced PNG (PNG spec: IHDR, one IDAT of filter-0 scanlines, IEND)."""
    height, width = len(rows), len(rows[0])
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # depth 8, colour type 6 = RGBA
    raw = b"".join(b"\x00" + bytes(channel for px in row for channel in px) for row in rows)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def hex_color(value: str) -> Pixel:
    value = value.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255)


def color_icon(accent: str) -> bytes:
    """192x192, full colour: a white hand-off arrow on the accent colour."""
    return encode_png(draw(COLOR_SIZE, background=hex_color(accent), ink=WHITE))


def outline_icon() -> bytes:
    """32x32, transparent background, white strokes only (Teams tints it)."""
    return encode_png(draw(OUTLINE_SIZE, background=CLEAR, ink=WHITE))
