"""A safe compiler for node formulas: arithmetic over child ids, evaluated with numpy.

Tree files come from strangers' pull requests, so a formula is never executed as
Python: no ``eval``, no ``exec``, no bytecode. It is parsed with :func:`ast.parse`,
every node is checked against a small whitelist, and the tree is turned into
nested closures over numpy ufuncs. Evaluation is vectorised: a child's value may be a scalar, an
array over periods, or a batch × periods array, and numpy broadcasting does the
rest. All arithmetic is float64; a missing value (NaN) is the answer wherever
the maths has none (division by zero, log of a non-positive number).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from keyword import kwlist, softkwlist

import numpy as np

from nsm_cli.tree.functions import FUNCTIONS

MAX_FORMULA_LENGTH = 2000  # characters
MAX_FORMULA_NODES = 500  # expression nodes in the AST
MAX_FORMULA_DEPTH = 100  # levels of nesting (brackets, or operands inside operands)
MAX_ROUND_DIGITS = 12

ALLOWED = "use only child ids, numbers, + - * / ** and min max abs sqrt log exp round clip"
SPLIT = "split it into intermediate nodes"

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Value = np.ndarray
Env = Mapping[str, np.ndarray]
Fn = Callable[[Env], Value]


class FormulaError(Exception):
    """A formula that cannot be compiled."""

    def __init__(self, code: str, message: str, offset: int = 0):
        self.code = code  # E201 syntax, E202 forbidden construct, E207 too long / too deep
        self.message = message
        self.offset = offset  # 0-based character offset in the formula text
        super().__init__(f"{message} [{code}]")


@dataclass(frozen=True)
class Formula:
    """A compiled formula: the names it reads and a closure tree that computes it."""

    text: str
    names: tuple[str, ...]
    name_offsets: dict[str, int] = field(compare=False)
    _run: Fn = field(repr=False, compare=False)

    def evaluate(self, env: Env) -> np.ndarray:
        """The formula's value, broadcast over the shapes of the inputs (KeyError if one lacks)."""
        with np.errstate(all="ignore"):
            return np.asarray(self._run(env), dtype=np.float64)

    __call__ = evaluate


def compile_formula(text: str) -> Formula:
    """Parse, check and compile `text`; raise FormulaError for anything outside the grammar.

    Formulas of a big tree repeat a few shapes (`a * b + c`) over different ids: a shape is
    parsed and checked once, and each formula of that shape reuses it with its own ids.
    """
    shape = _shape(text)
    if shape is not None:
        template, names, offsets = shape
        known = _SHAPES.get(template)
        if known is None:
            try:
                known = _compile_text(template)
            except FormulaError:
                known = None   # the formula itself says what is wrong, at its own offsets
            else:
                if len(_SHAPES) >= MAX_SHAPES:
                    _SHAPES.clear()
                _SHAPES[template] = known
        if known is not None and known.names == tuple(f"_{i}" for i in range(len(names))):
            return Formula(text, names, offsets, _renamed(known._run, known.names, names))
    return _compile_text(text)


MAX_SHAPES = 4096
_SHAPES: dict[str, Formula] = {}
# an id: not inside a number (1e5, 0x1F, 1_000), an attribute (a.b) or a longer word
_WORD = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z_][A-Za-z0-9_]*")
_KEEP = FUNCTIONS | frozenset(kwlist) | frozenset(softkwlist)


def _shape(text: str) -> tuple[str, tuple[str, ...], dict[str, int]] | None:
    """The formula with its ids replaced by `_0`, `_1`… in order of first use, the ids, and
    where each is first used; None for text the shortcut leaves to the full compiler."""
    if not text.isascii() or len(text) > MAX_FORMULA_LENGTH:
        return None
    offsets: dict[str, int] = {}
    slots: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        word = match.group()
        if word in _KEEP:
            return word
        slot = slots.get(word)
        if slot is None:
            slot = slots[word] = f"_{len(slots)}"
            offsets[word] = match.start()
        return slot

    template = _WORD.sub(placeholder, text)
    return template, tuple(offsets), offsets


def _renamed(run: Fn, placeholders: tuple[str, ...], names: tuple[str, ...]) -> Fn:
    """The shape's closure reading the formula's own ids."""
    pairs = tuple(zip(placeholders, names, strict=True))

    def renamed(env: Env) -> Value:
        return run({placeholder: env[name] for placeholder, name in pairs})

    return renamed


