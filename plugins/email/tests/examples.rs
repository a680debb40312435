//! The demo traffic in `examples/mail/` parses into what the engine demo expects.

use std::path::Path;
use weft_plugin_email::{Config, parse_mail};
use weft_sdk::Message;

fn example(name: &str) -> Message {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/mail")
        .join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_mail(&raw, &Config::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn utc(message: &Message) -> String {
    jiff::Timestamp::from_millisecond(message.at).unwrap().to_string()
}

#[test]
fn anna_late_parcel_and_followup() {
    let first = example("01-anna-late-parcel.eml");
    assert_eq!(
        (first.channel.as_str(), first.id.as_str()),
        ("email", "anna-1@mail.example.de")
    );
    assert_eq!(first.from.name.as_deref(), Some("Anna Müller"));
    assert_eq!(first.from.email.as_deref(), Some("anna.mueller@example.de"));
    assert_eq!(utc(&first), "2026-11-16T08:12:00Z");
    assert_eq!(first.order.as_deref(), Some("302-1234567-7654321"));
    assert_eq!(first.lang.as_deref(), Some("de-DE"));
    assert!(first.body.contains("wo das Paket geblieben ist"));
    assert_eq!(first.quoted, None);

    let second = example("02-anna-followup.eml");
    assert_eq!(second.replies_to, ["anna-1@mail.example.de"]);
    assert_eq!(second.thread.as_deref(), Some("anna-1@mail.example.de"));
    assert_eq!(utc(&second), "2026-11-18T16:40:12Z");
    assert!(second.body.starts_with("Hallo nochmal,") && second.body.ends_with("Anna Müller"));
    assert!(!second.body.contains('>'));
    let quoted = second.quoted.as_deref().unwrap();
    assert!(
        quoted.starts_with("Am 16.11.2026 um 09:12 schrieb Anna Müller"),
        "{quoted}"
    );
    assert!(quoted.contains("> Können Sie bitte nachsehen"));
    assert_eq!(second.order.as_deref(), Some("302-1234567-7654321"));
}

#[test]
fn pierre_via_amazon() {
    let pierre = example("03-amazon-relay-pierre.eml");
    assert_eq!(pierre.channel, "amazon");
    assert_eq!(pierre.marketplace.as_deref(), Some("amazon"));
    assert_eq!(pierre.from.buyer_id.as_deref(), Some("8x7yq2lmn3k4v5"));
    assert_eq!(pierre.from.name.as_deref(), Some("Pierre Dubois"));
    assert_eq!(pierre.from.email, None);
    assert_eq!(pierre.order.as_deref(), Some("171-9876543-1234567"));
    assert!(pierre.body.contains("la théière est arrivée cassée"));
    assert_eq!(pierre.lang.as_deref(), Some("fr-FR"));
}

#[test]
fn yuki_in_shift_jis() {
    let yuki = example("04-yuki-shift-jis.eml");
    assert_eq!(yuki.from.name.as_deref(), Some("田中 由紀"));
    assert_eq!(yuki.subject.as_deref(), Some("注文#10482の配送先変更のお願い"));
    assert_eq!(yuki.order.as_deref(), Some("#10482"));
    assert!(yuki.body.contains("東京都渋谷区神宮前1-2-3"));
    assert_eq!(utc(&yuki), "2026-11-18T01:25:00Z");
}

#[test]
fn li_in_gb2312_html() {
    let li = example("05-li-gb2312.eml");
    assert_eq!(li.from.name.as_deref(), Some("李伟"));
    assert_eq!(li.order.as_deref(), Some("12-34567-89012"));
    assert!(li.body.contains("我想申请退货"), "{}", li.body);
    assert!(li.body.contains("- 退货地址是哪里？\n- 运费由谁承担？"), "{}", li.body);
    assert!(!li.body.contains('<'));
    assert_eq!(li.lang.as_deref(), Some("zh-CN"));
}

#[test]
fn carmen_with_a_pdf() {
    let carmen = example("06-carmen-spanish.eml");
    assert_eq!(carmen.from.name.as_deref(), Some("Carmen García"));
    assert_eq!(carmen.order.as_deref(), Some("#10511"));
    assert!(
        carmen.body.starts_with("Hola,\n\nAdjunto la factura"),
        "{}",
        carmen.body
    );
    assert_eq!(carmen.attachments.len(), 1);
    assert_eq!(carmen.attachments[0].filename.as_deref(), Some("factura-10511.pdf"));
    assert_eq!(carmen.attachments[0].content_type, "application/pdf");
    assert_eq!(carmen.attachments[0].size, 125);
}
