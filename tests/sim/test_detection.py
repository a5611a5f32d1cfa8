"""MediaPipe's face mesh finds the simulated face in at least 99 % of frames."""

from __future__ import annotations

import numpy as np

from rt_sfamnet.sim import faces, make_renderer


def test_mediapipe_finds_faces_in_99_percent_of_frames():
    import mediapipe as mp

    frames = 0
    found = 0
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                         refine_landmarks=False) as mesh:
        for ident in range(len(faces.IDENTITIES)):
            r = make_renderer(seed=200 + ident, identity=ident, duration_s=20.0)
            idx = set(range(0, r.n_frames, 47))
            # the hardest frames: expression apexes and closed eyes
            idx |= {e.apex for e in r.script.expressions}
            idx |= {(b.start + b.end) // 2 for b in r.script.blinks}
            for i in sorted(idx):
                color, _, _ = r.render(i)
                res = mesh.process(np.ascontiguousarray(color))
                frames += 1
                found += bool(res.multi_face_landmarks)
    assert frames >= 200
    assert found / frames >= 0.99, (found, frames)
