//! A seeded generator of buyer traffic with ground truth: JSON lines for the `json` channel and
//! a truth file naming the true customer and the true issue of every message.
//!
//! Buyers live in DE, FR, ES, IT, GB, US, JP and CN, with names, addresses, postcodes, emails
//! and phone numbers of their country. They behave like real buyers:
//! - an issue (a late parcel, a damaged or wrong item, a refund, a cancellation, a question)
//!   is raised on one channel and followed up on others: an email, then an Instagram message
//!   about the same late parcel;
//! - a mail is forwarded again when nobody answered (a duplicate of the same issue);
//! - names are written with typos, without accents, family name first, with an initial or a
//!   nickname; phones in national and international formats; Gmail addresses with dots and
//!   `+tags` added or removed;
//! - a buyer may have two orders with two different problems at once;
//! - some buyers share a household address (same family name, different first name): they are
//!   different customers;
//! - many write in their own language, some in English.
//!
//! Every channel carries only what it really carries: a marketplace message has a buyer id, a
//! name and the order (and the order's shipping address, which the connector reads from the
//! marketplace), not an email; Instagram and Facebook have a handle and a display name; SMS has
//! a phone number; an email has its address, and the order number when the text names it (the
//! email channel extracts it); a chat has the name and email of its pre-chat form.
//!
//! The same seed gives the same traffic, byte for byte ([`Rng`] is a SplitMix64, written here
//! so that the output does not depend on another crate's algorithm choices).

use serde::Serialize;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateOptions {
    /// How many real customers write (each writes at least once when there are enough messages).
    pub customers: usize,
    /// How many messages in all.
    pub messages: usize,
    /// The seed: the same seed gives the same traffic.
    pub seed: u64,
}

/// What went wrong generating or writing traffic.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The options cannot produce traffic.
    #[error("invalid options: {0}")]
    Options(String),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The true customer and issue of one message, one line of the truth file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TruthLine {
    /// The message id, as in the traffic.
    pub message: String,
    /// The true customer.
    pub customer: String,
    /// The true issue (unique across customers).
    pub issue: String,
}

/// Generated traffic: one JSON object per message in time order, and its truth.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Lines in the `json` channel's format.
    pub lines: Vec<Value>,
    /// One truth line per message, in the same order.
    pub truth: Vec<TruthLine>,
    /// The orders the issues are about, as the seller's order export has them
    /// ([`weft_sdk::Order`], for `weft import orders`), oldest first.
    pub orders: Vec<Value>,
}

impl Traffic {
    /// Writes the traffic and the truth as JSON lines.
    pub fn write(&self, out: &Path, truth: &Path) -> Result<(), GenerateError> {
        write_lines(out, self.lines.iter())?;
        let truth_values: Vec<Value> = self
            .truth
            .iter()
            .map(|t| json!({"message": t.message, "customer": t.customer, "issue": t.issue}))
            .collect();
        write_lines(truth, truth_values.iter())
    }

    /// Writes the orders as JSON lines.
    pub fn write_orders(&self, path: &Path) -> Result<(), GenerateError> {
        write_lines(path, self.orders.iter())
    }
}

fn write_lines<'a>(path: &Path, values: impl Iterator<Item = &'a Value>) -> Result<(), GenerateError> {
    let failed = |source| GenerateError::Write {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::create(path).map_err(failed)?;
    let mut out = std::io::BufWriter::new(file);
    for value in values {
        serde_json::to_writer(&mut out, value).map_err(|e| failed(e.into()))?;
        out.write_all(b"\n").map_err(failed)?;
    }
    out.flush().map_err(failed)
}

/// SplitMix64: small, fast, and good enough for test traffic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `n` random decimal digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

/// What a country's buyers look like.
struct Country {
    code: &'static str,
    lang: &'static str,
    given: &'static [&'static str],
    family: &'static [&'static str],
    /// Latin spellings of `given` and `family`, for CJK names written in Latin letters.
    romanized: Option<(&'static [&'static str], &'static [&'static str])>,
    /// City, postcode stem, region.
    cities: &'static [(&'static str, &'static str, &'static str)],
    streets: &'static [&'static str],
    calling_code: &'static str,
    /// Mobile prefixes in national form (with the trunk prefix), and how many digits follow.
    mobile: &'static [&'static str],
    mobile_rest: usize,
    mail_domains: &'static [&'static str],
    amazon: &'static str,
    ebay: &'static str,
}

const DE: Country = Country {
    code: "DE",
    lang: "de",
    given: &[
        "Lukas",
        "Anna",
        "Jürgen",
        "Sophie",
        "Maximilian",
        "Katharina",
        "Felix",
        "Marie",
        "Stefan",
        "Lena",
        "Jörg",
        "Hannah",
        "Tobias",
        "Julia",
        "Matthias",
        "Sabine",
        "Uwe",
        "Birgit",
        "Moritz",
        "Leonie",
    ],
    family: &[
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Groß",
        "Köhler",
        "Schäfer",
        "Krüger",
        "Neumann",
        "Zimmermann",
        "Braun",
        "Hartmann",
        "Lange",
        "Vogel",
    ],
    romanized: None,
    cities: &[
        ("Berlin", "10", ""),
        ("München", "80", ""),
        ("Hamburg", "20", ""),
        ("Köln", "50", ""),
        ("Frankfurt am Main", "60", ""),
        ("Leipzig", "04", ""),
        ("Stuttgart", "70", ""),
        ("Düsseldorf", "40", ""),
    ],
    streets: &[
        "Hauptstraße",
        "Bahnhofstraße",
        "Gartenweg",
        "Schillerstraße",
        "Goethestraße",
        "Lindenallee",
        "Kirchgasse",
        "Friedrichstraße",
        "Am Markt",
        "Bergstraße",
    ],
    calling_code: "49",
    mobile: &["0151", "0160", "0170", "0176", "0157"],
    mobile_rest: 8,
    mail_domains: &["gmail.com", "web.de", "gmx.de", "t-online.de", "posteo.de"],
    amazon: "amazon.de",
    ebay: "ebay.de",
};

const FR: Country = Country {
    code: "FR",
    lang: "fr",
    given: &[
        "Jean",
        "Marie",
        "Camille",
        "Léa",
        "François",
        "Hélène",
        "Nicolas",
        "Chloé",
        "Antoine",
        "Zoé",
        "Mathieu",
        "Élodie",
        "Julien",
        "Margaux",
        "Sébastien",
        "Inès",
    ],
    family: &[
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Lefèvre",
        "Girard", "Rousseau", "Fournier", "Mercier", "Faure",
    ],
    romanized: None,
    cities: &[
        ("Paris", "75", ""),
        ("Lyon", "69", ""),
        ("Marseille", "13", ""),
        ("Toulouse", "31", ""),
        ("Lille", "59", ""),
        ("Nantes", "44", ""),
    ],
    streets: &[
        "rue de la Paix",
        "avenue Jean Jaurès",
        "boulevard Voltaire",
        "rue Victor Hugo",
        "rue des Lilas",
        "place de la République",
        "rue du Moulin",
    ],
    calling_code: "33",
    mobile: &["06", "07"],
    mobile_rest: 8,
    mail_domains: &["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"],
    amazon: "amazon.fr",
    ebay: "ebay.fr",
};

