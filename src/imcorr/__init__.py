"""imcorr: how do these two images relate?

Conventions (see README "Conventions"):

* arrays are numpy, axis order (z, y, x), colour on an optional ``channel_axis``;
* a shift is the displacement of the *moving* image's content relative to the
  *reference*: ``moving ~= scipy.ndimage.shift(reference, shift)``, in (z,) y, x order;
* results are frozen dataclasses with named fields and ``to_dict()``;
* bad input raises an :class:`~imcorr.errors.ImcorrError` (a ``ValueError`` or
  ``OSError`` subclass) whose message names the argument and what to do.
"""

__version__ = "0.1.0"

from . import errors  # noqa: E402,F401

# Capability modules re-export their public API here, one line each.
from .correlate import *  # noqa: E402,F401,F403
from .errors import *  # noqa: E402,F401,F403
from .hashing import *  # noqa: E402,F401,F403
from .io import load, read, save  # noqa: E402,F401
from .keypoints import *  # noqa: E402,F401,F403
from .localmap import *  # noqa: E402,F401,F403
from .match import *  # noqa: E402,F401,F403
from .matrix import *  # noqa: E402,F401,F403
from .register import *  # noqa: E402,F401,F403
from .signal import *  # noqa: E402,F401,F403
from .similarity import *  # noqa: E402,F401,F403
from .stats import *  # noqa: E402,F401,F403
