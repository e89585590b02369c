package mtls

import (
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// CAIssuer issues SVIDs for one ID from an in-process CA: the proxy of a
// local run renews its own certificate without files.
type CAIssuer struct {
	CA       *CA
	ID       spiffeid.ID
	DNSNames []string
	TTL      time.Duration // default one hour
}

// Issue implements Issuer.
func (i *CAIssuer) Issue(now time.Time) (*SVID, error) {
	return i.CA.Issue(IssueRequest{ID: i.ID, DNSNames: i.DNSNames, TTL: i.TTL, Now: now})
}

// FileIssuer reloads an SVID from files that something else renews
// (`meshbench ca issue` in a loop, a SPIFFE helper): the proxy picks up the
// new files without restarting.
type FileIssuer struct {
	CertFile, KeyFile string
}

// Issue implements Issuer.
func (i *FileIssuer) Issue(time.Time) (*SVID, error) { return LoadSVID(i.CertFile, i.KeyFile) }
