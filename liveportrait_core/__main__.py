"""``python -m liveportrait_core``: see :mod:`liveportrait_core.cli.main`."""
import sys

from .cli.main import main

sys.exit(main())
