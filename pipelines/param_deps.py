"""Which config keys a stage reads, found from the typed config accessors.

mypy type-checks the project and this module walks what it inferred, from a stage's entry module
through every function and method it can reach: every attribute read on an expression whose type
is one of the config dataclasses (`cfg.trace.bf16_rtol`, `model.inputs`, `evaluate.tolerances`)
is a read of that key; a property (`model.input_tensors`) reads what its body reads. A read the
types do not show (`getattr(cfg, name)`, an untyped parameter) is not seen.

A dataclass that sits at one place in the schema (TrainConfig: `model.train`) gives
its fields' keys; one that sits at several places or inside a list (BuilderConfig,
TensorConfig) is read whole through the field that holds it (`model.keras`, `model.inputs`).
The `check()` methods of config.py are validation, not reads.
"""

import dataclasses
import functools
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines import config
from pipelines.code import PROJECT_PACKAGES

SCHEMA_MODULE = "pipelines.config"


def _dataclass_in(hint: Any) -> type | None:
    """The dataclass a field holds directly (also when Optional), else None."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    options = typing.get_args(hint) if union else (hint,)
    return next((c for c in options if isinstance(c, type) and dataclasses.is_dataclass(c)), None)


@dataclasses.dataclass(frozen=True)
class Schema:
    """Where each config dataclass sits: prefix per class, and every key a stage may list."""

    prefixes: dict[str, str]  # class name -> its dotted prefix ("" for Config)
    keys: frozenset[str]  # every field that holds a value (not a placed section)

    def key(self, class_name: str, field_name: str) -> str | None:
        """The config key `<instance of class_name>.<field_name>` reads, if it is one."""
        prefix = self.prefixes.get(class_name)
        if prefix is None:
            return None
        key = f"{prefix}.{field_name}" if prefix else field_name
        return key if key in self.keys else None


@functools.cache
def schema() -> Schema:
    """The placement of every config dataclass under `config.Config`."""
    places: dict[type, list[str]] = {}
    fields: list[tuple[str, type | None]] = []

    def walk(cls: type, prefix: str) -> None:
        places.setdefault(cls, []).append(prefix)
        for name, hint in typing.get_type_hints(cls).items():
            if name not in {f.name for f in dataclasses.fields(cls)}:
                continue
            key = f"{prefix}.{name}" if prefix else name
            held = _dataclass_in(hint)
            fields.append((key, held))
            if held is not None:
                walk(held, key)

    walk(config.Config, "")
    placed = {cls: where[0] for cls, where in places.items() if len(where) == 1}
    # a section placed once is read through its fields; anything else is a value read whole
    wholes = [key for key, held in fields if held is not None and held not in placed]
    values = {
        key
        for key, held in fields
        if held not in placed and not any(key.startswith(whole + ".") for whole in wholes)
    }
    prefixes = {cls.__name__: prefix for cls, prefix in placed.items()}
    return Schema(prefixes, frozenset(values))


def module_name(root: Path, path: Path) -> str:
    """The dotted module a project file defines (`pipelines/data/__init__.py` -> `pipelines.data`)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _mypy_build(root: Path, files: list[Path]) -> Any:
    """mypy's analysis of `files`, keeping each expression's inferred type."""
    from mypy import build
    from mypy.modulefinder import BuildSource
    from mypy.options import Options

    options = Options()
    options.python_version = (3, 11)
    options.export_types = True
    options.preserve_asts = True
    options.incremental = False
    options.check_untyped_defs = True
    options.ignore_missing_imports = True
    options.follow_imports = "skip"  # third-party code is Any: only our dataclasses matter
    sources = [BuildSource(str(path), module_name(root, path)) for path in files]
    return build.build(sources, options)


def _classes(typ: Any) -> Iterator[Any]:
    """The classes (mypy TypeInfos) whose instances a type can be, through Optional and unions."""
    from mypy.types import Instance, UnionType, get_proper_type

    proper = get_proper_type(typ)
    if isinstance(proper, Instance):
        yield proper.type
    elif isinstance(proper, UnionType):
        for item in proper.items:
            yield from _classes(item)


