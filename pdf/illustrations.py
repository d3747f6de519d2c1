"""Stick-figure pose drawings for exercises, from pose data in code, as ReportLab or SVG."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from html import escape

from reportlab.graphics.shapes import Circle, Drawing, Group, Line, Polygon, PolyLine
from reportlab.lib import colors

from pdf.styles import REGULAR, register_fonts

# Pose coordinates live in a 240 x 160 box with the floor at y = 10; drawings scale from it.
BOX_W = 240.0
BOX_H = 160.0
FLOOR_Y = 10.0
HEAD_R = 9.0

Points = tuple[tuple[float, float], ...]

# Solid lines only, dark enough to survive a grey-scale office printer; the handout prints a
# one-line legend (pdf.content.PICTURE_LEGEND) for the greys and the blue.
BODY_INK = "#111111"
FAR_INK = "#555555"  # the limb further from the viewer, so crossing legs stay readable
GHOST_INK = "#9a9a9a"  # where a moving limb goes
PROP_INK = "#1f4e99"  # strap, stool, chair: a second colour so props never read as limbs
FLOOR_INK = "#333333"


@dataclass(frozen=True)
class Pose:
    """One drawing: near limbs and trunk, far limbs, motion ghost, props and motion arrows."""

    head: tuple[float, float]
    body: tuple[Points, ...]
    far: tuple[Points, ...] = ()
    ghost: tuple[Points, ...] = ()
    props: tuple[Points, ...] = ()
    arrows: tuple[tuple[float, float, float, float], ...] = ()


NEUTRAL_STANDING = Pose(
    head=(120, 141),
    body=(((120, 130), (120, 80)), ((120, 80), (122, 45), (120, 12), (132, 11)),
          ((120, 124), (114, 100), (112, 76))),
    far=(((120, 80), (116, 45), (114, 12), (126, 11)), ((120, 124), (127, 100), (129, 76))),
)

POSES: dict[str, Pose] = {
    "supine_knees_bent": Pose(
        head=(38, 24),
        body=(((52, 21), (110, 20)), ((110, 20), (142, 54), (160, 17), (174, 15)),
              ((56, 20), (80, 16), (102, 16))),
        far=(((110, 20), (136, 52), (152, 17), (166, 15)),),
        arrows=((106, 42, 116, 36),),
    ),
    "supine_leg_raised_strap": Pose(
        head=(38, 24),
        body=(((52, 21), (110, 20)), ((110, 20), (130, 60), (147, 98), (156, 104)),
              ((56, 22), (74, 44), (100, 60))),
        far=(((110, 20), (150, 18), (188, 18), (194, 30)),),
        props=(((100, 60), (152, 104)), ((100, 58), (148, 100))),
    ),
    "supine_leg_raised_bent_knee": Pose(
        head=(38, 24),
        body=(((52, 21), (110, 20)), ((110, 20), (116, 64), (150, 74), (158, 84)),
              ((56, 22), (80, 46), (104, 56))),
        far=(((110, 20), (140, 52), (156, 17), (170, 15)),),
    ),
    "supine_floss": Pose(
        head=(38, 24),
        body=(((52, 21), (110, 20)), ((110, 20), (114, 64), (148, 80), (156, 90)),
              ((56, 22), (80, 46), (106, 54))),
        far=(((110, 20), (140, 52), (156, 17), (170, 15)),),
        ghost=(((114, 64), (128, 102), (136, 110)),),
        arrows=((150, 90, 134, 106),),
    ),
    "tall_kneel_hinge": Pose(
        head=(163, 100),
        body=(((105, 54), (150, 90)), ((105, 54), (124, 14), (82, 13), (72, 13)),
              ((147, 88), (150, 66), (152, 46))),
        far=(((105, 54), (118, 14), (78, 13), (68, 13)),),
        ghost=(((105, 54), (112, 106)),),
        arrows=((112, 108, 140, 96),),
    ),
    "standing_hinge": Pose(
        head=(158, 118),
        body=(((104, 84), (146, 110)), ((104, 84), (124, 48), (118, 12), (132, 11)),
              ((142, 108), (140, 82), (136, 58))),
        far=(((104, 84), (118, 48), (112, 12), (126, 11)),),
        ghost=(((104, 84), (110, 136)),),
        arrows=((114, 138, 142, 124),),
    ),
    "bridge": Pose(
        head=(38, 22),
        body=(((52, 19), (112, 52)), ((112, 52), (148, 60), (154, 16), (168, 14)),
              ((56, 18), (82, 14), (104, 14))),
        far=(((112, 52), (142, 58), (146, 16), (160, 14)),),
        ghost=(((52, 19), (112, 20)),),
        arrows=((112, 26, 112, 44),),
    ),
    "dead_bug": Pose(
        head=(38, 24),
        body=(((52, 21), (110, 20)), ((110, 20), (114, 60), (148, 62), (156, 70)),
              ((58, 22), (60, 74))),
        far=(((110, 20), (146, 36), (184, 42), (190, 52)), ((62, 22), (26, 52))),
        arrows=((170, 58, 182, 50),),
    ),
    "stool_fold": Pose(
        head=(150, 126),
        body=(((100, 86), (140, 116)), ((100, 86), (140, 76), (166, 42), (176, 46)),
              ((136, 114), (134, 92), (132, 72))),
        far=(((100, 86), (98, 48), (94, 12), (108, 11)),),
        props=(((150, 40), (190, 40)), ((154, 40), (154, 10)), ((186, 40), (186, 10))),
    ),
    "seated_knee_extend": Pose(
        head=(86, 136),
        body=(((84, 64), (84, 124)), ((84, 64), (124, 64), (160, 76), (170, 86)),
              ((84, 118), (90, 94), (100, 68))),
        far=(((84, 64), (120, 62), (122, 14), (134, 12)),),
        ghost=(((124, 64), (128, 28), (140, 24)),),
        props=(((66, 58), (110, 58)), ((70, 58), (70, 10)), ((106, 58), (106, 10)),
               ((66, 58), (62, 120))),
        arrows=((140, 36, 154, 64),),
    ),
    "walking": Pose(
        head=(118, 141),
        body=(((114, 80), (117, 130)), ((114, 80), (130, 48), (140, 12), (152, 11)),
              ((117, 124), (106, 102), (98, 82))),
        far=(((114, 80), (104, 46), (86, 14), (98, 10)), ((117, 124), (126, 100), (138, 84))),
        arrows=((160, 40, 184, 40),),
    ),
    "standing_knee_bend": Pose(
        head=(118, 127),
        body=(((104, 70), (114, 116)), ((104, 70), (136, 46), (122, 12), (136, 11)),
              ((112, 110), (136, 102), (160, 104))),
        far=(((104, 70), (130, 44), (116, 12), (130, 11)),),
        ghost=(((120, 80), (120, 128)),),
        arrows=((80, 110, 80, 80), (80, 80, 80, 110)),
    ),
    "ankle_pump": Pose(
        head=(38, 24),
        body=(((52, 21), (110, 20)), ((110, 20), (148, 20), (186, 20), (192, 34)),
              ((56, 20), (80, 16), (102, 16))),
        far=(((110, 20), (148, 17), (186, 16)),),
        ghost=(((186, 20), (198, 14)),),
        arrows=((204, 36, 206, 16),),
    ),
}


def pose_for(key: str) -> Pose:
    """The pose for a key; an unknown key gives a neutral standing figure rather than failing."""
    return POSES.get(key, NEUTRAL_STANDING)


def _arrow_head(x1: float, y1: float, x2: float, y2: float, size: float = 7.0) -> Points:
    dx, dy = x2 - x1, y2 - y1
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / length, dy / length
    bx, by = x2 - ux * size, y2 - uy * size
    return ((x2, y2), (bx - uy * size * 0.6, by + ux * size * 0.6),
            (bx + uy * size * 0.6, by - ux * size * 0.6))


def pose_top(pose: Pose) -> float:
    """Height of the box the pose needs: lying poses get a short picture, not empty sky."""
    ys = [y for line in pose.body + pose.far + pose.ghost + pose.props for _, y in line]
    ys += [y for a in pose.arrows for y in (a[1], a[3])]
    ys.append(pose.head[1] + HEAD_R)
    return min(BOX_H, max(ys) + 8)


def pose_span(pose: Pose) -> tuple[float, float]:
    """Left and right edge of what the pose draws, with a margin, in pose units."""
    xs = [x for line in pose.body + pose.far + pose.ghost + pose.props for x, _ in line]
    xs += [x for a in pose.arrows for x in (a[0], a[2])]
    xs += [pose.head[0] - HEAD_R, pose.head[0] + HEAD_R]
    return max(0.0, min(xs) - 12), min(BOX_W, max(xs) + 12)


def _flat(points: Points) -> list[float]:
    return [c for p in points for c in p]


@functools.cache
def drawing_for(key: str, width: float, height: float | None = None) -> Drawing:
    """A ReportLab Drawing of the pose in a `width` x `height` picture (default: the pose's
    own proportions), the figure as large as fits, centred, standing on the floor line.

    Every picture of a handout gets the same box, so a lying pose is as wide as the box and a
    standing one as tall: no figure shrinks to a strip. Cached per (pose, size): building the
    shapes is pure Python work repeated on every render otherwise.
    """
    register_fonts()  # the drawing names the embedded face (see below), so it must exist
    pose = pose_for(key)
    left, right = pose_span(pose)
    top = pose_top(pose)
    if height is None:
        height = top * width / (right - left)
    scale = min(width / (right - left), height / top)
    shift = (width - (right - left) * scale) / 2 - left * scale
    group = Group(transform=(scale, 0, 0, scale, shift, 0))

    def stroke(points: Points, ink: str, w: float, dash: list[float] | None = None) -> None:
        group.add(PolyLine(_flat(points), strokeColor=colors.HexColor(ink), strokeWidth=w,
                           strokeLineCap=1, strokeLineJoin=1, strokeDashArray=dash))

    for points in pose.props:
        stroke(points, PROP_INK, 3.5)
    for points in pose.ghost:
        stroke(points, GHOST_INK, 5)
    for points in pose.far:
        stroke(points, FAR_INK, 7)
    for points in pose.body:
        stroke(points, BODY_INK, 7.5)
    hx, hy = pose.head
    group.add(Circle(hx, hy, HEAD_R, fillColor=colors.HexColor(BODY_INK), strokeColor=None))
    for x1, y1, x2, y2 in pose.arrows:
        stroke(((x1, y1), (x2, y2)), PROP_INK, 2.5)
        group.add(Polygon(_flat(_arrow_head(x1, y1, x2, y2)),
                          fillColor=colors.HexColor(PROP_INK), strokeColor=None))
    # The drawing has no text, but ReportLab still sets its default font (Helvetica, never
    # embedded) when drawing one; point it at the embedded face instead.
    drawing = Drawing(width, height, initialFontName=REGULAR)
    floor = (FLOOR_Y - 3) * scale
    drawing.add(Line(2, floor, width - 2, floor, strokeColor=colors.HexColor(FLOOR_INK),
                     strokeWidth=max(1.0, 2 * scale)))
    drawing.add(group)
    return drawing


def _svg_stroke(points: Points, ink: str, w: float) -> str:
    pts = " ".join(f"{x:g},{BOX_H - y:g}" for x, y in points)  # SVG y grows downwards
    return (f'<polyline points="{pts}" fill="none" stroke="{ink}" stroke-width="{w:g}" '
            f'stroke-linecap="round" stroke-linejoin="round"/>')


def svg_for(key: str, label: str) -> str:
    """The same pose as inline SVG, with role="img", a <title> and aria-label set to `label`."""
    pose = pose_for(key)
    top = pose_top(pose)
    left, right = pose_span(pose)
    safe = escape(label)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="{left:g} {BOX_H - top:g} {right - left:g} {top:g}" '
        f'role="img" aria-label="{safe}" class="pose"><title>{safe}</title>',
        f'<line x1="6" y1="{BOX_H - FLOOR_Y + 3:g}" x2="{BOX_W - 6:g}" '
        f'y2="{BOX_H - FLOOR_Y + 3:g}" stroke="{FLOOR_INK}" stroke-width="2"/>',
    ]
    parts += [_svg_stroke(p, PROP_INK, 3.5) for p in pose.props]
    parts += [_svg_stroke(p, GHOST_INK, 5) for p in pose.ghost]
    parts += [_svg_stroke(p, FAR_INK, 7) for p in pose.far]
    parts += [_svg_stroke(p, BODY_INK, 7.5) for p in pose.body]
    hx, hy = pose.head
    parts.append(f'<circle cx="{hx:g}" cy="{BOX_H - hy:g}" r="{HEAD_R:g}" fill="{BODY_INK}"/>')
    for x1, y1, x2, y2 in pose.arrows:
        parts.append(_svg_stroke(((x1, y1), (x2, y2)), PROP_INK, 2.5))
        head = " ".join(f"{x:g},{BOX_H - y:g}" for x, y in _arrow_head(x1, y1, x2, y2))
        parts.append(f'<polygon points="{head}" fill="{PROP_INK}"/>')
    parts.append("</svg>")
    return "".join(parts)
