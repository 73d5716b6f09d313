//! The Dependency Descriptor RTP header extension (AOM "RTP Payload Format
//! for AV1" Appendix A), `https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension`:
//! parse and write, the template dependency structure included.
//!
//! The descriptor refers to a template structure sent earlier (on a key
//! frame); parsing and resolving a frame's dependencies take the last one
//! seen as `known`.

use super::bits::{BitReader, BitWriter};

/// The most frame dependency templates (template ids are 6 bits).
pub const MAX_TEMPLATES: usize = 64;
/// The most decode targets (`dt_cnt_minus_one` is 5 bits).
pub const MAX_DECODE_TARGETS: usize = 32;

/// Why bytes are not a dependency descriptor, or one cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DependencyDescriptorError {
    /// Fewer bits than the fields need.
    #[error("truncated dependency descriptor")]
    Truncated,
    /// Fields that need a template structure, and none is known.
    #[error("no template structure known")]
    MissingStructure,
    /// A field breaks the format's rules (named).
    #[error("invalid dependency descriptor: {0}")]
    Invalid(&'static str),
}

use DependencyDescriptorError as Error;

/// A frame dependency template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameTemplate {
    /// The spatial layer.
    pub spatial_id: u8,
    /// The temporal layer.
    pub temporal_id: u8,
    /// The decode target indication per decode target (0 not present, 1
    /// discardable, 2 switch, 3 required).
    pub dtis: Vec<u8>,
    /// The frame number differences of its references, 1..=16.
    pub fdiffs: Vec<u8>,
    /// Per chain, the difference to the previous frame in the chain,
    /// 0..=15.
    pub chain_fdiffs: Vec<u8>,
}

/// The template dependency structure (`template_dependency_structure()`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateStructure {
    /// `template_id_offset`, 0..=63.
    pub template_id_offset: u8,
    /// The number of decode targets, 1..=32.
    pub decode_target_count: u8,
    /// The templates, ordered by spatial then temporal layer.
    pub templates: Vec<FrameTemplate>,
    /// The chain protecting each decode target (empty without chains).
    pub decode_target_protected_by: Vec<u8>,
    /// The number of chains, 0..=decode_target_count.
    pub chain_count: u8,
    /// Render width and height per spatial layer, or empty.
    pub resolutions: Vec<(u16, u16)>,
}

/// A parsed dependency descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DependencyDescriptor {
    /// `start_of_frame`: the first packet of a frame.
    pub start_of_frame: bool,
    /// `end_of_frame`: the last packet of a frame.
    pub end_of_frame: bool,
    /// `frame_dependency_template_id`, 0..=63.
    pub template_id: u8,
    /// `frame_number`.
    pub frame_number: u16,
    /// A template structure sent in this descriptor.
    pub structure: Option<TemplateStructure>,
    /// `active_decode_targets_bitmask`, when sent explicitly.
    pub active_decode_targets: Option<u32>,
    /// This frame's own decode target indications.
    pub custom_dtis: Option<Vec<u8>>,
    /// This frame's own reference differences (1..=4096).
    pub custom_fdiffs: Option<Vec<u16>>,
    /// This frame's own chain differences.
    pub custom_chains: Option<Vec<u8>>,
}

/// A frame's dependencies, resolved against its template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameDependency {
    /// The spatial layer.
    pub spatial_id: u8,
    /// The temporal layer.
    pub temporal_id: u8,
    /// Decode target indications.
    pub dtis: Vec<u8>,
    /// Reference frame number differences.
    pub fdiffs: Vec<u16>,
    /// Chain differences.
    pub chain_fdiffs: Vec<u8>,
    /// The render resolution of its spatial layer, when the structure has
    /// them.
    pub resolution: Option<(u16, u16)>,
}

fn bits(r: &mut BitReader<'_>, n: u32) -> Result<u32, Error> {
    r.bits(n).ok_or(Error::Truncated)
}

