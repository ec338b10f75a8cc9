"""The OpenAPI document arranged for reading: operations grouped by tag, every `$ref` resolved,
schemas and examples as indented JSON. Built once per app (the document never changes)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from registry.domain.record import Record

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_DEPTH = 24
_ANCHOR = re.compile(r"[^A-Za-z0-9_-]+")


class Parameter(Record):
    name: str
    location: str
    required: bool
    description: str
    schema: str | None
    example: str | None


class Content(Record):
    media_type: str
    schema: str | None
    examples: list[tuple[str, str]]


class Response(Record):
    status: str
    description: str
    contents: list[Content]
    headers: list[tuple[str, str]]


class Operation(Record):
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    deprecated: bool
    security: list[str]
    parameters: list[Parameter]
    request_body: list[Content]
    request_body_required: bool
    request_body_description: str
    responses: list[Response]


@dataclass
class Group:
    name: str
    description: str
    anchor: str
    operations: list[Operation] = field(default_factory=list)


class ApiDocs(Record):
    title: str
    version: str
    summary: str
    description: str
    groups: list[Group]

    @property
    def operation_count(self) -> int:
        return sum(len(group.operations) for group in self.groups)


def _pointer(document: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def resolve(document: dict[str, Any], node: Any, seen: tuple[str, ...] = (), depth: int = 0) -> Any:
    """`node` with each local `$ref` replaced by what it points to; a recursive reference (or one
    too deep) is left as `{"$ref": ...}` so the output stays finite."""
    if depth > _MAX_DEPTH:
        return node
    if isinstance(node, list):
        return [resolve(document, item, seen, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _pointer(document, ref)
        if target is None or ref in seen:
            return {"$ref": ref}
        resolved = resolve(document, target, (*seen, ref), depth + 1)
        siblings = {k: resolve(document, v, seen, depth + 1) for k, v in node.items() if k != "$ref"}
        if isinstance(resolved, dict):
            return {**resolved, **siblings}
        return resolved
    return {key: resolve(document, value, seen, depth + 1) for key, value in node.items()}


def as_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _contents(document: dict[str, Any], content: dict[str, Any]) -> list[Content]:
    result = []
    for media_type, media in content.items():
        media = resolve(document, media)
        examples: list[tuple[str, str]] = []
        if "example" in media:
            examples.append(("Example", as_json(media["example"])))
        for name, example in (media.get("examples") or {}).items():
            if isinstance(example, dict) and "value" in example:
                examples.append((example.get("summary") or name, as_json(example["value"])))
        schema = media.get("schema")
        result.append(Content(media_type, as_json(schema) if schema is not None else None, examples))
    return result


def _parameters(document: dict[str, Any], raw: list[Any]) -> list[Parameter]:
    params = []
    for item in raw:
        param = resolve(document, item)
        example = param.get("example")
        if example is None and isinstance(param.get("examples"), dict):
            first = next(iter(param["examples"].values()), None)
            example = first.get("value") if isinstance(first, dict) else None
        schema = param.get("schema")
        params.append(
            Parameter(
                name=str(param.get("name", "")),
                location=str(param.get("in", "")),
                required=bool(param.get("required", False)),
                description=str(param.get("description", "")),
                schema=as_json(schema) if schema is not None else None,
                example=as_json(example) if example is not None else None,
            )
        )
    return params


def _security(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    requirements = operation.get("security", document.get("security", []))
    names = []
    for requirement in requirements:
        names.append(" + ".join(requirement) if requirement else "none")
    return names


def _operation(document: dict[str, Any], path: str, method: str, item: dict[str, Any], op: dict[str, Any]) -> Operation:
    merged: dict[tuple[str, str], Any] = {}
    for raw in (*item.get("parameters", []), *op.get("parameters", [])):
        param = resolve(document, raw)
        merged[(str(param.get("name")), str(param.get("in")))] = raw
    body = resolve(document, op.get("requestBody") or {})
    responses = []
    for status, raw_response in (op.get("responses") or {}).items():
        response = resolve(document, raw_response)
        headers = [
            (name, str(resolve(document, header).get("description", "")))
            for name, header in (response.get("headers") or {}).items()
        ]
        responses.append(
            Response(
                str(status),
                str(response.get("description", "")),
                _contents(document, response.get("content") or {}),
                headers,
            )
        )
    anchor = op.get("operationId") or f"{method}-{path}"
    return Operation(
        method=method.upper(),
        path=path,
        anchor="op-" + _ANCHOR.sub("-", str(anchor)).strip("-"),
        summary=str(op.get("summary", "")),
        description=str(op.get("description", "")),
        deprecated=bool(op.get("deprecated", False)),
        security=_security(document, op),
        parameters=_parameters(document, list(merged.values())),
        request_body=_contents(document, body.get("content") or {}),
        request_body_required=bool(body.get("required", False)),
        request_body_description=str(body.get("description", "")),
        responses=responses,
    )


def build_docs(document: dict[str, Any]) -> ApiDocs:
    groups: dict[str, Group] = {}
    for tag in document.get("tags", []):
        name = str(tag.get("name", ""))
        groups.setdefault(name, Group(name, str(tag.get("description", "")), "tag-" + _ANCHOR.sub("-", name)))
    for path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            operation = _operation(document, path, method, item, op)
            for tag in op.get("tags") or ["other"]:
                group = groups.setdefault(tag, Group(tag, "", "tag-" + _ANCHOR.sub("-", tag)))
                group.operations.append(operation)
    info = document.get("info", {})
    return ApiDocs(
        title=str(info.get("title", "API")),
        version=str(info.get("version", "")),
        summary=str(info.get("summary", "")),
        description=str(info.get("description", "")),
        groups=[group for group in groups.values() if group.operations],
    )
