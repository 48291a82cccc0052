"""``python -m benchmarks [--quick] [--device cpu|cuda] [--only NAME] ...``"""
import sys

from .cli import main

sys.exit(main())
