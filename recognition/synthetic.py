"""Synthetic fine-grained birds built from parts, with known ground truth.

Every image shows one little bird in side view, drawn from seven parts
(``PARTS``: body, breast, head, beak, wing, tail, legs) on a random
background. A class is a full assignment of a style to every part: a colour,
plus a shape (head: round or crested; beak: conical, thin or long; tail: fan,
forked or pointed), a texture (breast: plain or streaked; wing: plain, barred
or spotted) or a small mark (a cap on the head, a shoulder patch on the wing)
where the part has them. The classes (ids in table order) come in look-alike
groups whose members share every part's style except one:

============  ===========================================  ==========  ==================
group         classes                                      differ in   how
============  ===========================================  ==========  ==================
blackbird     red-winged / yellow-winged blackbird         wing        patch colour (local mark)
warbler       yellow- / white- / streak-breasted warbler   breast      colour, texture
sparrow       plain- / bar- / spot-winged sparrow          wing        texture
flycatcher    fork-tailed / fan-tailed flycatcher          tail        shape
jay           crested / round-headed jay                   head        shape
tern          orange-billed / black-billed tern            beak        colour (local mark)
dowitcher     long-billed / short-billed dowitcher         beak        shape
tanager       scarlet / azure tanager                      body        colour
woodpecker    red-headed / yellow-headed woodpecker        head        colour
============  ===========================================  ==========  ==================

Members of different groups differ in at least four parts. ``differing_parts``
says which parts tell two classes apart and ``look_alike_pairs`` lists the
pairs that differ in exactly one part.

Ground truth. Everything random about an image (position, scale, rotation,
mirroring, the pose of head, wing, tail and legs, the colour jitter of each
part, the background with its gradients, noise texture and distractor shapes,
the lighting and the pixel noise) comes from its seed alone, never from its
class: the same seed gives the same scene for every class, and pixels outside
the bird are identical across classes. ``render(a, seed, swap={"wing": b})``
draws class ``a`` with the wing of class ``b`` and changes nothing else, so for
a look-alike pair it reproduces ``render(b, seed)`` exactly, and every pixel that
changes lies in that part's mask in one image or the other. A classifier that is right
for the right reason must move from ``a`` to ``b`` under that swap, and an
explanation of "why a, rather than b?" should point at that part. This part
swap verification follows FunnyBirds (Hesse, Schaub-Meyer and Roth, "FunnyBirds:
A Synthetic Vision Dataset for a Part-Based Analysis of Explainable AI
Methods", ICCV 2023); the birds, classes and renderer here are this project's
own, flat-shaded 2-D drawings made with numpy.

Rendering is vectorised over a batch of images: every part is an analytic
shape (ellipses, circles, half-plane triangles, tapered strokes) evaluated on
the pixel-centre grid, without anti-aliasing, and parts are painted back to front, so each pixel belongs
to at most one part and the part masks are exactly what is visible. Only
elementwise arithmetic touches pixels, so an image is bit-identical whether it
is rendered alone or in a batch. Images are at least 32 pixels wide; at 64 the
smallest differences (a beak's colour, a wing patch) cover about 10 to 20
pixels, at 32 only a few.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rather.common.errors import BadInput

__all__ = [
    "PARTS",
    "CLASS_NAMES",
    "SyntheticSet",
    "attributes",
    "differing_parts",
    "look_alike_pairs",
    "make_set",
    "render",
    "render_parts",
]

PARTS: tuple[str, ...] = ("body", "breast", "head", "beak", "wing", "tail", "legs")
"""The parts every bird is made of, in the order of the part masks."""

_P = {name: i for i, name in enumerate(PARTS)}

# ---------------------------------------------------------------- class table

_PALETTE: dict[str, tuple[float, float, float]] = {
    "black": (0.10, 0.10, 0.12),
    "charcoal": (0.30, 0.30, 0.32),
    "grey": (0.56, 0.58, 0.61),
    "silver": (0.80, 0.82, 0.85),
    "white": (0.96, 0.96, 0.94),
    "buff": (0.87, 0.74, 0.53),
    "brown": (0.50, 0.32, 0.17),
    "chestnut": (0.64, 0.25, 0.10),
    "red": (0.88, 0.12, 0.10),
    "orange": (0.98, 0.56, 0.08),
    "yellow": (0.99, 0.86, 0.14),
    "olive": (0.47, 0.53, 0.18),
    "blue": (0.16, 0.38, 0.88),
    "pink": (0.92, 0.62, 0.62),
}

# Shapes and textures that vary between classes; other parts have one shape and are plain.
_SHAPES: dict[str, tuple[str, ...]] = {
    "head": ("round", "crested"),
    "beak": ("conical", "thin", "long"),
    "tail": ("fan", "forked", "pointed"),
}
_PATTERNS: dict[str, tuple[str, ...]] = {
    "breast": ("plain", "streaked"),
    "wing": ("plain", "barred", "spotted"),
}
_MARK_NOUNS: dict[str, str] = {"head": "cap", "wing": "patch"}


@dataclass(frozen=True)
class _Style:
    """How one part of one class looks: colour, shape, texture and mark colour."""

    colour: str
    shape: str = ""
    pattern: str = "plain"
    mark: str = ""

    def describe(self, part: str) -> str:
        """A readable phrase such as ``"black with red patch"`` or ``"brown, barred"``."""
        words = [self.colour]
        if part in _SHAPES:
            words.append(self.shape)
        if self.pattern != "plain":
            words.append(self.pattern)
        text = ", ".join(words)
        if self.mark:
            text += f" with {self.mark} {_MARK_NOUNS[part]}"
        return text


def _family(
    family: str, base: dict[str, _Style], members: Sequence[tuple[str, dict[str, _Style]]]
) -> list[tuple[str, dict[str, _Style]]]:
    """Classes ``"<prefix> <family>"`` that share ``base`` except for their own overrides."""
    return [(f"{prefix} {family}", {**base, **own}) for prefix, own in members]


_CLASSES: list[tuple[str, dict[str, _Style]]] = [
    *_family(
        "blackbird",
        dict(body=_Style("black"), breast=_Style("black"), head=_Style("black", "round"),
             beak=_Style("charcoal", "conical"), tail=_Style("black", "fan"), legs=_Style("charcoal")),
        [("red-winged", {"wing": _Style("black", mark="red")}),
         ("yellow-winged", {"wing": _Style("black", mark="yellow")})],
    ),
    *_family(
        "warbler",
        dict(body=_Style("olive"), head=_Style("olive", "round"), beak=_Style("charcoal", "thin"),
             wing=_Style("olive"), tail=_Style("olive", "fan"), legs=_Style("pink")),
        [("yellow-breasted", {"breast": _Style("yellow")}),
         ("white-breasted", {"breast": _Style("white")}),
         ("streak-breasted", {"breast": _Style("white", pattern="streaked")})],
    ),
    *_family(
        "sparrow",
        dict(body=_Style("brown"), breast=_Style("buff"), head=_Style("chestnut", "round"),
             beak=_Style("grey", "conical"), tail=_Style("brown", "pointed"), legs=_Style("pink")),
        [("plain-winged", {"wing": _Style("brown")}),
         ("bar-winged", {"wing": _Style("brown", pattern="barred")}),
         ("spot-winged", {"wing": _Style("brown", pattern="spotted")})],
    ),
    *_family(
        "flycatcher",
        dict(body=_Style("grey"), breast=_Style("white"), head=_Style("charcoal", "round"),
             beak=_Style("black", "thin"), wing=_Style("charcoal"), legs=_Style("black")),
        [("fork-tailed", {"tail": _Style("charcoal", "forked")}),
         ("fan-tailed", {"tail": _Style("charcoal", "fan")})],
    ),
    *_family(
        "jay",
        dict(body=_Style("blue"), breast=_Style("white"), beak=_Style("black", "conical"),
             wing=_Style("blue", pattern="barred"), tail=_Style("blue", "fan"), legs=_Style("black")),
        [("crested", {"head": _Style("blue", "crested")}),
         ("round-headed", {"head": _Style("blue", "round")})],
    ),
    *_family(
        "tern",
        dict(body=_Style("silver"), breast=_Style("white"), head=_Style("white", "round", mark="black"),
             wing=_Style("silver"), tail=_Style("white", "forked"), legs=_Style("orange")),
        [("orange-billed", {"beak": _Style("orange", "thin")}),
         ("black-billed", {"beak": _Style("black", "thin")})],
    ),
    *_family(
        "dowitcher",
        dict(body=_Style("buff"), breast=_Style("chestnut"), head=_Style("buff", "round"),
             wing=_Style("brown", pattern="spotted"), tail=_Style("brown", "fan"), legs=_Style("olive")),
        [("long-billed", {"beak": _Style("charcoal", "long")}),
         ("short-billed", {"beak": _Style("charcoal", "conical")})],
    ),
    *_family(
        "tanager",
        dict(breast=_Style("yellow"), head=_Style("black", "round"), beak=_Style("grey", "conical"),
             wing=_Style("black"), tail=_Style("black", "fan"), legs=_Style("charcoal")),
        [("scarlet", {"body": _Style("red")}),
         ("azure", {"body": _Style("blue")})],
    ),
    *_family(
        "woodpecker",
        dict(body=_Style("black"), breast=_Style("white"), beak=_Style("charcoal", "thin"),
             wing=_Style("black", pattern="barred"), tail=_Style("black", "pointed"), legs=_Style("grey")),
        [("red-headed", {"head": _Style("red", "round")}),
         ("yellow-headed", {"head": _Style("yellow", "round")})],
    ),
]

CLASS_NAMES: tuple[str, ...] = tuple(name for name, _ in _CLASSES)
"""Readable class names; class id ``i`` is ``CLASS_NAMES[i]``."""

_STYLES: tuple[dict[str, _Style], ...] = tuple(styles for _, styles in _CLASSES)


def _contrast(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """Texture colour on a part of colour ``rgb``: a pale tint on dark parts, a dark shade on light ones."""
    luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    if luma < 0.42:
        return tuple(0.3 * c + 0.7 * w for c, w in zip(rgb, (0.96, 0.94, 0.88)))
    return tuple(0.35 * c for c in rgb)


def _tables() -> dict[str, np.ndarray]:
    """The class table as arrays indexed [class, part]: colours (…, 3) and integer codes."""
    n_cls, n_parts = len(_STYLES), len(PARTS)
    colour = np.zeros((n_cls, n_parts, 3), np.float32)
    texture = np.zeros((n_cls, n_parts, 3), np.float32)
    mark = np.zeros((n_cls, n_parts, 3), np.float32)
    has_mark = np.zeros((n_cls, n_parts), bool)
    shape = np.zeros((n_cls, n_parts), np.int64)
    pattern = np.zeros((n_cls, n_parts), np.int64)
    for c, styles in enumerate(_STYLES):
        for p, part in enumerate(PARTS):
            style = styles[part]
            colour[c, p] = _PALETTE[style.colour]
            texture[c, p] = _contrast(_PALETTE[style.colour])
            if style.mark:
                mark[c, p] = _PALETTE[style.mark]
                has_mark[c, p] = True
            if part in _SHAPES:
                shape[c, p] = _SHAPES[part].index(style.shape)
            if part in _PATTERNS:
                pattern[c, p] = _PATTERNS[part].index(style.pattern)
    return {"colour": colour, "texture": texture, "mark": mark, "has_mark": has_mark,
            "shape": shape, "pattern": pattern}


_TABLE = _tables()


def _check_int(value: object, what: str, low: int, hint: str) -> int:
    """``value`` as an int if it is an integer of at least ``low``; BadInput otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise BadInput(f"{what}={value!r} is not usable; give {hint}")
    return int(value)


