"""numba's on-disk cache for kernels built around other compiled functions, so a second run compiles nothing.

The fused kernel is a closure: :func:`.fused_sgd._compile_step` builds it around the head's compiled row
loss and the noise draw. numba's own cache (``cache=True``) keys a closure by the pickle of its cells,
and a pickled numba function carries a fresh identifier in every process, so each run would miss the
cache and add an entry to it. Here the key is a digest of what the compiled code depends on instead:
the kernel's bytecode and constants, and, recursively, those of every compiled function and the values
it closes over or names as a global. The cache then holds one entry per row loss (whatever the head's
options: they are run-time settings) and argument types, reused by every later process (numba still
invalidates the index when the kernel's source file changes, and the digest when a function it calls does).
"""

from __future__ import annotations

import hashlib
import types


def compiled_digest(function, seen: set[int] | None = None) -> str:
    """sha256 of what a compiled ``function`` (a numba dispatcher or a Python function) computes: its
    code (bytecode, constants, names), the values of its closure cells, and the compiled functions it
    reaches through its cells and globals, digested the same way (modules and other objects by repr)."""
    seen = set() if seen is None else seen
    python_function = getattr(function, "py_func", function)
    if id(python_function) in seen:
        return "(recursion)"
    seen.add(id(python_function))
    hasher = hashlib.sha256()

    def add_code(code: types.CodeType) -> None:
        hasher.update(code.co_code)
        hasher.update(repr(code.co_names).encode())
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                add_code(constant)
            else:
                hasher.update(repr(constant).encode())

    def add_value(value) -> None:
        if hasattr(value, "py_func") or isinstance(value, types.FunctionType):
            hasher.update(compiled_digest(value, seen).encode())
        elif not isinstance(value, types.ModuleType):
            hasher.update(repr(value).encode())

    add_code(python_function.__code__)
    for cell in python_function.__closure__ or ():
        add_value(cell.cell_contents)
    for name in python_function.__code__.co_names:
        if hasattr(python_function.__globals__.get(name), "py_func"):
            add_value(python_function.__globals__[name])
    return hasher.hexdigest()


def cache_on_disk(dispatcher):
    """Give a numba ``dispatcher`` (built with ``cache=False``, before its first call) the on-disk cache keyed by
    :func:`compiled_digest`; returns it."""
    from numba.core.caching import FunctionCache

    digest = compiled_digest(dispatcher)

    class DigestKeyedCache(FunctionCache):
        def _index_key(self, sig, codegen):
            return sig, codegen.magic_tuple(), digest

    dispatcher._cache = DigestKeyedCache(dispatcher.py_func)
    return dispatcher
