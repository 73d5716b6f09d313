// Copyright 2026 The dcSCTP Authors
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     https://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

/// CRC-32C (Castagnoli) checksum algorithm (RFC 9260 §6.8, Appendix A).
///
/// This implementation uses the **Castagnoli** polynomial, which is distinct from the standard
/// CRC-32 (ISO 3309). EDDY-PATCH: computed by the `crc32c` crate, which uses the CPU's CRC32
/// instruction where it has one (SSE 4.2 on x86-64, the CRC extension on AArch64: ~20 times
/// the slicing-by-8 tables this file had, which cost ~0.5 ns a byte, ~0.6 µs a full-size packet
/// each way with a peer that does not accept zero checksums) and its own tables elsewhere.
pub struct Crc32c(u32);

impl Crc32c {
    pub fn new() -> Self {
        Self(0xffffffff)
    }

    pub fn digest(&mut self, data: &[u8]) {
        // The crate takes and returns the finished (inverted) value.
        self.0 = !crc32c::crc32c_append(!self.0, data);
    }

    pub fn value(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_crc32c_empty() {
        let mut crc = Crc32c::new();
        crc.digest(&[]);
        assert_eq!(crc.value(), 0x00000000);
    }

    #[test]
    fn test_crc32c_vectors() {
        // Standard test vectors for CRC32c (Castagnoli)
        // Check "123456789"
        let mut crc = Crc32c::new();
        crc.digest(b"123456789");
        assert_eq!(crc.value(), 0xe3069283);

        // 4 bytes (less than 8)
        let mut crc = Crc32c::new();
        crc.digest(b"1234");
        assert_eq!(crc.value(), 0xf63af4ee);

        // 8 bytes (exactly one chunk)
        let mut crc = Crc32c::new();
        crc.digest(b"12345678");
        assert_eq!(crc.value(), 0x6087809a);
    }

    #[test]
    fn test_vs_reference() {
        // See <https://datatracker.ietf.org/doc/html/rfc9260#appendix-A>.
        fn reference_crc32c(data: &[u8]) -> u32 {
            let mut crc: u32 = 0xffffffff;
            for &byte in data {
                crc ^= byte as u32;
                for _ in 0..8 {
                    crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F63B78 } else { crc >> 1 };
                }
            }
            !crc
        }

        // Test various lengths from 0 to 100
        for len in 0..100 {
            // Create determinstic "random" data
            let data: Vec<u8> = (0..len).map(|i| (i * 17) as u8).collect();

            let mut crc = Crc32c::new();
            crc.digest(&data);

            let ref_val = reference_crc32c(&data);
            assert_eq!(crc.value(), ref_val, "Failed for length {}", len);
        }

        // Test a larger buffer to ensure no issues with multiple chunks
        let data: Vec<u8> = (0..1024).map(|i| (i * 13) as u8).collect();
        let mut crc = Crc32c::new();
        crc.digest(&data);
        assert_eq!(crc.value(), reference_crc32c(&data));

        // EDDY-PATCH: digested in two pieces, split anywhere, as a packet's header and its
        // chunks are.
        for split in 0..=data.len().min(300) {
            let mut crc = Crc32c::new();
            crc.digest(&data[..split]);
            crc.digest(&data[split..300]);
            assert_eq!(crc.value(), reference_crc32c(&data[..300]), "split at {split}");
        }
    }
}
