// Package deploy holds the deployment files of Mercato (the image, the
// Compose stack, the Kubernetes manifests, Prometheus, Grafana, the
// OpenTelemetry collector and nginx) and, in its tests, the checks CI runs on
// them without a cluster or a Docker daemon: the Compose file through the
// compose-spec loader, every Kubernetes object decoded strictly into the API
// types, promtool on the Prometheus files, and every metric the dashboard
// and the rules query against what a running Mercato exports.
package deploy
