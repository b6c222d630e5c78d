"""Print gast trees as Python source (astor, or ast.unparse where astor cannot)."""
import ast
import linecache

import gast

try:
    import astor
except ImportError:  # astor is a declared dependency, but it may not import on newer Pythons
    astor = None


def to_python_ast(tree):
    """A standard-library AST for a gast tree, with locations filled in."""
    return ast.fix_missing_locations(gast.gast_to_ast(tree))


def unparse(tree, printer="auto"):
    """Source text of a gast or ast tree; `printer` is "astor", "ast" or "auto"."""
    node = to_python_ast(tree) if isinstance(tree, gast.AST) else tree
    if printer == "astor" or (printer == "auto" and astor is not None):
        if astor is None:
            raise RuntimeError("astor is not installed")
        try:
            return astor.to_source(node, pretty_source=_one_statement_per_line)
        except Exception:  # astor lags behind new node types; ast.unparse knows them all
            if printer == "astor":
                raise
    return ast.unparse(node) + "\n"


def _one_statement_per_line(tokens):
    """astor's default pretty-printer wraps long lines mid-expression; keep them whole."""
    return "".join(tokens)


def source_line(filename, lineno):
    """The user's line, stripped, for comments in generated code."""
    return linecache.getline(filename, lineno).strip() if filename and lineno else ""
