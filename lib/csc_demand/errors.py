"""The project's errors: what was wrong and what to do, said in one line by the command line (``cli.main``).

Each also derives from the built-in exception it replaces, so code that catches ``ValueError`` or
``FileNotFoundError`` keeps working. Anything that is not a ``CscDemandError`` is a bug or an environment fault:
the command line shows its traceback.
"""
from __future__ import annotations


class CscDemandError(Exception):
    """An error the user can act on: printed as one line, exit code 2 (usage, configuration or input)."""


class ConfigurationError(CscDemandError, ValueError):
    """A configuration file, override, option or environment (e.g. Spark without Delta) that cannot work."""


class InputFileError(CscDemandError, FileNotFoundError):
    """Input files or folders that are missing or cannot be read as they are (a file that is refused during ingest
    is reported by ingest itself, exit code 1)."""


class MissingTableError(CscDemandError, FileNotFoundError):
    """A Delta table (or its rows) that an earlier stage should have written is not there."""


class SchemaContractError(CscDemandError, ValueError):
    """A table a stage reads lacks the columns, or column types, the stage's contract names."""


class ModelError(CscDemandError, ValueError):
    """A model, parameter set or categories file that cannot be fitted, loaded or applied."""


class ConcurrentWriteError(CscDemandError, RuntimeError):
    """Another process kept changing the tables a write needed, for every attempt; nothing of it was committed
    (exit code 3: nothing the user typed was wrong)."""


class SparkStartError(CscDemandError, RuntimeError):
    """Spark's JVM could not start, e.g. its jars could not be fetched (exit code 3: nothing the user typed was
    wrong)."""
