//! Compact storage of JSON documents that the runtime keeps but rarely reads (stream images,
//! audit entries, execution state and history): zstd with a dictionary of typical eventpay
//! documents, so that even a 500-byte payment image shrinks to a fraction. Each blob starts with
//! a format byte, so a later dictionary can be added without breaking existing data dirs.

use std::cell::RefCell;
use std::sync::LazyLock;

use zstd::dict::{DecoderDictionary, EncoderDictionary};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::LocalError;

/// Format 1: zstd, level [`LEVEL`], raw-content dictionary `compact-v1.dict`. The dictionary
/// must never change: blobs written with it are read back with it.
const FORMAT_V1: u8 = 1;
const DICT_V1: &[u8] = include_bytes!("compact-v1.dict");
/// Fast levels: the writer's time matters more than the last few percent of size.
const LEVEL: i32 = 1;
/// Decompressed documents larger than this are refused as corrupt (history is capped far below).
const MAX_DOCUMENT: usize = 64 << 20;

/// The dictionary digested once: loading raw bytes per frame would re-hash them every time.
static ENCODER_DICT: LazyLock<EncoderDictionary<'static>> =
    LazyLock::new(|| EncoderDictionary::copy(DICT_V1, LEVEL));
static DECODER_DICT: LazyLock<DecoderDictionary<'static>> =
    LazyLock::new(|| DecoderDictionary::copy(DICT_V1));

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn codec_error(e: std::io::Error) -> LocalError {
    LocalError::Corrupt(format!("compressed document: {e}"))
}

/// Serializes `value` as JSON and compresses it.
pub fn pack<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, LocalError> {
    pack_bytes(&serde_json::to_vec(value)?)
}

/// Compresses JSON text that is already serialized.
pub fn pack_bytes(json: &[u8]) -> Result<Vec<u8>, LocalError> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(
                zstd::bulk::Compressor::with_prepared_dictionary(&ENCODER_DICT)
                    .map_err(codec_error)?,
            );
        }
        let Some(compressor) = slot.as_mut() else {
            return Err(LocalError::Corrupt("no compressor".into()));
        };
        let frame = compressor.compress(json).map_err(codec_error)?;
        let mut out = Vec::with_capacity(frame.len() + 1);
        out.push(FORMAT_V1);
        out.extend_from_slice(&frame);
        Ok(out)
    })
}

/// The JSON text of a blob made by [`pack`].
pub fn unpack_bytes(blob: &[u8]) -> Result<Vec<u8>, LocalError> {
    let Some((&format, frame)) = blob.split_first() else {
        return Err(LocalError::Corrupt("empty compressed document".into()));
    };
    if format != FORMAT_V1 {
        return Err(LocalError::Corrupt(format!(
            "compressed document in unknown format {format}"
        )));
    }
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(
                zstd::bulk::Decompressor::with_prepared_dictionary(&DECODER_DICT)
                    .map_err(codec_error)?,
            );
        }
        let Some(decompressor) = slot.as_mut() else {
            return Err(LocalError::Corrupt("no decompressor".into()));
        };
        decompressor
            .decompress(frame, MAX_DOCUMENT)
            .map_err(codec_error)
    })
}

pub fn unpack<T: DeserializeOwned>(blob: &[u8]) -> Result<T, LocalError> {
    Ok(serde_json::from_slice(&unpack_bytes(blob)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn round_trips_and_shrinks_a_payment_image() {
        let doc = json!({"amount":"1000.00","beneficiary":{"account":"ACC-2002","name":"Bob Smith"},
            "created_at":"2026-12-02T04:25:12.848976871Z","customer_tier":"standard","fee":"2.50",
            "history":[{"at":"2026-12-02T04:25:12.848976871Z","status":"PENDING"}],
            "payment_id":"6a1c7ec4-2768-4896-b6f9-e1fdad5caf42","quote_id":"b1c3fb94-0003-436b-8e81-50b9f2832faa",
            "rate":"0.912285","reason":null,"reference":"order 7","sender":{"account":"ACC-1001","name":"Ada"},
            "settlement":null,"source_currency":"USD","status":"PENDING","target_amount":"910.00",
            "target_currency":"EUR","updated_at":"2026-12-02T04:25:12.848976871Z"});
        let blob = pack(&doc).unwrap();
        let plain = serde_json::to_vec(&doc).unwrap().len();
        assert!(
            blob.len() * 3 < plain,
            "{} bytes packed from {plain}",
            blob.len()
        );
        assert_eq!(unpack::<Value>(&blob).unwrap(), doc);
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        assert!(unpack::<Value>(&[]).is_err());
        assert!(unpack::<Value>(&[9, 1, 2]).is_err());
        assert!(unpack::<Value>(&[FORMAT_V1, 1, 2, 3]).is_err());
    }
}
