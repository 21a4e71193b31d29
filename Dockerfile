# Build a static binary, then run it as an unprivileged user with its data in /data.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/tidings ./cmd/tidings \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tidings /usr/local/bin/tidings
# A new named volume takes this directory's owner, so the non-root user can write.
COPY --from=build --chown=65532:65532 /out/data /data
ENV TIDINGS_STORE=sqlite:/data/tidings.db \
    TIDINGS_DATA=/data \
    TIDINGS_ADDR=:8080
VOLUME /data
EXPOSE 8080
# No HEALTHCHECK: the image has no shell or curl and tidings no health
# subcommand; probe GET /healthz (alive) and GET /readyz (store reachable).
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/tidings"]
CMD ["serve"]
