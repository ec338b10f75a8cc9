"""A release's files as stored: digested once, in threads, the bundle's link to its source map
added at the end; the same columns as pointing the whole bundle at its map and hashing it."""

from __future__ import annotations

import base64
import hashlib

import pytest

from registry.asset_cache import point_to_source_map
from registry.services.release_files import FileDigests
from registry.store.releases import StoredFiles

MAP = b'{"version":3,"sources":[],"mappings":""}'
URL = "https://wharf.example/-/static/extension/7-alice-wc.map"


def _stored_whole(bundle: bytes | None, source_map: bytes | None) -> StoredFiles:
    """The columns as computed before: the whole bundle pointed at its map, then hashed."""
    if bundle is not None and source_map is not None:
        bundle = point_to_source_map(bundle, URL)
    return StoredFiles(
        bundle=None if bundle is None else bundle.decode(),
        bundle_sha256=None if bundle is None else hashlib.sha256(bundle).digest(),
        bundle_size=None if bundle is None else len(bundle),
        bundle_integrity="sha384-" + base64.b64encode(hashlib.sha384(bundle).digest()).decode() if bundle else None,
        source_map=None if source_map is None else source_map.decode(),
        source_map_sha256=None if source_map is None else hashlib.sha256(source_map).digest(),
        source_map_size=None if source_map is None else len(source_map),
    )


_CASES = [
    (b"code();\n//# sourceMappingURL=main.js.map\n", MAP),  # its link replaced
    (b"code();\n//@ sourceMappingURL=old.map", MAP),  # the old form, no final newline
    (b"code();", MAP),  # no link, no final newline: one is added before the link
    (b"code();\n", MAP),
    (b"", MAP),
    ("const café = 'é';\n".encode() * 50_000, MAP),  # 1 MiB, not ASCII
    (b"code();\n//# sourceMappingURL=main.js.map\n", None),  # no map: stored as sent
    (b"", None),
    (None, MAP),  # the manifest's url names where the bundle lives
    (None, None),
]


@pytest.mark.parametrize(("bundle", "source_map"), _CASES)
async def test_the_stored_columns_are_those_of_the_whole_bundle_pointed_at_its_map(
    bundle: bytes | None, source_map: bytes | None
) -> None:
    files = FileDigests.start(bundle, source_map)
    url = URL if bundle is not None and source_map is not None else None
    assert await files.finish(url) == _stored_whole(bundle, source_map)


@pytest.mark.parametrize(("bundle", "source_map"), _CASES)
async def test_the_content_digest_is_that_of_the_files_as_sent(bundle: bytes | None, source_map: bytes | None) -> None:
    """Two publishes of one version are the same release when the manifest and the files *as sent*
    are: the digests made for storage (of the bundle pointed at its map) share their work with the
    bundle's digest as sent, and must still give it."""
    manifest_sha256 = hashlib.sha256(b'{"name":"wc"}').digest()
    files = FileDigests.start(bundle, source_map)
    expected = hashlib.sha256(
        manifest_sha256 + hashlib.sha256(bundle or b"").digest() + hashlib.sha256(source_map or b"").digest()
    ).digest()
    assert await files.content_sha256(manifest_sha256) == expected
