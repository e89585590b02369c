package kubernetes

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/docker"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/upstream"
	"github.com/meshbench/meshbench/scenarios"
)

// Ports inside a pod. paymentsvc listens where the fleet image says
// (docker.Port); its sidecar takes the inbound traffic of the pod's
// Service on InboundPort and the application's outbound calls on
// OutboundPort, on loopback, as Istio's sidecar does on 15006 and 15001.
const (
	AppPort      = docker.Port
	InboundPort  = 15006
	OutboundPort = 15001
	GatewayPort  = 8080 // the gateway's container port
	ServicePort  = 80   // the gateway Service's port
	AgentPort    = 7070 // meshbench agent --listen
)

// Labels and annotations on everything a run creates.
const (
	LabelRun       = "meshbench.dev/run"
	LabelService   = "meshbench.dev/service" // a scenario service, "gateway" or "agent"
	LabelVariant   = "meshbench.dev/variant"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelComponent = "app.kubernetes.io/component"
	LabelName      = "app.kubernetes.io/name"
	// AnnotationZones lists the scenario zones a service's replicas go to.
	AnnotationZones = "meshbench.dev/zones"
	// ZoneLabel is the well-known node label the zones are matched on.
	ZoneLabel = "topology.kubernetes.io/zone"
)

// Names of the objects a run creates besides the services' own.
const (
	GatewayName = "gateway"
	AgentName   = "agent"
	proxyMount  = "/etc/meshbench"
	proxyFile   = "proxy.yaml"
	ledgerMount = "/data"
	appUser     = 65532 // the images' USER
)

// Images are the container images a run's pods use.
type Images struct {
	// Meshbench is the meshbench CLI image (docker/meshbench.Dockerfile,
	// `make image`): the gateway, the sidecars and the agents run it.
	Meshbench string
	// Fleet is the payment fleet's image (docker/Dockerfile, `make
	// image`): one static paymentsvc.
	Fleet string
	// PullPolicy of every container; empty: IfNotPresent.
	PullPolicy corev1.PullPolicy
}

// Default image references: what `make image` tags.
const (
	DefaultMeshbenchImage = "meshbench:dev"
	DefaultFleetImage     = "meshbench/paymentsvc:dev"
)

// RenderOptions say how a plan becomes objects.
type RenderOptions struct {
	// Namespace is the run's namespace (created and deleted by the run).
	Namespace string
	// RunID is the value of LabelRun on every object.
	RunID string
	// Images of the pods; empty fields take the defaults.
	Images Images
	// Agents is how many load agents run; 0: DefaultAgents.
	Agents int
	// ClusterDomain is the cluster's DNS domain; empty: cluster.local.
	ClusterDomain string
}

// DefaultAgents is the number of load agents of a run that names none.
const DefaultAgents = 2

// Manifest is every object of a run, in the order they are created.
type Manifest struct {
	Namespace  *corev1.Namespace
	ConfigMaps []*corev1.ConfigMap
	// Secrets hold the run's certificate authority under mutual TLS
	// (security.go).
	Secrets     []*corev1.Secret
	Services    []*corev1.Service
	Deployments []*appsv1.Deployment
	// Replicas is the scenario's replica count per Deployment name.
	Replicas map[string]int
	// Zones lists the scenario's zone of each replica, per service.
	Zones map[string][]string
	// Target is the gateway's URL inside the cluster, where the agents
	// offer the load.
	Target string
	// Timeout is the longest a gateway route may take (0: unbounded).
	Timeout time.Duration
}

// Objects lists the manifest's objects in creation order: the namespace,
// then the configuration (ConfigMaps, Secrets), the Services and the
// Deployments.
func (m *Manifest) Objects() []any {
	out := []any{m.Namespace}
	for _, o := range m.ConfigMaps {
		out = append(out, o)
	}
	for _, o := range m.Secrets {
		out = append(out, o)
	}
	for _, o := range m.Services {
		out = append(out, o)
	}
	for _, o := range m.Deployments {
		out = append(out, o)
	}
	return out
}