fn parse_structure(r: &mut BitReader<'_>) -> Result<TemplateStructure, Error> {
    let template_id_offset = bits(r, 6)? as u8;
    let dt_cnt = bits(r, 5)? as usize + 1;
    // template_layers()
    let mut templates = Vec::new();
    let (mut sid, mut tid) = (0u8, 0u8);
    loop {
        if templates.len() == MAX_TEMPLATES {
            return Err(Error::Invalid("more than 64 templates"));
        }
        templates.push(FrameTemplate {
            spatial_id: sid,
            temporal_id: tid,
            ..FrameTemplate::default()
        });
        match bits(r, 2)? {
            // "next_layer_idc == 0 - same sid and tid"
            0 => {}
            1 => tid = tid.saturating_add(1),
            2 => {
                tid = 0;
                sid = sid.saturating_add(1);
            }
            _ => break,
        }
    }
    let max_spatial = sid;
    // template_dtis()
    for t in &mut templates {
        for _ in 0..dt_cnt {
            t.dtis.push(bits(r, 2)? as u8);
        }
    }
    // template_fdiffs()
    for t in &mut templates {
        while bits(r, 1)? == 1 {
            t.fdiffs.push(bits(r, 4)? as u8 + 1);
        }
    }
    // template_chains(): "chain_cnt = ns(DtCnt + 1)".
    let chain_cnt = r.ns(dt_cnt as u32 + 1).ok_or(Error::Truncated)? as usize;
    let mut protected_by = Vec::new();
    if chain_cnt > 0 {
        for _ in 0..dt_cnt {
            protected_by.push(r.ns(chain_cnt as u32).ok_or(Error::Truncated)? as u8);
        }
        for t in &mut templates {
            for _ in 0..chain_cnt {
                t.chain_fdiffs.push(bits(r, 4)? as u8);
            }
        }
    }
    // decode_target_layers() reads nothing; resolutions_present_flag.
    let mut resolutions = Vec::new();
    if bits(r, 1)? == 1 {
        for _ in 0..=max_spatial {
            let w = bits(r, 16)? + 1;
            let h = bits(r, 16)? + 1;
            resolutions.push((
                u16::try_from(w).unwrap_or(u16::MAX),
                u16::try_from(h).unwrap_or(u16::MAX),
            ));
        }
    }
    Ok(TemplateStructure {
        template_id_offset,
        decode_target_count: dt_cnt as u8,
        templates,
        decode_target_protected_by: protected_by,
        chain_count: chain_cnt as u8,
        resolutions,
    })
}

fn write_structure(s: &TemplateStructure, w: &mut BitWriter) -> Result<(), Error> {
    let dt_cnt = usize::from(s.decode_target_count);
    if !(1..=MAX_DECODE_TARGETS).contains(&dt_cnt) {
        return Err(Error::Invalid("decode target count not in 1..=32"));
    }
    if s.template_id_offset > 63 {
        return Err(Error::Invalid("template id offset over 63"));
    }
    if s.templates.is_empty() || s.templates.len() > MAX_TEMPLATES {
        return Err(Error::Invalid("template count not in 1..=64"));
    }
    let chain_cnt = usize::from(s.chain_count);
    if chain_cnt > dt_cnt {
        return Err(Error::Invalid("more chains than decode targets"));
    }
    w.bits(u32::from(s.template_id_offset), 6);
    w.bits(dt_cnt as u32 - 1, 5);
    write_layers(&s.templates, w)?;
    for t in &s.templates {
        if t.dtis.len() != dt_cnt || t.dtis.iter().any(|&d| d > 3) {
            return Err(Error::Invalid("template DTIs"));
        }
        for &d in &t.dtis {
            w.bits(u32::from(d), 2);
        }
    }
    for t in &s.templates {
        for &f in &t.fdiffs {
            if !(1..=16).contains(&f) {
                return Err(Error::Invalid("template fdiff not in 1..=16"));
            }
            w.bit(true);
            w.bits(u32::from(f - 1), 4);
        }
        w.bit(false);
    }
    write_chains(s, w)?;
    let max_spatial = s.templates.iter().map(|t| t.spatial_id).max().unwrap_or(0);
    w.bit(!s.resolutions.is_empty());
    if !s.resolutions.is_empty() {
        if s.resolutions.len() != usize::from(max_spatial) + 1 {
            return Err(Error::Invalid("one resolution per spatial layer"));
        }
        for &(rw, rh) in &s.resolutions {
            if rw == 0 || rh == 0 {
                return Err(Error::Invalid("zero resolution"));
            }
            w.bits(u32::from(rw - 1), 16);
            w.bits(u32::from(rh - 1), 16);
        }
    }
    Ok(())
}

