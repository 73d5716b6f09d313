//! Media files for `media-play` and `media-record`: IVF (VP8, VP9, AV1),
//! Annex-B H.264 and Ogg/Opus, read and written a frame at a time.
//!
//! Ogg pages come from the `ogg` crate (RustAudio's Ogg reader and writer,
//! the one the Rust audio crates use); the Opus mapping on top of it
//! (RFC 7845: `OpusHead`, `OpusTags`, granule positions at 48 kHz) is here.
//! IVF is written by hand: the whole format is a 32-byte file header and a
//! 12-byte header per frame, and the one crate for it (`ivf` 0.1, from
//! rav1e) writes only the AV1 fourcc and panics on I/O errors. Annex-B
//! needs no container at all: eddy's H.264 frames are already start codes
//! and NAL units.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Seek, SeekFrom, Write};
use std::path::Path;

use ogg::writing::PacketWriteEndInfo;
use ogg::{PacketReader, PacketWriter};

/// A codec these files carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileCodec {
    /// VP8 in IVF.
    Vp8,
    /// VP9 in IVF.
    Vp9,
    /// AV1 in IVF (one temporal unit per frame).
    Av1,
    /// H.264 as an Annex-B byte stream.
    H264,
    /// Opus in Ogg (RFC 7845).
    Opus,
}

impl FileCodec {
    /// The codec of an SDP MIME type (`video/VP8`, `audio/opus`...).
    pub fn from_mime(mime: &str) -> Option<Self> {
        let name = mime.rsplit('/').next()?;
        [Self::Vp8, Self::Vp9, Self::Av1, Self::H264, Self::Opus]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// Its SDP name (`VP8`, `opus`...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Vp8 => "VP8",
            Self::Vp9 => "VP9",
            Self::Av1 => "AV1",
            Self::H264 => "H264",
            Self::Opus => "opus",
        }
    }

    /// Audio (Opus) or video.
    pub fn is_video(self) -> bool {
        self != Self::Opus
    }

    /// The file name extension of its container.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Vp8 | Self::Vp9 | Self::Av1 => "ivf",
            Self::H264 => "h264",
            Self::Opus => "ogg",
        }
    }

    /// Its RTP clock rate: 90 kHz for video, 48 kHz for Opus (RFC 7587 §4.1).
    pub fn clock_rate(self) -> u32 {
        if self.is_video() {
            90_000
        } else {
            48_000
        }
    }

    fn fourcc(self) -> &'static [u8; 4] {
        match self {
            Self::Vp9 => b"VP90",
            Self::Av1 => b"AV01",
            _ => b"VP80",
        }
    }
}

/// One frame of a file.
#[derive(Debug, Clone)]
pub struct FileFrame {
    /// The encoded frame (H.264: an access unit, Annex-B).
    pub data: Vec<u8>,
    /// When it plays, in ticks of the codec's RTP clock from the file's start.
    pub timestamp: u64,
}

/// A whole file in memory (the files these examples play are short).
#[derive(Debug, Clone)]
pub struct MediaFile {
    /// What it carries.
    pub codec: FileCodec,
    /// Its frames in order.
    pub frames: Vec<FileFrame>,
    /// How long one pass lasts, in the same ticks: where a loop restarts.
    pub duration: u64,
}

