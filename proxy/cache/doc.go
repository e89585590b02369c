// Package cache is the gateway's shared HTTP response cache: an http
// middleware that stores GET responses in memory and answers GET and HEAD
// requests from them while they are fresh, following RFC 9111 (HTTP
// Caching) for a shared cache, without revalidation:
//
//   - Freshness lifetime is s-maxage, else max-age, else Expires minus Date
//     (§4.2.1); a response without any of them is stored for DefaultTTL only
//     when its status is heuristically cacheable (RFC 9110 §15.1) and
//     DefaultTTL is set (the heuristic of §4.2.2 reduced to a constant).
//     Age is computed as §4.2.3 describes and sent on every hit (§5.1).
//   - Not stored: responses with no-store, private or no-cache (a no-cache
//     response would have to be revalidated on every use, which this cache
//     does not do), with Set-Cookie, with Vary: * or a Vary naming a header
//     outside Config.Vary, to requests with no-store, to requests with
//     Authorization unless the response is public, s-maxage or
//     must-revalidate (§3.5), partial and Range responses, and responses
//     larger than MaxEntryBytes or cut short.
//   - Request directives: no-store and no-cache (and Pragma: no-cache, §5.4)
//     skip the lookup; max-age and min-fresh narrow what is fresh enough;
//     only-if-cached answers 504 on a miss (§5.2.1.7).
//   - A successful POST, PUT, PATCH or DELETE invalidates the stored
//     responses of its URI (§4.4).
//   - Vary (§4.1) is handled by keying every entry on the values of all the
//     request headers named in Config.Vary, as an nginx proxy_cache_key
//     that includes them: never wrong, at worst a few more misses.
//
// Memory is bounded by MaxBytes, counting bodies, headers and keys, and
// optionally the number of entries by MaxEntries; the
// least recently used entries are evicted first. Expired entries are
// dropped when looked up or evicted. The clock is injectable, so freshness
// is tested on virtual time. Concurrent misses for one key are all
// forwarded (no request collapsing).
package cache
