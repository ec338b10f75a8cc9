DROP TABLE advisory_affected;
DROP TABLE advisory;
