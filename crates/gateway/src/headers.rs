//! Which headers cross the gateway: end-to-end ones do, hop-by-hop ones (RFC 9110 §7.6.1)
//! belong to one connection and stop here; the gateway adds `x-forwarded-*`.

use std::net::IpAddr;

use axum::http::header::{CONNECTION, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use platform::server::REQUEST_ID;

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Always hop-by-hop; `host` too, because the client sets it for the upstream's address.
const HOP_BY_HOP: [HeaderName; 7] = [
    CONNECTION,
    KEEP_ALIVE,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    HOST,
];

/// Removes the fixed hop-by-hop headers, every `proxy-*` header and any header the
/// `connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        // The request id must reach the upstream whatever a client lists.
        .filter(|name| *name != REQUEST_ID)
        .collect();
    let proxy: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP).chain(&proxy) {
        headers.remove(name);
    }
}

/// Appends the client's address to `x-forwarded-for` (a proxy in front of the gateway may have
/// started the list; the last entry is the one the gateway saw) and sets `x-forwarded-proto`
/// to how the client reached the gateway.
pub(crate) fn add_forwarded(headers: &mut HeaderMap, client: Option<IpAddr>, tls: bool) {
    if let Some(ip) = client {
        let mut chain: Vec<String> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect();
        chain.push(ip.to_string());
        if let Ok(value) = HeaderValue::try_from(chain.join(", ")) {
            headers.insert(X_FORWARDED_FOR, value);
        }
    }
    let proto = if tls { "https" } else { "http" };
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn names(map: &HeaderMap) -> Vec<&str> {
        let mut names: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn strips_hop_by_hop_headers_and_keeps_end_to_end_ones() {
        let mut map = headers(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic abc"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("host", "gateway:8080"),
            ("x-secret-hop", "1"),
            ("authorization", "Bearer t"),
            ("content-type", "application/json"),
            ("x-request-id", "abc"),
        ]);
        strip_hop_by_hop(&mut map);
        assert_eq!(
            names(&map),
            ["authorization", "content-type", "x-request-id"]
        );
    }

    #[test]
    fn keeps_the_request_id_even_when_the_connection_header_names_it() {
        let mut map = headers(&[("connection", "x-request-id"), ("x-request-id", "abc")]);
        strip_hop_by_hop(&mut map);
        assert_eq!(
            map.get(REQUEST_ID).map(HeaderValue::as_bytes),
            Some(&b"abc"[..])
        );
    }

    #[test]
    fn appends_the_client_to_x_forwarded_for_and_sets_the_proto() {
        let mut map = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-for", "10.0.0.1"),
        ]);
        add_forwarded(&mut map, Some(IpAddr::from([192, 0, 2, 4])), false);
        assert_eq!(
            map.get(X_FORWARDED_FOR).map(HeaderValue::as_bytes),
            Some(&b"203.0.113.9, 10.0.0.1, 192.0.2.4"[..])
        );
        assert_eq!(map.get_all(X_FORWARDED_FOR).iter().count(), 1);
        assert_eq!(
            map.get(X_FORWARDED_PROTO).map(HeaderValue::as_bytes),
            Some(&b"http"[..])
        );
    }

    #[test]
    fn starts_x_forwarded_for_when_there_is_none() {
        let mut map = HeaderMap::new();
        add_forwarded(&mut map, Some(IpAddr::from([127, 0, 0, 1])), true);
        assert_eq!(
            map.get(X_FORWARDED_FOR).map(HeaderValue::as_bytes),
            Some(&b"127.0.0.1"[..])
        );
        assert_eq!(
            map.get(X_FORWARDED_PROTO).map(HeaderValue::as_bytes),
            Some(&b"https"[..])
        );
    }
}
