//! The pages' words: one message catalogue per language, in Project
//! Fluent's format (`locales/zh-CN/*.ftl`, `locales/en/*.ftl`: the common
//! words, and a file per room of pages), built into the binary so a counter PC needs no files beside it. The keys
//! are the stable codes the API uses (card kinds, statuses, operation types,
//! `error-` + an error code), so a page never shows a code or the API's
//! English detail: it looks the code up. Numbers go in as arguments, and
//! the catalogue's plural rules say "1 try" or "2 tries" (还剩 2 次).

use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use maud::{Markup, PreEscaped, html};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// One language's catalogue: the common words, then one file per room of
/// pages, read as one.
macro_rules! catalogue_of {
    ($dir:literal) => {
        concat!(
            include_str!(concat!("../../../locales/", $dir, "/fuelcard.ftl")),
            "\n",
            include_str!(concat!("../../../locales/", $dir, "/station.ftl")),
            "\n",
            include_str!(concat!("../../../locales/", $dir, "/fleet_office.ftl")),
            "\n",
            include_str!(concat!("../../../locales/", $dir, "/head_office.ftl")),
            "\n",
            include_str!(concat!("../../../locales/", $dir, "/administration.ftl")),
        )
    };
}

const ZH_CN: &str = catalogue_of!("zh-CN");
const EN: &str = catalogue_of!("en");

struct Catalogue {
    bundle: FluentBundle<FluentResource>,
    /// Every message that takes no argument, formatted once, so that the
    /// words of a page are borrowed rather than formatted per request.
    plain: HashMap<String, String>,
}

/// Parses one language's file. A mistake in a file is a mistake of the
/// build, caught by the tests below; the service still starts with what
/// parsed, and a missing word shows its key.
fn load(locale: &str, source: &str) -> Catalogue {
    let resource = match FluentResource::try_new(source.to_string()) {
        Ok(r) => r,
        Err((r, errors)) => {
            tracing::error!(locale, ?errors, "the message catalogue does not parse");
            r
        }
    };
    let ids: Vec<String> = message_ids(&resource);
    let mut bundle = FluentBundle::new_concurrent(vec![locale.parse().unwrap_or_default()]);
    // Unicode isolation marks around arguments would end up in the HTML.
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(locale, ?errors, "the message catalogue repeats a key");
    }
    let mut plain = HashMap::with_capacity(ids.len());
    for id in ids {
        let Some(pattern) = bundle.get_message(&id).and_then(|m| m.value()) else {
            continue;
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, None, &mut errors);
        if errors.is_empty() {
            let text = text.into_owned();
            plain.insert(id, text);
        }
    }
    Catalogue { bundle, plain }
}

fn message_ids(resource: &FluentResource) -> Vec<String> {
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

static CATALOGUES: LazyLock<[Catalogue; 2]> =
    LazyLock::new(|| [load("zh-CN", ZH_CN), load("en", EN)]);

fn catalogue(lang: Lang) -> &'static Catalogue {
    match lang {
        Lang::Zh => &CATALOGUES[0],
        Lang::En => &CATALOGUES[1],
    }
}

/// The word for `key`; an unknown key shows itself, so a gap is visible
/// (and the page test fails on it).
pub fn t(lang: Lang, key: &'static str) -> &'static str {
    catalogue(lang).plain.get(key).map_or(key, String::as_str)
}

/// The word for a stored value (card kind, status, operation type, …).
pub fn word(lang: Lang, key: &str) -> String {
    catalogue(lang)
        .plain
        .get(key)
        .map_or_else(|| key.to_string(), String::clone)
}

/// Whether the catalogue has a message `key`.
pub fn has(key: &str) -> bool {
    catalogue(Lang::Zh).bundle.has_message(key)
}

/// A message with arguments: `tr(lang, "tries_left", &[("tries", 2.into())])`.
pub fn tr(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let bundle = &catalogue(lang).bundle;
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        return key.to_string();
    };
    let mut fargs = FluentArgs::with_capacity(args.len());
    for (name, value) in args {
        fargs.set(*name, value.clone());
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fargs), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(key, ?errors, "a catalogue message misses an argument");
    }
    text.into_owned()
}

