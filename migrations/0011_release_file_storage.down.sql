-- Back to the seed's storage: compressed in line or out of line (EXTENDED) with the server's
-- default compression. Values written meanwhile keep the form they were written in.
ALTER TABLE registry_extension_releases
    ALTER COLUMN bundle SET STORAGE EXTENDED,
    ALTER COLUMN bundle SET COMPRESSION DEFAULT,
    ALTER COLUMN source_map SET STORAGE EXTENDED,
    ALTER COLUMN source_map SET COMPRESSION DEFAULT;
