"""Exceptions of our own, one per kind of bad input.

Each message names the node, connection, key or file at fault; the CLI prints it on one line
and exits with status 2.
"""


class ArchsearchError(Exception):
    """Base of every error archsearch raises on purpose."""


class GraphError(ArchsearchError):
    """A fusion graph is malformed, or an operation would make it so."""


class ConfigError(ArchsearchError):
    """A configuration file or option is invalid."""


class DataError(ArchsearchError):
    """A data set on disk is malformed."""


class TrainingError(ArchsearchError):
    """Training cannot go on: the loss is no longer a finite number."""
