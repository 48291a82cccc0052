"""topograd's benchmark suite: ``python -m benchmarks`` (or ``make bench``).

It times topograd against a hand-written NumPy (or raw CuPy) floor, the same
arithmetic with no graph, and against PyTorch where it is installed. Contenders
of one benchmark run interleaved in one process at a fixed thread count; results
go to a table on screen and to JSON, Markdown and PNG files under ``--out``.

This package imports nothing heavy at import time: the thread count must be set
before NumPy loads its BLAS (see ``benchmarks.threads``).
"""
