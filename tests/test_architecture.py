"""The import graph keeps the layers of docs/ARCHITECTURE.md: no module imports one of a higher
layer, and no modules import each other in a circle (imports inside functions included: a
deferred import is still a dependency)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "spiders", "matchers", "watchlists")

# Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS = (
    ("domain", ("watchlists", "matchers")),
    ("core", ("crawler", "crawler.config", "crawler.errors", "crawler.clock", "crawler.files", "crawler.normalise",
              "crawler.reports.workbooks", "crawler.reports.xlsx", "crawler.browser", "crawler.health", "crawler.items",
              "crawler.storage",
              "crawler.extract", "crawler.profiles", "crawler.crawlspec", "crawler.sessions")),
    ("scrapy", ("crawler.settings", "crawler.signals", "crawler.pipelines", "crawler.extensions", "crawler.middlewares",
                "crawler.scheduling.frontier", "spiders")),
    ("services", ("crawler.app", "crawler.scheduling", "crawler.campaigns", "crawler.reports", "crawler.evidence",
                  "crawler.sandbox")),
    ("faces", ("crawler.cli", "crawler.console")),
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The project modules `module` imports, at its top or inside functions."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from pkg import submodule` depends on the submodule, not on the package's own code
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for name in names:
            target = _resolve(name)
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def layer_of(module: str) -> int:
    best, rank = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank is not None, f"{module} is in no layer of tests/test_architecture.py (and docs/ARCHITECTURE.md)"
    return rank


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_higher_layer():
    wrong = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
             for a, targets in GRAPH.items() for b in targets if layer_of(b) > layer_of(a)]
    assert not wrong, "\n".join(sorted(wrong))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_the_checks_can_fail():
    """The cycle finder and the layer rule catch what they are for, on made-up graphs."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert layer_of("crawler.cli.crawl") > layer_of("crawler.app.crawls") > layer_of("crawler.storage.db") > layer_of("matchers.brands")
    assert layer_of("crawler.evidence.package") == layer_of("crawler.reports.digest")
    assert "crawler.cli.common" in GRAPH["crawler.cli.crawl"] and "crawler.profiles" in GRAPH["spiders.marketplace"]


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("crawler.cli.") and m != "crawler.cli.common"])
def test_command_modules_do_not_import_each_other(module):
    """Each command module stands alone beside the shared helpers (common.py)."""
    others = {m for m in GRAPH[module] if m.startswith("crawler.cli") and m != "crawler.cli.common"}
    assert others <= ({"crawler.cli"} if module == "crawler.cli.__main__" else set())


def test_a_file_is_replaced_whole_or_left_as_it_was(tmp_path):
    from crawler.files import replacing, write_atomic

    target = tmp_path / "digest.html"
    write_atomic(target, b"first")
    with pytest.raises(RuntimeError), replacing(target) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"first" and [p.name for p in tmp_path.iterdir()] == ["digest.html"]
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second" and len(list(tmp_path.iterdir())) == 1


def test_one_clock():
    """Beijing time is named in one place; stored naive moments are UTC."""
    from datetime import datetime

    from crawler.clock import BEIJING, TIMEZONE_NAME, beijing

    assert beijing(datetime(2026, 12, 1, 16, 0)).hour == 0 and str(BEIJING) == TIMEZONE_NAME
    literal = [str(p.relative_to(ROOT)) for p in (ROOT / "crawler").rglob("*.py")
               if "migrations" not in p.parts and p.name != "clock.py"
               and 'ZoneInfo("Asia/Shanghai")' in p.read_text(encoding="utf-8")]
    assert literal == []


def test_one_text_folding():
    """NFKC + casefold is written once (watchlists/text.py), not copied into each package."""
    copies = [f"{path.relative_to(ROOT)}:{number}" for module, path in MODULES.items() if module != "watchlists.text"
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
              if 'normalize("NFKC"' in line and "casefold" in line]
    assert copies == []


QUERY_CONSTRUCTS = {"select", "update", "insert", "delete", "func", "text", "and_", "or_", "exists", "case"}


def _sql_imports(module: str) -> set[str]:
    """What `module` imports to build SQL (any import of sqlalchemy but its session types)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name == "sqlalchemy" or a.name.startswith("sqlalchemy."))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if a.name in QUERY_CONSTRUCTS or not node.module.startswith("sqlalchemy.orm"))
    return found


@pytest.mark.parametrize("module", [m for m in MODULES if (m.startswith("crawler.cli.") and m != "crawler.cli.common")
                                    or m.startswith("crawler.console")])
def test_commands_leave_queries_and_transactions_to_the_app_layer(module):
    """A command or a console page parses, calls a use case and shows the result
    (docs/ARCHITECTURE.md): it builds no SQL and touches no table; crawler/app/ does."""
    assert _sql_imports(module) == set()
    assert "crawler.storage.models" not in GRAPH[module]


def test_the_sql_rule_can_fail():
    assert _sql_imports("crawler.app.review") >= {"sqlalchemy.select", "sqlalchemy.func"}
    assert _sql_imports("crawler.console.context") == set()  # session types are no SQL


def test_no_module_is_much_longer_than_400_lines():
    """A module that grows past about 400 lines is doing more than one job (migrations aside)."""
    long = {module: lines for module, path in MODULES.items()
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 420}
    assert long == {}
