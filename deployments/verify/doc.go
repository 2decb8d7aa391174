// Package verify checks the deployment files against the Kubernetes API
// types, the compose specification and fngate's code, offline: the Helm
// chart in deployments/helm/fngate, linted and rendered by Helm's own
// packages (loader, linter, template engine) at the version pinned in this
// module's go.mod, and compose.yaml, loaded by compose-go (the library
// docker compose uses).
//
// It is a module of its own so that fngate's go.mod does not grow by the
// Kubernetes, Helm and compose libraries; scripts/test.sh runs its tests.
package verify
