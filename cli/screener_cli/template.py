"""Read template.yaml the way CloudFormation/SAM would, enough to run a function locally.

Public API::

    load_template(path) -> dict           YAML with the short tags (!Ref, !Sub, !GetAtt, !If, ...)
    resolve_function(template, name, overrides={}, region="us-east-1") -> FunctionSpec
    FunctionSpec(name, code_dir, handler, runtime, memory, timeout, environment, layer_dirs, layers, events)
    resolve_resource(template, name, overrides={}, region="us-east-1") -> dict   any resource's Properties

Intrinsics are resolved against Parameter defaults (overridable), pseudo parameters and
Conditions; a reference this cannot know locally (a resource's ARN, an import) becomes a
readable placeholder rather than an error, because running a handler rarely needs it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

NO_VALUE = object()  # AWS::NoValue: the enclosing key or list item disappears


class TemplateError(ValueError):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that turns `!Tag value` into the long form `{"Fn::Tag": value}`."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _short_tag)


def load_template(path: Path | str) -> dict:
    with open(path, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return doc


@dataclass
class _Context:
    template: Mapping[str, Any]
    params: Mapping[str, str]
    pseudo: Mapping[str, str]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in self.template.get("Resources", {}):
            return name  # a resource: its logical id stands in for its name/ARN
        raise TemplateError(f"unresolvable Ref {name!r}")

    def condition(self, name: str) -> bool:
        conds = self.template.get("Conditions", {})
        if name not in conds:
            raise TemplateError(f"unknown Condition {name!r}")
        return bool(self.eval(conds[name]))

    def sub(self, text: str, extra: Mapping[str, Any]) -> str:
        def repl(m: re.Match) -> str:
            var = m.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"
            if var in extra:
                return str(extra[var])
            if "." in var and var.split(".", 1)[0] in self.template.get("Resources", {}):
                return f"<{var}>"
            return str(self.ref(var))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def eval(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.eval(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (k, v), = node.items()
            if k == "Ref":
                return self.ref(v)
            if k == "Condition" and isinstance(v, str):
                return self.condition(v)
            if k == "Fn::If":
                return self.eval(v[1] if self.condition(v[0]) else v[2])
            if k == "Fn::Equals":
                a, b = (self.eval(x) for x in v)
                return str(a) == str(b)
            if k == "Fn::Not":
                return not self.eval(v[0])
            if k == "Fn::And":
                return all(self.eval(x) for x in v)
            if k == "Fn::Or":
                return any(self.eval(x) for x in v)
            if k == "Fn::Sub":
                if isinstance(v, list):
                    return self.sub(v[0], {n: self.eval(x) for n, x in v[1].items()})
                return self.sub(v, {})
            if k == "Fn::Join":
                return str(v[0]).join(str(x) for x in self.eval(v[1]))
            if k == "Fn::Select":
                return self.eval(v[1])[int(self.eval(v[0]))]
            if k == "Fn::Split":
                return str(self.eval(v[1])).split(v[0])
            if k == "Fn::FindInMap":
                m, a, b = (self.eval(x) for x in v[:3])
                return self.template["Mappings"][m][a][b]
            if k == "Fn::GetAtt":
                parts = v if isinstance(v, list) else str(v).split(".", 1)
                return f"<{'.'.join(str(p) for p in parts)}>"
            if k in ("Fn::ImportValue", "Fn::GetAZs", "Fn::Cidr"):
                return f"<{k}>"
            if k == "Fn::Base64":
                return self.eval(v)
        return {k: r for k, r in ((k, self.eval(v)) for k, v in node.items()) if r is not NO_VALUE}


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str
    runtime: str
    memory: int
    timeout: int
    environment: dict[str, str]
    layer_dirs: tuple[Path, ...]  # python roots to put on sys.path (as /opt/python would be)
    layers: tuple[str, ...] = field(default=())  # logical ids, in order
    events: dict[str, Any] = field(default_factory=dict)  # Events, resolved (e.g. an SQS source's BatchSize)


def _merge_globals(glob: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(glob)
    for k, v in props.items():
        if k == "Environment" and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {"Variables": {**out[k].get("Variables", {}), **v.get("Variables", {})}}
        elif k == "Layers" and isinstance(out.get(k), list):
            out[k] = list(out[k]) + list(v)
        else:
            out[k] = v
    return out


def _layer_root(root: Path, props: Mapping[str, Any], metadata: Mapping[str, Any]) -> Path | None:
    content = root / str(props.get("ContentUri", "."))
    if (content / "python").is_dir():
        return content / "python"
    if str(metadata.get("BuildMethod", "")).startswith("python"):
        return content  # sam build copies the folder's contents under python/
    if content.is_dir() and any((d / "__init__.py").is_file() for d in content.iterdir()):
        return content  # a makefile layer of our own packages (the core: copied under python/, compiled)
    return None  # makefile layers of installed deps or data (runtime, model): the venv and MODEL_DIR stand in


def _context(template: Mapping[str, Any], overrides: Mapping[str, str] | None, region: str) -> _Context:
    params = {k: str(p.get("Default", "")) for k, p in template.get("Parameters", {}).items()}
    unknown = set(overrides or {}) - set(params)
    if unknown:
        raise TemplateError(f"unknown parameter(s) {sorted(unknown)}; known: {sorted(params)}")
    params.update(overrides or {})
    pseudo = {"AWS::Region": region, "AWS::AccountId": "123456789012", "AWS::StackName": "local",
              "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::StackId": "local"}
    return _Context(template, params, pseudo)


def resolve_resource(template: Mapping[str, Any], name: str, overrides: Mapping[str, str] | None = None,
                     region: str = "us-east-1") -> dict[str, Any]:
    """A resource's Properties with intrinsics resolved (e.g. a queue's VisibilityTimeout)."""
    res = template.get("Resources", {}).get(name)
    if res is None:
        raise TemplateError(f"no resource {name!r} in the template")
    return _context(template, overrides, region).eval(res.get("Properties", {}))


def resolve_function(template: Mapping[str, Any], name: str, overrides: Mapping[str, str] | None = None,
                     root: Path | str = ".", region: str = "us-east-1") -> FunctionSpec:
    root = Path(root)
    resources = template.get("Resources", {})
    res = resources.get(name)
    if res is None or res.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        functions = [k for k, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"]
        raise TemplateError(f"no function {name!r} in the template; functions: {functions}")
    ctx = _context(template, overrides, region)
    glob = ctx.eval(template.get("Globals", {}).get("Function", {}))
    props = _merge_globals(glob, ctx.eval(res.get("Properties", {})))
    layers = tuple(str(x) for x in props.get("Layers", []))
    dirs = []
    for lid in layers:
        lres = resources.get(lid, {})
        d = _layer_root(root, ctx.eval(lres.get("Properties", {})), lres.get("Metadata", {}))
        if d is not None:
            dirs.append(d)
    env = {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
    return FunctionSpec(
        name=name,
        code_dir=root / str(props.get("CodeUri", ".")),
        handler=str(props.get("Handler", "app.lambda_handler")),
        runtime=str(props.get("Runtime", "python3.12")),
        memory=int(props.get("MemorySize", 128)),
        timeout=int(props.get("Timeout", 3)),
        environment=env,
        layer_dirs=tuple(dirs),
        layers=layers,
        events=dict(props.get("Events", {})),
    )
