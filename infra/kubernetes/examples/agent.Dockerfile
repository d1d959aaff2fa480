# The candidate agent's image: node and the one bundled file, nothing else. The build context is
# dist/, not the repository, which would send node_modules (hundreds of MB) to the builder.
#   npm run agent:bundle
#   docker build -f infra/kubernetes/examples/agent.Dockerfile -t REGISTRY/lease-coordinator-agent:0.1.0 dist
FROM node:22-alpine
COPY agent.mjs /opt/lease-coordinator/agent.mjs
# The node image's user `node`, by number: with runAsNonRoot (agent-sidecar.yaml) kubelet refuses an
# image whose user is a name, since it cannot tell that the name is not root.
USER 1000:1000
ENTRYPOINT ["node", "/opt/lease-coordinator/agent.mjs"]
