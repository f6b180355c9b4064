# syntax=docker/dockerfile:1
#
# swift-mcpo image: the mcpo binary (static Swift stdlib) on Debian bookworm-slim, with the runtimes
# stdio MCP servers are usually started with: Node.js/npm (npx), Python 3 + uv (uvx), git.
#
#   docker build -t swift-mcpo .
#   docker run --rm --init -p 8000:8000 swift-mcpo -- uvx mcp-server-time --local-timezone=America/New_York
#
# See docs/docker.md.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build

# zlib1g-dev: NIO's HTTP compression; libcurl4-openssl-dev: only needed if FoundationNetworking
# is ever linked (a --static-swift-stdlib link fails with "cannot find -lcurl" without it);
# python3-venv: scripts/fetch-docs-assets.sh downloads the Swagger UI / ReDoc wheel with pip;
# valgrind and curl: scripts/build-release.sh makes the link order by running the proxy under callgrind.
# hadolint ignore=DL3008
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      zlib1g-dev libcurl4-openssl-dev python3 python3-venv ca-certificates valgrind curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Offline Swagger UI / ReDoc assets (pinned wheel from PyPI); before the sources for layer caching.
COPY scripts ./scripts
RUN bash scripts/fetch-docs-assets.sh /out/docs-assets

COPY Package.swift Package.resolve[d] ./
COPY Sources ./Sources
COPY Tests ./Tests

# The cache mount keeps .build (package checkouts, objects, the link order) between image builds, so the
# binaries (stripped by the script) are copied out in the same step.
RUN --mount=type=cache,target=/src/.build,id=swift-mcpo-build \
    bin="$(scripts/build-release.sh mcpo mcp-example-server | tail -n 1)" \
 && mkdir -p /out/bin \
 && cp "$bin/mcpo" "$bin/mcp-example-server" /out/bin/ \
 && /out/bin/mcpo --help >/dev/null

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS node

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}

ARG UV_VERSION=0.13.8

# Debian packages follow bookworm's security updates (not pinned on purpose).
# hadolint ignore=DL3008
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      ca-certificates curl git python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*

# Node.js + npm + npx from the official Node image (Debian's own nodejs is 18.x and its npm
# package pulls in hundreds of node-* packages).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version

# uv / uvx (pinned), installed with pip into its own venv: bookworm's system pip refuses (PEP 668).
RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}" \
 && ln -s /opt/uv/bin/uv /opt/uv/bin/uvx /usr/local/bin/ \
 && uv --version

COPY --from=build /out/bin/mcpo /out/bin/mcp-example-server /usr/local/bin/
COPY --from=build /out/docs-assets /usr/share/mcpo/docs-assets
COPY config.sample.json /usr/share/mcpo/config.sample.json

# Swagger UI and ReDoc are served from the image, so /docs works without Internet access.
ENV MCPO_DOCS_ASSETS=/usr/share/mcpo/docs-assets

# The cache folders exist up front so named volumes mounted there belong to mcpo, not root.
RUN useradd --create-home --home-dir /home/mcpo --uid 10001 --user-group --shell /bin/sh mcpo \
 && install -d -o mcpo -g mcpo /home/mcpo/.cache /home/mcpo/.npm
# Numeric, so runAsNonRoot-style checks can verify it.
USER 10001:10001
WORKDIR /home/mcpo

EXPOSE 8000
ENTRYPOINT ["mcpo"]
CMD ["--help"]