const ES: Country = Country {
    code: "ES",
    lang: "es",
    given: &[
        "José",
        "María",
        "Javier",
        "Lucía",
        "Alejandro",
        "Carmen",
        "Pablo",
        "Sofía",
        "Íñigo",
        "Begoña",
        "Andrés",
        "Elena",
        "Raúl",
        "Nuria",
    ],
    family: &[
        "García",
        "Fernández",
        "González",
        "Rodríguez",
        "López",
        "Martínez",
        "Sánchez",
        "Pérez",
        "Gómez",
        "Núñez",
        "Jiménez",
        "Ruiz",
        "Díaz",
        "Moreno",
    ],
    romanized: None,
    cities: &[
        ("Madrid", "28", ""),
        ("Barcelona", "08", ""),
        ("Valencia", "46", ""),
        ("Sevilla", "41", ""),
        ("Bilbao", "48", ""),
    ],
    streets: &[
        "Calle Mayor",
        "Avenida de la Constitución",
        "Calle de Alcalá",
        "Calle del Sol",
        "Paseo de Gracia",
        "Calle Real",
    ],
    calling_code: "34",
    mobile: &["6", "7"],
    mobile_rest: 8,
    mail_domains: &["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"],
    amazon: "amazon.es",
    ebay: "ebay.es",
};

const IT: Country = Country {
    code: "IT",
    lang: "it",
    given: &[
        "Giuseppe",
        "Francesca",
        "Marco",
        "Giulia",
        "Alessandro",
        "Chiara",
        "Luca",
        "Sara",
        "Niccolò",
        "Federica",
        "Matteo",
        "Valentina",
    ],
    family: &[
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "D'Angelo", "Conti",
        "De Luca", "Gallo",
    ],
    romanized: None,
    cities: &[
        ("Roma", "00", ""),
        ("Milano", "20", ""),
        ("Napoli", "80", ""),
        ("Torino", "10", ""),
        ("Firenze", "50", ""),
    ],
    streets: &[
        "Via Roma",
        "Corso Italia",
        "Piazza Garibaldi",
        "Via Giuseppe Verdi",
        "Via Dante",
        "Viale Europa",
    ],
    calling_code: "39",
    mobile: &["320", "333", "347", "349"],
    mobile_rest: 7,
    mail_domains: &["gmail.com", "libero.it", "virgilio.it", "tiscali.it"],
    amazon: "amazon.it",
    ebay: "ebay.it",
};

const GB: Country = Country {
    code: "GB",
    lang: "en",
    given: &[
        "Oliver",
        "Amelia",
        "Harry",
        "Olivia",
        "George",
        "Isla",
        "Jack",
        "Emily",
        "Charlotte",
        "Thomas",
        "William",
        "Elizabeth",
    ],
    family: &[
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "O'Brien", "Thompson", "Walker",
        "Wright",
    ],
    romanized: None,
    cities: &[
        ("London", "SW1A E1 N1 SE1 NW3 W2", ""),
        ("Manchester", "M1 M4 M14", ""),
        ("Birmingham", "B1 B5 B15", ""),
        ("Leeds", "LS1 LS6", ""),
        ("Glasgow", "G1 G12", ""),
        ("Bristol", "BS1 BS8", ""),
    ],
    streets: &[
        "High Street",
        "Station Road",
        "Church Lane",
        "Victoria Road",
        "Park Avenue",
        "Queen Street",
    ],
    calling_code: "44",
    mobile: &["07700", "07911", "07400", "07555"],
    mobile_rest: 6,
    mail_domains: &["gmail.com", "outlook.com", "btinternet.com", "yahoo.co.uk"],
    amazon: "amazon.co.uk",
    ebay: "ebay.co.uk",
};