// Render turns variant of plan into the objects of a run: a Namespace;
// per scenario service a Deployment of paymentsvc in its role with a
// meshbench proxy sidecar and a headless Service selecting its pods; the
// gateway as a Deployment of `meshbench proxy` behind a ClusterIP Service;
// the proxies' configurations as ConfigMaps (bench/dataplane's
// translation, the one the local backend uses); and the load agents as a
// Deployment of `meshbench agent`. It is pure: the same arguments give the
// same objects, but for the certificate authority of a run under mutual
// TLS, new on every call (security.go).
func Render(plan *scenarios.Plan, variant int, seed uint64, opts RenderOptions) (*Manifest, error) {
	if variant < 0 || variant >= len(plan.Variants) {
		return nil, fmt.Errorf("variant %d out of range", variant)
	}
	if err := checkPlan(plan, variant); err != nil {
		return nil, err
	}
	spec, err := containers.SpecFromPlan(plan, seed)
	if err != nil {
		return nil, err
	}
	if opts.Namespace == "" || opts.RunID == "" {
		return nil, fmt.Errorf("render: namespace and run id are required")
	}
	if opts.Images.Meshbench == "" {
		opts.Images.Meshbench = DefaultMeshbenchImage
	}
	if opts.Images.Fleet == "" {
		opts.Images.Fleet = DefaultFleetImage
	}
	if opts.Images.PullPolicy == "" {
		opts.Images.PullPolicy = corev1.PullIfNotPresent
	}
	if opts.Agents <= 0 {
		opts.Agents = DefaultAgents
	}
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = "cluster.local"
	}
	r := renderer{plan: plan, variant: variant, seed: seed, opts: opts, pol: &plan.Variants[variant].Policy}
	if r.mesh, err = newMeshCA(r.pol, time.Now()); err != nil {
		return nil, err
	}
	return r.render(spec)
}

type renderer struct {
	plan    *scenarios.Plan
	variant int
	seed    uint64
	opts    RenderOptions
	pol     *scenarios.Policy
	mesh    *meshCA // mutual TLS; nil without
}

func (r *renderer) labels(service, component string) map[string]string {
	return map[string]string{
		LabelRun:       r.opts.RunID,
		LabelService:   service,
		LabelVariant:   sanitizeLabel(r.plan.Variants[r.variant].Name),
		LabelManagedBy: "meshbench",
		LabelPartOf:    "meshbench",
		LabelComponent: component,
	}
}

func (r *renderer) namespaceLabels() map[string]string {
	l := r.labels("", "run")
	delete(l, LabelService)
	return l
}

// selector is the pod selector of a run's Deployment or Service.
func (r *renderer) selector(service string) map[string]string {
	return map[string]string{LabelRun: r.opts.RunID, LabelService: service}
}

func (r *renderer) meta(name, service, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: r.opts.Namespace, Labels: r.labels(service, component)}
}

// host is a Service's fully qualified DNS name in the run's namespace.
func (r *renderer) host(service string) string {
	return service + "." + r.opts.Namespace + ".svc." + r.opts.ClusterDomain
}

func (r *renderer) render(spec containers.Spec) (*Manifest, error) {
	m := &Manifest{
		Namespace: &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: r.opts.Namespace, Labels: r.namespaceLabels()},
		},
		Replicas: map[string]int{},
		Zones:    map[string][]string{},
		Target:   "http://" + r.host(GatewayName) + ":" + strconv.Itoa(ServicePort),
		Timeout:  gatewayTimeout(r.plan, r.pol),
	}
	byService := map[string][]containers.ReplicaSpec{}
	for _, rs := range spec.Replicas {
		byService[rs.Service] = append(byService[rs.Service], rs)
	}
	for i := range r.plan.Services {
		svc := &r.plan.Services[i]
		reps := byService[svc.Name]
		cfg, err := r.sidecarConfig(svc)
		if err != nil {
			return nil, fmt.Errorf("service %s: sidecar: %w", svc.Name, err)
		}
		cm, err := r.configMap("proxy-"+svc.Name, svc.Name, cfg)
		if err != nil {
			return nil, fmt.Errorf("service %s: sidecar: %w", svc.Name, err)
		}
		m.ConfigMaps = append(m.ConfigMaps, cm)
		m.Services = append(m.Services, r.headless(svc.Name))
		d := r.serviceDeployment(svc, reps, cm.Name)
		if err := r.secureService(m, svc, cfg, cm, &d.Spec.Template.Spec); err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		m.Deployments = append(m.Deployments, d)
		m.Replicas[svc.Name] = svc.Replicas
		for j := range svc.Replicas {
			m.Zones[svc.Name] = append(m.Zones[svc.Name], svc.ReplicaZone(j))
		}
	}
	gw, err := r.gatewayConfig()
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	files, err := r.gatewayEdge(&gw)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	cm, err := r.configMap("proxy-"+GatewayName, GatewayName, gw)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	maps.Copy(cm.Data, files)
	m.ConfigMaps = append(m.ConfigMaps, cm)
	m.Services = append(m.Services, r.gatewayService())
	gd := r.gatewayDeployment(cm.Name)
	if err := r.secureGateway(m, gw, cm, &gd.Spec.Template.Spec); err != nil {
		return nil, err
	}
	m.Deployments = append(m.Deployments, gd, r.agentDeployment(m.Target))
	m.Replicas[GatewayName] = 1
	m.Replicas[AgentName] = r.opts.Agents
	return m, nil
}

