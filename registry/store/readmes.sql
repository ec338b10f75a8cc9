-- name: insert_readme
-- Written once: a second rendering of the same release changes nothing, and a release deleted
-- while its README rendered gets none.
INSERT INTO registry_release_readmes (release_id, html, plain)
SELECT :release_id, :html, :plain
WHERE EXISTS (SELECT FROM registry_extension_releases WHERE id = :release_id)
ON CONFLICT (release_id) DO NOTHING

-- name: readme_of
SELECT html, plain FROM registry_release_readmes WHERE release_id = :release_id
