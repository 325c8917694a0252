//! Frames: Kafka's size-prefixed requests and responses, decoded and encoded with the
//! `kafka-protocol` crate. A frame that cannot be read is an error for its connection only.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable};
use std::io::{self, Read, Write};

/// Kafka's `socket.request.max.bytes` default: a larger size prefix closes the connection
/// before anything is allocated.
pub const MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// Why a connection cannot go on.
#[derive(Debug)]
pub enum FrameError {
    /// The client closed the connection (between frames, or in the middle of one).
    Closed,
    /// A size prefix beyond [`MAX_REQUEST_BYTES`] (or negative).
    TooLarge(i32),
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Closed => f.write_str("connection closed"),
            FrameError::TooLarge(n) => write!(
                f,
                "a request of {n} bytes (the limit is {MAX_REQUEST_BYTES})"
            ),
            FrameError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Reads one size-prefixed frame.
pub fn read_frame(r: &mut impl Read) -> Result<Bytes, FrameError> {
    let mut size = [0u8; 4];
    read_all(r, &mut size)?;
    let size = i32::from_be_bytes(size);
    let len = usize::try_from(size).map_err(|_| FrameError::TooLarge(size))?;
    if len > MAX_REQUEST_BYTES {
        return Err(FrameError::TooLarge(size));
    }
    let mut frame = vec![0u8; len];
    read_all(r, &mut frame)?;
    Ok(Bytes::from(frame))
}

fn read_all(r: &mut impl Read, buf: &mut [u8]) -> Result<(), FrameError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => FrameError::Closed,
        _ => FrameError::Io(e),
    })
}

/// A request as it arrived.
#[derive(Debug)]
pub struct Decoded {
    pub header: RequestHeader,
    pub api: ApiKey,
    pub request: RequestKind,
}

/// A frame that is not a request this server can read.
#[derive(Debug)]
pub enum Undecodable {
    /// Fewer bytes than a request header, or an API key Kafka does not have.
    NotARequest(String),
    /// A known API at a version this server does not speak. ApiVersions gets an answer (its
    /// version 0, as Kafka answers a client newer than itself); anything else closes the
    /// connection, as Kafka does.
    UnsupportedVersion { header: RequestHeader, api: ApiKey },
    /// The body does not decode at the version the header names.
    Malformed {
        api: ApiKey,
        version: i16,
        why: String,
    },
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undecodable::NotARequest(why) => write!(f, "not a Kafka request: {why}"),
            Undecodable::UnsupportedVersion { header, api } => write!(
                f,
                "{api:?} v{} is not supported",
                header.request_api_version
            ),
            Undecodable::Malformed { api, version, why } => {
                write!(f, "malformed {api:?} v{version}: {why}")
            }
        }
    }
}

/// Decodes a frame; `supported` says which versions of which APIs this server speaks.
pub fn decode(
    mut frame: Bytes,
    supported: impl Fn(ApiKey, i16) -> bool,
) -> Result<Decoded, Undecodable> {
    if frame.len() < 8 {
        return Err(Undecodable::NotARequest(format!("{} bytes", frame.len())));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api = ApiKey::try_from(key)
        .map_err(|_| Undecodable::NotARequest(format!("unknown API key {key}")))?;
    let header = decode_request_header_from_buffer(&mut frame)
        .map_err(|e| Undecodable::NotARequest(format!("bad request header: {e}")))?;
    if !supported(api, version) {
        return Err(Undecodable::UnsupportedVersion { header, api });
    }
    let request =
        RequestKind::decode(api, &mut frame, version).map_err(|e| Undecodable::Malformed {
            api,
            version,
            why: e.to_string(),
        })?;
    Ok(Decoded {
        header,
        api,
        request,
    })
}

/// Writes a response to the request with `api`, `version` and `correlation_id`.
pub fn write_response(
    w: &mut impl Write,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> io::Result<()> {
    let mut body = BytesMut::new();
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header
        .encode(&mut body, api.response_header_version(version))
        .and_then(|()| response.encode(&mut body, version))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let size = i32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response too large"))?;
    w.write_all(&size.to_be_bytes())?;
    w.write_all(&body)?;
    w.flush()
}
