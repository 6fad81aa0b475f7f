# onair app image: the API server and the built front end. The media server is a separate container (KMS).
# Build: docker compose build app   (see docker-compose.yml)
# Node 24 (the current LTS). No dependency runs an install script (.npmrc), so no compiler is needed.

# 1. Dependencies and front-end build
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json vite.config.ts ./
COPY api ./api
COPY front ./front
COPY media ./media
COPY migrations ./migrations
RUN npx vite build && npm prune --omit=dev

# 2. Runtime: Node, ffmpeg (recording finalisation and posters), the app
FROM node:24-bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg ca-certificates wget \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production PORT=8080 RECORDINGS_DIR=/recordings
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/front/dist ./front/dist
COPY package.json tsconfig.json ./
COPY api ./api
COPY media ./media
COPY migrations ./migrations
# The recordings volume starts owned by the runtime user (uid 1000, `node`), the uid KMS writes as (KMS_UID).
RUN mkdir -p /recordings && chown node:node /recordings
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD wget -qO- http://127.0.0.1:8080/healthz >/dev/null || exit 1
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "api/main.ts"]
