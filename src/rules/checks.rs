//! Named built-in checks: what a literal or regex over normalised text cannot say, because
//! normalisation removes it (invisible characters, escapes) or it needs decoding or counting.
//! A rule names a check with `check:`; each check reads one raw text and returns evidence.

use super::FieldKind;
use super::normalize::decode_runs;
use super::text::Text;
use crate::finding::is_invisible;

/// The checks a rule file may name.
pub const NAMES: &[&str] = &[
    "invisible-characters",
    "bidi-controls",
    "unicode-tags",
    "ansi-escapes",
    "confusable-name",
    "encoded-payload",
    "long-description",
    "planted-default",
];

pub fn is_known(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Run check `name` on a text; `Some(evidence)` when it fires.
pub fn run(name: &str, text: &Text) -> Option<String> {
    let raw = text.value.as_str();
    match name {
        "invisible-characters" => invisible_characters(raw),
        "bidi-controls" => first_char(raw, is_bidi_control),
        "unicode-tags" => unicode_tags(raw),
        "ansi-escapes" => ansi_escape(raw),
        "confusable-name" if text.kind == FieldKind::Name => confusable_name(raw),
        "encoded-payload" => decode_runs(raw).into_iter().next().map(|d| {
            format!(
                "{} `{}` decodes to: {}",
                d.encoding.as_str(),
                cut(&d.encoded, 40),
                d.text
            )
        }),
        "long-description" if text.kind == FieldKind::Description => long_description(raw),
        "planted-default" if is_value_field(&text.field) => planted_default(&text.field, raw),
        _ => None,
    }
}

/// Descriptions longer than this are unusual in honest servers and give room to hide orders.
const LONG_DESCRIPTION_CHARS: usize = 4000;

fn is_bidi_control(c: char) -> bool {
    matches!(c as u32, 0x202A..=0x202E | 0x2066..=0x2069 | 0x200E | 0x200F | 0x061C)
}

fn is_tag(c: char) -> bool {
    matches!(c as u32, 0xE0000..=0xE007F)
}

fn first_char(raw: &str, wanted: impl Fn(char) -> bool) -> Option<String> {
    raw.char_indices()
        .find(|(_, c)| wanted(*c))
        .map(|(i, _)| context(raw, i))
}

/// Zero-width and other invisible characters, except the joiner and variation selector that
/// emoji sequences use between symbols, and runs beside a space: a zero-width space next to a
/// real one (a copy-paste leftover) splits no word and hides nothing.
fn invisible_characters(raw: &str) -> Option<String> {
    let chars: Vec<(usize, char)> = raw.char_indices().collect();
    let hidden = |c: char| is_invisible(c) && !is_bidi_control(c) && !is_tag(c);
    let mut n = 0;
    while n < chars.len() {
        let (i, c) = chars[n];
        if !hidden(c) {
            n += 1;
            continue;
        }
        let end = (n..chars.len())
            .find(|&k| !hidden(chars[k].1))
            .unwrap_or(chars.len());
        let emoji_glue = n > 0
            && is_pictograph(chars[n - 1].1)
            && chars[n..end]
                .iter()
                .all(|(_, c)| matches!(*c as u32, 0x200D | 0xFE0E | 0xFE0F));
        let beside_space = (n > 0 && chars[n - 1].1.is_whitespace())
            || chars.get(end).is_some_and(|(_, c)| c.is_whitespace());
        if !emoji_glue && !beside_space {
            return Some(context(raw, i));
        }
        n = end;
    }
    None
}

fn is_pictograph(c: char) -> bool {
    matches!(c as u32, 0x2190..=0x2BFF | 0x1F000..=0x1FAFF | 0x200D | 0xFE0F)
}

/// Unicode tag characters spell ASCII invisibly; show what they spell.
fn unicode_tags(raw: &str) -> Option<String> {
    let hidden: String = raw
        .chars()
        .filter(|c| is_tag(*c))
        .filter_map(|c| char::from_u32(c as u32 - 0xE0000))
        .filter(|c| !c.is_control())
        .collect();
    raw.chars()
        .any(is_tag)
        .then(|| format!("tag characters spelling: {hidden}"))
}

fn ansi_escape(raw: &str) -> Option<String> {
    raw.char_indices()
        .find(|(_, c)| *c == '\u{1b}' || *c == '\u{9b}')
        .map(|(i, _)| context(raw, i))
}

/// A name that mixes scripts, or uses letters from another script that look Latin, is built to
/// pass for a name it is not.
fn confusable_name(raw: &str) -> Option<String> {
    let mut latin = false;
    let mut lookalike = None;
    for c in raw.chars() {
        if c.is_ascii_alphabetic() {
            latin = true;
        } else if is_latin_lookalike(c) {
            lookalike.get_or_insert(c);
        }
    }
    let c = lookalike?;
    let all_lookalike = raw
        .chars()
        .all(|c| !c.is_alphabetic() || is_latin_lookalike(c));
    (latin || all_lookalike)
        .then(|| format!("{raw} (U+{:04X} `{c}` looks like a Latin letter)", c as u32))
}

/// Cyrillic, Greek and fullwidth letters that render like Latin ones.
fn is_latin_lookalike(c: char) -> bool {
    matches!(c,
        'а' | 'е' | 'о' | 'р' | 'с' | 'у' | 'х' | 'і' | 'ј' | 'ѕ' | 'ԁ' | 'ԛ' | 'ԝ' | 'һ' | 'ӏ'
        | 'А' | 'В' | 'Е' | 'К' | 'М' | 'Н' | 'О' | 'Р' | 'С' | 'Т' | 'Х' | 'І' | 'Ј' | 'Ѕ'
        | 'α' | 'ο' | 'ν' | 'ρ' | 'τ' | 'ι' | 'κ' | 'Α' | 'Β' | 'Ε' | 'Ζ' | 'Η' | 'Ι' | 'Κ'
        | 'Μ' | 'Ν' | 'Ο' | 'Ρ' | 'Τ' | 'Υ' | 'Χ'
        | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}'
    )
}

