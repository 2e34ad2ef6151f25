"""Procedural materials: albedo as a function of surface coordinates (metres), plus gloss.

Textures are built from closed-form patterns (sines, lattice cells) and cheap lattice noise,
evaluated only at the product's pixels. Every pattern has a physical size, so a close-up
resolves the weave of a fabric or the rings of a wood grain while a full view shows only its
average tone. Each component fades out as its period approaches the pixel footprint (a
poor-man's mip-map), which avoids moire on small renders without blurring close-ups.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .products import UPHOLSTERY
from .shapes import Surface

f32 = np.float32
_LAT = 256  # lattice noise table side
_LINE = 4096  # 1D noise table length


def srgb_to_linear(c) -> np.ndarray:
    return (np.asarray(c, dtype=np.float32) / 255.0) ** 2.2


@lru_cache(maxsize=1)
def _lattice() -> np.ndarray:
    return np.random.default_rng(20240611).uniform(-1, 1, _LAT * _LAT).astype(np.float32)


@lru_cache(maxsize=1)
def _line() -> np.ndarray:
    return np.random.default_rng(20240612).uniform(-1, 1, _LINE).astype(np.float32)


@lru_cache(maxsize=1)
def _pebbles() -> np.ndarray:
    """Tileable 128x128 pebble-grain height map (leather): distance to the nearest jittered cell
    centre, normalised so cell centres are 1 and the creases between cells 0."""
    n, cells = 128, 16
    rng = np.random.default_rng(20240613)
    jitter = rng.random((cells, cells, 2)) * 0.8 + 0.1
    grid = np.stack(np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij"), -1)
    pts = grid + jitter  # pts[cy, cx] = (y, x) of that cell's centre
    y, x = np.mgrid[0:n, 0:n] * (cells / n) + 0.5 * cells / n
    d1 = np.full((n, n), 9.0)
    d2 = np.full((n, n), 9.0)
    cy, cx = np.floor(y).astype(int), np.floor(x).astype(int)
    for oy in (-1, 0, 1):
        for ox in (-1, 0, 1):
            jy, jx = cy + oy, cx + ox
            p = pts[jy % cells, jx % cells]
            dy = y - (p[..., 0] + (jy - jy % cells))
            dx = x - (p[..., 1] + (jx - jx % cells))
            d = np.sqrt(dx * dx + dy * dy)
            d2 = np.minimum(d2, np.maximum(d1, d))
            d1 = np.minimum(d1, d)
    edge = np.clip((d2 - d1) / 0.35, 0, 1)  # 0 on the crease between two cells
    return (edge ** 0.6).astype(np.float32)


def _tile(tile: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nearest-texel lookup in a tileable 128 x 128 tile (texels are at most a few pixels)."""
    return tile[(y.astype(np.int32) & 127), (x.astype(np.int32) & 127)]


_GRAIN_TILE = 512
_GRAIN_OVERSAMPLE = 8  # tile texels per noise lattice cell


@lru_cache(maxsize=1)
def _grain_tile() -> np.ndarray:
    """noise2 pre-rendered into a tileable 512 x 512 table, 8 texels per lattice cell (64 cells)."""
    n, k = _GRAIN_TILE, _GRAIN_OVERSAMPLE
    cells = n // k
    rng = np.random.default_rng(20240614)
    lat = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    f = (np.arange(n, dtype=np.float32) + 0.5) / k
    i0 = np.floor(f).astype(int)
    t = f - i0
    s = t * t * (3 - 2 * t)
    i0, i1 = i0 % cells, (i0 + 1) % cells
    rows = lat[i0] + (lat[i1] - lat[i0]) * s[:, None]  # interpolate along y
    return np.ascontiguousarray(rows[:, i0] + (rows[:, i1] - rows[:, i0]) * s[None, :])


