//! Labeled examples and the CSV files they live in (`text,intent,lang`).
//!
//! The format is RFC 4180 CSV with a header line: fields separated by commas, a field that holds
//! a comma or a quote is wrapped in double quotes with inner quotes doubled. One example per
//! line (no line breaks inside fields).

use crate::intent::Intent;

/// One labeled message.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The message text.
    pub text: String,
    /// What it is about.
    pub intent: Intent,
    /// Its language, an ISO 639-1 code such as `de`.
    pub lang: String,
}

/// What is wrong with a CSV file of examples.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// The first line is not `text,intent,lang`.
    #[error("line 1: expected the header `text,intent,lang`, found `{found}`")]
    BadHeader {
        /// The header as written.
        found: String,
    },
    /// A line does not split into three fields.
    #[error("line {line}: expected 3 fields (text,intent,lang), found {found}")]
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// How many fields it had.
        found: usize,
    },
    /// A quoted field is not closed, or a quote sits inside an unquoted field.
    #[error("line {line}: {problem}")]
    Quoting {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// The intent column names no known intent.
    #[error("line {line}: unknown intent `{intent}`, expected one of {expected}")]
    UnknownIntent {
        /// 1-based line number.
        line: usize,
        /// The intent as written.
        intent: String,
        /// The known names.
        expected: String,
    },
    /// The text or language column is empty.
    #[error("line {line}: the `{column}` column is empty")]
    Empty {
        /// 1-based line number.
        line: usize,
        /// Which column.
        column: &'static str,
    },
}

/// Reads every example of a CSV file; the first problem found is returned with its line.
pub fn parse_csv(text: &str) -> Result<Vec<Example>, DataError> {
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, l)| l.trim_start_matches('\u{feff}').trim())
        .unwrap_or("");
    if header != "text,intent,lang" {
        return Err(DataError::BadHeader {
            found: header.to_owned(),
        });
    }
    let mut examples = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line).map_err(|problem| DataError::Quoting { line: number, problem })?;
        let [text, intent, lang]: [String; 3] = fields.try_into().map_err(|f: Vec<String>| DataError::FieldCount {
            line: number,
            found: f.len(),
        })?;
        let intent = Intent::parse(intent.trim()).ok_or_else(|| DataError::UnknownIntent {
            line: number,
            intent: intent.clone(),
            expected: Intent::ALL.map(Intent::as_str).join(", "),
        })?;
        if text.trim().is_empty() {
            return Err(DataError::Empty {
                line: number,
                column: "text",
            });
        }
        let lang = lang.trim().to_ascii_lowercase();
        if lang.is_empty() {
            return Err(DataError::Empty {
                line: number,
                column: "lang",
            });
        }
        examples.push(Example { text, intent, lang });
    }
    Ok(examples)
}

fn split_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed"),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err("text after the closing quote of a field"),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("a quote inside an unquoted field"),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_unicode() {
        let examples = parse_csv(
            "text,intent,lang\n\"Hallo, wo ist \"\"mein\"\" Paket?\",where-is-my-order,de\n荷物はどこですか,where-is-my-order,ja\n",
        )
        .unwrap();
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].text, "Hallo, wo ist \"mein\" Paket?");
        assert_eq!(examples[1].lang, "ja");
    }

    #[test]
    fn problems_name_their_line() {
        assert!(matches!(parse_csv("a,b\n"), Err(DataError::BadHeader { .. })));
        let err = parse_csv("text,intent,lang\nok,refund,en\nbad,refnd,en\n").unwrap_err();
        assert!(err.to_string().starts_with("line 3: unknown intent `refnd`"), "{err}");
        let err = parse_csv("text,intent,lang\n\"open,refund,en\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2: a quoted field is not closed");
        let err = parse_csv("text,intent,lang\ntwo,fields\n").unwrap_err();
        assert_eq!(err, DataError::FieldCount { line: 2, found: 2 });
    }
}
