"""Stick-figure pose drawings for exercises: a start and an end picture per pose, as ReportLab
or SVG, built from joint positions so every limb keeps its length between the two."""

from __future__ import annotations

import functools
import math
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
GROUND = 12.0  # where a line lying on the floor (a back, a foot) is drawn

# One body for every pose, in pose units (a standing figure is about 150 tall).
TRUNK = 50.0  # hip to neck
LOW_BACK = 20.0  # hip to the low back, where a lying trunk may arch
SHOULDER = 44.0  # hip to shoulder
NECK = 11.0  # neck to the centre of the head
THIGH = 38.0
SHIN = 36.0
FOOT = 12.0
UPPER_ARM = 26.0
FOREARM = 24.0

Point = tuple[float, float]
Points = tuple[Point, ...]

# Solid lines only, dark enough to survive a grey-scale office printer; the handout prints a
# one-line legend (pdf.content.PICTURE_LEGEND) for the grey and the blue.
BODY_INK = "#111111"
FAR_INK = "#555555"  # the limb further from the viewer, so crossing legs stay readable
PROP_INK = "#1f4e99"  # strap, stool, chair, mat and arrows: props never read as limbs
FLOOR_INK = "#333333"


@dataclass(frozen=True)
class Pose:
    """One drawing: near limbs and trunk, far limbs, props and motion arrows (polylines whose
    last segment carries the arrow head)."""

    head: Point
    body: tuple[Points, ...]
    far: tuple[Points, ...] = ()
    props: tuple[Points, ...] = ()
    arrows: tuple[Points, ...] = ()


@dataclass(frozen=True)
class PosePair:
    """Where an exercise starts and where it ends, each with its caption in plain words.

    The captions say only what every exercise drawn with this pose says in its own steps
    (plans/data/exercises.yaml); the arrows are on the end picture."""

    start: Pose
    end: Pose
    start_caption: str
    end_caption: str


# --- Building a figure from joint angles ------------------------------------------------


def _at(p: Point, length: float, deg: float) -> Point:
    a = math.radians(deg)
    return (round(p[0] + length * math.cos(a), 2), round(p[1] + length * math.sin(a), 2))


def _angle(a: Point, b: Point) -> float:
    return math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))


def _reach(root: Point, target: Point, l1: float, l2: float, side: int) -> tuple[Point, Point]:
    """The middle joint (knee, elbow) and end of a two-part limb from `root` toward `target`,
    bent to the left of root->target when `side` is 1, to the right when -1. A target out of
    reach is met with the limb straight; the parts always keep their lengths."""
    d = math.dist(root, target)
    d = min(max(d, abs(l1 - l2) + 0.01), l1 + l2 - 0.01)
    base = _angle(root, target)
    alpha = math.degrees(math.acos((l1 * l1 + d * d - l2 * l2) / (2 * l1 * d)))
    mid = _at(root, l1, base + side * alpha)
    return mid, _at(mid, l2, _angle(mid, _at(root, d, base)))


@dataclass(frozen=True)
class Leg:
    """A leg, by where its ankle should be (and which way the knee bends) or by the angles of
    thigh and shin; the foot's angle is absolute. Angles in degrees, counter-clockwise from
    pointing right (the way the figures face)."""

    ankle: Point | None = None
    knee: int = 1
    thigh: float = 0.0
    shin: float = 0.0
    foot: float = 0.0


@dataclass(frozen=True)
class Arm:
    """An arm, by where its hand should be (and which way the elbow bends)."""

    hand: Point
    elbow: int = -1


@dataclass(frozen=True)
class Figure:
    """Joints of one drawn person, for placing props and arrows, and the drawing itself."""

    hip: Point
    low_back: Point
    neck: Point
    shoulder: Point
    head: Point
    knee: Point
    ankle: Point
    toe: Point
    hand: Point | None
    body: tuple[Points, ...]
    far: tuple[Points, ...]

    def pose(self, props: tuple[Points, ...] = (), arrows: tuple[Points, ...] = ()) -> Pose:
        return Pose(self.head, self.body, self.far, props, arrows)


def _leg(hip: Point, leg: Leg) -> Points:
    if leg.ankle is not None:
        knee, ankle = _reach(hip, leg.ankle, THIGH, SHIN, leg.knee)
    else:
        knee = _at(hip, THIGH, leg.thigh)
        ankle = _at(knee, SHIN, leg.shin)
    return (hip, knee, ankle, _at(ankle, FOOT, leg.foot))