const US: Country = Country {
    code: "US",
    lang: "en",
    given: &[
        "James",
        "Mary",
        "Michael",
        "Jennifer",
        "Robert",
        "Linda",
        "William",
        "Elizabeth",
        "Christopher",
        "Jessica",
        "Daniel",
        "Ashley",
    ],
    family: &[
        "Johnson",
        "Smith",
        "Williams",
        "Brown",
        "Miller",
        "Davis",
        "Garcia",
        "Rodriguez",
        "Martinez",
        "Anderson",
        "Taylor",
        "Nguyen",
    ],
    romanized: None,
    cities: &[
        ("New York", "100", "NY"),
        ("Los Angeles", "900", "CA"),
        ("Chicago", "606", "IL"),
        ("Houston", "770", "TX"),
        ("Seattle", "981", "WA"),
    ],
    streets: &[
        "Main Street",
        "Oak Avenue",
        "Maple Street",
        "Washington Boulevard",
        "Park Avenue",
        "Elm Road",
    ],
    calling_code: "1",
    mobile: &["212", "310", "312", "713", "206"],
    mobile_rest: 7,
    mail_domains: &["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
    amazon: "amazon.com",
    ebay: "ebay.com",
};

const JP: Country = Country {
    code: "JP",
    lang: "ja",
    given: &[
        "太郎",
        "花子",
        "翔太",
        "陽菜",
        "健",
        "美咲",
        "大輔",
        "さくら",
        "直樹",
        "由美",
    ],
    family: &[
        "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    ],
    romanized: Some((
        &[
            "Taro", "Hanako", "Shota", "Hina", "Ken", "Misaki", "Daisuke", "Sakura", "Naoki", "Yumi",
        ],
        &[
            "Sato",
            "Suzuki",
            "Takahashi",
            "Tanaka",
            "Ito",
            "Watanabe",
            "Yamamoto",
            "Nakamura",
            "Kobayashi",
            "Kato",
        ],
    )),
    cities: &[
        ("東京都渋谷区", "150", ""),
        ("大阪府大阪市北区", "530", ""),
        ("神奈川県横浜市西区", "220", ""),
        ("京都府京都市中京区", "604", ""),
        ("北海道札幌市中央区", "060", ""),
    ],
    streets: &["神南", "梅田", "みなとみらい", "河原町", "大通西", "道玄坂"],
    calling_code: "81",
    mobile: &["090", "080", "070"],
    mobile_rest: 8,
    mail_domains: &["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "icloud.com"],
    amazon: "amazon.co.jp",
    ebay: "ebay.com",
};

const CN: Country = Country {
    code: "CN",
    lang: "zh",
    given: &["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "军", "杰"],
    family: &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"],
    romanized: Some((
        &[
            "Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Yang", "Yan", "Jun", "Jie",
        ],
        &[
            "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
        ],
    )),
    cities: &[
        ("北京市朝阳区", "1000", ""),
        ("上海市浦东新区", "2001", ""),
        ("广东省广州市天河区", "5106", ""),
        ("广东省深圳市南山区", "5180", ""),
        ("浙江省杭州市西湖区", "3100", ""),
    ],
    streets: &["建国路", "世纪大道", "天河路", "科技园路", "文三路", "中山路"],
    calling_code: "86",
    mobile: &["138", "139", "186", "135", "159"],
    mobile_rest: 8,
    mail_domains: &["qq.com", "163.com", "126.com", "gmail.com"],
    amazon: "amazon.cn",
    ebay: "ebay.com",
};

/// Countries with their share of buyers (in tenths of a percent).
const COUNTRIES: &[(&Country, u32)] = &[
    (&DE, 280),
    (&FR, 150),
    (&ES, 110),
    (&IT, 100),
    (&GB, 120),
    (&US, 120),
    (&JP, 70),
    (&CN, 50),
];

const US_NICKNAMES: &[(&str, &str)] = &[
    ("William", "Bill"),
    ("Robert", "Bob"),
    ("Elizabeth", "Liz"),
    ("Christopher", "Chris"),
    ("Michael", "Mike"),
    ("James", "Jim"),
    ("Daniel", "Dan"),
    ("Jennifer", "Jen"),
    ("Thomas", "Tom"),
];

/// What an issue is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Late,
    Damaged,
    Wrong,
    Refund,
    Cancel,
    Question,
}

const PROBLEMS: &[(Problem, u32)] = &[
    (Problem::Late, 40),
    (Problem::Damaged, 15),
    (Problem::Wrong, 10),
    (Problem::Refund, 15),
    (Problem::Cancel, 10),
    (Problem::Question, 10),
];

/// Subject and body of a first message, by language and problem; `{o}` is the order number.
fn first_text(lang: &str, problem: Problem) -> (&'static str, &'static str) {
    use Problem::*;
    match (lang, problem) {
        ("de", Late) => (
            "Wo bleibt meine Bestellung?",
            "Hallo, meine Bestellung {o} ist immer noch nicht angekommen. Die Sendungsverfolgung zeigt seit Tagen nichts Neues. Wann kommt das Paket?",
        ),
        ("de", Damaged) => (
            "Ware beschädigt angekommen",
            "Guten Tag, das Paket zur Bestellung {o} kam heute an, aber der Artikel ist zerbrochen. Ich habe Fotos gemacht. Bitte um Ersatz.",
        ),
        ("de", Wrong) => (
            "Falscher Artikel geliefert",
            "Hallo, ich habe mit Bestellung {o} den falschen Artikel bekommen: bestellt war die Größe M in Blau, geliefert wurde L in Rot.",
        ),
        ("de", Refund) => (
            "Rückerstattung noch nicht erhalten",
            "Hallo, ich habe die Ware aus Bestellung {o} vor zwei Wochen zurückgeschickt und noch keine Rückerstattung erhalten.",
        ),
        ("de", Cancel) => (
            "Bestellung stornieren",
            "Bitte stornieren Sie meine Bestellung {o}, ich habe mich versehentlich doppelt bestellt.",
        ),
        ("de", Question) => (
            "Frage zum Artikel",
            "Hallo, ist der Rucksack aus Bestellung {o} wasserdicht und passt ein 15-Zoll-Laptop hinein?",
        ),
        ("fr", Late) => (
            "Où est ma commande ?",
            "Bonjour, ma commande {o} n'est toujours pas arrivée. Le suivi n'a pas bougé depuis une semaine. Quand vais-je recevoir le colis ?",
        ),
        ("fr", Damaged) => (
            "Article arrivé cassé",
            "Bonjour, le colis de la commande {o} est arrivé abîmé et l'article est cassé. J'ai des photos. Pouvez-vous le remplacer ?",
        ),
        ("fr", Wrong) => (
            "Mauvais article reçu",
            "Bonjour, j'ai reçu le mauvais article pour la commande {o} : j'avais commandé du bleu en taille M et j'ai reçu du rouge en L.",
        ),
        ("fr", Refund) => (
            "Remboursement non reçu",
            "Bonjour, j'ai renvoyé les articles de la commande {o} il y a deux semaines et je n'ai toujours pas été remboursé.",
        ),
        ("fr", Cancel) => (
            "Annuler ma commande",
            "Bonjour, merci d'annuler la commande {o}, je l'ai passée deux fois par erreur.",
        ),
        ("fr", Question) => (
            "Question sur un article",
            "Bonjour, le sac à dos de la commande {o} est-il imperméable ? Un ordinateur de 15 pouces rentre-t-il dedans ?",
        ),
        ("es", Late) => (
            "¿Dónde está mi pedido?",
            "Hola, mi pedido {o} todavía no ha llegado. El seguimiento no se ha actualizado desde hace días. ¿Cuándo llegará el paquete?",
        ),
        ("es", Damaged) => (
            "Producto llegó dañado",
            "Buenas tardes, el paquete del pedido {o} llegó con el producto roto. Tengo fotos. ¿Me pueden enviar otro?",
        ),
        ("es", Wrong) => (
            "Artículo equivocado",
            "Hola, en el pedido {o} me enviaron un artículo equivocado: pedí la talla M en azul y recibí la L en rojo.",
        ),
        ("es", Refund) => (
            "No he recibido el reembolso",
            "Hola, devolví los artículos del pedido {o} hace dos semanas y todavía no he recibido el reembolso.",
        ),
        ("es", Cancel) => (
            "Cancelar pedido",
            "Por favor cancelen mi pedido {o}, lo hice dos veces por error.",
        ),
        ("es", Question) => (
            "Pregunta sobre un producto",
            "Hola, ¿la mochila del pedido {o} es impermeable? ¿Cabe un portátil de 15 pulgadas?",
        ),
        ("it", Late) => (
            "Dov'è il mio ordine?",
            "Buongiorno, il mio ordine {o} non è ancora arrivato. Il tracciamento è fermo da giorni. Quando arriverà il pacco?",
        ),
        ("it", Damaged) => (
            "Prodotto arrivato danneggiato",
            "Salve, il pacco dell'ordine {o} è arrivato con l'articolo rotto. Ho delle foto. Potete sostituirlo?",
        ),
        ("it", Wrong) => (
            "Articolo sbagliato",
            "Buongiorno, con l'ordine {o} ho ricevuto l'articolo sbagliato: avevo ordinato la taglia M blu, è arrivata la L rossa.",
        ),
        ("it", Refund) => (
            "Rimborso non ricevuto",
            "Salve, ho restituito gli articoli dell'ordine {o} due settimane fa e non ho ancora ricevuto il rimborso.",
        ),
        ("it", Cancel) => (
            "Annullare l'ordine",
            "Per favore annullate il mio ordine {o}, l'ho effettuato due volte per errore.",
        ),
        ("it", Question) => (
            "Domanda su un articolo",
            "Salve, lo zaino dell'ordine {o} è impermeabile? Ci sta un portatile da 15 pollici?",
        ),
        ("ja", Late) => (
            "注文した商品が届きません",
            "注文番号{o}の商品がまだ届きません。追跡情報も数日間更新されていません。いつ届きますか？",
        ),
        ("ja", Damaged) => (
            "商品が破損していました",
            "注文{o}の荷物が本日届きましたが、商品が壊れていました。写真があります。交換をお願いします。",
        ),
        ("ja", Wrong) => (
            "違う商品が届きました",
            "注文{o}で違う商品が届きました。青のMサイズを注文しましたが、赤のLサイズが届きました。",
        ),
        ("ja", Refund) => (
            "返金がまだです",
            "注文{o}の商品を二週間前に返品しましたが、まだ返金されていません。",
        ),
        ("ja", Cancel) => (
            "注文のキャンセル",
            "誤って二重に注文してしまったので、注文{o}をキャンセルしてください。",
        ),
        ("ja", Question) => (
            "商品についての質問",
            "注文{o}のリュックは防水ですか？15インチのノートパソコンは入りますか？",
        ),
        ("zh", Late) => (
            "我的订单还没到",
            "你好，我的订单{o}到现在还没有收到，物流信息好几天没有更新了。请问什么时候能到？",
        ),
        ("zh", Damaged) => (
            "商品到货损坏",
            "你好，订单{o}的包裹今天到了，但是商品坏了。我拍了照片，请给我换一个。",
        ),
        ("zh", Wrong) => ("发错货了", "你好，订单{o}发错货了：我买的是蓝色M码，收到的是红色L码。"),
        ("zh", Refund) => (
            "还没有收到退款",
            "你好，订单{o}的商品两周前已经退回，但是还没有收到退款。",
        ),
        ("zh", Cancel) => ("取消订单", "请帮我取消订单{o}，我不小心下了两次单。"),
        ("zh", Question) => ("商品咨询", "你好，订单{o}的背包防水吗？能放下15寸的笔记本电脑吗？"),
        (_, Late) => (
            "Where is my order?",
            "Hi, my order {o} still hasn't arrived. The tracking hasn't updated in days. When will I get the parcel?",
        ),
        (_, Damaged) => (
            "Item arrived damaged",
            "Hello, the parcel for order {o} arrived today but the item is broken. I have photos. Can you send a replacement?",
        ),
        (_, Wrong) => (
            "Wrong item received",
            "Hi, I received the wrong item with order {o}: I ordered size M in blue and got size L in red.",
        ),
        (_, Refund) => (
            "Refund not received",
            "Hello, I sent back the items from order {o} two weeks ago and still have not received my refund.",
        ),
        (_, Cancel) => (
            "Cancel my order",
            "Please cancel my order {o}, I placed it twice by mistake.",
        ),
        (_, Question) => (
            "Question about an item",
            "Hi, is the backpack from order {o} waterproof? Does a 15 inch laptop fit in it?",
        ),
    }
}

/// A follow-up on an issue already raised, by language; `{o}` is the order number.
fn follow_up_text(lang: &str, problem: Problem) -> &'static str {
    use Problem::*;
    match (lang, problem) {
        ("de", Late) => {
            "Ich habe schon geschrieben: mein Paket zur Bestellung {o} ist immer noch nicht da. Gibt es Neuigkeiten zur Lieferung?"
        }
        ("de", Refund) => {
            "Noch einmal wegen der Rückerstattung für {o}: bisher ist kein Geld auf meinem Konto eingegangen."
        }
        ("de", _) => "Ich warte noch auf eine Antwort zu meiner Bestellung {o}. Bitte melden Sie sich.",
        ("fr", Late) => {
            "Je vous ai déjà écrit : mon colis de la commande {o} n'est toujours pas livré. Avez-vous des nouvelles ?"
        }
        ("fr", Refund) => "Je reviens vers vous pour le remboursement de {o} : je n'ai toujours rien reçu.",
        ("fr", _) => "J'attends toujours une réponse concernant ma commande {o}. Merci de me répondre.",
        ("es", Late) => "Ya les escribí: el paquete del pedido {o} sigue sin llegar. ¿Hay novedades del envío?",
        ("es", Refund) => "Otra vez sobre el reembolso de {o}: todavía no he recibido nada.",
        ("es", _) => "Sigo esperando una respuesta sobre mi pedido {o}. Por favor contéstenme.",
        ("it", Late) => {
            "Vi ho già scritto: il pacco dell'ordine {o} non è ancora arrivato. Ci sono novità sulla spedizione?"
        }
        ("it", Refund) => "Di nuovo per il rimborso di {o}: non ho ancora ricevuto nulla.",
        ("it", _) => "Sto ancora aspettando una risposta sul mio ordine {o}. Per favore rispondetemi.",
        ("ja", Late) => "先日も連絡しましたが、注文{o}の荷物がまだ届きません。配送状況を教えてください。",
        ("ja", Refund) => "注文{o}の返金について再度ご連絡します。まだ入金がありません。",
        ("ja", _) => "注文{o}について、まだ返信をいただいていません。ご対応をお願いします。",
        ("zh", Late) => "我之前已经联系过了，订单{o}的包裹还是没有到，请问物流有什么进展吗？",
        ("zh", Refund) => "再次询问订单{o}的退款，我还是没有收到。",
        ("zh", _) => "关于订单{o}我还在等回复，请尽快处理。",
        (_, Late) => {
            "I already wrote about this: my parcel for order {o} still has not been delivered. Any news on the shipment?"
        }
        (_, Refund) => "Following up on the refund for {o}: I still have not received anything.",
        (_, _) => "I'm still waiting for an answer about my order {o}. Please get back to me.",
    }
}

/// A buyer's marketplace or shop, and the shape of its order numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shop {
    Amazon,
    Ebay,
    Own,
}

/// A real buyer.
struct Buyer {
    id: String,
    country: &'static Country,
    given: usize,
    family: usize,
    /// A second family name (Spanish buyers): written sometimes, left out other times.
    family2: Option<usize>,
    email: Option<String>,
    /// A second address some buyers write from (work, an old account).
    other_email: Option<String>,
    /// National significant number (without trunk prefix) and its national prefix.
    mobile: Option<(String, String)>,
    address: PostalLines,
    amazon_id: Option<String>,
    ebay_id: Option<String>,
    instagram: Option<String>,
    facebook: Option<String>,
    english: bool,
}

#[derive(Debug, Clone)]
struct PostalLines {
    street: usize,
    house: String,
    unit: Option<String>,
    city: usize,
    postcode: String,
}

struct Issue {
    id: String,
    order: String,
    shop: Shop,
    problem: Problem,
    start: i64,
    /// When its latest message was written.
    last: i64,
    /// Messages of the issue so far, for replies.
    emails: Vec<String>,
    first: Option<(String, String)>,
}

/// Generates traffic.
pub fn generate(options: &GenerateOptions) -> Result<Traffic, GenerateError> {
    if options.customers == 0 {
        return Err(GenerateError::Options("--customers must be at least 1".into()));
    }
    if options.messages == 0 {
        return Err(GenerateError::Options("--messages must be at least 1".into()));
    }
    let mut rng = Rng::new(options.seed);
    let buyers = make_buyers(&mut rng, options.customers);
    // Every buyer writes once; the rest of the messages go to buyers at random, so that the
    // count per buyer is spread like a Poisson around the mean.
    let mut counts = vec![0usize; buyers.len()];
    for count in counts.iter_mut().take(options.messages) {
        *count = 1;
    }
    for _ in buyers.len().min(options.messages)..options.messages {
        let index = rng.below(buyers.len());
        counts[index] += 1;
    }
    const SPAN_MS: i64 = 90 * 24 * 3_600_000;
    let epoch: i64 = 1_788_220_800_000; // 2026-09-01T00:00:00Z
    let mut out: Vec<(i64, Value, TruthLine)> = Vec::with_capacity(options.messages);
    let mut order_serial = 0u64;
    // Orders come from a stream of their own, so that the messages are the same with or
    // without them.
    let mut order_rng = Rng::new(options.seed ^ 0x6f72_6465_7273);
    let mut orders: Vec<(i64, Value)> = Vec::new();
    for (buyer, count) in buyers.iter().zip(counts) {
        let mut issues: Vec<Issue> = Vec::new();
        for n in 0..count {
            let new_issue = issues.is_empty() || rng.chance(0.25);
            if new_issue {
                order_serial += 1;
                let shop = pick_shop(&mut rng, buyer);
                let start = match issues.last() {
                    // Two orders with two problems at once, or a later one.
                    Some(previous) if rng.chance(0.4) => previous.start + rng.below(6 * 3_600_000) as i64,
                    _ => epoch + (rng.unit() * SPAN_MS as f64) as i64,
                };
                let order = order_number(&mut rng, shop, order_serial);
                orders.push(order_record(&mut order_rng, buyer, shop, &order, start));
                issues.push(Issue {
                    id: format!("{}-i{}", buyer.id, issues.len() + 1),
                    order,
                    shop,
                    problem: weighted(&mut rng, PROBLEMS),
                    start,
                    last: start,
                    emails: Vec::new(),
                    first: None,
                });
            }
            let index = if new_issue || rng.chance(0.7) {
                issues.len() - 1
            } else {
                rng.below(issues.len())
            };
            let issue = &mut issues[index];
            let (at, line) = message(&mut rng, buyer, issue, n);
            let id = line["id"].as_str().unwrap_or_default().to_owned();
            out.push((
                at,
                line,
                TruthLine {
                    message: id,
                    customer: buyer.id.clone(),
                    issue: issue.id.clone(),
                },
            ));
        }
    }
    out.sort_by_key(|(at, ..)| *at);
    let mut lines = Vec::with_capacity(out.len());
    let mut truth = Vec::with_capacity(out.len());
    for (n, (_, mut line, mut t)) in out.into_iter().enumerate() {
        let id = format!("m{:07}", n + 1);
        // Replies name the provisional id of the mail they answer; rename those too.
        line["id"] = Value::String(id.clone());
        t.message = id;
        lines.push(line);
        truth.push(t);
    }
    rename_replies(&mut lines, &truth);
    orders.sort_by_key(|(at, _)| *at);
    Ok(Traffic {
        lines,
        truth,
        orders: orders.into_iter().map(|(_, o)| o).collect(),
    })
}

/// The order an issue is about, as the shop's order export has it, placed hours to days
/// before the issue starts:
/// - the seller's own shop knows the buyer's email, usually the phone, the name and the
///   shipping address;
/// - Amazon gives a seller who ships the order the buyer's name and shipping address, never
///   an email or the buyer's messaging id (orders shipped by Amazon have no address: 30%);
/// - eBay gives the buyer's user name (the buyer id on its messages), name and address.
fn order_record(rng: &mut Rng, buyer: &Buyer, shop: Shop, number: &str, issue_start: i64) -> (i64, Value) {
    let placed_at = issue_start - 3_600_000 - rng.below(10 * 24 * 3_600_000) as i64;
    let mut party = serde_json::Map::new();
    party.insert("name".into(), written_name(rng, buyer, false).into());
    let channel = match shop {
        Shop::Own => {
            if let Some(email) = buyer.email.as_ref().or(buyer.other_email.as_ref()) {
                party.insert("email".into(), email.clone().into());
            }
            if let Some(mobile) = &buyer.mobile
                && rng.chance(0.6)
            {
                party.insert("phone".into(), written_phone(rng, buyer, mobile).into());
            }
            "shopify"
        }
        Shop::Amazon => buyer.country.amazon,
        Shop::Ebay => {
            if let Some(id) = &buyer.ebay_id {
                party.insert("buyer_id".into(), id.clone().into());
            }
            buyer.country.ebay
        }
    };
    let mut order = json!({
        "number": number,
        "channel": channel,
        "placed_at": crate::store::report::rfc3339(placed_at),
        "buyer": Value::Object(party),
    });
    if !(shop == Shop::Amazon && rng.chance(0.3)) {
        order["shipping"] = written_address(rng, buyer);
    }
    (placed_at, order)
}

/// Message ids are given in time order at the end; `replies_to` first names provisional ids
/// (`p<buyer>-<n>`) that are mapped here.
fn rename_replies(lines: &mut [Value], truth: &[TruthLine]) {
    let mut provisional = std::collections::HashMap::new();
    for (line, t) in lines.iter().zip(truth) {
        if let Some(p) = line.get("_p").and_then(Value::as_str) {
            provisional.insert(p.to_owned(), t.message.clone());
        }
    }
    for line in lines.iter_mut() {
        if let Some(object) = line.as_object_mut() {
            object.remove("_p");
            if let Some(Value::Array(replies)) = object.get_mut("replies_to") {
                for reply in replies.iter_mut() {
                    if let Some(real) = reply.as_str().and_then(|p| provisional.get(p)) {
                        *reply = Value::String(real.clone());
                    }
                }
            }
        }
    }
}

fn weighted<T: Copy>(rng: &mut Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.below(total as usize) as u32;
    for (item, weight) in items {
        if roll < *weight {
            return *item;
        }
        roll -= weight;
    }
    items[items.len() - 1].0
}

fn make_buyers(rng: &mut Rng, n: usize) -> Vec<Buyer> {
    let mut buyers: Vec<Buyer> = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("c{:06}", i + 1);
        // About one buyer in twelve lives with an earlier buyer of the same family.
        if i > 0 && rng.chance(0.08) {
            let housemate = &buyers[rng.below(buyers.len())];
            let country = housemate.country;
            let mut given = rng.below(country.given.len());
            if given == housemate.given {
                given = (given + 1) % country.given.len();
            }
            let (family, family2, address) = (housemate.family, housemate.family2, housemate.address.clone());
            let mut buyer = new_buyer(rng, id, country);
            buyer.given = given;
            buyer.family = family;
            buyer.family2 = family2;
            buyer.address = address;
            buyer.email = buyer.email.map(|_| email_for(rng, country, given, family, i));
            buyers.push(buyer);
            continue;
        }
        let country = weighted(rng, COUNTRIES);
        buyers.push(new_buyer(rng, id, country));
    }
    buyers
}