def _check_class(label: object, what: str) -> int:
    """``label`` as an int if it is a class id; BadInput otherwise."""
    label = _check_int(label, what, 0, f"a class id in [0, {len(CLASS_NAMES)})")
    if label >= len(CLASS_NAMES):
        raise BadInput(f"{what}={label} is out of range; classes are 0..{len(CLASS_NAMES) - 1}")
    return label


def attributes(label: int) -> dict[str, str]:
    """Readable style of every part of class ``label``, e.g. ``{"wing": "black with red patch", ...}``."""
    _check_class(label, "label")
    return {part: _STYLES[label][part].describe(part) for part in PARTS}


def differing_parts(a: int, b: int) -> tuple[str, ...]:
    """The parts (in ``PARTS`` order) whose style differs between classes ``a`` and ``b``."""
    _check_class(a, "a")
    _check_class(b, "b")
    return tuple(part for part in PARTS if _STYLES[a][part] != _STYLES[b][part])


def look_alike_pairs() -> list[tuple[int, int]]:
    """All class pairs ``(a, b)``, ``a < b``, that differ in exactly one part."""
    n = len(CLASS_NAMES)
    return [(a, b) for a in range(n) for b in range(a + 1, n) if len(differing_parts(a, b)) == 1]


# ------------------------------------------------------------------- geometry
# The bird frame: u points from tail to beak, v points up, the origin is the
# body centre and the unit is the bird scale L (pixels). Constants below are in
# that unit.

