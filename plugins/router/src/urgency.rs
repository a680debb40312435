//! Urgency signals: anger, deadlines, repetition and chargeback or legal threats, found by
//! phrase lists in en, de, fr, es, it, pt, nl, pl, ja and zh, plus shouting (capitals, `!!!`).

use crate::features::normalize;

/// A kind of urgency signal; its name is the `urgency:<name>` tag the router sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// The customer is angry or shouting.
    Anger,
    /// The customer names a deadline.
    Deadline,
    /// The customer says they have asked before.
    Repetition,
    /// Chargeback, payment dispute, lawyer, consumer authority.
    Legal,
}

impl Signal {
    /// The signal's name in tags and evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Anger => "anger",
            Signal::Deadline => "deadline",
            Signal::Repetition => "repetition",
            Signal::Legal => "legal",
        }
    }
}

/// One signal found in a text, with what gave it away.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The signal.
    pub signal: Signal,
    /// The phrase or pattern that matched.
    pub cue: String,
}

/// Phrases, written as they look after [`normalize`] (lowercase, digits as `0`, no punctuation).
/// Latin phrases match whole words; CJK phrases match anywhere.
const PHRASES: &[(Signal, &[&str])] = &[
    (
        Signal::Anger,
        &[
            // en
            "unacceptable",
            "ridiculous",
            "furious",
            "outrageous",
            "disgusting",
            "fed up",
            "sick of",
            "scam",
            "worst",
            "angry",
            "pathetic",
            "wtf",
            "fraud",
            // de
            "unverschämt",
            "frechheit",
            "inakzeptabel",
            "unmöglich",
            "sauer",
            "wütend",
            "betrug",
            "abzocke",
            "reicht mir",
            "unzumutbar",
            // fr
            "inadmissible",
            "inacceptable",
            "scandaleux",
            "honteux",
            "furieux",
            "furieuse",
            "arnaque",
            "ras le bol",
            "marre",
            "lamentable",
            // es
            "inaceptable",
            "vergüenza",
            "indignante",
            "harto",
            "harta",
            "estafa",
            "fatal",
            "furioso",
            // it
            "inaccettabile",
            "vergogna",
            "assurdo",
            "vergognoso",
            "truffa",
            "arrabbiato",
            "arrabbiata",
            "stufo",
            // pt
            "inaceitável",
            "absurdo",
            "vergonha",
            "burla",
            "farto",
            "farta",
            "revoltado",
            "revoltada",
            // nl
            "onacceptabel",
            "belachelijk",
            "schandalig",
            "oplichting",
            "boos",
            "woedend",
            "ben het zat",
            // pl
            "skandal",
            "żenada",
            "oszustwo",
            "wściekły",
            "wściekła",
            "niedopuszczalne",
            "mam dość",
            // ja
            "ふざけ",
            "最悪",
            "ありえない",
            "ありえません",
            "許せない",
            "怒",
            "詐欺",
            // zh
            "太差",
            "气死",
            "骗子",
            "垃圾",
            "离谱",
            "愤怒",
            "无法接受",
        ],
    ),
    (
        Signal::Deadline,
        &[
            // en
            "by tomorrow",
            "by monday",
            "by tuesday",
            "by wednesday",
            "by thursday",
            "by friday",
            "by saturday",
            "by the weekend",
            "by end of day",
            "by tonight",
            "asap",
            "urgent",
            "urgently",
            "within 0 hours",
            "within 0 days",
            "need it before",
            "before christmas",
            "for the wedding",
            // de
            "bis morgen",
            "bis montag",
            "bis dienstag",
            "bis mittwoch",
            "bis donnerstag",
            "bis freitag",
            "bis samstag",
            "bis zum wochenende",
            "bis heute abend",
            "dringend",
            "innerhalb von 0",
            "vor weihnachten",
            "spätestens",
            // fr
            "avant demain",
            "d ici demain",
            "d ici vendredi",
            "d ici lundi",
            "avant vendredi",
            "avant lundi",
            "avant le week end",
            "urgent",
            "urgente",
            "au plus tard",
            "sous 0 jours",
            "avant noël",
            // es
            "para mañana",
            "antes de mañana",
            "antes del viernes",
            "antes del lunes",
            "urgente",
            "cuanto antes",
            "en 0 días",
            "antes de navidad",
            "como muy tarde",
            // it
            "entro domani",
            "entro venerdì",
            "entro lunedì",
            "urgente",
            "al più presto",
            "entro 0 giorni",
            "prima di natale",
            "entro e non oltre",
            // pt
            "até amanhã",
            "até sexta",
            "até segunda",
            "urgente",
            "o mais rápido possível",
            "dentro de 0 dias",
            "antes do natal",
            "o mais tardar",
            // nl
            "voor morgen",
            "uiterlijk",
            "voor vrijdag",
            "voor maandag",
            "dringend",
            "zo snel mogelijk",
            "binnen 0 dagen",
            "voor kerst",
            // pl
            "do jutra",
            "do piątku",
            "do poniedziałku",
            "pilne",
            "pilnie",
            "jak najszybciej",
            "w ciągu 0 dni",
            "przed świętami",
            "najpóźniej",
            // ja
            "明日まで",
            "までに",
            "至急",
            "急ぎ",
            "今日中",
            "早急に",
            // zh
            "明天之前",
            "尽快",
            "紧急",
            "加急",
            "今天内",
        ],
    ),
    (
        Signal::Repetition,
        &[
            // en
            "third time",
            "second time",
            "fourth time",
            "again and again",
            "already asked",
            "asked before",
            "still no answer",
            "still no reply",
            "how many times",
            "0 times",
            "once again",
            "several times",
            // de
            "zum dritten mal",
            "zum zweiten mal",
            "zum wiederholten mal",
            "schon wieder",
            "bereits mehrfach",
            "mehrmals",
            "wie oft noch",
            "immer noch keine antwort",
            "0 mal",
            // fr
            "troisième fois",
            "deuxième fois",
            "encore une fois",
            "plusieurs fois",
            "déjà demandé",
            "toujours pas de réponse",
            "combien de fois",
            "0 fois",
            // es
            "tercera vez",
            "segunda vez",
            "otra vez",
            "varias veces",
            "ya pregunté",
            "sigo sin respuesta",
            "cuántas veces",
            "0 veces",
            // it
            "terza volta",
            "seconda volta",
            "ancora una volta",
            "più volte",
            "già chiesto",
            "ancora nessuna risposta",
            "quante volte",
            "0 volte",
            // pt
            "terceira vez",
            "segunda vez",
            "outra vez",
            "várias vezes",
            "já perguntei",
            "continuo sem resposta",
            "quantas vezes",
            "0 vezes",
            // nl
            "derde keer",
            "tweede keer",
            "alweer",
            "meerdere keren",
            "al eerder gevraagd",
            "nog steeds geen antwoord",
            "hoe vaak nog",
            "0 keer",
            // pl
            "trzeci raz",
            "drugi raz",
            "znowu",
            "kolejny raz",
            "wielokrotnie",
            "już pytałem",
            "już pytałam",
            "nadal brak odpowiedzi",
            "ile razy",
            "0 razy",
            // ja
            "何度も",
            "三回目",
            "3回目",
            "二回目",
            "再三",
            "何回",
            // zh
            "第三次",
            "第二次",
            "多次",
            "又一次",
            "好几次",
            "一再",
        ],
    ),
    (
        Signal::Legal,
        &[
            // en
            "chargeback",
            "charge back",
            "paypal dispute",
            "paypal claim",
            "dispute the charge",
            "lawyer",
            "attorney",
            "legal action",
            "sue",
            "small claims",
            "trading standards",
            "consumer protection",
            "a to z claim",
            "a z claim",
            // de
            "anwalt",
            "anwältin",
            "rechtsanwalt",
            "rückbuchung",
            "rücklastschrift",
            "paypal konflikt",
            "käuferschutz",
            "verbraucherzentrale",
            "klage",
            "gericht",
            "mahnung",
            // fr
            "avocat",
            "avocate",
            "rétrofacturation",
            "litige paypal",
            "opposition bancaire",
            "plainte",
            "tribunal",
            "répression des fraudes",
            "dgccrf",
            "mise en demeure",
            // es
            "abogado",
            "abogada",
            "contracargo",
            "disputa en paypal",
            "denuncia",
            "tribunales",
            "reclamación oficial",
            // it
            "avvocato",
            "avvocata",
            "storno",
            "contestazione paypal",
            "denuncia",
            "tribunale",
            "associazione consumatori",
            "diffida",
            // pt
            "advogado",
            "advogada",
            "estorno",
            "disputa no paypal",
            "livro de reclamações",
            "tribunal",
            // nl
            "advocaat",
            "terugboeking",
            "paypal geschil",
            "geschillencommissie",
            "consumentenbond",
            "rechter",
            "aangifte",
            // pl
            "prawnik",
            "adwokat",
            "chargeback",
            "spór paypal",
            "rzecznik konsumentów",
            "uokik",
            "sąd",
            "pozew",
            // ja
            "弁護士",
            "訴え",
            "消費者センター",
            "裁判",
            "チャージバック",
            "返金請求",
            // zh
            "律师",
            "起诉",
            "投诉到",
            "消协",
            "12315",
            "拒付",
            "法院",
        ],
    ),
];

