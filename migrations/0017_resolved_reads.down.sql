DROP INDEX resolved_dep_by_repo;
