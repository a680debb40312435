//! Labeled examples and the CSV files they live in.
//!
//! The files are RFC 4180 CSV, read with the `csv` crate: a header line naming the columns, a
//! field holding a comma, a quote or a line break wrapped in double quotes with inner quotes
//! doubled, CRLF or LF line ends, an optional UTF-8 byte order mark. The columns are found by
//! name, in any order: `text` and `intent` are required, `lang` is optional (`und` when absent),
//! others (a help desk export's ticket id, dates, ...) are ignored.

use crate::intent::Intent;

/// One labeled message.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The message text.
    pub text: String,
    /// What it is about.
    pub intent: Intent,
    /// Its language, an ISO 639-1 code such as `de`, or `und` when the file does not say.
    pub lang: String,
}

/// What is wrong with a CSV file of examples. Lines are those where the record starts (a
/// record with a quoted line break spans several).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// The header names no `text` or no `intent` column.
    #[error(
        "line 1: the header `{found}` has no `{missing}` column, expected the columns text, intent and optionally lang"
    )]
    BadHeader {
        /// The missing column.
        missing: &'static str,
        /// The header as written.
        found: String,
    },
    /// A record has another number of fields than the header.
    #[error("line {line}: expected {expected} fields as in the header, found {found}")]
    FieldCount {
        /// 1-based line number.
        line: u64,
        /// Fields in the header.
        expected: u64,
        /// Fields in the record.
        found: u64,
    },
    /// The CSV reader refused the file.
    #[error("line {line}: {problem}")]
    Csv {
        /// 1-based line number.
        line: u64,
        /// What is wrong, as the reader says.
        problem: String,
    },
    /// The intent column names no known intent.
    #[error("line {line}: unknown intent `{intent}`, expected one of {expected}")]
    UnknownIntent {
        /// 1-based line number.
        line: u64,
        /// The intent as written.
        intent: String,
        /// The known names.
        expected: String,
    },
    /// The text or language column is empty.
    #[error("line {line}: the `{column}` column is empty")]
    Empty {
        /// 1-based line number.
        line: u64,
        /// Which column.
        column: &'static str,
    },
}

impl DataError {
    fn from_csv(error: &csv::Error) -> DataError {
        let line = error.position().map_or(1, csv::Position::line);
        match error.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => DataError::FieldCount {
                line,
                expected: *expected_len,
                found: *len,
            },
            _ => DataError::Csv {
                line,
                problem: error.to_string(),
            },
        }
    }
}

/// Reads every example of a CSV file; the first problem found is returned with its line.
pub fn parse_csv(text: &str) -> Result<Vec<Example>, DataError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| DataError::from_csv(&e))?.clone();
    let column = |name: &'static str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| DataError::BadHeader {
                missing: name,
                found: header.iter().collect::<Vec<_>>().join(","),
            })
    };
    let (text_at, intent_at) = (column("text")?, column("intent")?);
    let lang_at = column("lang").ok();
    let mut examples = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| DataError::from_csv(&e))?;
        let line = record.position().map_or(1, csv::Position::line);
        let field = |at: usize| record.get(at).unwrap_or("");
        let intent = field(intent_at);
        let intent = Intent::parse(intent.trim()).ok_or_else(|| DataError::UnknownIntent {
            line,
            intent: intent.to_owned(),
            expected: Intent::ALL.map(Intent::as_str).join(", "),
        })?;
        let text = field(text_at);
        if text.trim().is_empty() {
            return Err(DataError::Empty { line, column: "text" });
        }
        let lang = match lang_at {
            Some(at) => field(at).trim().to_ascii_lowercase(),
            None => "und".to_owned(),
        };
        if lang.is_empty() {
            return Err(DataError::Empty { line, column: "lang" });
        }
        examples.push(Example {
            text: text.to_owned(),
            intent,
            lang,
        });
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_line_breaks_and_unicode() {
        let examples = parse_csv(concat!(
            "\u{feff}text,intent,lang\r\n",
            "\"Hallo, wo ist \"\"mein\"\" Paket?\",where-is-my-order,de\r\n",
            "荷物はどこですか,where-is-my-order,ja\n",
            "\"Bonjour,\n\nle colis est arrivé cassé.\r\nMerci\",damaged-defective-wrong,fr\n",
            "\n",
            "\"مرحبا\nأين طلبي؟\",where-is-my-order,AR\n",
        ))
        .unwrap();
        let texts: Vec<(&str, &str)> = examples.iter().map(|e| (e.text.as_str(), e.lang.as_str())).collect();
        assert_eq!(
            texts,
            [
                ("Hallo, wo ist \"mein\" Paket?", "de"),
                ("荷物はどこですか", "ja"),
                ("Bonjour,\n\nle colis est arrivé cassé.\r\nMerci", "fr"),
                ("مرحبا\nأين طلبي؟", "ar"),
            ]
        );
        assert_eq!(examples[2].intent, Intent::DamagedDefectiveWrong);
    }

    #[test]
    fn columns_by_name_in_any_order() {
        let examples = parse_csv(concat!(
            "ticket,intent,created,text\n",
            "1,refund,2026-01-02,\"Quiero un reembolso,\npor favor\"\n",
            "2,return,2026-01-03,我想退货\n",
        ))
        .unwrap();
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].text, "Quiero un reembolso,\npor favor");
        assert_eq!(examples[0].lang, "und");
        assert_eq!(examples[1].intent, Intent::Return);
    }

    #[test]
    fn problems_name_their_line() {
        let cases = [
            (
                "a,b\n",
                "line 1: the header `a,b` has no `text` column, expected the columns text, intent and optionally lang",
            ),
            (
                "text,lang\nx,de\n",
                "line 1: the header `text,lang` has no `intent` column, expected the columns text, intent and optionally lang",
            ),
            (
                "text,intent,lang\nok,refund,en\nbad,refnd,en\n",
                "line 3: unknown intent `refnd`, expected one of",
            ),
            (
                "text,intent,lang\n\"zwei\nZeilen\",refund,de\nbad,refnd,en\n",
                "line 4: unknown intent `refnd`",
            ),
            (
                "text,intent,lang\ntwo,fields\n",
                "line 2: expected 3 fields as in the header, found 2",
            ),
            (
                "text,intent,lang\n\" \",refund,en\n",
                "line 2: the `text` column is empty",
            ),
            (
                "text,intent,lang\nPaket,refund, \n",
                "line 2: the `lang` column is empty",
            ),
        ];
        for (csv, expected) in cases {
            let error = parse_csv(csv).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{csv:?}: {error}");
        }
    }
}
