//! The little JSON (RFC 8259) that identity assertions need (RFC 8827
//! §7.4): a bounded parser into a value tree and a string writer.
//!
//! The core has no JSON dependency outside feature `serde`; assertions are
//! short objects of strings, so this stays small: numbers are kept as their
//! text, nesting is limited to [`MAX_DEPTH`], and every error is a value,
//! never a panic.

/// Deepest nesting accepted; deeper input is refused (a stack guard).
pub(crate) const MAX_DEPTH: usize = 16;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// The number as written (validated, not converted).
    Number(String),
    String(String),
    Array(Vec<Self>),
    /// Members in order; a repeated name keeps every occurrence and
    /// [`get`](Self::get) answers the first.
    Object(Vec<(String, Self)>),
}

impl Json {
    /// Parses one value filling all of `text` (whitespace around allowed).
    pub(crate) fn parse(text: &str) -> Result<Self, &'static str> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err("trailing characters after the JSON value");
        }
        Ok(v)
    }

    /// The member `name` of an object.
    pub(crate) fn get(&self, name: &str) -> Option<&Self> {
        match self {
            Self::Object(m) => m.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Self]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Writes `s` as a JSON string literal (RFC 8259 §7) onto `out`.
pub(crate) fn write_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // "All Unicode characters may be placed within the quotation
            // marks, except for the characters that MUST be escaped:
            // quotation mark, reverse solidus, and the control characters
            // (U+0000 through U+001F)."
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        // RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D )
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, &'static str> {
        if depth > MAX_DEPTH {
            return Err("JSON nested too deeply");
        }
        self.ws();
        match self.s.get(self.i) {
            None => Err("JSON ends where a value was expected"),
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(Json::Object(members));
                }
                loop {
                    self.ws();
                    let name = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err("expected ':' after an object member's name");
                    }
                    let v = self.value(depth + 1)?;
                    members.push((name, v));
                    self.ws();
                    if self.eat(b"}") {
                        return Ok(Json::Object(members));
                    }
                    if !self.eat(b",") {
                        return Err("expected ',' or '}' in an object");
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b"]") {
                        return Ok(Json::Array(items));
                    }
                    if !self.eat(b",") {
                        return Err("expected ',' or ']' in an array");
                    }
                }
            }
            Some(b'"') => self.string().map(Json::String),
            Some(b't') if self.eat(b"true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Json::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err("unexpected character in JSON"),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Json, &'static str> {
        // RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ]
        let start = self.i;
        self.eat(b"-");
        if !self.eat(b"0") && self.digits() == 0 {
            return Err("a JSON number needs digits");
        }
        if self.eat(b".") && self.digits() == 0 {
            return Err("a JSON fraction needs digits");
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            let _ = self.eat(b"+") || self.eat(b"-");
            if self.digits() == 0 {
                return Err("a JSON exponent needs digits");
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "bad number")?;
        Ok(Json::Number(text.to_owned()))
    }

    fn hex4(&mut self) -> Result<u32, &'static str> {
        let h = self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
        let h = std::str::from_utf8(h).map_err(|_| "bad \\u escape")?;
        let v = u32::from_str_radix(h, 16).map_err(|_| "bad \\u escape")?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, &'static str> {
        if !self.eat(b"\"") {
            return Err("expected a JSON string");
        }
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err("unterminated JSON string");
            };
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err("unterminated escape");
                    };
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            // RFC 8259 §7: characters outside the BMP are
                            // "a 12-character sequence, encoding the UTF-16
                            // surrogate pair".
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat(b"\\u") {
                                    return Err("lone surrogate in a JSON string");
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err("bad surrogate pair in a JSON string");
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(cp).ok_or("lone surrogate in a JSON string")?
                        }
                        _ => return Err("unknown escape in a JSON string"),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => return Err("control character in a JSON string"),
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| "JSON string is not UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_rfc_8827_assertion_and_refuses_malformed_json() {
        let text = r#" {"idp":{"domain":"example.org","protocol":"bogus"},
            "assertion":"{\"identity\":\"bob@example.org\",\"contents\":\"abc\"}",
            "n":[1,-2.5e3,true,false,null], "u":"\u00e9\ud83d\ude00"} "#;
        let v = Json::parse(text).unwrap();
        assert_eq!(
            v.get("idp")
                .and_then(|i| i.get("domain"))
                .and_then(Json::as_str),
            Some("example.org")
        );
        let inner = Json::parse(v.get("assertion").unwrap().as_str().unwrap()).unwrap();
        assert_eq!(
            inner.get("identity").unwrap().as_str(),
            Some("bob@example.org")
        );
        assert_eq!(v.get("n").unwrap().as_array().unwrap().len(), 5);
        assert_eq!(v.get("u").unwrap().as_str(), Some("é😀"));
        for bad in [
            "",
            "{",
            "{\"a\"}",
            "[1,]",
            "\"\\ud800\"",
            "\"a\nb\"",
            "01x",
            "{} {}",
            "-",
            "1.e5",
            &"[".repeat(MAX_DEPTH + 2),
        ] {
            assert!(Json::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn written_strings_read_back() {
        let s = "q\"b\\s/\n\t\u{1}é";
        let mut out = String::new();
        write_string(&mut out, s);
        assert_eq!(Json::parse(&out).unwrap(), Json::String(s.into()));
    }
}