fn invalid(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

impl MediaFile {
    /// Reads an IVF, Ogg/Opus or Annex-B H.264 file (told apart by their
    /// first bytes); `fps` times H.264, whose byte stream has no timestamps.
    pub fn read(path: &Path, fps: u32) -> io::Result<Self> {
        let bytes = std::fs::read(path)?;
        let file = if bytes.starts_with(b"DKIF") {
            read_ivf(&bytes)?
        } else if bytes.starts_with(b"OggS") {
            read_ogg_opus(&bytes)?
        } else if bytes.starts_with(&[0, 0, 1]) || bytes.starts_with(&[0, 0, 0, 1]) {
            read_annex_b(&bytes, fps)?
        } else {
            return Err(invalid("neither IVF, Ogg nor an Annex-B byte stream"));
        };
        if file.frames.is_empty() {
            return Err(invalid("no frames in the file"));
        }
        Ok(file)
    }
}

/// The duration of a pass: the last frame's time plus one frame interval.
fn pass_duration(frames: &[FileFrame], default_step: u64) -> u64 {
    let last = frames.last().map_or(0, |f| f.timestamp);
    let step = match frames {
        [.., a, b] if b.timestamp > a.timestamp => b.timestamp - a.timestamp,
        _ => default_step,
    };
    last + step
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// IVF: "DKIF", version, header size, fourcc, width, height, time base
/// denominator and numerator, frame count, unused; then per frame its size
/// (u32) and presentation time (u64, in time base units), little-endian.
fn read_ivf(b: &[u8]) -> io::Result<MediaFile> {
    if b.len() < 32 {
        return Err(invalid("IVF header cut short"));
    }
    let codec = match &b[8..12] {
        b"VP80" => FileCodec::Vp8,
        b"VP90" => FileCodec::Vp9,
        b"AV01" => FileCodec::Av1,
        other => {
            return Err(invalid(format!(
                "IVF fourcc {} (VP80, VP90 and AV01 play)",
                String::from_utf8_lossy(other)
            )))
        }
    };
    let (den, num) = (u64::from(le32(b, 16)), u64::from(le32(b, 20)));
    if den == 0 || num == 0 {
        return Err(invalid("IVF time base is zero"));
    }
    let mut at = usize::from(le16(b, 6)).max(32);
    let mut frames = Vec::new();
    while at + 12 <= b.len() {
        let size = le32(b, at) as usize;
        let pts = u64::from_le_bytes(b[at + 4..at + 12].try_into().expect("8 bytes"));
        let Some(data) = b.get(at + 12..at + 12 + size) else {
            break; // a frame cut short ends the file
        };
        frames.push(FileFrame {
            data: data.to_vec(),
            timestamp: pts * 90_000 * num / den,
        });
        at += 12 + size;
    }
    if let Some(first) = frames.first().map(|f| f.timestamp) {
        frames
            .iter_mut()
            .for_each(|f| f.timestamp -= first.min(f.timestamp));
    }
    let duration = pass_duration(&frames, 3000);
    Ok(MediaFile {
        codec,
        frames,
        duration,
    })
}

/// The NAL units of an Annex-B byte stream (start codes removed).
fn nal_units(b: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= b.len() {
        if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(b.len(), |&next| next - 3);
        // A four-byte start code's leading zero, and trailing zeros.
        while end > s && b[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            units.push(&b[s..end]);
        }
    }
    units
}

/// H.264 access units (ITU-T H.264 §7.4.1.2.3): an access unit delimiter,
/// SEI, SPS or PPS after a slice starts a new one, and so does a slice
/// whose `first_mb_in_slice` is 0 (the first bit of its header set).
fn read_annex_b(b: &[u8], fps: u32) -> io::Result<MediaFile> {
    if fps == 0 {
        return Err(invalid("--fps must be above 0"));
    }
    let step = u64::from(90_000 / fps);
    let mut frames: Vec<FileFrame> = Vec::new();
    let mut current = Vec::new();
    let mut has_slice = false;
    for nal in nal_units(b) {
        let kind = nal[0] & 0x1f;
        let slice = kind == 1 || kind == 5;
        let starts_au = if slice {
            has_slice && nal.get(1).is_some_and(|h| h & 0x80 != 0)
        } else {
            has_slice && matches!(kind, 6..=9)
        };
        if starts_au {
            let timestamp = frames.len() as u64 * step;
            frames.push(FileFrame {
                data: std::mem::take(&mut current),
                timestamp,
            });
            has_slice = false;
        }
        has_slice |= slice;
        current.extend_from_slice(&[0, 0, 0, 1]);
        current.extend_from_slice(nal);
    }
    if has_slice {
        let timestamp = frames.len() as u64 * step;
        frames.push(FileFrame {
            data: current,
            timestamp,
        });
    }
    let duration = frames.len() as u64 * step;
    Ok(MediaFile {
        codec: FileCodec::H264,
        frames,
        duration,
    })
}

/// The samples at 48 kHz an Opus packet holds (RFC 6716 §3.1: the TOC
/// byte's configuration gives the frame size, its code the frame count).
pub fn opus_samples(packet: &[u8]) -> Option<u64> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)], // SILK
        12..=15 => [480, 960][usize::from(config % 2)],            // hybrid
        _ => [120, 240, 480, 960][usize::from(config % 4)],        // CELT
    };
    let count = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u64::from(*packet.get(1)? & 0x3f),
    };
    Some(frame * count)
}

