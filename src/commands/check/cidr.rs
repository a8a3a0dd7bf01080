//! IP networks as authentik's `AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS` lists them (pure).

use std::net::IpAddr;

/// authentik's default trusted proxy networks, used when the variable is unset: the
/// configuration reference (`AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS`) lists these, unchanged from
/// 2025.10 to 2026.8.1.
pub(crate) const AUTHENTIK_DEFAULT_TRUSTED: &[&str] = &[
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fe80::/10",
    "::1/128",
];

/// One network, `address/prefix` (a bare address is its own /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (raw.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The list as authentik reads it from the environment: comma-separated. `Err` names the first
/// entry that is not a network (e.g. the JSON-style `["10.0.0.0/8"]` authentik does not take).
pub(crate) fn parse_list(raw: &str) -> Result<Vec<Cidr>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| Cidr::parse(e).ok_or_else(|| e.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let n = Cidr::parse("172.16.0.0/12").unwrap();
        assert!(n.contains(ip("172.31.255.1")));
        assert!(!n.contains(ip("172.32.0.1")));
        assert!(!n.contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("10.1.2.3").unwrap().contains(ip("10.1.2.3")));
        assert!(!Cidr::parse("10.1.2.3").unwrap().contains(ip("10.1.2.4")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
    }

    #[test]
    fn the_list_is_comma_separated_and_a_json_list_is_refused() {
        assert_eq!(parse_list("10.0.0.0/8, 192.168.0.0/16,").unwrap().len(), 2);
        assert_eq!(
            parse_list(r#"["127.0.0.0/8","::1/128"]"#).unwrap_err(),
            r#"["127.0.0.0/8""#
        );
        assert_eq!(
            parse_list(&AUTHENTIK_DEFAULT_TRUSTED.join(","))
                .unwrap()
                .len(),
            6
        );
    }
}
