//! The consumer protocol's embedded messages — a JoinGroup's subscription, a SyncGroup's
//! assignment — travel as bytes with their version in front.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::protocol::{Decodable, Encodable, Message};

/// `message` at `version`, the version in front.
pub fn encode<T: Encodable>(message: &T, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&version.to_be_bytes());
    message
        .encode(&mut buf, version)
        .expect("a consumer-protocol message encodes");
    buf.freeze()
}

/// The message in `bytes`, read at its version (a newer one than this side knows at the
/// newest it knows); `None` if it does not decode.
pub fn decode<T: Decodable + Message>(bytes: &Bytes) -> Option<T> {
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16().min(T::VERSIONS.max);
    T::decode(&mut buf, version).ok()
}
