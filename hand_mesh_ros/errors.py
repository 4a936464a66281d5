"""The errors that mean "this cannot be set up as asked", shared by every layer (imports nothing of ours).

Everything a node does at configure time that can fail because of a setting, a file or this machine raises a
:class:`ConfigurationError`: a model file that is missing or damaged, a cache folder that cannot be written, a
``mano_dir`` without MANO files, a GPU backend on a machine without a GPU, an unknown setting value. The message
names the setting or file, says what is wrong and what to do; the error that revealed it is chained
(``raise ... from exc``). Catch :class:`ConfigurationError` to tell these apart from bugs.
"""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """A setting, a file or this machine does not allow what was asked; the message says what to do."""


class InvalidSettingError(ConfigurationError, ValueError):
    """A setting has a value that is not allowed (unknown name, out of range, wrong type or form)."""


class CacheNotWritableError(ConfigurationError):
    """The cache folder (``$HAND_MESH_ROS_CACHE``) cannot be created or written where something must be saved."""
