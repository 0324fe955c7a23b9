# relay: build the Cython extensions in a builder stage, run on a slim image as a non-root user.
# The build steps are the install steps CI runs (`pip install .` of this checkout).
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN python -m venv /opt/relay && /opt/relay/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /data relay && mkdir -p /data && chown relay /data
COPY --from=build /opt/relay /opt/relay
ENV PATH=/opt/relay/bin:$PATH DATA_DIR=/data PORT=3000 ADMIN_PORT=3001
VOLUME ["/data"]
EXPOSE 3000 3001
USER relay
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','3000'), timeout=2)"
CMD ["relay", "serve"]
