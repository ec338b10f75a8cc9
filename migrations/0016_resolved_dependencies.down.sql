DROP TABLE resolved_dep;