def _compile_text(text: str) -> Formula:
    """The full compiler: parse, check and compile one formula text."""
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(
            "E207",
            f"formula is too long ({len(text)} characters, at most {MAX_FORMULA_LENGTH}): {SPLIT}",
            MAX_FORMULA_LENGTH,
        )
    if not text.strip():
        raise FormulaError(
            "E201", "formula is empty: write an expression over the children's ids, e.g. a * b"
        )
    _check_characters(text)
    # Newlines (YAML block scalars) become spaces of the same length, so offsets stay put;
    # the expression is parsed without its surrounding blanks, `base` characters in.
    flat = text.replace("\r", " ").replace("\n", " ")
    body = flat.strip()
    base = len(flat) - len(flat.lstrip())
    tree = _parse(body, base, text)
    source = _Source(body, base)
    names, offsets = _Checker(source).check(tree.body)
    return Formula(text, names, offsets, _compile_root(tree.body))


# ---------------------------------------------------------------- parsing


def _check_characters(text: str) -> None:
    """Refuse what the parser would misread or choke on, with a better message and offset.

    A `#` would turn the rest of the line, and with newlines flattened the rest of the
    formula, into a comment; deep brackets hit the parser's own limit of 200.
    """
    if "\0" in text:
        raise FormulaError(
            "E201", "formula syntax error: the formula contains a NUL character: remove it",
            text.index("\0"),
        )
    if "#" in text:
        raise FormulaError(
            "E202", "comments (#) are not allowed in a formula: remove the # and what follows",
            text.index("#"),
        )
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
            if depth > MAX_FORMULA_DEPTH:
                raise FormulaError(
                    "E207",
                    f"formula is nested too deeply (more than {MAX_FORMULA_DEPTH} levels of "
                    f"brackets): {SPLIT}",
                    index,
                )
        elif char in ")]}":
            depth = max(depth - 1, 0)


def _parse(body: str, base: int, text: str) -> ast.Expression:
    """`ast.parse` in eval mode, with every way it can fail turned into a FormulaError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escapes in a (forbidden) string
            return ast.parse(body, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(exc, body, base, text) from None
    except ValueError:  # e.g. a lone surrogate that cannot be encoded
        raise FormulaError(
            "E201", "formula syntax error: the formula cannot be read: write it with ids, "
            "numbers and operators only", 0,
        ) from None
    except (RecursionError, MemoryError, OverflowError):
        raise FormulaError(
            "E207", f"formula is nested too deeply or too complex to read: {SPLIT}", 0
        ) from None


def _syntax_error(exc: SyntaxError, body: str, base: int, text: str) -> FormulaError:
    """E201 with Python's message, its hints dropped, and a 0-based offset into `text`."""
    message = (exc.msg or "invalid syntax").split(". Perhaps")[0].split(". Maybe")[0]
    at_end = not exc.offset or exc.offset > len(body) or (exc.lineno or 1) > 1
    if at_end:
        offset = len(text.rstrip())
        if message == "invalid syntax":
            message = "unexpected end of formula"
    else:
        offset = base + exc.offset - 1  # SyntaxError.offset counts characters from 1
        if message == "invalid syntax" and body[exc.offset - 1] == "=":
            message = "'=' is not allowed: a formula is an expression such as a * b"
    return FormulaError("E201", f"formula syntax error: {message}", min(offset, len(text)))


class _Source:
    """The parsed text, to turn AST positions (UTF-8 bytes) into character offsets."""

    def __init__(self, body: str, base: int):
        self.body = body
        self.base = base
        self.ascii = body.isascii()
        self.raw = body.encode("utf-8", "surrogatepass")

    def char(self, col: int) -> int:
        """Character index in `body` of a byte column."""
        if self.ascii:
            return col
        return len(self.raw[:col].decode("utf-8", "ignore"))

    def start(self, node: ast.AST) -> int:
        """0-based offset of `node` in the original formula text."""
        return self.base + self.char(getattr(node, "col_offset", 0))

    def segment(self, node: ast.AST) -> str:
        return self.body[self.char(node.col_offset) : self.char(node.end_col_offset or 0)]

    def find(self, token: str, after: ast.AST) -> int:
        """Offset of the first `token` after node `after` (an operator between two operands)."""
        begin = self.char(after.end_col_offset or 0)
        found = self.body.find(token, begin)
        return self.base + (found if found >= 0 else begin)


# ---------------------------------------------------------------- checking