// sidecarConfig is the proxy beside every replica of svc: outbound, on
// loopback, one cluster per callee under the variant's policy (the local
// backend's mapping: the callee's headless Service resolved by DNS, the
// ledger sharded by payment id); inbound, everything to the replica on
// loopback, without a policy of its own.
func (r *renderer) sidecarConfig(svc *scenarios.Service) (config.Config, error) {
	cfg := config.Config{
		Mode:   config.ModeSidecar,
		Listen: "127.0.0.1:" + strconv.Itoa(OutboundPort),
		Server: config.ServerConfig{ShutdownTimeout: config.Duration(5 * time.Second)},
		Sidecar: config.SidecarConfig{
			Service:    svc.Name,
			PathPrefix: true,
			Inbound:    config.InboundConfig{Listen: "0.0.0.0:" + strconv.Itoa(InboundPort), Cluster: "local"},
		},
		Clusters: []config.ClusterConfig{{
			Name:      "local",
			Endpoints: endpointsOf("127.0.0.1:" + strconv.Itoa(AppPort)),
		}},
	}
	for _, name := range callees(svc) {
		callee, ok := r.plan.Topology.Service(name)
		if !ok {
			return cfg, fmt.Errorf("calls unknown service %q", name)
		}
		pol := dataplane.Sidecar(r.pol)
		cc := dataplane.Cluster(r.pol, name, "", false)
		cc.Protocol = dataplane.ClusterProtocol(callee)
		cc.Discovery = r.dns(name)
		if callee.Name == string(fleet.RoleLedger) {
			pol.HashKey = config.HashKeyConfig{Header: fleet.HeaderPaymentID}
			if !slices.Contains(dataplane.HashBalancers, cc.Balancer.Type) || cc.Balancer.Type == scenarios.BalancerIPHash {
				cc.Balancer.Type = scenarios.BalancerMaglev
			}
		}
		cfg.Sidecar.Outbound = append(cfg.Sidecar.Outbound, config.OutboundConfig{Service: name, Policy: pol})
		cfg.Clusters = append(cfg.Clusters, cc)
	}
	return cfg, nil
}

// dns is the discovery of a service's replicas: its headless Service's
// A records, re-resolved every second, each pod on its sidecar's inbound
// port.
func (r *renderer) dns(service string) *config.DiscoveryConfig {
	return &config.DiscoveryConfig{Type: "dns", Host: r.host(service) + ".", Port: InboundPort, Interval: config.Duration(time.Second)}
}

// gatewayConfig is the edge proxy: bench/dataplane's gateway under the
// variant's policy, each cluster the service's pods by DNS.
func (r *renderer) gatewayConfig() (config.Config, error) {
	cfg, err := dataplane.Gateway(r.pol, &r.plan.Topology)
	if err != nil {
		return cfg, err
	}
	cfg.Listen = "0.0.0.0:" + strconv.Itoa(GatewayPort)
	cfg.Server = config.ServerConfig{ShutdownTimeout: config.Duration(5 * time.Second)}
	for i := range cfg.Clusters {
		cfg.Clusters[i].Discovery = r.dns(cfg.Clusters[i].Name)
	}
	return cfg, nil
}

