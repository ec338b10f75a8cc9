"""Sourcegraph's GraphQL extension-registry API, the subset its clients use (src-cli's
`src extensions publish|list|get|delete|copy`, and the reads of its web app).

The schema is a faithful subset of `cmd/frontend/graphqlbackend/extension_registry.graphql`
(same type, field and argument names and nullability), executed by graphql-core, the reference
implementation. Resolvers call the same domain functions as the REST routes, so publishing,
deleting and authorization follow one set of rules: a `publishExtension` without a version in
its manifest is Sourcegraph's unversioned release (a new one each time, newest wins); with one,
Wharf's rules for versions hold (unique, immutable, identical re-publish idempotent).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import field, replace
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import orjson
from aiohttp import web
from graphql import GraphQLSchema, build_schema

from registry import sourcegraph
from registry.auth import policy
from registry.auth.tokens import Scope
from registry.domain.actor import Actor
from registry.domain.errors import PayloadTooLarge, Unprocessable
from registry.domain.page import PageRequest
from registry.domain.record import Record
from registry.handlers.common import services
from registry.public_url import base_url
from registry.services.catalogue import MAX_LISTED, Account, Catalogue, registry_query
from registry.services.publish_checks import PublishInput
from registry.store.extensions import Extension
from registry.views.sourcegraph import served_manifest_data

T = TypeVar("T")
MAX_MANIFEST_BYTES = 8 << 20  # of manifests in one answer

SDL = """
scalar DateTime

interface Node {
    id: ID!
}

type Query {
    extensionRegistry: ExtensionRegistry!
    node(id: ID!): Node
    currentUser: User
}

type Mutation {
    extensionRegistry: ExtensionRegistryMutation!
}

type ExtensionRegistry {
    extension(extensionID: String!): RegistryExtension
    extensions(
        first: Int
        publisher: ID
        query: String
        local: Boolean = true
        remote: Boolean = true
        prioritizeExtensionIDs: [String!]
    ): RegistryExtensionConnection!
    localExtensionIDPrefix: String
}

union RegistryPublisher = User | Org

type User implements Node {
    id: ID!
    username: String!
    displayName: String
    url: String!
}

type Org implements Node {
    id: ID!
    name: String!
    displayName: String
    url: String!
}

type ExtensionRegistryMutation {
    deleteExtension(extension: ID!): EmptyResponse!
    publishExtension(
        extensionID: String!
        manifest: String!
        bundle: String
        sourceMap: String
        force: Boolean = false
    ): ExtensionRegistryPublishExtensionResult!
}

type EmptyResponse {
    alwaysNil: String
}

type ExtensionRegistryPublishExtensionResult {
    extension: RegistryExtension!
}

type RegistryExtension implements Node {
    id: ID!
    uuid: String!
    publisher: RegistryPublisher
    extensionID: String!
    extensionIDWithoutRegistry: String!
    name: String!
    manifest: ExtensionManifest
    createdAt: DateTime
    updatedAt: DateTime
    publishedAt: DateTime
    url: String!
    remoteURL: String
    registryName: String!
    isLocal: Boolean!
    isWorkInProgress: Boolean!
    viewerCanAdminister: Boolean!
}

type ExtensionManifest {
    raw: String!
    description: String
    bundleURL: String
}

type RegistryExtensionConnection {
    nodes: [RegistryExtension!]!
    totalCount: Int!
    pageInfo: PageInfo!
    url: String
    error: String
}

type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
}
"""


class Context(Record):
    """What every resolver may use: the HTTP request (pool, configuration) and who asks, and a
    per-request memo so that a list of 1,000 extensions by 3 publishers asks for 3 publishers."""

    request: web.Request
    actor: Actor
    _memo: dict[tuple[str, object], asyncio.Future[Any]] = field(default_factory=dict)
    _spent: list[int] = field(default_factory=lambda: [0])

    @property
    def base(self) -> str:
        return base_url(self.request)

    @property
    def catalogue(self) -> Catalogue:
        return services(self.request).catalogue

    def spend_manifest_bytes(self, size: int) -> None:
        self._spent[0] += size
        if self._spent[0] > MAX_MANIFEST_BYTES:
            raise PayloadTooLarge(
                f"The answer would carry more than {MAX_MANIFEST_BYTES} bytes of manifests;"
                " ask for fewer extensions (first:) or leave out manifest."
            )

    async def once(self, key: tuple[str, object], compute: Callable[[], Awaitable[T]]) -> T:
        """`compute()`'s result, computed once per request for `key` (concurrent askers share it)."""
        if key not in self._memo:
            self._memo[key] = asyncio.ensure_future(compute())
        result: T = await asyncio.shield(self._memo[key])
        return result


