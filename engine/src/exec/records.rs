//! Input files read in bounded pieces: lines of JSON in chunks, an mbox file mail by mail, any
//! other file whole; never more than [`MAX_RECORD_BYTES`] of one file in memory at once.
//!
//! Each piece remembers the line it starts on, so that a problem is reported with its line in
//! the file, and each piece is kept as raw traffic of its own.

use std::io::{BufRead, Read};

/// How many lines of JSON one chunk holds at most. A chunk is one stored inbound row and one
/// call of the channel plugin: large enough that neither costs much per line, small enough
/// that a chunk of a few hundred bytes a line stays near 1 MiB.
pub const CHUNK_LINES: usize = 2048;
/// How many bytes of lines one chunk holds at most (a longer single line is a chunk alone).
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// The largest record (a line, a mail, a file) kept in one piece: 32 MiB, half of what a
/// plugin may use, so that a channel can hold it and what it makes of it. A longer record is
/// kept raw in parts of this size, and dead-lettered without being parsed.
pub const MAX_RECORD_BYTES: usize = 32 * 1024 * 1024;

/// How a file is cut into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One record per line (JSON lines), blank lines skipped, grouped into chunks.
    Lines,
    /// One record per mail, each starting at a `From ` line at the start of the file or after
    /// a blank line (how mboxo, mboxrd and mboxcl files separate mails).
    Mbox,
    /// The whole file is one record (an `.eml` file, a Maildir file).
    Whole,
}

/// A piece of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The 1-based line of the file where the piece starts.
    pub first_line: usize,
    /// How many records (lines of JSON, mails) the piece holds; 0 for a part of an oversized
    /// record.
    pub records: usize,
    /// For a part of a record longer than [`MAX_RECORD_BYTES`]: which part it is (from 1).
    pub oversized_part: Option<usize>,
    pub bytes: Vec<u8>,
}

/// A line as read: possibly only a part of it, when it is longer than the room given.
struct Line {
    number: usize,
    bytes: Vec<u8>,
    /// The line ended (with `\n` or at the end of the input).
    complete: bool,
    /// This is not the start of the line but the rest of a longer one.
    continuation: bool,
}