// configMap holds a proxy configuration as YAML, checked with the
// proxy's own loader, so that a configuration the proxy would refuse
// fails the render rather than the pod.
func (r *renderer) configMap(name, service string, cfg config.Config) (*corev1.ConfigMap, error) {
	text, err := yaml.MarshalWithOptions(cfg, yaml.Indent(2))
	if err != nil {
		return nil, fmt.Errorf("encode proxy configuration: %w", err)
	}
	if _, err := config.Parse(name+"/"+proxyFile, text); err != nil {
		return nil, fmt.Errorf("proxy configuration: %w", err)
	}
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: r.meta(name, service, "proxy-config"),
		Data:       map[string]string{proxyFile: string(text)},
	}, nil
}

// headless is a scenario service's Service: no cluster IP, so that its
// DNS name lists every ready pod and the callers' proxies balance over
// them (not kube-proxy).
func (r *renderer) headless(service string) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: r.meta(service, service, "service"),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  r.selector(service),
			Ports: []corev1.ServicePort{
				{Name: "inbound", Port: InboundPort, TargetPort: intstr.FromString("inbound"), Protocol: corev1.ProtocolTCP},
				{Name: "app", Port: AppPort, TargetPort: intstr.FromString("app"), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

func (r *renderer) gatewayService() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: r.meta(GatewayName, GatewayName, "gateway"),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: r.selector(GatewayName),
			Ports:    []corev1.ServicePort{{Name: "http", Port: ServicePort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// serviceDeployment runs a scenario service: paymentsvc in its role (the
// containers backend's environment, SpecFromPlan) and the sidecar.
func (r *renderer) serviceDeployment(svc *scenarios.Service, reps []containers.ReplicaSpec, configMap string) *appsv1.Deployment {
	env := map[string]string{}
	if len(reps) > 0 {
		maps.Copy(env, reps[0].Env)
	}
	// One Deployment's pods are alike: the replica's name is the pod's,
	// and every replica of a service shares the service's seed.
	delete(env, "PAYMENTSVC_NAME")
	env["PAYMENTSVC_SEED"] = strconv.FormatUint(containers.ReplicaSeed(r.seed, svc.Name), 10)
	env["PAYMENTSVC_LISTEN"] = "0.0.0.0:" + strconv.Itoa(AppPort)
	if load.OmitsIdempotencyKeys(r.plan) {
		env["PAYMENTSVC_REQUIRE_IDEMPOTENCY_KEY"] = "false"
	}
	var mounts []corev1.VolumeMount
	var volumes []corev1.Volume
	if svc.Name == string(fleet.RolePayments) {
		base := "http://127.0.0.1:" + strconv.Itoa(OutboundPort)
		urls := map[fleet.Role]string{}
		var grpc []string
		for _, role := range []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger} {
			urls[role] = base + "/" + string(role)
			if callee, ok := r.plan.Topology.Service(string(role)); ok && callee.GRPC() {
				urls[role] = base
				grpc = append(grpc, string(role))
			}
		}
		env["PAYMENTSVC_RISK_URL"], env["PAYMENTSVC_FRAUD_URL"], env["PAYMENTSVC_LEDGER_URL"] = urls[fleet.RoleRisk], urls[fleet.RoleFraud], urls[fleet.RoleLedger]
		if len(grpc) > 0 {
			env["PAYMENTSVC_GRPC_CALLEES"] = strings.Join(grpc, ",")
		}
	}
	if svc.Name == string(fleet.RoleLedger) {
		env["PAYMENTSVC_LEDGER_PATH"] = docker.LedgerPath
		volumes = append(volumes, corev1.Volume{Name: "ledger", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "ledger", MountPath: ledgerMount})
	}
	vars := envVars(env)
	vars = append(vars, corev1.EnvVar{Name: "PAYMENTSVC_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}})
	app := corev1.Container{
		Name:            "paymentsvc",
		Image:           r.opts.Images.Fleet,
		ImagePullPolicy: r.opts.Images.PullPolicy,
		Env:             vars,
		Ports:           []corev1.ContainerPort{{Name: "app", ContainerPort: AppPort, Protocol: corev1.ProtocolTCP}},
		ReadinessProbe:  httpProbe("/readyz", "app"),
		Resources:       requests("100m", "64Mi"),
		VolumeMounts:    mounts,
		SecurityContext: containerSecurity(),
	}
	sidecar := r.proxyContainer("proxy", configMap, corev1.ContainerPort{Name: "inbound", ContainerPort: InboundPort, Protocol: corev1.ProtocolTCP})
	volumes = append(volumes, configVolume(configMap))
	labels := r.selector(svc.Name)
	maps.Copy(labels, r.labels(svc.Name, "fleet"))
	labels[LabelName] = "paymentsvc"
	for k, v := range commonLabels(svc.Labels) {
		if _, taken := labels[k]; !taken {
			labels[k] = v
		}
	}
	zones := zonesOf(svc)
	pod := corev1.PodSpec{
		Containers:                    []corev1.Container{app, sidecar},
		Volumes:                       volumes,
		SecurityContext:               podSecurity(),
		TerminationGracePeriodSeconds: ptr.To[int64](5),
		Affinity:                      zoneAffinity(zones),
		EnableServiceLinks:            ptr.To(false),
	}
	if len(zones) > 1 {
		pod.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew:           1,
			TopologyKey:       ZoneLabel,
			WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector:     &metav1.LabelSelector{MatchLabels: r.selector(svc.Name)},
		}}
	}
	d := r.deployment(svc.Name, svc.Name, "fleet", int32(svc.Replicas), labels, pod)
	if len(zones) > 0 {
		d.Annotations = map[string]string{AnnotationZones: strings.Join(zones, ",")}
		d.Spec.Template.Annotations = map[string]string{AnnotationZones: strings.Join(zones, ",")}
	}
	return d
}

// proxyContainer is a `meshbench proxy` container reading its
// configuration from configMap.
func (r *renderer) proxyContainer(name, configMap string, port corev1.ContainerPort) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           r.opts.Images.Meshbench,
		ImagePullPolicy: r.opts.Images.PullPolicy,
		Args:            []string{"proxy", "--config", proxyMount + "/" + proxyFile},
		Ports:           []corev1.ContainerPort{port},
		ReadinessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(port.Name)}}, PeriodSeconds: 2},
		Resources:       requests("100m", "64Mi"),
		VolumeMounts:    []corev1.VolumeMount{{Name: "proxy-config", MountPath: proxyMount, ReadOnly: true}},
		SecurityContext: containerSecurity(),
	}
}

