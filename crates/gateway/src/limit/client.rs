//! Whose address a request counts against: the TCP peer's, unless the peer is a proxy the
//! operator trusts (`CAREBOOK_TRUSTED_PROXIES`; the web app is one, calling the API for its
//! users), in which case `X-Forwarded-For` names the client. The list is read from the right,
//! past every trusted hop, so a client cannot choose its own address by writing the header.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` the gateway believes; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses and networks separated by commas: `127.0.0.1, 10.42.0.0/16`.
    pub fn parse(list: &str) -> anyhow::Result<Self> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "CAREBOOK_TRUSTED_PROXIES: {item:?} is neither an address nor a network"
                        )
                    })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self(nets))
    }

    /// Loopback, for a web app in the same process or on the same machine.
    pub fn loopback() -> Self {
        Self(vec![
            IpNet::from(IpAddr::from([127, 0, 0, 1])),
            IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
        ])
    }

    /// Adds `other`'s proxies to these.
    pub fn extend(&mut self, other: TrustedProxies) {
        for net in other.0 {
            if !self.0.contains(&net) {
                self.0.push(net);
            }
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted; then the right-most
    /// address of `X-Forwarded-For` that is not a trusted proxy (or the left-most one, when
    /// every hop is trusted). An unreadable entry ends the walk at the last hop read.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        if !self.trusts(client) {
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn forwarded(chain: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(chain));
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_writes() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let headers = forwarded("198.51.100.7");
        assert_eq!(
            trusted.client(ip("203.0.113.5"), &headers),
            ip("203.0.113.5")
        );
        let nobody = TrustedProxies::default();
        assert_eq!(nobody.client(ip("10.0.0.5"), &headers), ip("10.0.0.5"));
    }

    #[test]
    fn a_trusted_peer_names_the_client_after_its_own_hops() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // A browser wrote its own header; the gateway appended the browser's real address
        // before the page reached the web app, which called the API with the chain.
        let headers = forwarded("1.2.3.4, 198.51.100.7, 10.0.0.9");
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &headers),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn without_a_header_or_with_nonsense_the_last_readable_hop_counts() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        let headers = forwarded("198.51.100.7, not-an-address, 127.0.0.1");
        assert_eq!(trusted.client(ip("127.0.0.1"), &headers), ip("127.0.0.1"));
    }

    #[test]
    fn a_malformed_list_is_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/40").is_err());
        assert!(TrustedProxies::parse("web-app").is_err());
        assert_eq!(
            TrustedProxies::parse(" , ").unwrap(),
            TrustedProxies::default()
        );
    }
}
