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

/// A default, an enum item or a constant: a value the model may take as given.
fn is_value_field(field: &str) -> bool {
    field.ends_with(".default")
        || field.ends_with(".const")
        || field.contains(".default[")
        || field.contains(".enum[")
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

/// A value that names where money or mail goes: an e-mail address (bare or after a scheme
/// such as `mailto:`), an IBAN, a crypto wallet, or a URL as the default of a property that
/// says it delivers data (a webhook, a mirror, a remote). Defaults of honest tools are
/// formats, limits and base URLs.
fn planted_default(field: &str, raw: &str) -> Option<String> {
    let value = raw.trim();
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
    let wallet = value.len() == 42
        && value.starts_with("0x")
        && value[2..].chars().all(|c| c.is_ascii_hexdigit());
    let property = field
        .rsplit_once(".default")
        .or_else(|| field.rsplit_once(".enum"))
        .or_else(|| field.rsplit_once(".const"))
        .map_or(field, |(head, _)| head);
    let property = property.rsplit('.').next().unwrap_or(property);
    let delivers = property
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| DELIVERY_WORDS.contains(&word));
    let url = delivers && (value.starts_with("https://") || value.starts_with("http://"));
    let kind = match (email, iban, wallet, url) {
        (true, ..) => "an e-mail address",
        (_, true, ..) => "an IBAN",
        (_, _, true, _) => "a wallet address",
        (.., true) => "a delivery URL",
        _ => return None,
    };
    Some(format!("{kind} as the default: {}", cut(value, 60)))
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
