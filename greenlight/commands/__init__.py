"""Groups of the ``greenlight`` command line (the root is greenlight/cli.py)."""
