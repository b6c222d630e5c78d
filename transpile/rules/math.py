"""Derivative rules of the `math` module (scalars only; template names: see __init__.py)."""
import math
import re

from . import defrule, nondiff

for fn, vjp in [
    (math.sqrt,    "g * 0.5 / ans"),
    (math.cbrt,    "g / (3.0 * ans * ans)"),
    (math.exp,     "g * ans"),
    (math.exp2,    "g * ans * math.log(2.0)"),
    (math.expm1,   "g * (ans + 1.0)"),
    (math.log1p,   "g / (x + 1.0)"),
    (math.log2,    "g / (x * math.log(2.0))"),
    (math.log10,   "g / (x * math.log(10.0))"),
    (math.sin,     "g * math.cos(x)"),
    (math.cos,     "-(g * math.sin(x))"),
    (math.tan,     "g * (1.0 + ans * ans)"),
    (math.asin,    "g / math.sqrt(1.0 - x * x)"),
    (math.acos,    "-g / math.sqrt(1.0 - x * x)"),
    (math.atan,    "g / (1.0 + x * x)"),
    (math.sinh,    "g * math.cosh(x)"),
    (math.cosh,    "g * math.sinh(x)"),
    (math.tanh,    "g * (1.0 - ans * ans)"),
    (math.asinh,   "g / math.sqrt(x * x + 1.0)"),
    (math.acosh,   "g / math.sqrt(x * x - 1.0)"),
    (math.atanh,   "g / (1.0 - x * x)"),
    (math.fabs,    "select(x >= 0.0, g, -g)"),
    (math.erf,     "g * 1.1283791670955126 * math.exp(-(x * x))"),  # 2 / sqrt(pi)
    (math.erfc,    "-(g * 1.1283791670955126 * math.exp(-(x * x)))"),
    (math.degrees, "g * 57.29577951308232"),
    (math.radians, "g * 0.017453292519943295"),
]:
    defrule(fn, "x", vjp=[vjp], jvp=[re.sub(r"\bg\b", "t_x", vjp)])

defrule(math.log, "x, base=math.e", vjp=["g / (x * math.log(base))", "-(g * ans / (base * math.log(base)))"],
        jvp=["t_x / (x * math.log(base))", "-(t_base * ans / (base * math.log(base)))"])
defrule(math.pow, "x, y", vjp=["g * select(y == 0, 0.0, y * np.power(x, y - 1))", "g * np.log(select(x == 0, 1.0, x)) * ans"],
        jvp=["t_x * select(y == 0, 0.0, y * np.power(x, y - 1))", "t_y * np.log(select(x == 0, 1.0, x)) * ans"])
defrule(math.atan2, "y, x", vjp=["g * x / (x * x + y * y)", "-g * y / (x * x + y * y)"],
        jvp=["t_y * x / (x * x + y * y)", "-t_x * y / (x * x + y * y)"])
defrule(math.hypot, "x, y", vjp=["g * x / ans", "g * y / ans"], jvp=["t_x * x / ans", "t_y * y / ans"])

nondiff(math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite, math.isclose,
        math.factorial, math.comb, math.perm, math.gcd)
