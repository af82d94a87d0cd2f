# The production connector: one static binary, the role chosen by the
# command (ingress, worker; cleeng, dlq and ops for an operator). No sandbox
# is in it: sandbox.Dockerfile builds their image. Build context: a
# directory holding only the binary `connector`, built with CGO_ENABLED=0
# (`make image` does both).
FROM scratch
COPY connector /connector
USER 65534:65534
EXPOSE 8080 9090
ENTRYPOINT ["/connector"]
CMD ["--help"]
