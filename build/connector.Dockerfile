# The connector: one static binary, the role chosen by the command
# (ingress, worker, sandbox). Build context: a directory holding only the
# binary `connector`, built with CGO_ENABLED=0 (`make image` does both).
FROM scratch
COPY connector /connector
USER 65534:65534
EXPOSE 8080 8090
ENTRYPOINT ["/connector"]
CMD ["--help"]
