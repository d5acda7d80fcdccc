# `luxsim node` in a container (docs/bridge.md, "Docker").
#   docker build -t luxsim .
#   docker run --rm -v $PWD/deploy/compose/node-0.yaml:/etc/luxsim/node.yaml:ro luxsim
# (a TOML file works too: mount it and pass `node --config /etc/luxsim/node.toml`).
# The node stops cleanly on `docker stop` (SIGTERM) and writes its summary line.
FROM rust:1.95-bookworm AS build
# The bridge links the system libzmq (built with libsodium: CURVE works).
RUN apt-get update && apt-get install -y --no-install-recommends libzmq3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --features bridge --bin luxsim

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libzmq5 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/luxsim /usr/local/bin/luxsim
# Poll protocol (ROUTER), vote feed (PUB), /metrics and /health (HTTP): the ports of the
# compose node files; a node file may choose others.
EXPOSE 7000 7100 9100 9200
ENTRYPOINT ["luxsim"]
CMD ["node", "--config", "/etc/luxsim/node.yaml"]