impl Line {
    fn blank(&self) -> bool {
        !self.continuation && self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

/// Cuts `input` into pieces as `framing` says: an iterator of I/O results.
pub struct Pieces<R> {
    input: R,
    framing: Framing,
    /// The number of the line being read.
    line: usize,
    /// The reader stopped inside a line (it was longer than the room given).
    mid_line: bool,
    /// A line read but not used yet: it starts the next piece.
    ahead: Option<Line>,
    /// Inside a record longer than [`MAX_RECORD_BYTES`]: its first line and its next part.
    oversized: Option<(usize, usize)>,
    /// The last line used was blank (an mbox separator must follow a blank line).
    previous_blank: bool,
    finished: bool,
    bytes_read: u64,
    max_record: usize,
}

impl<R: BufRead> Pieces<R> {
    pub fn new(input: R, framing: Framing) -> Self {
        Pieces {
            input,
            framing,
            line: 1,
            mid_line: false,
            ahead: None,
            oversized: None,
            previous_blank: true,
            finished: false,
            bytes_read: 0,
            max_record: MAX_RECORD_BYTES,
        }
    }

    /// Another bound than [`MAX_RECORD_BYTES`] (at least 1 byte), for tests.
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes.max(1);
        self
    }

    /// How many bytes of the input were read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next line (or the first `limit` bytes of it), or None at the end of the input.
    fn next_line(&mut self, limit: usize) -> std::io::Result<Option<Line>> {
        if let Some(line) = self.ahead.take() {
            return Ok(Some(line));
        }
        let mut bytes = Vec::new();
        let mut complete = false;
        while bytes.len() < limit.max(1) {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                complete = true;
                break;
            }
            let window = &available[..available.len().min(limit.max(1) - bytes.len())];
            let (taken, ended) = match window.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (window.len(), false),
            };
            bytes.extend_from_slice(&window[..taken]);
            self.input.consume(taken);
            self.bytes_read += taken as u64;
            if ended {
                complete = true;
                break;
            }
        }
        if bytes.is_empty() && complete {
            return Ok(None);
        }
        let line = Line {
            number: self.line,
            bytes,
            complete,
            continuation: self.mid_line,
        };
        self.mid_line = !complete;
        if complete {
            self.line += 1;
        }
        Ok(Some(line))
    }

    fn next_lines(&mut self) -> std::io::Result<Option<Piece>> {
        if let Some((first_line, part)) = self.oversized {
            if let Some(line) = self.next_line(self.max_record)? {
                self.oversized = (!line.complete).then_some((first_line, part + 1));
                return Ok(Some(Piece {
                    first_line,
                    records: 0,
                    oversized_part: Some(part),
                    bytes: line.bytes,
                }));
            }
            self.oversized = None;
        }
        let mut bytes = Vec::new();
        let mut first_line = 0;
        let mut records = 0;
        while records < CHUNK_LINES && bytes.len() < CHUNK_BYTES {
            let Some(line) = self.next_line(self.max_record)? else {
                break;
            };
            if !line.complete {
                // Longer than a record may be: the chunk so far first, then the line in parts.
                if records > 0 {
                    self.ahead = Some(line);
                    break;
                }
                self.oversized = Some((line.number, 2));
                return Ok(Some(Piece {
                    first_line: line.number,
                    records: 0,
                    oversized_part: Some(1),
                    bytes: line.bytes,
                }));
            }
            if line.blank() {
                if records > 0 {
                    bytes.extend_from_slice(&line.bytes);
                }
                continue;
            }
            if records == 0 {
                first_line = line.number;
            }
            records += 1;
            bytes.extend_from_slice(&line.bytes);
        }
        Ok((records > 0).then_some(Piece {
            first_line,
            records,
            oversized_part: None,
            bytes,
        }))
    }

    fn separates(&self, line: &Line) -> bool {
        self.previous_blank && !line.continuation && line.bytes.starts_with(b"From ")
    }

    fn use_line(&mut self, line: &Line, into: &mut Vec<u8>) {
        self.previous_blank = line.complete && line.blank();
        into.extend_from_slice(&line.bytes);
    }

    fn next_mail(&mut self) -> std::io::Result<Option<Piece>> {
        if let Some((first_line, part)) = self.oversized {
            // The rest of an oversized mail, up to the next separator.
            let mut bytes = Vec::new();
            let mut more = true;
            while bytes.len() < self.max_record {
                let Some(line) = self.next_line(self.max_record - bytes.len())? else {
                    more = false;
                    break;
                };
                if self.separates(&line) {
                    self.ahead = Some(line);
                    more = false;
                    break;
                }
                self.use_line(&line, &mut bytes);
            }
            self.oversized = more.then_some((first_line, part + 1));
            if !bytes.is_empty() {
                return Ok(Some(Piece {
                    first_line,
                    records: 0,
                    oversized_part: Some(part),
                    bytes,
                }));
            }
        }
        let mut bytes = Vec::new();
        let mut first_line = 0;
        loop {
            if bytes.len() >= self.max_record {
                self.oversized = Some((first_line, 2));
                return Ok(Some(Piece {
                    first_line,
                    records: 0,
                    oversized_part: Some(1),
                    bytes,
                }));
            }
            let Some(line) = self.next_line(self.max_record - bytes.len())? else {
                break;
            };
            if self.separates(&line) && !bytes.is_empty() {
                self.ahead = Some(line);
                break;
            }
            if bytes.is_empty() {
                if line.blank() {
                    // Blank lines ahead of a mail.
                    self.previous_blank = true;
                    continue;
                }
                first_line = line.number;
            }
            self.use_line(&line, &mut bytes);
        }
        Ok((!bytes.is_empty()).then_some(Piece {
            first_line,
            records: 1,
            oversized_part: None,
            bytes,
        }))
    }

    fn next_whole(&mut self) -> std::io::Result<Option<Piece>> {
        let part = match self.oversized {
            Some((_, part)) => part,
            None if self.finished => return Ok(None),
            None => 1,
        };
        let mut bytes = Vec::new();
        (&mut self.input).take(self.max_record as u64).read_to_end(&mut bytes)?;
        self.bytes_read += bytes.len() as u64;
        let more = !self.input.fill_buf()?.is_empty();
        if part > 1 && bytes.is_empty() {
            self.oversized = None;
            self.finished = true;
            return Ok(None);
        }
        let oversized = more || part > 1;
        self.oversized = more.then_some((1, part + 1));
        self.finished = !more;
        Ok(Some(Piece {
            first_line: 1,
            records: if oversized { 0 } else { 1 },
            oversized_part: oversized.then_some(part),
            bytes,
        }))
    }
}