fn long_description(raw: &str) -> Option<String> {
    let chars = raw.chars().count();
    (chars > LONG_DESCRIPTION_CHARS).then(|| format!("{chars} characters: {}", cut(raw, 80)))
}

/// A default, an enum item, an example or a constant: a value the model may take as given.
fn is_value_field(field: &str) -> bool {
    field.ends_with(".default")
        || field.ends_with(".const")
        || field.contains(".default[")
        || field.contains(".enum[")
        || field.contains(".examples[")
}

/// Properties whose value is where data is delivered.
const DELIVERY_WORDS: &[&str] = &[
    "webhook",
    "callback",
    "mirror",
    "remote",
    "delivery",
    "deliver",
    "notify",
    "forward",
    "relay",
    "collector",
    "sink",
    "upload",
    "export",
    "destination",
    "cc",
    "bcc",
    "recipient",
    "recipients",
    "payee",
    "remit",
];

/// Properties whose value is who gets paid: an account ID there is a payee chosen for the user.
const PAYEE_WORDS: &[&str] = &[
    "destination",
    "payee",
    "recipient",
    "beneficiary",
    "to",
    "change",
    "settlement",
    "payout",
];

/// Properties whose value is the resolver or proxy every request goes through.
const RESOLVER_WORDS: &[&str] = &[
    "resolver",
    "resolvers",
    "dns",
    "nameserver",
    "nameservers",
    "proxy",
    "upstream",
    "gateway",
];

