// Package access holds the gateway's access-control lists: consumer groups
// with an allow and a deny list of groups (ACL, as Kong's acl plugin), and
// allow and deny lists of client address ranges (IPRestriction, as Kong's
// ip-restriction plugin). Both answer from what they are told (a verified
// consumer, a client address) and hold no state but their configuration:
// pure policies, like the rest of the proxy's policy packages.
package access
