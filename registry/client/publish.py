"""Reading an extension from disk, checking it locally (--dry-run), and uploading it as
multipart/form-data to POST /api/publish, with a progress bar for large bodies."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from registry.client.api import Api, Response
from registry.client.config import UsageError
from registry.config import Config

PROGRESS_THRESHOLD = 1 << 20  # bodies over 1 MiB get a progress bar
CHUNK = 256 * 1024


@dataclass
class Package:
    """What one publish sends."""

    extension_id: str
    manifest: dict[str, Any]
    manifest_path: Path
    bundle: bytes
    bundle_path: Path
    source_map: bytes | None = None
    source_map_path: Path | None = None
    readme_path: Path | None = None
    version: str | None = None
    tag: str = "release"
    force: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def manifest_text(self) -> str:
        return json.dumps(self.manifest, ensure_ascii=False)

    @property
    def effective_version(self) -> str | None:
        declared = self.manifest.get("version")
        return self.version or (declared if isinstance(declared, str) else None)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def find_readme(directory: Path) -> Path | None:
    """README.md, else the first README* (any case) in `directory`."""
    exact = directory / "README.md"
    if exact.is_file():
        return exact
    try:
        candidates = sorted(p for p in directory.iterdir() if p.name.lower().startswith("readme") and p.is_file())
    except OSError:
        return None
    return candidates[0] if candidates else None


PACKAGE_OPTIONS = ("manifest", "bundle", "source_map", "extension_id", "version", "tag", "force")
"""`load_package`'s options, named as `registry publish` names its flags."""


def load_package(
    directory: Path,
    *,
    manifest: Path | None = None,
    bundle: Path | None = None,
    source_map: Path | None = None,
    extension_id: str | None = None,
    version: str | None = None,
    tag: str = "release",
    force: bool = False,
) -> Package:
    """The extension in `directory`: its package.json (or `manifest`), the bundle named by `main`
    (or `bundle`), `main + ".map"` or src-cli's `main` with `.map` for its suffix when present (or
    `source_map`), and a README as `readme`. A src-cli project publishes as it is."""
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory")
    manifest_path = manifest or directory / "package.json"
    try:
        data = orjson.loads(_read(manifest_path, "manifest"))
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{manifest_path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{manifest_path} must hold a JSON object")
    notes = []
    if bundle is None:
        main = data.get("main")
        if not isinstance(main, str) or not main:
            raise UsageError(f"{manifest_path} has no `main` field naming the bundle; pass --bundle")
        bundle = manifest_path.parent / main
    bundle_bytes = _read(bundle, "bundle")
    if source_map is None:
        # `dist/ext.js.map` (bundlers' default), or `dist/ext.map` (where src-cli looks)
        guesses = (bundle.with_name(bundle.name + ".map"), bundle.with_suffix(".map"))
        source_map = next((guess for guess in guesses if guess != bundle and guess.is_file()), None)
    map_bytes = _read(source_map, "source map") if source_map is not None else None
    readme_path = None
    if "readme" not in data and (readme_path := find_readme(directory)) is not None:
        data["readme"] = _read(readme_path, "readme").decode(errors="replace")
        notes.append(f"readme from {readme_path.name}")
    if version is not None:
        data["version"] = version
    if extension_id is None:
        publisher, name = data.get("publisher"), data.get("name")
        if not (isinstance(publisher, str) and publisher and isinstance(name, str) and name):
            raise UsageError(f"{manifest_path} needs `publisher` and `name` (or pass --extension-id publisher/name)")
        extension_id = f"{publisher}/{name}"
    return Package(
        extension_id=extension_id,
        manifest=data,
        manifest_path=manifest_path,
        bundle=bundle_bytes,
        bundle_path=bundle,
        source_map=map_bytes,
        source_map_path=source_map,
        readme_path=readme_path,
        version=version,
        tag=tag,
        force=force,
        notes=notes,
    )


def check_locally(package: Package) -> list[dict[str, str]]:
    """The server's checks of a publish, run here by the very same functions
    (registry.services.publish_checks.check_publish): the extension id, the manifest against the same
    JSON Schema, the version, the tag, the files. Raises `Unprocessable` (as the server would
    answer 422); returns the warnings, which block unless `force` (as on the server).

    Imported here, not at the top: the checks bring the server's services (0.4 s of imports) that
    every other command (login, info, search, dependents…) would otherwise pay at each start."""
    from registry.manifests import ManifestValidator
    from registry.services.publish_checks import PublishInput, check_publish

    data = PublishInput(
        extension_id=package.extension_id,
        manifest=package.manifest_text,
        bundle=package.bundle,
        source_map=package.source_map,
        version=package.version,
        tag=package.tag,
        force=package.force,
    )
    return check_publish(data, ManifestValidator(Config.max_manifest_bytes)).warnings


def multipart_body(package: Package) -> tuple[str, bytes]:
    """(content type, body) of the publish request as multipart/form-data."""
    boundary = f"wharf-{uuid.uuid4().hex}"
    parts: list[tuple[str, bytes, str | None, str]] = [
        ("extension_id", package.extension_id.encode(), None, "text/plain; charset=utf-8"),
        ("manifest", package.manifest_text.encode(), "package.json", "application/json"),
        ("bundle", package.bundle, package.bundle_path.name, "application/javascript"),
    ]
    if package.source_map is not None:
        assert package.source_map_path is not None
        parts.append(("source_map", package.source_map, package.source_map_path.name, "application/json"))
    if package.version is not None:
        parts.append(("version", package.version.encode(), None, "text/plain; charset=utf-8"))
    parts.append(("tag", package.tag.encode(), None, "text/plain; charset=utf-8"))
    parts.append(("force", b"true" if package.force else b"false", None, "text/plain; charset=utf-8"))
    chunks: list[bytes] = []
    for name, value, filename, content_type in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename.replace(chr(34), "_")}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n"
        chunks += [head.encode(), value, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)


async def _with_progress(body: bytes, progress: Progress) -> AsyncIterator[bytes]:
    task = progress.add_task("uploading", total=len(body))
    view = memoryview(body)
    for start in range(0, len(body), CHUNK):
        chunk = bytes(view[start : start + CHUNK])
        yield chunk
        progress.update(task, advance=len(chunk))


async def upload(api: Api, package: Package, *, show_progress: bool | None = None) -> Response:
    """POST /api/publish; a body over PROGRESS_THRESHOLD is streamed under a progress bar (stderr)."""
    content_type, body = multipart_body(package)
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    if show_progress is None:
        show_progress = len(body) > PROGRESS_THRESHOLD
    if not show_progress:
        return await api.request("POST", "/api/publish", data=body, headers=headers)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(file=sys.stderr),
        transient=sys.stderr.isatty(),
    )
    with progress:
        return await api.request("POST", "/api/publish", data=_with_progress(body, progress), headers=headers)
