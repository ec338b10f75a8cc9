"""Settings as the JSON API shows them: versions of a subject, a cascade's subjects, enabled extensions."""

from __future__ import annotations

from typing import Any

from registry.sourcegraph import static_path
from registry.store.settings import CascadeLevel, EnabledExtension, Subject, Version

EMPTY_CONTENTS = "{}"  # what a subject without settings, or a version without contents, shows


def render_subject(subject: Subject) -> dict[str, Any]:
    return {"type": subject.kind, "name": subject.name}


def render_version(subject: Subject, version: Version | None) -> dict[str, Any]:
    if version is None:
        return {"id": None, "subject": render_subject(subject), "contents": EMPTY_CONTENTS, "author": None,
                "created_at": None}  # fmt: skip
    return {
        "id": version.id,
        "subject": render_subject(subject),
        "contents": version.contents if version.contents is not None else EMPTY_CONTENTS,
        "author": version.author,
        "created_at": version.created_at,
    }


def render_cascade_level(level: CascadeLevel) -> dict[str, Any]:
    return {"type": level.kind, "name": level.name, "id": level.id}


def render_enabled(extension: EnabledExtension, base_url: str) -> dict[str, Any]:
    """`base_url` prefixes the bundle's URL (only an extension with a release has one)."""
    release = None
    if extension.release_id is not None:
        release = {
            "id": extension.release_id,
            "version": extension.version,
            "bundle_url": base_url + static_path(extension.release_id, extension.extension_id, "js"),
            "created_at": extension.released_at,
        }
    return {"extension_id": extension.extension_id, "uuid": extension.uuid, "release": release}
