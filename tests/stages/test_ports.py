"""The stages' ports (`lookout.stages.ports`, with the checks' in `lookout.checks.ports`): the
real `Warehouse` and `ResultsStore` satisfy them, and they stay narrow. Each port is a strict
part of its class with the class's own signatures; the two combined ports list exactly what the
stages and checks use; no stage or check module touches a member its port lacks; and a helper
typed with a port uses only that port's members and hands its argument only to helpers that ask
for no more. The scans must be able to fail: each has a probe that breaks the rule."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import make_requests, write_table

from lookout.sources.summary_port import SummarySource
from lookout.sources.warehouse import Warehouse
from lookout.stages import ports
from lookout.store.results import ResultsStore

SRC = Path(__file__).resolve().parents[2] / "src" / "lookout"
SCANNED = sorted([*(SRC / "stages").rglob("*.py"), *(SRC / "checks").rglob("*.py")])
# warehouse-side SQL the drift stage hands its port to (typed with its own `SummarySource`)
DRIFT_SUMMARIES = SRC / "sources" / "drift_summaries.py"

PORTS = {name: getattr(ports, name) for name in ports.__all__}
WAREHOUSE_PORTS = [
    "SourceTables",
    "EngineTraits",
    "WindowReader",
    "ValidationQueries",
    "ValidationSource",
    "EvaluatorSource",
    "OpsReads",
    "OpsSource",
    "DriftSource",
    "WindowSource",
]
STORE_PORTS = [
    "JudgmentCache",
    "CohortHistory",
    "QuarantinedRecords",
    "ReleaseHistory",
    "StoredSummaries",
    "DriftProfiles",
    "DriftResults",
    "StageResults",
]
# what `warehouse.x` / `store.x` (or `ctx.warehouse.x`, `self.store.x`) is held to
SIDES = {"warehouse": "WindowSource", "store": "StageResults"}


def members(port: type) -> set[str]:
    """The names a protocol declares, its bases' included."""
    return {
        name
        for cls in port.__mro__
        if getattr(cls, "_is_protocol", False) and cls.__module__ != "typing"
        for name in vars(cls)
        if not name.startswith("_")
    }


def public(instance: object) -> set[str]:
    return {name for name in dir(instance) if not name.startswith("_")}


@pytest.fixture(params=["duckdb", "sqlite"])
def warehouse(request, tmp_path):
    url = f"{request.param}:///{tmp_path / ('wh.' + request.param)}"
    engine = sa.create_engine(url)
    write_table(engine, make_requests(hours=1, per_hour=5))
    engine.dispose()
    opened = Warehouse(url)
    yield opened
    opened.dispose()


@pytest.fixture
def store(tmp_path):
    opened = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    yield opened
    opened.dispose()


def test_every_port_is_in_one_list():
    assert sorted(WAREHOUSE_PORTS + STORE_PORTS) == sorted(PORTS)
    assert all(getattr(PORTS[name], "_is_runtime_protocol", False) for name in PORTS)


def test_the_real_warehouse_and_store_satisfy_the_ports(warehouse, store):
    assert isinstance(warehouse, SummarySource) and not isinstance(store, SummarySource)
    for name in WAREHOUSE_PORTS:
        assert isinstance(warehouse, PORTS[name]), name
        assert not isinstance(store, PORTS[name]), name
    for name in STORE_PORTS:
        assert isinstance(store, PORTS[name]), name
        assert not isinstance(warehouse, PORTS[name]), name


def test_each_port_is_a_strict_part_of_its_class(warehouse, store):
    for names, instance in ((WAREHOUSE_PORTS, warehouse), (STORE_PORTS, store)):
        for name in names:
            assert members(PORTS[name]) < public(instance), name
    # what the stages are not handed, though the classes have it
    assert {"dispose", "from_target", "check_monitor", "late_windows", "settings"}.isdisjoint(
        members(ports.WindowSource)
    )
    assert {"commit_window", "migrate", "alerts", "engine", "dispose"}.isdisjoint(
        members(ports.StageResults)
    )


def _shape(signature: inspect.Signature) -> list[tuple]:
    return [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]


@pytest.mark.parametrize(
    ("names", "cls"), [(WAREHOUSE_PORTS, Warehouse), (STORE_PORTS, ResultsStore)]
)
def test_a_port_method_has_its_class_method_signature(names, cls):
    for name in names:
        for member in members(PORTS[name]):
            declared = inspect.getattr_static(PORTS[name], member)
            real = inspect.getattr_static(cls, member, None)
            if isinstance(declared, property):
                # a property, or an attribute the constructor sets
                assert real is None or isinstance(real, property), (name, member)
                continue
            wanted, found = inspect.signature(declared), inspect.signature(real)
            assert _shape(wanted) == _shape(found), (name, member)
            assert wanted.return_annotation == found.return_annotation, (name, member)