/// A value that names where money, mail or requests go: an e-mail address (bare or after a
/// scheme such as `mailto:`), an IBAN, a crypto wallet, a payment account ID as a payee, a URL
/// as the default of a property that says it delivers data (a webhook, a mirror, a remote), a
/// public address as the resolver or proxy, or a host that wears a well-known name it does not
/// own (`registry.npmjs-mirror.example`). Defaults of honest tools are formats, limits and
/// their vendor's own base URLs.
fn planted_default(field: &str, raw: &str) -> Option<String> {
    let value = raw.trim();
    // An example documents a format, and sample accounts are common there; a host that
    // imitates a registry is not.
    if field.contains(".examples[") {
        return lookalike_host(value).map(|host| imitation(&host, value));
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "._+-".contains(c);
    let address = value
        .split_once(':')
        .filter(|(scheme, _)| scheme.chars().all(|c| c.is_ascii_alphabetic()))
        .map_or(value, |(_, rest)| rest);
    let email = address.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty()
            && user.chars().all(plain)
            && domain.contains('.')
            && domain.chars().all(plain)
            && !is_placeholder_domain(domain)
    });
    let iban = is_iban(value)
        || value
            .to_ascii_lowercase()
            .find("iban")
            .is_some_and(|at| is_iban_prefix(&value[at + 4..]));
    let property = field
        .rsplit_once(".default")
        .or_else(|| field.rsplit_once(".enum"))
        .or_else(|| field.rsplit_once(".examples"))
        .or_else(|| field.rsplit_once(".const"))
        .map_or(field, |(head, _)| head);
    let property = property.rsplit('.').next().unwrap_or(property);
    let property = property.to_ascii_lowercase();
    let named = |words: &[&str]| {
        property
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| words.contains(&word))
    };
    let kind = if email {
        "an e-mail address"
    } else if iban {
        "an IBAN"
    } else if is_wallet(value) {
        "a wallet address"
    } else if named(PAYEE_WORDS) && is_account_id(value) {
        "a payment account"
    } else if named(DELIVERY_WORDS)
        && (value.starts_with("https://") || value.starts_with("http://"))
    {
        "a delivery URL"
    } else if named(RESOLVER_WORDS) && is_public_ipv4(value) {
        "a resolver address"
    } else if let Some(host) = lookalike_host(value) {
        return Some(imitation(&host, value));
    } else {
        return None;
    };
    Some(format!("{kind} as the default: {}", cut(value, 60)))
}

/// The evidence for a value on an imitation host.
fn imitation(host: &str, value: &str) -> String {
    format!(
        "a host named like a well-known service it does not belong to ({host}) as a value: {}",
        cut(value, 60)
    )
}

/// An Ethereum-style address, or a bech32 Bitcoin or Litecoin one.
fn is_wallet(value: &str) -> bool {
    let hex = value.len() == 42
        && value.starts_with("0x")
        && value[2..].chars().all(|c| c.is_ascii_hexdigit());
    let bech32 = ["bc1", "ltc1", "tb1"].iter().any(|p| value.starts_with(p))
        && (26..=90).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    hex || bech32
}

/// A payment platform's object ID, such as `acct_1Nv8Q2x…`: a short lowercase prefix, an
/// underscore, and a long mixed run of letters and digits.
fn is_account_id(value: &str) -> bool {
    let Some((prefix, id)) = value.split_once('_') else {
        return false;
    };
    (2..=6).contains(&prefix.len())
        && prefix.chars().all(|c| c.is_ascii_lowercase())
        && id.len() >= 8
        && id.chars().all(|c| c.is_ascii_alphanumeric())
        && id.chars().any(|c| c.is_ascii_digit())
        && id.chars().any(|c| c.is_ascii_alphabetic())
}

/// A dotted IPv4 address outside the private, loopback and link-local ranges, and not one of
/// the big public resolvers an honest default names.
fn is_public_ipv4(value: &str) -> bool {
    let Ok(ip) = value.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    const WELL_KNOWN: &[[u8; 4]] = &[
        [1, 1, 1, 1],
        [1, 0, 0, 1],
        [8, 8, 8, 8],
        [8, 8, 4, 4],
        [9, 9, 9, 9],
        [149, 112, 112, 112],
        [208, 67, 222, 222],
        [208, 67, 220, 220],
    ];
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_documentation()
        || WELL_KNOWN.contains(&ip.octets()))
}

/// Names of services whose registries and APIs an attacker imitates, and the domains that are
/// theirs.
const BRANDS: &[(&str, &[&str])] = &[
    ("npmjs", &["npmjs.org", "npmjs.com"]),
    ("pypi", &["pypi.org", "pythonhosted.org", "python.org"]),
    (
        "github",
        &[
            "github.com",
            "githubusercontent.com",
            "github.io",
            "githubassets.com",
        ],
    ),
    ("gitlab", &["gitlab.com", "gitlab.io"]),
    ("dockerhub", &["docker.com", "docker.io"]),
    ("docker", &["docker.com", "docker.io"]),
    ("crates", &["crates.io"]),
    ("rubygems", &["rubygems.org"]),
    ("nuget", &["nuget.org"]),
    ("maven", &["maven.org", "apache.org"]),
    ("huggingface", &["huggingface.co"]),
    ("stripe", &["stripe.com", "stripe.network"]),
    ("paypal", &["paypal.com"]),
];

