"""POST /.api/graphql: Sourcegraph's GraphQL endpoint, as src-cli calls it.

src-cli sends `Authorization: token …`, a gzip-encoded JSON body (`Content-Encoding: gzip`, which
the HTTP server decodes) and, in the versions that have `src extensions`, no Content-Type. The
credentials are checked before the body is read, and the body is bounded: an anonymous caller
can only read, so it gets the small API body limit; a signed-in one the publish limit.

GraphQL's own errors (a malformed query, a refused mutation) are answered as GraphQL answers them,
200 with `{"errors": [...]}` (each with `extensions.code`, Wharf's problem slug, and the HTTP
status the REST API would have used); a request that is not GraphQL at all gets problem+json.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    execute,
    parse,
    validate,
)
from graphql.language import DocumentNode, FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

from registry import appkeys
from registry.errors import AppError, BadRequest, UnsupportedMediaType
from registry.graphql_api import Context, Root
from registry.handlers.common import current_actor
from registry.http import json_response
from registry.validation import read_body, refuse_unstorable

routes = web.RouteTableDef()

MAX_QUERY_CHARS = 16 * 1024
MAX_TOKENS = 2000
MAX_DEPTH = 12
_CONTENT_TYPES = ("application/json", "application/octet-stream")  # the latter: none was sent


def _depth(selection_set: SelectionSetNode | None, fragments: dict[str, Any], seen: frozenset[str]) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {selection.name.value}))
    return deepest


def _too_deep(document: DocumentNode) -> GraphQLError | None:
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}  # type: ignore[attr-defined]
    for definition in document.definitions:
        if definition.kind == "operation_definition":
            depth = _depth(definition.selection_set, fragments, frozenset())  # type: ignore[attr-defined]
            if depth > MAX_DEPTH:
                return GraphQLError(f"The query is nested {depth} levels deep; at most {MAX_DEPTH} are allowed.")
    return None


def _request_fields(body: Any) -> tuple[str, dict[str, Any] | None, str | None]:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object with `query` (and `variables`, `operationName`).")
    query, variables, operation = body.get("query"), body.get("variables"), body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("`query` must be a GraphQL document (a non-empty string).")
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"`query` is over {MAX_QUERY_CHARS} characters.")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest("`variables` must be a JSON object.")
    if operation is not None and not isinstance(operation, str):
        raise BadRequest("`operationName` must be a string.")
    return query, variables, operation


def _error_body(error: GraphQLError) -> dict[str, Any]:
    body: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    if isinstance(original, AppError):
        body["message"] = original.detail
        body["extensions"] = {"code": original.slug, "status": original.status}
        if original.errors:
            body["extensions"]["errors"] = original.errors
    return body


def _answer(result: ExecutionResult) -> web.Response:
    for error in result.errors or ():
        original = error.original_error
        if original is not None and not isinstance(original, AppError):
            raise original  # a bug or an outage: the problem middleware answers (500 logged, or 503)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_error_body(e) for e in result.errors]
    return json_response(body)


@routes.post("/.api/graphql")
async def graphql(request: web.Request) -> web.Response:
    actor = await current_actor(request)  # a bad token is refused before the body is read
    if request.headers.get("Content-Type") is not None and request.content_type not in _CONTENT_TYPES:
        raise UnsupportedMediaType("Send the GraphQL request as application/json (or with no Content-Type).")
    config = request.app[appkeys.CONFIG]
    raw = await read_body(request, config.max_publish_bytes if actor.user else config.max_body_bytes)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc.msg} at position {exc.pos}.") from exc
    query, variables, operation = _request_fields(body)
    refuse_unstorable(variables, "/variables")
    schema: GraphQLSchema = request.app[appkeys.GRAPHQL]
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return json_response({"errors": [error.formatted]})
    errors = validate(schema, document) or ([e] if (e := _too_deep(document)) else [])
    if errors:
        return json_response({"errors": [e.formatted for e in errors]})
    result = execute(
        schema,
        document,
        root_value=Root(),
        context_value=Context(request, actor),
        variable_values=variables,
        operation_name=operation,
    )
    if not isinstance(result, ExecutionResult):
        result = await result
    return _answer(result)
