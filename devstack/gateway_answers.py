"""What API Gateway answers itself, from the template: CORS preflights, and the headers of its gateway responses.

SAM CLI's local API serves the routes that reach a function and answers OPTIONS only from the
`Cors` property, which template.yaml does not use (README, CORS): its preflights are mock
integrations in the API's DefinitionBody. They are answered here as API Gateway would: the
integration response's status and static headers, and the headers its Velocity template sets
through `$context.responseOverride.header`, rendered with airspeed-ext (a Python Velocity made for
the templates of AWS services). The template's `Fn::If`, `Fn::Sub` and `Ref`s of parameters are
resolved for the parameters `make dev` was started with, which SAM CLI leaves to us here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import airspeed
from samcli.lib.providers.provider import Stack

REQUEST_HEADER = "method.request.header."
_NO_VALUE = {"Ref": "AWS::NoValue"}
_REMOVED = object()


@dataclass(frozen=True)
class Preflight:
    """One path's OPTIONS mock integration."""

    status: int
    headers: dict[str, str]  # the integration response's static headers
    template: str  # its Velocity template, which may set more

    def answer(self, request_headers: Mapping[str, str]) -> tuple[int, dict[str, str]]:
        overrides: dict[str, str] = {}
        context = {"responseOverride": {"header": overrides}}
        airspeed.Template(self.template).merge({"input": _Input(request_headers), "context": context})
        return self.status, self.headers | overrides


class _Input:
    """Velocity's `$input` in an integration response: `$input.params().header` is the request's headers."""

    def __init__(self, headers: Mapping[str, str]):
        self._headers = dict(headers)

    def params(self) -> dict[str, dict[str, str]]:
        return {"header": self._headers, "path": {}, "querystring": {}}


def preflights(stacks: list[Stack]) -> dict[str, Preflight]:
    """The path (as the template writes it: `/people/{id}`) of each OPTIONS mock integration -> how it answers."""
    found = {}
    for stack in stacks:
        for resource in stack.resources.values():
            if resource.get("Type") != "AWS::Serverless::Api":
                continue
            paths = ((resource.get("Properties") or {}).get("DefinitionBody") or {}).get("paths") or {}
            for path, item in template_value(stack, paths).items():
                integration = (item.get("options") or {}).get("x-amazon-apigateway-integration") or {}
                if integration.get("type") != "mock":
                    continue
                response = integration["responses"]["default"]
                found[path] = Preflight(
                    status=int(response["statusCode"]),
                    headers={
                        name.removeprefix("method.response.header."): value.strip("'")
                        for name, value in (response.get("responseParameters") or {}).items()
                    },
                    template=(response.get("responseTemplates") or {}).get("application/json", ""),
                )
    return found


def mapped_headers(mapping: Mapping[str, str], request_headers: Mapping[str, str]) -> dict[str, str]:
    """A gateway response's headers: `'static'` values, and `method.request.header.X` from the request (if sent)."""
    headers = {}
    for name, source in mapping.items():
        if source.startswith(REQUEST_HEADER):
            value = request_headers.get(source.removeprefix(REQUEST_HEADER))
            if value is not None:
                headers[name] = value
        else:
            headers[name] = source.strip("'")
    return headers


def template_value(stack: Stack, node: Any) -> Any:
    """`node` with the stack's parameters in `Ref` and `Fn::Sub`, `Fn::If` decided and `AWS::NoValue` taken out."""
    template = stack.template_dict
    parameters = {name: str(spec.get("Default", "")) for name, spec in (template.get("Parameters") or {}).items()}
    parameters |= {name: str(value) for name, value in (stack.parameters or {}).items()}

    def condition(name: str) -> bool:
        return bool(value(template["Conditions"][name]))

    def value(node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in map(value, node) if item is not _REMOVED]
        if not isinstance(node, dict):
            return node
        if node == _NO_VALUE:
            return _REMOVED
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref" and argument in parameters:
                return parameters[argument]
            if key == "Fn::If":
                name, then, otherwise = argument
                return value(then if condition(name) else otherwise)
            if key == "Fn::Sub" and isinstance(argument, str):
                return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: parameters.get(m[1], m[0]), argument)
            if key == "Fn::Equals":
                return value(argument[0]) == value(argument[1])
            if key == "Fn::Not":
                return not value(argument[0])
            if key == "Fn::And":
                return all(map(value, argument))
            if key == "Fn::Or":
                return any(map(value, argument))
            if key == "Condition":
                return condition(argument)
        resolved = {key: value(item) for key, item in node.items()}
        return {key: item for key, item in resolved.items() if item is not _REMOVED}

    return value(node)
