"""Lets the fuzz suites and their tests ``import harness`` and ``import fz_<name>``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
