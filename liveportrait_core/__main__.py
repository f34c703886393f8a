"""``python -m liveportrait_core``: see :mod:`liveportrait_core.cli`."""
import sys

from .cli import main

sys.exit(main())