func (r *renderer) gatewayDeployment(configMap string) *appsv1.Deployment {
	c := r.proxyContainer("gateway", configMap, corev1.ContainerPort{Name: "http", ContainerPort: GatewayPort, Protocol: corev1.ProtocolTCP})
	c.Resources = requests("500m", "128Mi")
	labels := r.labels(GatewayName, "gateway")
	labels[LabelName] = "meshbench-proxy"
	var zones []string
	if z := r.plan.Gateway.Zone; z != "" {
		zones = []string{z}
	}
	pod := corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		Volumes:                       []corev1.Volume{configVolume(configMap)},
		SecurityContext:               podSecurity(),
		TerminationGracePeriodSeconds: ptr.To[int64](5),
		Affinity:                      zoneAffinity(zones),
		EnableServiceLinks:            ptr.To(false),
	}
	return r.deployment(GatewayName, GatewayName, "gateway", 1, labels, pod)
}

// agentDeployment runs the load agents: `meshbench agent`, allowed to
// offer load to the gateway's Service at target and nowhere else off
// loopback, spread over nodes.
func (r *renderer) agentDeployment(target string) *appsv1.Deployment {
	labels := r.labels(AgentName, "load")
	labels[LabelName] = "meshbench-agent"
	c := corev1.Container{
		Name:            AgentName,
		Image:           r.opts.Images.Meshbench,
		ImagePullPolicy: r.opts.Images.PullPolicy,
		Args:            []string{"agent", "--listen", "0.0.0.0:" + strconv.Itoa(AgentPort), "--allow-target", target},
		Ports:           []corev1.ContainerPort{{Name: "agent", ContainerPort: AgentPort, Protocol: corev1.ProtocolTCP}},
		ReadinessProbe:  httpProbe("/healthz", "agent"),
		Resources:       requests("500m", "128Mi"),
		SecurityContext: containerSecurity(),
	}
	pod := corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		SecurityContext:               podSecurity(),
		TerminationGracePeriodSeconds: ptr.To[int64](5),
		EnableServiceLinks:            ptr.To(false),
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew:           1,
			TopologyKey:       "kubernetes.io/hostname",
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     &metav1.LabelSelector{MatchLabels: r.selector(AgentName)},
		}},
	}
	return r.deployment(AgentName, AgentName, "load", int32(r.opts.Agents), labels, pod)
}