def _grain(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Value noise like noise2, by one nearest-texel lookup: only for noise whose lattice cell is
    a few pixels, where a texel is a fraction of a pixel and interpolation would not show."""
    tile = _grain_tile().ravel()
    m = _GRAIN_TILE - 1
    ix = (x * f32(_GRAIN_OVERSAMPLE) + f32(seed % 509)).astype(np.int32) & m
    iy = (y * f32(_GRAIN_OVERSAMPLE) + f32(seed % 503)).astype(np.int32) & m
    return tile[iy * _GRAIN_TILE + ix]


def noise2(u: np.ndarray, v: np.ndarray, seed: int = 0) -> np.ndarray:
    """Smooth value noise in [-1, 1] with unit lattice spacing."""
    x = u + np.float32((seed * 71.37) % _LAT)
    y = v + np.float32((seed * 29.11) % _LAT)
    xf, yf = np.floor(x), np.floor(y)
    fx, fy = x - xf, y - yf
    i0 = xf.astype(np.int32) & (_LAT - 1)
    j0 = (yf.astype(np.int32) & (_LAT - 1)) * _LAT
    i1 = (i0 + 1) & (_LAT - 1)
    j1 = (j0 + _LAT) & (_LAT * _LAT - 1)
    t = _lattice()
    sx = fx * fx * (3 - 2 * fx)
    sy = fy * fy * (3 - 2 * fy)
    a = t[j0 + i0]
    b = t[j0 + i1]
    c = t[j1 + i0]
    d = t[j1 + i1]
    top = a + (b - a) * sx
    return top + ((c + (d - c) * sx) - top) * sy


def fbm(u, v, octaves: int, seed: int = 0) -> np.ndarray:
    out = np.zeros_like(u)
    amp, scale = np.float32(0.6), np.float32(1.0)
    for o in range(octaves):
        out += amp * noise2(u * scale, v * scale, seed + 13 * o)
        amp *= np.float32(0.5)
        scale *= np.float32(2.03)
    return out


def line_noise(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """1D linearly interpolated noise in [-1, 1] (streaks: brushed metal, wood fibre)."""
    x = x + np.float32((seed * 53.9) % _LINE)
    xf = np.floor(x)
    f = x - xf
    i = xf.astype(np.int32) & (_LINE - 1)
    t = _line()
    a = t[i]
    return a + (t[(i + 1) & (_LINE - 1)] - a) * f


def cell_noise(index: np.ndarray, seed: int = 0) -> np.ndarray:
    """Independent value in [-1, 1] per integer cell (per thread, per plank, per book)."""
    return _line()[(index.astype(np.int32) * 7 + seed * 131) & (_LINE - 1)]


def visible(period_m: float, px_m: float) -> np.float32:
    """Weight of a pattern component: 0 when its period spans < 2 px, 1 from 5 px up."""
    return np.float32(np.clip((period_m / max(px_m, 1e-9) - 2.0) / 3.0, 0.0, 1.0))


@dataclass(frozen=True)
class Material:
    texture: str
    base: np.ndarray  # linear RGB albedo
    alt: np.ndarray  # second colour: grain, veins, gaps, second yarn
    scale: float  # the texture's characteristic period, metres
    specular: float
    shininess: float
    sheen: float = 0.0  # grazing-angle brightening (velvet, plush)
    emission: float = 0.0  # lamp shades glow from the bulb inside
    metallic: bool = False  # specular takes the base colour
    seed: int = 0
    pattern: str = ""  # "books" | "rug" | "hide" | ""
    params: dict = field(default_factory=dict)


def _hsv(h, s, v) -> np.ndarray:
    """HSV (0..1) to linear RGB."""
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return srgb_to_linear(np.array(rgb) * 255)


# Colour palettes, sRGB, by texture: what that material typically comes in.
_PALETTE = {
    "wood": [((196, 160, 112), (150, 108, 64)), ((120, 78, 48), (70, 42, 24)), ((214, 190, 150), (176, 146, 104)),
             ((168, 102, 58), (112, 62, 30)), ((52, 40, 34), (28, 22, 19))],
    "metal": [(190, 192, 196), (200, 164, 90), (45, 45, 48), (184, 115, 80), (225, 228, 232)],
    "marble": [((236, 234, 230), (120, 120, 126)), ((30, 30, 32), (220, 220, 215)), ((70, 100, 80), (210, 225, 210)),
               ((224, 206, 178), (180, 150, 110))],
    "concrete": [(150, 150, 146), (185, 182, 176), (110, 110, 108)],
    "rattan": [((214, 180, 122), (90, 62, 34)), ((150, 110, 66), (50, 34, 20))],
    "leather": [(150, 82, 40), (30, 26, 24), (96, 56, 36), (190, 140, 92), (100, 30, 34)],
}


def _colour(texture: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if texture in ("wood", "marble", "rattan"):
        base, alt = _PALETTE[texture][rng.integers(len(_PALETTE[texture]))]
        j = rng.uniform(0.92, 1.08)
        return srgb_to_linear(np.clip(np.array(base) * j, 0, 255)), srgb_to_linear(np.clip(np.array(alt) * j, 0, 255))
    if texture in ("metal", "concrete", "leather"):
        base = np.array(_PALETTE[texture][rng.integers(len(_PALETTE[texture]))]) * rng.uniform(0.92, 1.06)
        base = srgb_to_linear(np.clip(base, 0, 255))
        return base, base * 0.5
    if texture == "boucle":  # mostly creams and oatmeal
        base = _hsv(rng.uniform(0.07, 0.13), rng.uniform(0.05, 0.25), rng.uniform(0.72, 0.93))
        return base, base * 0.75
    if texture == "velvet":  # rich, saturated
        base = _hsv(rng.random(), rng.uniform(0.35, 0.7), rng.uniform(0.25, 0.6))
        return base, base * 0.6
    if texture == "ceramic":
        if rng.random() < 0.3:
            base = _hsv(rng.uniform(0.08, 0.15), rng.uniform(0.03, 0.12), rng.uniform(0.85, 0.95))
        else:
            base = _hsv(rng.random(), rng.uniform(0.25, 0.75), rng.uniform(0.35, 0.85))
        return base, base * 0.35
    # fabric, lacquer: anything from neutrals to colour
    if rng.random() < 0.45:
        base = _hsv(rng.uniform(0.05, 0.15), rng.uniform(0.0, 0.2), rng.uniform(0.25, 0.9))
    else:
        base = _hsv(rng.random(), rng.uniform(0.25, 0.7), rng.uniform(0.3, 0.8))
    alt = base * rng.uniform(0.6, 0.9) if rng.random() < 0.6 else _hsv(rng.random(), 0.3, 0.6)
    return base, alt


# texture -> (period range in metres, specular, shininess, sheen, metallic)
_FINISH = {
    "fabric": ((0.0008, 0.0025), 0.03, 8.0, 0.1, False),
    "velvet": ((0.02, 0.04), 0.04, 6.0, 0.55, False),
    "boucle": ((0.004, 0.008), 0.02, 6.0, 0.15, False),
    "wood": ((0.002, 0.006), 0.12, 30.0, 0.0, False),
    "lacquer": ((0.002, 0.003), 0.35, 80.0, 0.0, False),
    "metal": ((0.0002, 0.0005), 0.7, 35.0, 0.0, True),
    "marble": ((0.06, 0.14), 0.2, 60.0, 0.0, False),
    "rattan": ((0.006, 0.011), 0.08, 15.0, 0.0, False),
    "concrete": ((0.002, 0.004), 0.03, 6.0, 0.0, False),
    "ceramic": ((0.01, 0.03), 0.55, 110.0, 0.0, False),
    "leather": ((0.0018, 0.0035), 0.2, 18.0, 0.0, False),
}


# Amplitude of unresolved texture at the pixel scale, by texture.
_GRAIN = {"fabric": 0.06, "velvet": 0.025, "boucle": 0.07, "wood": 0.03, "lacquer": 0.006, "metal": 0.03,
          "marble": 0.012, "rattan": 0.05, "concrete": 0.06, "ceramic": 0.006, "leather": 0.035}


def make_material(texture: str, rng: np.random.Generator, **overrides) -> Material:
    base, alt = _colour(texture, rng)
    (lo, hi), spec, shin, sheen, metallic = _FINISH[texture]
    kw = dict(texture=texture, base=base, alt=alt, scale=float(rng.uniform(lo, hi)), specular=spec,
              shininess=shin, sheen=sheen, metallic=metallic, seed=int(rng.integers(1 << 16)))
    kw.update(overrides)
    return Material(**kw)


def role_materials(roles_used: set[str], primary: str, trim: str, kind: str, pattern: dict,
                   rng: np.random.Generator) -> dict[str, Material]:
    """One material per role a product uses. Only ``primary`` and ``trim`` come from the spec;
    bedding, shades, books and fringes are fabric or lacquer in every split, and cushions
    repeat the primary upholstery or are fabric."""
    mats: dict[str, Material] = {}
    prim_over = {}
    if kind == "rug":
        prim_over = dict(pattern="hide" if primary == "leather" else "rug", params=dict(pattern))
    mats["primary"] = make_material(primary, rng, **prim_over)
    mats["trim"] = make_material(trim, rng)
    if "accent" in roles_used:
        if kind == "bed" or rng.random() < 0.5:  # bedding and plain cushions: light neutrals
            a = _hsv(rng.uniform(0.05, 0.6), rng.uniform(0.0, 0.15), rng.uniform(0.8, 0.96))
            mats["accent"] = make_material("fabric", rng, base=a, alt=a * 0.85)
        else:
            mats["accent"] = make_material(primary if primary in UPHOLSTERY else "fabric", rng)
    if "shade" in roles_used:  # linen neutrals mostly; glowing a little, not enough to vanish on white
        if rng.random() < 0.6:
            a = _hsv(rng.uniform(0.08, 0.14), rng.uniform(0.05, 0.25), rng.uniform(0.62, 0.86))
        else:
            a = _hsv(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.15, 0.7))
        mats["shade"] = make_material("fabric", rng, base=a, alt=a * 0.9, emission=float(rng.uniform(0.05, 0.2)))
    if "inner" in roles_used:
        m = mats["primary"]
        mats["inner"] = make_material(m.texture, rng, base=m.base * 0.55, alt=m.alt * 0.55)
    if "books" in roles_used:
        cols = np.stack([_hsv(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.85)) for _ in range(8)])
        mats["books"] = make_material("lacquer", rng, pattern="books", params={"colours": cols}, specular=0.08)
    if "fringe" in roles_used:
        a = _hsv(0.1, rng.uniform(0.05, 0.2), rng.uniform(0.75, 0.9))
        mats["fringe"] = make_material("fabric", rng, base=a, alt=a * 0.8, scale=0.0015)
    return mats


def albedo(m: Material, s: Surface, px: float) -> np.ndarray:
    """Linear albedo (three channel arrays) of material m at surface points s, for a pixel
    footprint of px metres."""
    u, v, seed = s.u, s.v, m.seed
    p = m.scale
    base, alt = m.base.astype(np.float32), m.alt.astype(np.float32)
    t = m.texture
    mix = None  # weight of alt colour, (N,)
    if t == "fabric":
        a, b = u / f32(p), v / f32(p)
        ia, ib = np.floor(a), np.floor(b)
        # Plain weave: the warp is on top on alternate cells. Blends rather than np.where: the
        # mask flips every thread, which defeats branch prediction.
        over = (1 - ((ia + ib).astype(np.int32) & 1)).astype(np.float32)
        hw, hf = np.sin(f32(np.pi) * (b - ib)), np.sin(f32(np.pi) * (a - ia))
        h = hf + over * (hw - hf)
        sw, sf = cell_noise(ib, seed), cell_noise(ia, seed + 7)
        slub = sf + over * (sw - sf)
        k = visible(p, px)
        tone = 1 + k * (f32(0.3) * (h - f32(0.64)) + f32(0.1) * slub)
        mix = (1 - over) * (f32(0.6) * k) + f32(0.2) * (1 - k)
        tone *= 1 + f32(0.05) * noise2(u * f32(25), v * f32(25), seed)
    elif t == "velvet":
        tone = 1 + f32(0.12) * noise2(u / f32(p), v / f32(p * 1.5), seed) + f32(0.06) * visible(0.0008, px) * noise2(
            u * f32(1250), v * f32(1250), seed + 1)
    elif t == "boucle":
        # Looped yarn: round nubs (pebble cells) with curly highlights (ridged noise) on them.
        k = visible(p, px)
        nub = _tile(_pebbles(), u / f32(p / 8), v / f32(p / 8))
        n = noise2(u / f32(p * 0.7), v / f32(p * 0.7), seed)
        ridge = (1 - np.minimum(np.abs(n), f32(1))) ** 4
        tone = 1 + k * (f32(0.5) * (nub - f32(0.73)) + f32(0.3) * ridge - f32(0.08))
    elif t == "wood":
        # Ring lines wander slowly along the board and a little across it; 1D noise and a sine
        # give that figure at a fifth of the cost of 2D noise.
        ph = f32((seed % 97) / 97.0 * 2 * np.pi)
        warp = f32(1.6) * line_noise(u * f32(2.5) + v * f32(3.0), seed) + f32(0.6) * np.sin(u * f32(9) + v * f32(40) + ph)
        w = v / f32(p) + warp
        ring = (f32(0.5) + f32(0.5) * np.cos(f32(2 * np.pi) * w)) ** 4
        fibre = line_noise(v * f32(2500), seed)
        plank = cell_noise(np.floor(v / f32(0.12)), seed) * f32(0.07)
        mix = visible(p, px) * f32(0.6) * ring + visible(0.0004, px) * f32(0.15) * (fibre * f32(0.5) + f32(0.5)) + f32(0.15) * (
            1 - visible(p, px))
        tone = 1 + plank
    elif t == "lacquer":
        tone = 1 + f32(0.02) * visible(p, px) * noise2(u / f32(p), v / f32(p), seed)
    elif t == "metal":
        tone = (1 + f32(0.14) * visible(p, px) * line_noise(v / f32(p), seed)
                + f32(0.07) * visible(0.003, px) * line_noise(v * f32(330), seed + 1))
    elif t == "marble":
        # Veins run mostly one way and wander less than one spacing, so they stay lines instead of
        # closing into contour loops; a finer, fainter second set crosses them.
        turb = fbm(u * f32(5), v * f32(5), 2, seed)
        x = (u * f32(0.8) + v * f32(0.6)) / f32(p) + f32(0.45) * turb
        # Bases are clamped at 0.1 before high powers: tiny powers would be denormal floats (slow).
        s1 = np.maximum(1 - np.abs(np.sin(f32(np.pi) * x)), f32(0.1))
        vein = s1 ** 16 + f32(0.25) * s1 ** 3
        x2 = (v * f32(0.9) - u * f32(0.4)) / f32(p * 0.37) + f32(0.5) * noise2(u * f32(12), v * f32(12), seed + 2)
        vein2 = f32(0.45) * np.maximum(1 - np.abs(np.sin(f32(np.pi) * x2)), f32(0.1)) ** 30
        mix = np.minimum(vein + vein2, f32(1)) * f32(0.85)
        tone = 1 + f32(0.05) * turb
    elif t == "rattan":
        cover = None
        for ang in (0.0, 60.0, 120.0):
            c, sn = f32(np.cos(np.radians(ang))), f32(np.sin(np.radians(ang)))
            sdir = np.cos(f32(2 * np.pi / p) * (u * c + v * sn))
            strand = np.clip((sdir - f32(0.15)) / f32(0.6), 0, 1)
            cover = strand if cover is None else np.maximum(cover, strand)
        k = visible(p, px)
        mix = (1 - cover) * k + f32(0.3) * (1 - k)
        tone = 1 + f32(0.12) * visible(0.002, px) * line_noise((u + v) * f32(600), seed)
    elif t == "concrete":
        fine = noise2(u / f32(p), v / f32(p), seed + 1)
        k = visible(p, px)
        pores = (fine > f32(0.72)) * k  # air holes: the fine noise's rare peaks
        tone = (1 + f32(0.12) * noise2(u * f32(20), v * f32(20), seed) + f32(0.07) * k * fine) * (1 - f32(0.35) * pores)
    elif t == "ceramic":
        tone = 1 + f32(0.07) * noise2(u / f32(p), v / f32(p), seed)
        speck = (noise2(u * f32(900), v * f32(900), seed + 1) > f32(0.8)) * visible(0.0011, px)
        mix = f32(0.8) * speck
    elif t == "leather":
        k = visible(p, px)
        h = _tile(_pebbles(), u / f32(p / 8), v / f32(p / 8))  # 8 tile pixels per grain cell
        tone = 1 + k * f32(0.45) * (h - f32(0.73)) + f32(0.06) * noise2(u * f32(15), v * f32(15), seed)
    else:
        raise ValueError(f"unknown texture {t!r}")
    grain = _GRAIN[t] * (1 - float(visible(p, px)))
    if grain > 0.002:
        # The weave or grain that is too fine to resolve still speckles real photos at the pixel
        # scale; without it a clean render of a smooth material would carry no fine detail for
        # blur to remove.
        tone = tone * (1 + f32(grain) * _grain(u / f32(2.5 * px), v / f32(2.5 * px), seed))
    tone = np.maximum(tone, f32(0.05))
    if mix is None:
        col = [tone * base[c] for c in range(3)]
    else:
        col = [(base[c] + (alt[c] - base[c]) * mix) * tone for c in range(3)]
    if m.pattern:
        col = _pattern(m, s, col, tone)
    return col


def _pattern(m: Material, s: Surface, col: list[np.ndarray], tone: np.ndarray) -> list[np.ndarray]:
    """Designs laid over the material: book spines, a rug's border and medallion, a hide."""
    if m.pattern == "books":
        # Spines along the row: each book its own colour, with a dark gap between books.
        x = s.u / f32(0.026) + f32(0.7) * line_noise(s.u * f32(9), m.seed)
        idx = np.floor(x).astype(np.int32)
        pick = ((cell_noise(idx, m.seed) + 1) * 3.99).astype(np.int32)
        gap = f32(0.75) + f32(0.25) * np.minimum(np.abs(np.sin(f32(np.pi) * x)) * f32(4), f32(1))
        cols = m.params["colours"].astype(np.float32)
        return [cols[:, c][pick] * gap * tone for c in range(3)]
    if m.pattern == "rug":
        hx, hz = m.params["rug_half"]
        qx, qz = np.abs(s.local[0]), np.abs(s.local[2])
        d = np.minimum(f32(hx) - qx, f32(hz) - qz)
        bw = f32(min(hx, hz) * 0.14)
        diamond = qx / f32(hx) + qz / f32(hz)
        design = (((d < bw) & (d > bw * f32(0.25))) | ((d > bw * f32(1.3)) & (d < bw * f32(1.55)))
                  | (diamond < f32(0.42)) | (np.abs(diamond - f32(0.55)) < f32(0.025)))
        w = design.astype(np.float32)
        alt = m.alt * 0.7
        return [col[c] + (f32(alt[c]) * tone - col[c]) * w for c in range(3)]
    if m.pattern == "hide":
        n = fbm(s.u * f32(2.5), s.v * f32(2.5), 3, m.seed)
        w = np.clip((n - f32(0.05)) * f32(8), 0, 1)
        dark = m.alt * 0.25
        return [col[c] + (f32(dark[c]) * tone - col[c]) * w for c in range(3)]
    return col
