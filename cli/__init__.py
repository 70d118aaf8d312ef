"""The ``greenlight`` command line: a thin shell over the domain, like api/ and workers/."""
