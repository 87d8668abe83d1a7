"""import-linter contracts the built-in ones do not cover, run by ``make lint`` ([tool.importlinter] in
pyproject.toml names them under ``contract_types``):

* ``acyclic_modules``: no cycle between two modules, counting every import grimp sees — function-level
  and ``TYPE_CHECKING`` ones too. A function-level import does not break a cycle, it hides one (and the
  order the modules load in then decides whether a name exists yet). Every cycle is printed whole.
* ``lazy_imports``: a module of the root package imports another one at the top, not inside a function,
  except in the modules listed under ``allowed`` (the CLI imports a sub-command's modules when that
  command runs, so ``yangguang --help`` starts fast: bench/bench_check.py measures the cold start).
* ``private_names``: no module uses another module's ``_private`` name (``from m import _x`` or
  ``m._x``); once another module needs it, it is part of the interface and loses its underscore.

Each reports what it found with the line numbers and what to do. ``ignore`` / ``ignore_imports`` name
known exceptions; one that no longer matches anything is an error, so it is removed when its cause is.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import grimp
from importlinter.application import contract_utils, output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules

Edge = tuple[str, str]


def _root_packages(contract: Contract) -> list[str]:
    """The packages the session checks (``root_package(s)``); the graph also holds external packages
    when ``include_external_packages`` is on, which are never parsed or checked here."""
    options = contract.session_options
    return sorted(options.get("root_packages") or [options["root_package"]])


def _in(module: str, roots: list[str]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def _source(module: str, is_package: bool) -> Path | None:
    """The file of a module of the graph (its package's ``__init__.py`` for a package)."""
    spec = importlib.util.find_spec(module.split(".")[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)), *module.split(".")[1:])
    path = base / "__init__.py" if is_package else base.with_suffix(".py")
    return path if path.is_file() else None


def _sources(graph: grimp.ImportGraph, roots: list[str]) -> Iterator[tuple[str, ast.Module]]:
    """Every module of the root packages with its parsed source, in name order."""
    for module in sorted(m for m in graph.modules if _in(m, roots)):
        path = _source(module, bool(graph.find_children(module)))
        if path is None:
            path = _source(module, True)  # a package without submodules
        if path is not None:
            yield module, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _absolute(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module an ``import from`` names, relative imports resolved against ``importer``."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _render_notes(notes: list[str], guidance: str) -> None:
    for note in notes:
        output.print_error(note, bold=False)
    output.new_line()
    output.print(guidance)


class AcyclicModulesContract(Contract):
    """No import cycle between any two modules under ``packages`` (default: the root packages)."""

    type_name = "acyclic_modules"

    packages = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=contract_utils.AlertLevel.ERROR,
        )
        if self.packages:
            roots = {m.name for m in module_expressions_to_modules(graph, self.packages)}  # type: ignore[arg-type]
        else:
            roots = set(_root_packages(self))
        modules = {m for m in graph.modules if _in(m, sorted(roots))}
        edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules - {m}) for m in modules}
        cycles = [self._render(graph, cycle) for component in _components(edges) for cycle in _cycles(component, edges)]
        return ContractCheck(
            kept=not cycles,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"cycles": cycles},
        )

    @staticmethod
    def _render(graph: grimp.ImportGraph, cycle: list[str]) -> str:
        steps = []
        for importer, imported in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
            lines = sorted(d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported))
            steps.append(f"  {importer} -> {imported} (l.{', '.join(map(str, lines))})")
        return "\n".join(steps)

    def render_broken_contract(self, check: ContractCheck) -> None:
        cycles = check.metadata["cycles"]
        output.print_error(f"{len(cycles)} import cycle{'s' if len(cycles) != 1 else ''} between modules:")
        output.new_line()
        _render_notes(
            [f"{cycle}\n" for cycle in cycles],
            "Break each cycle: move what the lower module needs from the higher one down into it (or into a "
            "new module below both). Importing inside a function or under TYPE_CHECKING hides a cycle; it "
            "does not break it.",
        )