def _arm(shoulder: Point, arm: Arm | None) -> Points:
    if arm is None:
        return ()
    elbow, hand = _reach(shoulder, arm.hand, UPPER_ARM, FOREARM, arm.elbow)
    return (shoulder, elbow, hand)


def person(hip: Point, trunk: float, near: Leg, far: Leg, near_arm: Arm | None = None,
           far_arm: Arm | None = None, low_back: float | None = None,
           head: float | None = None) -> Figure:
    """A figure with its hip at `hip` and its trunk at angle `trunk` (90 is upright, 180 lying
    on its back with the head to the left). `low_back` angles the part of the trunk nearest
    the hip on its own (an arched low back); `head` is the angle from neck to head."""
    low = _at(hip, LOW_BACK, trunk if low_back is None else low_back)
    neck = _at(low, TRUNK - LOW_BACK, trunk)
    shoulder = _at(low, SHOULDER - LOW_BACK, trunk)
    centre = _at(neck, NECK, trunk if head is None else head)
    near_leg, far_leg = _leg(hip, near), _leg(hip, far)
    arm, other_arm = _arm(shoulder, near_arm), _arm(shoulder, far_arm)
    body = tuple(p for p in ((hip, low, neck), near_leg, arm) if p)
    far_lines = tuple(p for p in (far_leg, other_arm) if p)
    return Figure(hip, low, neck, shoulder, centre, near_leg[1], near_leg[2], near_leg[3],
                  arm[2] if arm else None, body, far_lines)


def _arc(centre: Point, radius: float, a0: float, a1: float, steps: int = 8) -> Points:
    """Points along a circle from angle a0 to a1: a curved arrow for a turning limb."""
    return tuple(_at(centre, radius, a0 + (a1 - a0) * i / steps) for i in range(steps + 1))


def _line(*points: Point) -> Points:
    return tuple(points)


def _off(p: Point, dx: float, dy: float) -> Point:
    return (p[0] + dx, p[1] + dy)


# --- The poses ------------------------------------------------------------------------------
# Lying on the back: hip at (110, 14), head to the left, resting on the floor.

_HIP = (110.0, GROUND + 2)
_LYING = 180.0
_HEAD_DOWN = 163.0  # the head rests on the floor, a little above the line of the back
_FEET_FLAT = Leg(ankle=(162.0, GROUND + 4), foot=-15)  # knees bent, feet flat
_FAR_FEET_FLAT = Leg(ankle=(157.0, GROUND + 4), foot=-15)
_LEGS_OUT = Leg(thigh=0, shin=0, foot=80)  # straight along the floor, toes up


def _arms_by_sides(shoulder: Point) -> Arm:
    """Straight along the floor toward the hips (out of reach, so the arm is straight)."""
    return Arm(hand=(shoulder[0] + UPPER_ARM + FOREARM + 4, GROUND + 1), elbow=1)


_SHOULDER = _at(_HIP, SHOULDER, _LYING)


def _supine_knees_bent() -> PosePair:
    # Breathing hip rolls: the low back, gently arched at the start, eases to the floor.
    start = person(_HIP, 188, _FEET_FLAT, _FAR_FEET_FLAT, _arms_by_sides(_SHOULDER),
                   low_back=162, head=_HEAD_DOWN)
    end = person(_HIP, _LYING, _FEET_FLAT, _FAR_FEET_FLAT, _arms_by_sides(_SHOULDER),
                 head=_HEAD_DOWN)
    arrow = _line(_off(end.low_back, 0, 26), _off(end.low_back, 0, 8))
    return PosePair(start.pose(), end.pose(arrows=(arrow,)),
                    "Lie on your back, knees bent, feet flat.",
                    "Breathe out. Ease your low back toward the floor.")


def _supine_floss() -> PosePair:
    # Thigh held up (hip at a right angle), the knee bent, then straightened part way. The
    # ankle stays relaxed, the toes a little pointed (one exercise says loose, one pointed).
    hands = Arm(hand=(_HIP[0] - 6, 44), elbow=-1)

    def leg(shin: float) -> Leg:
        return Leg(thigh=90, shin=shin, foot=shin + 35)

    start = person(_HIP, _LYING, leg(-5), _FAR_FEET_FLAT, hands, head=_HEAD_DOWN)
    end = person(_HIP, _LYING, leg(50), _FAR_FEET_FLAT, hands, head=_HEAD_DOWN)
    arrow = _arc(end.knee, SHIN + 10, 2, 44)
    return PosePair(start.pose(), end.pose(arrows=(arrow,)),
                    "Lie on your back. Hold one thigh up, knee bent.",
                    "Slowly straighten the knee.")


