// Builds the real external-dns binary for the DNS end-to-end tier.
module github.com/kominfo/subdomain-operator/hack/tools/externaldns

go 1.26.6

// v3.1.44, which external-dns v0.22.0 requires, is refused by the module proxy
// (403); v3.1.43 is served and only the exoscale provider (unused here) imports it.
replace github.com/exoscale/egoscale/v3 => github.com/exoscale/egoscale/v3 v3.1.43