_BODY_A, _BODY_B = 0.30, 0.18
_BREAST_U, _BREAST_V, _BREAST_A, _BREAST_B = 0.15, -0.08, 0.19, 0.115
_HEAD_U, _HEAD_V, _HEAD_R = 0.28, 0.14, 0.125
_EYE_S, _EYE_T, _EYE_R = 0.045, 0.03, 0.03
_CAP_T = 0.035  # the cap covers the head above this line (head frame)
_CREST = ((-0.10, 0.08), (0.06, 0.11), (-0.25, 0.28))
# Beaks taper along an axis from (0.06, -0.01) in the head frame, base hidden in the head:
# (tip s, tip t, half-width at the base) for conical, thin and long.
_BEAK_BASE = (0.06, -0.01)
_BEAKS = ((0.27, -0.02, 0.075), (0.33, -0.025, 0.045), (0.48, -0.065, 0.045))
_MIN_HALF_WIDTH = 0.55  # pixels: thin strokes (legs, beaks) never vanish between pixel centres
_WING_U, _WING_V, _WING_A, _WING_B = -0.04, 0.05, 0.19, 0.082
_WING_TIP = ((-0.10, 0.07), (-0.10, -0.07), (-0.35, -0.015))
_PATCH_S, _PATCH_T, _PATCH_A, _PATCH_B = 0.09, 0.012, 0.09, 0.062
_TAIL_U, _TAIL_V = -0.22, 0.0
_LEG_U, _LEG_TOP, _LEG_BOTTOM, _FOOT, _LEG_HALF_WIDTH = (0.05, -0.04), -0.10, -0.32, 0.07, 0.018
_BAR_PERIOD = 0.105  # wing bars and spots
_STREAK_PERIOD = 0.12  # breast streaks