def _strap(figure: Figure) -> tuple[Points, ...]:
    """A strap from both hands around the middle of the near foot."""
    foot = _at(figure.ankle, FOOT * 0.5, _angle(figure.ankle, figure.toe))
    sole = _at(foot, 3, _angle(figure.ankle, figure.toe) - 90)
    hand = figure.hand or figure.shoulder
    return (_line(hand, sole), _line(_off(hand, 3, -2), _off(sole, 2, -2)))


def _supine_leg_raised_strap() -> PosePair:
    start_arm = Arm(hand=_at(_SHOULDER, 60, 14), elbow=1)  # reaching down the strap
    start = person(_HIP, _LYING, _LEGS_OUT, _LEGS_OUT, start_arm, head=_HEAD_DOWN)
    raised = Leg(thigh=72, shin=62, foot=150)  # the knee a little soft
    end = person(_HIP, _LYING, raised, _LEGS_OUT, Arm(hand=(92, 52), elbow=-1),
                 head=_HEAD_DOWN)
    arrow = _arc(_HIP, THIGH + SHIN + 8, 12, 56)
    return PosePair(start.pose(props=_strap(start)),
                    end.pose(props=_strap(end), arrows=(arrow,)),
                    "Lie on your back. Loop the strap around one foot.",
                    "Raise the leg, knee a little soft, to a mild stretch.")


def _supine_leg_raised_bent_knee() -> PosePair:
    def leg(shin: float) -> Leg:
        return Leg(thigh=72, shin=shin, foot=shin + 90)

    hands = Arm(hand=_at(_SHOULDER, 60, 34), elbow=-1)  # straight, up the strap
    start = person(_HIP, _LYING, leg(10), _LEGS_OUT, hands, head=_HEAD_DOWN)
    end = person(_HIP, _LYING, leg(42), _LEGS_OUT, hands, head=_HEAD_DOWN)
    arrow = _arc(end.knee, SHIN + 10, 14, 40)
    return PosePair(start.pose(props=_strap(start)),
                    end.pose(props=_strap(end), arrows=(arrow,)),
                    "Lie on your back. Raise the leg with the knee bent, strap on the foot.",
                    "Straighten the knee only to a light stretch. Keep it bent.")


def _bridge() -> PosePair:
    start = person(_HIP, _LYING, _FEET_FLAT, _FAR_FEET_FLAT, _arms_by_sides(_SHOULDER),
                   head=_HEAD_DOWN)
    # Shoulders and feet stay put; the hips lift a little, the back straight (not arched).
    lift = 20.0
    hip = _at(start.neck, TRUNK, lift)
    end = person(hip, 180 + lift, _FEET_FLAT, _FAR_FEET_FLAT,
                 _arms_by_sides(start.shoulder), head=_HEAD_DOWN)
    arrow = _line(_off(hip, 12, -14), _off(hip, 12, -2))
    return PosePair(start.pose(), end.pose(arrows=(arrow,)),
                    "Lie on your back, knees bent, feet flat.",
                    "Squeeze your bottom. Lift your hips a little.")


def _dead_bug() -> PosePair:
    def table(thigh: float) -> Leg:  # knee bent at a right angle
        return Leg(thigh=thigh, shin=thigh - 90, foot=thigh - 10)

    arms_up = Arm(hand=(_HIP[0] - SHOULDER, 80), elbow=1)
    start = person(_HIP, _LYING, table(90), table(90), arms_up, arms_up, head=_HEAD_DOWN)
    end = person(_HIP, _LYING, table(48), table(90), arms_up, arms_up, head=_HEAD_DOWN)
    reach = math.dist(_HIP, start.ankle)
    arrow = _arc(_HIP, reach + 8, _angle(_HIP, start.ankle) - 6,
                 _angle(_HIP, end.ankle) + 8)
    return PosePair(start.pose(), end.pose(arrows=(arrow,)),
                    "Lie on your back. Knees over hips, arms up.",
                    "Lower one heel toward the floor.")