/// "template_layers()": each template's layers after the first's (0/0),
/// as the step from the one before (same, next temporal, next spatial),
/// then the end marker.
fn write_layers(templates: &[FrameTemplate], w: &mut BitWriter) -> Result<(), Error> {
    let first = &templates[0];
    if first.spatial_id != 0 || first.temporal_id != 0 {
        return Err(Error::Invalid("first template not on layer 0/0"));
    }
    for pair in templates.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let idc = if (b.spatial_id, b.temporal_id) == (a.spatial_id, a.temporal_id) {
            0
        } else if b.spatial_id == a.spatial_id
            && Some(b.temporal_id) == a.temporal_id.checked_add(1)
        {
            1
        } else if Some(b.spatial_id) == a.spatial_id.checked_add(1) && b.temporal_id == 0 {
            2
        } else {
            return Err(Error::Invalid("templates not in layer order"));
        };
        w.bits(idc, 2);
    }
    w.bits(3, 2);
    Ok(())
}

/// "template_chains()": the chain count, each decode target's protecting
/// chain and each template's chain fdiffs.
fn write_chains(s: &TemplateStructure, w: &mut BitWriter) -> Result<(), Error> {
    let (dt_cnt, chain_cnt) = (
        usize::from(s.decode_target_count),
        usize::from(s.chain_count),
    );
    w.ns(chain_cnt as u32, dt_cnt as u32 + 1);
    if chain_cnt == 0 {
        return Ok(());
    }
    if s.decode_target_protected_by.len() != dt_cnt {
        return Err(Error::Invalid("one protecting chain per decode target"));
    }
    for &c in &s.decode_target_protected_by {
        if usize::from(c) >= chain_cnt {
            return Err(Error::Invalid("protecting chain out of range"));
        }
        w.ns(u32::from(c), chain_cnt as u32);
    }
    for t in &s.templates {
        if t.chain_fdiffs.len() != chain_cnt || t.chain_fdiffs.iter().any(|&c| c > 15) {
            return Err(Error::Invalid("template chain fdiffs"));
        }
        for &c in &t.chain_fdiffs {
            w.bits(u32::from(c), 4);
        }
    }
    Ok(())
}

/// "frame_fdiffs()": each custom fdiff in the fewest 4-bit groups, then
/// the end marker.
fn write_fdiffs(fdiffs: &[u16], w: &mut BitWriter) -> Result<(), Error> {
    for &f in fdiffs {
        let m = u32::from(f)
            .checked_sub(1)
            .ok_or(Error::Invalid("fdiff 0"))?;
        let size = match m {
            0..=0xF => 1,
            0x10..=0xFF => 2,
            0x100..=0xFFF => 3,
            _ => return Err(Error::Invalid("fdiff over 4096")),
        };
        w.bits(size, 2);
        w.bits(m, 4 * size);
    }
    w.bits(0, 2);
    Ok(())
}

impl DependencyDescriptor {
    /// Parses the extension's bytes. `known` is the template structure in
    /// force (from an earlier descriptor), used when this one carries
    /// none.
    pub fn parse(bytes: &[u8], known: Option<&TemplateStructure>) -> Result<Self, Error> {
        let mut r = BitReader::new(bytes);
        // mandatory_descriptor_fields()
        let mut d = Self {
            start_of_frame: bits(&mut r, 1)? == 1,
            end_of_frame: bits(&mut r, 1)? == 1,
            template_id: bits(&mut r, 6)? as u8,
            frame_number: bits(&mut r, 16)? as u16,
            ..Self::default()
        };
        // "if ( sz > 3 ) extended_descriptor_fields()"
        if bytes.len() <= 3 {
            return Ok(d);
        }
        let structure_present = bits(&mut r, 1)? == 1;
        let active_present = bits(&mut r, 1)? == 1;
        let custom_dtis = bits(&mut r, 1)? == 1;
        let custom_fdiffs = bits(&mut r, 1)? == 1;
        let custom_chains = bits(&mut r, 1)? == 1;
        if structure_present {
            d.structure = Some(parse_structure(&mut r)?);
        }
        let structure = d.structure.as_ref().or(known);
        let needs = active_present || custom_dtis || custom_chains;
        let (dt_cnt, chain_cnt) = match structure {
            Some(s) => (u32::from(s.decode_target_count), usize::from(s.chain_count)),
            None if needs => return Err(Error::MissingStructure),
            None => (0, 0),
        };
        if active_present {
            d.active_decode_targets = Some(bits(&mut r, dt_cnt)?);
        }
        // frame_dependency_definition(): "templateIndex =
        // (frame_dependency_template_id + 64 - template_id_offset) % 64";
        // an index past the templates is an error.
        if let Some(s) = structure {
            let index = (usize::from(d.template_id) + 64 - usize::from(s.template_id_offset)) % 64;
            if index >= s.templates.len() {
                return Err(Error::Invalid("template id past the templates"));
            }
        }
        if custom_dtis {
            let mut v = Vec::with_capacity(dt_cnt as usize);
            for _ in 0..dt_cnt {
                v.push(bits(&mut r, 2)? as u8);
            }
            d.custom_dtis = Some(v);
        }
        if custom_fdiffs {
            // frame_fdiffs(): "next_fdiff_size f(2)", then
            // "fdiff_minus_one f(4 * next_fdiff_size)".
            let mut v = Vec::new();
            loop {
                let size = bits(&mut r, 2)?;
                if size == 0 {
                    break;
                }
                v.push(bits(&mut r, 4 * size)? as u16 + 1);
            }
            d.custom_fdiffs = Some(v);
        }
        if custom_chains {
            let mut v = Vec::with_capacity(chain_cnt);
            for _ in 0..chain_cnt {
                v.push(bits(&mut r, 8)? as u8);
            }
            d.custom_chains = Some(v);
        }
        // The rest is "zero_padding".
        Ok(d)
    }

