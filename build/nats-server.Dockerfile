# nats-server, built from the version in go.mod. Build context: the static
# binary `nats-server` and an empty directory `data` (the JetStream store,
# owned by the unprivileged user so a fresh volume inherits it).
FROM scratch
COPY nats-server /nats-server
COPY --chown=65534:65534 data /data
USER 65534:65534
EXPOSE 4222 6222 8222
ENTRYPOINT ["/nats-server"]
CMD ["--jetstream", "--store_dir", "/data", "--http_port", "8222"]
