#!/usr/bin/python3
"""Render the PWA icons (public/icons/*.png) with the stdlib only: a blue
rounded square with a white speech bubble, the same shape as favicon.svg."""
import struct
import zlib
from pathlib import Path

BLUE = (0x2B, 0x6C, 0xB0)
WHITE = (0xFF, 0xFF, 0xFF)


def inside_round_rect(x, y, x0, y0, x1, y1, r):
    if x < x0 or x > x1 or y < y0 or y > y1:
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def pixel(u, v, maskable):
    # u, v in 0..64 like the SVG viewBox.
    if maskable:  # full bleed background, artwork inside the 80 % safe zone
        u, v = 32 + (u - 32) / 0.72, 32 + (v - 32) / 0.72
        bg = True
    else:
        bg = inside_round_rect(u, v, 0, 0, 64, 64, 14)
    if not bg and not maskable:
        return None
    bubble = inside_round_rect(u, v, 10, 18, 54, 44, 6)
    tail = 20 <= u <= 30 and 44 <= v <= 52 and (u - 20) >= (v - 44) * 1.25 - 0.01 and u <= 30 - (v - 44) * 0
    tail = tail and (v - 44) <= (30 - u) * 0.8
    return WHITE if (bubble or tail) else BLUE


def png(size, maskable=False, ss=3):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    u = (x + (sx + 0.5) / ss) * 64 / size
                    v = (y + (sy + 0.5) / ss) * 64 / size
                    c = pixel(u, v, maskable)
                    if c:
                        acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2]; acc[3] += 255
            n = ss * ss
            a = acc[3] // n
            if a:
                row += bytes([acc[0] * 255 // acc[3], acc[1] * 255 // acc[3], acc[2] * 255 // acc[3], a])
            else:
                row += bytes([0, 0, 0, 0])
        rows.append(bytes(row))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


out = Path(__file__).resolve().parent.parent / "public" / "icons"
out.mkdir(parents=True, exist_ok=True)
(out / "icon-192.png").write_bytes(png(192))
(out / "icon-512.png").write_bytes(png(512))
(out / "icon-maskable-512.png").write_bytes(png(512, maskable=True))