fn new_buyer(rng: &mut Rng, id: String, country: &'static Country) -> Buyer {
    let serial: usize = id[1..].parse().unwrap_or_default();
    let given = rng.below(country.given.len());
    let family = rng.below(country.family.len());
    let family2 = (country.code == "ES").then(|| rng.below(country.family.len()));
    let city = rng.below(country.cities.len());
    let address = PostalLines {
        street: rng.below(country.streets.len()),
        house: house_number(rng, country),
        unit: rng.chance(0.3).then(|| unit(rng, country)),
        city,
        postcode: postcode(rng, country, city),
    };
    let email = rng.chance(0.95).then(|| email_for(rng, country, given, family, serial));
    let other_email = rng
        .chance(0.08)
        .then(|| email_for(rng, country, given, family, serial + 7));
    let mobile = rng.chance(0.9).then(|| mobile_number(rng, country));
    let handle_base = handle_base(rng, country, given, family);
    Buyer {
        id,
        country,
        given,
        family,
        family2,
        email,
        other_email,
        mobile,
        address,
        amazon_id: rng.chance(0.7).then(|| format!("A{}", alnum(rng, 13))),
        ebay_id: rng.chance(0.35).then(|| format!("{}_{}", handle_base, rng.digits(2))),
        instagram: rng.chance(0.5).then(|| handle_base.clone()),
        facebook: rng.chance(0.35).then(|| rng.digits(16)),
        english: country.lang != "en" && rng.chance(0.15),
    }
}

