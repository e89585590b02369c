package kubernetes

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/goccy/go-yaml"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/meshbench/meshbench/proxy/secure"
	"github.com/meshbench/meshbench/scenarios"
)

// Mutual TLS in a cluster (policy.security.mtls), as the local backend
// has it (bench/local/mtls.go): a certificate authority made for the run
// (proxy/mtls), one SPIFFE identity per workload — the gateway
// spiffe://meshbench.local/ns/edge/sa/gateway, and every replica of a
// service spiffe://meshbench.local/ns/mesh/sa/<service>, shared by its
// sidecar as Istio's sidecars share their pod's — each valid for certTtl
// and renewed every rotateEvery. The gateway's and the sidecars' clusters
// speak mutual TLS (protocol https) to the replicas' inbound side, which
// takes the mode (STRICT, PERMISSIVE). After each renewal a proxy closes
// the idle connections of its mutual-TLS clusters (proxy/secure), as the
// local backend's proxies do, so that the next tries handshake anew; each
// proxy renews on its own schedule, counted from its start, where the
// local backend renews every certificate of the run at once.
//
// The run's CA (ca.crt, ca.key) is a Secret mounted in the gateway's and
// the services' pods; each `meshbench proxy` issues its own certificate
// from it at start and renews it in process (the security section's
// caDir), as the local backend's proxies are issued theirs by the run's
// in-process CA. No certificate is issued at render time: with certTtl of
// a minute it would expire while the pods are being scheduled.
//
// The proxy's security.listener applies to every data listener of a
// process, and the application reaches its sidecar's outbound side in
// plaintext on loopback; so under mutual TLS a service's pod runs its
// sidecar as two `meshbench proxy` processes: "proxy", the inbound side
// (its ConfigMap proxy-<service>, the mode on 0.0.0.0:InboundPort), and
// "proxy-outbound", the outbound side (proxy-<service>-outbound, plaintext
// on 127.0.0.1:OutboundPort, mutual TLS towards the callees).
const (
	trustDomain  = "meshbench.local"
	caSecret     = "mesh-ca"
	caMount      = "/etc/meshbench-ca"
	caVolume     = "mesh-ca"
	outboundName = "proxy-outbound"
	// idlePort is where the inbound-only sidecar's outbound side, which
	// has no services, listens: on loopback, unused.
	idlePort = 15011
)

// meshCA is a run's mutual TLS: its CA and the policy's certificate
// lifetime and renewal.
type meshCA struct {
	ca    *mtls.CA
	mode  mtls.Mode
	ttl   time.Duration
	every time.Duration
}

// newMeshCA makes the run's CA when pol has mutual TLS; nil when it has
// none. The CA's key is new on every call: Render is pure but for it.
func newMeshCA(pol *scenarios.Policy, now time.Time) (*meshCA, error) {
	if !pol.MTLSOn() {
		return nil, nil
	}
	m := pol.Security.MTLS
	mode, err := mtls.ParseMode(m.Mode)
	if err != nil {
		return nil, fmt.Errorf("policy.security.mtls.mode: %w", err)
	}
	ca, err := mtls.NewCA(mtls.CAOptions{TrustDomain: trustDomain, CommonName: "meshbench run CA", Now: now})
	if err != nil {
		return nil, fmt.Errorf("mtls: %w", err)
	}
	every := m.RotateEvery
	if every <= 0 {
		every = m.CertTTL / 2
	}
	return &meshCA{ca: ca, mode: mode, ttl: m.CertTTL, every: every}, nil
}

// identity is the security section's identity for spiffe://meshbench.local/ns/<ns>/sa/<sa>,
// issued from the mounted CA, renewed every rotateEvery.
func (t *meshCA) identity(ns, sa string) *secure.IdentityConfig {
	return &secure.IdentityConfig{
		SPIFFEID: "spiffe://" + trustDomain + "/ns/" + ns + "/sa/" + sa,
		CADir:    caMount,
		TTL:      config.Duration(t.ttl),
		Rotation: secure.RotationConfig{RenewFraction: t.renewFraction()},
	}
}

// clients makes every cluster of cfg but skip speak mutual TLS as id:
// protocol https (HTTP/2 by ALPN for the gRPC services), and any server
// of the trust domain (the CA issues no other) accepted.
func clients(cfg *config.Config, sec *secure.SecurityConfig, skip string) {
	for i := range cfg.Clusters {
		if cfg.Clusters[i].Name == skip {
			continue
		}
		cfg.Clusters[i].Protocol = config.ProtocolHTTPS
		sec.Clusters = append(sec.Clusters, secure.ClusterTLSConfig{Cluster: cfg.Clusters[i].Name})
	}
}

// renewFraction is the rotation policy's fraction of a certificate's
// validity (NotBefore, backdated, to NotAfter) that puts its renewal
// rotateEvery after its issuance, as the local backend renews every
// certificate every rotateEvery.
func (t *meshCA) renewFraction() float64 {
	back := mtls.Backdate(t.ttl)
	return min(1, float64(back+t.every)/float64(back+t.ttl))
}

