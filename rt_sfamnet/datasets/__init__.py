"""Datasets: CAS(ME)^3 part A (and simulated datasets in its layout), labels, feature cache.

- :mod:`rt_sfamnet.datasets.casme3`: annotation tables, frame-folder discovery, videos.
- :mod:`rt_sfamnet.datasets.labels`: spotting samples, pseudo-labels, GT samples (§3).
- :mod:`rt_sfamnet.datasets.cache`: the on-disk feature cache and the extraction loop.
- :mod:`rt_sfamnet.datasets.synthetic`: simulated datasets and synthetic flow-map caches.
"""

from rt_sfamnet.datasets.casme3 import (
    Annotations,
    Dataset,
    Video,
    discover_videos,
    load_dataset,
    read_annotations,
)

__all__ = ["Annotations", "Dataset", "Video", "discover_videos", "load_dataset",
           "read_annotations"]
