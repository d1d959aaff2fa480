# The candidate agent's image: node and the one bundled file, nothing else. The build context is
# dist/, not the repository, which would send node_modules (hundreds of MB) to the builder.
#   npm run agent:bundle
#   docker build -f infra/kubernetes/examples/agent.Dockerfile -t REGISTRY/lease-coordinator-agent:0.1.0 dist
FROM node:22-alpine
COPY agent.mjs /opt/lease-coordinator/agent.mjs
# Node's compile cache (22.1+), filled here: each pod's agent loads the bundle's compiled code from the
# image instead of compiling it again (docs/agent.md, "Start-up"). Node keeps one directory per user id
# under it, so it is filled as the user that runs the agent; the pod's root filesystem can then be
# read-only. 1000:1000 is the image's `node` user and group by number: with runAsNonRoot
# (agent-sidecar.yaml) kubelet refuses an image whose user is a name, since it cannot tell that the
# name is not root.
ENV NODE_COMPILE_CACHE=/opt/lease-coordinator/compile-cache
RUN mkdir /opt/lease-coordinator/compile-cache && chown 1000:1000 /opt/lease-coordinator/compile-cache
USER 1000:1000
RUN node /opt/lease-coordinator/agent.mjs --help > /dev/null
ENTRYPOINT ["node", "/opt/lease-coordinator/agent.mjs"]
