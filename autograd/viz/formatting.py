"""Quantities as short text: times and byte counts (shared with the profiler's
tables) and tensor shapes."""


def format_time(seconds):
    """Like torch.profiler's tables: ``56.000us``, ``1.234ms``, ``2.500s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.3f}ms"
    return f"{seconds:.3f}s"


def format_bytes(n):
    """Exact bytes while small, binary units above 10 KiB."""
    if n < 10 * 1024:
        return f"{n:,} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"


def shape_text(shape):
    return "scalar" if len(shape) == 0 else "×".join(str(d) for d in shape)

