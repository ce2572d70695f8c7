"""Runs the schemathesis CLI (`st`) with `ast.parse` serialized across threads.

CPython 3.11 can fail when two threads build ASTs at once ("AST constructor recursion depth
mismatch"); hypothesis parses source to describe its filters, and `--workers 2` runs two
threads. One lock around `ast.parse` keeps the run from crashing on older interpreters.
"""

import ast
import sys
import threading

_lock = threading.Lock()
_parse = ast.parse


def _serialized_parse(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse

from schemathesis.cli import schemathesis  # noqa: E402  (after the patch, on purpose)

sys.exit(schemathesis())
