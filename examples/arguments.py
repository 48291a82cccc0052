"""Argument types for the examples' command lines: a bad value stops argparse
with a one-line error (exit status 2) instead of a traceback later in training."""
import argparse
import math


def at_least(minimum, maximum=None):
    """An argparse type: an integer no smaller than ``minimum`` (nor larger than ``maximum``)."""
    def parse(text):
        value = int(text)  # argparse turns a ValueError into "invalid ... value"
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value
    parse.__name__ = "int"  # argparse names the type in "invalid int value: 'x'"
    return parse


def positive_float(text):
    """An argparse type: a finite float above zero (a learning rate)."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value
