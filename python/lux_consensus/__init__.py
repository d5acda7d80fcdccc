"""The Lux consensus docs' import name for luxsim: the same objects under the same names."""

from luxsim import *  # noqa: F403
from luxsim import __all__ as __all__
