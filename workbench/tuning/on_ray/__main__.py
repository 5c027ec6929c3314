"""``python -m workbench.tuning.on_ray JOB_FOLDER``: the driver of a tune job on Ray."""

import sys

from .driver import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