# A box in the bird frame that holds every part of every class in every pose.
_ENVELOPE = (-0.72, 0.80, -0.40, 0.50)  # u0, u1, v0, v1

_EYE_RGB = (0.05, 0.04, 0.04)
_N_DISTRACTORS = 4
_NOISE_GRIDS = (4, 9)
_BACKGROUNDS = (  # colour pairs of the background gradient: sky, foliage, earth, dusk, stone
    ((0.55, 0.72, 0.92), (0.90, 0.94, 0.98)),
    ((0.22, 0.42, 0.18), (0.55, 0.70, 0.35)),
    ((0.45, 0.36, 0.24), (0.78, 0.68, 0.50)),
    ((0.95, 0.62, 0.38), (0.42, 0.32, 0.52)),
    ((0.40, 0.42, 0.44), (0.78, 0.78, 0.76)),
)


# ---------------------------------------------------------------------- scenes


def _draw_scene(seed: int, size: int) -> dict[str, object]:
    """Every random choice for one image, from its seed only (never from its class).

    Floats and lists of floats, plus the noise arrays ``coarse`` (2, 4, 4),
    ``fine`` (2, 9, 9) and ``noise`` (3, S*S).
    """
    rng = np.random.default_rng(seed)
    r = iter(rng.random(96).tolist())  # a fixed budget of uniforms, more than are used

    def uni(lo: float, hi: float) -> float:
        return lo + (hi - lo) * next(r)

    s = float(size)
    # The whole bird: mirror, rotation, then a scale up to the largest whose envelope fits.
    mirror = 1.0 if next(r) < 0.5 else -1.0
    theta = math.radians(uni(-15.0, 15.0))
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    u0, u1, v0, v1 = _ENVELOPE
    corners = [(u, v) for u in (u0, u1) for v in (v0, v1)]
    xs = [mirror * u * cos_t - v * sin_t for u, v in corners]  # pixel offsets from the centre, / L
    ys = [-(mirror * u * sin_t + v * cos_t) for u, v in corners]
    margin = 1.0
    scale = (s - 2 * margin) / max(max(xs) - min(xs), max(ys) - min(ys)) * uni(0.75, 1.0)
    cx = uni(margin - min(xs) * scale, s - margin - max(xs) * scale)
    cy = uni(margin - min(ys) * scale, s - margin - max(ys) * scale)
    box = (cx + min(xs) * scale, cy + min(ys) * scale, cx + max(xs) * scale, cy + max(ys) * scale)

    # The parts' pose.
    head_tilt = math.radians(uni(-12.0, 12.0))
    wing_angle = math.radians(uni(5.0, 18.0))
    tail_angle = math.radians(uni(5.0, 30.0))
    scene: dict[str, object] = {
        "cx": cx, "cy": cy, "inv_scale": 1.0 / scale, "mirror": mirror, "cos": cos_t, "sin": sin_t,
        "head_u": _HEAD_U + uni(-0.02, 0.02), "head_v": _HEAD_V + uni(-0.02, 0.02),
        "head_cos": math.cos(head_tilt), "head_sin": math.sin(head_tilt),
        "wing_cos": math.cos(wing_angle), "wing_sin": math.sin(wing_angle),
        "tail_cos": -math.cos(tail_angle), "tail_sin": -math.sin(tail_angle),  # the tail points back
        "leg0": uni(-0.05, 0.05), "leg1": uni(-0.05, 0.05),
        "phase0": next(r), "phase1": next(r), "phase2": next(r),
    }

    # Background: a gradient between two colours of a theme, blotches of a third
    # colour, grain, a soft light spot, and distractors clear of the bird.
    low, high = _BACKGROUNDS[min(int(next(r) * len(_BACKGROUNDS)), len(_BACKGROUNDS) - 1)]
    first = [min(max(c + uni(-0.12, 0.12), 0.0), 1.0) for c in low]
    second = [min(max(c + uni(-0.12, 0.12), 0.0), 1.0) for c in high]
    if next(r) < 0.5:
        first, second = second, first
    alpha = uni(0.0, 2.0 * math.pi)
    reach = 0.7 * s
    scene |= {
        "grad_x": math.cos(alpha) / reach, "grad_y": math.sin(alpha) / reach,
        "grad_0": 0.5 - (math.cos(alpha) + math.sin(alpha)) * s / (2.0 * reach),
        "light_x": uni(0.0, s), "light_y": uni(0.0, s),
        "light_inv_r2": 1.0 / (uni(0.3, 0.8) * s) ** 2, "light": uni(-0.12, 0.22),
        "grain": uni(0.05, 0.3), "blotch": uni(0.0, 0.55), "sigma": uni(0.004, 0.03),
        "bg_low": first, "bg_span": [b - a for a, b in zip(first, second)],
        "blotch_rgb": [uni(0.1, 0.9) for _ in range(3)],
        "tint": [uni(0.9, 1.1) for _ in range(3)],
        "part_gain": [uni(0.86, 1.14) for _ in PARTS],
        "part_offset": [[uni(-0.04, 0.04) for _ in range(3)] for _ in PARTS],
    }

    # Distractors: ellipses (berries, leaves, twigs) that never touch the bird's envelope.
    distractors = []
    for on, x, y, radius, aspect, angle, red, green, blue in rng.random((_N_DISTRACTORS, 9)).tolist():
        a = s * (0.03 + 0.09 * radius)
        x, y = s * x, s * y
        gap = math.hypot(max(box[0] - x, 0.0, x - box[2]), max(box[1] - y, 0.0, y - box[3]))
        phi = math.pi * angle
        distractors.append([float(on < 0.7 and gap > a + 1.0), x, y, math.cos(phi), math.sin(phi),
                            1.0 / a, (1.0 + 3.0 * aspect) / a, 0.1 + 0.8 * red, 0.1 + 0.8 * green,
                            0.1 + 0.8 * blue])
    scene["distractors"] = distractors
    scene["coarse"] = rng.random((2, _NOISE_GRIDS[0], _NOISE_GRIDS[0]), dtype=np.float32)
    scene["fine"] = rng.random((2, _NOISE_GRIDS[1], _NOISE_GRIDS[1]), dtype=np.float32)
    scene["noise"] = rng.standard_normal((3, size * size), dtype=np.float32)
    return scene