    /// Writes the descriptor. `known` is the structure in force when this
    /// descriptor carries none (needed for custom fields).
    pub fn write(&self, known: Option<&TemplateStructure>) -> Result<Vec<u8>, Error> {
        if self.template_id > 63 {
            return Err(Error::Invalid("template id over 63"));
        }
        let mut w = BitWriter::default();
        w.bit(self.start_of_frame);
        w.bit(self.end_of_frame);
        w.bits(u32::from(self.template_id), 6);
        w.bits(u32::from(self.frame_number), 16);
        let extended = self.structure.is_some()
            || self.active_decode_targets.is_some()
            || self.custom_dtis.is_some()
            || self.custom_fdiffs.is_some()
            || self.custom_chains.is_some();
        if !extended {
            return Ok(w.into_bytes());
        }
        w.bit(self.structure.is_some());
        w.bit(self.active_decode_targets.is_some());
        w.bit(self.custom_dtis.is_some());
        w.bit(self.custom_fdiffs.is_some());
        w.bit(self.custom_chains.is_some());
        if let Some(s) = &self.structure {
            write_structure(s, &mut w)?;
        }
        let structure = self.structure.as_ref().or(known);
        let needs = self.active_decode_targets.is_some()
            || self.custom_dtis.is_some()
            || self.custom_chains.is_some();
        let (dt_cnt, chain_cnt) = match structure {
            Some(s) => (u32::from(s.decode_target_count), usize::from(s.chain_count)),
            None if needs => return Err(Error::MissingStructure),
            None => (0, 0),
        };
        if let Some(s) = structure {
            let index =
                (usize::from(self.template_id) + 64 - usize::from(s.template_id_offset)) % 64;
            if index >= s.templates.len() {
                return Err(Error::Invalid("template id past the templates"));
            }
        }
        if let Some(mask) = self.active_decode_targets {
            if dt_cnt < 32 && mask >> dt_cnt != 0 {
                return Err(Error::Invalid("active decode target past the count"));
            }
            w.bits(mask, dt_cnt);
        }
        if let Some(v) = &self.custom_dtis {
            if v.len() != dt_cnt as usize || v.iter().any(|&x| x > 3) {
                return Err(Error::Invalid("custom DTIs"));
            }
            for &x in v {
                w.bits(u32::from(x), 2);
            }
        }
        if let Some(v) = &self.custom_fdiffs {
            write_fdiffs(v, &mut w)?;
        }
        if let Some(v) = &self.custom_chains {
            if v.len() != chain_cnt {
                return Err(Error::Invalid("custom chains"));
            }
            for &c in v {
                w.bits(u32::from(c), 8);
            }
        }
        let mut bytes = w.into_bytes();
        // A descriptor of exactly three bytes would read as mandatory only.
        if bytes.len() <= 3 {
            bytes.resize(4, 0);
        }
        Ok(bytes)
    }