fn alnum(rng: &mut Rng, n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    (0..n).map(|_| char::from(*rng.pick(CHARS))).collect()
}

fn latin_given(country: &Country, given: usize) -> &'static str {
    country.romanized.map_or(country.given[given], |(g, _)| g[given])
}

fn latin_family(country: &Country, family: usize) -> &'static str {
    country.romanized.map_or(country.family[family], |(_, f)| f[family])
}

/// ASCII for an email local part or a handle: accents dropped, German umlauts spelt out.
fn ascii(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'á' | 'à' | 'â' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' | 'É' => out.push('e'),
            'í' | 'ì' | 'î' | 'Í' => out.push('i'),
            'ó' | 'ò' | 'ô' => out.push('o'),
            'ú' | 'ù' => out.push('u'),
            'ñ' => out.push('n'),
            'ç' => out.push('c'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

fn email_for(rng: &mut Rng, country: &Country, given: usize, family: usize, serial: usize) -> String {
    let g = ascii(latin_given(country, given));
    let f = ascii(latin_family(country, family));
    let year = 60 + rng.below(45);
    let local = match rng.below(5) {
        0 => format!("{g}.{f}"),
        1 => format!("{g}{f}{}", year % 100),
        2 => format!("{}.{f}", &g[..1.min(g.len())]),
        3 => format!("{f}.{g}{}", serial % 1000),
        _ => format!("{g}_{f}{}", serial % 100),
    };
    // Distinct people with the same name get distinct mailboxes.
    format!("{local}{}@{}", serial % 97, rng.pick(country.mail_domains))
}

fn handle_base(rng: &mut Rng, country: &Country, given: usize, family: usize) -> String {
    let g = ascii(latin_given(country, given));
    let f = ascii(latin_family(country, family));
    match rng.below(3) {
        0 => format!("{g}.{f}{}", rng.digits(2)),
        1 => format!("{g}_{}{}", &f[..1.min(f.len())], rng.digits(3)),
        _ => format!("{f}{g}{}", rng.digits(2)),
    }
}

fn house_number(rng: &mut Rng, country: &Country) -> String {
    match country.code {
        "JP" => format!("{}-{}-{}", 1 + rng.below(5), 1 + rng.below(30), 1 + rng.below(20)),
        "CN" => format!("{}号", 1 + rng.below(300)),
        "US" => format!("{}", 100 + rng.below(9800)),
        _ if rng.chance(0.1) => format!("{}{}", 1 + rng.below(120), ["a", "b"][rng.below(2)]),
        _ => format!("{}", 1 + rng.below(150)),
    }
}

fn unit(rng: &mut Rng, country: &Country) -> String {
    let n = 1 + rng.below(40);
    match country.code {
        "DE" => format!("Whg. {n}"),
        "FR" => format!("Appartement {n}"),
        "ES" => format!("{}º {}", 1 + rng.below(8), ["A", "B", "C", "D"][rng.below(4)]),
        "IT" => format!("Interno {n}"),
        "GB" => format!("Flat {n}"),
        "US" => format!("Apt {n}"),
        "JP" => format!("{}号室", 100 + n),
        _ => format!("{}室", 100 + n),
    }
}

fn postcode(rng: &mut Rng, country: &Country, city: usize) -> String {
    let stem = country.cities[city].1;
    match country.code {
        "GB" => {
            let outward: Vec<&str> = stem.split(' ').collect();
            const LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
            format!(
                "{} {}{}{}",
                rng.pick(&outward),
                rng.below(10),
                char::from(*rng.pick(LETTERS)),
                char::from(*rng.pick(LETTERS))
            )
        }
        "JP" => format!("{stem}-{}", rng.digits(4)),
        _ => {
            let total = if country.code == "CN" { 6 } else { 5 };
            format!("{stem}{}", rng.digits(total - stem.len()))
        }
    }
}

fn pick_shop(rng: &mut Rng, buyer: &Buyer) -> Shop {
    let mut shops = vec![(Shop::Own, 25)];
    if buyer.amazon_id.is_some() {
        shops.push((Shop::Amazon, 55));
    }
    if buyer.ebay_id.is_some() {
        shops.push((Shop::Ebay, 30));
    }
    weighted(rng, &shops)
}

fn order_number(rng: &mut Rng, shop: Shop, serial: u64) -> String {
    match shop {
        Shop::Amazon => format!("{}-{}-{:07}", 302 + rng.below(400), rng.digits(7), serial % 10_000_000),
        Shop::Ebay => format!("{:02}-{}-{:05}", 10 + rng.below(90), rng.digits(5), serial % 100_000),
        Shop::Own => format!("#{}", 100_000 + serial),
    }
}

/// The order number as a buyer types it in free text: as printed, without dashes, or with a
/// `#` or `Nr.` in front.
fn typed_order(rng: &mut Rng, order: &str) -> String {
    match rng.below(10) {
        0 => order.replace('-', ""),
        1 if !order.starts_with('#') => format!("#{order}"),
        _ => order.to_owned(),
    }
}

/// The buyer's name as written in one message.
fn written_name(rng: &mut Rng, buyer: &Buyer, latin_only: bool) -> String {
    let c = buyer.country;
    if let Some((g, f)) = c.romanized {
        if latin_only || rng.chance(0.15) {
            return if rng.chance(0.5) {
                format!("{} {}", g[buyer.given], f[buyer.family])
            } else {
                format!("{} {}", f[buyer.family].to_uppercase(), g[buyer.given])
            };
        }
        let (family, given) = (c.family[buyer.family], c.given[buyer.given]);
        return match rng.below(4) {
            0 => format!("{family} {given}"),
            1 if c.code == "JP" => format!("{family} {given} 様"),
            _ => format!("{family}{given}"),
        };
    }
    let mut given = c.given[buyer.given].to_owned();
    let mut family = c.family[buyer.family].to_owned();
    if let Some(second) = buyer.family2
        && rng.chance(0.5)
    {
        family = format!("{family} {}", c.family[second]);
    }
    let roll = rng.unit();
    if roll < 0.06 {
        family = typo(rng, &family);
    } else if roll < 0.10 {
        given = typo(rng, &given);
    } else if roll < 0.16 {
        given = ascii_keep_case(&given);
        family = ascii_keep_case(&family);
    } else if roll < 0.20 {
        given = format!("{}.", given.chars().next().unwrap_or('X'));
    } else if roll < 0.24
        && let Some((_, nick)) = US_NICKNAMES.iter().find(|(full, _)| *full == given)
    {
        given = (*nick).to_owned();
    }
    match rng.below(12) {
        0 => format!("{family}, {given}"),
        1 => format!("{given} {family}").to_lowercase(),
        2 => format!("{given} {}", family.to_uppercase()),
        _ => format!("{given} {family}"),
    }
}

fn ascii_keep_case(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'ä' => "a".into(),
            'ö' => "o".into(),
            'ü' => "u".into(),
            'Ä' => "A".into(),
            'Ö' => "O".into(),
            'Ü' => "U".into(),
            'ß' => "ss".into(),
            'á' | 'à' | 'â' => "a".into(),
            'é' | 'è' | 'ê' | 'ë' => "e".into(),
            'É' => "E".into(),
            'í' | 'ì' | 'î' => "i".into(),
            'Í' => "I".into(),
            'ó' | 'ò' | 'ô' => "o".into(),
            'ú' | 'ù' => "u".into(),
            'ñ' => "n".into(),
            'ç' => "c".into(),
            c => c.to_string(),
        })
        .collect()
}

