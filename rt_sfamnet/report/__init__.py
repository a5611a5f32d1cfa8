"""Session reports: an analysis folder into one self-contained HTML file, and per-event PNGs.

- :mod:`.results` — :func:`~.results.load_results`, the one reader of an analysis folder;
- :mod:`.evidence` — :class:`~.evidence.SourceReplay`: an event's face crops, apex input maps
  and attention, replayed from the source through the pipeline's own stages;
- :mod:`.figures` — matplotlib figures (score curves, the per-event PNG) and heat overlays;
- :mod:`.html` — :func:`~.html.build_report` (Jinja2 template ``templates/report.html.j2``).
"""