def _components(edges: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative so a
    deep chain of imports cannot overflow the stack), each sorted, in the order of their first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if work:  # back in the caller: it inherits how high this node reaches
                caller = work[-1][0]
                low[caller] = min(low[caller], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _cycles(component: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Cycles that together pass through every module of a component: the shortest through its first
    module, then through the first module no cycle so far passed through, and so on (all cycles of a
    component can be too many to print; these name every module that must change)."""
    cycles: list[list[str]] = []
    covered: set[str] = set()
    for module in component:
        if module not in covered:
            cycle = _shortest_cycle(module, set(component), edges)
            cycles.append(cycle)
            covered.update(cycle)
    return cycles


def _shortest_cycle(start: str, members: set[str], edges: dict[str, list[str]]) -> list[str]:
    """The shortest cycle through ``start`` (breadth first, inside its component ``members``)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in edges[node]:
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return path[::-1]
                if target in members and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    return [start]  # unreachable: every module of a component is on a cycle


class LazyImportsContract(Contract):
    """Imports of the root package sit at the top of a module, except in the ``allowed`` modules."""

    type_name = "lazy_imports"

    allowed = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)
    ignore = fields.SetField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        allowed = {m.name for m in module_expressions_to_modules(graph, self.allowed or ())}  # type: ignore[arg-type]
        roots = _root_packages(self)
        found: dict[str, str] = {}
        for module, tree in _sources(graph, roots):
            if module in allowed:
                continue
            is_package = bool(graph.find_children(module))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if not isinstance(node, ast.Import | ast.ImportFrom):
                        continue
                    for target in _imported_modules(graph, module, is_package, node):
                        if _in(target, roots):
                            found.setdefault(f"{module} -> {target}", f"{module} -> {target} (l.{node.lineno})")
        return _with_ignores(found, self.ignore)  # type: ignore[arg-type]

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Imports inside functions:")
        output.new_line()
        _render_notes(
            check.metadata["found"],
            "Import at the top of the module. If that makes a cycle, the cycle was there already: move what "
            "the lower module needs down into it. Only the modules listed under allowed import lazily.",
        )


def _imported_modules(
    graph: grimp.ImportGraph, importer: str, is_package: bool, node: ast.Import | ast.ImportFrom
) -> list[str]:
    """The modules an import statement names (``from package import module`` names the module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    source = _absolute(importer, is_package, node)
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in graph.modules else source for a in node.names]


class PrivateNamesContract(Contract):
    """No module of the root package uses a ``_private`` name of another of its modules."""

    type_name = "private_names"

    ignore = fields.SetField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        found: dict[str, str] = {}
        roots = _root_packages(self)
        for module, tree in _sources(graph, roots):
            for owner, name, line in _private_uses(graph, module, tree, roots):
                found.setdefault(f"{module} -> {owner}.{name}", f"{module} uses {owner}.{name} (l.{line})")
        return _with_ignores(found, self.ignore)  # type: ignore[arg-type]

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Private names used by another module:")
        output.new_line()
        _render_notes(
            check.metadata["found"],
            "A name another module needs is part of its module's interface: drop the underscore (and say in its "
            "docstring what it is for), or move it to the module that uses it.",
        )


def _private_uses(
    graph: grimp.ImportGraph, importer: str, tree: ast.Module, roots: list[str]
) -> Iterator[tuple[str, str, int]]:
    """(module, private name, line) for each use in ``tree`` of another graph module's private name:
    ``from m import _x``, and ``m._x`` where ``m`` is bound to a module by an import."""
    modules = {m for m in graph.modules if _in(m, roots)}  # a third party's private names are its business
    is_package = bool(graph.find_children(importer))
    bound: dict[str, str] = {}  # a local name -> the module it is bound to (one namespace per file is enough)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(importer, is_package, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif source in modules and source != importer and _private(alias.name):
                    yield source, alias.name, node.lineno
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = _dotted(node.value, bound)
            if owner is not None and owner in modules and owner != importer:
                yield owner, node.attr, node.lineno


def _dotted(node: ast.expr, bound: dict[str, str]) -> str | None:
    """The module an expression like ``m`` or ``engine.rules.fees`` names, through the import bindings."""
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value, bound)
        return f"{head}.{node.attr}" if head is not None else None
    return None


def _with_ignores(found: dict[str, str], ignore: set[str] | None) -> ContractCheck:
    """The contract's result: what was found less the ``ignore`` entries (keys like ``a -> b``); an entry
    that matches nothing is reported too, so it goes once its cause does."""
    ignore = {" ".join(entry.split()) for entry in ignore or ()}
    stale = sorted(f"ignore entry matches nothing, remove it: {entry}" for entry in ignore - set(found))
    notes = [note for key, note in sorted(found.items()) if key not in ignore] + stale
    return ContractCheck(kept=not notes, ignored_import_count=len(ignore & set(found)), metadata={"found": notes})
