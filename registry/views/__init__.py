"""JSON renderings of domain records, shared by the API's route modules, GraphQL and the pages.

Pure functions of records: no request, no database, no aiohttp.
"""
