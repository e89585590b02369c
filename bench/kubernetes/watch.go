package kubernetes

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// lister lists objects and says at which resource version.
type lister func(ctx context.Context, opts metav1.ListOptions) (items []runtime.Object, resourceVersion string, err error)

// watcher watches from a resource version.
type watcher func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)

// until lists, hands every object to cond as an Added event, then watches
// from the list's resource version and hands cond every event, until cond
// says done, returns an error, or ctx ends (ctx.Err()). A watch the server
// closes is resumed from the last version seen; one whose version expired
// (410 Gone) starts again with a list.
//
// Written here rather than with client-go's watchtools.UntilWithSync,
// whose reflector streams its initial list as watch events ending in a
// bookmark (WatchListClient), which the fake clientset of the unit tests
// never sends; a list and a watch work the same on both.
func until(ctx context.Context, list lister, watchFrom watcher, cond func(watch.Event) (bool, error)) error {
	for {
		items, rv, err := list(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("list: %w", err)
		}
		for _, o := range items {
			if done, err := cond(watch.Event{Type: watch.Added, Object: o}); done || err != nil {
				return err
			}
		}
		relist, err := watchUntil(ctx, watchFrom, rv, cond)
		if !relist {
			return err
		}
	}
}

// watchUntil watches from rv; relist when the version expired.
func watchUntil(ctx context.Context, watchFrom watcher, rv string, cond func(watch.Event) (bool, error)) (relist bool, err error) {
	for {
		w, err := watchFrom(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
				return true, nil
			}
			return false, fmt.Errorf("watch: %w", err)
		}
		relist, done, err := drain(ctx, w, &rv, cond)
		w.Stop()
		if relist || done || err != nil {
			return relist, err
		}
	}
}

// drain hands w's events to cond until w closes (done false: watch
// again), cond is done, or ctx ends.
func drain(ctx context.Context, w watch.Interface, rv *string, cond func(watch.Event) (bool, error)) (relist, done bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return false, true, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, false, nil
			}
			switch ev.Type {
			case watch.Error:
				if s := apierrors.FromObject(ev.Object); apierrors.IsGone(s) || apierrors.IsResourceExpired(s) {
					return true, false, nil
				}
				return false, true, fmt.Errorf("watch: %w", apierrors.FromObject(ev.Object))
			case watch.Bookmark:
				if m, err := meta.Accessor(ev.Object); err == nil {
					*rv = m.GetResourceVersion()
				}
				continue
			}
			if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
				*rv = m.GetResourceVersion()
			}
			if done, err := cond(ev); done || err != nil {
				return false, true, err
			}
		}
	}
}