# Upright poses: feet on the floor, facing right.

def _hanging(shoulder: Point) -> Arm:
    """Straight down, a little forward (out of reach, so the arm is straight)."""
    return Arm(hand=_at(shoulder, UPPER_ARM + FOREARM + 4, -80), elbow=-1)


def _upright(hip: Point, trunk: float, near: Leg, far: Leg) -> Figure:
    """A figure whose arms hang from the shoulders."""
    shoulder = _at(_at(hip, LOW_BACK, trunk), SHOULDER - LOW_BACK, trunk)
    arm = _hanging(shoulder)
    return person(hip, trunk, near, far, arm, arm)


def _tall_kneel_hinge() -> PosePair:
    mat = (_line((56, GROUND + 1), (138, GROUND + 1)),)
    knee = (120.0, GROUND + 5)  # on the mat; the shins lie on it, the feet point back

    def kneel(back: float) -> tuple[Point, Leg]:
        """Hip and leg with the thigh leaning `back` degrees behind upright."""
        return _at(knee, THIGH, 90 + back), Leg(thigh=270 + back, shin=180, foot=183)

    hip, leg = kneel(0)
    start = _upright(hip, 90, leg, leg)
    # The hips go back a little, the chest forward, the back straight.
    hip, leg = kneel(22)
    end = _upright(hip, 48, leg, leg)
    chest = _arc(end.hip, TRUNK + 12, 88, 54)
    hips = _line(_off(end.hip, -4, 12), _off(end.hip, -22, 12))
    return PosePair(start.pose(props=mat), end.pose(props=mat, arrows=(chest, hips)),
                    "Kneel tall on a soft mat.",
                    "Push your hips back. Lean forward, back long.")


def _standing_hinge() -> PosePair:
    feet = Leg(ankle=(118.0, GROUND + 2), foot=-8)
    start = _upright((118.0, 86.0), 90, feet, feet)  # knees a little soft
    end = _upright((100.0, 83.0), 44, feet, feet)
    chest = _arc(end.hip, TRUNK + 12, 88, 50)
    hips = _line(_off(end.hip, -4, 14), _off(end.hip, -22, 14))
    return PosePair(start.pose(), end.pose(arrows=(chest, hips)),
                    "Stand tall, knees a little soft.",
                    "Push your hips back. Tip your chest forward, back long.")


def _stool_fold() -> PosePair:
    stool = (_line((146, 38), (190, 38)), _line((150, 38), (150, FLOOR_Y - 1)),
             _line((186, 38), (186, FLOOR_Y - 1)))
    hip = (108.0, 87.0)
    standing = Leg(ankle=(108.0, GROUND + 2), foot=-8)
    on_stool = Leg(ankle=(164.0, 43.0), foot=75)  # the knee a little soft
    start = _upright(hip, 90, on_stool, standing)
    end = _upright(hip, 48, on_stool, standing)
    chest = _arc(hip, TRUNK + 12, 88, 54)
    return PosePair(start.pose(props=stool), end.pose(props=stool, arrows=(chest,)),
                    "Stand with one heel on a low stool, knee soft.",
                    "Lean forward from your hips, back long.")


def _seated_knee_extend() -> PosePair:
    seat_y = 46.0
    chair = (_line((64, seat_y), (112, seat_y)), _line((68, seat_y), (68, FLOOR_Y - 1)),
             _line((108, seat_y), (108, FLOOR_Y - 1)), _line((64, seat_y), (62, 104)))
    hip = (100.0, seat_y + 5)
    foot_down = Leg(ankle=(140.0, GROUND + 3), foot=-8)
    far_foot = Leg(ankle=(134.0, GROUND + 3), foot=-8)
    hands = Arm(hand=(126.0, hip[1] + 6), elbow=-1)
    start = person(hip, 90, foot_down, far_foot, hands, hands)
    # Straightened as far as is easy: nearly straight, the ankle loose.
    end = person(hip, 90, Leg(thigh=0, shin=-12, foot=55), far_foot, hands, hands)
    arrow = _arc(end.knee, SHIN + 10, -78, -22)
    return PosePair(start.pose(props=chair), end.pose(props=chair, arrows=(arrow,)),
                    "Sit tall near the front of your chair.",
                    "Slowly straighten one knee as far as is easy.")


