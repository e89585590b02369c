package containers

import (
	"context"
	"errors"
	"strings"
	"testing"

	dnetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// staleDaemon is a daemon with one network of a run and no container,
// which refuses to remove the network for an endpoint it still holds; the
// network's inspection lists attached containers when attached is set.
type staleDaemon struct {
	client.APIClient // nil: the methods below are all removeRun calls
	attached         bool
}

func (staleDaemon) ContainerList(context.Context, client.ContainerListOptions) (client.ContainerListResult, error) {
	return client.ContainerListResult{}, nil
}

func (staleDaemon) NetworkList(context.Context, client.NetworkListOptions) (client.NetworkListResult, error) {
	return client.NetworkListResult{Items: []dnetwork.Summary{{Network: dnetwork.Network{Name: "net-1", ID: "abc"}}}}, nil
}

func (staleDaemon) NetworkRemove(context.Context, string, client.NetworkRemoveOptions) (client.NetworkRemoveResult, error) {
	return client.NetworkRemoveResult{}, errors.New("error while removing network: network net-1 id abc has active endpoints")
}

func (d staleDaemon) NetworkInspect(context.Context, string, client.NetworkInspectOptions) (client.NetworkInspectResult, error) {
	var r client.NetworkInspectResult
	if d.attached {
		r.Network.Containers = map[string]dnetwork.EndpointResource{"c1": {Name: "meshbench-x-risk-0"}}
	}
	return r, nil
}

// TestStaleEndpointSaysSo: a network the daemon keeps for an endpoint no
// container holds is reported with the way out; one with a container
// attached is reported as the daemon said.
func TestStaleEndpointSaysSo(t *testing.T) {
	_, err := removeRun(context.Background(), staleDaemon{}, "x")
	if err == nil || !strings.Contains(err.Error(), "has active endpoints; no container is attached to it") || !strings.Contains(err.Error(), "restarting dockerd") {
		t.Errorf("stale endpoint: %v", err)
	}
	_, err = removeRun(context.Background(), staleDaemon{attached: true}, "x")
	if err == nil || strings.Contains(err.Error(), "no container is attached") {
		t.Errorf("attached container: %v", err)
	}
}
