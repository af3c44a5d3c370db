//! PDF files: objects and streams written as given, then a correct
//! cross-reference table, a wrong one, or none.

use std::io::Write;

/// A PDF being written.
pub struct Writer {
    out: Vec<u8>,
    offsets: Vec<(u32, usize)>,
}

/// zlib-compresses `data`.
pub fn flate(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

/// `text` as a PDF hex string of UTF-16BE with its byte order mark.
pub fn utf16_hex(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        out.push_str(&format!("{unit:04X}"));
    }
    out.push('>');
    out
}

impl Writer {
    /// A PDF of this version, with the binary comment line writers add.
    pub fn new(version: &str) -> Self {
        let mut out = format!("%PDF-{version}\n").into_bytes();
        out.extend_from_slice(b"%\xe2\xe3\xcf\xd3\n");
        Self {
            out,
            offsets: Vec::new(),
        }
    }

    /// `num 0 obj body endobj`.
    pub fn obj(&mut self, num: u32, body: &str) -> &mut Self {
        self.offsets.push((num, self.out.len()));
        write!(self.out, "{num} 0 obj\n{body}\nendobj\n").unwrap();
        self
    }

    /// A stream object: `<< /Length n extra >>` and the data.
    pub fn stream(&mut self, num: u32, extra: &str, data: &[u8]) -> &mut Self {
        let dict = format!("/Length {} {extra}", data.len());
        self.stream_with_dict(num, &dict, data)
    }

    /// A stream object with exactly this dictionary content (no `/Length` added).
    pub fn stream_with_dict(&mut self, num: u32, dict: &str, data: &[u8]) -> &mut Self {
        self.offsets.push((num, self.out.len()));
        write!(self.out, "{num} 0 obj\n<< {dict} >>\nstream\n").unwrap();
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
        self
    }

    fn xref_table(&self, shift: usize) -> Vec<u8> {
        let max = self.offsets.iter().map(|(n, _)| *n).max().unwrap_or(0);
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", max + 1);
        for num in 1..=max {
            match self.offsets.iter().find(|(n, _)| *n == num) {
                Some((_, off)) => table.push_str(&format!("{:010} 00000 n \n", off + shift)),
                None => table.push_str("0000000000 65535 f \n"),
            }
        }
        table.into_bytes()
    }

    fn trailer(&self, root: u32) -> String {
        let size = self.offsets.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
        format!("trailer\n<< /Size {size} /Root {root} 0 R >>\n")
    }

    /// With a correct cross-reference table.
    pub fn finish(&self, root: u32) -> Vec<u8> {
        let mut out = self.out.clone();
        let at = out.len();
        out.extend_from_slice(&self.xref_table(0));
        out.extend_from_slice(self.trailer(root).as_bytes());
        write!(out, "startxref\n{at}\n%%EOF\n").unwrap();
        out
    }

    /// With a table whose offsets are all wrong and a `startxref` pointing at nothing.
    pub fn finish_broken_xref(&self, root: u32) -> Vec<u8> {
        let mut out = self.out.clone();
        let at = out.len();
        out.extend_from_slice(&self.xref_table(7));
        out.extend_from_slice(self.trailer(root).as_bytes());
        write!(out, "startxref\n{}\n%%EOF\n", at + 3).unwrap();
        out
    }

    /// With a trailer but no table and no `startxref`.
    pub fn finish_without_xref(&self, root: u32) -> Vec<u8> {
        let mut out = self.out.clone();
        out.extend_from_slice(self.trailer(root).as_bytes());
        out.extend_from_slice(b"%%EOF\n");
        out
    }
}
