//! IP addresses and `cidr` ranges, with AWS's validation messages.
//!
//! AWS only treats a string as an address when it looks like dotted-quad IPv4 or like IPv6
//! (hex digits and colons); anything else is an ordinary string. A CIDR range runs from the
//! address as written (host bits are not cleared) up to the address with every host bit set.

use std::net::Ipv6Addr;

/// An address as bytes: 4 for IPv4, 16 for IPv6.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Ip(Vec<u8>);

fn looks_like_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn looks_like_ipv6(s: &str) -> bool {
    s.contains(':') && s.bytes().all(|b| b == b':' || b.is_ascii_hexdigit())
}

/// Outcome of reading an address the way AWS does.
enum Parsed {
    Ip(Ip),
    /// Shaped like an address but not one (e.g. `10.0.0.256`).
    Invalid,
    /// Not shaped like an address at all.
    NotAnAddress,
}

fn parse(s: &str) -> Parsed {
    if looks_like_ipv4(s) {
        // Leading zeros are decimal for AWS's reader, so parse octets ourselves.
        let octets: Option<Vec<u8>> = s.split('.').map(|p| p.parse::<u8>().ok()).collect();
        return match octets {
            Some(o) => Parsed::Ip(Ip(o)),
            None => Parsed::Invalid,
        };
    }
    if looks_like_ipv6(s) {
        return match s.parse::<Ipv6Addr>() {
            Ok(a) => Parsed::Ip(Ip(a.octets().to_vec())),
            Err(_) => Parsed::Invalid,
        };
    }
    Parsed::NotAnAddress
}

/// The address in an event value, if the value is one.
pub(crate) fn ip_of(s: &str) -> Option<Ip> {
    match parse(s) {
        Parsed::Ip(ip) => Some(ip),
        _ => None,
    }
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IpRange {
    low: Ip,
    high: Ip,
}

impl IpRange {
    pub(crate) fn single(ip: Ip) -> Self {
        IpRange {
            low: ip.clone(),
            high: ip,
        }
    }

    pub(crate) fn contains(&self, ip: &Ip) -> bool {
        ip.0.len() == self.low.0.len() && *ip >= self.low && *ip <= self.high
    }

    /// Parses `address/bits`; errors carry AWS's wording.
    pub(crate) fn parse_cidr(text: &str) -> Result<Self, String> {
        let mut parts: Vec<&str> = text.split('/').collect();
        // Java's String.split, which AWS uses, drops trailing empty pieces.
        while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        let [addr, bits] = parts[..] else {
            return Err("Malformed CIDR, one '/' required".into());
        };
        let bits: i32 = bits
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_string())?;
        if bits < 0 {
            return Err("Malformed CIDR, mask bits must not be negative".into());
        }
        let low = match parse(addr) {
            Parsed::Ip(ip) => ip,
            Parsed::Invalid => return Err(format!("Invalid IP address: {addr}")),
            Parsed::NotAnAddress => return Err(format!("Nonstandard IP address: {addr}")),
        };
        if low.0.len() == 4 && bits > 31 {
            return Err("IPv4 mask bits must be < 32".into());
        }
        if low.0.len() == 16 && bits > 127 {
            return Err("IPv6 mask bits must be < 128".into());
        }
        let total = low.0.len() * 8;
        let host_bits = total - bits as usize;
        let mut high = low.0.clone();
        for (i, byte) in high.iter_mut().enumerate() {
            let byte_end = (i + 1) * 8;
            let first_host_bit = total - host_bits;
            if first_host_bit >= byte_end {
                continue;
            }
            let host_in_byte = (byte_end - first_host_bit).min(8);
            *byte |= ((1u16 << host_in_byte) - 1) as u8;
        }
        Ok(IpRange {
            low,
            high: Ip(high),
        })
    }
}

/// Exact-match pattern strings that are addresses match every spelling of that address.
pub(crate) fn exact_ip(s: &str) -> Option<IpRange> {
    ip_of(s).map(IpRange::single)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ip {
        ip_of(s).unwrap()
    }

    #[test]
    fn ipv4_ranges() {
        let r = IpRange::parse_cidr("10.0.0.0/24").unwrap();
        assert!(r.contains(&ip("10.0.0.255")));
        assert!(r.contains(&ip("10.0.0.0")));
        assert!(!r.contains(&ip("10.0.1.0")));
        assert!(ip_of("10.0.0.256").is_none());
        let r = IpRange::parse_cidr("198.51.100.0/22").unwrap();
        assert!(r.contains(&ip("198.51.103.7")));
        assert!(!r.contains(&ip("198.51.104.0")));
    }

    #[test]
    fn ipv6_ranges() {
        let r = IpRange::parse_cidr("2001:db8:1234:1a00::/64").unwrap();
        assert!(r.contains(&ip("2001:0db8:1234:1a00:0000:0000:0000:0000")));
        assert!(r.contains(&ip("2001:db8:1234:1a00:ffff::1")));
        assert!(!r.contains(&ip("2001:0db8:123f:1a01:0000:0000:0000:0000")));
        assert!(!r.contains(&ip("10.0.0.1")));
    }

    #[test]
    fn aws_messages() {
        let e = |s: &str| IpRange::parse_cidr(s).unwrap_err();
        assert_eq!(e("bad-filter"), "Malformed CIDR, one '/' required");
        assert_eq!(
            e("bad-/64filter"),
            "Malformed CIDR, mask bits must be an integer"
        );
        assert_eq!(e("xx.11.xx/8"), "Nonstandard IP address: xx.11.xx");
        assert_eq!(e("10.0.0.0/32"), "IPv4 mask bits must be < 32");
        assert_eq!(
            e("10.0.0.0/-1"),
            "Malformed CIDR, mask bits must not be negative"
        );
        assert_eq!(e("10.0.0.300/8"), "Invalid IP address: 10.0.0.300");
    }
}