/// Ogg/Opus (RFC 7845): the first stream's `OpusHead` and `OpusTags`
/// packets, then one Opus packet per Ogg packet.
fn read_ogg_opus(b: &[u8]) -> io::Result<MediaFile> {
    let mut reader = PacketReader::new(Cursor::new(b));
    let mut serial = None;
    let mut headers = 0;
    let mut frames = Vec::new();
    let mut samples = 0u64;
    while let Some(p) = reader
        .read_packet()
        .map_err(|e| invalid(format!("Ogg: {e}")))?
    {
        if *serial.get_or_insert(p.stream_serial()) != p.stream_serial() {
            continue;
        }
        if headers == 0 {
            if !p.data.starts_with(b"OpusHead") {
                return Err(invalid("the Ogg stream is not Opus (no OpusHead)"));
            }
            headers += 1;
            continue;
        }
        if headers == 1 {
            headers += 1; // OpusTags
            continue;
        }
        let Some(n) = opus_samples(&p.data) else {
            continue; // an empty packet: nothing to send
        };
        frames.push(FileFrame {
            data: p.data,
            timestamp: samples,
        });
        samples += n;
    }
    Ok(MediaFile {
        codec: FileCodec::Opus,
        frames,
        duration: samples,
    })
}

/// Writes a track's frames to a file as they arrive.
pub struct FileWriter {
    codec: FileCodec,
    out: Out,
    /// RTP timestamps unwrapped: the first, the last, and the total ticks.
    first_timestamp: Option<u32>,
    last_timestamp: u32,
    ticks: u64,
    frames: u64,
    skipped: u64,
}

enum Out {
    /// IVF, its header written at the first frame (the size comes from it).
    Ivf(BufWriter<File>),
    AnnexB(BufWriter<File>),
    Ogg(OggOpus),
}

struct OggOpus {
    writer: PacketWriter<'static, BufWriter<File>>,
    serial: u32,
    /// The last packet and its end granule, held back so that the stream's
    /// last page can be marked as such.
    held: Option<(Vec<u8>, u64)>,
    granule: u64,
    in_page: u32,
}

/// Opus packets per Ogg page (20 ms each: a page a second).
const PACKETS_PER_PAGE: u32 = 50;

impl FileWriter {
    /// Creates `path` for a track of `codec`.
    pub fn create(path: &Path, codec: FileCodec) -> io::Result<Self> {
        let file = BufWriter::new(File::create(path)?);
        let out = match codec {
            FileCodec::Vp8 | FileCodec::Vp9 | FileCodec::Av1 => Out::Ivf(file),
            FileCodec::H264 => Out::AnnexB(file),
            FileCodec::Opus => Out::Ogg(OggOpus {
                writer: PacketWriter::new(file),
                serial: 0x6564_6479, // "eddy"
                held: None,
                granule: 0,
                in_page: 0,
            }),
        };
        Ok(Self {
            codec,
            out,
            first_timestamp: None,
            last_timestamp: 0,
            ticks: 0,
            frames: 0,
            skipped: 0,
        })
    }

    /// Frames written.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames skipped before the first key frame (nothing could decode them).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Appends a frame with its RTP timestamp; video before the first key
    /// frame is skipped.
    pub fn write_frame(&mut self, data: &[u8], timestamp: u32, keyframe: bool) -> io::Result<()> {
        if self.first_timestamp.is_none() && self.codec.is_video() && !keyframe {
            self.skipped += 1;
            return Ok(());
        }
        if self.first_timestamp.is_none() {
            self.first_timestamp = Some(timestamp);
            self.last_timestamp = timestamp;
        }
        // RTP timestamps wrap: step by the signed difference.
        let step = timestamp.wrapping_sub(self.last_timestamp) as i32;
        self.ticks = self.ticks.saturating_add_signed(i64::from(step));
        self.last_timestamp = timestamp;
        match &mut self.out {
            Out::Ivf(file) => {
                if self.frames == 0 {
                    let (w, h) = video_size(self.codec, data).unwrap_or((0, 0));
                    let mut header = [0u8; 32];
                    header[..4].copy_from_slice(b"DKIF");
                    header[6..8].copy_from_slice(&32u16.to_le_bytes());
                    header[8..12].copy_from_slice(self.codec.fourcc());
                    header[12..14].copy_from_slice(&w.to_le_bytes());
                    header[14..16].copy_from_slice(&h.to_le_bytes());
                    // Time base 1/90000: the RTP clock.
                    header[16..20].copy_from_slice(&90_000u32.to_le_bytes());
                    header[20..24].copy_from_slice(&1u32.to_le_bytes());
                    file.write_all(&header)?;
                }
                file.write_all(&(data.len() as u32).to_le_bytes())?;
                file.write_all(&self.ticks.to_le_bytes())?;
                file.write_all(data)?;
                file.flush()?;
            }
            Out::AnnexB(file) => {
                file.write_all(data)?;
                file.flush()?;
            }
            Out::Ogg(ogg) => {
                if self.frames == 0 {
                    ogg.write_headers(data)?;
                }
                ogg.push(data)?;
            }
        }
        self.frames += 1;
        Ok(())
    }

