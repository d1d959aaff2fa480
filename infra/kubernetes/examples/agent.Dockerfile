# The candidate agent's image: node and the one bundled file, nothing else.
#   npm run agent:bundle
#   docker build -f infra/kubernetes/examples/agent.Dockerfile -t REGISTRY/lease-coordinator-agent:0.1.0 .
FROM node:22-alpine
COPY dist/agent.mjs /opt/lease-coordinator/agent.mjs
USER node
ENTRYPOINT ["node", "/opt/lease-coordinator/agent.mjs"]
