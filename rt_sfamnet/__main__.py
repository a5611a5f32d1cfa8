"""``python -m rt_sfamnet``: the same as the ``rt-sfamnet`` command."""

from rt_sfamnet.cli import main

raise SystemExit(main())
