//! Where a webhook may point. A subscription's URL is input an attacker may choose: a target on
//! loopback, link-local or a private range would make this service call internal systems for
//! them (OWASP API7, server-side request forgery). Targets are checked when subscribing and
//! again at every connection, since a name may resolve differently later, unless the deployment
//! allows private targets (`CAREBOOK_WEBHOOKS_ALLOW_PRIVATE`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// An `http(s)` URL with a host and without credentials.
pub fn parse_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|_| "must be an absolute http(s) URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must use http or https".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not carry credentials; the signature authenticates deliveries".to_owned(),
        );
    }
    Ok(url)
}

/// Resolves the URL's host and refuses it when any address is not public (unless allowed).
pub async fn check(url: &Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| "host does not resolve".to_owned())?
        .collect();
    if addresses.is_empty() {
        return Err("host does not resolve".to_owned());
    }
    if addresses.iter().any(|a| !is_public(a.ip())) {
        return Err("points at a loopback, link-local or private address".to_owned());
    }
    Ok(())
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
                    // documentation 2001:db8::/32
                    || (v6.segments()[0] == 0x2001 && v6.segments()[1] == 0x0db8))
            }
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

/// The resolver deliveries connect through: it drops every non-public address of a name, so a
/// name that resolved to a public address when subscribing cannot later lead inside.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err("webhook target refused: no public address".into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn only_plain_http_urls_are_accepted() {
        assert!(parse_url("https://hooks.example.org/carebook").is_ok());
        assert!(parse_url("ftp://hooks.example.org/").is_err());
        assert!(parse_url("https://user:pw@hooks.example.org/").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[tokio::test]
    async fn loopback_targets_are_refused_unless_allowed() {
        let url = parse_url("http://127.0.0.1:9/hook").unwrap();
        assert!(check(&url, false).await.is_err());
        assert!(check(&url, true).await.is_ok());
        let named = parse_url("http://localhost:9/hook").unwrap();
        assert!(check(&named, false).await.is_err());
    }
}
