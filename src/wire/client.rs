//! A minimal Kafka client connection: one request at a time, encoded and decoded by the
//! `kafka-protocol` crate. The benchmark drives `serve` with it (and a probe of another broker
//! would).

use super::frame;
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use std::io::{self, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A connection to one broker.
pub struct WireClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    correlation: i32,
    client_id: StrBytes,
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl WireClient {
    pub fn connect(address: &str, client_id: &str) -> io::Result<WireClient> {
        WireClient::connect_within(address, client_id, Duration::from_secs(60))
    }

    /// Connects within `timeout`, and gives up on any answer that takes longer.
    pub fn connect_within(
        address: &str,
        client_id: &str,
        timeout: Duration,
    ) -> io::Result<WireClient> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
        let mut connected = None;
        for a in address.to_socket_addrs()? {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => {
                    connected = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = connected.ok_or(last)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(WireClient {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            correlation: 0,
            client_id: StrBytes::from_string(client_id.to_string()),
        })
    }

    /// Sends `request` at `version` and waits for its answer.
    pub fn call<R: Request>(&mut self, request: &R, version: i16) -> io::Result<R::Response> {
        self.correlation += 1;
        let api = ApiKey::try_from(R::KEY).map_err(|_| invalid("unknown API key"))?;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, api.request_header_version(version))
            .and_then(|()| request.encode(&mut body, version))
            .map_err(invalid)?;
        let size = i32::try_from(body.len()).map_err(invalid)?;
        self.writer.write_all(&size.to_be_bytes())?;
        self.writer.write_all(&body)?;
        let mut answer: Bytes = frame::read_frame(&mut self.reader).map_err(|e| match e {
            frame::FrameError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::UnexpectedEof, other.to_string()),
        })?;
        let header = ResponseHeader::decode(&mut answer, R::Response::header_version(version))
            .map_err(invalid)?;
        if header.correlation_id != self.correlation {
            return Err(invalid("an answer to another request"));
        }
        R::Response::decode(&mut answer, version).map_err(invalid)
    }
}
