//! Follow-ups that name nothing: "any news?", "Gibt es Neuigkeiten?", "Des nouvelles ?",
//! "¿Alguna novedad?", "Novità?", "その後いかがでしょうか", "有进展吗" — a buyer asking again about
//! what they asked before, without its order number and without restating the issue. Such a
//! message shares no words with the ticket it follows, so similarity cannot find that ticket;
//! it belongs to the customer's open ticket all the same.
//!
//! A message is a bare follow-up when its subject or body carries one of the cue phrases below
//! (matched like the topic cues: normalized, anywhere, a space at a cue's end asking for a word
//! boundary) and is short (a follow-up that goes on for paragraphs is usually a new question
//! with a polite opening).

use crate::text::normalize;
use std::sync::OnceLock;

/// A follow-up longer than this many characters (after normalization) is read as a message
/// with content of its own.
pub const MAX_FOLLOW_UP_CHARS: usize = 280;

/// Cue phrases, written as buyers write them; normalized once before matching.
const CUES: &[&str] = &[
    // en
    "any news",
    "any update",
    "any updates",
    "any progress",
    "following up",
    "follow up on",
    "just checking in",
    "still waiting",
    "still no answer",
    "still no reply",
    "still haven't heard",
    "haven't heard back",
    "no reply yet",
    "no answer yet",
    "what's the status",
    "what is the status",
    // de
    "gibt es neuigkeiten",
    "gibt es was neues",
    "gibt es etwas neues",
    "schon was neues",
    "neuigkeiten",
    "wie ist der stand",
    "wie ist denn der stand",
    "wie sieht es aus",
    "wie sieht es denn aus",
    "stand der dinge",
    "hat sich schon etwas getan",
    "warte immer noch",
    "warte noch immer",
    "noch keine antwort",
    "immer noch keine antwort",
    "ich frage nochmal nach",
    "ich hake nach",
    "nachfrage zu meiner",
    // fr
    "des nouvelles",
    "du nouveau",
    "toujours pas de réponse",
    "toujours pas de nouvelles",
    "je me permets de relancer",
    "je relance",
    "j'attends toujours",
    "où en est",
    "ou en est",
    "des news",
    // es
    "alguna novedad",
    "hay novedades",
    "alguna noticia",
    "alguna actualización",
    "sigo esperando",
    "todavía no tengo respuesta",
    "sin respuesta todavía",
    "qué se sabe",
    "cómo va mi",
    // "do you know anything (about it)?", "sorry to insist": asking again without restating
    "sabéis algo",
    "saben algo",
    "sabe algo",
    "por insistir",
    // it
    "novità",
    "ci sono novità",
    "aggiornamenti",
    "qualche notizia",
    "sto ancora aspettando",
    "ancora nessuna risposta",
    "nessuna risposta",
    "a che punto è",
    "sollecito",
    // ja
    "その後",
    "どうなりましたか",
    "どうなっていますか",
    "進捗",
    "まだ返事",
    "まだ返信",
    "返信がありません",
    "ご連絡をお待ち",
    "いかがでしょうか",
    // zh
    "有进展吗",
    "有消息吗",
    "有什么消息",
    "有什么进展",
    "进展如何",
    "怎么样了",
    "还没有回复",
    "还没回复",
    "还在等",
    "跟进一下",
    "有進展嗎",
    "有消息嗎",
];

fn normalized_cues() -> &'static [String] {
    static CUES_NORMALIZED: OnceLock<Vec<String>> = OnceLock::new();
    CUES_NORMALIZED.get_or_init(|| {
        CUES.iter()
            .map(|cue| {
                let inner = normalize(cue);
                // Latin cues match at word boundaries; CJK text has none.
                if inner
                    .chars()
                    .all(|c| c.is_ascii() || c.is_alphabetic() && (c as u32) < 0x2E80)
                {
                    format!(" {inner} ")
                } else {
                    inner
                }
            })
            .collect()
    })
}

/// The cue that makes `subject` and `body` a bare follow-up, if they are one.
pub fn follow_up_cue(subject: Option<&str>, body: &str) -> Option<&'static str> {
    let text = normalize(&format!("{} {body}", subject.unwrap_or("")));
    if text.is_empty() || text.chars().count() > MAX_FOLLOW_UP_CHARS {
        return None;
    }
    let padded = format!(" {text} ");
    normalized_cues()
        .iter()
        .position(|cue| padded.contains(cue.as_str()))
        .map(|i| CUES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_in_every_language() {
        for (subject, body) in [
            (None, "Hi, any news on this?"),
            (Some("Re: my question"), "Still waiting for an answer, thanks"),
            (None, "Hallo, gibt es Neuigkeiten?"),
            (None, "Wie ist der Stand? Ich warte immer noch."),
            (None, "Wie ist denn der Stand?"),
            (None, "Hallo, wie sieht es aus?"),
            (None, "Bonjour, des nouvelles ?"),
            (None, "Toujours pas de réponse de votre part..."),
            (None, "Hola, ¿alguna novedad?"),
            (None, "Sigo esperando, gracias"),
            (None, "Perdón por insistir: ¿sabéis algo del paquete?"),
            (None, "Ciao, novità?"),
            (None, "Ci sono aggiornamenti?"),
            (None, "その後いかがでしょうか。"),
            (None, "まだ返事がありません"),
            (None, "你好，有进展吗？"),
            (None, "还没有回复我"),
        ] {
            assert!(follow_up_cue(subject, body).is_some(), "{body}");
        }
    }

    #[test]
    fn questions_of_their_own_are_not() {
        for body in [
            "Where is my order 123-4567? It has not arrived.",
            "I want a refund for the broken lamp.",
            "Ich möchte meine Adresse ändern.",
            "Je voudrais annuler ma commande.",
            "注文をキャンセルしたいです",
            "我要退货",
            // a cue inside another word is no cue
            "The novitas catalogue is great",
        ] {
            assert_eq!(follow_up_cue(None, body), None, "{body}");
        }
        let long = format!(
            "Any news? {}",
            "I also wanted to ask about something else entirely. ".repeat(8)
        );
        assert_eq!(follow_up_cue(None, &long), None);
    }
}