def _stack(scenes: Sequence[dict[str, object]]) -> dict[str, np.ndarray]:
    """Stack per-image scenes into float32 batch arrays; scalars become (N, 1), lists (N, ...)."""
    out = {}
    for key, value in scenes[0].items():
        batch = np.array([sc[key] for sc in scenes], np.float32)
        out[key] = batch[:, None] if isinstance(value, float) else batch
    return out


# ------------------------------------------------------------------- drawing
# Pixels lie along one flat axis of length M = S*S, so that every elementwise
# operation runs over long contiguous rows. Per-image values are (N, 1) and
# colours (N, 3, 1); masks are (N, M) and colour fields (N, 3, M).


def _frame(u: np.ndarray, v: np.ndarray, origin_u, origin_v, cos, sin) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in a frame moved to ``origin`` and turned counter-clockwise by the given angle."""
    du = u - origin_u
    dv = v - origin_v
    return du * cos + dv * sin, dv * cos - du * sin


def _ellipse(s: np.ndarray, t: np.ndarray, a: float, b: float) -> np.ndarray:
    """Inside the axis-aligned ellipse with semi-axes ``a`` and ``b`` around the origin."""
    s = s * (1.0 / a)
    t = t * (1.0 / b)
    return s * s + t * t <= 1.0


def _triangle(s: np.ndarray, t: np.ndarray, corners) -> np.ndarray:
    """Inside the triangle with the given corners: the intersection of three half-planes."""
    (s0, t0), (s1, t1), (s2, t2) = corners
    if (s1 - s0) * (t2 - t0) - (t1 - t0) * (s2 - s0) < 0:  # make the corners counter-clockwise
        (s1, t1), (s2, t2) = (s2, t2), (s1, t1)
    inside = (s - s0) * (t1 - t0) - (t - t0) * (s1 - s0) <= 0.0
    inside &= (s - s1) * (t2 - t1) - (t - t1) * (s2 - s1) <= 0.0
    inside &= (s - s2) * (t0 - t2) - (t - t2) * (s0 - s2) <= 0.0
    return inside


def _stroke(u, v, au, av, bu, bv, half_a, half_b) -> np.ndarray:
    """Near the segment from (au, av) to (bu, bv), within a half-width going from ``half_a`` to ``half_b``."""
    eu = bu - au
    ev = bv - av
    pu = u - au
    pv = v - av
    h = np.clip((pu * eu + pv * ev) * (1.0 / (eu * eu + ev * ev)), 0.0, 1.0)
    qu = pu - h * eu
    qv = pv - h * ev
    half = half_a + (half_b - half_a) * h
    return qu * qu + qv * qv <= half * half


def _select(
    code: np.ndarray, variants: Sequence[Callable[[], np.ndarray] | None], dims: tuple[int, ...]
) -> np.ndarray:
    """Per image, the mask of variant ``code[n]``; variants no image of the batch uses are not computed."""
    out = np.zeros(dims, bool)
    for k, variant in enumerate(variants):
        chosen = code == k
        if variant is not None and chosen.any():
            out |= chosen & variant()
    return out


def _fraction(x: np.ndarray) -> np.ndarray:
    """The fractional part, x - floor(x), in [0, 1)."""
    return x - np.floor(x)


def _smooth_noise(grid: np.ndarray, size: int) -> np.ndarray:
    """Upsample values (..., G, G) to (..., S*S), bilinearly with smoothstep weights."""
    g = grid.shape[-1]
    pos = (np.arange(size, dtype=np.float32) + 0.5) * ((g - 1) / size)
    cell = np.floor(pos)  # at most G - 2, as pos < G - 1
    i0 = cell.astype(np.intp)
    w = pos - cell
    w = w * w * (3.0 - 2.0 * w)
    rows = np.take(grid, i0, axis=-2) * (1.0 - w)[:, None] + np.take(grid, i0 + 1, axis=-2) * w[:, None]
    out = np.take(rows, i0, axis=-1) * (1.0 - w) + np.take(rows, i0 + 1, axis=-1) * w
    return out.reshape(*grid.shape[:-2], size * size)


def _background(sc: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Backgrounds (N, 3, M) of a batch of scenes; ``x``, ``y`` (1, M) are the pixel centres."""
    ramp = np.clip(x * sc["grad_x"] + y * sc["grad_y"] + sc["grad_0"], 0.0, 1.0)
    img = sc["bg_low"][:, :, None] + sc["bg_span"][:, :, None] * ramp[:, None]
    coarse = _smooth_noise(sc["coarse"], size)
    fine = _smooth_noise(sc["fine"], size)
    blotches = (coarse[:, 0] * 0.6 + fine[:, 0] * 0.4) * sc["blotch"]
    img = img + (sc["blotch_rgb"][:, :, None] - img) * blotches[:, None]
    dx = x - sc["light_x"]
    dy = y - sc["light_y"]
    light = np.maximum(1.0 - (dx * dx + dy * dy) * sc["light_inv_r2"], 0.0) * sc["light"]
    img = img * (1.0 + (coarse[:, 1] * 0.5 + fine[:, 1] - 1.0) * sc["grain"])[:, None] + light[:, None]
    for k in range(_N_DISTRACTORS):
        on, cx, cy, cos, sin, inv_a, inv_b = (sc["distractors"][:, k, j, None] for j in range(7))
        if not on.any():
            continue
        s, t = _frame(x, y, cx, cy, cos, sin)
        s = s * inv_a
        t = t * inv_b
        inside = (s * s + t * t <= 1.0) & (on > 0.5)
        np.copyto(img, sc["distractors"][:, k, 7:10, None], where=inside[:, None])
    return img