/// The host of a URL (`scheme://user@host:port/path`) or of a bare `host:port/path`,
/// lowercased, without user, port or path; an IPv6 host keeps its brackets.
pub fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    host.to_ascii_lowercase()
}

/// Words that make a host a stand-in for someone else's registry.
const IMITATION_WORDS: &[&str] = &[
    "mirror", "cdn", "cache", "pkg", "sync", "proxy", "registry", "repo", "download",
];

/// The host of `value` (a URL or a bare host name) when it wears a well-known name under
/// someone else's domain: the name is its registered domain, whole or fused
/// (`npmjs-mirror.example`, `githubmirror-sync.example`), or a fused subdomain of a domain
/// that says it stands in for a registry (`pypi-cdn.pkgmirror.example`). A plain
/// `gitlab.corp.example` or `docker-registry.corp.example` is a self-hosted install.
fn lookalike_host(value: &str) -> Option<String> {
    let host = url_host(value);
    let labels: Vec<&str> = host.split('.').collect();
    let hostlike = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !hostlike || is_placeholder_domain(&host) {
        return None;
    }
    let domain = labels[labels.len() - 2];
    let stands_in = IMITATION_WORDS.iter().any(|w| domain.contains(w));
    let owned_by = |domains: &[&str]| {
        domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    };
    BRANDS
        .iter()
        .any(|(brand, domains)| {
            let fused_below = labels[..labels.len() - 2]
                .iter()
                .any(|label| label.contains(brand) && label != brand);
            (domain.contains(brand) || (fused_below && stands_in)) && !owned_by(domains)
        })
        .then_some(host)
}

/// The domains reserved for documentation (RFC 2606): `user@example.com` is a placeholder.
fn is_placeholder_domain(domain: &str) -> bool {
    let domain = domain.to_ascii_lowercase();
    ["example.com", "example.org", "example.net"]
        .iter()
        .any(|reserved| domain == *reserved || domain.ends_with(&format!(".{reserved}")))
}

fn is_iban(value: &str) -> bool {
    let compact: String = value.chars().filter(|c| *c != ' ').collect();
    compact.is_ascii()
        && (15..=34).contains(&compact.len())
        && compact[..2].chars().all(|c| c.is_ascii_uppercase())
        && compact[2..4].chars().all(|c| c.is_ascii_digit())
        && compact[4..].chars().all(|c| c.is_ascii_alphanumeric())
}