/// One typing error: a dropped, doubled, swapped or neighbouring letter.
fn typo(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return word.to_owned();
    }
    let i = 1 + rng.below(chars.len() - 2);
    match rng.below(4) {
        0 => {
            chars.remove(i);
        }
        1 => chars.insert(i, chars[i]),
        2 => chars.swap(i, i + 1),
        _ => {
            const NEIGHBOURS: &[(char, char)] = &[
                ('a', 's'),
                ('e', 'r'),
                ('i', 'o'),
                ('n', 'm'),
                ('r', 't'),
                ('l', 'k'),
                ('u', 'i'),
                ('o', 'p'),
                ('s', 'd'),
                ('t', 'z'),
            ];
            if let Some((_, b)) = NEIGHBOURS.iter().find(|(a, _)| *a == chars[i]) {
                chars[i] = *b;
            } else {
                chars.remove(i);
            }
        }
    }
    chars.into_iter().collect()
}

/// The buyer's email as written in one message: Gmail dots and `+tags`, case.
fn written_email(rng: &mut Rng, email: &str) -> String {
    let Some((local, domain)) = email.split_once('@') else {
        return email.to_owned();
    };
    let roll = rng.unit();
    if domain == "gmail.com" && roll < 0.15 {
        return format!("{}@gmail.com", local.replace('.', ""));
    }
    if domain == "gmail.com" && roll < 0.25 {
        return format!(
            "{local}+{}@gmail.com",
            ["shop", "amazon", "orders", "news"][rng.below(4)]
        );
    }
    if roll > 0.93 {
        let mut capital = local.to_owned();
        if let Some(first) = capital.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        return format!("{capital}@{domain}");
    }
    email.to_owned()
}

