# etcd-xds: the control plane image. The demo's sample backends run from the same image
# (`etcd-xds sample-backend ...`), so docker-compose builds it once.

# --- build: compile TypeScript, then drop the dev dependencies --------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY proto ./proto
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime ------------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Root owns the files; the process runs as the image's unprivileged `node` user and cannot change them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/proto ./proto
# The canary policy `etcd-xds demo` applies.
COPY demo ./demo
USER node

# 18000: xDS (gRPC ADS and per-type services); 19000: admin HTTP (/healthz, /readyz, /debug/*, /metrics).
EXPOSE 18000 19000

# Slim images have no curl: ask node. /readyz is 200 only after the first full etcd sync (and needs no token).
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:19000/readyz',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "bin/etcd-xds.js"]
CMD ["serve"]
