"""The command line: ``python -m liveportrait_core animate|edit|crop|convert`` (see :mod:`.main`)."""