/// A mobile number of the country: one of its mobile prefixes and random digits, drawn again
/// until libphonenumber's plan for the country has the number (a random tail can land in a
/// range not handed out, e.g. US exchange codes starting with 0 or 1, or UK's `07700 900`
/// range kept for drama; real buyers' numbers are in use, and the identity step refuses the
/// others).
fn mobile_number(rng: &mut Rng, country: &Country) -> (String, String) {
    let plan = weft_plugin_identity::normalize::phone::region(country.code).expect("a region of libphonenumber");
    loop {
        let prefix = (*rng.pick(country.mobile)).to_owned();
        let rest = rng.digits(country.mobile_rest);
        if weft_plugin_identity::normalize::phone::normalize_phone(&format!("{prefix}{rest}"), plan).is_ok() {
            return (prefix, rest);
        }
    }
}

/// The buyer's phone as written: national, international, with `00`, with `(0)`.
fn written_phone(rng: &mut Rng, buyer: &Buyer, (prefix, rest): &(String, String)) -> String {
    let c = buyer.country;
    let nsn_prefix = if matches!(c.code, "ES" | "IT" | "US" | "CN") {
        prefix.as_str()
    } else {
        prefix.trim_start_matches('0')
    };
    let (a, b) = rest.split_at(rest.len() / 2);
    match rng.below(8) {
        0 | 1 => format!("{prefix} {a} {b}"),
        2 if c.code == "US" => format!("({prefix}) {}-{}", &rest[..3], &rest[3..]),
        2 => format!("{prefix}{rest}"),
        3 => format!("00{} {nsn_prefix} {rest}", c.calling_code),
        4 if c.code == "DE" => format!("+49 (0){nsn_prefix} {rest}"),
        5 => format!("+{}{nsn_prefix}{rest}", c.calling_code),
        _ => format!("+{} {nsn_prefix} {a} {b}", c.calling_code),
    }
}

/// The address as written on one order.
fn written_address(rng: &mut Rng, buyer: &Buyer) -> Value {
    let c = buyer.country;
    let a = &buyer.address;
    let (city, _, region) = c.cities[a.city];
    let mut street = c.streets[a.street].to_owned();
    if rng.chance(0.3) {
        street = street
            .replace("straße", "str.")
            .replace("Street", "St")
            .replace("Avenue", "Ave")
            .replace("Avenida", "Avda.")
            .replace("Calle", "C/")
            .replace("Road", "Rd")
            .replace("avenue", "av.");
    }
    let line1 = match c.code {
        "FR" | "GB" | "US" => format!("{} {street}", a.house),
        "JP" | "CN" => format!("{street}{}", a.house),
        _ => format!("{street} {}", a.house),
    };
    let postcode = match c.code {
        "JP" if rng.chance(0.3) => format!("〒{}", a.postcode),
        "DE" if rng.chance(0.05) => format!("D-{}", a.postcode),
        "GB" if rng.chance(0.2) => a.postcode.replace(' ', ""),
        _ => a.postcode.clone(),
    };
    let mut object = json!({ "line1": line1, "city": city, "postcode": postcode, "country": c.code });
    if let Some(unit) = &a.unit {
        object["line2"] = Value::String(unit.clone());
    }
    if !region.is_empty() {
        object["region"] = Value::String(region.into());
    }
    object
}

fn channel_for(rng: &mut Rng, buyer: &Buyer, issue: &Issue, first: bool) -> &'static str {
    let mut options: Vec<(&'static str, u32)> = Vec::new();
    match (first, issue.shop) {
        (true, Shop::Amazon) => options.push(("amazon", 70)),
        (true, Shop::Ebay) => options.push(("ebay", 70)),
        (false, Shop::Amazon) => options.push(("amazon", 25)),
        (false, Shop::Ebay) => options.push(("ebay", 25)),
        _ => {}
    }
    if buyer.email.is_some() {
        options.push(("email", 30));
        options.push(("chat", 10));
    }
    if buyer.instagram.is_some() {
        options.push(("instagram", 12));
    }
    if buyer.facebook.is_some() {
        options.push(("facebook", 8));
    }
    if buyer.mobile.is_some() {
        options.push(("sms", 8));
    }
    if options.is_empty() {
        options.push(("chat", 1));
    }
    weighted(rng, &options)
}

