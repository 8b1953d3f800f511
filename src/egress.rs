//! Which addresses a customer-influenced URL may make the manager connect to (today: the
//! health check after an apply). One rule, [`refusal`], decided on the *address* the
//! connection would use, never on the text of a host:
//!
//! | refused | why |
//! | --- | --- |
//! | `169.254.0.0/16`, `fe80::/10` | link-local: AWS, GCP, Azure and OpenStack metadata (`169.254.169.254`), ECS task credentials (`169.254.170.2`) |
//! | `fd00:ec2::254` | the AWS metadata service over IPv6 |
//! | `100.100.100.200` | the Alibaba Cloud metadata service |
//! | `168.63.129.16` | the Azure wireserver (platform and extension configuration) |
//! | `0.0.0.0/8`, `::` | "this host": Linux connects them to the runner itself |
//! | `224.0.0.0/3`, `ff00::/8` | multicast, reserved and broadcast: never a service's answer |
//!
//! An IPv6 address that carries an IPv4 one — mapped `::ffff:a.b.c.d`, compatible
//! `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` — is judged by the IPv4 address it reaches.
//! Loopback and private ranges are allowed: a service under test or in the runner's own
//! network answers there, and the runner keeps no credentials behind them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why the manager never connects to `ip` for a customer, or `None` when it may.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => refusal_v4(v4),
            None => refusal_v6(v6),
        },
    }
}

/// The address a connection to `ip` reaches: the IPv4 address an IPv6 one carries, or `ip`.
pub fn reached(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, ..] = ip.octets();
    if ip.is_link_local() {
        Some("link-local, where cloud metadata services answer")
    } else if ip == Ipv4Addr::new(100, 100, 100, 200) || ip == Ipv4Addr::new(168, 63, 129, 16) {
        Some("a cloud metadata service")
    } else if a == 0 {
        Some("\"this host\" (`0.0.0.0/8`)")
    } else if a >= 224 {
        Some("multicast, broadcast or reserved")
    } else {
        None
    }
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if first & 0xffc0 == 0xfe80 {
        Some("link-local, where cloud metadata services answer")
    } else if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Some("a cloud metadata service")
    } else if ip.is_unspecified() {
        Some("\"this host\" (`::`)")
    } else if ip.is_multicast() {
        Some("multicast, broadcast or reserved")
    } else {
        None
    }
}

/// The IPv4 address an IPv6 one reaches: mapped (`::ffff:0:0/96`), compatible (`::/96`,
/// except `::` and `::1`) or NAT64 (`64:ff9b::/96`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let [.., a, b, c, d] = ip.octets();
    let tail = Ipv4Addr::new(a, b, c, d);
    let compatible = s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (compatible || nat64).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_link_local_and_this_host_are_refused_in_every_spelling() {
        let refused = [
            "169.254.169.254",
            "169.254.170.2",
            "169.254.0.1",
            "100.100.100.200",
            "168.63.129.16",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "::",
            "ff02::1",
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe",
            "::169.254.169.254",
            "64:ff9b::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::ffff:0.0.0.0",
            "::ffff:100.100.100.200",
        ];
        for text in refused {
            let ip: IpAddr = text.parse().expect(text);
            assert!(refusal(ip).is_some(), "{text} is refused");
        }
    }

    #[test]
    fn loopback_private_and_public_addresses_are_allowed() {
        let allowed = [
            "127.0.0.1",
            "10.0.0.5",
            "192.168.1.1",
            "172.16.0.1",
            "100.64.0.1",
            "8.8.8.8",
            "169.253.255.255",
            "169.255.0.0",
            "::1",
            "::ffff:127.0.0.1",
            "64:ff9b::8.8.8.8",
            "2001:db8::1",
            "fd00:ec2::253",
            "fec0::1",
        ];
        for text in allowed {
            let ip: IpAddr = text.parse().expect(text);
            assert_eq!(refusal(ip), None, "{text} is allowed");
        }
    }
}
