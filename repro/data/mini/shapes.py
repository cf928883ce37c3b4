"""Class shapes of the mini-ILSVRC as polygons in a unit frame (x right, y down, roughly [-1, 1]).

A shape is a function ``rng -> list[Part]``; the rng gives within-class variation of the proportions.
Parts are drawn in order: ``body`` polygons are filled with the object's texture, ``hole`` polygons
cut the body out again, ``accent`` polygons and ``stroke`` polylines are drawn on top in the accent
colour. Shape is the main cue that tells the classes apart; colour and texture only lean to a class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Part:
    """One polygon (or polyline for ``stroke``) of a shape, in unit-frame coordinates."""
    role: str            # "body" | "hole" | "accent" | "stroke"
    points: np.ndarray   # (n, 2) float x, y
    width: float = 0.0   # stroke width in unit-frame units


def _ellipse(cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 360.0,
             n: int = 32) -> np.ndarray:
    angles = np.deg2rad(np.linspace(a0, a1, n, endpoint=(a1 - a0) < 360.0))
    return np.stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)], axis=1)


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def _poly(*points: tuple[float, float]) -> np.ndarray:
    return np.array(points, dtype=float)


def crescent(rng: np.random.Generator) -> list[Part]:
    s = np.linspace(0.0, 1.0, 24)
    theta = np.deg2rad(200.0 + rng.uniform(120, 150) * s)
    thickness = rng.uniform(0.22, 0.4) * np.sin(np.pi * s) ** 0.8 + 0.03
    unit = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    outer, inner = unit, unit * (1.0 - thickness)[:, None]
    return [Part("body", np.concatenate([outer, inner[::-1]])),
            Part("accent", np.concatenate([outer[:2], inner[1::-1]]))]


def star(rng: np.random.Generator) -> list[Part]:
    inner = rng.uniform(0.36, 0.5)
    angles = np.deg2rad(-90.0 + 36.0 * np.arange(10) + rng.uniform(-5, 5, 10))
    radii = np.where(np.arange(10) % 2 == 0, 1.0, inner) * rng.uniform(0.9, 1.05, 10)
    return [Part("body", np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1))]


def soccer_ball(rng: np.random.Generator) -> list[Part]:
    patch = rng.uniform(0.16, 0.22)
    turn = rng.uniform(0, 72)
    parts = [Part("body", _ellipse(0, 0, 1, 1, n=40)),
             Part("accent", _ellipse(0, 0, patch * 1.3, patch * 1.3, turn, turn + 360, n=5))]
    for k in range(5):
        a = np.deg2rad(turn + 72 * k + 36)
        parts.append(Part("accent", _ellipse(0.7 * np.cos(a), 0.7 * np.sin(a), patch, patch,
                                             turn, turn + 360, n=5)))
    return parts


def traffic_light(rng: np.random.Generator) -> list[Part]:
    half = rng.uniform(0.3, 0.42)
    lamp = half * rng.uniform(0.6, 0.8)
    return [Part("body", _rect(-half, -1.0, half, 0.75)),
            Part("body", _rect(-0.07, 0.75, 0.07, 1.0)),
            *(Part("accent", _ellipse(0, y, lamp, lamp, n=20)) for y in (-0.65, -0.12, 0.41))]


def dumbbell(rng: np.random.Generator) -> list[Part]:
    plate, bar = rng.uniform(0.4, 0.7), rng.uniform(0.06, 0.13)
    width = rng.uniform(0.25, 0.4)
    return [Part("body", _rect(-1.0, -plate, -1.0 + width, plate)),
            Part("body", _rect(1.0 - width, -plate, 1.0, plate)),
            Part("body", _rect(-1.0 + width, -bar, 1.0 - width, bar)),
            Part("accent", _rect(-0.25, -bar * 1.4, 0.25, bar * 1.4))]


def fish(rng: np.random.Generator) -> list[Part]:
    depth, fork = rng.uniform(0.3, 0.45), rng.uniform(0.35, 0.55)
    return [Part("body", _ellipse(-0.2, 0, 0.65, depth)),
            Part("body", _poly((0.35, 0.0), (1.0, -fork), (0.82, 0.0), (1.0, fork))),
            Part("body", _poly((-0.45, -depth * 0.8), (-0.05, -depth - 0.25), (0.15, -depth * 0.7))),
            Part("accent", _ellipse(-0.62, -0.08, 0.07, 0.07, n=12))]


def bottle(rng: np.random.Generator) -> list[Part]:
    half, neck = rng.uniform(0.25, 0.35), rng.uniform(0.07, 0.11)
    right_shoulder = _ellipse(neck, -0.2, half - neck, 0.3, 0, -90, n=8)  # (half, -.2) up to (neck, -.5)
    left_shoulder = right_shoulder[::-1] * np.array([-1.0, 1.0])
    outline = np.concatenate([_poly((-half, 1.0), (half, 1.0)), right_shoulder,
                              _poly((neck, -1.0), (-neck, -1.0)), left_shoulder])
    label = rng.uniform(0.05, 0.25)
    return [Part("body", outline),
            Part("accent", _rect(-half, label, half, label + 0.45)),
            Part("accent", _rect(-neck, -1.0, neck, -0.88))]


def bow_tie(rng: np.random.Generator) -> list[Part]:
    wing, waist = rng.uniform(0.45, 0.7), rng.uniform(0.1, 0.2)
    return [Part("body", _poly((-1.0, -wing), (-0.12, -waist), (0.12, -waist), (1.0, -wing),
                               (1.0, wing), (0.12, waist), (-0.12, waist), (-1.0, wing))),
            Part("accent", _rect(-0.17, -waist - 0.08, 0.17, waist + 0.08))]


def ring(rng: np.random.Generator) -> list[Part]:
    hole = rng.uniform(0.25, 0.42)
    dx, dy = rng.uniform(-0.08, 0.08, 2)
    return [Part("body", _ellipse(0, 0, 1, 1, n=40)), Part("hole", _ellipse(dx, dy, hole, hole))]


def mushroom(rng: np.random.Generator) -> list[Part]:
    cap, stem = rng.uniform(0.45, 0.75), rng.uniform(0.15, 0.28)
    return [Part("accent", _poly((-stem, 0.08), (stem, 0.08), (stem * 1.3, 1.0), (-stem * 1.3, 1.0))),
            Part("body", np.concatenate([_ellipse(0, 0, 1, cap, 180, 360, n=28),
                                         _ellipse(0, 0, 1, 0.12, 0, 180, n=12)]))]


def hammer(rng: np.random.Generator) -> list[Part]:
    head, handle = rng.uniform(0.55, 0.8), rng.uniform(0.07, 0.12)
    return [Part("body", _rect(-handle, -0.62, handle, 1.0)),
            Part("accent", _rect(-head, -1.0, head * 0.6, -0.62)),
            Part("accent", _poly((head * 0.6, -1.0), (head + 0.25, -1.15), (head * 0.6, -0.62)))]


def wedge(rng: np.random.Generator) -> list[Part]:
    half_angle = rng.uniform(20, 32)
    crust = _ellipse(0, 1.0, 2.0, 2.0, 270 - half_angle, 270 + half_angle, n=16)
    return [Part("body", np.concatenate([_poly((0.0, 1.0)), crust])),
            Part("stroke", crust, width=0.16)]


def pan(rng: np.random.Generator) -> list[Part]:
    radius, handle = rng.uniform(0.5, 0.62), rng.uniform(0.06, 0.1)
    return [Part("body", _ellipse(-0.38, 0, radius, radius, n=36)),
            Part("accent", _rect(radius - 0.4, -handle, 1.0, handle)),
            Part("accent", _ellipse(-0.38, 0, radius * 0.75, radius * 0.75, n=36))]


def snail(rng: np.random.Generator) -> list[Part]:
    shell = rng.uniform(0.5, 0.65)
    turns = np.linspace(0, 4 * np.pi, 40)
    spiral = np.stack([0.1 + shell * turns / turns[-1] * np.cos(turns),
                       -0.25 + shell * turns / turns[-1] * np.sin(turns)], axis=1)
    return [Part("accent", _ellipse(-0.1, 0.45, 0.95, 0.16)),
            Part("body", _ellipse(0.1, -0.25, shell, shell, n=36)),
            Part("stroke", spiral, width=0.06)]


def accordion(rng: np.random.Generator) -> list[Part]:
    half, folds = rng.uniform(0.5, 0.7), int(rng.integers(5, 9))
    xs = np.linspace(-0.55, 0.9, 2 * folds + 1)
    zigzag = np.stack([xs, np.where(np.arange(len(xs)) % 2 == 0, -half, half)], axis=1)
    return [Part("body", _rect(-1.0, -half, 1.0, half)),
            Part("accent", _rect(-1.0, -half, -0.65, half)),
            Part("stroke", zigzag, width=0.05)]


def laptop(rng: np.random.Generator) -> list[Part]:
    screen = rng.uniform(-1.0, -0.7)
    return [Part("body", _rect(-0.8, screen, 0.8, 0.2)),
            Part("accent", _rect(-0.7, screen + 0.1, 0.7, 0.1)),
            Part("accent", _poly((-0.8, 0.2), (0.8, 0.2), (1.0, 0.55), (-1.0, 0.55)))]


def beetle(rng: np.random.Generator) -> list[Part]:
    width = rng.uniform(0.65, 0.85)
    return [Part("accent", _ellipse(0, -0.72, 0.32, 0.25, n=20)),
            Part("body", _ellipse(0, 0.12, width, 0.85, n=36)),
            Part("stroke", _poly((0.0, -0.72), (0.0, 0.97)), width=0.05)]


def jellyfish(rng: np.random.Generator) -> list[Part]:
    dome, count = rng.uniform(0.5, 0.75), int(rng.integers(4, 7))
    ys = np.linspace(0.0, 1.0, 12)
    parts = [Part("body", _ellipse(0, 0, 1, dome, 180, 360, n=28))]
    for x in np.linspace(-0.75, 0.75, count):
        wiggle = x + 0.08 * np.sin(ys * rng.uniform(6, 10) + rng.uniform(0, 6))
        parts.append(Part("stroke", np.stack([wiggle, ys], axis=1), width=0.07))
    return parts


def quadruped(rng: np.random.Generator) -> list[Part]:
    depth, leg = rng.uniform(0.22, 0.32), rng.uniform(0.06, 0.1)
    parts = [Part("body", _ellipse(0.05, -0.05, 0.65, depth)),
             Part("body", _poly((-0.45, -0.15), (-0.7, -0.7), (-0.52, -0.75), (-0.25, -0.2))),
             Part("body", _ellipse(-0.75, -0.7, 0.25, 0.12, n=20)),
             Part("stroke", _poly((0.68, -0.1), (0.85, 0.35)), width=0.05)]
    for x in (-0.4, -0.2, 0.3, 0.5):
        parts.append(Part("body", _rect(x - leg, 0.0, x + leg, 0.75)))
    return parts


def berry(rng: np.random.Generator) -> list[Part]:
    top = rng.uniform(0.7, 0.9)
    outline = np.concatenate([_ellipse(0, -0.2, top, 0.6, 180, 360, n=24), _poly((0.0, 1.0))])
    crown = [(x, -0.8 - (0.25 if k % 2 else 0.0)) for k, x in enumerate(np.linspace(-0.5, 0.5, 7))]
    return [Part("body", outline), Part("accent", _poly(*crown, (0.0, -0.55)))]


SHAPES: dict[str, Callable[[np.random.Generator], list[Part]]] = {
    f.__name__: f for f in (crescent, star, soccer_ball, traffic_light, dumbbell, fish, bottle, bow_tie,
                            ring, mushroom, hammer, wedge, pan, snail, accordion, laptop, beetle,
                            jellyfish, quadruped, berry)
}


def blob(rng: np.random.Generator) -> list[Part]:
    """An irregular rounded blob: background clutter that belongs to no class."""
    angles = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    # Low harmonics only: a strong 5th would give star-like lobes, i.e. a class shape.
    radius = 1.0 + sum(rng.uniform(0.05, amplitude) * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
                       for k, amplitude in ((2, 0.3), (3, 0.25), (4, 0.1)))
    return [Part("body", np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1))]
