"""Render simulated RGB-D frames: a face template animated by a script.

Per frame the renderer

1. sums the displacement fields of the active expressions and of a blink (all precomputed
   on the face box, see :mod:`rt_sfamnet.sim.aus`),
2. moves the person's colour, alpha and depth with the head pose (in-plane rotation about
   the nose, translation, and a scale change from the distance drift) by ``cv2.warpAffine``,
   and, while an expression or blink is active, re-samples the face region through one
   backward map (pose composed with the summed fields) with ``cv2.remap`` — the same map for
   colour, alpha and depth, so image and depth move together,
3. composites the person over the static background, adds colour sensor noise, and turns the
   clean depth into a D415-like measurement (:mod:`rt_sfamnet.sim.depth`).

A frame is a pure function of (template, script, config, seed, index), so frames can be
rendered in any order and the stream is deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.special import ndtri

from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.sim import aus as A
from rt_sfamnet.sim.depth import DepthNoiseConfig, d415_depth
from rt_sfamnet.sim.faces import REFERENCE_WIDTH, FaceTemplate
from rt_sfamnet.sim.nuisance import hand_layer, pose_affine
from rt_sfamnet.sim.script import Script


@dataclass
class RenderConfig:
    """Rendering options.

    Attributes:
        color_noise: standard deviation of colour sensor noise, grey levels.
        depth_noise: D415 depth noise and holes (see :class:`DepthNoiseConfig`);
            ``None`` gives clean depth (rounded to 1 mm, no holes).
        head_motion: scale of the script's head drift and jitter (0 = still head).
    """

    color_noise: float = 1.5
    depth_noise: DepthNoiseConfig | None = field(default_factory=DepthNoiseConfig)
    head_motion: float = 1.0


class Renderer:
    """Renders the frames of one script for one face template.

    Args:
        template: the neutral face (:func:`rt_sfamnet.sim.faces.build_template`).
        script: what the face does (:class:`~rt_sfamnet.sim.script.Script`).
        seed: random seed for sensor noise.
        config: :class:`RenderConfig`.
    """

    def __init__(self, template: FaceTemplate, script: Script, seed: int = 0,
                 config: RenderConfig | None = None) -> None:
        self.template = template
        self.script = script
        self.seed = int(seed)
        self.config = config or RenderConfig()
        h, w = template.alpha.shape
        self.shape = (h, w)
        self.scale = w / REFERENCE_WIDTH
        self.box, self.unit_fields, self.blink = A.face_fields(template.landmarks, (h, w))
        self.fields = [A.combine(self.unit_fields, e.aus, e.amplitude_px * self.scale)
                       for e in script.expressions]
        self._grid_x, self._grid_y = np.meshgrid(np.arange(w, dtype=np.float32),
                                                 np.arange(h, dtype=np.float32))
        # Sensor noise is drawn fresh for every frame (a re-used, shifted noise image would
        # look like coherent motion to optical flow): random bytes mapped through Gaussian
        # quantile tables, which is fast.
        nz = script.nuisance
        self.talk = A.combine(self.unit_fields, {"26": 1.0, "10": 0.35}, self.scale)
        self._iod = float(np.hypot(*(template.landmarks[263, :2] - template.landmarks[33, :2])))
        noise = self.config.color_noise
        if nz is not None and nz.colour_noise is not None and noise > 0:
            noise = nz.colour_noise
        q = (np.arange(256) + 0.5) / 256.0
        cn = np.rint(ndtri(q) * noise)
        self._lut_pos = np.clip(cn, 0, 255).astype(np.uint8)
        self._lut_neg = np.clip(-cn, 0, 255).astype(np.uint8)
        self._normal_table = ndtri((np.arange(65536) + 0.5) / 65536.0).astype(np.float32)
        # the person layer's depth, 0 where there is no person
        self._depth_fg = np.where(template.alpha > 0.5, template.depth, 0).astype(np.float32)

    @property
    def intrinsics(self) -> Intrinsics:
        return self.template.intrinsics

    @property
    def n_frames(self) -> int:
        return self.script.n_frames

    def pose_matrix(self, index: int) -> tuple[np.ndarray, float]:
        """2×3 affine from template to frame pixels at ``index``, and the depth offset (mm)."""
        t = index / self.script.fps
        tx, ty, roll, dz = self.script.motion.pose(t)
        k = self.config.head_motion
        tx, ty, roll, dz = tx * k * self.scale, ty * k * self.scale, roll * k, dz * k
        yaw, grow = 0.0, 0.0
        if self.script.nuisance is not None:  # head moves: offsets on top of the drift
            mx, my, mroll, yaw, grow = self.script.nuisance.head_pose(index)
            tx, ty, roll = tx + mx * k * self.scale, ty + my * k * self.scale, roll + mroll * k
            yaw, grow = yaw * k, grow * k
        z0 = self.template.face_mm
        s = z0 / (z0 + dz) * (1.0 + grow)
        return pose_affine(self.template.nose_xy, tx, ty, roll, yaw, s), dz

    def displacement(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Expression + blink field at ``index`` on the face box: (d h×w×2 px, dz h×w mm)."""
        x0, y0, x1, y1 = self.box
        d = np.zeros((y1 - y0, x1 - x0, 2), np.float32)
        dz = np.zeros((y1 - y0, x1 - x0), np.float32)
        for i, a in self.script.active(index):
            f = self.fields[i]
            d += a * f.d
            dz += a * f.dz
        b = self.script.blink(index)
        if b > 0:
            d += b * self.blink.d
        nz = self.script.nuisance
        if nz is not None:
            for talk in nz.talks:
                a = talk.opening(index, self.script.fps) * talk.amplitude_px
                if a > 0:
                    d += a * self.talk.d
                    dz += a * self.talk.dz
        return d, dz

    def render(self, index: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """Frame ``index``: (colour H×W×3 uint8 RGB, depth H×W uint16 mm, meta dict)."""
        if not 0 <= index < self.script.n_frames:
            raise IndexError(f"frame {index} outside 0..{self.script.n_frames - 1}")
        tpl = self.template
        h, w = self.shape
        M, dz_head = self.pose_matrix(index)
        # head pose for the whole person layer: dst(x) = src(M^-1 x)
        fg = cv2.warpAffine(tpl.color, M, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(tpl.alpha, M, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        zfg = cv2.warpAffine(self._depth_fg, M, (w, h), flags=cv2.INTER_NEAREST,
                             borderMode=cv2.BORDER_REPLICATE)
        d, dz = self.displacement(index)
        if np.any(d) or np.any(dz):
            # expression (and blink) on the face box: one backward map p - D(p), p = M^-1 x
            x0, y0, x1, y1 = self.box
            corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64)
            cm = corners @ M.T
            rx0, ry0 = (max(0, int(np.floor(v)) - 2) for v in cm.min(axis=0))
            rx1 = min(w, int(np.ceil(cm[:, 0].max())) + 2)
            ry1 = min(h, int(np.ceil(cm[:, 1].max())) + 2)
            Mi = cv2.invertAffineTransform(M)
            gx = self._grid_x[ry0:ry1, rx0:rx1]
            gy = self._grid_y[ry0:ry1, rx0:rx1]
            px = Mi[0, 0] * gx + Mi[0, 1] * gy + np.float32(Mi[0, 2])
            py = Mi[1, 0] * gx + Mi[1, 1] * gy + np.float32(Mi[1, 2])
            field = np.dstack([d, dz])
            dd = cv2.remap(field, px - np.float32(x0), py - np.float32(y0), cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            mx = (px - dd[..., 0]).astype(np.float32)
            my = (py - dd[..., 1]).astype(np.float32)
            fg[ry0:ry1, rx0:rx1] = cv2.remap(tpl.color, mx, my, cv2.INTER_LINEAR,
                                             borderMode=cv2.BORDER_REPLICATE)
            alpha[ry0:ry1, rx0:rx1] = cv2.remap(tpl.alpha, mx, my, cv2.INTER_LINEAR,
                                                borderMode=cv2.BORDER_REPLICATE)
            zr = cv2.remap(self._depth_fg, mx, my, cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_REPLICATE)
            zfg[ry0:ry1, rx0:rx1] = np.where(zr > 0, zr + dd[..., 2], 0)
        color = cv2.blendLinear(fg, tpl.background_color, alpha, 1.0 - alpha)
        hand_alpha = hand_depth = None
        if self.script.nuisance is not None:
            color, hand_alpha, hand_depth = self._nuisance_layers(index, color, M)
        rng = np.random.default_rng([self.seed, index])
        if self.config.color_noise > 0:
            b = np.frombuffer(rng.bytes(h * w * 3), np.uint8).reshape(h, w, 3)
            color = cv2.subtract(cv2.add(color, cv2.LUT(b, self._lut_pos)),
                                 cv2.LUT(b, self._lut_neg))
        person = (alpha > 0.5) & (zfg > 0)
        clean = np.where(person, zfg + np.float32(dz_head), tpl.background_depth)
        if hand_alpha is not None:
            clean = np.where(hand_alpha > 0.5, hand_depth, clean).astype(np.float32)
        cfg = self.config.depth_noise
        if cfg is None:
            depth = np.clip(np.rint(clean), 0, 65535).astype(np.uint16)
        else:
            normal = self._normal_table[np.frombuffer(rng.bytes(h * w * 2), np.uint16).reshape(h, w)]
            uni = np.frombuffer(rng.bytes(h * w), np.uint8).reshape(h, w).astype(np.float32)
            uni = (uni + 0.5) * np.float32(1.0 / 256.0)
            lum = cv2.cvtColor(color, cv2.COLOR_RGB2GRAY)
            depth = d415_depth(clean, normal, uni, lum, tpl.intrinsics.fx, cfg)
        nz = self.script.nuisance
        if nz is not None and nz.jpeg_quality is not None:  # video compression
            ok, buf = cv2.imencode(".jpg", color, [cv2.IMWRITE_JPEG_QUALITY, nz.jpeg_quality])
            color = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else color
        meta = {"au": self.script.au_activations(index), "blink": self.script.blink(index)}
        return color, depth, meta

    def _nuisance_layers(self, index: int, color: np.ndarray, M: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Lighting drift and a hand over the face (:mod:`rt_sfamnet.sim.nuisance`):
        (colour H×W×3 uint8, hand alpha H×W float32 or None, hand depth H×W mm or None)."""
        nz = self.script.nuisance
        h, w = self.shape
        g, slope = nz.lighting.factors(index / self.script.fps)
        out = color
        if g != 1.0 or slope != 0.0:
            ramp = (1.0 + slope * (np.arange(w, dtype=np.float32) - w / 2) / w) * np.float32(g)
            out = np.clip(color * ramp[None, :, None], 0, 255).astype(np.uint8)
        for hand in nz.hands:
            amount = hand.position(index)
            if amount <= 0:
                continue
            nose = M[:, :2] @ np.asarray(self.template.nose_xy, np.float64) + M[:, 2]
            a, col, dep = hand_layer(self.shape, (float(nose[0]), float(nose[1])), self._iod,
                                     hand, amount, self.template.face_mm)
            out = (out * (1.0 - a[..., None]) + col * a[..., None]).clip(0, 255).astype(np.uint8)
            return out, a, dep
        return out, None, None

    def frame(self, index: int) -> RGBDFrame:
        """Frame ``index`` as an :class:`~rt_sfamnet.frames.RGBDFrame` (timestamp index / fps)."""
        color, depth, meta = self.render(index)
        return RGBDFrame(color, depth, index / self.script.fps, index, self.intrinsics, meta)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[RGBDFrame]:
        """Frames ``start`` .. ``stop - 1`` (default: to the end of the script)."""
        stop = self.script.n_frames if stop is None else min(stop, self.script.n_frames)
        for i in range(start, stop):
            yield self.frame(i)

    def landmarks(self, index: int) -> np.ndarray:
        """Where the template's landmarks are at frame ``index`` (468×2 frame pixels): head pose
        and expression displacement applied (fixed-point inverse of the backward map)."""
        M, _ = self.pose_matrix(index)
        d, _ = self.displacement(index)
        x0, y0, x1, y1 = self.box
        lm = self.template.landmarks[:, :2].astype(np.float64)
        y = lm.copy()
        for _ in range(6):  # template point q moves to y with y - d(y) = q (template coords)
            xi = np.clip(np.rint(y[:, 0]).astype(int) - x0, 0, x1 - x0 - 1)
            yi = np.clip(np.rint(y[:, 1]).astype(int) - y0, 0, y1 - y0 - 1)
            y = lm + d[yi, xi]
        return y @ M[:, :2].T + M[:, 2]