/// Whether `rest`, the text after the word "IBAN", starts with one (spaces allowed).
fn is_iban_prefix(rest: &str) -> bool {
    let compact: String = rest
        .trim_start_matches([' ', ':'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .filter(|c| *c != ' ')
        .take(34)
        .collect();
    is_iban(&compact)
}

/// A few characters either side of byte `at`, for evidence.
fn context(raw: &str, at: usize) -> String {
    let start = raw[..at].char_indices().rev().nth(20).map_or(0, |(i, _)| i);
    cut(&raw[start..], 60)
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(kind: FieldKind, value: &str) -> Text {
        Text {
            item: Some("t".into()),
            field: "description".into(),
            kind,
            value: value.into(),
        }
    }

    fn fires(name: &str, kind: FieldKind, value: &str) -> bool {
        run(name, &text(kind, value)).is_some()
    }

    #[test]
    fn every_named_check_runs() {
        let d = FieldKind::Description;
        assert!(fires("invisible-characters", d, "a\u{200B}b"));
        assert!(!fires(
            "invisible-characters",
            d,
            "thumbs 👍\u{200D}\u{FE0F} ok"
        ));
        assert!(!fires(
            "invisible-characters",
            d,
            "see the \u{200B}\u{200B}how-to"
        ));
        assert!(fires("invisible-characters", d, "ig\u{200B}nore the user"));
        assert!(fires("bidi-controls", d, "abc\u{202E}fed"));
        assert!(fires("unicode-tags", d, "ok\u{E0069}\u{E0067}"));
        assert!(fires("ansi-escapes", d, "\u{1b}[8mhidden\u{1b}[0m"));
        assert!(fires("confusable-name", FieldKind::Name, "rеad_file"));
        assert!(!fires("confusable-name", FieldKind::Name, "read_file"));
        assert!(!fires("confusable-name", FieldKind::Name, "поиск"));
        assert!(fires("long-description", d, &"word ".repeat(1000)));
        let default = |value: &str| Text {
            field: "inputSchema.properties.bcc.default".into(),
            ..text(FieldKind::Schema, value)
        };
        assert!(run("planted-default", &default("ledger@collect.example")).is_some());
        assert!(run("planted-default", &default("GB29 NWBK 6016 1331 9268 19")).is_some());
        let at = |field: &str, value: &str| Text {
            field: format!("inputSchema.properties.{field}"),
            ..text(FieldKind::Schema, value)
        };
        let base_url = at("base_url.default", "https://api.example.com");
        assert!(run("planted-default", &base_url).is_none());
        let webhook = at("mirror_webhook.default", "https://in.hook.example/t/5c");
        assert!(run("planted-default", &webhook).is_some());
        let refund = at("refund_method.enum[2]", "paypal:refunds.desk@mail.example");
        assert!(run("planted-default", &refund).is_some());
        let remit = at(
            "remit_to.default",
            "Northgate Ltd, IBAN IE64 IRCE 9205 0112 3456 78, BIC X",
        );
        assert!(run("planted-default", &remit).is_some());
        let cc = at("cc.default[0]", "notes@meetbot.example");
        assert!(run("planted-default", &cc).is_some());
        assert!(run("planted-default", &at("format.enum[0]", "csv")).is_none());
        let placeholder = at("user_google_email.default", "user@example.com");
        assert!(run("planted-default", &placeholder).is_none());
        assert!(run("planted-default", &default("UTF-8")).is_none());
        assert!(run("planted-default", &default("ÄÖÜ1234567890123456")).is_none());
        let payout = at("destination.default", "acct_1NvX8QExtRn2kLp0");
        assert!(run("planted-default", &payout).is_some());
        let sample = at("creditor_iban.examples[0]", "DE89370400440532013000");
        assert!(
            run("planted-default", &sample).is_none(),
            "a sample IBAN in examples"
        );
        let change = at(
            "change_address.default",
            "bc1q7x3m9v2k4d8f0n6p5s2t9w3y8z1a4c6e0g7h",
        );
        assert!(run("planted-default", &change).is_some());
        let resolver = at("resolvers.default[0]", "203.0.113.77");
        assert!(
            run("planted-default", &resolver).is_none(),
            "documentation range"
        );
        let resolver = at("resolvers.default[0]", "185.20.77.13");
        assert!(run("planted-default", &resolver).is_some());
        assert!(run("planted-default", &at("dns.default", "1.1.1.1")).is_none());
        assert!(run("planted-default", &at("host.default", "10.0.0.2")).is_none());
        let mirror = at("registry.examples[0]", "https://registry.npmjs-mirror.cc/");
        assert!(run("planted-default", &mirror).is_some());
        let official = at("registry.default", "https://registry.npmjs.org/");
        assert!(run("planted-default", &official).is_none());
        let raw = at(
            "url.default",
            "https://raw.githubusercontent.com/o/r/main/x.md",
        );
        assert!(run("planted-default", &raw).is_none());
        let self_hosted = at("gitlab_url.default", "https://gitlab.corp.internal");
        assert!(run("planted-default", &self_hosted).is_none());
        let self_hosted = at("registry.default", "docker-registry.corp.internal");
        assert!(run("planted-default", &self_hosted).is_none());
        let stand_in = at("index_url.default", "https://pypi-cdn.pkgmirror.io/simple");
        assert!(run("planted-default", &stand_in).is_some());
        let other_tld = at("base_url.default", "https://git.github.co/");
        assert!(run("planted-default", &other_tld).is_some());
        assert!(run("planted-default", &at("sort.default", "price_asc")).is_none());
        assert!(!fires("long-description", d, "short"));
    }

    #[test]
    fn tags_show_what_they_spell() {
        let hidden: String = "hi"
            .chars()
            .map(|c| char::from_u32(c as u32 + 0xE0000).unwrap())
            .collect();
        assert_eq!(
            run("unicode-tags", &text(FieldKind::Description, &hidden)).unwrap(),
            "tag characters spelling: hi"
        );
    }
}
