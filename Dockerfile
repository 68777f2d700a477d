# The manager's image: a static binary on distroless, non-root (uid 65532), as the
# manifests' securityContext expects (runAsNonRoot, read-only root filesystem).
#   make docker-build IMG=registry.example.go.id/subdomain-operator:0.1.0
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
COPY main.go ./
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /manager .

FROM gcr.io/distroless/static:nonroot
COPY --from=build /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