/// One message of a buyer about an issue, with its time.
fn message(rng: &mut Rng, buyer: &Buyer, issue: &mut Issue, n: usize) -> (i64, Value) {
    let first = issue.first.is_none();
    // Follow-ups come minutes to a day and a half after the previous message.
    let at = if first {
        issue.start
    } else {
        issue.last + 300_000 + rng.below(36 * 3_600_000) as i64
    };
    issue.last = at;
    let lang = if buyer.english { "en" } else { buyer.country.lang };
    let provisional = format!("p{}-{n}", buyer.id);
    let order_text = typed_order(rng, &issue.order);
    let mut channel = channel_for(rng, buyer, issue, first);
    // A mail forwarded again because nobody answered: the same text, once more.
    let forwarded = !first && !issue.emails.is_empty() && buyer.email.is_some() && rng.chance(0.25);
    if forwarded {
        channel = "email";
    }
    let (subject, body) = match (&issue.first, forwarded) {
        (Some((subject, body)), true) => {
            let prefix = match lang {
                "de" => "WG: ",
                "fr" => "TR: ",
                "es" => "RV: ",
                "it" => "I: ",
                "ja" => "転送: ",
                "zh" => "转发: ",
                _ => "Fwd: ",
            };
            (
                format!("{prefix}{subject}"),
                format!("---------- Forwarded message ---------\n{body}"),
            )
        }
        (Some((subject, _)), false) => (
            format!("Re: {subject}"),
            follow_up_text(lang, issue.problem).replace("{o}", &order_text),
        ),
        (None, _) => {
            let (subject, body) = first_text(lang, issue.problem);
            let body = body.replace("{o}", &order_text);
            issue.first = Some((subject.to_owned(), body.clone()));
            (subject.to_owned(), body)
        }
    };
    let mut line = json!({
        "channel": channel,
        "id": provisional,
        "_p": provisional,
        "at": crate::store::report::rfc3339(at),
        "body": body,
        "lang": lang,
    });
    let mut from = serde_json::Map::new();
    // Every text names the order; the email channel always extracts it, other connectors
    // report it most of the time.
    match channel {
        "amazon" | "ebay" => {
            let (id, market) = if channel == "amazon" {
                (buyer.amazon_id.clone(), buyer.country.amazon)
            } else {
                (buyer.ebay_id.clone(), buyer.country.ebay)
            };
            from.insert("buyer_id".into(), id.unwrap_or_default().into());
            from.insert("name".into(), written_name(rng, buyer, false).into());
            line["marketplace"] = market.into();
            line["order"] = issue.order.clone().into();
            line["thread"] = format!("{channel}:{}", issue.order).into();
            if rng.chance(0.8) {
                line["address"] = written_address(rng, buyer);
            }
        }
        "email" => {
            let email = match (&buyer.other_email, &buyer.email) {
                (Some(other), _) if rng.chance(0.3) => other.clone(),
                (_, Some(email)) => email.clone(),
                _ => String::new(),
            };
            from.insert("email".into(), written_email(rng, &email).into());
            if rng.chance(0.9) {
                from.insert("name".into(), written_name(rng, buyer, false).into());
            }
            if let Some(mobile) = &buyer.mobile
                && rng.chance(0.2)
            {
                from.insert("phone".into(), written_phone(rng, buyer, mobile).into());
            }
            if rng.chance(0.1) {
                line["address"] = written_address(rng, buyer);
            }
            line["subject"] = subject.into();
            line["order"] = order_text.clone().into();
            if !first
                && !forwarded
                && rng.chance(0.5)
                && let Some(last) = issue.emails.last()
            {
                line["replies_to"] = json!([last]);
            }
            issue.emails.push(provisional.clone());
        }
        "chat" => {
            from.insert("name".into(), written_name(rng, buyer, false).into());
            if let Some(email) = &buyer.email
                && rng.chance(0.85)
            {
                from.insert("email".into(), written_email(rng, email).into());
            }
            line["thread"] = format!("chat-{}", rng.digits(10)).into();
            if rng.chance(0.8) {
                line["order"] = order_text.clone().into();
            }
        }
        "instagram" => {
            from.insert(
                "handle".into(),
                format!("@{}", buyer.instagram.clone().unwrap_or_default()).into(),
            );
            if rng.chance(0.7) {
                from.insert("name".into(), written_name(rng, buyer, false).into());
            }
            if rng.chance(0.8) {
                line["order"] = order_text.clone().into();
            }
        }
        "facebook" => {
            from.insert("handle".into(), buyer.facebook.clone().unwrap_or_default().into());
            from.insert("name".into(), written_name(rng, buyer, true).into());
            if rng.chance(0.8) {
                line["order"] = order_text.clone().into();
            }
        }
        _ => {
            // SMS: the gateway reports the number in international form.
            if let Some((prefix, rest)) = &buyer.mobile {
                let nsn = if matches!(buyer.country.code, "ES" | "IT" | "US" | "CN") {
                    prefix.as_str()
                } else {
                    prefix.trim_start_matches('0')
                };
                from.insert(
                    "phone".into(),
                    format!("+{}{nsn}{rest}", buyer.country.calling_code).into(),
                );
            }
            if rng.chance(0.8) {
                line["order"] = order_text.clone().into();
            }
        }
    }
    line["from"] = Value::Object(from);
    if let Some(object) = line.as_object_mut() {
        // The marketplace's own body is what the buyer typed; it keeps the order too.
        object.retain(|_, v| !v.is_null());
    }
    (at, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_traffic_and_every_message_has_truth() {
        let options = GenerateOptions {
            customers: 50,
            messages: 240,
            seed: 7,
        };
        let a = generate(&options).unwrap();
        let b = generate(&options).unwrap();
        assert_eq!(a.lines, b.lines);
        assert_eq!(a.lines.len(), 240);
        assert_eq!(a.truth.len(), 240);
        let customers: std::collections::BTreeSet<_> = a.truth.iter().map(|t| &t.customer).collect();
        assert_eq!(customers.len(), 50);
        for (line, truth) in a.lines.iter().zip(&a.truth) {
            assert_eq!(line["id"], truth.message.as_str());
            assert!(line.get("_p").is_none());
            assert!(truth.issue.starts_with(&truth.customer));
        }
        let other = generate(&GenerateOptions { seed: 8, ..options }).unwrap();
        assert_ne!(a.lines, other.lines);
    }

    #[test]
    fn orders_are_valid_and_cover_every_issue() {
        let traffic = generate(&GenerateOptions {
            customers: 200,
            messages: 1000,
            seed: 3,
        })
        .unwrap();
        let mut last = i64::MIN;
        let mut numbers = std::collections::BTreeSet::new();
        for line in &traffic.orders {
            let order: weft_sdk::Order = serde_json::from_value(line.clone()).expect("an order");
            let at = order.placed_at.parse::<jiff::Timestamp>().unwrap().as_millisecond();
            assert!(at >= last, "oldest first");
            last = at;
            assert!(numbers.insert(order.number.clone()), "{} twice", order.number);
            match order.channel.as_str() {
                "shopify" => assert!(order.buyer.buyer_id.is_none() && order.shipping.is_some(), "{line}"),
                c if c.starts_with("amazon") => {
                    assert!(order.buyer.email.is_none() && order.buyer.buyer_id.is_none(), "{line}")
                }
                c => assert!(c.starts_with("ebay") && order.buyer.email.is_none(), "{line}"),
            }
        }
        // Every message's order (as the channel reports it, or as the text names it) is one of them.
        for line in &traffic.lines {
            let order = line["order"].as_str().map(str::to_owned);
            if let Some(order) = order {
                let bare = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
                assert!(numbers.iter().any(|n| bare(n) == bare(&order)), "{order} is no order");
            }
        }
        // The same seed gives the same orders.
        let again = generate(&GenerateOptions {
            customers: 200,
            messages: 1000,
            seed: 3,
        })
        .unwrap();
        assert_eq!(traffic.lines, again.lines);
        assert_eq!(traffic.orders, again.orders);
    }

    #[test]
    fn channels_carry_what_they_really_carry() {
        let traffic = generate(&GenerateOptions {
            customers: 200,
            messages: 1000,
            seed: 1,
        })
        .unwrap();
        let mut channels = std::collections::BTreeSet::new();
        for line in &traffic.lines {
            let channel = line["channel"].as_str().unwrap();
            channels.insert(channel.to_owned());
            let from = &line["from"];
            match channel {
                "amazon" | "ebay" => {
                    assert!(from.get("email").is_none(), "{line}");
                    assert!(from["buyer_id"].is_string() && line["order"].is_string(), "{line}");
                }
                "instagram" => assert!(from["handle"].as_str().unwrap().starts_with('@'), "{line}"),
                "sms" => {
                    assert!(from["phone"].as_str().unwrap().starts_with('+'), "{line}");
                    assert!(from.get("name").is_none(), "{line}");
                }
                "email" => assert!(from["email"].as_str().unwrap().contains('@'), "{line}"),
                _ => {}
            }
        }
        for c in ["amazon", "ebay", "email", "instagram", "facebook", "chat", "sms"] {
            assert!(channels.contains(c), "no {c} message in {channels:?}");
        }
        let langs: std::collections::BTreeSet<_> = traffic.lines.iter().map(|l| l["lang"].as_str().unwrap()).collect();
        for lang in ["de", "fr", "es", "it", "en", "ja", "zh"] {
            assert!(langs.contains(lang), "{langs:?}");
        }
    }

    #[test]
    fn every_line_parses_as_the_json_channel_reads_it() {
        let traffic = generate(&GenerateOptions {
            customers: 100,
            messages: 400,
            seed: 3,
        })
        .unwrap();
        let known = [
            "channel",
            "id",
            "at",
            "thread",
            "from",
            "address",
            "order",
            "subject",
            "body",
            "lang",
            "marketplace",
            "replies_to",
        ];
        for line in &traffic.lines {
            for key in line.as_object().unwrap().keys() {
                assert!(known.contains(&key.as_str()), "unknown key {key} in {line}");
            }
            let at: jiff::Timestamp = line["at"].as_str().unwrap().parse().unwrap();
            assert!(at.as_millisecond() > 0);
            let _: weft_sdk::Party = serde_json::from_value(line["from"].clone()).unwrap();
        }
    }

    #[test]
    fn typos_change_one_letter_and_rng_is_uniform_enough() {
        let mut rng = Rng::new(42);
        for _ in 0..100 {
            let t = typo(&mut rng, "Schneider");
            let diff = t.chars().count() as i64 - 9;
            assert!(diff.abs() <= 1, "{t}");
        }
        let mut buckets = [0usize; 10];
        for _ in 0..10_000 {
            buckets[rng.below(10)] += 1;
        }
        assert!(buckets.iter().all(|&b| (800..1200).contains(&b)), "{buckets:?}");
    }
}