/// Whether a text has Han, kana or Hangul in it.
fn is_cjk(s: &str) -> bool {
    s.chars().any(weft_sdk::text::is_cjk)
}

/// The phrases indexed for one pass over a text: Latin phrases by their first word, CJK
/// phrases apart (they are looked for anywhere, and only in texts that have CJK characters).
struct Index {
    /// First word -> (position in the flattened phrase list, signal, phrase).
    by_first_word: std::collections::HashMap<&'static str, Vec<(usize, Signal, &'static str)>>,
    /// (position in the flattened phrase list, signal, phrase).
    cjk: Vec<(usize, Signal, &'static str)>,
}

fn index() -> &'static Index {
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = Index {
            by_first_word: std::collections::HashMap::new(),
            cjk: Vec::new(),
        };
        let flat = PHRASES
            .iter()
            .flat_map(|(signal, phrases)| phrases.iter().map(move |p| (*signal, *p)));
        for (position, (signal, phrase)) in flat.enumerate() {
            if is_cjk(phrase) {
                index.cjk.push((position, signal, phrase));
            } else if let Some(first) = phrase.split(' ').next().filter(|w| !w.is_empty()) {
                index
                    .by_first_word
                    .entry(first)
                    .or_default()
                    .push((position, signal, phrase));
            }
        }
        index
    })
}