_OPERATORS: dict[type, tuple[str, str]] = {
    ast.FloorDiv: ("//", "'//' (floor division) is not allowed in a formula: use / and round"),
    ast.Mod: ("%", "'%' (remainder) is not allowed in a formula: " + ALLOWED),
    ast.MatMult: ("@", "'@' (matrix product) is not allowed in a formula: " + ALLOWED),
    ast.BitAnd: ("&", "'&' (bitwise and) is not allowed in a formula: " + ALLOWED),
    ast.BitOr: ("|", "'|' (bitwise or) is not allowed in a formula: " + ALLOWED),
    ast.BitXor: ("^", "'^' (bitwise xor) is not allowed in a formula: for a power write **"),
    ast.LShift: ("<<", "'<<' (bit shift) is not allowed in a formula: " + ALLOWED),
    ast.RShift: (">>", "'>>' (bit shift) is not allowed in a formula: " + ALLOWED),
}
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_COMPARE_TOKENS: dict[type, str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is", ast.In: "in", ast.NotIn: "not",
}
_NOT_ALLOWED: dict[type, str] = {
    ast.Lambda: "lambda is not allowed in a formula",
    ast.ListComp: "comprehensions are not allowed in a formula",
    ast.SetComp: "comprehensions are not allowed in a formula",
    ast.DictComp: "comprehensions are not allowed in a formula",
    ast.GeneratorExp: "generator expressions are not allowed in a formula",
    ast.List: "lists [...] are not allowed in a formula",
    ast.Set: "sets {...} are not allowed in a formula",
    ast.Dict: "dicts {...} are not allowed in a formula",
    ast.Tuple: "a tuple (values separated by commas) is not allowed in a formula: commas only "
    "separate the values given to a function such as min(a, b)",
    ast.JoinedStr: "f-strings are not allowed in a formula",
    ast.FormattedValue: "f-strings are not allowed in a formula",
    ast.NamedExpr: "':=' (assignment) is not allowed in a formula",
    ast.Starred: "'*' unpacking is not allowed in a formula: list the values, e.g. min(a, b)",
    ast.Await: "'await' is not allowed in a formula",
    ast.Yield: "'yield' is not allowed in a formula",
    ast.YieldFrom: "'yield' is not allowed in a formula",
    ast.Slice: "slices are not allowed in a formula",
}
_ARITY: dict[str, tuple[int, int | None, str]] = {
    "min": (2, None, "min needs at least 2 values, e.g. min(a, b)"),
    "max": (2, None, "max needs at least 2 values, e.g. max(a, b)"),
    "abs": (1, 1, "abs takes exactly 1 value, e.g. abs(x)"),
    "sqrt": (1, 1, "sqrt takes exactly 1 value, e.g. sqrt(x)"),
    "log": (1, 1, "log takes exactly 1 value, e.g. log(x)"),
    "exp": (1, 1, "exp takes exactly 1 value, e.g. exp(x)"),
    "round": (1, 2, "round takes a value and optionally a number of decimals, e.g. round(x) "
              "or round(x, 2)"),
    "clip": (3, 3, "clip takes exactly 3 values: clip(x, low, high)"),
}
_ROUND_DIGITS = (
    f"the decimals of round must be a whole number from 0 to {MAX_ROUND_DIGITS}, e.g. round(x, 2)"
)


def _forbidden(what: str) -> str:
    """A message for a construct outside the grammar, ending with what the grammar is."""
    return what if ":" in what else f"{what}: {ALLOWED}"


def _chain_group(op: ast.operator) -> int:
    """0 for + -, 1 for * /, -1 otherwise: a left-nested chain of one group runs as a loop."""
    if isinstance(op, ast.Add | ast.Sub):
        return 0
    if isinstance(op, ast.Mult | ast.Div):
        return 1
    return -1


