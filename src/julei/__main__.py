"""Run the command line as ``python -m julei``."""

import sys

from julei.cli import main

if __name__ == "__main__":
    sys.exit(main())
