//! Word evidence: the most frequent short words (articles, pronouns, prepositions,
//! conjunctions, negation, everyday verbs) of each Latin-script language the identifier knows.
//! A sentence in a language is largely made of such words; a sentence in a language it does
//! not know (Somali read as Tagalog, Basque as Italian) has almost none of its candidate's.
//! whatlang ranks languages against each other and does not say how well the best one fits,
//! so this check supplies that. The lists are written here (facts about each language's
//! frequent words) because no maintained crate small enough for the plugin carries them.

/// Frequent words per Latin-script language, space-separated, lowercase.
const FREQUENT: &[(&str, &str)] = &[
    (
        "af",
        "die en ek is nie van het my in te om vir dit wat hulle jy u asseblief kan nog met op maar sal wil was n ons hoe wanneer al",
    ),
    (
        "ak",
        "me wo na no sɛ ɛ yɛ a ho mi ne ma de nti ɛnyɛ wɔ ɛhe mepɛ kyɛw seesei mo bɛ aka da",
    ),
    (
        "az",
        "və bu mən mənim üçün ilə da də bir nə yox deyil hələ artıq xahiş edirəm var amma ki niyə necə çox olub",
    ),
    (
        "ca",
        "el la els les de del i que amb per no és un una em meu meva he ha com encara però al vull puc en hi ho",
    ),
    (
        "cs",
        "a je se na v ve že to mi mě jsem ale s z do o pro už ještě není nebo by jak moje můj mám kdy prosím",
    ),
    (
        "cy",
        "y yr a ac i o mae ddim wedi ar yn fy ond nid ei gyda am os hi fe dw rwy chi fod oes",
    ),
    (
        "da",
        "og i jeg det er at en et til på ikke min mit med har for kan af den men som vil hvor hvornår fik",
    ),
    (
        "de",
        "der die das und ist nicht ich mein meine ein eine zu mit für auf von den dem es sie wir noch schon bitte kann habe wie wann aber",
    ),
    (
        "en",
        "the a an and is are not i my me to of in for on it this that with was have has can you your please but still when",
    ),
    (
        "eo",
        "la mi kaj de ne estas en al por mia vi kiam sed ĝi ankoraŭ kun pri ke tre povas min",
    ),
    (
        "es",
        "el la los las de del y que en no es un una mi me por para con lo al pero todavía ya cómo cuándo he ha",
    ),
    (
        "et",
        "ja on ei see ma mu minu et aga kas oli ka veel kui mis siis olen pole palun te teie mul",
    ),
    (
        "fi",
        "ja on ei se että en minä mun minun oli ole kun mutta voi miten missä ovat olen vielä jo kiitos tai sitä nyt",
    ),
    (
        "fr",
        "le la les de des du et est pas je mon ma mes un une à en que qui pour avec sur ne ce il vous mais toujours encore",
    ),
    (
        "hr",
        "i je se u na da ne za od sam mi moj moja ali s sa još kako što li bi to me nije",
    ),
    (
        "hu",
        "a az és nem hogy is meg egy van ez de még már csak mert volt kérem nincs mi vagy mikor hogyan",
    ),
    (
        "id",
        "dan yang di saya tidak ini itu ke dari untuk dengan ada belum sudah bisa apa kami anda tapi mohon",
    ),
    (
        "it",
        "il lo la i gli le di del della e è non che un una per con mi ho ma in da al mio mia ancora come sono",
    ),
    (
        "jv",
        "aku kula ora lan ing sing wis durung iki kuwi karo dereng sampun panjenengan punapa mboten arep badhe saking kanggo nggih ya",
    ),
    (
        "la",
        "et in est non ad cum sed mea meum ut quod de ex a quia nam nondum iam sunt volo nec si",
    ),
    (
        "lt",
        "ir yra ne kad aš mano bet į su iš jau dar kaip ar prašau nėra buvo kodėl man už tai",
    ),
    (
        "lv",
        "un ir ne ka es mans mana man par bet ar uz no vēl jau kā lūdzu nav vai kad bija tas to",
    ),
    (
        "nb",
        "og i jeg det er at en et til på ikke min mitt med har for kan av den men som vil hvor når fikk",
    ),
    (
        "nl",
        "de het een en is niet ik mijn van in te op met voor dat die er nog al maar wel kan heb hoe wanneer",
    ),
    (
        "pl",
        "i w na nie się z że to jest do mi mój moja ale jak czy już jeszcze o po za co proszę",
    ),
    (
        "pt",
        "o a os as de do da e é não um uma meu minha que em para com por mas ainda já como quando no na",
    ),
    (
        "ro",
        "și de la nu în cu pe o un că mi am este a meu mea dar pentru încă deja vă rog",
    ),
    (
        "sk",
        "a je sa na v vo že to mi som ale s z do o pre už ešte nie alebo by ako moja môj chcem",
    ),
    (
        "sl",
        "in je se na v da ne za sem mi moj moja ali s z še kako kaj bi to ni pa",
    ),
    (
        "sn",
        "ndi ne ku kuti iyi yangu handi asi zvino here chii rini sei kana uye ndinoda pano",
    ),
    (
        "sv",
        "och i jag det är att en ett till på inte min mitt med har för kan av den men som vill var när hur ni",
    ),
    (
        "tk",
        "we men bu bir üçin bilen hem ýok däl entek eýýäm meniň haçan näme näçe emma sebäbi",
    ),
    (
        "tl",
        "ang ng sa na ko mo po pa mga hindi ako ito at ay kung lang din rin nang yung siya ba kasi naman",
    ),
    (
        "tr",
        "ve bir bu ben benim için ile da de ne değil hala hâlâ ama çok mi mı mu mü lütfen var yok gibi",
    ),
    (
        "uz",
        "va bu men mening uchun bilan ham bir nima yo emas hali lekin chunki iltimos qachon",
    ),
    (
        "vi",
        "và của tôi không là có đã cho này được một với các em mình chưa rồi vẫn",
    ),
    (
        "zu",
        "ngi uku ukuthi futhi kodwa yami lami wami kanjani nini manje angi ayi i na nga yini ngiyabonga ngicela",
    ),
];

