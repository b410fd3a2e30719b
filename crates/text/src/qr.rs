//! QR codes inside images: ads hide their links and WeChat contacts in them.

use std::io::Cursor;

use image::{ImageReader, Limits};

/// Images larger than this on either side are scaled down before the search: QR codes in chat
/// screenshots stay readable and the search stays fast.
const MAX_SIDE: u32 = 1600;

/// Decoded payloads of every QR code found in an image (PNG or JPEG). Garbage, truncated or
/// oversized input gives an empty list, never a panic.
pub fn decode_qr(image_bytes: &[u8]) -> Vec<String> {
    // The decoders are defensive, but a panic in a third-party decoder must not take down
    // the engine: it only costs this one image its QR check.
    std::panic::catch_unwind(|| decode(image_bytes)).unwrap_or_default()
}

/// [`decode_qr`] of base64-encoded image bytes (as bridges send them); bad base64 gives an
/// empty list.
pub fn decode_qr_base64(data: &str) -> Vec<String> {
    use base64::Engine as _;
    let cleaned: String = data.split_once(";base64,").map_or(data, |(_, b64)| b64).split_whitespace().collect();
    match base64::engine::general_purpose::STANDARD.decode(cleaned) {
        Ok(bytes) => decode_qr(&bytes),
        Err(_) => Vec::new(),
    }
}

fn decode(image_bytes: &[u8]) -> Vec<String> {
    let Ok(reader) = ImageReader::new(Cursor::new(image_bytes)).with_guessed_format() else {
        return Vec::new();
    };
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let Ok(image) = reader.decode() else {
        return Vec::new();
    };
    let image = if image.width() > MAX_SIDE || image.height() > MAX_SIDE {
        image.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        image
    };
    let luma = image.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_meta, content)| content))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `payload` as a PNG QR code with a quiet zone, `scale` pixels per module.
    fn qr_png(payload: &str, scale: u32) -> Vec<u8> {
        let code = qrcode::QrCode::new(payload.as_bytes()).unwrap();
        let width = code.width() as u32;
        let colors = code.to_colors();
        let quiet = 4;
        let side = (width + 2 * quiet) * scale;
        let img = image::GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            let dark = mx >= quiet
                && my >= quiet
                && mx < width + quiet
                && my < width + quiet
                && colors[((my - quiet) * width + (mx - quiet)) as usize] == qrcode::Color::Dark;
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_generated_qr_code_decodes_to_its_payload() {
        let png = qr_png("https://u.wechat.com/abc123", 6);
        assert_eq!(decode_qr(&png), ["https://u.wechat.com/abc123"]);
    }

    #[test]
    fn chinese_payloads_survive() {
        let png = qr_png("加微信 abc123 领取福利", 5);
        assert_eq!(decode_qr(&png), ["加微信 abc123 领取福利"]);
    }

    #[test]
    fn garbage_and_truncated_images_give_nothing() {
        assert!(decode_qr(b"").is_empty());
        assert!(decode_qr(b"not an image at all").is_empty());
        let png = qr_png("hello", 4);
        assert!(decode_qr(&png[..png.len() / 2]).is_empty());
        let mut broken = png.clone();
        for b in broken.iter_mut().skip(40).step_by(7) {
            *b ^= 0x5a;
        }
        let _ = decode_qr(&broken);
    }

    #[test]
    fn an_image_without_a_code_gives_nothing() {
        let img = image::GrayImage::from_pixel(64, 64, image::Luma([200]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        assert!(decode_qr(&out).is_empty());
    }
}
