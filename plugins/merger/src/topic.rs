//! What a message is about, by cue words: where-is-my-order, refund, return, cancel, address
//! change, invoice, damaged — in English, German, French, Spanish, Italian, Japanese and Chinese.
//!
//! A cue matches anywhere in the [normalized](crate::text::normalize) text, so German compounds
//! (`Rückerstattung`) and CJK text without spaces are found. A cue written with a space at an
//! end (`" reso "`) matches only at a word boundary, for short words that hide inside others.

use crate::text::normalize;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

/// A customer-service issue a message can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    WhereIsMyOrder,
    Refund,
    Return,
    Cancel,
    AddressChange,
    Invoice,
    Damaged,
}

impl Topic {
    /// Every topic, in a fixed order.
    pub const ALL: [Topic; 7] = [
        Topic::WhereIsMyOrder,
        Topic::Refund,
        Topic::Return,
        Topic::Cancel,
        Topic::AddressChange,
        Topic::Invoice,
        Topic::Damaged,
    ];

    /// The topic's name, as ticket categories and evidence write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::WhereIsMyOrder => "where-is-my-order",
            Topic::Refund => "refund",
            Topic::Return => "return",
            Topic::Cancel => "cancel",
            Topic::AddressChange => "address-change",
            Topic::Invoice => "invoice",
            Topic::Damaged => "damaged",
        }
    }

    /// The topic a ticket category names (`refund`, `where_is_my_order`, `Cancellation`, ...).
    pub fn from_category(category: &str) -> Option<Topic> {
        let slug: String = normalize(category).split(' ').collect::<Vec<_>>().join("-");
        match slug.as_str() {
            "where-is-my-order" | "wismo" | "shipping" | "delivery" | "tracking" => Some(Topic::WhereIsMyOrder),
            "refund" | "refunds" => Some(Topic::Refund),
            "return" | "returns" => Some(Topic::Return),
            "cancel" | "cancellation" | "cancelation" => Some(Topic::Cancel),
            "address-change" | "address" | "change-address" => Some(Topic::AddressChange),
            "invoice" | "invoices" | "billing" => Some(Topic::Invoice),
            "damaged" | "damage" | "defect" | "defective" | "broken" => Some(Topic::Damaged),
            _ => None,
        }
    }

    /// The cue phrases of this topic. Written as a customer would; they go through
    /// [`normalize`] before matching, like the text.
    fn cues(self) -> &'static [&'static str] {
        match self {
            Topic::WhereIsMyOrder => &[
                // en
                "where is my order",
                "where's my order",
                "where is my package",
                "where is my parcel",
                "not arrived",
                "hasn't arrived",
                "has not arrived",
                "not received",
                "haven't received",
                "not been delivered",
                "not delivered",
                "still waiting",
                "tracking",
                "delivery status",
                // de
                "wo ist mein paket",
                "wo ist meine bestellung",
                "wo bleibt",
                "nicht angekommen",
                "nicht erhalten",
                "noch nicht geliefert",
                "sendungsverfolgung",
                "lieferstatus",
                // fr
                "où est mon colis",
                "ou est mon colis",
                "où est ma commande",
                "ou est ma commande",
                "pas reçu",
                "pas encore reçu",
                "jamais reçu",
                "pas arrivé",
                "toujours pas arrivé",
                "suivi de colis",
                "numéro de suivi",
                // es
                "dónde está mi pedido",
                "donde esta mi pedido",
                "dónde está mi paquete",
                "no he recibido",
                "no ha llegado",
                "no recibí",
                "seguimiento del pedido",
                // it
                "dov'è il mio ordine",
                "dov'è il mio pacco",
                "dove è il mio ordine",
                "non ho ricevuto",
                "non è arrivato",
                "non e arrivato",
                "tracciamento",
                // ja
                "届かない",
                "届いていない",
                "届いてない",
                "届きません",
                "まだ届",
                "配送状況",
                "追跡",
                "荷物はどこ",
                // zh
                "没收到",
                "沒收到",
                "未收到",
                "还没到",
                "還沒到",
                "物流",
                "快递",
                "快遞",
                "到哪",
            ],
            Topic::Refund => &[
                "refund",
                "money back",
                "reimburse", // en
                "erstattung",
                "geld zurück",
                "rückzahlung", // de
                "rembours",    // fr
                "reembolso",
                "devolver el dinero",
                "devolución del dinero", // es
                "rimbors",               // it
                "返金",
                "払い戻し", // ja
                "退款",
                "退钱",
                "退錢", // zh
            ],
            Topic::Return => &[
                " return",
                "send back",
                "send it back", // en
                "rücksendung",
                "zurücksenden",
                "zurückschicken",
                "retoure",
                "umtausch", // de
                " retour",
                "renvoyer", // fr
                "devolución",
                "devolucion",
                "devolver", // es
                " reso ",
                "restituire",
                "restituzione", // it
                "返品",
                "返送", // ja
                "退货",
                "退貨",
                "退回", // zh
            ],
            Topic::Cancel => &[
                "cancel", // en; es "cancelar", it "cancellare"
                "storn",
                "abbestellen", // de
                "annul",       // fr "annuler", it "annullare"
                "anular",      // es
                "キャンセル",
                "取り消", // ja
                "取消",
                "撤销",
                "撤銷", // zh
            ],
            Topic::AddressChange => &[
                "change address",
                "change my address",
                "change the address",
                "change of address",
                "address change",
                "wrong address",
                "new address",
                "update my address",
                "shipping address", // en
                "adressänderung",
                "adresse ändern",
                "anschrift ändern",
                "falsche adresse",
                "neue adresse",
                "lieferadresse", // de
                "changer d'adresse",
                "changement d'adresse",
                "modifier l'adresse",
                "mauvaise adresse",
                "nouvelle adresse",
                "adresse de livraison", // fr
                "cambiar la dirección",
                "cambiar dirección",
                "cambio de dirección",
                "dirección incorrecta",
                "nueva dirección",
                "dirección de envío", // es
                "cambiare indirizzo",
                "cambio indirizzo",
                "cambio di indirizzo",
                "modificare l'indirizzo",
                "indirizzo sbagliato",
                "nuovo indirizzo",
                "indirizzo di spedizione", // it
                "住所変更",
                "住所を変更",
                "住所の変更",
                "住所が間違",
                "届け先", // ja
                "修改地址",
                "更改地址",
                "改地址",
                "地址错",
                "地址錯",
                "收货地址",
                "收貨地址", // zh
            ],
            Topic::Invoice => &[
                "invoice",
                "receipt",
                " vat ", // en
                "rechnung",
                "quittung",
                " mwst",   // de
                "facture", // fr
                "factura",
                "recibo", // es
                "fattura",
                "ricevuta", // it
                "領収書",
                "請求書",
                "インボイス", // ja
                "发票",
                "發票",
                "收据",
                "收據", // zh
            ],
            Topic::Damaged => &[
                "damaged",
                "broken",
                "defect",
                "faulty",
                "cracked",
                "not working",
                "doesn't work", // en
                "beschädigt",
                "kaputt",
                "defekt",
                "zerbrochen",
                "funktioniert nicht", // de
                "endommagé",
                "abîmé",
                "cassé",
                "défectueux",
                "ne fonctionne pas",
                "ne marche pas", // fr
                "dañado",
                " roto ",
                " rota ",
                "defectuoso",
                "no funciona", // es
                "danneggiato",
                " rotto ",
                "difettoso",
                "non funziona", // it
                "破損",
                "壊れ",
                "故障",
                "不良品", // ja
                "损坏",
                "損壞",
                "破损",
                "坏了",
                "壞了",
                "质量问题", // zh
            ],
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The topics whose cues occur in `text`.
pub fn topics_of(text: &str) -> BTreeSet<Topic> {
    let padded = format!(" {} ", normalize(text));
    normalized_cues()
        .iter()
        .filter(|(_, cues)| cues.iter().any(|cue| padded.contains(cue.as_str())))
        .map(|(topic, _)| *topic)
        .collect()
}

/// Every topic's cues, normalized like text once per instance, keeping the spaces at a cue's
/// ends that ask for a word boundary.
fn normalized_cues() -> &'static [(Topic, Vec<String>)] {
    static CUES: OnceLock<Vec<(Topic, Vec<String>)>> = OnceLock::new();
    CUES.get_or_init(|| {
        Topic::ALL
            .into_iter()
            .map(|topic| {
                let cues = topic
                    .cues()
                    .iter()
                    .map(|cue| {
                        let lead = if cue.starts_with(' ') { " " } else { "" };
                        let trail = if cue.ends_with(' ') { " " } else { "" };
                        format!("{lead}{}{trail}", normalize(cue))
                    })
                    .collect();
                (topic, cues)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Topic::*;

    #[test]
    fn finds_topics_in_seven_languages() {
        let cases: &[(&str, &[Topic])] = &[
            ("Where is my order? It has not arrived yet.", &[WhereIsMyOrder]),
            ("Wo ist mein Paket? Noch nicht angekommen.", &[WhereIsMyOrder]),
            ("Bonjour, je n'ai toujours pas reçu mon colis", &[WhereIsMyOrder]),
            ("¿Dónde está mi pedido?", &[WhereIsMyOrder]),
            ("Non ho ricevuto il pacco", &[WhereIsMyOrder]),
            ("商品がまだ届きません", &[WhereIsMyOrder]),
            ("我的快递还没到", &[WhereIsMyOrder]),
            ("I would like a refund please", &[Refund]),
            ("Bitte um Rückerstattung", &[Refund]),
            ("Je souhaite être remboursé", &[Refund]),
            ("Quiero un reembolso", &[Refund]),
            ("Vorrei un rimborso", &[Refund]),
            ("返金をお願いします", &[Refund]),
            ("请退款", &[Refund]),
            ("How do I return the shoes?", &[Return]),
            ("Rücksendung der Schuhe", &[Return]),
            ("Reso ordine", &[Return]),
            ("返品したいです", &[Return]),
            ("申请退货", &[Return]),
            ("Please cancel my order", &[Cancel]),
            ("Bestellung stornieren", &[Cancel]),
            ("Je voudrais annuler ma commande", &[Cancel]),
            ("注文をキャンセルしたい", &[Cancel]),
            ("取消订单", &[Cancel]),
            ("I need to change my address", &[AddressChange]),
            ("Adressänderung", &[AddressChange]),
            ("changer d'adresse de livraison", &[AddressChange]),
            ("住所変更をお願いします", &[AddressChange]),
            ("修改地址", &[AddressChange]),
            ("Can I get an invoice with VAT?", &[Invoice]),
            ("Rechnung fehlt", &[Invoice]),
            ("Besoin d'une facture", &[Invoice]),
            ("領収書を発行してください", &[Invoice]),
            ("需要发票", &[Invoice]),
            ("The lamp arrived broken", &[Damaged]),
            ("Die Lampe ist kaputt", &[Damaged]),
            ("La lampe est arrivée cassée", &[Damaged]),
            ("La lámpara llegó rota", &[Damaged]),
            ("商品が破損していました", &[Damaged]),
            ("收到的灯坏了", &[Damaged]),
            ("It arrived broken, I want a refund", &[Refund, Damaged]),
            // Nothing to find, and short cues that must not fire inside other words.
            ("Do you ship to Norway?", &[]),
            ("Preso nota, grazie", &[]),
            ("Protocol question", &[]),
            ("", &[]),
        ];
        for (text, expected) in cases {
            let found: Vec<Topic> = topics_of(text).into_iter().collect();
            assert_eq!(found, *expected, "{text:?}");
        }
    }

    #[test]
    fn reads_ticket_categories() {
        assert_eq!(Topic::from_category("where-is-my-order"), Some(WhereIsMyOrder));
        assert_eq!(Topic::from_category("Where_Is_My_Order"), Some(WhereIsMyOrder));
        assert_eq!(Topic::from_category("Cancellation"), Some(Cancel));
        assert_eq!(Topic::from_category("product-question"), None);
    }
}
