// Package kubernetes is meshbench's kubernetes backend: a scenario run in
// a cluster, through the Kubernetes API (client-go), with the same
// results, reports and ledger audit as the local and containers backends.
//
// A run renders the scenario (Render, pure) into a namespace of its own:
// per service a Deployment of paymentsvc in its role with a `meshbench
// proxy` sidecar, placed in the service's zones by node affinity and
// spread over them, and a headless Service; the gateway as a Deployment
// behind a ClusterIP Service; the proxies' configurations as ConfigMaps,
// from bench/dataplane's translation as the local backend maps it (each
// checked with the proxy's own loader); and the load agents (bench/agent)
// as a Deployment. It creates them (Apply), waits for every Deployment to
// roll out with a list and a watch (WaitReady; a timeout says what is not
// ready and why), offers the load from the agents through the API
// server's pod proxy (PodDialer) while the fault timeline runs through the
// API (Timeline), heals the fleet, audits the ledgers, and deletes the
// namespace on success, error and Ctrl-C, waiting until it is gone
// (DeleteNamespace; a namespace stuck terminating is an error naming what
// holds it).
//
// docs/kubernetes.md is the user's guide: clusters, RBAC, images, what is
// measured, and what a cluster cannot reproduce.
package kubernetes
