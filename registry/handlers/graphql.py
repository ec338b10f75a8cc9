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
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    Visitor,
    visit,
)

from registry import appkeys
from registry.auth.authentication import request_actor
from registry.domain.errors import BadRequest, DomainError, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from registry.graphql_api import Context, Root
from registry.handlers.bodies import read_body
from registry.http import json_response
from registry.offload import WorkTimeout
from registry.problems import problem_of
from registry.validation import unstorable

routes = web.RouteTableDef()

MAX_QUERY_CHARS = 16 * 1024
MAX_VALUES = 100_000  # JSON values in one request: a publish has a handful, a list query a few
PARSED_IN_LINE = 1 << 20  # larger bodies are parsed in a worker process
MAX_TOKENS = 2000
_CONTENT_TYPES = ("application/json", "application/octet-stream")  # the latter: none was sent


# What one request may ask for, counted with fragments expanded: each `extensions` reads up to
# 1,000 extensions, each `extension`/`node` one; everything else is a field of what was read.
MAX_FIELDS = 5000
MAX_LISTS = 1
MAX_LOOKUPS = 50


class _Budget(Exception):
    pass


def _count(selection_set: SelectionSetNode | None, fragments: dict[str, Any], counts: dict[str, int]) -> None:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            counts["fields"] += 1
            name = selection.name.value
            if name == "extensions":
                counts["lists"] += 1
            elif name in ("extension", "node"):
                counts["lookups"] += 1
            if counts["fields"] > MAX_FIELDS or counts["lists"] > MAX_LISTS or counts["lookups"] > MAX_LOOKUPS:
                raise _Budget
            _count(selection.selection_set, fragments, counts)
        elif isinstance(selection, InlineFragmentNode):
            _count(selection.selection_set, fragments, counts)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            _count(fragments[selection.name.value].selection_set, fragments, counts)


def _nul_in(document: DocumentNode) -> GraphQLError | None:
    """A NUL written into the query text (a string literal's `\\u0000`): PostgreSQL text cannot
    hold it, so it is refused here, as in variables (registry.validation.unstorable)."""
    found: list[GraphQLError] = []

    class _Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            if "\x00" in node.value and not found:
                found.append(GraphQLError("A string in the query contains a NUL character.", node))

    visit(document, _Finder())
    return found[0] if found else None


def _too_costly(document: DocumentNode) -> GraphQLError | None:
    """A query that would read too much is refused before it runs (after validation, which
    guarantees that fragments do not cycle; the count stops at the first limit passed)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            try:
                _count(definition.selection_set, fragments, {"fields": 0, "lists": 0, "lookups": 0})
            except _Budget:
                return GraphQLError(
                    f"The query asks for too much: at most {MAX_LISTS} `extensions` lists, {MAX_LOOKUPS}"
                    f" `extension`/`node` lookups and {MAX_FIELDS} fields (fragments expanded) per operation."
                )
    return None


def parse_body(raw: bytes) -> tuple[Any, tuple[int, str, str] | None]:
    """The request parsed and checked (PostgreSQL-storable, at most MAX_VALUES JSON values): the
    body, or (status, pointer, message) refusing it. Run in a worker process for a large body,
    where it also keeps a flood of small values from being shipped back to the event loop."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, (400, "", f"The body is not valid JSON: {exc.msg} at position {exc.pos}.")
    pending, seen = [body], 0
    while pending:
        value = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            return None, (413, "", f"The body holds more than {MAX_VALUES} JSON values.")
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    found = unstorable(body)
    return (None, (422, *found)) if found is not None else (body, None)


async def parse_graphql_body(request: web.Request, raw: bytes) -> Any:
    """`parse_body`, in line for a small body, in a worker process for a large one."""
    if len(raw) <= PARSED_IN_LINE:
        body, refused = parse_body(raw)
    else:
        try:
            body, refused = await request.app[appkeys.PARSERS].run(parse_body, raw)
        except WorkTimeout:
            raise PayloadTooLarge("The request body took too long to parse.") from None
    if refused is not None:
        status, pointer, message = refused
        if status == 422:
            raise Unprocessable.at(pointer, message)
        raise (BadRequest if status == 400 else PayloadTooLarge)(message)
    return body


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
    if isinstance(original, DomainError):
        body["message"] = original.detail
        problem = problem_of(original)
        body["extensions"] = {"code": problem.slug, "status": problem.status}
        if original.errors:
            body["extensions"]["errors"] = original.errors
    return body


def _answer(result: ExecutionResult) -> web.Response:
    for error in result.errors or ():
        original = error.original_error
        if original is not None and not isinstance(original, DomainError):
            raise original  # a bug or an outage: the problem middleware answers (500 logged, or 503)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_error_body(e) for e in result.errors]
    return json_response(body)


def _document(schema: GraphQLSchema, query: str) -> DocumentNode | list[GraphQLError]:
    """The parsed query, or why it may not run: a syntax error, an invalid or too costly query,
    a NUL in a string (answered as GraphQL answers, 200 with `errors`)."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return [error]
    return validate(schema, document) or [e for e in (_nul_in(document), _too_costly(document)) if e][:1] or document


@routes.post("/.api/graphql")
async def graphql(request: web.Request) -> web.Response:
    actor = request_actor(request)  # a bad token is refused before the body is read
    if request.headers.get("Content-Type") is not None and request.content_type not in _CONTENT_TYPES:
        raise UnsupportedMediaType("Send the GraphQL request as application/json (or with no Content-Type).")
    config = request.app[appkeys.CONFIG]
    raw = await read_body(request, config.max_publish_bytes if actor.user else config.max_body_bytes)
    query, variables, operation = _request_fields(await parse_graphql_body(request, raw))
    schema: GraphQLSchema = request.app[appkeys.GRAPHQL]
    document = _document(schema, query)
    if isinstance(document, list):
        return json_response({"errors": [e.formatted for e in document]})
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
