"""No app reaches into another app's private names (house rule 13), and no import of our own
code hides inside a function without saying why; `make lint` runs both checks.

import-linter sees modules, not names, so it cannot tell `from apps.photos.selectors import
photo_list` from `... import _with_card_data`. This reads the source instead and reports:

- `from apps.photos.services import _name` in any module outside apps.photos;
- `services._name` where `services` is a module of another app (however it was imported);
- importing a private module of another app (`apps.photos._internal`).

photosite/ counts as one more unit: an app must not use photosite's private names either,
nor photosite an app's; nor may compose/ or bench/ use theirs. Inside one app, private
names are that app's own business. Tests are not checked: a test may look inside.

An import of apps, photosite or compose inside a function dodges an import cycle or waits for
Django's app registry; either way a newcomer moving it to the top would break something, so
it carries a comment on its line or right above it (above a run of imports, for the whole run).
Reported as `... imported inside a function without a comment saying why`. bench/ is not held
to this: its scripts import our code after django.setup(), every one for that same reason.

    python -m tests.lint_private_names [paths...]     # default: apps photosite compose (bench: names only)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = ("apps", "photosite")  # whose private names are guarded
CHECKED_BY_DEFAULT = ("apps", "photosite", "compose", "bench")
OUR_CODE = ("apps", "photosite", "compose")  # an import of these inside a function needs a reason
IMPORTS_CHECKED_BY_DEFAULT = ("apps", "photosite", "compose")


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    column: int
    name: str  # the dotted name reached, e.g. apps.photos.selectors._with_card_data

    def __str__(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return (
            f"{shown}:{self.line}:{self.column + 1}: {self.name} is private to {unit_of(self.name)}; "
            "use or add a public function there"
        )


def is_private(part: str) -> bool:
    """`_name` is private; `__name__`-style dunders are not."""
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def unit_of(dotted: str) -> str:
    """The boundary a name belongs to: `apps.<app>` for an app, `photosite` for the seams."""
    parts = dotted.split(".")
    if parts[0] == "apps" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def module_name_of(path: Path, root: Path) -> str:
    relative = path.resolve().relative_to(root).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str, root: Path) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def first_private(dotted: str, root: Path) -> str | None:
    """The dotted name up to its first private part, if that part is a module or a module's
    attribute (attributes of classes and objects, like `Photo._meta`, are not judged here)."""
    parts = dotted.split(".")
    for index in range(1, len(parts)):
        if is_private(parts[index]):
            return ".".join(parts[: index + 1])
        if not is_module(".".join(parts[: index + 1]), root):
            return None  # parts[index] is a class or function: what follows is its attribute
    return None


def resolve_relative(module: str, level: int, target: str | None, *, is_package: bool) -> str:
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, target] if target else base)


class PrivateNameFinder(ast.NodeVisitor):
    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root
        self.module = module_name_of(path, root)
        self.is_package = path.name == "__init__.py"
        self.unit = unit_of(self.module)
        self.bound: dict[str, str] = {}  # local name -> the dotted name it stands for
        self.found: list[Violation] = []

    def foreign(self, dotted: str) -> bool:
        return dotted.split(".")[0] in OUR_PACKAGES and unit_of(dotted) != self.unit

    def report(self, node: ast.AST, dotted: str) -> None:
        self.found.append(Violation(self.path, getattr(node, "lineno", 0), getattr(node, "col_offset", 0), dotted))

    def check_reached(self, node: ast.AST, dotted: str) -> None:
        if self.foreign(dotted) and (private := first_private(dotted, self.root)) is not None:
            self.report(node, private)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_reached(node, alias.name)
            if alias.asname:
                self.bound[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.bound[top] = top
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = (
            resolve_relative(self.module, node.level, node.module, is_package=self.is_package)
            if node.level
            else node.module or ""
        )
        for alias in node.names:
            if alias.name == "*":
                continue
            dotted = f"{source}.{alias.name}"
            if self.foreign(dotted) and is_private(alias.name):
                self.report(node, dotted)
            else:
                self.check_reached(node, dotted)
            self.bound[alias.asname or alias.name] = dotted
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            chain.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name) and current.id in self.bound:
            dotted = ".".join([self.bound[current.id], *reversed(chain)])
            self.check_reached(node, dotted)
            return  # the inner attributes are part of this chain: judged once, here
        self.generic_visit(node)


@dataclass(frozen=True)
class UncommentedImport:
    path: Path
    line: int
    module: str

    def __str__(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}: {self.module} imported inside a function without a comment saying why"


def is_import_line(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith(("import ", "from ")) or stripped.startswith(")") or stripped.endswith(",")


def has_reason(lines: list[str], node: ast.Import | ast.ImportFrom) -> bool:
    """A comment on the import's own lines, or on the line above it or above the run of
    imports it is part of."""
    last = getattr(node, "end_lineno", None) or node.lineno
    if any("#" in lines[number - 1] for number in range(node.lineno, last + 1)):
        return True
    above = node.lineno - 1
    while above >= 1 and is_import_line(lines[above - 1]):
        if "#" in lines[above - 1]:
            return True
        above -= 1
    return above >= 1 and lines[above - 1].strip().startswith("#")


class FunctionImportFinder(ast.NodeVisitor):
    def __init__(self, path: Path, source: str, root: Path) -> None:
        self.path = path
        self.root = root
        self.module = module_name_of(path, root)
        self.is_package = path.name == "__init__.py"
        self.lines = source.splitlines()
        self.depth = 0  # functions we are inside
        self.found: list[UncommentedImport] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def judge(self, node: ast.Import | ast.ImportFrom, modules: list[str]) -> None:
        ours = [module for module in modules if module.split(".")[0] in OUR_CODE]
        if self.depth and ours and not has_reason(self.lines, node):
            self.found.append(UncommentedImport(self.path, node.lineno, ours[0]))

    def visit_Import(self, node: ast.Import) -> None:
        self.judge(node, [alias.name for alias in node.names])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = (
            resolve_relative(self.module, node.level, node.module, is_package=self.is_package)
            if node.level
            else node.module or ""
        )
        self.judge(node, [source])


def python_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file() and path.suffix == ".py":
            yield path
        elif path.is_dir():
            yield from sorted(candidate for candidate in path.rglob("*.py") if "migrations" not in candidate.parts)


def find_violations(paths: list[Path], root: Path = ROOT) -> list[Violation]:
    found: list[Violation] = []
    for path in python_files(paths):
        finder = PrivateNameFinder(path, root)
        finder.visit(ast.parse(path.read_text(), filename=str(path)))
        found.extend(finder.found)
    return found


def find_uncommented_imports(paths: list[Path], root: Path = ROOT) -> list[UncommentedImport]:
    found: list[UncommentedImport] = []
    for path in python_files(paths):
        source = path.read_text()
        finder = FunctionImportFinder(path, source, root)
        finder.visit(ast.parse(source, filename=str(path)))
        found.extend(finder.found)
    return found


def main(argv: list[str]) -> int:
    paths = [ROOT / argument for argument in argv] or [ROOT / directory for directory in CHECKED_BY_DEFAULT]
    violations = find_violations(paths)
    for violation in violations:
        print(violation)
    if violations:
        print(f"{len(violations)} private name(s) used across an app boundary", file=sys.stderr)
    import_paths = [ROOT / argument for argument in argv] or [ROOT / name for name in IMPORTS_CHECKED_BY_DEFAULT]
    uncommented = find_uncommented_imports(import_paths)
    for found in uncommented:
        print(found)
    if uncommented:
        print(f"{len(uncommented)} import(s) of our own code inside a function without a reason", file=sys.stderr)
    return 1 if violations or uncommented else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
