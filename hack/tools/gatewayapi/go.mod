// Pins the Gateway API module for its CRD YAML (HTTPRoute, GRPCRoute, TLSRoute), which
// the admission tests install to test the host policies on routes. Nothing here is
// built: internal/testenv asks `go mod download -json` for the module's directory.
// Do not run `go mod tidy` here: with nothing imported it would drop the requirement.
module github.com/kominfo/subdomain-operator/hack/tools/gatewayapi

go 1.26.6

require sigs.k8s.io/gateway-api v1.6.3
