//! PostgreSQL's array text (`{1,2,NULL}`, `{{"a b","c\"d"},{e,f}}`, `[0:1]={x,y}`) as nested
//! JSON arrays whose elements are converted by their type.

use super::types::ElementKind;
use super::value::push_value;

/// PostgreSQL's limit on array dimensions (MAXDIM).
const MAX_DIMS: usize = 6;

/// Appends `text` as a JSON array; `false` (with nothing appended) when it is not an array
/// literal PostgreSQL would write.
pub fn push_array(out: &mut String, elem: ElementKind, text: &str) -> bool {
    let start = out.len();
    // A non-default lower bound is written as a `[lo:hi]...=` prefix.
    let body = match text.strip_prefix('[') {
        Some(_) => match text.find('=') {
            Some(eq) => &text[eq + 1..],
            None => return false,
        },
        None => text,
    };
    let mut p = Parser {
        b: body.as_bytes(),
        text: body,
        i: 0,
        out,
        elem,
        scratch: String::new(),
    };
    let ok = p.array(0).is_some() && p.i == p.b.len();
    if !ok {
        out.truncate(start);
    }
    ok
}

struct Parser<'a, 'o> {
    b: &'a [u8],
    text: &'a str,
    i: usize,
    out: &'o mut String,
    elem: ElementKind,
    scratch: String,
}

impl Parser<'_, '_> {
    fn array(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DIMS || self.b.get(self.i) != Some(&b'{') {
            return None;
        }
        self.i += 1;
        self.out.push('[');
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            self.out.push(']');
            return Some(());
        }
        loop {
            match self.b.get(self.i)? {
                b'{' => self.array(depth + 1)?,
                b'"' => self.quoted()?,
                _ => self.unquoted()?,
            }
            match self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.out.push(',');
                }
                b'}' => {
                    self.i += 1;
                    self.out.push(']');
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn quoted(&mut self) -> Option<()> {
        self.i += 1;
        self.scratch.clear();
        let mut run = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.scratch.push_str(&self.text[run..self.i]);
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    self.scratch.push_str(&self.text[run..self.i]);
                    // The escaped character may be multi-byte: copy it whole.
                    let ch = self.text.get(self.i + 1..)?.chars().next()?;
                    self.scratch.push(ch);
                    self.i += 1 + ch.len_utf8();
                    run = self.i;
                }
                _ => self.i += 1,
            }
        }
        let scratch = std::mem::take(&mut self.scratch);
        push_value(self.out, self.elem.scalar(), &scratch);
        self.scratch = scratch;
        Some(())
    }

    fn unquoted(&mut self) -> Option<()> {
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            if c == b',' || c == b'}' {
                break;
            }
            if c == b'{' || c == b'"' || c == b'\\' {
                return None;
            }
            self.i += 1;
        }
        let item = self.text[start..self.i].trim();
        if item.is_empty() {
            return None;
        }
        if item.eq_ignore_ascii_case("NULL") {
            self.out.push_str("null");
        } else {
            push_value(self.out, self.elem.scalar(), item);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(elem: ElementKind, text: &str) -> Option<String> {
        let mut s = String::new();
        push_array(&mut s, elem, text).then_some(s)
    }

    #[test]
    fn arrays() {
        use ElementKind::*;
        assert_eq!(arr(Integer, "{1,2,NULL}").unwrap(), "[1,2,null]");
        assert_eq!(arr(Integer, "{}").unwrap(), "[]");
        assert_eq!(arr(Integer, "{{1,2},{3,4}}").unwrap(), "[[1,2],[3,4]]");
        assert_eq!(
            arr(Text, r#"{"a b","c\"d",NULL,"NULL",é}"#).unwrap(),
            r#"["a b","c\"d",null,"NULL","é"]"#
        );
        assert_eq!(arr(Text, r#"{"x\é"}"#).unwrap(), r#"["xé"]"#);
        assert_eq!(arr(Numeric, "{1.50,NaN}").unwrap(), r#"["1.50","NaN"]"#);
        assert_eq!(arr(Bool, "{t,f}").unwrap(), "[true,false]");
        assert_eq!(arr(Integer, "[0:1]={7,8}").unwrap(), "[7,8]");
        assert_eq!(
            arr(Json, r#"{"{\"a\": 1}",null}"#).unwrap(),
            r#"[{"a": 1},null]"#
        );
        for bad in [
            "",
            "{",
            "{1,",
            "1,2",
            "{1}}",
            "{{{{{{{1}}}}}}}",
            "{a\"b}",
            "{,}",
        ] {
            assert!(arr(Integer, bad).is_none(), "{bad}");
        }
    }
}
