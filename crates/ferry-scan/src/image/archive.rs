//! docker-archive tars (`docker save`): `manifest.json` names the config and the layer
//! tars; layers are read in place from the archive (a gzip-compressed archive is first
//! decompressed into the scan's scratch directory, since members need random access).

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::blob::{self, Compression, LayerData, Region};
use super::{attach_history, path, ImageConfig, ImageError, Layer};
use crate::image::Image;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// One member of the outer tar.
#[derive(Clone, Debug)]
enum Member {
    File { offset: u64, size: u64 },
    Link(String),
}

/// Opens a docker-archive; `scratch` is reused when the caller already has one.
pub fn open(file: &Path, scratch: Option<Arc<tempfile::TempDir>>) -> Result<Image, ImageError> {
    let mut head = [0u8; 4];
    let n = {
        let mut f = std::fs::File::open(file).map_err(|e| ImageError::io(file, e))?;
        blob::read_up_to(&mut f, &mut head).map_err(|e| ImageError::io(file, e))?
    };
    let (tar_path, scratch) = match blob::sniff(&head[..n]) {
        Compression::None => (file.to_path_buf(), scratch),
        _ => {
            let scratch = match scratch {
                Some(s) => s,
                None => Arc::new(
                    tempfile::tempdir().map_err(|e| ImageError::io("scratch directory", e))?,
                ),
            };
            let out = scratch.path().join("archive.tar");
            let len = std::fs::metadata(file)
                .map_err(|e| ImageError::io(file, e))?
                .len();
            let reader = LayerData::Region {
                file: file.to_path_buf(),
                offset: 0,
                len,
            }
            .open()?;
            let mut target = std::fs::File::create(&out).map_err(|e| ImageError::io(&out, e))?;
            let copied = match reader {
                blob::LayerReader::Stream(mut s) => std::io::copy(&mut s, &mut target),
                blob::LayerReader::Seekable(mut s) => std::io::copy(&mut s, &mut target),
            };
            copied.map_err(|e| ImageError::io(file, e))?;
            (out, Some(scratch))
        }
    };
    let members = index_members(&tar_path)?;
    let what = file.display().to_string();
    let manifest_bytes = read_member(&tar_path, &members, "manifest.json", &what)?;
    let manifest: Vec<ManifestEntry> = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| ImageError::format(format!("{what}: manifest.json"), e.to_string()))?;
    let mut warnings = Vec::new();
    let entry = match manifest.len() {
        0 => {
            return Err(ImageError::format(
                format!("{what}: manifest.json"),
                "lists no image",
            ))
        }
        1 => &manifest[0],
        n => {
            warnings.push(format!("{what} holds {n} images; using the first"));
            &manifest[0]
        }
    };
    let config_bytes = read_member(&tar_path, &members, &entry.config, &what)?;
    let config = ImageConfig::parse(&config_bytes, &format!("{what}: {}", entry.config))?;
    let diff_ids = config.diff_ids().to_vec();
    if diff_ids.len() != entry.layers.len() {
        warnings.push(format!(
            "{what}: config lists {} diff_ids for {} layers",
            diff_ids.len(),
            entry.layers.len()
        ));
    }
    let mut layers = Vec::new();
    let mut data = Vec::new();
    for (i, name) in entry.layers.iter().enumerate() {
        let (offset, size) = find_file(&members, name, &what)?;
        let diff_id = diff_ids.get(i).cloned();
        // Newer archives name layers by blob digest (`blobs/sha256/<hex>`).
        let blob_digest = name
            .strip_prefix("blobs/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(alg, hex)| format!("{alg}:{hex}"));
        layers.push(Layer {
            digest: blob_digest.or_else(|| diff_id.clone()).unwrap_or_default(),
            diff_id,
            media_type: None,
            size: Some(size),
            created_by: None,
        });
        data.push(LayerData::Region {
            file: tar_path.clone(),
            offset,
            len: size,
        });
    }
    attach_history(&config, &mut layers);
    let id = Some(super::sha256_digest(&config_bytes));
    Ok(Image {
        name: what,
        id,
        manifest_digest: None,
        repo_tags: entry.repo_tags.clone().unwrap_or_default(),
        config,
        layers,
        warnings,
        data,
        _scratch: scratch,
    })
}

/// Lists the outer tar's members by normalised name (headers only; contents skipped).
fn index_members(tar_path: &PathBuf) -> Result<HashMap<String, Member>, ImageError> {
    let len = std::fs::metadata(tar_path)
        .map_err(|e| ImageError::io(tar_path, e))?
        .len();
    let region = Region::open(tar_path, 0, len)?;
    let mut archive = tar::Archive::new(region);
    let mut members = HashMap::new();
    let entries = archive
        .entries_with_seek()
        .map_err(|e| ImageError::io(tar_path, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            ImageError::format(
                tar_path.display().to_string(),
                format!("not a docker-archive tar: {e}"),
            )
        })?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Ok(name) = path::normalize_entry(&raw) else {
            continue;
        };
        let member = match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Member::File {
                offset: entry.raw_file_position(),
                size: entry.size(),
            },
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default();
                // Symlinks are relative to their directory, hard links to the root.
                let joined = if entry.header().entry_type() == tar::EntryType::Symlink
                    && !target.starts_with('/')
                {
                    format!("{}/{target}", path::parent(&name))
                } else {
                    target
                };
                match path::normalize_entry(&joined) {
                    Ok(t) => Member::Link(t),
                    Err(_) => continue,
                }
            }
            _ => continue,
        };
        members.insert(name, member);
    }
    Ok(members)
}

fn find_file(
    members: &HashMap<String, Member>,
    name: &str,
    what: &str,
) -> Result<(u64, u64), ImageError> {
    let mut current = path::normalize_entry(name).map_err(|why| {
        ImageError::format(
            what.to_string(),
            format!("manifest names {name:?}, which {why}"),
        )
    })?;
    for _ in 0..8 {
        match members.get(&current) {
            Some(Member::File { offset, size }) => return Ok((*offset, *size)),
            Some(Member::Link(t)) => current = t.clone(),
            None => break,
        }
    }
    Err(ImageError::format(
        what.to_string(),
        format!("member {name} is missing"),
    ))
}

fn read_member(
    tar_path: &PathBuf,
    members: &HashMap<String, Member>,
    name: &str,
    what: &str,
) -> Result<Vec<u8>, ImageError> {
    const MAX_METADATA: u64 = 16 * 1024 * 1024;
    let (offset, size) = find_file(members, name, what)?;
    if size > MAX_METADATA {
        return Err(ImageError::TooLarge {
            path: format!("{what}: {name}"),
            size,
            limit: MAX_METADATA,
        });
    }
    let mut region = Region::open(tar_path, offset, size)?;
    region.rewind().map_err(|e| ImageError::io(tar_path, e))?;
    let mut buf = Vec::new();
    region
        .read_to_end(&mut buf)
        .map_err(|e| ImageError::io(tar_path, e))?;
    Ok(buf)
}
