# liteshift: one image for every service (`extract`, `load`, `verify`, `demo-db`, ...).
#   docker build -t liteshift:local .
#   docker run --rm liteshift:local --help

# ---- build: compile better-sqlite3 and the TypeScript, then drop dev dependencies ----
FROM node:24-bookworm-slim AS build

# better-sqlite3 is a native addon, compiled here from source by node-gyp.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/extractor/package.json services/extractor/
COPY services/loader/package.json services/loader/
COPY services/verifier/package.json services/verifier/
COPY services/reverse/package.json services/reverse/
COPY cli/package.json cli/

# --ignore-scripts: the root `prepare` script runs `tsc -b`, and the sources are not
# here yet. The one package whose install script matters is then built on its own,
# from source, against the headers this very node ships in /usr/local/include/node
# (no download of a prebuilt binary or of headers).
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm_config_build_from_source=true npm_config_nodedir=/usr/local npm rebuild better-sqlite3

COPY tsconfig.json tsconfig.base.json ./
COPY shared/ shared/
COPY services/ services/
COPY cli/ cli/
COPY bin/ bin/

# Compile, then remove devDependencies (typescript, vitest, ...) and the addon's
# sources and intermediate objects: only build/Release/better_sqlite3.node is loaded.
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && addon=node_modules/better-sqlite3 \
 && mv $addon/build/Release/better_sqlite3.node /tmp/ \
 && rm -rf $addon/build $addon/deps $addon/src \
 && mkdir -p $addon/build/Release \
 && mv /tmp/better_sqlite3.node $addon/build/Release/ \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

# ---- runtime: node + production node_modules + compiled JavaScript, nothing else ----
FROM node:24-bookworm-slim AS runtime

ENV NODE_ENV=production
WORKDIR /app

COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/shared/package.json ./shared/
COPY --from=build /app/shared/dist ./shared/dist
COPY --from=build /app/services/extractor/package.json ./services/extractor/
COPY --from=build /app/services/extractor/dist ./services/extractor/dist
COPY --from=build /app/services/loader/package.json ./services/loader/
COPY --from=build /app/services/loader/dist ./services/loader/dist
COPY --from=build /app/services/verifier/package.json ./services/verifier/
COPY --from=build /app/services/verifier/dist ./services/verifier/dist
COPY --from=build /app/services/reverse/package.json ./services/reverse/
COPY --from=build /app/services/reverse/dist ./services/reverse/dist
COPY --from=build /app/cli/package.json ./cli/
COPY --from=build /app/cli/dist ./cli/dist

# The application files stay owned by root (read-only for the service). /data is where
# docker-compose mounts the SQLite directory; owned by node for a named volume's sake.
RUN mkdir -p /data && chown node:node /data

USER node

ENTRYPOINT ["node", "/app/bin/liteshift.js"]
CMD ["--help"]