impl<R: BufRead> Iterator for Pieces<R> {
    type Item = std::io::Result<Piece>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = match self.framing {
            Framing::Lines => self.next_lines(),
            Framing::Mbox => self.next_mail(),
            Framing::Whole => self.next_whole(),
        };
        next.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &[u8], framing: Framing) -> Vec<Piece> {
        Pieces::new(std::io::BufReader::with_capacity(7, text), framing)
            .collect::<std::io::Result<_>>()
            .unwrap()
    }

    #[test]
    fn lines_come_in_chunks_that_know_their_first_line() {
        let mut text = String::from("\n\n");
        for n in 0..CHUNK_LINES + 3 {
            text.push_str(&format!("{{\"id\":\"{n}\",\"body\":\"Grüße, 山田 — مرحبا\"}}\n"));
            if n == 5 {
                text.push_str("   \n");
            }
        }
        let got = pieces(text.as_bytes(), Framing::Lines);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].first_line, got[0].records), (3, CHUNK_LINES));
        assert_eq!((got[1].first_line, got[1].records), (3 + CHUNK_LINES + 1, 3));
        let joined: Vec<u8> = got.iter().flat_map(|p| p.bytes.clone()).collect();
        assert_eq!(
            joined,
            text.as_bytes()[2..],
            "nothing but the leading blank lines is left out"
        );
    }

    #[test]
    fn mbox_is_cut_at_from_lines_after_blank_lines() {
        let text = concat!(
            "From anna@example.de Mon Nov 20 09:00:00 2026\n",
            "Subject: Paket\n\nWo ist mein Paket?\nFrom here on, nothing separates.\n\n",
            "From yuki@example.jp Mon Nov 20 10:00:00 2026\n",
            "Subject: 注文\n\n荷物はまだですか\n",
        );
        let got = pieces(text.as_bytes(), Framing::Mbox);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].first_line, 1);
        assert!(got[0].bytes.ends_with(b"nothing separates.\n\n"));
        assert_eq!(got[1].first_line, 7);
        assert!(got[1].bytes.starts_with(b"From yuki@"));
        assert_eq!(got.iter().map(|p| p.bytes.len()).sum::<usize>(), text.len());
    }

    fn bounded(text: &[u8], framing: Framing, max: usize) -> Vec<(usize, usize, Option<usize>, Vec<u8>)> {
        Pieces::new(std::io::BufReader::with_capacity(3, text), framing)
            .with_max_record(max)
            .map(|p| {
                let p = p.unwrap();
                (p.first_line, p.records, p.oversized_part, p.bytes)
            })
            .collect()
    }

    #[test]
    fn an_oversized_record_is_kept_in_parts_and_the_rest_goes_on() {
        let got = bounded(b"{\"a\":1}\n0123456789abc\n{\"b\":2}\n", Framing::Lines, 10);
        assert_eq!(
            got,
            [
                (1, 1, None, b"{\"a\":1}\n".to_vec()),
                (2, 0, Some(1), b"0123456789".to_vec()),
                (2, 0, Some(2), b"abc\n".to_vec()),
                (3, 1, None, b"{\"b\":2}\n".to_vec()),
            ]
        );
        let mbox = "From a\nSubject: ü\n\nlong long long\n\nFrom b\nSubj: x\n";
        let got = bounded(mbox.as_bytes(), Framing::Mbox, 16);
        let parts: Vec<_> = got.iter().map(|p| (p.0, p.1, p.2)).collect();
        assert_eq!(
            parts,
            [(1, 0, Some(1)), (1, 0, Some(2)), (1, 0, Some(3)), (6, 1, None)],
            "{got:?}"
        );
        let joined: Vec<u8> = got.iter().flat_map(|p| p.3.clone()).collect();
        assert_eq!(joined, mbox.as_bytes());
        let text = "Grüße aus Köln";
        let got = bounded(text.as_bytes(), Framing::Whole, 8);
        let parts: Vec<_> = got.iter().map(|p| (p.1, p.2)).collect();
        assert_eq!(parts, [(0, Some(1)), (0, Some(2)), (0, Some(3))]);
        let joined: Vec<u8> = got.iter().flat_map(|p| p.3.clone()).collect();
        assert_eq!(joined, text.as_bytes());
    }

    #[test]
    fn a_whole_file_is_one_piece_even_when_empty() {
        assert_eq!(pieces(b"", Framing::Whole).len(), 1);
        let got = pieces(b"Subject: x\n\nhallo\n", Framing::Whole);
        assert_eq!((got.len(), got[0].records), (1, 1));
    }
}