def _walking() -> PosePair:
    def stride(x: float, near_ahead: bool) -> Figure:
        hip = (x, 84.0)
        ahead = Leg(ankle=(x + 22, GROUND + 2), foot=12)
        behind = Leg(ankle=(x - 22, GROUND + 6), foot=-25)
        shoulder = _at(hip, SHOULDER, 90)
        forward = Arm(hand=_at(shoulder, 49, -68), elbow=-1)
        back = Arm(hand=_at(shoulder, 52, -108), elbow=-1)
        if near_ahead:
            return person(hip, 88, ahead, behind, back, forward)
        return person(hip, 88, behind, ahead, forward, back)

    start, end = stride(100, True), stride(134, False)
    arrow = _line((150, 142), (184, 142))
    return PosePair(start.pose(), end.pose(arrows=(arrow,)),
                    "Take a short, easy step.",
                    "Then the other foot. Keep going at an easy pace.")


def _standing_knee_bend() -> PosePair:
    chair = (_line((142, 46), (184, 46)), _line((142, 96), (142, FLOOR_Y - 1)),
             _line((184, 46), (184, FLOOR_Y - 1)))
    feet = Leg(ankle=(112.0, GROUND + 2), foot=-8)
    grip = Arm(hand=(140.0, 96.0), elbow=-1)
    start = person((112.0, 87.0), 90, feet, feet, grip, grip)
    # A small bend, as if starting to sit: the hips a little lower and back, heels down.
    end = person((106.0, 76.0), 82, feet, feet, grip, grip)
    arrow = _line((84, 96), (84, 76))
    return PosePair(start.pose(props=chair), end.pose(props=chair, arrows=(arrow,)),
                    "Stand tall and hold a chair back.",
                    "Bend both knees a little. Keep your heels down.")


def _ankle_pump() -> PosePair:
    # Lying, legs out in front, resting on the heels. The steps say "sit or lie down"; a
    # template opens its warm-up with "Start lying down", so the picture lies down.
    def legs(foot: float) -> Leg:
        return Leg(thigh=1, shin=2, foot=foot)

    arms = _arms_by_sides(_SHOULDER)
    start = person(_HIP, _LYING, legs(-20), legs(-20), arms, head=_HEAD_DOWN)
    end = person(_HIP, _LYING, legs(92), legs(92), arms, head=_HEAD_DOWN)
    arrow = _arc(end.ankle, FOOT + 9, 4, 80)
    return PosePair(start.pose(), end.pose(arrows=(arrow,)),
                    "Lie down, legs out in front. Point your toes away.",
                    "Pull your toes back toward you.")


POSES: dict[str, PosePair] = {
    "supine_knees_bent": _supine_knees_bent(),
    "supine_leg_raised_strap": _supine_leg_raised_strap(),
    "supine_leg_raised_bent_knee": _supine_leg_raised_bent_knee(),
    "supine_floss": _supine_floss(),
    "tall_kneel_hinge": _tall_kneel_hinge(),
    "standing_hinge": _standing_hinge(),
    "bridge": _bridge(),
    "dead_bug": _dead_bug(),
    "stool_fold": _stool_fold(),
    "seated_knee_extend": _seated_knee_extend(),
    "walking": _walking(),
    "standing_knee_bend": _standing_knee_bend(),
    "ankle_pump": _ankle_pump(),
}

_FEET = Leg(ankle=(120.0, GROUND + 2), foot=-8)
NEUTRAL_STANDING = _upright((120.0, 87.0), 90, _FEET, _FEET).pose()

PHASES = ("start", "end")


def pose_pair(key: str) -> PosePair | None:
    """The start and end poses for a key, or None for a key the library does not draw."""
    return POSES.get(key)


def pose_for(key: str, phase: str = "start") -> Pose:
    """The pose for a key at `phase` ("start" or "end"); an unknown key gives a neutral
    standing figure rather than failing."""
    pair = POSES.get(key)
    if pair is None:
        return NEUTRAL_STANDING
    return pair.end if phase == "end" else pair.start


def _arrow_head(x1: float, y1: float, x2: float, y2: float, size: float = 7.0) -> Points:
    dx, dy = x2 - x1, y2 - y1
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / length, dy / length
    bx, by = x2 - ux * size, y2 - uy * size
    return ((x2, y2), (bx - uy * size * 0.6, by + ux * size * 0.6),
            (bx + uy * size * 0.6, by - ux * size * 0.6))


