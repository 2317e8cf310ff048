#!/usr/bin/env python3
"""Draws the app icon (RGBA PNGs; Tauri refuses RGB) with the standard library only:
a teal rounded square with a white countdown ring and a keyhole. Run from this folder."""
import math
import struct
import zlib

TEAL = (0, 140, 150)
TEAL_DARK = (0, 95, 105)
WHITE = (255, 255, 255)


def pixel(x, y, size):
    """Colour of one pixel, with 4x4 supersampling for smooth edges."""
    samples = []
    for sy in range(4):
        for sx in range(4):
            u = (x + (sx + 0.5) / 4) / size
            v = (y + (sy + 0.5) / 4) / size
            samples.append(shade(u, v))
    r = sum(s[0] * s[3] for s in samples)
    g = sum(s[1] * s[3] for s in samples)
    b = sum(s[2] * s[3] for s in samples)
    a = sum(s[3] for s in samples)
    if a == 0:
        return (0, 0, 0, 0)
    return (round(r / a), round(g / a), round(b / a), round(a / len(samples)))


def shade(u, v):
    """Colour at (u, v) in 0..1, alpha 0..255."""
    # Rounded square with 8% margin and 22% corner radius.
    m, rad = 0.06, 0.2
    cx = min(max(u, m + rad), 1 - m - rad)
    cy = min(max(v, m + rad), 1 - m - rad)
    if math.hypot(u - cx, v - cy) > rad:
        return (0, 0, 0, 0)
    t = v  # vertical gradient
    base = tuple(round(a + (b - a) * t) for a, b in zip(TEAL, TEAL_DARK))
    d = math.hypot(u - 0.5, v - 0.5)
    angle = (math.degrees(math.atan2(u - 0.5, -(v - 0.5))) + 360) % 360
    # Countdown ring: three quarters drawn.
    if 0.29 < d < 0.36 and angle < 270:
        return WHITE + (255,)
    # Keyhole: a circle and a tapered stem.
    if math.hypot(u - 0.5, v - 0.44) < 0.085:
        return WHITE + (255,)
    if 0.44 <= v <= 0.64 and abs(u - 0.5) < 0.035 + (v - 0.44) * 0.12:
        return WHITE + (255,)
    return base + (255,)


def png(size, path):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row.extend(pixel(x, y, size))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        out = struct.pack(">I", len(data)) + kind + data
        return out + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9))
    data += chunk(b"IEND", b"")
    with open(path, "wb") as handle:
        handle.write(data)


for size, name in [(32, "32x32.png"), (64, "tray.png"), (128, "128x128.png"), (256, "128x128@2x.png"), (512, "icon.png")]:
    png(size, name)