// secret is the Secret holding the run's CA.
func (t *meshCA) secret(r *renderer) (*corev1.Secret, error) {
	// The format mtls.LoadCA reads (PKCS #8 in a PRIVATE KEY block), as
	// mtls.InitCA writes it to a directory.
	der, err := x509.MarshalPKCS8PrivateKey(t.ca.Key)
	if err != nil {
		return nil, fmt.Errorf("mtls: ca key: %w", err)
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: r.meta(caSecret, GatewayName, "mesh-ca"),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{mtls.CACertFile: t.ca.CertPEM(), mtls.CAKeyFile: key},
	}, nil
}

// mount adds the CA's Secret to pod, mounted read-only in containers.
func mountCA(pod *corev1.PodSpec, containers ...string) {
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: caVolume, VolumeSource: corev1.VolumeSource{
		// Readable by the pod's group (fsGroup), the images' user.
		Secret: &corev1.SecretVolumeSource{SecretName: caSecret, DefaultMode: ptr.To[int32](0o440)},
	}})
	for i := range pod.Containers {
		if slices.Contains(containers, pod.Containers[i].Name) {
			pod.Containers[i].VolumeMounts = append(pod.Containers[i].VolumeMounts, corev1.VolumeMount{Name: caVolume, MountPath: caMount, ReadOnly: true})
		}
	}
}

// secureService puts a service's pods under mutual TLS when the run has
// it: cm (the sidecar's ConfigMap, of cfg) becomes the inbound side's,
// under the mode; a ConfigMap of the outbound side is added to m, and its
// container to d's pods, with the CA mounted in both.
func (r *renderer) secureService(m *Manifest, svc *scenarios.Service, cfg config.Config, cm *corev1.ConfigMap, pod *corev1.PodSpec) error {
	if r.mesh == nil {
		return nil
	}
	id := r.mesh.identity("mesh", svc.Name)

	in := cfg
	in.Listen = "127.0.0.1:" + strconv.Itoa(idlePort)
	in.Sidecar.Outbound = nil
	in.Clusters = slices.DeleteFunc(slices.Clone(cfg.Clusters), func(c config.ClusterConfig) bool { return c.Name != cfg.Sidecar.Inbound.Cluster })
	inSec := secure.SecurityConfig{Identity: id, Listener: &secure.ListenerTLSConfig{Mode: string(r.mesh.mode)}}
	text, err := secureConfigText(cm.Name, in, inSec)
	if err != nil {
		return fmt.Errorf("inbound sidecar: %w", err)
	}
	cm.Data[proxyFile] = string(text)

	out := cfg
	out.Sidecar.Inbound = config.InboundConfig{}
	out.Clusters = slices.Clone(cfg.Clusters)
	out.Clusters = slices.DeleteFunc(out.Clusters, func(c config.ClusterConfig) bool { return c.Name == cfg.Sidecar.Inbound.Cluster })
	outSec := secure.SecurityConfig{Identity: id}
	clients(&out, &outSec, "")
	name := cm.Name + "-outbound"
	if text, err = secureConfigText(name, out, outSec); err != nil {
		return fmt.Errorf("outbound sidecar: %w", err)
	}
	m.ConfigMaps = append(m.ConfigMaps, &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: r.meta(name, svc.Name, "proxy-config"),
		Data:       map[string]string{proxyFile: string(text)},
	})

	// The outbound side listens on loopback only, which the kubelet's
	// probes cannot reach: it has no readiness probe, so the pod may be
	// Ready a moment before it listens (in plaintext one process serves
	// both sides, and the inbound side's probe covers it).
	c := r.proxyContainer(outboundName, name, corev1.ContainerPort{})
	c.Ports = nil
	c.ReadinessProbe = nil
	c.VolumeMounts = []corev1.VolumeMount{{Name: "proxy-outbound-config", MountPath: proxyMount, ReadOnly: true}}
	pod.Containers = append(pod.Containers, c)
	v := configVolume(name)
	v.Name = "proxy-outbound-config"
	pod.Volumes = append(pod.Volumes, v)
	mountCA(pod, "proxy", outboundName)
	return nil
}

// secureGateway puts the gateway under mutual TLS when the run has it:
// its clusters speak it under the gateway's own identity, and the run's
// CA Secret joins m.
func (r *renderer) secureGateway(m *Manifest, cfg config.Config, cm *corev1.ConfigMap, pod *corev1.PodSpec) error {
	if r.mesh == nil {
		return nil
	}
	sec := secure.SecurityConfig{Identity: r.mesh.identity("edge", GatewayName)}
	clients(&cfg, &sec, "")
	text, err := secureConfigText(cm.Name, cfg, sec)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	cm.Data[proxyFile] = string(text)
	mountCA(pod, GatewayName)
	s, err := r.mesh.secret(r)
	if err != nil {
		return err
	}
	m.Secrets = append(m.Secrets, s)
	return nil
}

// secureConfigText is a proxy configuration with its security section as
// YAML, checked with the proxy's own loader.
func secureConfigText(name string, cfg config.Config, sec secure.SecurityConfig) ([]byte, error) {
	text, err := yaml.MarshalWithOptions(secure.FileConfig{Config: cfg, Security: sec}, yaml.Indent(2))
	if err != nil {
		return nil, fmt.Errorf("encode proxy configuration: %w", err)
	}
	if _, err := secure.ParseFile(name+"/"+proxyFile, text); err != nil {
		return nil, fmt.Errorf("proxy configuration: %w", err)
	}
	return text, nil
}
