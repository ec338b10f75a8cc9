DROP TABLE download_clients;
DROP TABLE failure_windows;
