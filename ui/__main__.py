"""``python -m ui [options]``: the same as ``rt-sfamnet gui [options]``."""

import sys

from rt_sfamnet.cli import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