    /// Ends the file: the IVF frame count, the Ogg stream's last page.
    pub fn finish(mut self) -> io::Result<()> {
        let frames = self.frames;
        match &mut self.out {
            Out::Ivf(file) if frames > 0 => {
                file.seek(SeekFrom::Start(24))?;
                file.write_all(&(frames as u32).to_le_bytes())?;
                file.flush()
            }
            Out::Ivf(file) | Out::AnnexB(file) => file.flush(),
            Out::Ogg(ogg) => ogg.finish(),
        }
    }
}

impl OggOpus {
    /// RFC 7845 §5: `OpusHead` alone on the first page, `OpusTags` on the
    /// next, audio from the page after.
    fn write_headers(&mut self, first: &[u8]) -> io::Result<()> {
        // The TOC's stereo flag (RFC 6716 §3.1) gives the channel count.
        let channels: u8 = if first.first().is_some_and(|t| t & 0x04 != 0) {
            2
        } else {
            1
        };
        let mut head = b"OpusHead".to_vec();
        head.push(1); // version
        head.push(channels);
        // Pre-skip 0: the encoder's priming is not known from RTP.
        head.extend_from_slice(&0u16.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes()); // input rate, informational
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0: mono or stereo
        let vendor = b"eddy media-record";
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes()); // no comments
        let end = PacketWriteEndInfo::EndPage;
        self.writer.write_packet(head, self.serial, end, 0)?;
        self.writer.write_packet(tags, self.serial, end, 0)?;
        self.writer.inner_mut().flush()
    }

    /// Queues a packet; the one before it goes to the file, its granule
    /// position the samples up to its end (RFC 7845 §4: 48 kHz).
    fn push(&mut self, packet: &[u8]) -> io::Result<()> {
        self.granule += opus_samples(packet).unwrap_or(960);
        if let Some((data, granule)) = self.held.replace((packet.to_vec(), self.granule)) {
            self.in_page += 1;
            let end = if self.in_page >= PACKETS_PER_PAGE {
                self.in_page = 0;
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.writer.write_packet(data, self.serial, end, granule)?;
            if end == PacketWriteEndInfo::EndPage {
                self.writer.inner_mut().flush()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some((data, granule)) = self.held.take() {
            let end = PacketWriteEndInfo::EndStream;
            self.writer.write_packet(data, self.serial, end, granule)?;
        }
        self.writer.inner_mut().flush()
    }
}

/// The picture size of a key frame, for the IVF header (players take the
/// size from the bitstream; the header's is informational): VP8 (RFC 6386
/// §9.1) and VP9 (its uncompressed header, profiles 0–3).
fn video_size(codec: FileCodec, frame: &[u8]) -> Option<(u16, u16)> {
    match codec {
        FileCodec::Vp8 => {
            let b = frame.get(..10)?;
            (b[0] & 1 == 0 && b[3..6] == [0x9d, 0x01, 0x2a])
                .then(|| (le16(b, 6) & 0x3fff, le16(b, 8) & 0x3fff))
        }
        FileCodec::Vp9 => vp9_size(frame),
        _ => None,
    }
}

fn vp9_size(frame: &[u8]) -> Option<(u16, u16)> {
    let mut bits = Bits { data: frame, at: 0 };
    if bits.take(2)? != 2 {
        return None; // frame marker
    }
    let low = bits.take(1)?;
    let profile = bits.take(1)? << 1 | low;
    if profile == 3 {
        bits.take(1)?;
    }
    // show_existing_frame, then frame_type (0: key frame).
    if bits.take(1)? == 1 || bits.take(1)? != 0 {
        return None;
    }
    bits.take(2)?; // show_frame, error_resilient_mode
    if bits.take(24)? != 0x49_83_42 {
        return None;
    }
    if profile >= 2 {
        bits.take(1)?; // ten_or_twelve_bit
    }
    let color_space = bits.take(3)?;
    if color_space != 7 {
        bits.take(1)?; // color_range
        if profile == 1 || profile == 3 {
            bits.take(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        bits.take(1)?;
    }
    let w = bits.take(16)? + 1;
    let h = bits.take(16)? + 1;
    Some((u16::try_from(w).ok()?, u16::try_from(h).ok()?))
}

struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn take(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = self.data.get(self.at / 8)?;
            v = v << 1 | u32::from(byte >> (7 - self.at % 8) & 1);
            self.at += 1;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_durations_follow_the_toc() {
        assert_eq!(opus_samples(&[0xF8, 0xFF, 0xFE]), Some(960)); // CELT 20 ms
        assert_eq!(opus_samples(&[0x78 | 1, 0, 0]), Some(1920)); // 2 × 20 ms
        assert_eq!(opus_samples(&[0x1B, 3]), Some(2880 * 3)); // SILK 60 ms × 3
        assert_eq!(opus_samples(&[]), None);
    }

    #[test]
    fn annex_b_splits_into_access_units() {
        // SPS, PPS, IDR slice (first_mb 0), slice (first_mb 0), slice (first_mb > 0).
        let stream = [
            &[0, 0, 0, 1, 0x67, 0x42][..],
            &[0, 0, 0, 1, 0x68, 0xce],
            &[0, 0, 1, 0x65, 0x88, 0x01],
            &[0, 0, 0, 1, 0x41, 0x9a, 0x02],
            &[0, 0, 1, 0x41, 0x40, 0x03],
        ]
        .concat();
        let f = read_annex_b(&stream, 30).expect("reads");
        assert_eq!(f.frames.len(), 2);
        assert_eq!(f.frames[0].data.len(), 3 * 4 + 2 + 2 + 3);
        assert_eq!(f.frames[1].timestamp, 3000);
        assert_eq!(f.duration, 6000);
    }

    #[test]
    fn ivf_and_ogg_round_trip() {
        let dir = std::env::temp_dir().join(format!("eddy-media-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        // A VP8 key frame header of 320×240, then a delta frame, 33 ms on.
        let key = [0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 7];
        let ivf = dir.join("a.ivf");
        let mut w = FileWriter::create(&ivf, FileCodec::Vp8).expect("create");
        w.write_frame(&[1, 2, 3], 100, false).expect("skipped");
        w.write_frame(&key, u32::MAX - 1000, true).expect("write");
        w.write_frame(&[0x11, 5], 1999, false)
            .expect("write (wrapped)");
        assert_eq!((w.frames(), w.skipped()), (2, 1));
        w.finish().expect("finish");
        let f = MediaFile::read(&ivf, 30).expect("read");
        assert_eq!(f.codec, FileCodec::Vp8);
        assert_eq!(f.frames[0].data, key);
        assert_eq!(f.frames[1].timestamp, 3000);
        let bytes = std::fs::read(&ivf).expect("bytes");
        assert_eq!(
            (le16(&bytes, 12), le16(&bytes, 14), le32(&bytes, 24)),
            (320, 240, 2)
        );

        let ogg = dir.join("a.ogg");
        let mut w = FileWriter::create(&ogg, FileCodec::Opus).expect("create");
        for i in 0..120u32 {
            w.write_frame(&[0xF8, 0xFF, 0xFE], i * 960, true)
                .expect("write");
        }
        w.finish().expect("finish");
        let f = MediaFile::read(&ogg, 30).expect("read");
        assert_eq!(f.codec, FileCodec::Opus);
        assert_eq!(f.frames.len(), 120);
        assert_eq!(f.duration, 120 * 960);
        std::fs::remove_dir_all(&dir).ok();
    }
}
