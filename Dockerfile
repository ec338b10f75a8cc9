# syntax=docker/dockerfile:1
# Build a wheel in one stage, install it in a slim runtime stage that runs as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY registry ./registry
COPY indexer ./indexer
COPY migrations ./migrations
COPY schemas ./schemas
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 wharf
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER wharf
WORKDIR /home/wharf
# DATABASE_URL comes from the environment; without it the embedded PostgreSQL keeps its data in
# the wharf user's data directory (mount a volume on /home/wharf/.local/share/wharf to keep it).
ENV WHARF_HOST=0.0.0.0 \
    WHARF_PORT=8080 \
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('WHARF_PORT', '8080'), timeout=2)"
CMD ["registry", "serve", "--host", "0.0.0.0"]
