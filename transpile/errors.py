"""Errors raised at transformation time, each pointing at the user's source."""
import linecache


class TranspileError(Exception):
    """A function cannot be transformed; the message shows where and what to do instead."""

    def __init__(self, message, node=None, filename=None, hint=None):
        self.reason = message
        self.filename = filename
        self.lineno = getattr(node, "lineno", None)
        self.col_offset = getattr(node, "col_offset", None)
        self.hint = hint
        super().__init__(self._format())

    def _format(self):
        if self.filename is None or self.lineno is None:
            text = self.reason
        else:
            col = (self.col_offset or 0) + 1
            text = f"{self.filename}:{self.lineno}:{col}: {self.reason}"
            line = linecache.getline(self.filename, self.lineno).rstrip("\n")
            if line:
                text += f"\n    {line}\n    {' ' * (col - 1)}^"
        if self.hint:
            text += f"\n{self.hint}"
        return text


class UnsupportedSyntaxError(TranspileError):
    """The construct is outside the subset that transformations accept."""


class SourceUnavailableError(TranspileError):
    """The function's source cannot be read, so it cannot be rewritten."""


class NotDifferentiableError(TranspileError):
    """A derivative was asked of something that has none (integers, booleans, non-scalar outputs)."""


class MissingRuleError(NotDifferentiableError):
    """A library function has no derivative or batching rule."""


class CompileError(TranspileError):
    """The generated code cannot be compiled for the requested target."""


class SideEffectError(UnsupportedSyntaxError):
    """The function would change or show something outside itself (print, a write into an argument
    or a global array, a call whose result is dropped): transformed code keeps no side effects."""


class FusionFallbackWarning(UserWarning):
    """Fused code that Numba could not compile ran unfused instead (a bug in the fusion pass)."""