def _render_batch(sc: dict[str, np.ndarray], src: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw a batch: ``src[n, p]`` is the class whose style part ``p`` of image ``n`` takes.

    Returns images float32 (N, 3, S, S) in [0, 1] and the owner of each pixel,
    int8 (N, S, S): the index in ``PARTS`` of the visible part, -1 for background.
    """
    n = src.shape[0]
    grid = np.arange(size, dtype=np.float32) + 0.5
    x = np.tile(grid, size)[None]
    y = np.repeat(grid, size)[None]
    du = (x - sc["cx"]) * sc["inv_scale"]
    dv = (sc["cy"] - y) * sc["inv_scale"]
    u = (du * sc["cos"] + dv * sc["sin"]) * sc["mirror"]
    v = dv * sc["cos"] - du * sc["sin"]
    dims = u.shape

    parts = np.arange(len(PARTS))
    shape_code = _TABLE["shape"][src, parts][:, :, None]  # (N, P, 1)
    pattern_code = _TABLE["pattern"][src, parts][:, :, None]
    has_mark = _TABLE["has_mark"][src, parts][:, :, None]

    # Part masks before occlusion, each in its own frame.
    body = _ellipse(u, v, _BODY_A, _BODY_B)
    breast = body & _ellipse(u - _BREAST_U, v - _BREAST_V, _BREAST_A, _BREAST_B)
    hs, ht = _frame(u, v, sc["head_u"], sc["head_v"], sc["head_cos"], sc["head_sin"])
    head = hs * hs + ht * ht <= _HEAD_R * _HEAD_R
    head |= _select(shape_code[:, _P["head"]], [None, lambda: _triangle(hs, ht, _CREST)], dims)
    thinnest = _MIN_HALF_WIDTH * sc["inv_scale"]
    beak = _select(shape_code[:, _P["beak"]], [
        lambda tip=tip: _stroke(hs, ht, *_BEAK_BASE, tip[0], tip[1], np.maximum(tip[2], thinnest), thinnest)
        for tip in _BEAKS
    ], dims)
    ws, wt = _frame(u, v, _WING_U, _WING_V, sc["wing_cos"], sc["wing_sin"])
    wing = _ellipse(ws, wt, _WING_A, _WING_B) | _triangle(ws, wt, _WING_TIP)
    ts, tt = _frame(u, v, _TAIL_U, _TAIL_V, sc["tail_cos"], sc["tail_sin"])
    tt = np.abs(tt)
    behind = ts >= 0.0
    tail = _select(shape_code[:, _P["tail"]], [
        lambda: behind & (ts <= 0.34) & (tt <= 0.045 + 0.17 * ts),  # fan
        lambda: behind & (ts <= 0.42) & (tt <= 0.04 + 0.35 * ts) & (tt >= (ts - 0.20) * 0.6),  # forked
        lambda: behind & (ts <= 0.46) & (tt <= 0.065 - 0.10 * ts),  # pointed
    ], dims)
    legs = np.zeros(dims, bool)
    leg = np.maximum(_LEG_HALF_WIDTH, thinnest)
    for top_u, key in zip(_LEG_U, ("leg0", "leg1")):
        foot_u = top_u + sc[key]
        legs |= _stroke(u, v, top_u, _LEG_TOP, foot_u, _LEG_BOTTOM, leg, leg)
        legs |= _stroke(u, v, foot_u, _LEG_BOTTOM, foot_u + _FOOT, _LEG_BOTTOM, leg, leg)

    # Paint back to front; what is painted last is visible.
    owner = np.full(dims, -1, np.int8)
    for name, mask in (("tail", tail), ("legs", legs), ("body", body), ("breast", breast),
                       ("wing", wing), ("beak", beak), ("head", head)):
        owner[mask] = _P[name]

    # Colour fields of the parts with each image's jitter: (N, 3, 1) or (N, 3, M).
    gain = sc["part_gain"][:, :, None]
    offset = sc["part_offset"]
    base, texture, mark = (
        np.clip(_TABLE[key][src, parts] * gain + offset, 0.0, 1.0)[:, :, :, None]
        for key in ("colour", "texture", "mark")
    )
    fields = {name: base[:, _P[name]] for name in ("tail", "legs", "beak")}
    shade = (1.0 + 0.16 * v * (1.0 / _BODY_B))[:, None]
    fields["body"] = base[:, _P["body"]] * shade

    b = _P["breast"]
    row = v * (1.0 / _STREAK_PERIOD) + sc["phase0"]
    dash = u * (1.0 / _STREAK_PERIOD) + sc["phase1"] + 0.5 * np.floor(row)
    streaks = _select(pattern_code[:, b], [
        None,
        lambda: (_fraction(row) < 0.5) & (_fraction(dash) < 0.7),  # streaked
    ], dims)
    fields["breast"] = np.where(streaks[:, None], texture[:, b], base[:, b]) * shade

    w = _P["wing"]
    along = ws * (1.0 / _BAR_PERIOD) + sc["phase0"]
    across = wt * (1.0 / _BAR_PERIOD) + sc["phase2"] + 0.5 * np.floor(along)
    marks = _select(pattern_code[:, w], [
        None,
        lambda: _fraction(along) < 0.45,  # barred
        lambda: (_fraction(along) - 0.5) ** 2 + (_fraction(across) - 0.5) ** 2 < 0.1,  # spotted
    ], dims)
    patch = has_mark[:, w] & _ellipse(ws - _PATCH_S, wt - _PATCH_T, _PATCH_A, _PATCH_B)
    field = np.where(marks[:, None], texture[:, w], base[:, w])
    fields["wing"] = np.where(patch[:, None], mark[:, w], field)

    h = _P["head"]
    cap = has_mark[:, h] & (ht > _CAP_T)
    eye = _ellipse(hs - _EYE_S, ht - _EYE_T, _EYE_R, _EYE_R)
    field = np.where(cap[:, None], mark[:, h], base[:, h] * (1.0 + 0.16 * ht * (1.0 / _HEAD_R))[:, None])
    fields["head"] = np.where(eye[:, None], np.array(_EYE_RGB, np.float32)[:, None], field)

    img = _background(sc, x, y, size)
    for name, field in fields.items():  # part regions are disjoint, so the order does not matter
        np.copyto(img, field, where=(owner == _P[name])[:, None])
    img = img * sc["tint"][:, :, None] + sc["noise"] * sc["sigma"][:, None]
    img = np.clip(img, 0.0, 1.0).reshape(n, 3, size, size)
    return img, owner.reshape(n, size, size)


def _boxes(owner: np.ndarray) -> np.ndarray:
    """Tight object boxes (N, 4) x0, y0, x1, y1 in pixel-edge coordinates."""
    bird = owner >= 0
    cols = bird.any(axis=1)
    rows = bird.any(axis=2)
    size = owner.shape[-1]
    x0, y0 = cols.argmax(1), rows.argmax(1)
    x1, y1 = size - cols[:, ::-1].argmax(1), size - rows[:, ::-1].argmax(1)
    return np.stack([x0, y0, x1, y1], axis=1).astype(np.float32)


# ------------------------------------------------------------------- public API


@dataclass(frozen=True)
class SyntheticSet:
    """A rendered set of synthetic birds with their ground truth.

    ``images`` float32 (N, 3, S, S) in [0, 1]; ``labels`` int64 (N,);
    ``parts`` bool (N, len(PARTS), S, S), the visible pixels of each part;
    ``boxes`` float32 (N, 4), the bird's box x0, y0, x1, y1 in pixels (edges,
    so a bird in column 3 only has x0 = 3, x1 = 4); ``seeds`` int64 (N,), with
    which ``render(labels[i], seeds[i], S)`` redraws image i; ``class_names``
    the names of all classes (not only those present).
    """

    images: np.ndarray
    labels: np.ndarray
    parts: np.ndarray
    boxes: np.ndarray
    seeds: np.ndarray
    class_names: tuple[str, ...]


def render(
    label: int, seed: int, size: int = 64, swap: Mapping[str, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw one bird of class ``label`` in the scene of ``seed``.

    ``swap`` maps part names to class ids whose style those parts take (for
    example ``{"wing": b}``); everything else, pose, background and jitter
    included, stays as it is. Returns the image float32 (3, S, S) in [0, 1],
    the part masks bool (len(PARTS), S, S) and the box float32 (4,).
    """
    label = _check_class(label, "label")
    seed = _check_int(seed, "seed", 0, "a non-negative integer")
    size = _check_int(size, "size", 32, "an integer of at least 32 pixels")
    src = np.full((1, len(PARTS)), label, np.int64)
    for part, other in (swap or {}).items():
        if part not in _P:
            raise BadInput(f"swap names an unknown part {part!r}; parts are {', '.join(PARTS)}")
        src[0, _P[part]] = _check_class(other, f"swap[{part!r}]")
    img, owner = _render_batch(_stack([_draw_scene(seed, size)]), src, size)
    masks = owner[0][None] == np.arange(len(PARTS), dtype=np.int8)[:, None, None]
    return img[0], masks, _boxes(owner)[0]


