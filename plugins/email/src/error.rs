//! What can be wrong with a mail, each with where it was found.

/// Why a mail could not be normalized. Every variant is permanent: the same bytes fail the same
/// way every time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The input is empty.
    #[error("empty mail")]
    Empty,
    /// The first line is not a header field, so there is no header block at all.
    #[error("line 1: no header block: expected a header field such as `From: ...`, found {found}")]
    NoHeaderBlock {
        /// A short, printable excerpt of what was found.
        found: String,
    },
    /// A line inside the header block is neither a header field nor a continuation.
    #[error("line {line}: expected a header field or the blank line that ends the headers, found {found}")]
    BadHeaderLine {
        /// 1-based line number.
        line: usize,
        /// A short, printable excerpt of what was found.
        found: String,
    },
    /// A header field holds a control byte no mail has any business carrying.
    #[error("line {line}: header `{name}` contains the control byte 0x{byte:02x}")]
    ControlByte {
        /// 1-based line number.
        line: usize,
        /// The header's name.
        name: String,
        /// The offending byte.
        byte: u8,
    },
    /// The header block has no `From` field.
    #[error("no `From` header: cannot tell who wrote the mail")]
    MissingFrom,
    /// The `From` field holds no usable address.
    #[error("line {line}: header `From` holds no mail address ({value})")]
    BadFrom {
        /// 1-based line number.
        line: usize,
        /// The raw value, shortened.
        value: String,
    },
    /// Neither `Date` nor any `Received` field gives a time.
    #[error("no usable date: {why}, and no `Received` header carries a date")]
    NoDate {
        /// What was wrong with `Date`.
        why: String,
    },
    /// The MIME structure could not be read at all.
    #[error("the MIME structure could not be read")]
    Mime,
}

/// A short, printable excerpt of raw bytes for an error message.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut short: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        short.push('…');
    }
    format!("{short:?}")
}
