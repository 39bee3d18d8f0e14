//! Masks build secrets in a build's output: every occurrence of a secret's value
//! becomes `***` before the output reaches a log file. The output arrives in chunks
//! (pipe reads, engine stream items), so a value can be split across two of them: the
//! masker holds back a chunk's tail while it could still be the start of a secret.

/// What a secret's value is replaced by.
pub const MASK: &[u8] = b"***";

/// A streaming masker over a set of secret values.
#[derive(Clone, Debug, Default)]
pub struct SecretMasker {
    /// Non-empty values, longest first, so an overlapping longer one wins.
    secrets: Vec<Vec<u8>>,
    /// Bytes held back: a prefix of some secret, waiting for the next chunk.
    pending: Vec<u8>,
}

impl SecretMasker {
    /// A masker for `values`; empty values are ignored (masking them would mask
    /// nothing useful and everything at once).
    pub fn new<I, V>(values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: AsRef<[u8]>,
    {
        let mut secrets: Vec<Vec<u8>> = values
            .into_iter()
            .map(|v| v.as_ref().to_vec())
            .filter(|v| !v.is_empty())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self {
            secrets,
            pending: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Masks `chunk` (after what was held back) and returns what can be written now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.secrets.is_empty() {
            return chunk.to_vec();
        }
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(input.len());
        let mut i = 0;
        while i < input.len() {
            let rest = &input[i..];
            if let Some(secret) = self.secrets.iter().find(|s| rest.starts_with(s)) {
                out.extend_from_slice(MASK);
                i += secret.len();
                continue;
            }
            // The rest could still become a secret with the next chunk: hold it back.
            if self.secrets.iter().any(|s| s.starts_with(rest)) {
                self.pending = rest.to_vec();
                return out;
            }
            out.push(input[i]);
            i += 1;
        }
        out
    }

    /// What was held back, at the end of the output: it never became a secret.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    /// Masks a complete text (a message, a log tail).
    pub fn mask_all(&self, text: &str) -> String {
        let mut masker = Self {
            secrets: self.secrets.clone(),
            pending: Vec::new(),
        };
        let mut out = masker.push(text.as_bytes());
        out.extend(masker.finish());
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(masker: &mut SecretMasker, chunks: &[&str]) -> String {
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(masker.push(chunk.as_bytes()));
        }
        out.extend(masker.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn masks_every_occurrence_in_one_chunk() {
        let mut m = SecretMasker::new(["hunter2"]);
        assert_eq!(
            run(&mut m, &["pw=hunter2 again hunter2\n"]),
            "pw=*** again ***\n"
        );
    }

    #[test]
    fn masks_a_value_split_across_chunks_at_every_point() {
        let text = "token: s3cr3t-value done";
        for cut in 0..=text.len() {
            for second in cut..=text.len() {
                let mut m = SecretMasker::new(["s3cr3t-value"]);
                let out = run(&mut m, &[&text[..cut], &text[cut..second], &text[second..]]);
                assert_eq!(out, "token: *** done", "cuts at {cut} and {second}");
            }
        }
        // One byte at a time.
        let mut m = SecretMasker::new(["s3cr3t-value"]);
        let bytes: Vec<String> = text.chars().map(String::from).collect();
        let chunks: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(run(&mut m, &chunks), "token: *** done");
    }

    #[test]
    fn a_held_back_prefix_that_never_completes_is_written() {
        let mut m = SecretMasker::new(["abcdef"]);
        assert_eq!(m.push(b"xx abc"), b"xx ");
        assert_eq!(m.push(b"dX"), b"abcdX");
        assert_eq!(run(&mut m, &["ends with abcde"]), "ends with abcde");
    }

    #[test]
    fn overlapping_and_repeated_values() {
        let mut m = SecretMasker::new(["aaa", "", "aaab", "aaa"]);
        assert_eq!(run(&mut m, &["aa", "ab aaaa"]), "*** ***a");
        // No secrets: output unchanged, nothing held back.
        let mut none = SecretMasker::new(Vec::<String>::new());
        assert!(none.is_empty());
        assert_eq!(none.push(b"abc"), b"abc");
        assert_eq!(
            SecretMasker::new(["k"]).mask_all("a k in a kit"),
            "a *** in a ***it"
        );
    }
}