def _context(info: Any) -> Context:
    context: Context = info.context
    return context


class _AccountNode(Record):
    """A User or Org node: its relay id and the page Sourcegraph's API names for it."""

    typename: ClassVar[str]
    path: ClassVar[str]
    pk: int
    handle: str
    displayName: str | None

    @property
    def id(self) -> str:
        return sourcegraph.marshal_id(self.typename, self.pk)

    @property
    def url(self) -> str:
        return f"/{self.path}/{self.handle}"


class UserNode(_AccountNode):
    typename, path = "User", "users"

    @property
    def username(self) -> str:
        return self.handle


class OrgNode(_AccountNode):
    typename, path = "Org", "organizations"

    @property
    def name(self) -> str:
        return self.handle


def _account_node(account: Account | None) -> UserNode | OrgNode | None:
    if account is None:
        return None
    node = UserNode if account.kind == "User" else OrgNode
    return node(account.id, account.handle, account.display_name)


class ManifestNode(Record):
    raw: str
    description: str | None
    bundleURL: str | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> ManifestNode:
        description, url = data.get("description"), data.get("url")
        return cls(
            orjson.dumps(data).decode(),
            description if isinstance(description, str) else None,
            url if isinstance(url, str) and url else None,
        )


class ExtensionNode:
    """A RegistryExtension: Wharf's extension row, in Sourcegraph's names."""

    typename = "RegistryExtension"

    def __init__(self, context: Context, extension: Extension) -> None:
        self._context = context
        self._extension = extension
        self.id = sourcegraph.extension_node_id(extension.id)
        self.uuid = str(extension.uuid)
        self.extensionID = extension.extension_id
        self.extensionIDWithoutRegistry = extension.extension_id
        self.name = extension.name
        self.createdAt = sourcegraph.rfc3339(extension.created_at)
        self.updatedAt = sourcegraph.rfc3339(extension.updated_at)
        self.publishedAt = sourcegraph.rfc3339(extension.latest_created_at if extension.manifest else None)
        self.url = f"/extensions/{extension.extension_id}"
        self.remoteURL = None
        self.isLocal = True
        self.isWorkInProgress = extension.wip

    def manifest(self, info: Any) -> ManifestNode | None:
        """Built only when asked for, and counted: one answer carries at most
        MAX_MANIFEST_BYTES of manifests (1,000 extensions may hold up to 1 MiB each)."""
        data = served_manifest_data(self._context.base, self._extension)
        if data is None:
            return None
        manifest = ManifestNode.of(data)
        self._context.spend_manifest_bytes(len(manifest.raw))
        return manifest

    @property
    def registryName(self) -> str:
        return urlsplit(self._context.base).netloc

    async def publisher(self, info: Any) -> UserNode | OrgNode | None:
        async def lookup() -> UserNode | OrgNode | None:
            return _account_node(await self._context.catalogue.publisher_account(self._extension.publisher))

        return await self._context.once(("publisher", self._extension.publisher.lower()), lookup)

    async def viewerCanAdminister(self, info: Any) -> bool:
        return await _may_administer(self._context, self._extension)


async def _may_administer(context: Context, extension: Extension) -> bool:
    user = context.actor.user
    if user is None or not (context.actor.scopes & {Scope.PUBLISH, Scope.USER_ALL}):
        return False
    member = False
    org_id = extension.publisher_org_id
    if org_id is not None:

        async def membership() -> bool:
            return await context.catalogue.is_member(org_id, user.id)

        member = await context.once(("member", org_id), membership)
    return policy.may_publish(context.actor, extension.publisher_of(), member=member)


class ExtensionConnection:
    def __init__(self, nodes: list[ExtensionNode], has_next_page: bool, count: Callable[[], Awaitable[int]]) -> None:
        self.nodes = nodes
        self.pageInfo = {"hasNextPage": has_next_page, "endCursor": None}
        self.url = "/extensions"
        self.error = None
        self._count = count

    async def totalCount(self, info: Any) -> int:
        return await self._count()