# -- what the stage and check modules touch ---------------------------------------------------


def _side(node: ast.expr) -> str | None:
    """`warehouse` / `store` when `node` is one: the name, or the run context's (`ctx.x`,
    `run.ctx.x`) or an object's (`self.x`), never a config's (`target.warehouse`)."""
    if isinstance(node, ast.Name) and node.id in SIDES:
        return node.id
    if isinstance(node, ast.Attribute) and node.attr in SIDES:
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("ctx", "self"):
            return node.attr
        if isinstance(owner, ast.Attribute) and owner.attr == "ctx":
            return node.attr
    return None


def touched(source: str, where: str = "") -> dict[str, dict[str, list[str]]]:
    """side -> member -> `where:line` of each access."""
    found: dict[str, dict[str, list[str]]] = {side: {} for side in SIDES}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and (side := _side(node.value)):
            found[side].setdefault(node.attr, []).append(f"{where}:{node.lineno}")
    return found


def beyond_ports(source: str, where: str = "") -> list[str]:
    """`where:line side.member` for each access to a member the side's port lacks."""
    return [
        f"{line} {side}.{member}"
        for side, used in touched(source, where).items()
        for member, lines in sorted(used.items())
        if member not in members(PORTS[SIDES[side]])
        for line in lines
    ]


