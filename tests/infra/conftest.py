"""Fixtures for the infrastructure checks: the Bicep templates read with pycep-parser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SITE = "Microsoft.Web/sites"


def unquote(key: str) -> str:
    """pycep keeps the quotes of quoted object keys ('azd-service-name'); drop them."""
    if len(key) >= 2 and key[0] == key[-1] == "'":
        return key[1:-1]
    return key


@dataclass(frozen=True)
class Resource:
    """One resource declaration: its symbolic name, type and body (condition and loop
    unwrapped; `loop` says what a `for` declaration iterates over)."""

    symbol: str
    type: str
    existing: bool
    condition: Any
    body: dict[str, Any]
    loop: dict[str, Any] | None = None

    def get(self, dotted: str) -> Any:
        """The value at a dotted path in the body, such as 'properties.siteConfig.cors'."""
        value: Any = self.body
        for part in dotted.split("."):
            assert isinstance(value, dict), f"{self.symbol}: {dotted} stops at {part}"
            assert part in value, f"{self.symbol} has no {dotted} (missing {part})"
            value = value[part]
        return value


class Template:
    """One parsed .bicep file with small lookups over what pycep returns."""

    def __init__(self, path: Path, parsed: dict[str, Any]) -> None:
        self.path = path
        self.parsed = parsed
        self.text = path.read_text(encoding="utf-8")

    @property
    def name(self) -> str:
        return self.path.relative_to(INFRA).as_posix()

    @property
    def scope(self) -> str:
        return self.parsed.get("globals", {}).get("scope", {}).get("value", "resourceGroup")

    @property
    def parameters(self) -> dict[str, Any]:
        return self.parsed.get("parameters", {})

    @property
    def variables(self) -> dict[str, Any]:
        return {name: v["value"] for name, v in self.parsed.get("variables", {}).items()}

    @property
    def outputs(self) -> dict[str, Any]:
        return self.parsed.get("outputs", {})

    @property
    def modules(self) -> dict[str, Any]:
        return self.parsed.get("modules", {})

    def resources(self, type_: str | None = None, *, existing: bool = False) -> list[Resource]:
        found = []
        for symbol, decl in self.parsed.get("resources", {}).items():
            if type_ is not None and decl["type"].lower() != type_.lower():
                continue
            if decl["existing"] != existing:
                continue
            config = decl["config"]
            condition = loop = None
            if "loop_type" in config:
                loop = config["loop_type"]
                condition, config = config.get("condition"), config["config"]
            elif set(config) == {"condition", "config"}:
                condition, config = config["condition"], config["config"]
            found.append(Resource(symbol, decl["type"], decl["existing"], condition, config, loop))
        return found

    def resource(self, type_: str) -> Resource:
        found = self.resources(type_)
        assert len(found) == 1, f"{self.name}: expected one {type_}, found {len(found)}"
        return found[0]

    def default(self, parameter: str) -> Any:
        assert parameter in self.parameters, f"{self.name} has no parameter {parameter}"
        return self.parameters[parameter]["default"]

    def decorator(self, parameter: str, kind: str) -> Any:
        for decorator in self.parameters[parameter]["decorators"]:
            if decorator["type"] == kind:
                return decorator["argument"]
        return None

    def resolve(self, value: Any) -> Any:
        """Follow a bare variable name to its value (pycep gives names and literals alike)."""
        seen = set()
        while isinstance(value, str) and value in self.variables and value not in seen:
            seen.add(value)
            value = self.variables[value]
        return value

    @staticmethod
    def call(value: Any, name: str) -> dict[str, Any]:
        """The parameters of a call to the Bicep function `name` (pycep's snake-case type)."""
        assert isinstance(value, dict), f"expected a call to {name}, got {value!r}"
        assert "function" in value, f"expected a call to {name}, got {value!r}"
        called = value["function"]["type"]
        assert called == name, f"expected a call to {name}, got {called}"
        return value["function"]["parameters"]

    @staticmethod
    def accessor_path(value: Any) -> str:
        """`a.b.c` from pycep's nested property_accessor operators."""
        if isinstance(value, str):
            return value
        assert isinstance(value, dict), f"not a property access: {value!r}"
        assert "operator" in value, f"not a property access: {value!r}"
        assert value["operator"]["type"] == "property_accessor", f"not a property access: {value!r}"
        operands = value["operator"]["operands"]
        first = Template.accessor_path(operands["operand_1"])
        return f"{first}.{Template.accessor_path(operands['operand_2'])}"

    @staticmethod
    def conditional(value: Any) -> dict[str, Any]:
        """condition, true_value and false_value of a `c ? a : b` expression."""
        assert isinstance(value, dict), f"not a conditional: {value!r}"
        kind = value.get("operator", {}).get("type")
        assert kind == "conditional", f"not a conditional: {value!r}"
        return value["operator"]["operands"]


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`bicep_path`: one test per .bicep file under infra/."""
    if "bicep_path" in metafunc.fixturenames:
        paths = bicep_files()
        ids = [path.relative_to(INFRA).as_posix() for path in paths]
        metafunc.parametrize("bicep_path", paths, ids=ids)


@pytest.fixture(scope="session")
def templates() -> dict[str, Template]:
    parser = BicepParser()
    parsed = {}
    for path in bicep_files():
        result = parser.parse(file_path=path)
        assert result, f"pycep-parser could not parse {path}"
        template = Template(path, result)
        parsed[template.name] = template
    return parsed


@pytest.fixture(scope="session")
def main(templates: dict[str, Template]) -> Template:
    return templates["main.bicep"]


@pytest.fixture(scope="session")
def module_of(main: Template, templates: dict[str, Template]) -> Callable[[str], Template]:
    """Template of the module main.bicep declares under a symbolic name."""

    def lookup(symbol: str) -> Template:
        module = main.modules[symbol]
        path = (INFRA / module["detail"]["path"]).resolve()
        return templates[path.relative_to(INFRA).as_posix()]

    return lookup


@pytest.fixture(scope="module")
def api(module_of: Callable[[str], Template]) -> Template:
    return module_of("api")


@pytest.fixture(scope="module")
def site(api: Template) -> Resource:
    return api.resource(SITE)


def settings(value: Any) -> dict[str, Any]:
    """App settings as {name: value} from a list of {name, value} objects."""
    assert isinstance(value, list), f"not a list of settings: {value!r}"
    pairs = {}
    for item in value:
        assert set(item) == {"name", "value"}, item
        assert item["name"] not in pairs, f"{item['name']} is set twice"
        pairs[item["name"]] = item["value"]
    return pairs