func (r *renderer) deployment(name, service, component string, replicas int32, podLabels map[string]string, pod corev1.PodSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: r.meta(name, service, component),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: r.selector(service)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec:       pod,
			},
			// Replace pods one at a time without going below the count:
			// a restarted replica is back before another leaves.
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
				},
			},
		},
	}
}

// callees names the services svc calls, each once, sorted.
func callees(svc *scenarios.Service) []string {
	if svc.Name != string(fleet.RolePayments) {
		return nil
	}
	// The real fleet's call graph (containers.SpecFromPlan checks that
	// the topology has it; the topology's calls are the simulator's).
	return []string{string(fleet.RoleFraud), string(fleet.RoleLedger), string(fleet.RoleRisk)}
}

// zonesOf lists the zones svc's replicas go to, sorted.
func zonesOf(svc *scenarios.Service) []string {
	var zones []string
	for i := range svc.Replicas {
		if z := svc.ReplicaZone(i); z != "" {
			zones = append(zones, z)
		}
	}
	slices.Sort(zones)
	return slices.Compact(zones)
}

// zoneAffinity requires nodes in zones; nil when there are none.
func zoneAffinity(zones []string) *corev1.Affinity {
	if len(zones) == 0 {
		return nil
	}
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: zones}},
			}},
		},
	}}
}

// commonLabels are the labels every replica of a service has with the
// same value: a Deployment's pods share one template.
func commonLabels(perReplica []map[string]string) map[string]string {
	if len(perReplica) == 0 {
		return nil
	}
	out := maps.Clone(perReplica[0])
	for _, l := range perReplica[1:] {
		for k, v := range out {
			if l[k] != v {
				delete(out, k)
			}
		}
	}
	return out
}

func envVars(env map[string]string) []corev1.EnvVar {
	keys := slices.Sorted(maps.Keys(env))
	out := make([]corev1.EnvVar, 0, len(keys)+1)
	for _, k := range keys {
		out = append(out, corev1.EnvVar{Name: k, Value: env[k]})
	}
	return out
}

func httpProbe(path, port string) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(port)}},
		PeriodSeconds: 2,
	}
}

func requests(cpu, memory string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(memory),
	}}
}

func podSecurity() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](appUser),
		RunAsGroup:     ptr.To[int64](appUser),
		FSGroup:        ptr.To[int64](appUser),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func containerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func configVolume(configMap string) corev1.Volume {
	return corev1.Volume{Name: "proxy-config", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}},
	}}
}

// gatewayTimeout is the longest a gateway route may take; 0 when one has
// no timeout (as the local backend's).
func gatewayTimeout(plan *scenarios.Plan, pol *scenarios.Policy) time.Duration {
	var longest time.Duration
	for _, r := range plan.Gateway.Routes {
		t := r.Timeout
		if t <= 0 {
			t = pol.Timeouts.Request
		}
		if t <= 0 {
			return 0
		}
		longest = max(longest, t)
	}
	return longest
}

// sanitizeLabel makes s a valid label value: at most 63 characters of
// [A-Za-z0-9._-], starting and ending with an alphanumeric.
func sanitizeLabel(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '-'
		}
	}
	out := strings.Trim(string(b[:min(len(b), 63)]), "-_.")
	return out
}

func endpointsOf(addrs ...string) []upstream.Endpoint {
	out := make([]upstream.Endpoint, len(addrs))
	for i, a := range addrs {
		out[i] = upstream.Endpoint{Address: a}
	}
	return out
}
