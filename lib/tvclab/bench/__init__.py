"""Benchmarks: ``python -m tvclab.bench NAME``. Each NAME is a module here with ``main(argv) -> int``
that prints its measurements and, on its last line, the headline ratio (e.g. ``312.5x``)."""
