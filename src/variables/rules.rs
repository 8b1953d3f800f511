//! The rules on single values, applied to the text that reaches Terraform: the expanded value
//! for each environment, never the template as written.

use std::net::Ipv4Addr;

use crate::diagnostic::shown;

/// A refused value: message and hint.
pub(super) type Problem = (String, String);

/// Characters AWS allows in tag keys and values besides letters and digits. Only the plain
/// space counts as white space: tabs, line breaks, NBSP and other separators are refused.
const TAG_PUNCTUATION: &str = " _.:/=+-@";

fn tag_chars_ok(s: &str) -> bool {
    s.chars().all(|ch| ch.is_alphanumeric() || TAG_PUNCTUATION.contains(ch))
}

/// The first character of `s` that tags may not hold, shown visibly.
fn first_bad_tag_char(s: &str) -> String {
    s.chars()
        .find(|ch| !(ch.is_alphanumeric() || TAG_PUNCTUATION.contains(*ch)))
        .map(|ch| crate::diagnostic::shown(ch.encode_utf8(&mut [0; 4])))
        .unwrap_or_default()
}

const TAG_HINT: &str =
    "AWS tags take letters, digits, spaces and `_ . : / = + - @` (no tabs, line breaks or other control characters)";

/// A tag key as written (keys are not templated).
pub(super) fn tag_key(key: &str) -> Result<(), Problem> {
    let hint = || format!("{TAG_HINT}; keys are 1 to 128 characters and do not start with `aws:`");
    if key.is_empty() || key.chars().count() > 128 {
        Err((format!("tag key `{}` must be 1 to 128 characters", shown(key)), hint()))
    } else if key.to_lowercase().starts_with("aws:") {
        Err((format!("tag key `{}` uses the reserved `aws:` prefix", shown(key)), hint()))
    } else if !tag_chars_ok(key) {
        Err((
            format!(
                "tag key `{}` has a character AWS does not allow in tags (`{}`)",
                shown(key),
                first_bad_tag_char(key)
            ),
            hint(),
        ))
    } else {
        Ok(())
    }
}

/// A tag value after expansion.
pub(super) fn tag_value(key: &str, value: &str) -> Result<(), Problem> {
    if value.chars().count() > 256 {
        Err((format!("tag `{}` value is longer than 256 characters", shown(key)), "shorten the value".into()))
    } else if !tag_chars_ok(value) {
        Err((
            format!(
                "tag `{}` value `{}` has a character AWS does not allow in tags (`{}`)",
                shown(key),
                shown(value),
                first_bad_tag_char(value)
            ),
            TAG_HINT.into(),
        ))
    } else {
        Ok(())
    }
}

/// An AWS region name, as the modules check it: `^[a-z]{2}(-[a-z]+)+-[0-9]$`.
pub(super) fn region(path: &str, value: &str) -> Result<(), Problem> {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() == 1
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err((
            format!("`{path}` `{}` is not an AWS region name", shown(value)),
            "write a region such as `us-east-1`".into(),
        ))
    }
}