def _used(paths: list[Path]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {side: set() for side in SIDES}
    for path in paths:
        for side, used in touched(path.read_text(), path.name).items():
            out[side] |= set(used)
    return out


def test_no_stage_or_check_module_reaches_past_its_port():
    found = [line for path in SCANNED for line in beyond_ports(path.read_text(), str(path))]
    assert found == []


def test_the_scan_finds_a_member_past_the_port():
    probe = (
        "def stage(run, ctx, warehouse, store, self):\n"
        "    ctx.warehouse.dispose()\n"
        "    warehouse.late_windows(run.monitor, {}, None)\n"
        "    warehouse.read_window(run.monitor, run.window)\n"
        "    run.ctx.store.migrate()\n"
        "    self.store.alerts()\n"
        "    store.summaries('bot', None, None)\n"
        "    return ctx.config.target.warehouse.url\n"
    )
    assert [line.split(" ")[1] for line in beyond_ports(probe)] == [
        "warehouse.dispose",
        "warehouse.late_windows",
        "store.alerts",
        "store.migrate",
    ]


def test_the_combined_ports_list_exactly_what_is_used():
    used = _used(SCANNED)
    # the drift summaries' reads come with the port the drift stage hands them
    drift = touched(DRIFT_SUMMARIES.read_text())["warehouse"]
    assert members(ports.WindowSource) == used["warehouse"] | set(drift)
    # the summaries' own port is exactly what they read, and the drift stage's carries it
    assert members(SummarySource) == set(drift)
    assert members(SummarySource) < members(ports.DriftSource)
    assert members(ports.StageResults) == used["store"]


# -- what a helper typed with a port does with it ---------------------------------------------


def _annotated(annotation: ast.expr | None) -> str | None:
    """The class name of an annotation: `X`, `X | None`, `"X"`."""
    if isinstance(annotation, ast.Name):
        return annotation.id
    if isinstance(annotation, ast.BinOp):
        return _annotated(annotation.left) or _annotated(annotation.right)
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value.partition(" ")[0]
    return None


def _parameters(node: ast.stmt) -> list[tuple[str, str | None]] | None:
    """(name, annotated class) of a module-level function's parameters, or a dataclass's
    fields, in order; None for anything else."""
    if isinstance(node, ast.FunctionDef):
        args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        return [(a.arg, _annotated(a.annotation)) for a in args]
    if isinstance(node, ast.ClassDef):
        fields = [s for s in node.body if isinstance(s, ast.AnnAssign)]
        return [(s.target.id, _annotated(s.annotation)) for s in fields]  # type: ignore[attr-defined]
    return None


def _index(trees: dict[str, ast.Module]) -> dict[str, dict[str, list]]:
    """module -> callable name -> its parameters; "" holds the names defined once anywhere."""
    index: dict[str, dict[str, list]] = {}
    seen: dict[str, list] = {}
    for where, tree in trees.items():
        local = index.setdefault(where, {})
        for node in tree.body:
            if (params := _parameters(node)) is not None:
                local[node.name] = params  # type: ignore[attr-defined]
                seen[node.name] = [*seen.get(node.name, []), params]  # type: ignore[attr-defined]
    index[""] = {name: found[0] for name, found in seen.items() if len(found) == 1}
    return index


def _needs(annotated: str | None, extra: dict[str, set[str]]) -> set[str] | None:
    if annotated in PORTS:
        return members(PORTS[annotated])
    return extra.get(annotated or "")


def _scopes(tree: ast.Module) -> list[tuple[ast.AST, dict[str, str], bool]]:
    """(node, name -> port, through self) of each function (its port-typed parameters, maybe
    none: the run context's ports count too) and each class with port-typed fields."""
    out = []
    for node in ast.walk(tree):
        params = _parameters(node) if isinstance(node, ast.FunctionDef | ast.ClassDef) else None
        typed = {name: port for name, port in params or [] if port in PORTS}
        if isinstance(node, ast.FunctionDef) or typed:
            out.append((node, typed, isinstance(node, ast.ClassDef)))
    return out


def _holder(node: ast.expr, typed: dict[str, str], through_self: bool) -> str | None:
    """The port of `node` when it is a port-typed parameter (or field), or the run context's."""
    if through_self:
        is_self = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        if is_self and node.value.id == "self" and node.attr in typed:  # type: ignore[attr-defined]
            return typed[node.attr]  # type: ignore[attr-defined]
        return None
    if isinstance(node, ast.Name) and node.id in typed:
        return typed[node.id]
    side = _side(node)
    return SIDES[side] if side and not isinstance(node, ast.Name) else None


def _calls(call: ast.Call, params: list) -> list[tuple[ast.expr, str | None]]:
    """(argument, what the callee's parameter is annotated with) of each argument."""
    by_name = dict(params)
    out = [(arg, params[i][1] if i < len(params) else None) for i, arg in enumerate(call.args)]
    return out + [(kw.value, by_name.get(kw.arg)) for kw in call.keywords if kw.arg]


def hint_problems(
    trees: dict[str, ast.Module], extra: dict[str, set[str]] | None = None
) -> list[str]:
    """`where:line what` for each member a port-typed helper uses that its port lacks, and
    each helper it hands its port to that needs more."""
    extra, index, found = extra or {}, _index(trees), []
    for where, tree in trees.items():
        for scope, typed, through_self in _scopes(tree):
            for node in ast.walk(scope):
                if isinstance(node, ast.Attribute):
                    port = _holder(node.value, typed, through_self)
                    if port and node.attr not in members(PORTS[port]):
                        found.append(f"{where}:{node.lineno} {port} has no {node.attr}")
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                params = index[where].get(node.func.id, index[""].get(node.func.id))
                for arg, annotated in _calls(node, params or []):
                    port, needs = _holder(arg, typed, through_self), _needs(annotated, extra)
                    if port and needs and not needs <= members(PORTS[port]):
                        missing = ", ".join(sorted(needs - members(PORTS[port])))
                        found.append(f"{where}:{node.lineno} {node.func.id} needs {missing}")
    return found


def test_a_helper_typed_with_a_port_keeps_to_it():
    trees = {str(path): ast.parse(path.read_text()) for path in [*SCANNED, DRIFT_SUMMARIES]}
    found = hint_problems(trees, {"SummarySource": members(SummarySource)})
    assert found == []
    # the scan sees the helpers' hints at all
    typed = [typed for tree in trees.values() for _, typed, _ in _scopes(tree) if typed]
    assert len(typed) > 20


def test_the_hint_scan_finds_a_helper_past_its_port():
    probe = (
        "def read(warehouse: SourceTables, monitor):\n"
        "    warehouse.table_columns(monitor.source)\n"
        "    return warehouse.read_window(monitor, None)\n"
        "def choose(monitor, warehouse: EngineTraits | None = None):\n"
        "    warehouse.capabilities\n"
        "    return read(warehouse, monitor)\n"
        "def summarise(warehouse: WindowReader):\n"
        "    return summaries(warehouse)\n"
        "def wide(warehouse: Warehouse):\n"
        "    return warehouse.engine\n"
        "class Judging:\n"
        "    store: JudgmentCache\n"
        "    def __call__(self, store):\n"
        "        self.store.cached_judgments('bot', 'e', '1', [])\n"
        "        return self.store.drift_profile('bot', 'k')\n"
    )
    sql = "def summaries(warehouse: Warehouse): ..."  # a sources helper, typed with the class
    trees = {"probe": ast.parse(probe), "sql": ast.parse(sql)}
    found = hint_problems(trees, {"Warehouse": {"engine"}})
    assert [line.partition(" ")[2] for line in found] == [
        "SourceTables has no read_window",
        "read needs column, loose_numeric_fields, naive_times, table, table_columns",
        "summaries needs engine",
        "JudgmentCache has no drift_profile",
    ]
