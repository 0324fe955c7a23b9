# relay: build the web console and the Cython extensions in builder stages, run on a slim image
# as a non-root user. The build steps are the install steps CI runs (`npm ci && npm run build`
# in web/, `pip install .` of this checkout).
FROM node:22-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/index.html web/tsconfig.json web/vite.config.ts ./
COPY web/src ./src
RUN npm run build

FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN python -m venv /opt/relay && /opt/relay/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /data relay && mkdir -p /data && chown relay /data
COPY --from=build /opt/relay /opt/relay
COPY --from=web /web/dist /opt/relay/share/relay/web
ENV PATH=/opt/relay/bin:$PATH DATA_DIR=/data PORT=3000 ADMIN_PORT=3001
VOLUME ["/data"]
EXPOSE 3000 3001
USER relay
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','3000'), timeout=2)"
CMD ["relay", "serve"]