/// A product's name in the page's language, by its code; a product the
/// catalogue does not know shows the name it was stored with, as data.
pub fn product(lang: Lang, code: &str, stored: &str) -> Markup {
    let key = format!("product-{code}");
    if has(&key) {
        html! { (word(lang, &key)) }
    } else {
        data(stored)
    }
}

/// Marks off a value that is data (a name, an address, an offer's item):
/// shown as it was written, in whatever language that was.
pub fn data(value: &str) -> Markup {
    html! { span.data { (value) } }
}

/// A message with arguments, some of them data shown as [`data`] marks
/// them, as HTML: the sentence escaped, the data set in.
pub fn tr_data(
    lang: Lang,
    key: &str,
    args: &[(&str, FluentValue<'_>)],
    values: &[(&str, &str)],
) -> Markup {
    // Each data value goes in as a private-use sentinel, so the sentence can
    // be escaped as a whole and the marked-up values put back after.
    const MARK: char = '\u{E000}';
    let mut all: Vec<(&str, FluentValue<'_>)> = args.to_vec();
    for (i, (name, _)) in values.iter().enumerate() {
        all.push((name, format!("{MARK}{i}{MARK}").into()));
    }
    let text = tr(lang, key, &all);
    let mut out = String::with_capacity(text.len());
    for (i, piece) in text.split(MARK).enumerate() {
        let value = piece.parse::<usize>().ok().and_then(|n| values.get(n));
        match value {
            Some((_, v)) if i % 2 == 1 => out.push_str(&data(v).into_string()),
            _ => out.push_str(&html! { (piece) }.into_string()),
        }
    }
    PreEscaped(out)
}

/// A refusal in the page's language: the catalogue's sentence for its code
/// (`error-` + code), with the numbers and names the error carries (tries
/// left, the card in the reader …). Where the error names the form field
/// and the catalogue has a sentence naming it (`error-CODE-field` and
/// `field-NAME`), that one.
pub fn refusal(lang: Lang, err: &AppError) -> String {
    let key = format!("error-{}", err.code.as_str());
    let mut args: Vec<(&str, FluentValue<'_>)> = Vec::new();
    let mut field_sentence = None;
    for (name, value) in err.extra.iter().flatten() {
        let value: FluentValue<'_> = match value {
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => i.into(),
                None => n.to_string().into(),
            },
            serde_json::Value::String(s) if name == "field" => {
                let label = format!("field-{s}");
                let with_field = format!("{key}-field");
                if has(&label) && has(&with_field) {
                    field_sentence = Some(with_field);
                }
                word(lang, &label).into()
            }
            serde_json::Value::String(s) => s.clone().into(),
            _ => continue,
        };
        args.push((name.as_str(), value));
    }
    // A chip that answers with a number of zeros has never been written.
    if let Some(number) = err
        .extra
        .as_ref()
        .and_then(|x| x.get("in_reader")?.as_str())
    {
        let blank = !number.is_empty() && number.bytes().all(|b| b == b'0');
        args.push(("blank", if blank { "yes" } else { "no" }.into()));
    }
    tr(lang, field_sentence.as_deref().unwrap_or(&key), &args)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::error::{AppError, Code};

    fn ids(source: &str) -> BTreeSet<String> {
        let resource = match FluentResource::try_new(source.to_string()) {
            Ok(r) => r,
            Err((_, errors)) => panic!("the catalogue does not parse: {errors:?}"),
        };
        let list = message_ids(&resource);
        let set: BTreeSet<String> = list.iter().cloned().collect();
        assert_eq!(set.len(), list.len(), "a key is written twice");
        set
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let (zh, en) = (ids(ZH_CN), ids(EN));
        let only_zh: Vec<_> = zh.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&zh).collect();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "only in Chinese: {only_zh:?}; only in English: {only_en:?}"
        );
    }

    /// The keys the page modules name as literals: the second argument of
    /// `t`, `tr`, `tr_data` and `word` where it is a string.
    fn keys_in_source() -> Vec<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/counter");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).expect("the page modules") {
            let path = entry.expect("a file").path();
            let text = std::fs::read_to_string(&path).expect("a module");
            let file = path.display().to_string();
            if file.ends_with("text.rs") {
                continue;
            }
            for call in ["t(", "tr(", "tr_data(", "word("] {
                for (at, _) in text.match_indices(call) {
                    let before = text[..at].chars().next_back().unwrap_or(' ');
                    if before.is_alphanumeric() || before == '_' || before == '.' {
                        continue;
                    }
                    let rest = &text[at + call.len()..];
                    let Some(comma) = rest.find(',') else {
                        continue;
                    };
                    let arg = rest[comma + 1..].trim_start();
                    if let Some(lit) = arg.strip_prefix('"') {
                        if let Some(end) = lit.find('"') {
                            found.push((file.clone(), lit[..end].to_string()));
                        }
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_key_the_pages_name_is_in_the_catalogue() {
        let keys = keys_in_source();
        assert!(
            keys.len() > 300,
            "the scan finds the pages' keys: {}",
            keys.len()
        );
        let missing: Vec<_> = keys.iter().filter(|(_, k)| !has(k)).collect();
        assert!(missing.is_empty(), "keys not in the catalogue: {missing:?}");
    }

    #[test]
    fn every_error_code_has_a_sentence() {
        let missing: Vec<_> = Code::ALL
            .iter()
            .map(|c| format!("error-{}", c.as_str()))
            .filter(|k| !has(k))
            .collect();
        assert!(
            missing.is_empty(),
            "error codes without a sentence: {missing:?}"
        );
    }

    #[test]
    fn both_languages() {
        assert_eq!(t(Lang::Zh, "recharge"), "充值");
        assert_eq!(t(Lang::En, "recharge"), "Recharge");
        assert_eq!(word(Lang::Zh, "lost"), "已挂失");
        assert_eq!(word(Lang::En, "chip_load"), "Load onto the chip");
    }

    #[test]
    fn plurals_follow_each_language() {
        let wrong = |left: i64| AppError::new(Code::WrongPin, "wrong PIN").with("tries_left", left);
        assert_eq!(refusal(Lang::En, &wrong(1)), "Wrong PIN: 1 try left");
        assert_eq!(refusal(Lang::En, &wrong(2)), "Wrong PIN: 2 tries left");
        assert_eq!(refusal(Lang::Zh, &wrong(2)), "密码错误，还剩 2 次");
    }

    #[test]
    fn a_blank_chip_is_named_as_one() {
        let mismatch = |in_reader: &str| {
            AppError::new(Code::ChipCardMismatch, "the card in the reader is …")
                .with("in_reader", in_reader)
        };
        let blank = refusal(Lang::Zh, &mismatch("0000000000000000"));
        assert!(blank.contains("空白卡"), "{blank}");
        let other = refusal(Lang::En, &mismatch("9100000000000026"));
        assert!(other.contains("9100000000000026"), "{other}");
    }

    #[test]
    fn a_refusal_names_the_field_it_is_about() {
        let e = AppError::invalid("odometer", "odometer: whole kilometres");
        assert_eq!(refusal(Lang::Zh, &e), "请检查：里程表（公里）");
    }

    #[test]
    fn data_is_marked_and_escaped() {
        let m = tr_data(Lang::En, "win_line", &[], &[("who", "城东 <S001>")]).into_string();
        assert!(
            m.contains("<span class=\"data\">城东 &lt;S001&gt;</span>"),
            "{m}"
        );
    }
}