/// An EC2 instance type, as the modules check it: `^[a-z][a-z0-9-]*\.[a-z0-9]+$`.
pub(super) fn instance_type(path: &str, value: &str) -> Result<(), Problem> {
    let ok = value.split_once('.').is_some_and(|(family, size)| {
        family.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && family.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if ok {
        Ok(())
    } else {
        Err((
            format!("`{path}` `{}` is not an EC2 instance type", shown(value)),
            "write an instance type such as `t3.micro`".into(),
        ))
    }
}

/// Checks an IPv4 CIDR: dotted quad, prefix from /16 to /28 written as plain decimal (no sign,
/// no leading zero), no host bits set; gives the prefix.
pub(super) fn cidr(cidr: &str) -> Result<u8, Problem> {
    let hint = "write an IPv4 network such as `10.0.0.0/16` (prefix from /16 to /28)".to_owned();
    let Some((addr, prefix)) = cidr.split_once('/') else {
        return Err((format!("`{}` is not a CIDR block", shown(cidr)), hint));
    };
    let plain_decimal = (1..=2).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && !(prefix.len() > 1 && prefix.starts_with('0'));
    let parsed = (addr.parse::<Ipv4Addr>(), prefix.parse::<u8>());
    let (Ok(addr), Ok(prefix), true) = (parsed.0, parsed.1, plain_decimal) else {
        return Err((format!("`{}` is not a valid IPv4 CIDR block", shown(cidr)), hint));
    };
    if !(16..=28).contains(&prefix) {
        return Err((format!("`{cidr}` has prefix /{prefix}; AWS VPCs take /16 to /28"), hint));
    }
    let mask = u32::MAX << (32 - u32::from(prefix));
    let bits = u32::from(addr);
    if bits & !mask != 0 {
        let network = Ipv4Addr::from(bits & mask);
        return Err((format!("`{cidr}` has host bits set"), format!("did you mean `{network}/{prefix}`?")));
    }
    Ok(prefix)
}

/// How many per-zone subnets a VPC of this prefix holds: the modules carve 1/16ths of it,
/// but never smaller than /28, AWS's smallest subnet.
pub(super) fn subnets_in(prefix: u8) -> i64 {
    1 << 4.min(28 - i64::from(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_prefixes_are_plain_decimal() {
        assert_eq!(cidr("10.0.0.0/16").expect("ok"), 16);
        assert_eq!(cidr("10.0.0.0/28").expect("ok"), 28);
        for bad in [
            "10.0.0.0/+16",
            "10.0.0.0/016",
            "10.0.0.0/-16",
            "10.0.0.0/ 16",
            "10.0.0.0/16 ",
            "10.0.0.0/0x10",
            "010.0.0.0/16",
            " 10.0.0.0/16",
            "10.0.0.0/16/16",
            "10.0.0.0/",
        ] {
            let (message, _) = cidr(bad).expect_err(bad);
            assert!(message.contains("not a valid IPv4 CIDR block"), "{bad}: {message}");
        }
    }

    #[test]
    fn regions_and_instance_types_follow_the_module_patterns() {
        for ok in ["us-east-1", "us-gov-west-1", "ap-southeast-2", "il-central-1"] {
            region("r", ok).expect(ok);
        }
        for bad in [
            "us-east-1\n",
            "US-EAST-1",
            "us-east-10",
            "useast1",
            "us--east-1",
            "us-east-1 ",
            "{{ environment }}",
            "eu-west-1;rm",
            "us-east-\u{661}",
        ] {
            region("r", bad).expect_err(bad);
        }
        for ok in ["t3.micro", "m5.24xlarge", "u-6tb1.metal", "mac2-m2pro.metal"] {
            instance_type("i", ok).expect(ok);
        }
        for bad in ["t3", "t3.", ".micro", "T3.micro", "t3.micro\n", "t3.mi-cro", "t3.micro.x", "3t.micro"] {
            instance_type("i", bad).expect_err(bad);
        }
    }

    #[test]
    fn tags_refuse_control_characters_line_breaks_and_bidi() {
        tag_key("cost-center").expect("ok");
        tag_value("k", "Team A: web/shop+1@x=y_z.").expect("ok");
        tag_value("k", "ünïcödé 東京").expect("letters of any script");
        tag_value("k", "").expect("AWS allows an empty value");
        for bad in [
            "a\nb",
            "a\tb",
            "a\rb",
            "a\u{85}b",
            "a\u{1b}[31m",
            "a\u{0}b",
            "a\u{7f}",
            "a\u{9b}",
            "a\u{202e}b",
            "a\u{2066}b",
            "a\u{2028}b",
            "a\u{a0}b",
            "a\u{200b}b",
            "a#b",
            "a|b",
        ] {
            let (message, _) = tag_value("k", bad).expect_err(bad);
            assert!(!message.chars().any(|c| c.is_control()), "{message:?}");
            let (message, _) = tag_key(bad).expect_err(bad);
            assert!(message.contains("has a character AWS does not allow"), "{message}");
            assert!(!message.chars().any(|c| c.is_control()), "{message:?}");
        }
        let (message, _) = tag_key("a\nb").expect_err("newline");
        assert_eq!(message, "tag key `a\\u{a}b` has a character AWS does not allow in tags (`\\u{a}`)");
    }
}
