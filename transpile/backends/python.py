"""Run generated source as plain Python: slow, but every line can be stepped through in pdb."""


def compile_python(module, entry, function_names, options):
    return getattr(module, entry)
