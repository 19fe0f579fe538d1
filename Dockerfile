# The vigil demo app with the agent preloaded (docker-compose.yml service "demo").
#   docker build -t vigil-demo .   then   docker run -p 3000:3000 -p 9000:9000 vigil-demo
FROM node:20.18.1-bookworm-slim

WORKDIR /app

# Dependencies first, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build

ENV NODE_ENV=production \
    VIGIL_PORT=9000
USER node

# 3000: the demo application; 9000: the agent's probe server (/health/live, /health/ready, ...)
EXPOSE 3000 9000

# No curl in the image: the probe is the agent's own CLI (exit 0 when /health/ready is 200).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "dist/cli.js", "probe", "ready", "--port", "9000"]

CMD ["node", "--require", "./dist/register.js", "demo/server.js"]