def _lines(pose: Pose) -> list[Points]:
    return [*pose.body, *pose.far, *pose.props, *pose.arrows]


def _poses(key: str) -> tuple[Pose, ...]:
    pair = POSES.get(key)
    return (NEUTRAL_STANDING,) if pair is None else (pair.start, pair.end)


@functools.cache
def pose_frame(key: str) -> tuple[float, float, float]:
    """Left edge, right edge and top of what the key's pictures draw, with a margin, in pose
    units: one frame for start and end, so both are drawn at one scale and the person stays
    where they are. Lying poses get a short frame, not empty sky."""
    xs: list[float] = []
    ys: list[float] = []
    for pose in _poses(key):
        for line in _lines(pose):
            xs += [x for x, _ in line]
            ys += [y for _, y in line]
        xs += [pose.head[0] - HEAD_R, pose.head[0] + HEAD_R]
        ys.append(pose.head[1] + HEAD_R)
    return max(0.0, min(xs) - 12), min(BOX_W, max(xs) + 12), min(BOX_H, max(ys) + 8)


def _flat(points: Points) -> list[float]:
    return [c for p in points for c in p]


@functools.cache
def drawing_for(key: str, width: float, height: float | None = None,
                phase: str = "start") -> Drawing:
    """A ReportLab Drawing of the pose at `phase` in a `width` x `height` picture (default: the
    frame's own proportions), the figure as large as fits, centred, on the floor line.

    Every picture of a handout gets the same box, so a lying pose is as wide as the box and a
    standing one as tall: no figure shrinks to a strip. Cached per (pose, size, phase):
    building the shapes is pure Python work repeated on every render otherwise.
    """
    register_fonts()  # the drawing names the embedded face (see below), so it must exist
    pose = pose_for(key, phase)
    left, right, top = pose_frame(key)
    if height is None:
        height = top * width / (right - left)
    scale = min(width / (right - left), height / top)
    shift = (width - (right - left) * scale) / 2 - left * scale
    group = Group(transform=(scale, 0, 0, scale, shift, 0))

    def stroke(points: Points, ink: str, w: float) -> None:
        group.add(PolyLine(_flat(points), strokeColor=colors.HexColor(ink), strokeWidth=w,
                           strokeLineCap=1, strokeLineJoin=1))

    for points in pose.props:
        stroke(points, PROP_INK, 3.5)
    for points in pose.far:
        stroke(points, FAR_INK, 7)
    for points in pose.body:
        stroke(points, BODY_INK, 7.5)
    hx, hy = pose.head
    group.add(Circle(hx, hy, HEAD_R, fillColor=colors.HexColor(BODY_INK), strokeColor=None))
    for points in pose.arrows:
        stroke(points, PROP_INK, 2.5)
        group.add(Polygon(_flat(_arrow_head(*points[-2], *points[-1])),
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


def svg_for(key: str, label: str, phase: str = "start") -> str:
    """The same pose as inline SVG, with role="img", a <title> and aria-label set to `label`."""
    pose = pose_for(key, phase)
    left, right, top = pose_frame(key)
    safe = escape(label)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="{left:g} {BOX_H - top:g} {right - left:g} {top:g}" '
        f'role="img" aria-label="{safe}" class="pose"><title>{safe}</title>',
        f'<line x1="{left:g}" y1="{BOX_H - FLOOR_Y + 3:g}" x2="{right:g}" '
        f'y2="{BOX_H - FLOOR_Y + 3:g}" stroke="{FLOOR_INK}" stroke-width="2"/>',
    ]
    parts += [_svg_stroke(p, PROP_INK, 3.5) for p in pose.props]
    parts += [_svg_stroke(p, FAR_INK, 7) for p in pose.far]
    parts += [_svg_stroke(p, BODY_INK, 7.5) for p in pose.body]
    hx, hy = pose.head
    parts.append(f'<circle cx="{hx:g}" cy="{BOX_H - hy:g}" r="{HEAD_R:g}" fill="{BODY_INK}"/>')
    for points in pose.arrows:
        parts.append(_svg_stroke(points, PROP_INK, 2.5))
        head = " ".join(f"{x:g},{BOX_H - y:g}" for x, y in _arrow_head(*points[-2], *points[-1]))
        parts.append(f'<polygon points="{head}" fill="{PROP_INK}"/>')
    parts.append("</svg>")
    return "".join(parts)
