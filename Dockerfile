# Build and runtime image of the BFF (and of the emulator, with a different command). Node 20, the major the
# tests run on; production dependencies only; runs as the unprivileged `node` user.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
# Metrics on a port of their own (README, Metrics), on HOST: scrapable from outside the container.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 METRICS_PORT=9464
# The live heap is ~45 MB; without a cap V8 lets old space grow lazily to 230–300 MB RSS under load. At 128 MB
# the RSS stays at 145–175 MB for the same CPU per request (docs/performance.md, Memory). npm run bench runs the
# BFF with this value.
ENV NODE_OPTIONS=--max-old-space-size=128
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000 9464
# Ready, not merely alive: the balancer and the orchestrator see what /health/ready says (README, API).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