def _references(node: Any) -> tuple[list[Any], list[Any]]:
    """Every name and every `x.name` expression under a mypy tree node."""
    from mypy.traverser import NameAndMemberCollector  # mypy's compiled visitors: no subclassing

    collector = NameAndMemberCollector()
    node.accept(collector)
    return list(collector.name_exprs), list(collector.member_exprs)


def _functions(node: Any) -> Iterator[Any]:
    """The function definitions a symbol stands for (through decorators and overloads)."""
    from mypy.nodes import Decorator, FuncDef, OverloadedFuncDef

    if isinstance(node, Decorator):
        yield node.func
    elif isinstance(node, OverloadedFuncDef):
        for item in node.items:
            yield from _functions(item)
    elif isinstance(node, FuncDef):
        yield node


def _top_level(defs: list[Any]) -> Iterator[Any]:
    """The statements a module or class body runs when it is executed (not its functions)."""
    from mypy.nodes import ClassDef, Decorator, FuncDef, OverloadedFuncDef

    for node in defs:
        if isinstance(node, ClassDef):
            yield from _top_level(node.defs.body)
        elif not isinstance(node, FuncDef | Decorator | OverloadedFuncDef):
            yield node


class Analysis:
    """mypy's view of the project: the config keys a stage reads, following references from its
    entry module through every function and method it can reach."""

    def __init__(self, root: Path, files: list[Path]) -> None:
        self.result = _mypy_build(root, files)
        self.schema = schema()
        self.modules = {module_name(root, path): path for path in files}
        self._methods: dict[str, list[Any]] = {}  # method name -> every project method of it
        for module in self.modules:
            for info in self.result.files[module].names.values():
                if self._is_project_class(info.node):
                    for name, symbol in info.node.names.items():
                        self._methods.setdefault(name, []).extend(_functions(symbol.node))

    def _is_project_class(self, node: Any) -> bool:
        from mypy.nodes import TypeInfo

        return isinstance(node, TypeInfo) and node.module_name in self.modules

    def _schema_classes(self, expr: Any) -> Iterator[Any]:
        if expr in self.result.types:  # mypy types only the code it can reach
            for info in _classes(self.result.types[expr]):
                if info.module_name == SCHEMA_MODULE:
                    yield info

    def _keys(self, members: list[Any]) -> set[str]:
        """The config keys these `x.name` expressions read (a property: what its body reads)."""
        keys: set[str] = set()
        for expr in members:
            for info in self._schema_classes(expr.expr):
                if (key := self.schema.key(info.name, expr.name)) is not None:
                    keys.add(key)
                elif (symbol := info.names.get(expr.name)) is not None:
                    for func in _functions(symbol.node):
                        if func.is_property:
                            keys |= self._keys(_references(func.body)[1])
        return keys

    def _callees(self, names: list[Any], members: list[Any]) -> Iterator[Any]:
        """The project functions (and classes, as a whole) these references can run."""
        for ref in [*names, *members]:
            node = ref.node
            if self._is_project_class(node):
                yield node
            yield from (f for f in _functions(node) if f.fullname.split(".")[0] in PROJECT_PACKAGES)
        for member in members:  # a method called on an instance: `runner.run(...)`
            if member.expr not in self.result.types:
                continue
            for info in _classes(self.result.types[member.expr]):
                if not self._is_project_class(info):
                    continue
                if info.is_protocol or info.is_abstract:  # any implementation may run
                    yield from self._methods.get(member.name, [])
                for base in info.mro:
                    if member.name in base.names:
                        yield from _functions(base.names[member.name].node)

    def stage_reads(self, modules: list[str]) -> set[str]:
        """The config keys reachable from executing `modules` (the entry and what it imports)."""
        from mypy.nodes import TypeInfo

        queue: list[Any] = [s for m in modules for s in _top_level(self.result.files[m].defs)]
        seen: set[int] = set()
        keys: set[str] = set()
        while queue:
            node = queue.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, TypeInfo):  # a class used: its body and every method
                queue += [f for symbol in node.names.values() for f in _functions(symbol.node)]
                queue += list(_top_level(node.defn.defs.body))
                continue
            if getattr(node, "fullname", "").startswith(SCHEMA_MODULE + "."):
                continue  # the schema's own methods (check) validate; properties count as reads
            names, members = _references(node.body if hasattr(node, "is_property") else node)
            keys |= self._keys(members)
            queue += list(self._callees(names, members))
        return keys
