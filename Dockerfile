# The hub: one static binary on a small Debian, running as a non-root user.
#   docker build -t sparkhub/hub .
#   docker run -p 8000:8000 -v sparkhub-data:/data sparkhub/hub
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sparkhub .

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home sparkhub
COPY --from=build /out/sparkhub /usr/local/bin/sparkhub
USER 10001:10001
ENV SPARKHUB_DATA_DIR=/data SPARKHUB_LISTEN=:8000
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/hub/health || exit 1
ENTRYPOINT ["/usr/local/bin/sparkhub"]
CMD ["serve"]
