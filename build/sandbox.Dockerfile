# The Cleeng, Adyen and Cleverbridge sandboxes, for a connector running in
# containers (docker-compose.yml): the development binary `connector-dev`,
# serving `sandbox` on :8090 unless given another command (`demo` works
# too). Build context: a directory holding only that binary, built with
# CGO_ENABLED=0 (`make image` does both).
FROM scratch
COPY connector-dev /connector-dev
USER 65534:65534
ENV CONNECTOR_DEV_SANDBOX_ADDR=:8090
EXPOSE 8090
ENTRYPOINT ["/connector-dev"]
CMD ["sandbox"]