class Registry:
    """Query.extensionRegistry."""

    localExtensionIDPrefix = None

    async def extension(self, info: Any, extensionID: str) -> ExtensionNode | None:
        context = _context(info)
        publisher, slash, name = extensionID.partition("/")
        if not slash or not publisher or not name or "/" in name or len(extensionID) > 400:
            return None
        extension = await context.catalogue.extension_by_id(publisher, name)
        return ExtensionNode(context, extension) if extension else None

    async def extensions(
        self,
        info: Any,
        first: int | None = None,
        publisher: str | None = None,
        query: str | None = None,
        local: bool = True,
        remote: bool = True,
        prioritizeExtensionIDs: list[str] | None = None,
    ) -> ExtensionConnection:
        context = _context(info)
        if first is not None and first < 0:
            raise Unprocessable.at("/first", "must not be negative")
        limit = MAX_LISTED if first is None else min(first, MAX_LISTED)
        listing = registry_query(query or "")
        if publisher is not None:
            name = await _publisher_name(context, publisher)
            if name is None:
                return ExtensionConnection([], False, _zero)
            listing = replace(listing, publisher=name)
        found = (await context.catalogue.search(listing, PageRequest(MAX_LISTED))).items if local else []
        if prioritizeExtensionIDs:
            first_ids = {extension_id.lower(): n for n, extension_id in enumerate(prioritizeExtensionIDs)}
            found.sort(key=lambda e: first_ids.get(e.extension_id.lower(), len(first_ids)))
        nodes = [ExtensionNode(context, e) for e in found[:limit]]
        total = len(found)

        async def count() -> int:
            return total

        return ExtensionConnection(nodes, total > limit, count)


async def _zero() -> int:
    return 0


async def _publisher_name(context: Context, node_id: str) -> str | None:
    parsed = sourcegraph.unmarshal_id(node_id)
    if parsed is None or parsed[0] not in ("User", "Org") or type(parsed[1]) is not int:
        return None
    account = await context.catalogue.account(parsed[0], parsed[1])
    return account.handle if account else None


class RegistryMutation:
    """Mutation.extensionRegistry."""

    async def publishExtension(
        self,
        info: Any,
        extensionID: str,
        manifest: str,
        bundle: str | None = None,
        sourceMap: str | None = None,
        force: bool = False,
    ) -> dict[str, ExtensionNode]:
        context = _context(info)
        data = PublishInput(
            extension_id=extensionID,
            manifest=manifest,
            bundle=bundle.encode() if bundle is not None else None,
            source_map=sourceMap.encode() if sourceMap is not None else None,
            version=None,  # from the manifest, if it has one
            tag="release",
            force=force,
        )
        # Sourcegraph's publish warned about nothing: Wharf's publication warnings (no source
        # map, no repository, …) do not block a client that cannot show them.
        published = await services(context.request).publishing.publish(
            context.actor, data, create=True, public_url=lambda: context.base, block_on_warnings=False
        )
        return {"extension": ExtensionNode(context, published.extension)}

    async def deleteExtension(self, info: Any, extension: str) -> dict[str, None]:
        context = _context(info)
        publishing = services(context.request).publishing
        await publishing.delete_extension_by_pk(context.actor, sourcegraph.extension_pk_of(extension))
        return {"alwaysNil": None}


class Root:
    """The root value of queries and mutations alike (graphql-core resolves fields on it)."""

    def extensionRegistry(self, info: Any) -> Registry | RegistryMutation:
        return RegistryMutation() if info.operation.operation.value == "mutation" else Registry()

    async def node(self, info: Any, id: str) -> ExtensionNode | UserNode | OrgNode | None:
        context = _context(info)
        parsed = sourcegraph.unmarshal_id(id)
        if parsed is None:
            return None
        if parsed[0] == "RegistryExtension":
            pk = sourcegraph.extension_pk_of(id)
            extension = await context.catalogue.extension_by_pk(pk) if pk else None
            return ExtensionNode(context, extension) if extension else None
        if parsed[0] in ("User", "Org") and type(parsed[1]) is int and 0 < parsed[1] < 2**31:
            return _account_node(await context.catalogue.account(parsed[0], parsed[1]))
        return None

    def currentUser(self, info: Any) -> UserNode | None:
        user = _context(info).actor.user
        return UserNode(user.id, user.username, user.display_name) if user else None


def _type_of(value: Any, *_: Any) -> str:
    name: str = value.typename
    return name


@functools.cache
def build() -> GraphQLSchema:
    """The executable schema, built once per process (11 ms) and shared by its applications: nothing
    changes it after these lines."""
    schema = build_schema(SDL)
    for abstract in ("Node", "RegistryPublisher"):
        schema.type_map[abstract].resolve_type = _type_of  # type: ignore[attr-defined]
    return schema
