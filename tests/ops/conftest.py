"""The op table's modules import each other by name: this folder goes on sys.path."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
