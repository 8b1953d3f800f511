//! Which addresses a URL the manager did not choose may make it connect to: the health
//! check after an apply (a module's output) and the notification webhooks (an operator's
//! secret). One rule, [`refusal`], decided on the *address* the connection would use, never
//! on the text of a host:
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
//!
//! [`Url`] is such a URL, checked as text; [`addresses`] resolves its host and checks every
//! address it resolves to, at each use, for [`crate::http`]'s pinned requests.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The longest URL accepted.
const MAX_URL_CHARS: usize = 2048;
/// How much of a URL a message shows.
const SHOWN_URL_CHARS: usize = 200;

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

/// A URL that may be requested: `http`/`https`, no credentials, its host read as a browser
/// reads it (numeric, hex, octal and shortened IPv4 forms are the address they spell), and
/// an IP address host already allowed by [`refusal`]. A host *name* is resolved and checked
/// at each request ([`addresses`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    uri: http::Uri,
    host: Host,
    port: u16,
}

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Url {
    /// Checks the text of a URL; the error says why it can't be used.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.chars().count() > MAX_URL_CHARS {
            return Err(format!("it is longer than {MAX_URL_CHARS} characters"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("it contains spaces or control characters".to_owned());
        }
        if !(text.starts_with("http://") || text.starts_with("https://")) {
            return Err("only `http://` and `https://` URLs are allowed".to_owned());
        }
        if text.contains('#') {
            return Err("it has a fragment (`#`)".to_owned());
        }
        let url = url::Url::parse(text).map_err(|e| format!("it is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("only `http://` and `https://` URLs are allowed".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("it carries credentials (`user@`), which are never sent".to_owned());
        }
        let host = match url.host() {
            None => return Err("it has no host".to_owned()),
            Some(url::Host::Domain("")) => return Err("it has no host".to_owned()),
            Some(url::Host::Domain(name)) => Host::Name(name.to_owned()),
            Some(url::Host::Ipv4(ip)) => Host::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Host::Ip(IpAddr::V6(ip)),
        };
        if let Host::Ip(ip) = host
            && let Some(why) = refusal(ip)
        {
            return Err(format!("its host is the address {}: {why}", shown_ip(ip)));
        }
        let port = url.port_or_known_default().ok_or_else(|| "it has no port".to_owned())?;
        // The normalised text (`http://169.254.169.254/` for `http://2852039166/`) is what is
        // requested, so the request goes where the check looked.
        let uri = url.as_str().parse().map_err(|e: http::uri::InvalidUri| format!("it is not a URL: {e}"))?;
        Ok(Self { uri, host, port })
    }

    /// What is requested: the normalised text.
    pub fn uri(&self) -> &http::Uri {
        &self.uri
    }

    /// The host the URL names.
    pub const fn host(&self) -> &Host {
        &self.host
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown(&self.uri.to_string()))
    }
}

/// The addresses a request may connect to: every address `host` resolved to, each allowed by
/// [`refusal`]; one refused address refuses the host (a connection may use any of them).
pub fn checked_addresses(host: &str, resolved: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, AddressError> {
    if let Some((addr, why)) = resolved.iter().find_map(|a| refusal(a.ip()).map(|why| (a, why))) {
        return Err(AddressError::Refused(format!("its host `{host}` resolves to {}: {why}", shown_ip(addr.ip()))));
    }
    if resolved.is_empty() {
        return Err(AddressError::Unreachable(format!("`{host}` resolves to no address")));
    }
    Ok(resolved)
}

/// `` `169.254.169.254` ``, or `` `::ffff:a9fe:a9fe` (`169.254.169.254`) `` when an IPv6 address
/// carries the IPv4 address it reaches.
fn shown_ip(ip: IpAddr) -> String {
    match reached(ip) {
        reached if reached == ip => format!("`{ip}`"),
        reached => format!("`{ip}` (`{reached}`)"),
    }
}

/// `text` (a URL) cut for a message.
pub fn shown(text: &str) -> String {
    crate::report::truncate_chars(text, SHOWN_URL_CHARS)
}

/// Why a URL's host gave no address to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// No address (yet): the name does not resolve, or not in time. Worth trying again.
    Unreachable(String),
    /// The host resolves to an address the manager never connects to: nothing was
    /// connected to, and trying again would not help.
    Refused(String),
}

