#!/usr/bin/env python3
"""Draw dist/bench/batch.json (from bench/batch.sh) as a small, deterministic SVG.

Usage: bench/plot.py [batch.json] [out.svg]

Log-log: tenants on x, median wall time on y (with min-max bars), one line per scenario
(fresh output directory; re-render where nothing changed), and the 2 s target for 10,000
tenants. Hand-written SVG, no plotting library, numbers rounded so that the same
measurements always give the same bytes.
"""
import json
import math
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "dist/bench/batch.json"
dst = sys.argv[2] if len(sys.argv) > 2 else "bench/batch-time.svg"
results = sorted(json.load(open(src))["results"], key=lambda r: r["n"])
SERIES = [("fresh", "#1f5fbf", "fresh output directory"),
          ("unchanged", "#2a9d3f", "re-render, nothing changed")]

W, H, L, R, T, B = 640, 400, 70, 20, 40, 50
xs = [r["n"] for r in results]
x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
ys = [r["min"] for r in results] + [r["max"] for r in results] + [2.0]
y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
if x1 == x0:
    x1 += 1
if y1 == y0:
    y1 += 1


def px(n):
    return L + (math.log10(n) - x0) / (x1 - x0) * (W - L - R)


def py(s):
    return H - B - (math.log10(s) - y0) / (y1 - y0) * (H - T - B)


def f(v):
    return f"{v:.1f}"


def seconds(s):
    return f"{s * 1000:g} ms" if s < 1 else f"{s:g} s"


out = [
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
    f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
    f'<rect width="{W}" height="{H}" fill="white"/>',
    f'<text x="{W // 2}" y="22" text-anchor="middle" font-size="15">'
    "render --batch, one stream per tenant: wall time (median, min-max)</text>",
]
for e in range(x0, x1 + 1):
    x = f(px(10**e))
    out.append(f'<line x1="{x}" y1="{T}" x2="{x}" y2="{H - B}" stroke="#ddd"/>')
    out.append(f'<text x="{x}" y="{H - B + 18}" text-anchor="middle">{10**e:,}</text>')
for e in range(y0, y1 + 1):
    y = f(py(10.0**e))
    out.append(f'<line x1="{L}" y1="{y}" x2="{W - R}" y2="{y}" stroke="#ddd"/>')
    out.append(f'<text x="{L - 6}" y="{y}" text-anchor="end" dy="4">{seconds(10.0**e)}</text>')
out.append(f'<text x="{(L + W - R) // 2}" y="{H - 12}" text-anchor="middle">tenants</text>')
out.append(
    f'<text x="16" y="{(T + H - B) // 2}" text-anchor="middle" '
    f'transform="rotate(-90 16 {(T + H - B) // 2})">wall time</text>'
)
# The target: 10,000 tenants in 2 s.
tx, ty = f(px(10_000)), f(py(2.0))
out.append(f'<circle cx="{tx}" cy="{ty}" r="5" fill="none" stroke="#c00" stroke-width="2"/>')
out.append(f'<text x="{tx}" y="{ty}" dx="-8" dy="-8" text-anchor="end" fill="#c00">target: 2 s</text>')
for i, (scenario, color, label) in enumerate(SERIES):
    series = [r for r in results if r.get("scenario", "fresh") == scenario]
    if not series:
        continue
    ly = T + 16 + 18 * i
    out.append(f'<line x1="{L + 12}" y1="{ly}" x2="{L + 36}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
    out.append(f'<text x="{L + 42}" y="{ly}" dy="4">{label}</text>')
    points = " ".join(f"{f(px(r['n']))},{f(py(r['median']))}" for r in series)
    out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
    for r in series:
        x = f(px(r["n"]))
        out.append(
            f'<line x1="{x}" y1="{f(py(r["min"]))}" x2="{x}" y2="{f(py(r["max"]))}" '
            f'stroke="{color}"/>'
        )
        out.append(f'<circle cx="{x}" cy="{f(py(r["median"]))}" r="4" fill="{color}"/>')
        # Labels: fresh below the point, unchanged above it.
        # The rightmost labels end left of their point, inside the plot.
        dy = 16 if scenario == "fresh" else -8
        right = r["n"] == max(xs)
        anchor = ' text-anchor="end"' if right else ""
        out.append(
            f'<text x="{x}" y="{f(py(r["median"]))}" dx="{-6 if right else 6}" dy="{dy}"'
            f'{anchor} fill="{color}">{seconds(round(r["median"], 3))}</text>'
        )
out.append("</svg>")
open(dst, "w").write("\n".join(out) + "\n")