    /// The frame's layers and dependencies, from its template (or its
    /// custom fields) in `structure` (this descriptor's own, else `known`).
    pub fn frame_dependency(&self, known: Option<&TemplateStructure>) -> Option<FrameDependency> {
        let s = self.structure.as_ref().or(known)?;
        let index = (usize::from(self.template_id) + 64 - usize::from(s.template_id_offset)) % 64;
        let t = s.templates.get(index)?;
        Some(FrameDependency {
            spatial_id: t.spatial_id,
            temporal_id: t.temporal_id,
            dtis: self.custom_dtis.clone().unwrap_or_else(|| t.dtis.clone()),
            fdiffs: self
                .custom_fdiffs
                .clone()
                .unwrap_or_else(|| t.fdiffs.iter().map(|&f| u16::from(f)).collect()),
            chain_fdiffs: self
                .custom_chains
                .clone()
                .unwrap_or_else(|| t.chain_fdiffs.clone()),
            resolution: s.resolutions.get(usize::from(t.spatial_id)).copied(),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testutil::proptest_config;

    /// L1T2: one spatial layer, two temporal layers, two decode targets,
    /// one chain, a resolution.
    pub(crate) fn l1t2() -> TemplateStructure {
        TemplateStructure {
            template_id_offset: 5,
            decode_target_count: 2,
            templates: vec![
                FrameTemplate {
                    spatial_id: 0,
                    temporal_id: 0,
                    dtis: vec![2, 2],
                    fdiffs: vec![],
                    chain_fdiffs: vec![0],
                },
                FrameTemplate {
                    spatial_id: 0,
                    temporal_id: 0,
                    dtis: vec![2, 2],
                    fdiffs: vec![2],
                    chain_fdiffs: vec![2],
                },
                FrameTemplate {
                    spatial_id: 0,
                    temporal_id: 1,
                    dtis: vec![0, 1],
                    fdiffs: vec![1],
                    chain_fdiffs: vec![1],
                },
            ],
            decode_target_protected_by: vec![0, 0],
            chain_count: 1,
            resolutions: vec![(640, 360)],
        }
    }

    #[test]
    fn mandatory_only() {
        let d = DependencyDescriptor {
            start_of_frame: true,
            end_of_frame: false,
            template_id: 6,
            frame_number: 0x1234,
            ..DependencyDescriptor::default()
        };
        let bytes = d.write(None).unwrap();
        assert_eq!(bytes, [0x86, 0x12, 0x34]);
        assert_eq!(DependencyDescriptor::parse(&bytes, None).unwrap(), d);
        let s = l1t2();
        let f = d.frame_dependency(Some(&s)).unwrap();
        assert_eq!((f.spatial_id, f.temporal_id), (0, 0));
        assert_eq!(f.fdiffs, [2]);
        assert_eq!(f.resolution, Some((640, 360)));
    }

    #[test]
    fn structure_round_trip_and_truncation() {
        let d = DependencyDescriptor {
            start_of_frame: true,
            end_of_frame: true,
            template_id: 5,
            frame_number: 1,
            structure: Some(l1t2()),
            active_decode_targets: Some(0b01),
            custom_dtis: None,
            custom_fdiffs: Some(vec![1, 17, 300]),
            custom_chains: Some(vec![9]),
        };
        let bytes = d.write(None).unwrap();
        assert_eq!(DependencyDescriptor::parse(&bytes, None).unwrap(), d);
        for n in 4..bytes.len() {
            // Shorter: an error, never a panic (zero padding may make a
            // cut at the last byte still parse).
            let _ = DependencyDescriptor::parse(&bytes[..n], None);
        }
        // Custom fields need a structure.
        let e = DependencyDescriptor {
            custom_dtis: Some(vec![3, 3]),
            ..DependencyDescriptor::default()
        };
        assert_eq!(e.write(None), Err(Error::MissingStructure));
        let s = l1t2();
        let bytes = DependencyDescriptor {
            template_id: 7,
            ..e.clone()
        }
        .write(Some(&s))
        .unwrap();
        assert_eq!(
            DependencyDescriptor::parse(&bytes, None),
            Err(Error::MissingStructure)
        );
        let p = DependencyDescriptor::parse(&bytes, Some(&s)).unwrap();
        assert_eq!(p.custom_dtis, Some(vec![3, 3]));
        assert_eq!(p.frame_dependency(Some(&s)).unwrap().temporal_id, 1);
        // Template id 8 is past the three templates at offset 5.
        let bad = DependencyDescriptor {
            template_id: 8,
            ..e
        };
        assert!(bad.write(Some(&s)).is_err());
    }

    /// A valid structure: layer transitions, DTIs, fdiffs, chains and
    /// resolutions drawn at random.
    fn structure_strategy() -> impl Strategy<Value = TemplateStructure> {
        (
            1u8..=8,
            0u8..64,
            proptest::collection::vec(0u32..3, 0..10),
            any::<bool>(),
        )
            .prop_flat_map(|(dt, offset, steps, res)| {
                let mut layers = vec![(0u8, 0u8)];
                for s in steps {
                    let (sid, tid) = *layers.last().unwrap_or(&(0, 0));
                    layers.push(match s {
                        0 => (sid, tid),
                        1 => (sid, tid + 1),
                        _ => (sid + 1, 0),
                    });
                }
                let n = layers.len();
                let spatial = layers.iter().map(|l| l.0).max().unwrap_or(0) as usize + 1;
                (
                    Just((dt, offset, layers)),
                    0..=dt,
                    proptest::collection::vec(
                        (
                            proptest::collection::vec(0u8..4, dt as usize),
                            proptest::collection::vec(1u8..=16, 0..4),
                            proptest::collection::vec(0u8..16, dt as usize),
                        ),
                        n,
                    ),
                    proptest::collection::vec(0u8..8, dt as usize),
                    proptest::collection::vec((1u16.., 1u16..), if res { spatial } else { 0 }),
                )
            })
            .prop_map(
                |((dt, offset, layers), chains, per, protected, resolutions)| TemplateStructure {
                    template_id_offset: offset,
                    decode_target_count: dt,
                    templates: layers
                        .iter()
                        .zip(per)
                        .map(|(&(sid, tid), (dtis, fdiffs, cf))| FrameTemplate {
                            spatial_id: sid,
                            temporal_id: tid,
                            dtis,
                            fdiffs,
                            chain_fdiffs: cf[..usize::from(chains)].to_vec(),
                        })
                        .collect(),
                    decode_target_protected_by: if chains == 0 {
                        vec![]
                    } else {
                        protected.iter().map(|p| p % chains).collect()
                    },
                    chain_count: chains,
                    resolutions,
                },
            )
    }

    proptest! {
        #![proptest_config(proptest_config!("dependency-descriptor"))]

        /// Whatever is written parses back the same, with the structure in
        /// the descriptor or known from before; every truncation is an
        /// error or a parse, never a panic.
        #[test]
        fn round_trip(
            s in structure_strategy(),
            index in any::<prop::sample::Index>(),
            frame_number in any::<u16>(),
            flags in any::<(bool, bool, bool)>(),
            attach in any::<bool>(),
            active in any::<u32>(),
            custom in any::<(bool, bool, bool)>(),
            fdiffs in proptest::collection::vec(1u16..=4096, 0..4),
            chain_bytes in proptest::collection::vec(any::<u8>(), 8),
            dti_bits in proptest::collection::vec(0u8..4, 8),
        ) {
            let dt = usize::from(s.decode_target_count);
            let template_id = ((index.index(s.templates.len()) + usize::from(s.template_id_offset)) % 64) as u8;
            let d = DependencyDescriptor {
                start_of_frame: flags.0,
                end_of_frame: flags.1,
                template_id,
                frame_number,
                structure: attach.then(|| s.clone()),
                active_decode_targets: flags.2.then_some(active & ((1u64 << dt) - 1) as u32),
                custom_dtis: custom.0.then(|| dti_bits[..dt].to_vec()),
                custom_fdiffs: custom.1.then(|| fdiffs.clone()),
                custom_chains: custom.2.then(|| chain_bytes[..usize::from(s.chain_count)].to_vec()),
            };
            let bytes = d.write(Some(&s)).unwrap();
            prop_assert_eq!(DependencyDescriptor::parse(&bytes, Some(&s)).unwrap(), d.clone());
            if attach {
                prop_assert_eq!(DependencyDescriptor::parse(&bytes, None).unwrap(), d.clone());
            }
            let dep = d.frame_dependency(Some(&s)).unwrap();
            let t = &s.templates[index.index(s.templates.len())];
            prop_assert_eq!((dep.spatial_id, dep.temporal_id), (t.spatial_id, t.temporal_id));
            for n in 0..bytes.len() {
                let _ = DependencyDescriptor::parse(&bytes[..n], Some(&s));
            }
        }
    }

    #[test]
    fn layer_order_enforced_on_write() {
        let mut s = l1t2();
        s.templates.swap(1, 2);
        let d = DependencyDescriptor {
            structure: Some(s),
            template_id: 5,
            ..DependencyDescriptor::default()
        };
        assert_eq!(
            d.write(None),
            Err(Error::Invalid("templates not in layer order"))
        );
    }
}
