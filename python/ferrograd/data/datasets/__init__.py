"""Built-in data sets that need no download (optional packages: scikit-learn, mnist1d, networkx)."""

from .digits import load_digits
from .karate import GraphData, load_karate_club
from .labeled import LabeledData
from .mnist1d import load_mnist1d
from .shapes import COLORS, SHAPES, ShapesData, make_shapes
from .text import TextCorpus, load_text_corpus, stdlib_source_files

__all__ = ["COLORS", "GraphData", "LabeledData", "SHAPES", "ShapesData", "TextCorpus", "load_digits",
           "load_karate_club", "load_mnist1d", "load_text_corpus", "make_shapes", "stdlib_source_files"]