class _Checker:
    """Walks the AST without recursion, bounding its size and depth, collecting every problem.

    The problem reported is the leftmost one, so `__import__('os').system('ls')` is
    refused for calling `__import__`, not for some later part of it.
    """

    def __init__(self, source: _Source):
        self.source = source
        self.problems: list[tuple[int, str]] = []
        self.names: list[tuple[int, str]] = []

    def check(self, root: ast.expr) -> tuple[tuple[str, ...], dict[str, int]]:
        stack: list[tuple[ast.AST, int]] = [(root, 1)]
        count = 0
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > MAX_FORMULA_NODES:
                raise FormulaError(
                    "E207", f"formula is too large (more than {MAX_FORMULA_NODES} parts): {SPLIT}",
                    self.source.start(node),
                )
            if depth > MAX_FORMULA_DEPTH:
                raise FormulaError(
                    "E207", f"formula is nested too deeply (more than {MAX_FORMULA_DEPTH} "
                    f"levels): {SPLIT}", self.source.start(node),
                )
            children = self.visit(node)
            deeper = [(child, depth + 1) for child in children]
            if isinstance(node, ast.BinOp) and children and children[0] is node.left:
                group = _chain_group(node.op)
                left = node.left
                if group >= 0 and isinstance(left, ast.BinOp) and _chain_group(left.op) == group:
                    deeper[0] = (left, depth)  # compiled as one loop, not one level per term
            stack.extend(reversed(deeper))
        if self.problems:
            offset, message = min(self.problems, key=lambda item: item[0])
            raise FormulaError("E202", message, offset)
        offsets: dict[str, int] = {}
        for offset, name in sorted(self.names):
            offsets.setdefault(name, offset)
        return tuple(offsets), offsets

    def problem(self, offset: int, message: str) -> None:
        self.problems.append((offset, message))

    def visit(self, node: ast.AST) -> list[ast.AST]:
        """Record what is wrong with `node` itself; return the children still to check."""
        src = self.source
        if isinstance(node, ast.Constant):
            self.constant(node)
            return []
        if isinstance(node, ast.Name):
            self.name(node)
            return []
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ARITHMETIC):
                token, message = _OPERATORS.get(
                    type(node.op), ("", "this operator is not allowed in a formula"))
                at = src.find(token, node.left) if token else src.start(node)
                self.problem(at, _forbidden(message))
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                self.problem(src.start(node), _forbidden("'not' is not allowed in a formula"))
            elif isinstance(node.op, ast.Invert):
                self.problem(src.start(node),
                             _forbidden("'~' (bitwise not) is not allowed in a formula"))
            return [node.operand]
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            self.problem(src.find(".", node.value),
                         _forbidden("attribute access (.name) is not allowed in a formula"))
            return [node.value]
        if isinstance(node, ast.Subscript):
            self.problem(src.find("[", node.value),
                         _forbidden("indexing with [...] is not allowed in a formula"))
            return [node.value]
        if isinstance(node, ast.Compare):
            token = _COMPARE_TOKENS.get(type(node.ops[0]), "")
            self.problem(src.find(token, node.left),
                         "comparisons (< > == ...) are not allowed in a formula: use min, max or "
                         "clip to bound a value")
            return [node.left, *node.comparators]
        if isinstance(node, ast.BoolOp):
            token = "and" if isinstance(node.op, ast.And) else "or"
            self.problem(src.find(token, node.values[0]),
                         f"'{token}' is not allowed in a formula: use min or max")
            return list(node.values)
        if isinstance(node, ast.IfExp):
            self.problem(src.find("if", node.body),
                         "conditional expressions (x if c else y) are not allowed in a formula: "
                         "use min, max or clip")
            return [node.body, node.test, node.orelse]
        message = _NOT_ALLOWED.get(type(node), f"{type(node).__name__} is not allowed in a formula")
        self.problem(src.start(node), _forbidden(message))
        return []

    def constant(self, node: ast.Constant) -> None:
        value, at = node.value, self.source.start(node)
        if isinstance(value, bool) or value is None:
            self.problem(at, "True, False and None are not allowed in a formula: write a number "
                         "such as 1 or 0")
        elif isinstance(value, complex):
            self.problem(at, "complex numbers such as 1j are not allowed in a formula: write a "
                         "real number")
        elif isinstance(value, str | bytes):
            self.problem(at, _forbidden("text (a quoted string) is not allowed in a formula"))
        elif not isinstance(value, int | float):
            self.problem(at, _forbidden(f"{value!r} is not allowed in a formula"))

    def name(self, node: ast.Name) -> None:
        at, written = self.source.start(node), self.source.segment(node)
        if not _ID.fullmatch(written):
            self.problem(at, f"'{written}' is not a valid id in a formula: ids use only ASCII "
                         "letters, digits and _")
        elif node.id in FUNCTIONS:
            self.problem(at, f"'{node.id}' is a function: call it with its values, e.g. "
                         f"{node.id}({', '.join('abc'[: max(_ARITY[node.id][0], 1)])})")
        else:
            self.names.append((at, node.id))

    def call(self, node: ast.Call) -> list[ast.AST]:
        src = self.source
        func = node.func
        children: list[ast.AST] = list(node.args)
        if not isinstance(func, ast.Name):
            self.problem(src.find("(", func),
                         "only the functions min max abs sqrt log exp round clip can be called: "
                         "write name(values), e.g. max(a, b)")
            children.insert(0, func)
        elif func.id not in FUNCTIONS or not _ID.fullmatch(src.segment(func)):
            self.problem(src.start(func), f"'{src.segment(func)}' is not a function a formula "
                         "can call: the functions are min max abs sqrt log exp round clip")
        else:
            low, high, usage = _ARITY[func.id]
            count = len(node.args)
            if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
                pass  # the keyword or the Starred child reports itself, arity means little
            elif count < low or (high is not None and count > high):
                self.problem(src.start(func), usage)
            elif func.id == "round" and count == 2:
                digits = node.args[1]
                if not (isinstance(digits, ast.Constant) and type(digits.value) is int
                        and 0 <= digits.value <= MAX_ROUND_DIGITS):
                    self.problem(src.start(digits), _ROUND_DIGITS)
                children = children[:1]
        for keyword in node.keywords:
            self.problem(src.start(keyword), "keyword arguments are not allowed in a formula: "
                         "give the values by position, e.g. round(x, 2)")
        return children