/// How many of a text's words are frequent words of `lang`, out of how many words; `None`
/// when `lang` has no list.
pub fn frequent_share(lang: &str, text: &str) -> Option<(usize, usize)> {
    let list = FREQUENT.iter().find(|(code, _)| *code == lang)?.1;
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let hits = words.iter().filter(|w| list.split(' ').any(|f| f == **w)).count();
    Some((hits, words.len()))
}

/// Whether the text has enough of `lang`'s frequent words to be in it: at least one in eight
/// words (a message in the language usually has one in three or more), and at least one.
/// Languages without a list always fit.
pub fn fits(lang: &str, text: &str) -> bool {
    frequent_share(lang, text).is_none_or(|(hits, words)| hits >= 1 && hits * 8 >= words)
}

/// Word evidence for an unsure guess: its hits and the best other language's.
pub struct Confirmed {
    pub hits: usize,
    pub words: usize,
    pub runner_up: Option<(&'static str, usize)>,
}

/// Confirms `lang` (whatlang's unsure best) when at least two words and a third of the text's
/// words are its frequent words, and no other language with a list and an alphabet that fits
/// the text has as many (Danish and Norwegian share most of theirs: no answer is better than
/// a coin toss there).
pub fn confirm(lang: &str, text: &str) -> Option<Confirmed> {
    let (hits, words) = frequent_share(lang, text)?;
    if hits < 2 || hits * 3 < words {
        return None;
    }
    let letters = super::alphabet::Letters::of(text);
    let runner_up = FREQUENT
        .iter()
        .filter(|(code, _)| *code != lang && letters.fit(code).admits())
        .filter_map(|(code, _)| frequent_share(code, text).map(|(h, _)| (*code, h)))
        .max_by_key(|&(code, h)| (h, std::cmp::Reverse(code)));
    if runner_up.is_some_and(|(_, h)| h >= hits) {
        return None;
    }
    Some(Confirmed { hits, words, runner_up })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_has_its_own_languages_frequent_words_not_a_neighbours() {
        assert!(fits("it", "Il pacco non è ancora arrivato, mi potete aiutare?"));
        assert!(fits("tl", "Hindi pa dumarating ang order ko, kailan po ito darating?"));
        assert!(!fits(
            "tl",
            "Waxaan rabaa inaan celiyo kabaha maxaa yeelay way yar yihiin."
        ));
        assert!(fits("ru", "любой текст"), "languages without a list always fit");
    }
}
