package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/spf13/cobra"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func init() { register(newCACmd) }

const defaultCADir = "meshbench-ca"

func newCACmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Run the built-in certificate authority for SPIFFE mTLS and hash API keys",
		Long: `ca manages the built-in certificate authority of meshbench's mTLS: 'ca init'
creates it, 'ca issue' signs short-lived X509-SVIDs (a certificate whose URI
SAN is a SPIFFE ID) for the proxy and the fleet. 'ca hash-key' prints the
stored form of an API key for the gateway's apiKey authentication.`,
		Args: exactArgs(0),
	}
	cmd.AddCommand(newCAInitCmd(), newCAIssueCmd(), newCAHashKeyCmd())
	return cmd
}

func newCAInitCmd() *cobra.Command {
	var (
		dir, trustDomain string
		ttl              time.Duration
		force            bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a CA: DIR/ca.crt and DIR/ca.key",
		Long: `init creates a self-signed ECDSA P-256 root and writes ca.crt and ca.key
(mode 0600) into --dir. It refuses to replace an existing CA unless --force
is given: replacing a CA invalidates every certificate it issued. With
--trust-domain the CA only issues SPIFFE IDs of that trust domain.`,
		Example: "  meshbench ca init --trust-domain payments.example",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := mtls.InitCA(dir, mtls.CAOptions{TrustDomain: trustDomain, TTL: ttl, Now: time.Now()}, force)
			if err != nil { // an existing CA (mtls.ErrExists) or a bad option
				return usageErr(err)
			}
			td := "any trust domain"
			if !ca.TrustDomain.IsZero() {
				td = "trust domain " + ca.TrustDomain.Name()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (%s, expires %s)\n",
				filepath.Join(dir, mtls.CACertFile), filepath.Join(dir, mtls.CAKeyFile), td, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "dir", defaultCADir, "directory of the CA (`DIR`)")
	fl.BoolVar(&force, "force", false, "replace an existing CA")
	fl.StringVar(&trustDomain, "trust-domain", "", "restrict issuance to this SPIFFE trust domain (`NAME`, e.g. payments.example)")
	fl.DurationVar(&ttl, "ttl", mtls.DefaultCATTL, "lifetime of the root certificate")
	return cmd
}

func newCAIssueCmd() *cobra.Command {
	var (
		dir, out, name, id string
		dns                []string
		ttl                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "issue --spiffe ID",
		Short: "Issue an X509-SVID: a certificate and key for a SPIFFE ID",
		Long: `issue signs a certificate whose only URI SAN is the SPIFFE ID given with
--spiffe, with a fresh ECDSA P-256 key, valid for --ttl (cut to the CA's
expiry), and writes NAME.crt and NAME.key (mode 0600) into --out. NAME
defaults to the last segment of the ID's path. Each file is replaced
atomically, so a proxy that reloads them (mtls.FileIssuer) never reads half
a file: run issue again before the certificate's half-life to rotate it.`,
		Example: `  meshbench ca issue --spiffe spiffe://payments.example/ns/prod/sa/payments --ttl 1h
  meshbench ca issue --spiffe spiffe://payments.example/ns/prod/sa/gateway --dns gateway.local --out certs`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return usageErr(errors.New("ca issue: --spiffe is required"))
			}
			sid, err := spiffeid.FromString(id)
			if err != nil {
				return usageErr(fmt.Errorf("ca issue: --spiffe %q: %w", id, err))
			}
			ca, err := mtls.LoadCA(dir)
			if err != nil {
				return usageErr(fmt.Errorf("ca issue: %w (create one with 'meshbench ca init')", err))
			}
			svid, err := ca.Issue(mtls.IssueRequest{ID: sid, DNSNames: dns, TTL: ttl, Now: time.Now()})
			if err != nil {
				return usageErr(fmt.Errorf("ca issue: %w", err))
			}
			if out == "" {
				out = dir
			}
			if name == "" {
				name = svidName(sid)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("ca issue: %w", err)
			}
			certFile, keyFile := filepath.Join(out, name+".crt"), filepath.Join(out, name+".key")
			if err := mtls.WriteSVID(svid, certFile, keyFile); err != nil {
				return fmt.Errorf("ca issue: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s for %s (expires %s)\n",
				certFile, keyFile, sid, svid.NotAfter().UTC().Format(time.RFC3339))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&id, "spiffe", "", "SPIFFE ID of the workload (`ID`, required)")
	fl.DurationVar(&ttl, "ttl", mtls.DefaultLeafTTL, "lifetime of the certificate")
	fl.StringSliceVar(&dns, "dns", nil, "DNS names to add as SANs (`NAME`, repeatable)")
	fl.StringVar(&dir, "dir", defaultCADir, "directory of the CA (`DIR`)")
	fl.StringVar(&out, "out", "", "directory to write the certificate and key into (`DIR`; default --dir)")
	fl.StringVar(&name, "name", "", "base name of the files (`NAME`; default the ID's last path segment)")
	return cmd
}

// svidName is the ID's last path segment, or its trust domain when it has
// no path. SPIFFE path segments cannot be "." or ".." and contain only
// letters, digits, ".", "-" and "_", so the name is a safe file name.
func svidName(id spiffeid.ID) string {
	if p := id.Path(); p != "" {
		return path.Base(p)
	}
	return id.TrustDomain().Name()
}

func newCAHashKeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-key",
		Short: "Print the stored form (sha256:...) of an API key read from stdin",
		Long: `hash-key reads one API key from the first line of standard input (so it
stays out of shell history and process lists) and prints the hash to put in
an apiKey route's keys: "sha256:" and 64 hex digits.`,
		Example: "  printf %s \"$KEY\" | meshbench ca hash-key",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			key := strings.TrimRight(line, "\r\n")
			if key == "" {
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("ca hash-key: %w", err)
				}
				return usageErr(errors.New("ca hash-key: no key on standard input"))
			}
			fmt.Fprintln(cmd.OutOrStdout(), auth.HashAPIKey(key))
			return nil
		},
	}
}