# ---------------------------------------------------------------- compiling


def _compile_root(node: ast.expr) -> Fn:
    """The closure for the whole formula; a bare id is copied so callers never share arrays."""
    inner = node
    while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.UAdd):
        inner = inner.operand
    if isinstance(inner, ast.Name):
        key = inner.id
        return lambda env: np.array(env[key], dtype=np.float64)
    return _compile(node)


def _compile(node: ast.expr) -> Fn:
    """One closure per checked node; recursion is bounded by MAX_FORMULA_DEPTH."""
    if isinstance(node, ast.Constant):
        constant = _number(node.value)
        return lambda env: constant
    if isinstance(node, ast.Name):
        key = node.id
        return lambda env: np.asarray(env[key], dtype=np.float64)
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda env: np.negative(operand(env))
        return operand
    if isinstance(node, ast.BinOp):
        return _compile_binop(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _compile_call(node.func.id, node.args)
    raise AssertionError(f"unchecked node {type(node).__name__}")  # the checker refuses these


def _number(value: int | float) -> np.float64:
    try:
        return np.float64(float(value))
    except OverflowError:  # an integer literal beyond float range
        return np.float64(np.inf)


def _divide(a: Value, b: Value) -> Value:
    """a / b, with NaN (a missing value) where b is zero rather than ±inf."""
    return np.where(b == 0, np.nan, np.divide(a, b))


_BINARY: dict[type, Callable[[Value, Value], Value]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: _divide,
    ast.Pow: np.power,
}


def _compile_binop(node: ast.BinOp) -> Fn:
    group = _chain_group(node.op)
    steps: list[tuple[Callable[[Value, Value], Value], Fn]] = []
    current: ast.expr = node
    while isinstance(current, ast.BinOp) and (
        current is node or (group >= 0 and _chain_group(current.op) == group)
    ):
        steps.append((_BINARY[type(current.op)], _compile(current.right)))
        current = current.left
    first = _compile(current)
    steps.reverse()
    if len(steps) == 1:
        ((op, right),) = steps

        def binary(env: Env) -> Value:
            return op(first(env), right(env))

        return binary

    def chain(env: Env) -> Value:
        value = first(env)
        for op, operand in steps:
            value = op(value, operand(env))
        return value

    return chain


def _log(x: Value) -> Value:
    """Natural log, NaN (not -inf) for zero and for negative numbers."""
    return np.where(x > 0, np.log(x), np.nan)


_UNARY_FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "abs": np.abs, "sqrt": np.sqrt, "log": _log, "exp": np.exp,
}


def _compile_call(name: str, args: list[ast.expr]) -> Fn:
    if name in _UNARY_FUNCTIONS:
        function, (arg,) = _UNARY_FUNCTIONS[name], [_compile(a) for a in args]
        return lambda env: function(arg(env))
    if name == "round":
        value = _compile(args[0])
        digits = int(args[1].value) if len(args) == 2 else 0  # type: ignore[attr-defined]
        return lambda env: np.round(value(env), digits)
    fns = [_compile(a) for a in args]
    if name == "clip":
        x, low, high = fns
        return lambda env: np.minimum(np.maximum(x(env), low(env)), high(env))
    # min / max: np.minimum / np.maximum propagate NaN, unlike fmin / fmax
    ufunc = np.minimum if name == "min" else np.maximum
    head, rest = fns[0], fns[1:]

    def extreme(env: Env) -> Value:
        value = head(env)
        for fn in rest:
            value = ufunc(value, fn(env))
        return value

    return extreme


def formula_syntax(text: str) -> tuple[ast.expr, Callable[[ast.AST], int]]:
    """The checked syntax tree of a formula and a function giving a node's offset in `text`.

    For analyses of a formula's structure (the units rule of `nsm check`) that need more
    than its names; raises FormulaError exactly as :func:`compile_formula` does.
    """
    compile_formula(text)
    flat = text.replace("\r", " ").replace("\n", " ")
    body = flat.strip()
    base = len(flat) - len(flat.lstrip())
    return _parse(body, base, text).body, _Source(body, base).start