def make_set(n: int, seed: int, size: int = 64, classes: Sequence[int] | None = None) -> SyntheticSet:
    """Render ``n`` birds, balanced over ``classes`` (default: all) and shuffled by ``seed``.

    Labels cycle through ``classes`` before shuffling, so counts differ by at
    most one. The same arguments give bit-identical arrays, and image i equals
    ``render(labels[i], seeds[i], size)``.
    """
    n = _check_int(n, "n", 0, "a non-negative number of images")
    seed = _check_int(seed, "seed", 0, "a non-negative integer")
    size = _check_int(size, "size", 32, "an integer of at least 32 pixels")
    chosen = range(len(CLASS_NAMES)) if classes is None else list(classes)
    if len(chosen) == 0:
        raise BadInput("classes is empty; give at least one class id or None for all")
    chosen = [_check_class(c, "class") for c in chosen]
    if len(set(chosen)) != len(chosen):
        raise BadInput(f"classes {chosen} repeat a class; give each class once")

    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, np.iinfo(np.int64).max, size=n, dtype=np.int64)
    labels = np.asarray(chosen, np.int64)[np.arange(n) % len(chosen)][rng.permutation(n)]

    images = np.empty((n, 3, size, size), np.float32)
    parts = np.empty((n, len(PARTS), size, size), bool)
    boxes = np.empty((n, 4), np.float32)
    chunk = max(1, 2**18 // (size * size))  # bounds the working memory to a few MB per array
    ids = np.arange(len(PARTS), dtype=np.int8)[None, :, None, None]
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        scenes = _stack([_draw_scene(int(seed_i), size) for seed_i in seeds[start:stop]])
        src = np.repeat(labels[start:stop, None], len(PARTS), axis=1)
        img, owner = _render_batch(scenes, src, size)
        images[start:stop] = img
        np.equal(owner[:, None], ids, out=parts[start:stop])
        boxes[start:stop] = _boxes(owner)
    return SyntheticSet(images, labels, parts, boxes, seeds, CLASS_NAMES)


def render_parts(sources: np.ndarray, seeds: np.ndarray, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Draw a batch where part p of image n takes the style of class ``sources[n, p]``, in the scene of ``seeds[n]``.

    sources: int (N, len(PARTS)); seeds: int (N,). Returns images float32 (N, 3, S, S)
    and part masks bool (N, len(PARTS), S, S); row n equals ``render(sources[n, 0], seeds[n], size,
    swap={part: sources[n, p] ...})``.
    """
    sources = np.asarray(sources, np.int64)
    if sources.ndim != 2 or sources.shape[1] != len(PARTS) or len(sources) != len(seeds):
        raise BadInput(f"sources must have shape (N, {len(PARTS)}) with one seed per row; got {sources.shape}")
    for label in np.unique(sources).tolist():
        _check_class(label, "sources")
    size = _check_int(size, "size", 32, "an integer of at least 32 pixels")
    if len(sources) == 0:
        return np.empty((0, 3, size, size), np.float32), np.empty((0, len(PARTS), size, size), bool)
    scenes = _stack([_draw_scene(_check_int(int(seed), "seed", 0, "a non-negative integer"), size) for seed in seeds])
    images, owner = _render_batch(scenes, sources, size)
    return images, owner[:, None] == np.arange(len(PARTS), dtype=np.int8)[None, :, None, None]
