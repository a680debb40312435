//! The raw header block: each field unfolded, with the line it starts on.
//!
//! `mail-parser` is forgiving by design and reads anything as a mail; this scan is strict where
//! it matters (the header block must exist and be well formed) so that garbage is refused with
//! the line that gave it away.

use crate::error::{MailError, excerpt};

/// One header field as written, unfolded.
#[derive(Debug, Clone)]
pub(crate) struct RawHeader {
    /// The name as written.
    pub name: String,
    /// The value, unfolded and trimmed; bytes that are not UTF-8 are replaced.
    pub value: String,
    /// The 1-based line the field starts on.
    pub line: usize,
}

/// The header fields of a mail, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderBlock {
    pub fields: Vec<RawHeader>,
    /// Where the mail itself starts in the input: after a byte-order mark or an mbox `From `
    /// line, if there was one.
    pub start: usize,
}

impl HeaderBlock {
    /// Reads the header block at the start of `raw`, up to the first blank line or the end.
    pub fn scan(input: &[u8]) -> Result<HeaderBlock, MailError> {
        let raw = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(MailError::Empty);
        }
        let mut block = HeaderBlock {
            fields: Vec::new(),
            start: input.len() - raw.len(),
        };
        let mut pending: Option<(String, Vec<u8>, usize)> = None;
        for (index, line) in raw.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if index == 0 && line.starts_with(b"From ") {
                // An mbox separator line ahead of the real headers.
                block.start += raw.iter().position(|&b| b == b'\n').map_or(raw.len(), |p| p + 1);
                continue;
            }
            if line.iter().all(|b| *b == b' ' || *b == b'\t') && !line.is_empty() && pending.is_some() {
                // A whitespace-only continuation line: folding white space, nothing more.
                continue;
            }
            if line.is_empty() {
                if pending.is_none() && block.fields.is_empty() {
                    return Err(MailError::NoHeaderBlock {
                        found: "a blank line".into(),
                    });
                }
                break;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                match &mut pending {
                    Some((name, value, start)) => {
                        check_bytes(line, name, *start)?;
                        value.extend_from_slice(line);
                        continue;
                    }
                    None => {
                        return Err(MailError::NoHeaderBlock { found: excerpt(line) });
                    }
                }
            }
            let Some(name) = field_name(line) else {
                if block.fields.is_empty() && pending.is_none() {
                    return Err(MailError::NoHeaderBlock { found: excerpt(line) });
                }
                return Err(MailError::BadHeaderLine {
                    line: number,
                    found: excerpt(line),
                });
            };
            let value = &line[line.iter().position(|&b| b == b':').map_or(line.len(), |p| p + 1)..];
            check_bytes(value, &name, number)?;
            if let Some(done) = pending.take() {
                block.push(done);
            }
            pending = Some((name, value.to_vec(), number));
        }
        if let Some(done) = pending.take() {
            block.push(done);
        }
        Ok(block)
    }

    fn push(&mut self, (name, value, line): (String, Vec<u8>, usize)) {
        let value = String::from_utf8_lossy(&value).trim().to_owned();
        self.fields.push(RawHeader { name, value, line });
    }

    /// The first field with this name, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&RawHeader> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Every field with this name, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RawHeader> + use<'a> {
        self.fields.iter().filter(move |f| f.name.eq_ignore_ascii_case(name))
    }
}

/// The field name of a header line (`Name:` or the obsolete `Name :`), if it is one.
fn field_name(line: &[u8]) -> Option<String> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    let trimmed_len = name.len() - name.iter().rev().take_while(|b| **b == b' ' || **b == b'\t').count();
    let name = &name[..trimmed_len];
    if name.is_empty() || !name.iter().all(|b| (33..=126).contains(b)) {
        return None;
    }
    Some(String::from_utf8_lossy(name).into_owned())
}

/// Refuses control bytes (other than tab) in a header line.
fn check_bytes(bytes: &[u8], name: &str, line: usize) -> Result<(), MailError> {
    match bytes.iter().find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        Some(&byte) => Err(MailError::ControlByte {
            line,
            name: name.to_owned(),
            byte,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_and_numbers_lines() {
        let block = HeaderBlock::scan(b"From: a@b.c\r\nSubject: one\r\n two\r\nDate: x\r\n\r\nbody").unwrap();
        assert_eq!(block.get("subject").unwrap().value, "one two");
        assert_eq!(block.get("DATE").unwrap().line, 4);
    }

    #[test]
    fn refuses_what_is_not_a_header_block() {
        assert_eq!(HeaderBlock::scan(b"").unwrap_err(), MailError::Empty);
        assert!(matches!(
            HeaderBlock::scan(b"hello there\n"),
            Err(MailError::NoHeaderBlock { .. })
        ));
        assert!(matches!(
            HeaderBlock::scan(b"\nbody"),
            Err(MailError::NoHeaderBlock { .. })
        ));
        assert!(matches!(
            HeaderBlock::scan(b"From: a@b.c\nthis is not a header\n\nbody"),
            Err(MailError::BadHeaderLine { line: 2, .. })
        ));
        assert!(matches!(
            HeaderBlock::scan(b"From: a@b.c\nSubject: a\x00b\n\n"),
            Err(MailError::ControlByte { line: 2, byte: 0, .. })
        ));
    }
}