/// Every urgency signal in a text, at most one cue per phrase, in the order of [`PHRASES`].
///
/// One pass over the words of the normalized text: each word looks up the phrases that start
/// with it, so the cost grows with the text, not with the number of phrases.
pub fn detect(text: &str) -> Vec<Found> {
    let norm = normalize(text);
    let index = index();
    let mut hits: Vec<(usize, Signal, &'static str)> = Vec::new();
    // `norm` starts with a space and has single spaces between words: every word starts
    // right after a space.
    let mut rest = norm.as_str();
    while let Some(space) = rest.find(' ') {
        rest = &rest[space + 1..];
        let word = rest.split(' ').next().unwrap_or("");
        if word.is_empty() {
            continue;
        }
        if let Some(candidates) = index.by_first_word.get(word) {
            for &(position, signal, phrase) in candidates {
                if rest.starts_with(phrase) && rest[phrase.len()..].starts_with(' ') {
                    hits.push((position, signal, phrase));
                }
            }
        }
    }
    if is_cjk(text) {
        // CJK digit phrases like `3回目` are matched against the raw text, where digits survive.
        for &(position, signal, phrase) in &index.cjk {
            if text.contains(phrase) || norm.contains(phrase) {
                hits.push((position, signal, phrase));
            }
        }
    }
    hits.sort_unstable_by_key(|h| h.0);
    let mut unique: Vec<(usize, Signal, &'static str)> = Vec::with_capacity(hits.len());
    for hit in hits {
        if !unique.iter().any(|u| u.1 == hit.1 && u.2 == hit.2) {
            unique.push(hit);
        }
    }
    let mut found: Vec<Found> = unique
        .into_iter()
        .map(|(_, signal, phrase)| Found {
            signal,
            cue: phrase.to_owned(),
        })
        .collect();
    if text.contains("!!!") || text.contains("！！！") {
        found.push(Found {
            signal: Signal::Anger,
            cue: "three or more exclamation marks".into(),
        });
    }
    let (mut letters, mut upper) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_ascii_alphabetic()) {
        letters += 1;
        upper += usize::from(c.is_ascii_uppercase());
    }
    if letters >= 20 && upper * 10 >= letters * 7 {
        found.push(Found {
            signal: Signal::Anger,
            cue: format!("{upper} of {letters} letters in capitals"),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(text: &str) -> Vec<(Signal, String)> {
        detect(text).into_iter().map(|f| (f.signal, f.cue)).collect()
    }

    #[test]
    fn signals_in_several_languages() {
        assert_eq!(
            signals("I need it by Friday"),
            [(Signal::Deadline, "by friday".to_owned())]
        );
        assert_eq!(
            signals("Ich brauche das bis morgen"),
            [(Signal::Deadline, "bis morgen".to_owned())]
        );
        assert_eq!(
            signals("Il me le faut avant demain"),
            [(Signal::Deadline, "avant demain".to_owned())]
        );
        assert_eq!(
            signals("C'est la troisième fois que je demande"),
            [(Signal::Repetition, "troisième fois".to_owned())]
        );
        assert_eq!(
            signals("Ich frage zum dritten Mal"),
            [(Signal::Repetition, "zum dritten mal".to_owned())]
        );
        assert_eq!(
            signals("third time I ask"),
            [(Signal::Repetition, "third time".to_owned())]
        );
        assert_eq!(
            signals("I will open a PayPal dispute"),
            [(Signal::Legal, "paypal dispute".to_owned())]
        );
        assert_eq!(
            signals("Mein Anwalt meldet sich"),
            [(Signal::Legal, "anwalt".to_owned())]
        );
        assert_eq!(
            signals("Hablaré con mi abogado"),
            [(Signal::Legal, "abogado".to_owned())]
        );
        assert_eq!(
            signals("je contacte mon avocat"),
            [(Signal::Legal, "avocat".to_owned())]
        );
        assert_eq!(
            signals("もう3回目の問い合わせです"),
            [(Signal::Repetition, "3回目".to_owned())]
        );
        assert_eq!(
            signals("这是第三次联系你们了，我要找律师"),
            [
                (Signal::Repetition, "第三次".to_owned()),
                (Signal::Legal, "律师".to_owned())
            ]
        );
    }

    #[test]
    fn shouting_and_word_boundaries() {
        let found = signals("WHERE IS MY ORDER I PAID TWO WEEKS AGO!!!");
        assert!(
            found.iter().all(|(s, _)| *s == Signal::Anger) && found.len() == 2,
            "{found:?}"
        );
        // `sue` must not match inside `issue`, nor `sauer` inside `sauerkraut`.
        assert!(signals("There is an issue with the sauerkraut jar").is_empty());
        assert!(signals("Where is my parcel?").is_empty());
    }
}
