"""`indexer advisories import`: OSV records from a file, a directory or a zip, idempotent by
`modified`, with every hostile input refused by name (tests/fixtures/osv: hand-written records)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import asyncpg
import orjson
import pytest

from indexer.advisories import ImportRefused, Limits, import_advisories
from testkit.processes import command_env, run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "osv"
INDEXED = {
    "GHSA-jfh8-c2jp-5v3q",
    "GHSA-p6mc-m468-83gw",
    "PYSEC-2019-217",
    "GO-2022-0390",
    "RUSTSEC-2021-0078",
    "GHSA-4xcv-9jjx-gfj3",
}


def _record(**changes: object) -> dict[str, object]:
    record = orjson.loads((FIXTURES / "GHSA-p6mc-m468-83gw.json").read_bytes())
    record.update(changes)
    return dict(record)


def _with_range(range_type: str, *events: dict[str, object], **extra: object) -> dict[str, object]:
    """A record whose one affected npm package `x` has one range."""
    osv_range = {"type": range_type, "events": list(events), **extra}
    return _record(affected=[{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [osv_range]}])


def _write(path: Path, record: object) -> Path:
    path.write_bytes(orjson.dumps(record))
    return path


async def test_a_directory_is_imported_with_counts_and_a_reason_per_skipped_file(db: asyncpg.Connection) -> None:
    counts = await import_advisories(db, FIXTURES)
    assert (counts.new, counts.updated, counts.unchanged) == (6, 0, 0)
    assert counts.skipped == [(str(FIXTURES / "DSA-0000-1.json"), "no affected package in an ecosystem Wharf indexes")]
    assert counts.ignored_entries == {"Debian:11": 1}
    assert {row["id"] for row in await db.fetch("SELECT id FROM advisory")} == INDEXED
    log4j = await db.fetchrow("SELECT * FROM advisory_affected WHERE advisory_id = 'GHSA-jfh8-c2jp-5v3q'")
    assert log4j is not None
    assert (log4j["language"], log4j["package"], log4j["ecosystem"]) == (
        "java",
        "org.apache.logging.log4j:log4j-core",
        "Maven",
    )
    assert log4j["fixed"] == ["2.15.0", "2.12.2", "2.3.1"]
    jinja = await db.fetchrow("SELECT * FROM advisory_affected WHERE advisory_id = 'PYSEC-2019-217'")
    assert jinja is not None
    assert (jinja["package"], jinja["name"]) == ("jinja2", "Jinja2"), "names are normalised as the index stores them"
    assert jinja["fixed"] == ["2.10.1"], "a GIT range's fixed commit is no version"
    assert "2.10" in jinja["versions"]
    raw = orjson.loads(await db.fetchval("SELECT raw::text FROM advisory WHERE id = 'GHSA-jfh8-c2jp-5v3q'"))
    assert raw["database_specific"]["severity"] == "CRITICAL", "fields not modelled are kept in the record"


async def test_importing_again_changes_nothing_and_only_a_newer_record_overwrites(
    db: asyncpg.Connection, tmp_path: Path
) -> None:
    await import_advisories(db, FIXTURES)
    again = await import_advisories(db, FIXTURES)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 6)

    older = _write(tmp_path / "older.json", _record(modified="2020-01-01T00:00:00Z", summary="stale"))
    assert (await import_advisories(db, older)).unchanged == 1
    newer_record = _record(modified="2025-01-01T00:00:00Z", summary="Prototype Pollution in lodash (revised)")
    events = [{"introduced": "0"}, {"fixed": "4.17.21"}]
    newer_record["affected"] = [
        {"package": {"ecosystem": "npm", "name": "lodash"}, "ranges": [{"type": "SEMVER", "events": events}]}
    ]
    counts = await import_advisories(db, _write(tmp_path / "newer.json", newer_record))
    assert (counts.new, counts.updated) == (0, 1)
    stored = await db.fetchrow("SELECT summary, modified FROM advisory WHERE id = 'GHSA-p6mc-m468-83gw'")
    assert stored is not None and stored["summary"].endswith("(revised)")
    fixed = await db.fetch("SELECT fixed FROM advisory_affected WHERE advisory_id = 'GHSA-p6mc-m468-83gw'")
    assert [row["fixed"] for row in fixed] == [["4.17.21"]], "the affected rows are replaced with the record"


async def test_a_zip_like_osvs_export_is_imported(db: asyncpg.Connection, tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(FIXTURES.glob("*.json")):
            zipped.write(path, path.name)
        zipped.writestr("README.txt", "not a record")
    counts = await import_advisories(db, archive)
    assert counts.new == 6
    assert [label for label, _ in counts.skipped] == [f"{archive}!DSA-0000-1.json"]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (_record(id=42), "/id must be of type string"),
        (_record(modified="yesterday"), "/modified must be a valid date-time"),
        (_record(aliases="CVE-2020-8203"), "/aliases must be of type array"),
        (_record(id="../../etc/passwd"), "/id must match the pattern"),
        (_with_range("SEMVER"), "/affected/0/ranges/0/events must have at least 1 item(s)"),
        (_with_range("FOO", {"introduced": "0"}), "/affected/0/ranges/0/type must be one of: SEMVER, ECOSYSTEM, GIT"),
        (
            _record(affected=[{"package": {"ecosystem": "npm"}, "ranges": []}]),
            "/affected/0/package/name is required",
        ),
        (_with_range("SEMVER", {"introduced": 1}), "/affected/0/ranges/0/events/0/introduced must be of type string"),
        (_with_range("SEMVER", {"introduced": "0", "fixed": "1"}), "/affected/0/ranges/0/events/0 "),
        (_with_range("SEMVER", {"withdrawn": "1"}), "/affected/0/ranges/0/events/0 "),
        (_with_range("GIT", {"introduced": "0"}), "/affected/0/ranges/0/repo is required for a GIT range"),
        (_record(summary="nul \x00 byte"), "/summary contains a NUL character"),
        ([1, 2, 3], "an OSV record is a JSON object, not list"),
    ],
)
async def test_a_malformed_record_is_skipped_naming_the_field(
    db: asyncpg.Connection, tmp_path: Path, record: object, reason: str
) -> None:
    path = _write(tmp_path / "bad.json", record)
    counts = await import_advisories(db, path)
    assert counts.new == 0
    [(label, said)] = counts.skipped
    assert label == str(path)
    assert said.startswith(reason) or reason in said, said
    assert await db.fetchval("SELECT count(*) FROM advisory") == 0


async def test_files_that_are_not_json_or_too_large_are_refused_without_being_read_whole(
    db: asyncpg.Connection, tmp_path: Path
) -> None:
    (tmp_path / "broken.json").write_text('{"id": ')
    big = _record(details="x" * 5000)
    _write(tmp_path / "big.json", big)
    (tmp_path / "link.json").symlink_to("/dev/zero")
    counts = await import_advisories(db, tmp_path, Limits(max_record_bytes=4096))
    reasons = dict(counts.skipped)
    assert reasons[str(tmp_path / "broken.json")].startswith("not valid JSON")
    assert reasons[str(tmp_path / "big.json")] == "over the size limit of 4096 bytes"
    assert reasons[str(tmp_path / "link.json")].startswith("not a regular file")


async def test_a_zip_bomb_is_refused(db: asyncpg.Connection, tmp_path: Path) -> None:
    """An entry inflating past the record limit is skipped after reading only that much; a zip
    with too many entries, or too many bytes in all, is refused before a record is written."""
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("zeros.json", b"0" * 50_000_000)
        zipped.write(FIXTURES / "GO-2022-0390.json", "GO-2022-0390.json")
    assert bomb.stat().st_size < 100_000
    counts = await import_advisories(db, bomb, Limits(max_record_bytes=1_000_000))
    assert counts.skipped == [(f"{bomb}!zeros.json", "over the size limit of 1000000 bytes")]
    assert counts.new == 1

    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zipped:
        for n in range(3):
            zipped.writestr(f"{n}.json", b"{}")
    with pytest.raises(ImportRefused, match="3 entries; the limit is 2"):
        await import_advisories(db, many, Limits(max_entries=2))

    with pytest.raises(ImportRefused, match="would inflate to"):
        await import_advisories(db, bomb, Limits(max_record_bytes=100_000_000, max_total_bytes=10_000_000))


async def test_a_zip_whose_sizes_lie_is_bounded_by_what_it_inflates(db: asyncpg.Connection, tmp_path: Path) -> None:
    honest = tmp_path / "honest.zip"
    with zipfile.ZipFile(honest, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("a.json", b" " * 200_000 + orjson.dumps(_record()))
    data = bytearray(honest.read_bytes())
    # rewrite the stated uncompressed size (local header at 22, central directory at 24) to 100 bytes
    stated = (200_000 + len(orjson.dumps(_record()))).to_bytes(4, "little")
    for at in [i for i in range(len(data) - 4) if data[i : i + 4] == stated]:
        data[at : at + 4] = (100).to_bytes(4, "little")
    lying = tmp_path / "lying.zip"
    lying.write_bytes(bytes(data))
    counts = await import_advisories(db, lying, Limits(max_record_bytes=1000))
    assert counts.new == 0
    [(label, reason)] = counts.skipped
    assert label == f"{lying}!a.json"
    assert "size limit" in reason or "cannot be inflated" in reason


async def test_the_command_prints_counts_and_names_skipped_files(fresh_db_url: str, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "osv")
    result = run_cli("indexer", "advisories", "import", str(tmp_path / "osv"), env=command_env(fresh_db_url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "advisories: 6 new, 0 updated, 0 unchanged, 1 skipped; "
        "1 affected entries of ecosystems Wharf does not index left out: Debian:11 (1)"
    )
    assert "DSA-0000-1.json: no affected package in an ecosystem Wharf indexes" in result.stderr
    again = run_cli("indexer", "advisories", "import", str(tmp_path / "osv"), env=command_env(fresh_db_url))
    assert again.stdout.startswith("advisories: 0 new, 0 updated, 6 unchanged, 1 skipped")
    missing = run_cli("indexer", "advisories", "import", str(tmp_path / "nothing"), env=command_env(fresh_db_url))
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[-1].endswith("nothing: no such file or directory")
    assert missing.stderr.splitlines()[-1].startswith("indexer: error:")
