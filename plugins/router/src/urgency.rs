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

fn is_cjk(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff))
}

/// Whether `phrase` occurs in `norm` (which [`normalize`] padded with spaces) as whole words.
fn contains_words(norm: &str, phrase: &str) -> bool {
    norm.match_indices(phrase)
        .any(|(i, _)| norm[..i].ends_with(' ') && norm[i + phrase.len()..].starts_with(' '))
}

/// Every urgency signal in a text, at most one cue per phrase, in the order of [`PHRASES`].
pub fn detect(text: &str) -> Vec<Found> {
    let norm = normalize(text);
    let mut found = Vec::new();
    for (signal, phrases) in PHRASES {
        for phrase in *phrases {
            // Phrases are written with digits as `0` already; CJK digit phrases like `3回目` are
            // matched against the raw text, where digits survive.
            let hit = if is_cjk(phrase) {
                text.contains(phrase) || norm.contains(phrase)
            } else {
                contains_words(&norm, phrase)
            };
            if hit && !found.iter().any(|f: &Found| f.signal == *signal && f.cue == *phrase) {
                found.push(Found {
                    signal: *signal,
                    cue: (*phrase).to_owned(),
                });
            }
        }
    }
    if text.contains("!!!") || text.contains("！！！") {
        found.push(Found {
            signal: Signal::Anger,
            cue: "three or more exclamation marks".into(),
        });
    }
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic() && c.is_ascii()).collect();
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    if letters.len() >= 20 && upper * 10 >= letters.len() * 7 {
        found.push(Found {
            signal: Signal::Anger,
            cue: format!("{upper} of {} letters in capitals", letters.len()),
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