/// The addresses a request to `url` may connect to now: its IP address, or every address
/// its host name resolves to (within `timeout`), each checked by [`refusal`].
pub async fn addresses(url: &Url, timeout: Duration) -> Result<Vec<SocketAddr>, AddressError> {
    let name = match url.host() {
        Host::Ip(ip) => {
            let addr = SocketAddr::new(*ip, url.port);
            return checked_addresses(&ip.to_string(), vec![addr]);
        }
        Host::Name(name) => name,
    };
    let resolved = match tokio::time::timeout(timeout, tokio::net::lookup_host((name.as_str(), url.port))).await {
        Err(_) => {
            let waited = crate::duration::human(timeout);
            return Err(AddressError::Unreachable(format!("`{name}` did not resolve within {waited}")));
        }
        Ok(Err(e)) => return Err(AddressError::Unreachable(format!("`{name}` does not resolve: {e}"))),
        Ok(Ok(addrs)) => addrs.collect(),
    };
    checked_addresses(name, resolved)
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
pub(crate) mod tests {
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

    #[test]
    fn only_plain_http_urls_on_real_hosts_are_allowed() {
        for good in ["https://app.example.com/health", "http://127.0.0.1:8080/ready?deep=1", "http://[::1]:1/x"] {
            Url::parse(good).expect(good);
        }
        let cases = [
            ("ftp://example.com/x", "only `http://`"),
            ("file:///etc/passwd", "only `http://`"),
            ("example.com/health", "only `http://`"),
            ("https://user:pw@example.com/", "credentials"),
            ("http://169.254.169.254/latest/meta-data", "link-local"),
            ("http://[fe80::1]/", "link-local"),
            ("http://user@example.com/", "credentials"),
            ("https://example.com/a b", "spaces"),
            ("https://example.com/\n", "control"),
            ("https://example.com/#x", "fragment"),
        ];
        for (bad, why) in cases {
            let error = Url::parse(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
        }
        assert!(Url::parse(&format!("https://x/{}", "a".repeat(3000))).is_err());
    }

    /// Every spelling of the metadata address a browser (and `getaddrinfo`) accepts.
    pub(crate) const METADATA_FORMS: [&str; 11] = [
        "http://169.254.169.254/latest/meta-data",
        "http://2852039166/",
        "http://0xa9fea9fe/",
        "http://0XA9FEA9FE/",
        "http://0251.0376.0251.0376/",
        "http://169.254.43518/",
        "http://169.16689662/",
        "http://169.254.169.254./",
        "http://%31%36%39.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
    ];

    #[test]
    fn every_spelling_of_a_refused_address_is_refused_before_anything_is_resolved() {
        for form in METADATA_FORMS {
            let error = Url::parse(form).expect_err(form);
            assert!(error.contains("`169.254.169.254`"), "{form}: {error}");
            assert!(error.contains("link-local"), "{form}: {error}");
        }
        for (form, address) in [
            ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
            ("http://100.100.100.200/", "100.100.100.200"),
            ("http://1684301000/", "100.100.100.200"),
            ("http://168.63.129.16/", "168.63.129.16"),
            ("http://0/", "0.0.0.0"),
            ("http://0.0.0.0:8080/", "0.0.0.0"),
            ("http://[::]/", "::"),
            ("http://[fe80::1]/", "fe80::1"),
        ] {
            let error = Url::parse(form).expect_err(form);
            assert!(error.contains(&format!("`{address}`")), "{form}: {error}");
        }
        // What is requested is the address the check looked at.
        let url = Url::parse("http://2130706433:8080/x").expect("127.0.0.1 is allowed");
        assert_eq!(
            (url.to_string().as_str(), url.host()),
            ("http://127.0.0.1:8080/x", &Host::Ip([127, 0, 0, 1].into()))
        );
    }

    #[test]
    fn a_name_is_refused_when_any_address_it_resolves_to_is() {
        let addr = |s: &str| s.parse::<SocketAddr>().expect(s);
        let ok = vec![addr("10.0.0.5:443"), addr("[2001:db8::1]:443")];
        assert_eq!(checked_addresses("app.example", ok.clone()), Ok(ok));
        for bad in ["169.254.169.254:80", "[::ffff:169.254.169.254]:80", "[fd00:ec2::254]:80", "0.0.0.0:80"] {
            let error = checked_addresses("app.example", vec![addr("10.0.0.5:80"), addr(bad)]).expect_err(bad);
            match error {
                AddressError::Refused(reason) => {
                    assert!(reason.starts_with("its host `app.example` resolves to `"), "{reason}")
                }
                other @ AddressError::Unreachable(_) => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(checked_addresses("app.example", vec![]), Err(AddressError::Unreachable(_))));
    }
}
